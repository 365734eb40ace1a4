// The binary trace format (traces/format.h, traces/README.md): SHA-256
// against the FIPS 180-4 examples, encoder/decoder round trips of random
// record streams, the sizes the delta encoding promises, and malformed
// input (truncated, corrupt, wrong version) rejected with the offset and
// the problem and never a crash.
#include <catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "traces/format.h"
#include "traces/sha256.h"

using namespace softvt;
using namespace softvt::trace;

namespace {

std::string hash_of(const std::string& s) {
  return sha256_hex(sha256(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

TraceHeader sample_header() {
  TraceHeader h;
  h.softvt_version = "0.1.0";
  h.machine = "flat";
  h.description = "flat long64, 64 MiB";
  h.cpu_model = "test model";
  h.flags = header_flag::REGS;
  h.options = {"--flat", "/x/y.bin", "--mode", "long64"};
  ImageHash img;
  img.option = "--flat";
  img.path = "/x/y.bin";
  img.size = 3;
  img.sha256 = sha256(reinterpret_cast<const uint8_t*>("abc"), 3);
  h.images.push_back(img);
  return h;
}

Record insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, std::vector<uint8_t> bytes) {
  Record r;
  r.kind = Kind::Insn;
  r.cpu = cpu;
  r.icount = icount;
  r.rip = rip;
  r.phys = phys;
  r.len = uint8_t(bytes.size());
  std::memcpy(r.bytes, bytes.data(), bytes.size());
  return r;
}

Record end_record(uint64_t total) {
  Record r;
  r.kind = Kind::End;
  r.sub = 1;
  r.a = total;
  r.text = "done";
  return r;
}

// A random but plausible stream: mostly sequential instructions from a
// small pool of code (so the byte cache matters), jumps, CPU switches,
// self-modified bytes at a known address, and every kind of event.
std::vector<Record> random_stream(std::mt19937_64& rng, size_t n) {
  std::vector<Record> out;
  struct Pos {
    uint64_t rip = 0x10000, icount = 0;
    uint8_t len = 1;
  };
  Pos pos[4];
  uint32_t cpu = 0;
  const auto pick = [&](uint64_t k) { return rng() % k; };
  for (size_t i = 0; i < n; ++i) {
    if (pick(50) == 0) cpu = uint32_t(pick(4));
    Pos& p = pos[cpu];
    const uint64_t choice = pick(100);
    if (choice < 75) {
      uint64_t rip = p.rip + p.len;
      if (pick(8) == 0) rip = 0x10000 + pick(64) * 4;                     // a jump within the code
      if (pick(200) == 0) rip = uint64_t(rng());                          // anywhere
      const uint8_t len = uint8_t(1 + (rip >> 2) % 15);
      std::vector<uint8_t> bytes(len);
      for (unsigned k = 0; k < len; ++k) bytes[k] = uint8_t(rip * 31 + k);
      if (pick(40) == 0) bytes[0] ^= 0xff;                                // self-modified
      const uint64_t icount = pick(20) == 0 ? p.icount + pick(5) : p.icount + 1;
      const uint64_t phys = pick(30) == 0 ? rip + 0x7000 : rip;           // another mapping
      out.push_back(insn(cpu, icount, rip, phys, bytes));
      p.rip = rip, p.len = len, p.icount = icount;
      continue;
    }
    Record r;
    r.cpu = cpu;
    r.icount = p.icount + pick(2);
    switch (choice % 15) {  // every case: choice is 75..99 here
      case 0: r.kind = Kind::Mode, r.sub = uint8_t(pick(7)); break;
      case 1: r.kind = Kind::Exception, r.vector = uint8_t(pick(32)), r.error = pick(2) ? 0xffffffffu : uint32_t(rng());
        if (r.vector == 14) r.a = rng();
        break;
      case 2: r.kind = Kind::Interrupt, r.vector = uint8_t(rng()), r.sub = uint8_t(pick(7)); break;
      case 3: r.kind = Kind::VmEntry, r.sub = uint8_t(pick(3)); break;
      case 4: r.kind = Kind::VmExit, r.sub = uint8_t(pick(2)), r.a = rng() >> pick(64), r.b = rng(); break;
      case 5: r.kind = Kind::VmEntryFailed, r.text = "guest CS DPL"; break;
      case 6: r.kind = Kind::Io, r.sub = uint8_t((1u << pick(3)) | (pick(2) ? 0x80 : 0)), r.a = pick(0x10000), r.b = pick(256); break;
      case 7: r.kind = Kind::Mmio, r.sub = uint8_t((1u << pick(4)) | (pick(2) ? 0x80 : 0)), r.a = rng(), r.b = rng(); break;
      case 8: r.kind = Kind::Note, r.text = std::string(pick(40), 'n'); break;
      case 9:
        r.kind = Kind::Regs;
        for (unsigned reg = 0; reg < treg::COUNT; ++reg)
          if (pick(4) == 0) r.regs.push_back(RegValue{uint8_t(reg), rng() >> pick(64)});
        break;
      case 11:  // a look for COM1 input that received 1-16 bytes
        r.kind = Kind::SerialIn, r.a = pick(1000000);
        for (uint64_t k = 0, n = 1 + pick(16); k < n; ++k) r.text += char(rng());
        break;
      case 12:  // a host-clock reading (monotonic ones grow; the wall clock's are seconds)
        r.kind = Kind::HostClock, r.sub = uint8_t(pick(2));
        r.a = r.sub ? 1700000000 + pick(100) : rng() >> pick(64);
        break;
      case 13: r.kind = Kind::StopRequest; break;
      default: r.kind = Kind::MemWrite, r.size = uint8_t(1 + pick(8)), r.a = rng(), r.b = rng(); break;
    }
    out.push_back(r);
  }
  out.push_back(end_record(12345));
  return out;
}

std::vector<uint8_t> encode_all(const TraceHeader& h, const std::vector<Record>& rs) {
  std::vector<uint8_t> file = encode_header(h);
  TraceEncoder enc;
  for (const Record& r : rs) enc.encode(r);
  file.insert(file.end(), enc.buffer().begin(), enc.buffer().end());
  return file;
}

std::vector<Record> decode_all(const std::vector<uint8_t>& file) {
  TraceDecoder dec(file.data(), file.size(), "t.trace");
  std::vector<Record> out;
  Record r;
  while (dec.next(r)) out.push_back(r);
  return out;
}

// The problem a malformed file is rejected with.
std::string rejection(const std::vector<uint8_t>& file, uint64_t& offset) {
  try {
    decode_all(file);
  } catch (const TraceError& e) {
    offset = e.offset;
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("SHA-256 of the FIPS 180-4 examples") {
  CHECK(hash_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hash_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hash_of(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("the header round-trips field by field") {
  const TraceHeader h = sample_header();
  std::vector<uint8_t> file = encode_header(h);
  TraceEncoder enc;
  enc.encode(end_record(0));
  file.insert(file.end(), enc.buffer().begin(), enc.buffer().end());
  TraceDecoder dec(file.data(), file.size(), "t");
  const TraceHeader& g = dec.header();
  CHECK(std::memcmp(file.data(), "SVTTRACE", 8) == 0);
  CHECK(g.version == FORMAT_VERSION);
  CHECK(g.softvt_version == h.softvt_version);
  CHECK(g.description == h.description);
  CHECK(g.cpu_model == h.cpu_model);
  CHECK(g.flags == h.flags);
  CHECK(g.options == h.options);
  REQUIRE(g.images.size() == 1);
  CHECK(g.images[0].path == "/x/y.bin");
  CHECK(sha256_hex(g.images[0].sha256) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("random record streams round-trip exactly, with increasing offsets") {
  std::mt19937_64 rng(20261121);
  for (int round = 0; round < 50; ++round) {
    const std::vector<Record> in = random_stream(rng, 2000);
    const std::vector<Record> out = decode_all(encode_all(sample_header(), in));
    REQUIRE(out.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      INFO("round " << round << " record " << i << " kind " << kind_name(in[i].kind));
      REQUIRE(out[i].same_as(in[i]));
      if (i) CHECK(out[i].offset > out[i - 1].offset);
    }
  }
}

TEST_CASE("a sequential instruction whose bytes were seen costs one byte; a short jump back a few") {
  std::vector<Record> loop;
  // A 4-instruction loop executed 250 times: the first pass carries the
  // bytes, later passes only tags and the jump's address delta.
  const std::vector<std::vector<uint8_t>> body = {{0x48, 0xff, 0xc0}, {0x48, 0x39, 0xd8}, {0x75, 0xf8}, {0x90}};
  uint64_t icount = 0;
  for (int pass = 0; pass < 250; ++pass) {
    uint64_t rip = 0x401000;
    for (const auto& b : body) {
      loop.push_back(insn(0, icount++, rip, rip, b));
      rip += b.size();
    }
  }
  TraceEncoder enc;
  enc.encode(loop[0]);
  const size_t first = enc.buffer().size();
  for (size_t i = 1; i < 4; ++i) enc.encode(loop[i]);
  const size_t first_pass = enc.buffer().size();
  for (size_t i = 4; i < loop.size(); ++i) enc.encode(loop[i]);
  const size_t later = enc.buffer().size() - first_pass;
  // Tag, count delta (-1: 1 byte), rip delta (0x401000 as a signed LEB128:
  // 4 bytes), phys delta (0 beyond the rip's: 1 byte), the 3 bytes.
  CHECK(first == 1 + 1 + 4 + 1 + 3);
  // Per later pass: the jump back (tag + 2 one-byte deltas) and 3 one-byte records.
  CHECK(later == 249 * (3 + 3));
}

TEST_CASE("changed bytes at an address already seen are recorded again (self-modifying code)") {
  std::vector<Record> in = {insn(0, 0, 0x1000, 0x1000, {0x90}), insn(0, 1, 0x1000, 0x1000, {0xcc}),
                            insn(0, 2, 0x1000, 0x1000, {0xcc}), end_record(3)};
  const std::vector<Record> out = decode_all(encode_all(sample_header(), in));
  REQUIRE(out.size() == 4);
  CHECK(out[0].bytes[0] == 0x90);
  CHECK(out[1].bytes[0] == 0xcc);
  CHECK(out[2].bytes[0] == 0xcc);
}

TEST_CASE("malformed files are rejected with the offset and the problem") {
  std::mt19937_64 rng(7);
  const std::vector<uint8_t> good = encode_all(sample_header(), random_stream(rng, 300));
  uint64_t off = 0;
  CHECK(rejection(good, off).empty());

  SECTION("shorter than a header") {
    const std::vector<uint8_t> f(good.begin(), good.begin() + 10);
    CHECK(rejection(f, off).find("shorter than a trace header") != std::string::npos);
    CHECK(off == 10);
  }
  SECTION("not a trace") {
    std::vector<uint8_t> f = good;
    f[0] = 'X';
    CHECK(rejection(f, off).find("bad magic") != std::string::npos);
    CHECK(off == 0);
  }
  SECTION("another format version") {
    std::vector<uint8_t> f = good;
    f[8] = 3;
    std::string m = rejection(f, off);
    CHECK(m.find("format version 3, this softvt reads versions 1 to 2") != std::string::npos);
    CHECK(m.find("'t.trace'") != std::string::npos);
    CHECK(off == 8);
    f[8] = 0;
    CHECK(rejection(f, off).find("format version 0, this softvt reads versions 1 to 2") != std::string::npos);
  }
  SECTION("a version 1 file: its records are read, the input records of version 2 are not") {
    std::vector<uint8_t> f = encode_header(sample_header());
    f[8] = 1;
    Record io;
    io.kind = Kind::Io, io.sub = 0x81, io.a = 0x3f8, io.b = 0x41;
    TraceEncoder enc;
    enc.encode(io);
    enc.encode(end_record(0));
    std::vector<uint8_t> v1 = f;
    v1.insert(v1.end(), enc.buffer().begin(), enc.buffer().end());
    const std::vector<Record> back = decode_all(v1);
    REQUIRE(back.size() == 2);
    CHECK(back[0].same_as(io));
    f.insert(f.end(), {0x8d, 0x00, 0x00, 0x01, 'x'});  // a serial input record
    CHECK(rejection(f, off).find("record tag 0x8d does not exist in format version 1") != std::string::npos);
    CHECK(off == f.size() - 5);
  }
  SECTION("an input record out of range") {
    std::vector<uint8_t> f = encode_header(sample_header());
    f.insert(f.end(), {0x8e, 0x00, 0x02, 0x00});  // host clock of kind 2
    CHECK(rejection(f, off).find("unknown host-clock reading kind 2") != std::string::npos);
    f = encode_header(sample_header());
    f.insert(f.end(), {0x8d, 0x00, 0x00, 0x00});  // serial input without bytes
    CHECK(rejection(f, off).find("a serial input record without bytes") != std::string::npos);
  }
  SECTION("truncated in the records: no end record") {
    const std::vector<uint8_t> f(good.begin(), good.end() - 7);
    const std::string m = rejection(f, off);
    CHECK(m.find("truncated") != std::string::npos);
    CHECK(off <= f.size());
    CHECK(off > 16);
  }
  SECTION("an unknown record tag") {
    std::vector<uint8_t> f = encode_header(sample_header());
    f.push_back(0x90);
    CHECK(rejection(f, off).find("unknown record tag 0x90") != std::string::npos);
    CHECK(off == f.size() - 1);
  }
  SECTION("bytes after the end record") {
    std::vector<uint8_t> f = good;
    f.push_back(0);
    CHECK(rejection(f, off).find("unexpected bytes after the end record") != std::string::npos);
  }
  SECTION("an instruction that refers to bytes never recorded") {
    std::vector<uint8_t> f = encode_header(sample_header());
    f.insert(f.end(), {0x31, 0x00, 0x10, 0x00});  // explicit count and address, cached bytes, len 1
    CHECK(rejection(f, off).find("never recorded") != std::string::npos);
  }
}

TEST_CASE("fuzz: mutated and truncated traces decode or fail with TraceError, never anything else") {
  std::mt19937_64 rng(1234);
  const std::vector<uint8_t> good = encode_all(sample_header(), random_stream(rng, 400));
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> f = good;
    switch (i % 4) {
      case 0: f.resize(rng() % f.size()); break;                                 // truncated
      case 1: for (int k = 0; k < 1 + int(rng() % 4); ++k) f[rng() % f.size()] ^= uint8_t(1 + rng() % 255); break;
      case 2: f[16 + rng() % (f.size() - 16)] = uint8_t(rng()); break;           // one record byte
      default: f.insert(f.begin() + long(rng() % f.size()), uint8_t(rng())); break;  // an inserted byte
    }
    try {
      decode_all(f);
    } catch (const TraceError& e) {
      ++rejected;
      REQUIRE(e.offset <= f.size());
      REQUIRE(!e.problem.empty());
    }
  }
  // Truncation alone (a quarter of the cases) is always detected.
  CHECK(rejected >= 5000);
}

// --record-regs writes Regs records through encode_changed_regs (no
// Record, a loop-free LEB128 writer, the system registers only when the
// caller saw one change); they must be the bytes encode() writes for the
// same Record, whatever the values: every LEB128 length from 1 to 10
// bytes, both signs, the deltas at each length's boundary.
TEST_CASE("encode_changed_regs writes the bytes encode() writes for the same Regs record") {
  std::mt19937_64 rng(20261122);
  std::vector<uint64_t> interesting = {0, 1, ~uint64_t(0), uint64_t(1) << 63, (uint64_t(1) << 63) - 1};
  for (unsigned b = 5; b < 64; b += 7)
    for (int64_t d = -2; d <= 2; ++d) {
      interesting.push_back((uint64_t(1) << b) + uint64_t(d));
      interesting.push_back(-(uint64_t(1) << b) + uint64_t(d));
    }
  const auto pick = [&] {
    switch (rng() % 4) {
      case 0: return interesting[rng() % interesting.size()];
      case 1: return uint64_t(rng() >> (rng() % 64));
      default: return uint64_t(rng());
    }
  };
  TraceEncoder fast, slow;
  uint64_t gpr[16] = {}, rflags = 0, sys[treg::COUNT - treg::CR0] = {};
  // Each CPU's registers in its last record (the encoders start from zeros).
  std::vector<std::array<uint64_t, treg::COUNT>> last(3);
  uint64_t icount = 0;
  for (int step = 0; step < 20000; ++step) {
    const bool all = step == 0;
    const uint32_t cpu = rng() % 100 == 0 ? uint32_t(rng() % 3) : 0;
    // Usually a few GPRs and RFLAGS change; now and then a system register
    // (on CPU 0; CPUs 1 and 2 always hand theirs over, as the recorder
    // does when its copy of a CPU's system registers differs).
    for (unsigned k = 0, n = unsigned(rng() % 4); k < n; ++k) gpr[rng() % 16] = pick();
    if (rng() % 2) rflags = pick();
    const bool sys_changed = all || cpu != 0 || rng() % 50 == 0;
    if (sys_changed && cpu == 0) sys[rng() % (treg::COUNT - treg::CR0)] = pick();
    icount += rng() % 3;
    fast.encode_changed_regs(cpu, icount, gpr, rflags, sys_changed ? sys : nullptr, all);
    // The same record through encode(): the registers that differ from the
    // previous record of that CPU.
    Record r;
    r.kind = Kind::Regs, r.cpu = cpu, r.icount = icount;
    for (unsigned i = 0; i < treg::COUNT; ++i) {
      const uint64_t v = i < 16 ? gpr[i] : i == treg::RFLAGS ? rflags : sys[i - treg::CR0];
      if (all || v != last[cpu][i]) r.regs.push_back(RegValue{uint8_t(i), v});
      last[cpu][i] = v;
    }
    if (!r.regs.empty()) slow.encode(r);
    INFO("step " << step);
    REQUIRE(fast.buffer() == slow.buffer());
  }
  CHECK(fast.buffer().size() > 100000);
}
