// The MMX and SSE2 integer instructions (emu/interp/simd_int_*.cpp) against
// the host CPU executing the same machine code natively (emu/accel/accel.h
// run_native, the strongest oracle), over random and edge operands for
// every instruction and form; and the #UD / #NM / #MF / #GP(alignment) rules
// and the MMX/x87 aliasing against the SDM on the interpreter.
//
// A differential test assembles one image per instruction: for each form
// (a snippet template) and each record, the snippet loads the record's
// operands, executes the instruction with randomly chosen registers (and a
// random imm8) and stores the results back into the record. The image runs
// on the interpreter (long64 or prot32 flat state, a model with MMX, SSE
// and SSE2) and natively; the records, the MMX/x87 slots, FSW/FTW and
// XMM0-15 must agree.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/fpu_state.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr unsigned REC = 64;  // record: +0 dest, +16 source, +32 result, +48 GPR result, +56 GPR input
constexpr unsigned RECORDS = 40;

// ---- assembling ------------------------------------------------------------

Bytes assemble(const std::string& src) {
  return test::assemble_nasm(src, test::NasmWarnings::AreErrors);
}

CpuModel simd_model() {
  CpuModel m = default_cpu_model();
  for (Feature f : {Feature::Fpu, Feature::Mmx, Feature::Sse, Feature::Sse2, Feature::Fxsr})
    m.features |= 1ull << unsigned(f);
  return m;
}

// ---- the interpreter side ----------------------------------------------------

struct ExceptionLog : Cpu::Tracer {
  std::vector<GuestException> seen;
  std::vector<uint64_t> rips;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu& c, const GuestException& e) override {
    seen.push_back(e);
    rips.push_back(c.s.rip);
  }
  void note(const Cpu&, const std::string&) override {}
};

struct Guest {
  Memory mem{64ull << 20};
  CpuState init{};
  CpuModel model = simd_model();
  RunOutcome out;
  ExceptionLog log;
  Guest(FlatMode m, const Bytes& image) { init = setup_flat(mem, image, LOAD, m); }
  void run(uint64_t max_insns = 10'000'000) {
    RunOptions opt;
    opt.max_insns = max_insns;
    opt.tracer = &log;
    out = run_interp(mem, init, model, opt);
  }
  bool halted() const { return out.stop == StopReason::Hlt; }
};

// ---- random operands -----------------------------------------------------------

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t next() { return g(); }
  unsigned below(unsigned n) { return unsigned(g() % n); }
};

// Fills 16 bytes lane by lane (lanes of 1, 2, 4 or 8 bytes) with edge
// values (0, 1, all ones, the signed and unsigned extremes and their
// neighbours, small values) or random bits.
void edge_fill(Rng& r, uint8_t* p) {
  unsigned off = 0;
  while (off < 16) {
    unsigned w = 1u << r.below(4);
    while (off % w) w /= 2;
    const unsigned bits = 8 * w;
    const uint64_t m = w == 8 ? ~0ull : (1ull << bits) - 1, smin = 1ull << (bits - 1);
    uint64_t v;
    switch (r.below(12)) {
      case 0: v = 0; break;
      case 1: v = 1; break;
      case 2: v = m; break;
      case 3: v = smin; break;
      case 4: v = smin - 1; break;
      case 5: v = smin + 1; break;
      case 6: v = m - 1; break;
      case 7: v = r.below(40); break;
      default: v = r.next(); break;
    }
    v &= m;
    std::memcpy(p + off, &v, w);
    off += w;
  }
}

// A shift count: mostly around the lane widths, sometimes huge.
uint64_t shift_count(Rng& r) {
  static const uint64_t edges[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256,
                                   0x100000000ull, 0x8000000000000000ull, ~0ull};
  if (r.below(3) == 0) return r.below(80);
  return edges[r.below(sizeof edges / sizeof edges[0])];
}
unsigned random_imm(Rng& r) {
  static const unsigned edges[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255};
  if (r.below(2) == 0) return r.below(256);
  return edges[r.below(sizeof edges / sizeof edges[0])];
}

// ---- images --------------------------------------------------------------------

enum class Src { Edge, Count };  // how the record's source operand is drawn

struct Test {
  std::string name;
  std::vector<std::string> forms;  // snippet templates
  Src src = Src::Edge;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

struct Image {
  std::string source;
  Bytes bytes;
  uint64_t data = 0;  // address of the first record
  size_t records = 0;
  std::vector<std::string> snippet;  // the code of each record, for messages
};

// Builds the image: per form and record, the snippet with {R} = the
// record's address, {x0} {x1} two distinct XMM registers, {m0} {m1} two
// distinct MMX registers, {I} an imm8, {A}/{DI} rAX/rDI at the mode's width.
Image build_image(const Test& t, FlatMode mode, uint64_t seed) {
  Rng r(seed);
  const bool l64 = mode == FlatMode::Long64;
  const unsigned nx = l64 ? 16 : 8;
  std::ostringstream code, data;
  Image img;
  code << (l64 ? "bits 64\n" : "bits 32\n") << "org " << LOAD << "\n";
  // The native child starts with FNINIT's x87 state, which keeps whatever
  // the register contents were: define all eight first.
  for (unsigned i = 0; i < 8; ++i) code << "pxor mm" << i << ", mm" << i << "\n";
  code << "emms\n";
  for (const std::string& form : t.forms) {
    for (unsigned k = 0; k < RECORDS; ++k) {
      const size_t idx = img.records++;
      const std::string rec = "rec" + std::to_string(idx);
      const unsigned x0 = r.below(nx), x1 = (x0 + 1 + r.below(nx - 1)) % nx;
      const unsigned m0 = r.below(8), m1 = (m0 + 1 + r.below(7)) % 8;
      std::string s = form;
      s = replace_all(s, "{R}", rec);
      s = replace_all(s, "{x0}", "xmm" + std::to_string(x0));
      s = replace_all(s, "{x1}", "xmm" + std::to_string(x1));
      s = replace_all(s, "{m0}", "mm" + std::to_string(m0));
      s = replace_all(s, "{m1}", "mm" + std::to_string(m1));
      s = replace_all(s, "{I}", std::to_string(random_imm(r)));
      s = replace_all(s, "{A}", l64 ? "rax" : "eax");
      s = replace_all(s, "{DI}", l64 ? "rdi" : "edi");
      img.snippet.push_back(s);
      code << s << "\n";
      uint8_t b[REC];
      edge_fill(r, b);
      edge_fill(r, b + 16);
      if (t.src == Src::Count) {
        const uint64_t c = shift_count(r);
        std::memcpy(b + 16, &c, 8);
      }
      for (unsigned i = 32; i < REC; ++i) b[i] = uint8_t(0xa5 ^ i);  // result area: a known filler
      edge_fill(r, b + 48);  // GPR input at +56 (and filler at +48)
      data << "align 16\n" << rec << ": db ";
      for (unsigned i = 0; i < REC; ++i) data << (i ? "," : "") << unsigned(b[i]);
      data << "\n";
    }
  }
  code << "hlt\nalign 4096\ndata_start:\n" << data.str();
  img.source = code.str();
  img.bytes = assemble(img.source);
  // data_start: the first 4 KiB boundary after the code; rec0 follows it.
  const size_t code_end = img.bytes.size() - img.records * REC;
  img.data = LOAD + ((code_end + 15) & ~size_t(15));
  return img;
}

std::string hexbytes(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// The parts of the FXSAVE image an integer SIMD instruction may change:
// FCW, FSW, abridged FTW, MXCSR, the eight x87/MMX slots (80 bits each) and
// XMM0-15 (XMM0-7 only in prot32).
std::vector<std::pair<size_t, size_t>> fx_fields(FlatMode mode) {
  std::vector<std::pair<size_t, size_t>> f = {{fxs::FCW, 2}, {fxs::FSW, 2}, {fxs::FTW, 1}, {fxs::MXCSR, 4}};
  for (unsigned i = 0; i < 8; ++i) f.push_back({fxs::ST0 + 16 * i, 10});
  const unsigned nx = mode == FlatMode::Long64 ? 16 : 8;
  for (unsigned i = 0; i < nx; ++i) f.push_back({fxs::XMM0 + 16 * i, 16});
  return f;
}

// Runs the test's image on the interpreter and natively and compares.
void agree_with_host(const Test& t, FlatMode mode, uint64_t seed) {
  const std::string why = native_unavailable_reason(mode);
  INFO("native oracle: " << why);
  REQUIRE(why.empty());
  Image img = build_image(t, mode, seed);
  Guest g(mode, img.bytes);
  g.run();
  INFO(t.name << " (" << flat_mode_name(mode) << "): interpreter " << stop_reason_name(g.out.stop) << " "
              << g.out.detail);
  REQUIRE(g.halted());
  NativeOutcome n = run_native(img.bytes, LOAD, {}, NativeOptions{mode, 5000});
  INFO("native: " << n.detail);
  REQUIRE(n.ran);
  REQUIRE(n.ended_by_hlt);
  REQUIRE(n.image.size() >= img.bytes.size());
  const uint8_t* guest = g.mem.ram() + LOAD;
  const uint8_t* host = n.image.data();
  const size_t data_off = img.data - LOAD;
  size_t bad = 0;
  for (size_t i = 0; i < img.records && bad < 5; ++i) {
    const size_t off = data_off + i * REC;
    if (std::memcmp(guest + off, host + off, REC) == 0) continue;
    ++bad;
    INFO("record " << i << ":\n" << img.snippet[i] << "\ninput dest " << hexbytes(img.bytes.data() + off, 16)
                   << " source " << hexbytes(img.bytes.data() + off + 16, 16) << " gpr "
                   << hexbytes(img.bytes.data() + off + 56, 8));
    CHECK(hexbytes(guest + off + 32, 32) == hexbytes(host + off + 32, 32));
    CHECK(hexbytes(guest + off, 32) == hexbytes(host + off, 32));
  }
  CHECK(bad == 0);
  for (auto [off, len] : fx_fields(mode)) {
    INFO("FXSAVE image bytes at " << off);
    CHECK(hexbytes(g.out.state.xsave + off, len) == hexbytes(n.state.xsave + off, len));
  }
}

// ---- snippet templates -------------------------------------------------------------

// "op dst, src" in its four forms: MMX register/memory, XMM register/memory.
std::vector<std::string> binary_forms(const std::string& op, bool mmx, bool xmm, bool imm = false) {
  const std::string i = imm ? ", {I}" : "";
  std::vector<std::string> f;
  if (mmx) {
    f.push_back("movq {m0}, [{R}]\nmovq {m1}, [{R}+16]\n" + op + " {m0}, {m1}" + i + "\nmovq [{R}+32], {m0}");
    f.push_back("movq {m0}, [{R}]\n" + op + " {m0}, [{R}+16]" + i + "\nmovq [{R}+32], {m0}");
  }
  if (xmm) {
    f.push_back("movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\n" + op + " {x0}, {x1}" + i +
                "\nmovdqu [{R}+32], {x0}");
    f.push_back("movdqu {x0}, [{R}]\n" + op + " {x0}, [{R}+16]" + i + "\nmovdqu [{R}+32], {x0}");
  }
  return f;
}

// Shifts: the binary forms plus the imm8 forms.
std::vector<std::string> shift_forms(const std::string& op, bool mmx) {
  std::vector<std::string> f = binary_forms(op, mmx, true);
  if (mmx) f.push_back("movq {m0}, [{R}]\n" + op + " {m0}, {I}\nmovq [{R}+32], {m0}");
  f.push_back("movdqu {x0}, [{R}]\n" + op + " {x0}, {I}\nmovdqu [{R}+32], {x0}");
  return f;
}

Test binary(const std::string& op, bool mmx = true) { return {op, binary_forms(op, mmx, true)}; }

}  // namespace

// =============================================================================
// Differential tests against the host CPU
// =============================================================================

TEST_CASE("SIMD integer arithmetic agrees with the host CPU (long64)") {
  uint64_t seed = 0x51d0;
  for (const char* op : {"paddb", "paddw", "paddd", "paddq", "paddsb", "paddsw", "paddusb", "paddusw", "psubb",
                         "psubw", "psubd", "psubq", "psubsb", "psubsw", "psubusb", "psubusw", "pmullw", "pmulhw",
                         "pmulhuw", "pmuludq", "pmaddwd", "pavgb", "pavgw", "pminub", "pmaxub", "pminsw",
                         "pmaxsw", "psadbw"}) {
    DYNAMIC_SECTION(op) { agree_with_host(binary(op), FlatMode::Long64, ++seed); }
  }
}

TEST_CASE("SIMD integer compares and logic agree with the host CPU (long64)") {
  uint64_t seed = 0xc0de;
  for (const char* op :
       {"pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "pand", "pandn", "por", "pxor"}) {
    DYNAMIC_SECTION(op) { agree_with_host(binary(op), FlatMode::Long64, ++seed); }
  }
}

TEST_CASE("SIMD integer shifts agree with the host CPU, counts above the width included (long64)") {
  uint64_t seed = 0x5417;
  for (const char* op : {"psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad"}) {
    DYNAMIC_SECTION(op) { agree_with_host({op, shift_forms(op, true), Src::Count}, FlatMode::Long64, ++seed); }
  }
  for (const char* op : {"pslldq", "psrldq"}) {
    DYNAMIC_SECTION(op) {
      agree_with_host({op, {"movdqu {x0}, [{R}]\n" + std::string(op) + " {x0}, {I}\nmovdqu [{R}+32], {x0}"}},
                      FlatMode::Long64, ++seed);
    }
  }
}

TEST_CASE("SIMD integer packs, unpacks and shuffles agree with the host CPU (long64)") {
  uint64_t seed = 0x9ac;
  for (const char* op : {"packsswb", "packssdw", "packuswb", "punpcklbw", "punpcklwd", "punpckldq", "punpckhbw",
                         "punpckhwd", "punpckhdq"}) {
    DYNAMIC_SECTION(op) { agree_with_host(binary(op), FlatMode::Long64, ++seed); }
  }
  for (const char* op : {"punpcklqdq", "punpckhqdq"}) {
    DYNAMIC_SECTION(op) { agree_with_host({op, binary_forms(op, false, true)}, FlatMode::Long64, ++seed); }
  }
  DYNAMIC_SECTION("pshufw") { agree_with_host({"pshufw", binary_forms("pshufw", true, false, true)}, FlatMode::Long64, ++seed); }
  for (const char* op : {"pshufd", "pshufhw", "pshuflw"}) {
    DYNAMIC_SECTION(op) { agree_with_host({op, binary_forms(op, false, true, true)}, FlatMode::Long64, ++seed); }
  }
  DYNAMIC_SECTION("pextrw, pinsrw, pmovmskb") {
    agree_with_host({"pextrw/pinsrw/pmovmskb",
                     {"movq {m1}, [{R}+16]\nmov {A}, [{R}+56]\npextrw eax, {m1}, {I}\nmov [{R}+48], {A}",
                      "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\npextrw eax, {x1}, {I}\nmov [{R}+48], {A}",
                      "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\npextrw rax, {x1}, {I}\nmov [{R}+48], {A}",
                      "movq {m0}, [{R}]\nmov {A}, [{R}+56]\npinsrw {m0}, eax, {I}\nmovq [{R}+32], {m0}",
                      "movq {m0}, [{R}]\npinsrw {m0}, word [{R}+16], {I}\nmovq [{R}+32], {m0}",
                      "movdqu {x0}, [{R}]\nmov {A}, [{R}+56]\npinsrw {x0}, eax, {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\npinsrw {x0}, word [{R}+17], {I}\nmovdqu [{R}+32], {x0}",
                      "movq {m1}, [{R}+16]\nmov {A}, [{R}+56]\npmovmskb eax, {m1}\nmov [{R}+48], {A}",
                      "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\npmovmskb eax, {x1}\nmov [{R}+48], {A}",
                      "movdqu xmm1, [{R}+16]\nmov {A}, [{R}+56]\ndb 0x66, 0x48, 0x0f, 0xd7, 0xc1  ; pmovmskb rax, xmm1\nmov [{R}+48], {A}"}},
                    FlatMode::Long64, ++seed);
  }
}

TEST_CASE("SIMD integer moves agree with the host CPU (long64)") {
  agree_with_host(
      {"moves",
       {// MOVD / MOVQ with general registers
        "mov {A}, [{R}+56]\nmovd {m0}, eax\nmovq [{R}+32], {m0}",
        "mov {A}, [{R}+56]\nmovq {m0}, rax\nmovq [{R}+32], {m0}",
        "movq {m1}, [{R}+16]\nmov {A}, [{R}+56]\nmovd eax, {m1}\nmov [{R}+48], {A}",
        "movq {m1}, [{R}+16]\nmov {A}, [{R}+56]\nmovq rax, {m1}\nmov [{R}+48], {A}",
        "movdqu {x0}, [{R}]\nmov {A}, [{R}+56]\nmovd {x0}, eax\nmovdqu [{R}+32], {x0}",
        "movdqu {x0}, [{R}]\nmov {A}, [{R}+56]\nmovq {x0}, rax\nmovdqu [{R}+32], {x0}",
        "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\nmovd eax, {x1}\nmov [{R}+48], {A}",
        "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\nmovq rax, {x1}\nmov [{R}+48], {A}",
        // with memory
        "movq {m0}, [{R}]\nmovd {m0}, [{R}+20]\nmovq [{R}+32], {m0}",
        "movq {m1}, [{R}+16]\nmovd [{R}+36], {m1}",
        "movq {m0}, [{R}+3]\nmovq [{R}+33], {m0}",
        "movdqu {x0}, [{R}]\nmovd {x0}, [{R}+20]\nmovdqu [{R}+32], {x0}",
        "movdqu {x1}, [{R}+16]\nmovd [{R}+36], {x1}",
        "movdqu {x0}, [{R}]\nmovq {x0}, [{R}+17]\nmovdqu [{R}+32], {x0}",    // F3 0F 7E
        "movdqu {x1}, [{R}+16]\nmovq [{R}+41], {x1}",                         // 66 0F D6
        // MOVQ between registers of one class (F3 0F 7E; 66 0F D6 in bytes; 0F 6F)
        "movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\nmovq {x0}, {x1}\nmovdqu [{R}+32], {x0}",
        "movdqu xmm1, [{R}]\nmovdqu xmm2, [{R}+16]\ndb 0x66, 0x0f, 0xd6, 0xd1\nmovdqu [{R}+32], xmm1",
        "movdqu xmm9, [{R}]\nmovdqu xmm2, [{R}+16]\ndb 0x66, 0x41, 0x0f, 0xd6, 0xd1\nmovdqu [{R}+32], xmm9",
        "movq {m0}, [{R}]\nmovq {m1}, [{R}+16]\nmovq {m0}, {m1}\nmovq [{R}+32], {m0}",
        "movq {m0}, [{R}]\nmovq {m1}, [{R}+16]\ndb 0x0f, 0x7f, 0xc8\nmovq [{R}+32], {m0}",
        // MOVQ mm, m64 and m64, mm through REX.W 0F 6E / 7E
        "db 0x48, 0x0f, 0x6e, 0x04, 0x25\ndd {R}+16\nmovq [{R}+32], mm0",
        "movq mm3, [{R}+16]\ndb 0x48, 0x0f, 0x7e, 0x1c, 0x25\ndd {R}+40",
        // MOVDQA / MOVDQU / MOVNTDQ / MOVNTQ
        "movdqa {x0}, [{R}+16]\nmovdqa [{R}+32], {x0}",
        "movdqu {x0}, [{R}+16]\nmovdqa {x1}, {x0}\nmovdqu [{R}+32], {x1}",
        "movdqu {x0}, [{R}+5]\nmovdqu [{R}+39], {x0}",
        "movdqu {x0}, [{R}+16]\nmovdqu {x1}, {x0}\nmovntdq [{R}+32], {x1}",
        "movq {m1}, [{R}+16]\nmovntq [{R}+36], {m1}",
        // MASKMOVQ / MASKMOVDQU at DS:rDI
        "movq {m0}, [{R}]\nmovq {m1}, [{R}+16]\nlea {DI}, [{R}+32]\nmaskmovq {m0}, {m1}",
        "movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\nlea {DI}, [{R}+32]\nmaskmovdqu {x0}, {x1}",
        "movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\nlea {DI}, [{R}+37]\nmaskmovdqu {x0}, {x1}",
        // MOVQ2DQ / MOVDQ2Q
        "movdqu {x0}, [{R}]\nmovq {m1}, [{R}+16]\nmovq2dq {x0}, {m1}\nmovdqu [{R}+32], {x0}",
        "movq {m0}, [{R}]\nmovdqu {x1}, [{R}+16]\nmovdq2q {m0}, {x1}\nmovq [{R}+32], {m0}",
        // EMMS between MMX instructions
        "movq {m0}, [{R}]\nemms\nmovq [{R}+32], {m0}\nemms"}},
      FlatMode::Long64, 0x30fe);
}

TEST_CASE("SIMD integer instructions agree with the host CPU in prot32") {
  uint64_t seed = 0x3232;
  for (const char* op :
       {"paddb",   "paddw",   "paddd",    "paddq",    "paddsb",    "paddsw",    "paddusb",   "paddusw", "psubb",
        "psubw",   "psubd",   "psubq",    "psubsb",   "psubsw",    "psubusb",   "psubusw",   "pmullw",  "pmulhw",
        "pmulhuw", "pmuludq", "pmaddwd",  "pavgb",    "pavgw",     "pminub",    "pmaxub",    "pminsw",  "pmaxsw",
        "psadbw",  "pcmpeqb", "pcmpeqw",  "pcmpeqd",  "pcmpgtb",   "pcmpgtw",   "pcmpgtd",   "pand",    "pandn",
        "por",     "pxor",    "packsswb", "packssdw", "packuswb",  "punpcklbw", "punpcklwd", "punpckldq",
        "punpckhbw", "punpckhwd", "punpckhdq"}) {
    DYNAMIC_SECTION(op) { agree_with_host(binary(op), FlatMode::Prot32, ++seed); }
  }
  for (const char* op : {"psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad"}) {
    DYNAMIC_SECTION(op) { agree_with_host({op, shift_forms(op, true), Src::Count}, FlatMode::Prot32, ++seed); }
  }
  DYNAMIC_SECTION("xmm-only shuffles and byte shifts") {
    agree_with_host({"prot32 xmm-only",
                     {"movdqu {x0}, [{R}]\npslldq {x0}, {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\npsrldq {x0}, {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\npunpcklqdq {x0}, [{R}+16]\nmovdqu [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\npunpckhqdq {x0}, {x1}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x1}, [{R}+16]\npshufhw {x0}, {x1}, {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x1}, [{R}+16]\npshuflw {x0}, {x1}, {I}\nmovdqu [{R}+32], {x0}",
                      "movq {m0}, [{R}]\npshufw {m0}, [{R}+16], {I}\nmovq [{R}+32], {m0}"}},
                    FlatMode::Prot32, ++seed);
  }
  DYNAMIC_SECTION("moves and extracts") {
    agree_with_host({"prot32 moves",
                     {"mov {A}, [{R}+56]\nmovd {m0}, eax\nmovq [{R}+32], {m0}",
                      "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\nmovd eax, {x1}\nmov [{R}+48], {A}",
                      "movdqu {x0}, [{R}]\nmovq {x0}, [{R}+17]\nmovdqu [{R}+32], {x0}",
                      "movdqa {x0}, [{R}+16]\nmovdqa [{R}+32], {x0}",
                      "movq {m0}, [{R}]\nmovq {m1}, [{R}+16]\nlea {DI}, [{R}+32]\nmaskmovq {m0}, {m1}",
                      "movdqu {x0}, [{R}]\nmovdqu {x1}, [{R}+16]\nlea {DI}, [{R}+33]\nmaskmovdqu {x0}, {x1}",
                      "movq {m1}, [{R}+16]\nmov {A}, [{R}+56]\npextrw eax, {m1}, {I}\nmov [{R}+48], {A}",
                      "movq {m0}, [{R}]\nmov {A}, [{R}+56]\npinsrw {m0}, eax, {I}\nmovq [{R}+32], {m0}",
                      "movq {m1}, [{R}+16]\nmovntq [{R}+36], {m1}",
                      "movdqu {x0}, [{R}+16]\nmovntdq [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\nmovq {m1}, [{R}+16]\nmovq2dq {x0}, {m1}\nmovdqu [{R}+32], {x0}",
                      "movq {m0}, [{R}]\nmovdqu {x1}, [{R}+16]\nmovdq2q {m0}, {x1}\nmovq [{R}+32], {m0}\nemms",
                      "movdqu {x0}, [{R}]\npinsrw {x0}, word [{R}+17], {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x0}, [{R}]\npshufd {x0}, [{R}+16], {I}\nmovdqu [{R}+32], {x0}",
                      "movdqu {x1}, [{R}+16]\nmov {A}, [{R}+56]\npmovmskb eax, {x1}\nmov [{R}+48], {A}"}},
                    FlatMode::Prot32, ++seed);
  }
}

// =============================================================================
// Exceptions and state rules (interpreter, against the SDM; alignment and
// fault ordering also against the host CPU)
// =============================================================================

namespace {

struct Fault {
  bool faulted;
  uint8_t vector;
  uint32_t error;
};

// Runs `body` (long64) on the interpreter with `tweak` applied to the
// initial state and model; returns the first exception, if any.
template <typename Tweak>
Fault run_body(const std::string& body, Tweak tweak, Guest** keep = nullptr) {
  static Guest* last = nullptr;
  delete last;
  last = new Guest(FlatMode::Long64, assemble("bits 64\norg 0x10000\n" + body + "\nhlt\n"));
  tweak(*last);
  last->run(1000);
  if (keep) *keep = last;
  if (last->log.seen.empty()) {
    INFO("no exception; the run ended: " << stop_reason_name(last->out.stop));
    REQUIRE(last->halted());
    return {false, 0, 0};
  }
  return {true, last->log.seen.front().vector, last->log.seen.front().error_code};
}
Fault run_body(const std::string& body) {
  return run_body(body, [](Guest&) {});
}

void without(Guest& g, Feature f) { g.model.features &= ~(1ull << unsigned(f)); }

}  // namespace

TEST_CASE("CR0.EM: #UD for MMX and SSE2 integer instructions (SDM Vol. 3A Table 2-2, 13.1)") {
  auto em = [](Guest& g) { g.init.cr0 |= cr0::EM; };
  for (const char* insn : {"paddb mm0, mm1", "emms", "pavgb mm0, mm1", "paddb xmm0, xmm1", "movdqa xmm0, xmm1",
                           "movq2dq xmm0, mm1", "movd mm0, eax", "movd eax, xmm0", "pextrw eax, mm1, 1"}) {
    INFO(insn);
    const Fault f = run_body(insn, em);
    CHECK(f.faulted);
    CHECK(f.vector == vec::UD);
  }
}

TEST_CASE("CR0.TS: #NM for MMX and SSE2 integer instructions; EM wins over TS") {
  auto ts = [](Guest& g) { g.init.cr0 |= cr0::TS; };
  for (const char* insn : {"paddb mm0, mm1", "emms", "psadbw mm0, mm1", "pxor xmm0, xmm0", "movdqu xmm0, [0x30000]",
                           "movdq2q mm0, xmm1", "maskmovq mm0, mm1"}) {
    INFO(insn);
    const Fault f = run_body(insn, ts);
    CHECK(f.faulted);
    CHECK(f.vector == vec::NM);
  }
  const Fault f = run_body("paddb mm0, mm1", [](Guest& g) { g.init.cr0 |= cr0::TS | cr0::EM; });
  CHECK(f.vector == vec::UD);
}

TEST_CASE("CR4.OSFXSR = 0: #UD for instructions on XMM registers only") {
  auto no_osfxsr = [](Guest& g) { g.init.cr4 &= ~cr4::OSFXSR; };
  for (const char* insn : {"paddb xmm0, xmm1", "movdqa xmm0, xmm1", "movd xmm0, eax", "movq2dq xmm0, mm1",
                           "movdq2q mm0, xmm1", "pextrw eax, xmm1, 1", "maskmovdqu xmm0, xmm1"}) {
    INFO(insn);
    const Fault f = run_body(insn, no_osfxsr);
    CHECK(f.faulted);
    CHECK(f.vector == vec::UD);
  }
  // MMX instructions and the SSE additions on MMX registers do not depend
  // on CR4.OSFXSR (SDM Vol. 3B 22.25.3).
  for (const char* insn : {"paddb mm0, mm1", "pavgb mm0, mm1", "pshufw mm0, mm1, 0x1b", "pmovmskb eax, mm1",
                           "emms", "movd mm0, eax"}) {
    INFO(insn);
    CHECK_FALSE(run_body(insn, no_osfxsr).faulted);
  }
}

TEST_CASE("CPU model features gate each form: MMX, SSE (MMX forms) and SSE2 (XMM forms, PADDQ/PSUBQ/PMULUDQ)") {
  auto no_sse2 = [](Guest& g) { without(g, Feature::Sse2); };
  for (const char* insn : {"paddb xmm0, xmm1", "pavgb xmm0, xmm1", "movd xmm0, eax", "pextrw eax, xmm1, 0",
                           "paddq mm0, mm1", "pmuludq mm0, mm1", "movdqa xmm0, xmm1", "pshufd xmm0, xmm1, 0"}) {
    INFO("without SSE2: " << insn);
    CHECK(run_body(insn, no_sse2).vector == vec::UD);
  }
  for (const char* insn : {"paddb mm0, mm1", "pavgb mm0, mm1", "movd mm0, eax", "pshufw mm0, mm1, 0"}) {
    INFO("without SSE2: " << insn);
    CHECK_FALSE(run_body(insn, no_sse2).faulted);
  }
  auto no_sse = [](Guest& g) {
    without(g, Feature::Sse);
    without(g, Feature::Sse2);
  };
  for (const char* insn : {"pavgb mm0, mm1", "pshufw mm0, mm1, 0", "pmovmskb eax, mm1", "movntq [0x30000], mm0",
                           "maskmovq mm0, mm1", "pminub mm0, mm1"}) {
    INFO("without SSE: " << insn);
    CHECK(run_body(insn, no_sse).vector == vec::UD);
  }
  CHECK_FALSE(run_body("pmaddwd mm0, mm1", no_sse).faulted);
  auto no_mmx = [](Guest& g) { without(g, Feature::Mmx); };
  for (const char* insn : {"paddb mm0, mm1", "emms", "movd mm0, eax"}) {
    INFO("without MMX: " << insn);
    CHECK(run_body(insn, no_mmx).vector == vec::UD);
  }
}

TEST_CASE("a pending x87 exception (CR0.NE = 1) is #MF for MMX instructions, not for XMM ones") {
  // IE set and unmasked, with ES (SDM Vol. 1 8.1.3).
  auto pending = [](Guest& g) {
    const uint16_t fsw = 0x0081, fcw = 0x037e;
    std::memcpy(g.init.xsave + fxs::FSW, &fsw, 2);
    std::memcpy(g.init.xsave + fxs::FCW, &fcw, 2);
  };
  for (const char* insn : {"paddb mm0, mm1", "emms", "movd eax, mm1", "movq2dq xmm0, mm1", "movdq2q mm0, xmm0"}) {
    INFO(insn);
    CHECK(run_body(insn, pending).vector == vec::MF);
  }
  CHECK_FALSE(run_body("paddb xmm0, xmm1", pending).faulted);
  // The same flag masked is not pending; with CR0.NE = 0 nothing is raised.
  CHECK_FALSE(run_body("paddb mm0, mm1", [&](Guest& g) {
                pending(g);
                const uint16_t fcw = 0x037f;
                std::memcpy(g.init.xsave + fxs::FCW, &fcw, 2);
              }).faulted);
  CHECK_FALSE(run_body("paddb mm0, mm1", [&](Guest& g) {
                pending(g);
                g.init.cr0 &= ~cr0::NE;
              }).faulted);
}

TEST_CASE("16-byte alignment: #GP(0) for legacy-SSE 128-bit memory operands, none for MOVDQU/MOVQ/MOVD/PINSRW") {
  for (const char* insn : {"paddb xmm0, [0x30008]", "movdqa xmm0, [0x30008]", "movdqa [0x30008], xmm0",
                           "movntdq [0x30004], xmm0", "psllw xmm0, [0x30008]", "pshufd xmm0, [0x30001], 0",
                           "punpcklbw xmm0, [0x30008]", "packsswb xmm0, [0x30002]", "pcmpeqb xmm0, [0x3000c]"}) {
    INFO(insn);
    const Fault f = run_body(insn);
    CHECK(f.faulted);
    CHECK(f.vector == vec::GP);
    CHECK(f.error == 0);
    // The host CPU agrees.
    const Bytes img = assemble("bits 64\norg 0x10000\nmov rsp, 0x10000\n" + std::string(insn) + "\nhlt\n");
    NativeOutcome n = run_native(img, LOAD, {{0x30000, 0x1000}});
    REQUIRE(n.ran);
    CHECK_FALSE(n.ended_by_hlt);
    CHECK(n.vector == vec::GP);
  }
  for (const char* insn : {"movdqu xmm0, [0x30008]", "movdqu [0x30001], xmm0", "movq xmm0, [0x30001]",
                           "movd xmm0, [0x30003]", "pinsrw xmm0, [0x30001], 1", "paddb mm0, [0x30001]",
                           "movq [0x30003], xmm0"}) {
    INFO(insn);
    CHECK_FALSE(run_body(insn).faulted);
  }
}

TEST_CASE("a faulting memory operand changes no register and no x87 tag") {
  Guest* g = nullptr;
  // Non-canonical address: #GP(0) before the MMX transition or any write.
  const std::string body =
      "mov rax, 0x1122334455667788\nmovq mm2, rax\nemms\nmovq xmm3, rax\n"
      "mov rbx, 0x8000000000000000\n";
  Fault f = run_body(body + "paddb mm2, [rbx]", [](Guest&) {}, &g);
  CHECK(f.vector == vec::GP);
  CHECK(g->out.state.xsave[fxs::FTW] == 0);  // still empty after EMMS: no transition
  f = run_body(body + "paddb xmm3, [rbx]", [](Guest&) {}, &g);
  CHECK(f.vector == vec::GP);
  uint64_t x3;
  std::memcpy(&x3, g->out.state.xsave + fxs::XMM0 + 16 * 3, 8);
  CHECK(x3 == 0x1122334455667788);
  // A 16-byte access whose second half lies on a not-present page faults
  // there: the flat runner identity-maps the first 4 GiB only.
  f = run_body("pcmpeqb xmm1, xmm1\nmov rdi, 0xfffffff8\nmovdqu [rdi], xmm1", [](Guest&) {}, &g);
  CHECK(f.vector == vec::PF);
  CHECK(g->out.state.cr2 == 0x100000000ull);
}

TEST_CASE("MMX registers alias the x87 registers by physical number; the transition sets TOP = 0 and all tags") {
  Guest* g = nullptr;
  // TOP = 3: MM0 is physical register 0 = ST(5), MM3 = ST(0).
  auto top3 = [](Guest& gg) {
    const uint16_t fsw = 3u << 11;
    std::memcpy(gg.init.xsave + fxs::FSW, &fsw, 2);
    const uint64_t v5 = 0x0123456789abcdefull, v0 = 0xfedcba9876543210ull;
    std::memcpy(gg.init.xsave + fxs::ST0 + 16 * 5, &v5, 8);
    std::memcpy(gg.init.xsave + fxs::ST0 + 16 * 0, &v0, 8);
    gg.init.xsave[fxs::FTW] = 0x21;  // some tags valid
  };
  Fault f = run_body("movq [0x30000], mm0\nmovq [0x30008], mm3", top3, &g);
  REQUIRE_FALSE(f.faulted);
  uint64_t a, b;
  std::memcpy(&a, g->mem.ram() + 0x30000, 8);
  std::memcpy(&b, g->mem.ram() + 0x30008, 8);
  CHECK(a == 0x0123456789abcdefull);
  CHECK(b == 0xfedcba9876543210ull);
  uint16_t fsw;
  std::memcpy(&fsw, g->out.state.xsave + fxs::FSW, 2);
  CHECK(((fsw >> 11) & 7) == 0);
  CHECK(g->out.state.xsave[fxs::FTW] == 0xff);
  // A write sets bits 64-79 of the physical register to ones; with TOP = 0
  // now, MM6 is slot 6.
  f = run_body("mov rax, 0x55\nmovd mm6, eax", top3, &g);
  REQUIRE_FALSE(f.faulted);
  const uint8_t* slot6 = g->out.state.xsave + fxs::ST0 + 16 * 6;
  CHECK(hexbytes(slot6, 10) == "5500000000000000ffff");
  // EMMS empties every tag and sets TOP = 0 (SDM Vol. 1 Table 9-1; the
  // host CPU does, as the differential fuzzer showed): physical register 0
  // (ST(5) before) is ST(0) now.
  f = run_body("emms", top3, &g);
  REQUIRE_FALSE(f.faulted);
  std::memcpy(&fsw, g->out.state.xsave + fxs::FSW, 2);
  CHECK(((fsw >> 11) & 7) == 0);
  CHECK(g->out.state.xsave[fxs::FTW] == 0);
  std::memcpy(&a, g->out.state.xsave + fxs::ST0, 8);
  CHECK(a == 0x0123456789abcdefull);
}

namespace {

// Runs `body` (long64) on the interpreter and natively; the native run maps
// the page below 4 GiB, so on both sides [0xfffff000, 0x100000000) is
// writable memory and 0x100000000 is not present.
struct BothFault {
  Fault guest;
  uint64_t guest_cr2;
  NativeOutcome host;
};
BothFault fault_on_both(const std::string& body) {
  BothFault r{};
  Guest* g = nullptr;
  r.guest = run_body(body, [](Guest&) {}, &g);
  r.guest_cr2 = g->out.state.cr2;
  const Bytes img = assemble("bits 64\norg 0x10000\n" + body + "\nhlt\n");
  r.host = run_native(img, LOAD, {{0x30000, 0x1000}, {0xfffff000, 0x1000}});
  REQUIRE(r.host.ran);
  return r;
}

}  // namespace

TEST_CASE("masked stores check the whole destination whatever the mask, as the host CPU does") {
  for (const char* body : {"mov rdi, 0x100000000\npxor mm1, mm1\nmaskmovq mm0, mm1",
                           "mov rdi, 0xfffffffc\npxor xmm1, xmm1\nmaskmovdqu xmm0, xmm1",
                           "mov rdi, 0xfffffff8\npcmpeqb xmm1, xmm1\npsrldq xmm1, 8\nmaskmovdqu xmm0, xmm1",
                           "mov rdi, 0xfffffffc\npcmpeqb mm1, mm1\npsrlq mm1, 32\nmaskmovq mm0, mm1"}) {
    INFO(body);
    const BothFault r = fault_on_both(body);
    CHECK(r.guest.vector == vec::PF);
    CHECK(r.guest_cr2 == 0x100000000ull);
    CHECK(r.host.vector == vec::PF);
    CHECK(r.host.fault_addr == 0x100000000ull);
    // Nothing was stored below 4 GiB either.
    REQUIRE(r.host.regions.size() == 2);
    CHECK(std::all_of(r.host.regions[1].begin(), r.host.regions[1].end(), [](uint8_t b) { return b == 0; }));
  }
  // A non-canonical rDI: #GP(0) even with an all-zero mask.
  const BothFault r = fault_on_both("mov rdi, 0x8000000000000000\npxor xmm1, xmm1\nmaskmovdqu xmm0, xmm1");
  CHECK(r.guest.vector == vec::GP);
  CHECK(r.guest.error == 0);
  CHECK(r.host.vector == vec::GP);
}

TEST_CASE("16-byte accesses: the alignment #GP comes before a #PF; a page-crossing access faults on its second page") {
  BothFault r = fault_on_both("mov rax, 0xfffffff8\npaddb xmm0, [rax]");
  CHECK(r.guest.vector == vec::GP);
  CHECK(r.host.vector == vec::GP);
  for (const char* body : {"mov rax, 0xfffffff8\nmovdqu xmm0, [rax]", "mov rax, 0xfffffff8\nmovdqu [rax], xmm0",
                           "mov rax, 0xfffffffc\nmovq [rax], xmm0", "mov rax, 0xfffffffe\nmovd mm1, [rax]"}) {
    INFO(body);
    r = fault_on_both(body);
    CHECK(r.guest.vector == vec::PF);
    CHECK(r.guest_cr2 == 0x100000000ull);
    CHECK(r.host.vector == vec::PF);
    CHECK(r.host.fault_addr == 0x100000000ull);
    CHECK(std::all_of(r.host.regions[1].begin(), r.host.regions[1].end(), [](uint8_t b) { return b == 0; }));
  }
  // Operands narrower than 8 bytes end below 4 GiB: no fault on either side.
  for (const char* body : {"mov rax, 0xfffffffc\npunpcklbw mm0, [rax]", "mov rax, 0xfffffffc\npunpckldq mm0, [rax]",
                           "mov rax, 0xfffffffc\nmovd xmm0, [rax]", "mov rax, 0xfffffffe\npinsrw xmm0, [rax], 1",
                           "mov rax, 0xfffffffe\npinsrw mm1, [rax], 1", "mov rax, 0xfffffffc\nmovd [rax], mm1",
                           "mov rax, 0xfffffff8\nmovq [rax], xmm2"}) {
    INFO(body);
    r = fault_on_both(body);
    CHECK_FALSE(r.guest.faulted);
    CHECK(r.host.ended_by_hlt);
  }
  // An MMX instruction whose memory operand faults leaves the x87 tags alone.
  r = fault_on_both("mov rax, 0x100000000\nmovq mm2, rax\nemms\npaddb mm2, [rax]");
  CHECK(r.guest.vector == vec::PF);
  CHECK(r.host.vector == vec::PF);
  CHECK(r.host.state.xsave[fxs::FTW] == 0);
}

TEST_CASE("LOCK and the SSE4.1 forms of PEXTRW are #UD; 66 0F C5 with prefixes is PEXTRW") {
  for (const char* insn : {"db 0xf0, 0x0f, 0xfc, 0xc1  ; lock paddb mm0, mm1",
                           "db 0xf0, 0x66, 0x0f, 0xfc, 0xc1  ; lock paddb xmm0, xmm1",
                           "db 0xf0, 0x0f, 0x7f, 0x00  ; lock movq [rax], mm0",
                           "db 0x66, 0x0f, 0x3a, 0x15, 0x00, 0x01  ; pextrw [rax], xmm0, 1 (SSE4.1)",
                           "db 0x66, 0x0f, 0x3a, 0x15, 0xc0, 0x01  ; pextrw eax, xmm0, 1 (SSE4.1)",
                           "db 0x66, 0x2e, 0x48, 0x0f, 0x3a, 0x15, 0xc0, 0x01  ; the same with CS and REX.W"}) {
    INFO(insn);
    const Fault f = run_body("mov eax, 0x30000\n" + std::string(insn));
    CHECK(f.faulted);
    CHECK(f.vector == vec::UD);
  }
  // The SSE2 form with redundant prefixes still executes.
  Guest* g = nullptr;
  const Fault f = run_body("mov eax, 0x30000\npcmpeqb xmm0, xmm0\ndb 0x2e, 0x66, 0x48, 0x0f, 0xc5, 0xc0, 0x02", [](Guest&) {}, &g);
  CHECK_FALSE(f.faulted);
  CHECK(g->out.state.gpr[RAX] == 0xffff);
}

TEST_CASE("real mode: segment limits of 8- and 16-byte operands, and alignment before the limit, as the host CPU") {
  const std::string why = native_unavailable_reason(FlatMode::Real16);
  if (!why.empty()) {
    WARN("real16 not compared with the host CPU: " << why);
    return;
  }
  struct Case {
    const char* body;
    int vector;  // -1: runs to HLT
  };
  const Case cases[] = {
      {"movdqu xmm0, [0xfff8]", vec::GP},
      {"movdqu xmm0, [ss:0xfff8]", vec::SS},
      {"movdqu [0xfff1], xmm0", vec::GP},
      {"movdqu xmm0, [0xfff0]", -1},
      {"movdqa xmm0, [0xfff8]", vec::GP},
      {"movdqa xmm0, [ss:0xfff8]", vec::GP},  // misaligned: #GP(0) wins over the SS limit
      {"mov bp, 0xfff4\npaddb xmm0, [bp]", vec::GP},
      {"mov bp, 0xfff0\npaddb xmm0, [bp]", -1},
      {"movq mm0, [0xfffc]", vec::GP},
      {"movq mm0, [ss:0xfffc]", vec::SS},
      {"movd mm0, [0xfffc]", -1},
      {"movq [0xfff9], xmm1", vec::GP},
      {"mov di, 0xfffc\nmaskmovq mm0, mm1", vec::GP},
      {"mov di, 0xfff8\nmaskmovq mm0, mm1", -1},
      {"mov di, 0xfff8\nmaskmovdqu xmm0, xmm1", vec::GP},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const Bytes img = assemble(std::string("bits 16\norg 0\n") + c.body + "\nhlt\n");
    Guest g(FlatMode::Real16, img);
    g.init.cr4 |= cr4::OSFXSR;
    g.run(20);
    // The native segments span the same 64 KiB at the load address.
    NativeOutcome n = run_native(img, LOAD, {{LOAD + 0x1000, 0xf000}}, NativeOptions{FlatMode::Real16, 3000});
    REQUIRE(n.ran);
    if (c.vector < 0) {
      CHECK(g.log.seen.empty());
      CHECK(g.halted());
      CHECK(n.ended_by_hlt);
    } else {
      REQUIRE_FALSE(g.log.seen.empty());
      CHECK(int(g.log.seen.front().vector) == c.vector);
      CHECK(g.log.seen.front().error_code == 0);
      CHECK(n.vector == c.vector);
      CHECK(n.error_code == 0);
    }
  }
}

TEST_CASE("register-only and memory-only forms: the other ModRM kind is #UD, as on the host CPU") {
  for (const char* insn : {"db 0x0f, 0xc5, 0x00, 0x01        ; pextrw eax, [rax], 1",
                           "db 0x66, 0x0f, 0xc5, 0x00, 0x01  ; pextrw eax, [rax], 1 (SSE2)",
                           "db 0x0f, 0xd7, 0x00              ; pmovmskb eax, [rax]",
                           "db 0x66, 0x0f, 0xd7, 0x00        ; pmovmskb eax, [rax] (SSE2)",
                           "db 0xf2, 0x0f, 0xd6, 0x00        ; movdq2q mm0, [rax]",
                           "db 0xf3, 0x0f, 0xd6, 0x00        ; movq2dq xmm0, [rax]",
                           "db 0x0f, 0xf7, 0x00              ; maskmovq mm0, [rax]",
                           "db 0x66, 0x0f, 0xf7, 0x00        ; maskmovdqu xmm0, [rax]",
                           "db 0x0f, 0xe7, 0xc0              ; movntq mm0, mm0",
                           "db 0x66, 0x0f, 0xe7, 0xc0        ; movntdq xmm0, xmm0",
                           "db 0x0f, 0x73, 0xf8, 0x01        ; pslldq on an MMX register (0F 73 /7)",
                           "db 0x0f, 0x73, 0xd8, 0x01        ; psrldq on an MMX register (0F 73 /3)",
                           "db 0x0f, 0x6c, 0xc1              ; punpcklqdq mm0, mm1"}) {
    INFO(insn);
    const std::string body = std::string("mov eax, 0x30000\n") + insn;
    const Fault f = run_body(body);
    const Bytes img = assemble("bits 64\norg 0x10000\n" + body + "\nhlt\n");
    NativeOutcome n = run_native(img, LOAD, {{0x30000, 0x1000}});
    REQUIRE(n.ran);
    CHECK(n.vector == vec::UD);
    CHECK(f.faulted);
    CHECK(f.vector == vec::UD);
  }
}

TEST_CASE("masked stores use rDI at the address size (67 prefix: EDI in 64-bit mode)") {
  const std::string body =
      "mov rax, 0x8877665544332211\nmovq mm0, rax\nmov rax, 0x80ff00807f01ff80\nmovq mm1, rax\n"
      "mov rdi, 0xabcd00030010\ndb 0x67\nmaskmovq mm0, mm1\n"
      "movq xmm0, rax\npunpcklqdq xmm0, xmm0\nmovq2dq xmm1, mm0\npunpcklqdq xmm1, xmm1\n"
      "mov rdi, 0xabcd00030021\ndb 0x67\nmaskmovdqu xmm1, xmm0";
  Guest* g = nullptr;
  const BothFault r = fault_on_both(body);
  REQUIRE_FALSE(r.guest.faulted);
  REQUIRE(r.host.ended_by_hlt);
  run_body(body, [](Guest&) {}, &g);
  // Selected bytes: mask bytes 80 ff 01 7f 80 00 ff 80 (from the low end)
  // have their sign bit set at positions 0, 1, 4, 6, 7.
  CHECK(hexbytes(g->mem.ram() + 0x30010, 8) == "1122000055007788");
  CHECK(hexbytes(g->mem.ram() + 0x30010, 64) == hexbytes(r.host.regions[0].data() + 0x10, 64));
}
