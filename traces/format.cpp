#include "traces/format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <emmintrin.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace softvt::trace {

const bool leb::HAS_PDEP = (__builtin_cpu_init(), __builtin_cpu_supports("bmi2"));

namespace {

constexpr size_t HEADER_FIXED = 16;          // magic, version, reserved, body length
constexpr uint64_t MAX_STRING = 1u << 20;    // a guard against corrupt lengths
constexpr uint8_t EVENT = 0x80;              // tag bit 7: an event record
// Instruction tag bits (bit 7 = 0).
constexpr uint8_t I_BYTES = 0x40, I_ADDR = 0x20, I_COUNT = 0x10, I_LEN = 0x0f;
// Event tags: EVENT | code.
constexpr uint8_t E_CPU = 0, E_MODE = 1, E_EXC = 2, E_INT = 3, E_VMENTRY = 4, E_VMEXIT = 5, E_VMFAIL = 6,
                  E_IO = 7, E_MMIO = 8, E_NOTE = 9, E_REGS = 10, E_MEMW = 11, E_END = 12, E_SERIAL = 13,
                  E_CLOCK = 14, E_STOP = 15;
// The highest event code of each format version.
uint8_t last_event_code(uint16_t version) { return version >= 2 ? E_STOP : E_END; }
constexpr uint8_t CLOCK_KINDS = 2;  // HostClock `sub`: 0 monotonic ns, 1 wall-clock seconds
constexpr uint8_t SUB_WRITE = 0x80;  // Io/Mmio: direction bit of `sub`
constexpr uint32_t NO_ERROR = 0xffffffffu;


void put_uleb(std::vector<uint8_t>& o, uint64_t v) {
  while (v >= 0x80) {
    o.push_back(uint8_t(v) | 0x80);
    v >>= 7;
  }
  o.push_back(uint8_t(v));
}
void put_sleb(std::vector<uint8_t>& o, int64_t v) {
  if (v >= -64 && v < 64) {  // one byte: a small delta (the common case)
    o.push_back(uint8_t(v) & 0x7f);
    return;
  }
  for (;;) {
    const uint8_t b = uint8_t(v) & 0x7f;
    v >>= 7;  // arithmetic shift
    if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
      o.push_back(b);
      return;
    }
    o.push_back(b | 0x80);
  }
}

using leb::put_sleb_fast;
using leb::put_uleb56_fast;

// Bit i set where a[i] != b[i] (i < n, n even), two 64-bit words per SSE2
// compare (a 64-bit lane is equal when both its 32-bit halves are).
template <unsigned N>
uint32_t differing_words(const uint64_t* a, const uint64_t* b) {
  uint32_t mask = 0;
#pragma GCC unroll 16
  for (unsigned i = 0; i < N; i += 2) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i eq32 = _mm_cmpeq_epi32(x, y);
    const __m128i eq64 = _mm_and_si128(eq32, _mm_shuffle_epi32(eq32, _MM_SHUFFLE(2, 3, 0, 1)));
    mask |= uint32_t(~_mm_movemask_pd(_mm_castsi128_pd(eq64)) & 3) << i;
  }
  return mask;
}

// Whether any a[i] != b[i] (i < n, n even).
template <unsigned N>
bool any_differs(const uint64_t* a, const uint64_t* b) {
  __m128i acc = _mm_setzero_si128();
#pragma GCC unroll 16
  for (unsigned i = 0; i < N; i += 2)
    acc = _mm_or_si128(acc, _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)),
                                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i))));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) != 0xffff;
}

void put_str(std::vector<uint8_t>& o, const std::string& s) {
  put_uleb(o, s.size());
  o.insert(o.end(), s.begin(), s.end());
}

uint8_t event_code(Kind k) {
  switch (k) {
    case Kind::Mode: return E_MODE;
    case Kind::Exception: return E_EXC;
    case Kind::Interrupt: return E_INT;
    case Kind::VmEntry: return E_VMENTRY;
    case Kind::VmExit: return E_VMEXIT;
    case Kind::VmEntryFailed: return E_VMFAIL;
    case Kind::Io: return E_IO;
    case Kind::Mmio: return E_MMIO;
    case Kind::Note: return E_NOTE;
    case Kind::Regs: return E_REGS;
    case Kind::MemWrite: return E_MEMW;
    case Kind::End: return E_END;
    case Kind::SerialIn: return E_SERIAL;
    case Kind::HostClock: return E_CLOCK;
    case Kind::StopRequest: return E_STOP;
    case Kind::Insn: break;
  }
  return 0xff;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

}  // namespace

TraceError::TraceError(const std::string& f, uint64_t off, const std::string& p)
    : std::runtime_error("trace '" + f + "': at byte offset " + std::to_string(off) + ": " + p),
      file(f),
      offset(off),
      problem(p) {}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Insn: return "insn";
    case Kind::Mode: return "mode";
    case Kind::Exception: return "exception";
    case Kind::Interrupt: return "interrupt";
    case Kind::VmEntry: return "vm-entry";
    case Kind::VmExit: return "vm-exit";
    case Kind::VmEntryFailed: return "vm-entry-failed";
    case Kind::Io: return "io";
    case Kind::Mmio: return "mmio";
    case Kind::Note: return "note";
    case Kind::Regs: return "regs";
    case Kind::MemWrite: return "mem-write";
    case Kind::End: return "end";
    case Kind::SerialIn: return "serial-input";
    case Kind::HostClock: return "host-clock";
    case Kind::StopRequest: return "stop-request";
  }
  return "?";
}

const char* reg_name(unsigned r) {
  static const char* const names[treg::COUNT] = {
      "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",  "r10", "r11", "r12",     "r13",    "r14",
      "r15", "rflags", "cr0", "cr2", "cr3", "cr4", "efer", "es", "cs", "ss", "ds",  "fs",  "gs", "fs_base", "gs_base"};
  return r < treg::COUNT ? names[r] : "?";
}

bool Record::same_as(const Record& o) const {
  if (kind != o.kind || cpu != o.cpu || icount != o.icount) return false;
  switch (kind) {
    case Kind::Insn:
      return rip == o.rip && phys == o.phys && len == o.len && std::memcmp(bytes, o.bytes, len) == 0;
    case Kind::Mode:
    case Kind::VmEntry: return sub == o.sub;
    case Kind::Exception: return vector == o.vector && error == o.error && a == o.a;
    case Kind::Interrupt: return vector == o.vector && sub == o.sub;
    case Kind::VmExit:
    case Kind::Io:
    case Kind::Mmio: return sub == o.sub && a == o.a && b == o.b;
    case Kind::VmEntryFailed:
    case Kind::Note: return text == o.text;
    case Kind::Regs: return regs == o.regs;
    case Kind::MemWrite: return size == o.size && a == o.a && b == o.b;
    case Kind::End: return sub == o.sub && a == o.a && text == o.text;
    case Kind::SerialIn: return a == o.a && text == o.text;
    case Kind::HostClock: return sub == o.sub && a == o.a;
    case Kind::StopRequest: return true;
  }
  return false;
}

// ---- encoder ----------------------------------------------------------------

TraceEncoder::TraceEncoder()
    : stage_(new uint8_t[STAGE_BYTES]),
      staged_(stage_.get()),
      stage_limit_(stage_.get() + STAGE_BYTES - STAGE_SLACK),
      pos_(1),
      cache_(CACHE_SLOTS) {
  out_.reserve(1 << 21);
}

void TraceEncoder::switch_cpu(uint32_t cpu) {
  commit();
  out_.push_back(EVENT | E_CPU);
  put_uleb(out_, cpu);
  cur_cpu_ = cpu;
  if (pos_.size() <= cpu) pos_.resize(cpu + 1);
}

void TraceEncoder::encode_insn_slow(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys,
                                    const uint8_t* bytes, unsigned len) {
  if (cpu != cur_cpu_) switch_cpu(cpu);
  if (staged_ >= stage_limit_) commit();
  CpuPos& p = pos_[cur_cpu_];
  const uint64_t seq_rip = p.rip + p.len, seq_phys = p.phys + p.len;
  const bool count_explicit = !p.seen || icount != p.icount + 1;
  const bool addr_explicit = !p.seen || rip != seq_rip || phys != seq_phys;
  CacheSlot& slot = cache_[cache_index(phys)];
  const bool cached = slot.phys == phys && slot.len == len && same_bytes(slot.bytes, bytes, len);
  const uint8_t tag =
      uint8_t((cached ? 0 : I_BYTES) | (addr_explicit ? I_ADDR : 0) | (count_explicit ? I_COUNT : 0) | (len & I_LEN));
  p.rip = rip, p.phys = phys, p.len = uint8_t(len), p.seen = true;
  const uint64_t expected_count = p.icount + 1;
  p.icount = icount;
  // Staged: at most a tag, three 10-byte numbers and 15 bytes (with the
  // spill of put_sleb_fast), well within STAGE_SLACK.
  uint8_t* o = staged_;
  *o++ = tag;
  if (count_explicit) o = put_sleb_fast(o, int64_t(icount - expected_count));
  if (addr_explicit) {
    const uint64_t drip = rip - seq_rip;
    o = put_sleb_fast(o, int64_t(drip));
    o = put_sleb_fast(o, int64_t(phys - seq_phys - drip));
  }
  if (!cached) {
    std::memcpy(o, bytes, len);
    o += len;
    slot.phys = phys;
    slot.len = uint8_t(len);
    std::memcpy(slot.bytes, bytes, len);
  }
  staged_ = o;
}

// A register value as the difference from its previous one (a counter or
// a pointer that moved a little costs a byte or two).
void TraceEncoder::put_reg(CpuPos& p, const RegValue& v) {
  put_sleb(out_, int64_t(v.value - p.regs[v.reg]));
  p.regs[v.reg] = v.value;
}

bool TraceEncoder::encode_changed_regs(uint32_t cpu, uint64_t icount, const uint64_t* gpr, uint64_t rflags,
                                       const uint64_t* sys, bool all) {
  if (cpu != cur_cpu_) switch_cpu(cpu);
  CpuPos& p = pos_[cur_cpu_];
  const uint64_t* prev = p.regs.data();
  // An instruction changes one or two registers and RFLAGS, in no
  // predictable pattern: the GPRs are compared two at a time, straight
  // from the caller's state; the system registers only when the caller
  // saw one change (`sys`).
  uint32_t mask = differing_words<16>(gpr, prev) | uint32_t(rflags != prev[treg::RFLAGS]) << treg::RFLAGS;
  constexpr unsigned SYS = treg::COUNT - treg::CR0;
  if (sys)
    for (unsigned i = 0; i < SYS; ++i) mask |= uint32_t(sys[i] != prev[treg::CR0 + i]) << (treg::CR0 + i);
  if (all) mask = (1u << treg::COUNT) - 1;
  if (!mask) return false;
  stage_regs(p, icount, mask, gpr, rflags, sys);
  return true;
}

bool TraceEncoder::encode_candidate_regs(uint32_t cpu, uint64_t icount, const uint64_t* gpr, uint64_t rflags,
                                         uint32_t candidates) {
  if (cpu != cur_cpu_) [[unlikely]] switch_cpu(cpu);
  CpuPos& p = pos_[cur_cpu_];
  const uint32_t mask = candidate_mask(p, gpr, rflags, candidates);
  if (!mask) return false;
  stage_regs(p, icount, mask, gpr, rflags, nullptr);
  return true;
}

void TraceEncoder::encode_candidate_regs_then_insn(uint32_t cpu, uint64_t icount, const uint64_t* gpr,
                                                   uint64_t rflags, uint32_t candidates, uint64_t rip, uint64_t phys,
                                                   const uint8_t* bytes, unsigned len) {
  encode_candidate_regs(cpu, icount, gpr, rflags, candidates);
  encode_insn(cpu, icount, rip, phys, bytes, len);
}

// The record is written into the staging area in place (at most 1 + 10 +
// 5 + 30 * 10 bytes, and the slack put_sleb_fast writes beyond a value).
void TraceEncoder::stage_regs(CpuPos& p, uint64_t icount, uint32_t mask, const uint64_t* gpr, uint64_t rflags,
                              const uint64_t* sys) {
  static_assert(STAGE_SLACK >= 1 + 10 + 5 + treg::COUNT * 10 + 8);
  static_assert(REGS_TAG == (EVENT | E_REGS));
  if (staged_ >= stage_limit_) [[unlikely]] commit();
  uint64_t* prev = p.regs.data();
  uint8_t* o = staged_;
  *o++ = EVENT | E_REGS;
  o = put_sleb_fast(o, int64_t(icount - p.icount));
  o = put_uleb56_fast(o, mask);
  uint32_t m = mask;
  for (; m && __builtin_ctz(m) < 16; m &= m - 1) {
    const unsigned i = unsigned(__builtin_ctz(m));
    o = put_sleb_fast(o, int64_t(gpr[i] - prev[i]));
    prev[i] = gpr[i];
  }
  if (m >> treg::RFLAGS & 1) {
    o = put_sleb_fast(o, int64_t(rflags - prev[treg::RFLAGS]));
    prev[treg::RFLAGS] = rflags;
    m &= m - 1;
  }
  for (; m; m &= m - 1) {
    const unsigned i = unsigned(__builtin_ctz(m));
    o = put_sleb_fast(o, int64_t(sys[i - treg::CR0] - prev[i]));
    prev[i] = sys[i - treg::CR0];
  }
  staged_ = o;
}

void TraceEncoder::encode(const Record& r) {
  if (r.kind == Kind::Insn) return encode_insn(r.cpu, r.icount, r.rip, r.phys, r.bytes, r.len);
  commit();
  if (r.cpu != cur_cpu_) switch_cpu(r.cpu);
  CpuPos& p = pos_[cur_cpu_];
  out_.push_back(EVENT | event_code(r.kind));
  put_sleb(out_, int64_t(r.icount - p.icount));
  switch (r.kind) {
    case Kind::Mode:
    case Kind::VmEntry: out_.push_back(r.sub); break;
    case Kind::Exception:
      out_.push_back(r.vector);
      put_uleb(out_, r.error == NO_ERROR ? 0 : uint64_t(r.error) + 1);
      if (r.vector == 14) put_uleb(out_, r.a);
      break;
    case Kind::Interrupt:
      out_.push_back(r.vector);
      out_.push_back(r.sub);
      break;
    case Kind::VmExit:
    case Kind::Io:
    case Kind::Mmio:
      out_.push_back(r.sub);
      put_uleb(out_, r.a);
      put_uleb(out_, r.b);
      break;
    case Kind::VmEntryFailed:
    case Kind::Note: put_str(out_, r.text); break;
    case Kind::Regs: {
      // The mask, then the values in register order (the recorder lists
      // them so; another order is sorted first).
      uint64_t mask = 0;
      for (const RegValue& v : r.regs) mask |= uint64_t(1) << v.reg;
      put_uleb(out_, mask);
      const auto by_reg = [](const RegValue& x, const RegValue& y) { return x.reg < y.reg; };
      if (std::is_sorted(r.regs.begin(), r.regs.end(), by_reg)) {
        for (const RegValue& v : r.regs) put_reg(p, v);
      } else {
        std::vector<RegValue> sorted = r.regs;
        std::sort(sorted.begin(), sorted.end(), by_reg);
        for (const RegValue& v : sorted) put_reg(p, v);
      }
      break;
    }
    case Kind::MemWrite:
      out_.push_back(r.size);
      put_uleb(out_, r.a);
      put_uleb(out_, r.b);
      break;
    case Kind::End:
      out_.push_back(r.sub);
      put_uleb(out_, r.a);
      put_str(out_, r.text);
      break;
    case Kind::SerialIn:
      put_uleb(out_, r.a);
      put_str(out_, r.text);
      break;
    case Kind::HostClock:
      // A clock moves on a little between readings: the difference from
      // the previous reading of the same kind is short.
      out_.push_back(r.sub);
      put_sleb(out_, int64_t(r.a - last_clock_[r.sub % CLOCK_KINDS]));
      last_clock_[r.sub % CLOCK_KINDS] = r.a;
      break;
    case Kind::StopRequest: break;
    case Kind::Insn: break;
  }
}

std::vector<uint8_t> encode_header(const TraceHeader& h) {
  std::vector<uint8_t> body;
  put_str(body, h.softvt_version);
  put_str(body, h.machine);
  put_str(body, h.description);
  put_str(body, h.cpu_model);
  put_uleb(body, h.flags);
  put_uleb(body, h.options.size());
  for (const std::string& o : h.options) put_str(body, o);
  put_uleb(body, h.images.size());
  for (const ImageHash& i : h.images) {
    put_str(body, i.option);
    put_str(body, i.path);
    put_uleb(body, i.size);
    body.insert(body.end(), i.sha256.begin(), i.sha256.end());
  }
  std::vector<uint8_t> out(MAGIC, MAGIC + 8);
  out.push_back(uint8_t(h.version));
  out.push_back(uint8_t(h.version >> 8));
  out.push_back(0);
  out.push_back(0);
  const uint32_t n = uint32_t(body.size());
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// ---- decoder ----------------------------------------------------------------

TraceDecoder::TraceDecoder(const uint8_t* data, size_t size, std::string file)
    : data_(data), size_(size), file_(std::move(file)), cpus_(1), cache_(TraceEncoder::CACHE_SLOTS) {
  parse_header();
}

void TraceDecoder::fail(uint64_t at, const std::string& problem) const { throw TraceError(file_, at, problem); }

uint8_t TraceDecoder::byte() {
  if (pos_ >= size_) fail(pos_, "the file ends in the middle of a record (truncated)");
  return data_[pos_++];
}

uint64_t TraceDecoder::uleb() {
  const size_t start = pos_;
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    const uint8_t b = byte();
    if (shift == 63 && (b & 0x7e)) fail(start, "a number does not fit in 64 bits");
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    if (shift >= 63) fail(start, "a number does not fit in 64 bits");
  }
}

int64_t TraceDecoder::sleb() {
  const size_t start = pos_;
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    if (shift > 63) fail(start, "a number does not fit in 64 bits");
    b = byte();
    v |= uint64_t(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) v |= ~uint64_t(0) << shift;
  return int64_t(v);
}

std::string TraceDecoder::str() {
  const size_t start = pos_;
  const uint64_t n = uleb();
  if (n > MAX_STRING) fail(start, "a string length of " + std::to_string(n) + " bytes is implausible (corrupt)");
  if (n > size_ - pos_) fail(start, "a string runs past the end of the file (truncated)");
  std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
  pos_ += size_t(n);
  return s;
}

void TraceDecoder::parse_header() {
  if (size_ < HEADER_FIXED)
    fail(size_, "the file is " + std::to_string(size_) + " bytes, shorter than a trace header (16 bytes)");
  if (std::memcmp(data_, MAGIC, 8) != 0) fail(0, "not a softvt trace (bad magic; expected \"SVTTRACE\")");
  header_.version = uint16_t(data_[8] | data_[9] << 8);
  if (header_.version < OLDEST_READABLE_VERSION || header_.version > FORMAT_VERSION)
    fail(8, "format version " + std::to_string(header_.version) + ", this softvt reads versions " +
                std::to_string(OLDEST_READABLE_VERSION) + " to " + std::to_string(FORMAT_VERSION));
  const uint32_t body = uint32_t(data_[12]) | uint32_t(data_[13]) << 8 | uint32_t(data_[14]) << 16 |
                        uint32_t(data_[15]) << 24;
  if (body > size_ - HEADER_FIXED) fail(12, "the header is " + std::to_string(body) + " bytes but the file ends first");
  // Parse the body as a region of its own: nothing in it may run past it.
  const size_t saved_size = size_;
  size_ = HEADER_FIXED + body;
  pos_ = HEADER_FIXED;
  header_.softvt_version = str();
  header_.machine = str();
  header_.description = str();
  header_.cpu_model = str();
  header_.flags = uleb();
  uint64_t n = uleb();
  if (n > body) fail(pos_, "an option count of " + std::to_string(n) + " is implausible (corrupt)");
  for (uint64_t i = 0; i < n; ++i) header_.options.push_back(str());
  n = uleb();
  if (n > body) fail(pos_, "an image count of " + std::to_string(n) + " is implausible (corrupt)");
  for (uint64_t i = 0; i < n; ++i) {
    ImageHash h;
    h.option = str();
    h.path = str();
    h.size = uleb();
    if (size_ - pos_ < 32) fail(pos_, "an image hash runs past the end of the header");
    std::memcpy(h.sha256.data(), data_ + pos_, 32);
    pos_ += 32;
    header_.images.push_back(std::move(h));
  }
  if (pos_ != size_) fail(pos_, "unexpected bytes at the end of the header");
  size_ = saved_size;
}

bool TraceDecoder::next(Record& r) {
  if (ended_) return false;
  for (;;) {
    if (pos_ >= size_) fail(pos_, "the file ends without an end record (truncated: the recording did not finish)");
    const size_t at = pos_;
    const uint8_t tag = byte();
    r = Record{};
    r.offset = at;
    if (tag == (EVENT | E_CPU)) {
      const uint64_t cpu = uleb();
      if (cpu > MAX_CPU) fail(at, "CPU number " + std::to_string(cpu) + " is out of range (corrupt)");
      cur_cpu_ = uint32_t(cpu);
      if (cpus_.size() <= cur_cpu_) cpus_.resize(cur_cpu_ + 1);
      continue;
    }
    r.cpu = cur_cpu_;
    if (tag & EVENT) decode_event(tag, r);
    else decode_insn(tag, r);
    return true;
  }
}

void TraceDecoder::decode_insn(uint8_t tag, Record& r) {
  TraceEncoder::CpuPos& p = cpus_[cur_cpu_];
  r.kind = Kind::Insn;
  r.len = tag & I_LEN;
  if (r.len == 0) fail(r.offset, "an instruction record of length 0 (corrupt tag 0x" + hex(tag).substr(2) + ")");
  if ((tag & (I_ADDR | I_COUNT)) != (I_ADDR | I_COUNT) && !p.seen)
    fail(r.offset, "the first instruction of CPU " + std::to_string(cur_cpu_) + " has no explicit address (corrupt)");
  r.icount = p.icount + 1;
  if (tag & I_COUNT) r.icount += uint64_t(sleb());
  r.rip = p.rip + p.len;
  r.phys = p.phys + p.len;
  if (tag & I_ADDR) {
    const uint64_t drip = uint64_t(sleb());
    r.rip += drip;
    r.phys += drip + uint64_t(sleb());
  }
  TraceEncoder::CacheSlot& slot = cache_[TraceEncoder::cache_index(r.phys)];
  if (tag & I_BYTES) {
    if (size_ - pos_ < r.len) fail(pos_, "instruction bytes run past the end of the file (truncated)");
    std::memcpy(r.bytes, data_ + pos_, r.len);
    pos_ += r.len;
    slot.phys = r.phys;
    slot.len = r.len;
    std::memcpy(slot.bytes, r.bytes, r.len);
  } else {
    if (slot.phys != r.phys || slot.len != r.len)
      fail(r.offset, "the instruction at physical " + hex(r.phys) + " refers to bytes never recorded (corrupt)");
    std::memcpy(r.bytes, slot.bytes, r.len);
  }
  p.rip = r.rip, p.phys = r.phys, p.len = r.len, p.icount = r.icount, p.seen = true;
}

void TraceDecoder::decode_event(uint8_t tag, Record& r) {
  const uint8_t code = tag & 0x7f;
  const TraceEncoder::CpuPos& p = cpus_[cur_cpu_];
  if (code > last_event_code(header_.version)) {
    if (code <= E_STOP)
      fail(r.offset, "record tag " + hex(tag) + " does not exist in format version " +
                         std::to_string(header_.version) + " (corrupt)");
    fail(r.offset, "unknown record tag " + hex(tag) + " (corrupt)");
  }
  r.icount = p.icount + uint64_t(sleb());
  switch (code) {
    case E_MODE:
      r.kind = Kind::Mode;
      r.sub = byte();
      if (r.sub > 6) fail(r.offset, "unknown CPU mode " + std::to_string(r.sub) + " (corrupt)");
      break;
    case E_EXC: {
      r.kind = Kind::Exception;
      r.vector = byte();
      const uint64_t e = uleb();
      if (e > 0x100000000ull) fail(r.offset, "an exception error code does not fit in 32 bits (corrupt)");
      r.error = e == 0 ? NO_ERROR : uint32_t(e - 1);
      if (r.vector == 14) r.a = uleb();
      break;
    }
    case E_INT:
      r.kind = Kind::Interrupt;
      r.vector = byte();
      r.sub = byte();
      if (r.sub > 6) fail(r.offset, "unknown event type " + std::to_string(r.sub) + " (corrupt)");
      break;
    case E_VMENTRY:
      r.kind = Kind::VmEntry;
      r.sub = byte();
      if (r.sub > 2) fail(r.offset, "unknown VM-entry kind " + std::to_string(r.sub) + " (corrupt)");
      break;
    case E_VMEXIT:
    case E_IO:
    case E_MMIO:
      r.kind = code == E_VMEXIT ? Kind::VmExit : code == E_IO ? Kind::Io : Kind::Mmio;
      r.sub = byte();
      r.a = uleb();
      r.b = uleb();
      if (code == E_VMEXIT && r.sub > 1) fail(r.offset, "unknown VM architecture " + std::to_string(r.sub) + " (corrupt)");
      if (code != E_VMEXIT) {
        const unsigned sz = r.sub & ~SUB_WRITE;
        if (sz != 1 && sz != 2 && sz != 4 && sz != 8) fail(r.offset, "an access size of " + std::to_string(sz) + " (corrupt)");
        if (code == E_IO && r.a > 0xffff) fail(r.offset, "an I/O port above 0xffff (corrupt)");
      }
      break;
    case E_VMFAIL:
    case E_NOTE:
      r.kind = code == E_VMFAIL ? Kind::VmEntryFailed : Kind::Note;
      r.text = str();
      break;
    case E_REGS: {
      r.kind = Kind::Regs;
      const uint64_t mask = uleb();
      if (mask >> treg::COUNT) fail(r.offset, "a register mask names unknown registers (corrupt)");
      for (unsigned reg = 0; reg < treg::COUNT; ++reg)
        if (mask >> reg & 1) {
          cpus_[cur_cpu_].regs[reg] += uint64_t(sleb());
          r.regs.push_back(RegValue{uint8_t(reg), cpus_[cur_cpu_].regs[reg]});
        }
      break;
    }
    case E_MEMW:
      r.kind = Kind::MemWrite;
      r.size = byte();
      if (r.size == 0 || r.size > 8) fail(r.offset, "a memory write of " + std::to_string(r.size) + " bytes (corrupt)");
      r.a = uleb();
      r.b = uleb();
      break;
    case E_END:
      r.kind = Kind::End;
      r.sub = byte();
      r.a = uleb();
      r.text = str();
      if (pos_ != size_) fail(pos_, std::to_string(size_ - pos_) + " unexpected bytes after the end record");
      ended_ = true;
      break;
    case E_SERIAL:
      r.kind = Kind::SerialIn;
      r.a = uleb();
      r.text = str();
      if (r.text.empty()) fail(r.offset, "a serial input record without bytes (corrupt)");
      break;
    case E_CLOCK:
      r.kind = Kind::HostClock;
      r.sub = byte();
      if (r.sub >= CLOCK_KINDS) fail(r.offset, "unknown host-clock reading kind " + std::to_string(r.sub) + " (corrupt)");
      r.a = last_clock_[r.sub] += uint64_t(sleb());
      break;
    case E_STOP: r.kind = Kind::StopRequest; break;
    default: fail(r.offset, "unknown record tag " + hex(tag) + " (corrupt)");
  }
}

std::vector<uint8_t> read_trace_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TraceError(path, 0, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    close(fd);
    throw TraceError(path, 0, "is a directory, not a trace file");
  }
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const ssize_t n = read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      throw TraceError(path, data.size(), std::strerror(e));
    }
    if (n == 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + n);
  }
  close(fd);
  return data;
}

}  // namespace softvt::trace
