// SSE/SSE2 floating point, MXCSR, #XM and the state instructions
// (emu/interp/sse_*.cpp, emu/fpu/sse_host.cpp) against the host CPU.
//
// The same long64 image runs natively (emu/accel/accel.h run_native, CPL 3)
// and in softvt's interpreter (a flat long64 machine with a CPU model that
// has SSE, SSE2, FXSR and XSAVE). Batches of cases compare every result
// lane, the MXCSR after each case and the arithmetic flags, over special
// values (zeros, infinities, QNaN/SNaN, denormals, extremes, integer
// overflow) in every rounding mode with DAZ and FTZ on and off, all
// exceptions masked. Unmasked exceptions run one case per image: the host
// reports #XM as SIGFPE with vector 19 and its FXSAVE image (MXCSR and the
// unchanged destination); softvt must raise the same vector with the same
// MXCSR and registers. The CR0/CR4 rules (#UD, #NM, #UD instead of #XM),
// alignment #GP, LDMXCSR/FXRSTOR reserved bits and the XSAVE/XRSTOR header
// rules are checked against the SDM, natively where CPL 3 allows.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <catch.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <Zydis/Zydis.h>

#include "emu/accel/accel.h"
#include "emu/fpu_state.h"
#include "emu/loader/flat.h"
#include "tests/unit/test_guest_corpus_support.h"

using namespace softvt;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint64_t kLoad = 0x100000;
constexpr uint64_t kStack = kLoad - 0x1000;   // a page for PUSHFQ below the image
constexpr uint32_t kDataOff = 0x10000;         // data inside the image
constexpr uint64_t kData = kLoad + kDataOff;
constexpr uint32_t kCfg = uint32_t(kData);     // the MXCSR each case loads
constexpr uint32_t kCases = uint32_t(kData) + 0x40;
constexpr unsigned kRecord = 96;               // A(16) B(16) out: xmm0(16) mxcsr(8) rflags(8) rax(8) xmm pad
constexpr unsigned kMaxCases = 600;
constexpr uint32_t kImageSize = kDataOff + 0x40 + kRecord * kMaxCases;

// ---- encoding ---------------------------------------------------------------

struct Code {
  Bytes b;
  void raw(std::initializer_list<uint8_t> x) { b.insert(b.end(), x); }
  void raw(const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }
  void d32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
  }
  // [disp32] absolute addressing: ModRM mod=00 rm=100, SIB base=101 no index.
  void abs(uint8_t reg, uint32_t addr) {
    b.push_back(uint8_t(0x04 | (reg << 3)));
    b.push_back(0x25);
    d32(addr);
  }
  void ldmxcsr(uint32_t a) { raw({0x0f, 0xae}), abs(2, a); }
  void stmxcsr(uint32_t a) { raw({0x0f, 0xae}), abs(3, a); }
  void movups_load(unsigned x, uint32_t a) { raw({0x0f, 0x10}), abs(uint8_t(x), a); }
  void movups_store(uint32_t a, unsigned x) { raw({0x0f, 0x11}), abs(uint8_t(x), a); }
  void mov_rax_load(uint32_t a) { raw({0x48, 0x8b}), abs(0, a); }
  void mov_rax_store(uint32_t a) { raw({0x48, 0x89}), abs(0, a); }
  void hlt() { b.push_back(0xf4); }
};

uint32_t rec(unsigned i) { return kCases + kRecord * i; }
constexpr unsigned A = 0, B = 16, OUT = 32, OUT_MX = 48, OUT_FL = 56, OUT_RAX = 64;

// ---- running ---------------------------------------------------------------

CpuModel sse_model() {
  CpuModel m = default_cpu_model();
  for (Feature f : {Feature::Sse, Feature::Sse2, Feature::Fxsr, Feature::Xsave, Feature::Xsaveopt,
                    Feature::Fpu, Feature::Mmx})
    m.features |= 1ull << unsigned(f);
  // CPUID.1 as such a model reports it (MOV to CR4 checks OSXSAVE against
  // ECX.XSAVE[26]): EDX FPU(0) MMX(23) FXSR(24) SSE(25) SSE2(26).
  for (CpuidLeaf& l : m.leaves)
    if (l.leaf == 1) {
      l.ecx |= 1u << 26;
      l.edx |= (1u << 0) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
    }
  return m;
}

struct VectorRecorder : Cpu::Tracer {
  int vector = -1;
  uint32_t error_code = 0;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException& e) override {
    if (vector < 0) vector = e.vector, error_code = e.error_code;
  }
  void note(const Cpu&, const std::string&) override {}
};

struct Result {
  bool hlt = false;
  int vector = -1;          // first exception, -1 if none
  uint32_t error_code = 0;
  CpuState state{};
  Bytes image;              // the image's bytes after the run
};

// Tweaks of the interpreter's initial state (CR0/CR4 rules, XCR0).
using StateFn = std::function<void(CpuState&)>;

Result run_softvt(const Bytes& image, const StateFn& tweak = {}, FlatMode mode = FlatMode::Long64) {
  static const CpuModel model = sse_model();
  Memory mem(16 << 20);
  CpuState s = setup_flat(mem, image, kLoad, mode);
  if (tweak) tweak(s);
  VectorRecorder rec;
  RunOptions opt;
  opt.max_insns = 100000;
  opt.tracer = &rec;
  RunOutcome o = run_interp(mem, s, model, opt);
  Result r;
  r.hlt = o.stop == StopReason::Hlt;
  r.vector = rec.vector;
  r.error_code = rec.error_code;
  r.state = o.state;
  r.image.assign(mem.ram() + kLoad, mem.ram() + kLoad + image.size());
  return r;
}

Result run_host(const Bytes& image, FlatMode mode = FlatMode::Long64) {
  NativeOptions opt;
  opt.mode = mode;
  opt.timeout_ms = 5000;
  NativeOutcome o = run_native(image, kLoad, {{kStack, 0x1000}}, opt);
  REQUIRE(o.ran);
  Result r;
  r.hlt = o.ended_by_hlt;
  r.vector = o.ended_by_hlt ? -1 : o.vector;
  r.error_code = uint32_t(o.error_code);
  r.state = o.state;
  r.image.assign(o.image.begin(), o.image.begin() + long(image.size()));
  return r;
}

Bytes blank_image() { return Bytes(kImageSize, 0); }

void put32(Bytes& img, uint32_t addr, uint32_t v) { std::memcpy(img.data() + (addr - kLoad), &v, 4); }
void put64(Bytes& img, uint32_t addr, uint64_t v) { std::memcpy(img.data() + (addr - kLoad), &v, 8); }
uint64_t get64(const Bytes& img, uint32_t addr) {
  uint64_t v;
  std::memcpy(&v, img.data() + (addr - kLoad), 8);
  return v;
}
uint32_t state_mxcsr(const CpuState& s) {
  uint32_t m;
  std::memcpy(&m, s.xsave + fxs::MXCSR, 4);
  return m;
}
std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// ---- special values ---------------------------------------------------------

const std::vector<uint32_t> kF32 = {
    0x00000000, 0x80000000,                          // +0, -0
    0x7f800000, 0xff800000,                          // +inf, -inf
    0x7fc00000, 0xffc12345,                          // QNaN (default, with payload)
    0x7f800001, 0xff812345,                          // SNaN
    0x00000001, 0x807fffff, 0x00400000,              // denormals
    0x00800000, 0x80800001,                          // smallest normals
    0x7f7fffff, 0xff7fffff, 0x7f000000,              // largest, 2^127
    0x3f800000, 0xbfc00000, 0x40400000, 0x3eaaaaab,  // 1, -1.5, 3, ~1/3
    0x3f000000, 0x40200000, 0xc0200000,              // 0.5, 2.5, -2.5 (ties)
    0x4f000000, 0xcf000000, 0x4effffff,              // 2^31, -2^31, below 2^31
    0x5f000000, 0xdf000001, 0x0c000000, 0x33800000,  // 2^63, below -2^63, tiny, 2^-24
};

const std::vector<uint64_t> kF64 = {
    0x0000000000000000, 0x8000000000000000,
    0x7ff0000000000000, 0xfff0000000000000,
    0x7ff8000000000000, 0xfff8000000012345,
    0x7ff0000000000001, 0xfff0000000012345,
    0x0000000000000001, 0x800fffffffffffff, 0x0008000000000000,
    0x0010000000000000, 0x8010000000000001,
    0x7fefffffffffffff, 0xffefffffffffffff, 0x7fe0000000000000,
    0x3ff0000000000000, 0xbff8000000000000, 0x4008000000000000, 0x3fd5555555555555,
    0x3fe0000000000000, 0x4004000000000000, 0xc004000000000000,
    0x41e0000000000000, 0xc1e0000000000000, 0x41dfffffffffffff,
    0x43e0000000000000, 0xc3e0000000000001, 0x47efffffe0000000, 0x36a0000000000000,
    0x3810000000000000, 0x380fffffffffffff,  // near the single-precision normal limit
};

// Every ordered pair of a value list, packed `lanes` per case.
template <typename T>
std::vector<std::pair<Bytes, Bytes>> pair_cases(const std::vector<T>& vals, unsigned lanes) {
  std::vector<std::pair<Bytes, Bytes>> out;
  std::vector<std::pair<T, T>> pairs;
  for (T a : vals)
    for (T b : vals) pairs.push_back({a, b});
  for (size_t i = 0; i < pairs.size(); i += lanes) {
    Bytes a(16, 0), b(16, 0);
    for (unsigned j = 0; j < lanes; ++j) {
      const auto& p = pairs[(i + j) % pairs.size()];
      std::memcpy(a.data() + sizeof(T) * j, &p.first, sizeof(T));
      std::memcpy(b.data() + sizeof(T) * j, &p.second, sizeof(T));
    }
    // Lanes beyond `lanes` (scalar forms): a fixed pattern that must
    // survive where the SDM says the destination's upper part is kept.
    for (unsigned k = sizeof(T) * lanes; k < 16; ++k) a[k] = uint8_t(0xa0 + k), b[k] = uint8_t(0x50 + k);
    out.push_back({a, b});
  }
  return out;
}

// ---- the forms under test --------------------------------------------------------

struct Form {
  const char* name;
  Bytes op;         // the instruction: dest xmm0 (or rax/eax/mm0), source xmm1 (or rax)
  bool dbl;         // operands are doubles
  unsigned lanes;   // value pairs per case
  bool mem_src = false;  // `op` lacks its ModRM: the source is m64 at A
  bool mmx_dst = false;  // result in MM0, brought back by CVTPI2PD xmm0, mm0
};

std::vector<Form> arithmetic_forms() {
  std::vector<Form> f;
  struct Op { const char* n; uint8_t opc; };
  const Op ops[] = {{"ADD", 0x58}, {"MUL", 0x59}, {"SUB", 0x5c}, {"MIN", 0x5d},
                    {"DIV", 0x5e}, {"MAX", 0x5f}, {"SQRT", 0x51}};
  static std::vector<std::string> names;
  names.reserve(64);
  for (const Op& o : ops) {
    names.push_back(std::string(o.n) + "PS"), f.push_back({names.back().c_str(), {0x0f, o.opc, 0xc1}, false, 4});
    names.push_back(std::string(o.n) + "SS"), f.push_back({names.back().c_str(), {0xf3, 0x0f, o.opc, 0xc1}, false, 1});
    names.push_back(std::string(o.n) + "PD"), f.push_back({names.back().c_str(), {0x66, 0x0f, o.opc, 0xc1}, true, 2});
    names.push_back(std::string(o.n) + "SD"), f.push_back({names.back().c_str(), {0xf2, 0x0f, o.opc, 0xc1}, true, 1});
  }
  f.push_back({"RCPPS", {0x0f, 0x53, 0xc1}, false, 4});
  f.push_back({"RCPSS", {0xf3, 0x0f, 0x53, 0xc1}, false, 1});
  f.push_back({"RSQRTPS", {0x0f, 0x52, 0xc1}, false, 4});
  f.push_back({"RSQRTSS", {0xf3, 0x0f, 0x52, 0xc1}, false, 1});
  return f;
}

std::vector<Form> compare_forms() {
  std::vector<Form> f;
  static const char* const ps[8] = {"CMPEQPS", "CMPLTPS", "CMPLEPS", "CMPUNORDPS", "CMPNEQPS", "CMPNLTPS", "CMPNLEPS", "CMPORDPS"};
  static const char* const ss[8] = {"CMPEQSS", "CMPLTSS", "CMPLESS", "CMPUNORDSS", "CMPNEQSS", "CMPNLTSS", "CMPNLESS", "CMPORDSS"};
  static const char* const pd[8] = {"CMPEQPD", "CMPLTPD", "CMPLEPD", "CMPUNORDPD", "CMPNEQPD", "CMPNLTPD", "CMPNLEPD", "CMPORDPD"};
  static const char* const sd[8] = {"CMPEQSD", "CMPLTSD", "CMPLESD", "CMPUNORDSD", "CMPNEQSD", "CMPNLTSD", "CMPNLESD", "CMPORDSD"};
  for (uint8_t p = 0; p < 8; ++p) {
    f.push_back({ps[p], {0x0f, 0xc2, 0xc1, p}, false, 4});
    f.push_back({ss[p], {0xf3, 0x0f, 0xc2, 0xc1, p}, false, 1});
    f.push_back({pd[p], {0x66, 0x0f, 0xc2, 0xc1, p}, true, 2});
    f.push_back({sd[p], {0xf2, 0x0f, 0xc2, 0xc1, uint8_t(p | 0xf8)}, true, 1});  // imm8[7:3] ignored
  }
  f.push_back({"COMISS", {0x0f, 0x2f, 0xc1}, false, 1});
  f.push_back({"UCOMISS", {0x0f, 0x2e, 0xc1}, false, 1});
  f.push_back({"COMISD", {0x66, 0x0f, 0x2f, 0xc1}, true, 1});
  f.push_back({"UCOMISD", {0x66, 0x0f, 0x2e, 0xc1}, true, 1});
  return f;
}

std::vector<Form> convert_forms() {
  return {
      {"CVTSI2SS eax", {0xf3, 0x0f, 0x2a, 0xc0}, false, 1},
      {"CVTSI2SS rax", {0xf3, 0x48, 0x0f, 0x2a, 0xc0}, true, 1},
      {"CVTSI2SD eax", {0xf2, 0x0f, 0x2a, 0xc0}, false, 1},
      {"CVTSI2SD rax", {0xf2, 0x48, 0x0f, 0x2a, 0xc0}, true, 1},
      {"CVTSS2SI eax", {0xf3, 0x0f, 0x2d, 0xc1}, false, 1},
      {"CVTSS2SI rax", {0xf3, 0x48, 0x0f, 0x2d, 0xc1}, false, 1},
      {"CVTTSS2SI eax", {0xf3, 0x0f, 0x2c, 0xc1}, false, 1},
      {"CVTTSS2SI rax", {0xf3, 0x48, 0x0f, 0x2c, 0xc1}, false, 1},
      {"CVTSD2SI eax", {0xf2, 0x0f, 0x2d, 0xc1}, true, 1},
      {"CVTSD2SI rax", {0xf2, 0x48, 0x0f, 0x2d, 0xc1}, true, 1},
      {"CVTTSD2SI eax", {0xf2, 0x0f, 0x2c, 0xc1}, true, 1},
      {"CVTTSD2SI rax", {0xf2, 0x48, 0x0f, 0x2c, 0xc1}, true, 1},
      {"CVTPS2PD", {0x0f, 0x5a, 0xc1}, false, 4},
      {"CVTPD2PS", {0x66, 0x0f, 0x5a, 0xc1}, true, 2},
      {"CVTSS2SD", {0xf3, 0x0f, 0x5a, 0xc1}, false, 1},
      {"CVTSD2SS", {0xf2, 0x0f, 0x5a, 0xc1}, true, 1},
      {"CVTDQ2PS", {0x0f, 0x5b, 0xc1}, false, 4},
      {"CVTPS2DQ", {0x66, 0x0f, 0x5b, 0xc1}, false, 4},
      {"CVTTPS2DQ", {0xf3, 0x0f, 0x5b, 0xc1}, false, 4},
      {"CVTDQ2PD", {0xf3, 0x0f, 0xe6, 0xc1}, false, 4},
      {"CVTPD2DQ", {0xf2, 0x0f, 0xe6, 0xc1}, true, 2},
      {"CVTTPD2DQ", {0x66, 0x0f, 0xe6, 0xc1}, true, 2},
      // The MMX forms: a memory source (m64 = A's low half), or the result
      // of CVTTPS2PI/CVTTPD2PI in MM0 converted back.
      {"CVTPI2PS m64", {0x0f, 0x2a}, false, 4, true},
      {"CVTPI2PD m64", {0x66, 0x0f, 0x2a}, false, 4, true},
      {"CVTTPS2PI+CVTPI2PS mm0", {0x0f, 0x2c, 0xc1, 0x0f, 0x2a, 0xc0}, false, 4},
      {"CVTTPD2PI+CVTPI2PD mm0", {0x66, 0x0f, 0x2c, 0xc1, 0x66, 0x0f, 0x2a, 0xc0}, true, 2},
      {"CVTPS2PI", {0x0f, 0x2d, 0xc1}, false, 4, false, true},
      {"CVTTPS2PI", {0x0f, 0x2c, 0xc1}, false, 4, false, true},
      {"CVTPD2PI", {0x66, 0x0f, 0x2d, 0xc1}, true, 2, false, true},
      {"CVTTPD2PI", {0x66, 0x0f, 0x2c, 0xc1}, true, 2, false, true},
  };
}

std::vector<Form> move_logic_forms() {
  return {
      {"MOVAPS", {0x0f, 0x28, 0xc1}, false, 4},       {"MOVSS", {0xf3, 0x0f, 0x10, 0xc1}, false, 1},
      {"MOVSD", {0xf2, 0x0f, 0x10, 0xc1}, true, 1},   {"MOVLHPS", {0x0f, 0x16, 0xc1}, false, 4},
      {"MOVHLPS", {0x0f, 0x12, 0xc1}, false, 4},      {"MOVMSKPS", {0x0f, 0x50, 0xc1}, false, 4},
      {"MOVMSKPD", {0x66, 0x0f, 0x50, 0xc1}, true, 2}, {"ANDPS", {0x0f, 0x54, 0xc1}, false, 4},
      {"ANDNPS", {0x0f, 0x55, 0xc1}, false, 4},       {"ORPS", {0x0f, 0x56, 0xc1}, false, 4},
      {"XORPD", {0x66, 0x0f, 0x57, 0xc1}, true, 2},   {"ANDNPD", {0x66, 0x0f, 0x55, 0xc1}, true, 2},
      {"SHUFPS 0x1b", {0x0f, 0xc6, 0xc1, 0x1b}, false, 4}, {"SHUFPS 0xe4", {0x0f, 0xc6, 0xc1, 0xe4}, false, 4},
      {"SHUFPD 1", {0x66, 0x0f, 0xc6, 0xc1, 0x01}, true, 2}, {"SHUFPD 2", {0x66, 0x0f, 0xc6, 0xc1, 0x02}, true, 2},
      {"UNPCKLPS", {0x0f, 0x14, 0xc1}, false, 4},     {"UNPCKHPS", {0x0f, 0x15, 0xc1}, false, 4},
      {"UNPCKLPD", {0x66, 0x0f, 0x14, 0xc1}, true, 2}, {"UNPCKHPD", {0x66, 0x0f, 0x15, 0xc1}, true, 2},
  };
}

// One case's code: load MXCSR, RAX, XMM0, XMM1 (and MM0) from the case's
// record, run the form, store XMM0, MXCSR, RAX (or MM0) and the flags.
void emit_case(Code& c, const Form& f, uint32_t r, bool bits32) {
  // In 32-bit code the GPR moves lose their REX.W (EAX; the record's upper
  // half stays 0 on both sides).
  auto gpr_load = [&](uint32_t a) { bits32 ? (c.raw({0x8b}), c.abs(0, a)) : c.mov_rax_load(a); };
  auto gpr_store = [&](uint32_t a) { bits32 ? (c.raw({0x89}), c.abs(0, a)) : c.mov_rax_store(a); };
  c.ldmxcsr(kCfg);
  gpr_load(r + A);
  c.movups_load(0, r + A);
  c.movups_load(1, r + B);
  c.raw(f.op);
  if (f.mem_src) c.abs(0, r + A);
  c.stmxcsr(r + OUT_MX);
  if (f.mmx_dst) c.raw({0x66, 0x0f, 0x2a, 0xc0});  // cvtpi2pd xmm0, mm0 (exact)
  c.movups_store(r + OUT, 0);
  gpr_store(r + OUT_RAX);
  c.raw({0x9c, 0x58});  // pushf; pop rax/eax
  gpr_store(r + OUT_FL);
}

Bytes batch_image(const Form& f, const std::vector<std::pair<Bytes, Bytes>>& cases, uint32_t mx,
                  size_t first, size_t count, bool bits32) {
  Bytes img = blank_image();
  Code c;
  for (size_t i = 0; i < count; ++i) emit_case(c, f, rec(unsigned(i)), bits32);
  c.hlt();
  REQUIRE(c.b.size() < kDataOff);
  std::memcpy(img.data(), c.b.data(), c.b.size());
  put32(img, kCfg, mx);
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(img.data() + (rec(unsigned(i)) - kLoad) + A, cases[first + i].first.data(), 16);
    std::memcpy(img.data() + (rec(unsigned(i)) - kLoad) + B, cases[first + i].second.data(), 16);
  }
  return img;
}

std::string lanes_hex(const uint8_t* p) {
  char b[40];
  uint64_t lo, hi;
  std::memcpy(&lo, p, 8);
  std::memcpy(&hi, p + 8, 8);
  std::snprintf(b, sizeof b, "%016llx_%016llx", (unsigned long long)hi, (unsigned long long)lo);
  return b;
}

// Seeded random operands: raw bit patterns (every class, uniformly by
// encoding) and values of moderate exponent (ordinary rounding).
std::vector<std::pair<Bytes, Bytes>> random_cases(bool dbl, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  auto next = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  std::vector<std::pair<Bytes, Bytes>> out;
  for (size_t i = 0; i < n; ++i) {
    Bytes a(16), b(16);
    for (Bytes* v : {&a, &b})
      for (unsigned k = 0; k < 16; k += dbl ? 8 : 4) {
        uint64_t r = next();
        if (i & 1) {  // moderate exponents: |v| in [2^-20, 2^20)
          if (dbl) r = (r & 0x800fffffffffffffull) | (uint64_t(1023 - 20 + (r >> 52) % 40) << 52);
          else r = (r & 0x807fffffu) | (uint32_t(127 - 20 + (r >> 40) % 40) << 23);
        }
        std::memcpy(v->data() + k, &r, dbl ? 8 : 4);
      }
    out.push_back({a, b});
  }
  return out;
}

// Runs every case of `f` under MXCSR `mx` on both sides and compares the
// records; returns the number of cases compared.
size_t compare_batch(const Form& f, uint32_t mx, FlatMode mode = FlatMode::Long64) {
  const bool bits32 = mode == FlatMode::Prot32;
  auto cases = f.dbl ? pair_cases(kF64, f.lanes) : pair_cases(kF32, f.lanes);
  const auto extra = random_cases(f.dbl, 96, mx ^ f.op.back());
  cases.insert(cases.end(), extra.begin(), extra.end());
  size_t done = 0;
  for (size_t first = 0; first < cases.size(); first += kMaxCases / 2) {
    const size_t count = std::min<size_t>(kMaxCases / 2, cases.size() - first);
    const Bytes img = batch_image(f, cases, mx, first, count, bits32);
    const Result h = run_host(img, mode);
    const Result s = run_softvt(img, {}, mode);
    INFO(f.name << " MXCSR " << hex(mx) << (bits32 ? " (32-bit code)" : ""));
    REQUIRE(h.hlt);
    REQUIRE(s.hlt);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t r = rec(unsigned(i)) - uint32_t(kLoad);
      const uint8_t* hp = h.image.data() + r;
      const uint8_t* sp = s.image.data() + r;
      INFO("case " << first + i << ": A " << lanes_hex(hp + A) << " B " << lanes_hex(hp + B));
      INFO("host xmm0 " << lanes_hex(hp + OUT) << " mxcsr " << hex(get64(h.image, rec(unsigned(i)) + OUT_MX))
                        << " rax " << hex(get64(h.image, rec(unsigned(i)) + OUT_RAX)));
      INFO("softvt xmm0 " << lanes_hex(sp + OUT) << " mxcsr " << hex(get64(s.image, rec(unsigned(i)) + OUT_MX))
                          << " rax " << hex(get64(s.image, rec(unsigned(i)) + OUT_RAX)));
      CHECK(std::memcmp(hp + OUT, sp + OUT, 16) == 0);
      CHECK(get64(h.image, rec(unsigned(i)) + OUT_MX) == get64(s.image, rec(unsigned(i)) + OUT_MX));
      CHECK(get64(h.image, rec(unsigned(i)) + OUT_RAX) == get64(s.image, rec(unsigned(i)) + OUT_RAX));
      CHECK((get64(h.image, rec(unsigned(i)) + OUT_FL) & fl::ARITH) ==
            (get64(s.image, rec(unsigned(i)) + OUT_FL) & fl::ARITH));
    }
    done += count;
  }
  return done;
}

// MXCSR with every exception masked: each rounding mode with DAZ and FTZ
// both off and both on, and each of them alone (to nearest; FTZ also
// toward -inf, where the flushed zero's sign matters).
std::vector<uint32_t> masked_configs() {
  std::vector<uint32_t> v;
  for (uint32_t rc = 0; rc < 4; ++rc)
    for (uint32_t dz_fz : {0u, mxcsr::DAZ | mxcsr::FZ}) v.push_back(mxcsr::MASKS | (rc << mxcsr::RC_SHIFT) | dz_fz);
  v.push_back(mxcsr::MASKS | mxcsr::DAZ);
  v.push_back(mxcsr::MASKS | mxcsr::FZ);
  v.push_back(mxcsr::MASKS | (1u << mxcsr::RC_SHIFT) | mxcsr::FZ);
  return v;
}

void compare_forms_masked(const std::vector<Form>& forms) {
  size_t n = 0;
  for (const Form& f : forms)
    for (uint32_t mx : masked_configs()) n += compare_batch(f, mx);
  std::printf("%zu cases compared with the host CPU\n", n);
}

}  // namespace

TEST_CASE("sse: arithmetic matches the host in every rounding mode with DAZ/FTZ, masked") {
  compare_forms_masked(arithmetic_forms());
}

TEST_CASE("sse: comparisons match the host, masked") { compare_forms_masked(compare_forms()); }

TEST_CASE("sse: conversions match the host, masked") { compare_forms_masked(convert_forms()); }

TEST_CASE("sse: moves, logic and shuffles match the host") {
  size_t n = 0;
  for (const Form& f : move_logic_forms()) n += compare_batch(f, mxcsr::DEFAULT);
  std::printf("%zu cases compared with the host CPU\n", n);
}

// ---- unmasked exceptions: the host executes in-process ---------------------------
//
// A case with an unmasked exception ends in #XM on the host, so each runs
// alone; forking the native oracle for thousands of them would be slow,
// so the host executes them in this process from a code page, catching
// SIGFPE and reading MXCSR, XMM0, RAX and the vector (trap number) from the
// signal context - the image the CPU left at the fault.
namespace {

struct HostCtx {
  uint64_t rax_in, rax_out;  // 0, 8
  uint8_t a[16], b[16];      // 16, 32
  uint32_t mx_in, mx_out;    // 48, 52
  uint32_t mx_host, pad;     // 56
  uint8_t out[16];           // 64
  uint64_t rflags;           // 80
};

sigjmp_buf g_fpe_jump;
volatile int g_trapno = -1;
HostCtx g_fault_ctx;

void on_sigfpe(int, siginfo_t*, void* uc_void) {
  auto* uc = static_cast<ucontext_t*>(uc_void);
  g_trapno = int(uc->uc_mcontext.gregs[REG_TRAPNO]);
  g_fault_ctx.mx_out = uc->uc_mcontext.fpregs->mxcsr;
  std::memcpy(g_fault_ctx.out, uc->uc_mcontext.fpregs->_xmm[0].element, 16);
  g_fault_ctx.rax_out = uint64_t(uc->uc_mcontext.gregs[REG_RAX]);
  g_fault_ctx.rflags = uint64_t(uc->uc_mcontext.gregs[REG_EFL]);
  siglongjmp(g_fpe_jump, 1);
}

class InProcessHost {
 public:
  InProcessHost() {
    code_ = static_cast<uint8_t*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    struct sigaction sa{};
    sa.sa_sigaction = on_sigfpe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, &old_);
  }
  ~InProcessHost() {
    if (code_ != MAP_FAILED) munmap(code_, 4096);
    sigaction(SIGFPE, &old_, nullptr);
  }
  InProcessHost(const InProcessHost&) = delete;
  InProcessHost& operator=(const InProcessHost&) = delete;
  bool usable() const { return code_ != MAP_FAILED; }

  // Builds the harness around `op` (which may use XMM0, XMM1, RAX and MM0;
  // a memory operand addresses A as [rdi + 16]).
  void set_form(const Form& f) {
    Code c;
    c.raw({0x48, 0x8b, 0x07});              // mov rax, [rdi]
    c.raw({0x0f, 0x10, 0x47, 0x10});        // movups xmm0, [rdi + 16]
    c.raw({0x0f, 0x10, 0x4f, 0x20});        // movups xmm1, [rdi + 32]
    c.raw({0x0f, 0xae, 0x57, 0x30});        // ldmxcsr [rdi + 48]
    c.raw(f.op);
    if (f.mem_src) c.raw({0x47, 0x10});     // ModRM: [rdi + 16]
    c.raw({0x0f, 0xae, 0x5f, 0x34});        // stmxcsr [rdi + 52]
    if (f.mmx_dst) c.raw({0x66, 0x0f, 0x2a, 0xc0});  // cvtpi2pd xmm0, mm0
    c.raw({0x0f, 0x11, 0x47, 0x40});        // movups [rdi + 64], xmm0
    c.raw({0x48, 0x89, 0x47, 0x08});        // mov [rdi + 8], rax
    c.raw({0x0f, 0xae, 0x57, 0x38});        // ldmxcsr [rdi + 56]
    c.raw({0x9c, 0x59, 0x48, 0x89, 0x4f, 0x50});  // pushfq; pop rcx; mov [rdi + 80], rcx
    c.raw({0x0f, 0x77, 0xc3});              // emms; ret
    std::memcpy(code_, c.b.data(), c.b.size());
  }

  // Returns the trap number (-1: completed) and fills ctx's outputs.
  int run(HostCtx& ctx) {
    ctx.mx_host = mxcsr::DEFAULT;
    g_trapno = -1;
    if (sigsetjmp(g_fpe_jump, 1) == 0) {
      reinterpret_cast<void (*)(HostCtx*)>(code_)(&ctx);
      return -1;
    }
    // The handler ran with a fresh FPU state; leave MMX mode as the harness would.
    asm volatile("emms");
    ctx.mx_out = g_fault_ctx.mx_out;
    std::memcpy(ctx.out, g_fault_ctx.out, 16);
    ctx.rax_out = g_fault_ctx.rax_out;
    ctx.rflags = g_fault_ctx.rflags;
    return g_trapno;
  }

 private:
  uint8_t* code_;
  struct sigaction old_{};
};

// One case in softvt: the same form from the same registers and MXCSR.
struct SoftvtCase {
  int vector;
  HostCtx ctx;
};

SoftvtCase run_softvt_case(const Form& f, const HostCtx& in, const StateFn& tweak = {}) {
  Bytes img(0x200, 0);
  const uint32_t data = uint32_t(kLoad) + 0x100;
  Code c;
  c.ldmxcsr(data + 48);
  c.mov_rax_load(data);
  c.movups_load(0, data + 16);
  c.movups_load(1, data + 32);
  c.raw(f.op);
  if (f.mem_src) c.abs(0, data + 16);
  if (f.mmx_dst) c.raw({0x66, 0x0f, 0x2a, 0xc0});
  c.hlt();
  std::memcpy(img.data(), c.b.data(), c.b.size());
  std::memcpy(img.data() + 0x100, &in, sizeof in);
  const Result r = run_softvt(img, tweak);
  SoftvtCase out{r.vector, in};
  out.ctx.mx_out = state_mxcsr(r.state);
  std::memcpy(out.ctx.out, r.state.xsave + fxs::XMM0, 16);
  out.ctx.rax_out = r.state.gpr[RAX];
  out.ctx.rflags = r.state.rflags;
  return out;
}

// Inputs that raise each exception in some form: ZE (x/0), IE (SNaN,
// inf-inf, QNaN for ordered compares), DE (denormal operands), OE (exact
// and inexact overflow), UE (exact and inexact tiny results), PE.
const std::vector<std::pair<uint32_t, uint32_t>> kTrigF32 = {
    {0x3f800000, 0x00000000}, {0x7f800001, 0x3f800000}, {0x7fc00000, 0x3f800000},
    {0x00000005, 0x3f800000}, {0x7f7fffff, 0x7f7fffff}, {0x00800000, 0x3f000000},
    {0x00800000, 0x3eaaaaab}, {0x3f800000, 0x40400000}, {0x7f800000, 0x7f800000},
    {0x7f000000, 0x40800000}, {0x7f7fffff, 0x3f800001}, {0x00800001, 0x3f000000},
    {0x00000003, 0x00000003}, {0x4f000000, 0x3f800000}, {0x40400000, 0x00000001},
    {0x3f800000, 0x3f800000},
};
const std::vector<std::pair<uint64_t, uint64_t>> kTrigF64 = {
    {0x3ff0000000000000, 0x0000000000000000}, {0x7ff0000000000001, 0x3ff0000000000000},
    {0x7ff8000000000000, 0x3ff0000000000000}, {0x0000000000000005, 0x3ff0000000000000},
    {0x7fefffffffffffff, 0x7fefffffffffffff}, {0x0010000000000000, 0x3fe0000000000000},
    {0x0010000000000000, 0x3fd5555555555555}, {0x3ff0000000000000, 0x4008000000000000},
    {0x7ff0000000000000, 0x7ff0000000000000}, {0x7fe0000000000000, 0x4010000000000000},
    {0x7fefffffffffffff, 0x3ff0000000000001}, {0x0010000000000001, 0x3fe0000000000000},
    {0x47f0000000000000, 0x3ff0000000000000}, {0x3810000000000001, 0x3ff0000000000000},
    {0x36a0000000000000, 0x3ff0000000000000}, {0x41e0000000000000, 0x3ff0000000000000},
};

template <typename T>
std::vector<std::pair<Bytes, Bytes>> trigger_cases(const std::vector<std::pair<T, T>>& pairs, unsigned lanes) {
  std::vector<std::pair<Bytes, Bytes>> out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    Bytes a(16, 0), b(16, 0);
    for (unsigned j = 0; j < 16 / sizeof(T); ++j) {
      // Lane 0 is the trigger; the other lanes rotate through the list
      // (masked exceptions in one lane next to unmasked ones in another).
      const auto& p = pairs[(i + (j < lanes ? j * 5 : 0)) % pairs.size()];
      std::memcpy(a.data() + sizeof(T) * j, &p.first, sizeof(T));
      std::memcpy(b.data() + sizeof(T) * j, &p.second, sizeof(T));
    }
    out.push_back({a, b});
  }
  return out;
}

// Each exception unmasked alone, all unmasked, and OE/UE unmasked with
// FTZ and DAZ set (FTZ does not apply with UM = 0), in two rounding modes.
std::vector<uint32_t> unmasked_configs() {
  std::vector<uint32_t> v;
  for (uint32_t e = 0; e < 6; ++e) v.push_back(mxcsr::MASKS & ~(1u << (mxcsr::MASK_SHIFT + e)));
  v.push_back(0);
  v.push_back((mxcsr::MASKS & ~((mxcsr::OE | mxcsr::UE) << mxcsr::MASK_SHIFT)) | mxcsr::FZ | mxcsr::DAZ);
  v.push_back((mxcsr::MASKS & ~(mxcsr::UE << mxcsr::MASK_SHIFT)) | (3u << mxcsr::RC_SHIFT));
  return v;
}

size_t compare_unmasked(InProcessHost& host, const Form& f) {
  host.set_form(f);
  const auto cases = f.dbl ? trigger_cases(kTrigF64, f.lanes) : trigger_cases(kTrigF32, f.lanes);
  size_t n = 0;
  for (uint32_t mx : unmasked_configs()) {
    for (const auto& [a, b] : cases) {
      HostCtx in{};
      std::memcpy(&in.rax_in, a.data(), 8);
      std::memcpy(in.a, a.data(), 16);
      std::memcpy(in.b, b.data(), 16);
      in.mx_in = mx;
      HostCtx h = in;
      const int hv = host.run(h);
      const SoftvtCase s = run_softvt_case(f, in);
      INFO(f.name << " MXCSR " << hex(mx) << " A " << lanes_hex(in.a) << " B " << lanes_hex(in.b));
      INFO("host: vector " << hv << " mxcsr " << hex(h.mx_out) << " xmm0 " << lanes_hex(h.out) << " rax "
                           << hex(h.rax_out));
      INFO("softvt: vector " << s.vector << " mxcsr " << hex(s.ctx.mx_out) << " xmm0 " << lanes_hex(s.ctx.out)
                             << " rax " << hex(s.ctx.rax_out));
      CHECK(hv == s.vector);
      CHECK(h.mx_out == s.ctx.mx_out);
      CHECK(std::memcmp(h.out, s.ctx.out, 16) == 0);
      CHECK(h.rax_out == s.ctx.rax_out);
      // Only COMIS*/UCOMIS* write flags, and only when they complete;
      // elsewhere the flags hold what the harness' caller left.
      if (hv < 0 && std::string(f.name).find("COMIS") != std::string::npos)
        CHECK((h.rflags & fl::ARITH) == (s.ctx.rflags & fl::ARITH));
      ++n;
    }
  }
  return n;
}

std::vector<Form> unmasked_forms() {
  std::vector<Form> forms;
  for (const Form& f : arithmetic_forms())
    if (std::string(f.name).rfind("RCP", 0) != 0 && std::string(f.name).rfind("RSQRT", 0) != 0) forms.push_back(f);
  for (const Form& f : compare_forms())
    if (std::string(f.name).find("LT") != std::string::npos || std::string(f.name).find("COMI") != std::string::npos ||
        std::string(f.name).find("CMPEQ") == 0)
      forms.push_back(f);
  for (const Form& f : convert_forms()) forms.push_back(f);
  return forms;
}

}  // namespace

TEST_CASE("sse: unmasked exceptions raise #XM like the host, with nothing written") {
  InProcessHost host;
  REQUIRE(host.usable());
  size_t n = 0;
  for (const Form& f : unmasked_forms()) n += compare_unmasked(host, f);
  std::printf("%zu unmasked cases compared with the host CPU\n", n);
}

// ---- availability, alignment and state rules ---------------------------------------
namespace {

constexpr uint32_t kArea = uint32_t(kData) + 0x1000;  // 64-byte aligned state area

// An image: `code` at the load address then HLT, data after kDataOff.
Bytes program(const Code& c) {
  Bytes img = blank_image();
  std::memcpy(img.data(), c.b.data(), c.b.size());
  img[c.b.size()] = 0xf4;
  return img;
}

// The CR4/XCR0 an OS enabling XSAVE for x87 and SSE sets.
void enable_xsave(CpuState& s) {
  s.cr4 |= cr4::OSXSAVE;
  s.xcr0 = xstate::X87 | xstate::SSE;
}

int softvt_vector(const Bytes& insn, const StateFn& tweak) {
  Code c;
  c.raw(insn);
  return run_softvt(program(c), tweak).vector;
}

const Bytes kAddps = {0x0f, 0x58, 0xc1};
const Bytes kFxsaveArea = {0x0f, 0xae, 0x04, 0x25};  // + disp32

Bytes with_addr(Bytes insn, uint32_t addr) {
  for (int i = 0; i < 4; ++i) insn.push_back(uint8_t(addr >> (8 * i)));
  return insn;
}

}  // namespace

TEST_CASE("sse: CR0.EM/TS and CR4.OSFXSR give #UD/#NM (SDM Vol. 3A 13.1, Table 2-2)") {
  auto cr0_set = [](uint64_t bits) { return [bits](CpuState& s) { s.cr0 |= bits; }; };
  CHECK(softvt_vector(kAddps, {}) == -1);
  CHECK(softvt_vector(kAddps, cr0_set(cr0::EM)) == vec::UD);
  CHECK(softvt_vector(kAddps, cr0_set(cr0::TS)) == vec::NM);
  CHECK(softvt_vector(kAddps, cr0_set(cr0::EM | cr0::TS)) == vec::UD);
  CHECK(softvt_vector(kAddps, [](CpuState& s) { s.cr4 &= ~cr4::OSFXSR; }) == vec::UD);
  // LDMXCSR, CVTPI2PS, MOVAPS follow the same rule.
  CHECK(softvt_vector(with_addr({0x0f, 0xae, 0x14, 0x25}, kArea), cr0_set(cr0::TS)) == vec::NM);
  CHECK(softvt_vector({0x0f, 0x28, 0xc1}, [](CpuState& s) { s.cr4 &= ~cr4::OSFXSR; }) == vec::UD);
  // FXSAVE: #NM for EM or TS, CR4.OSFXSR not needed (SDM Vol. 2 FXSAVE).
  CHECK(softvt_vector(with_addr(kFxsaveArea, kArea), cr0_set(cr0::EM)) == vec::NM);
  CHECK(softvt_vector(with_addr(kFxsaveArea, kArea), cr0_set(cr0::TS)) == vec::NM);
  CHECK(softvt_vector(with_addr(kFxsaveArea, kArea), [](CpuState& s) { s.cr4 &= ~cr4::OSFXSR; }) == -1);
  // Fences, prefetches and MOVNTI touch no SSE state: no #NM/#UD.
  CHECK(softvt_vector({0x0f, 0xae, 0xf8}, cr0_set(cr0::EM | cr0::TS)) == -1);  // sfence
  CHECK(softvt_vector({0x0f, 0xae, 0xe8}, cr0_set(cr0::EM | cr0::TS)) == -1);  // lfence
  CHECK(softvt_vector(with_addr({0x0f, 0x18, 0x04, 0x25}, kArea), cr0_set(cr0::EM | cr0::TS)) == -1);
  CHECK(softvt_vector(with_addr({0x0f, 0xc3, 0x04, 0x25}, kArea), cr0_set(cr0::EM | cr0::TS)) == -1);
}

TEST_CASE("sse: an unmasked exception with CR4.OSXMMEXCPT = 0 is #UD, flags set, nothing written") {
  Code c;
  c.ldmxcsr(kArea);                      // ZE unmasked
  c.movups_load(0, kArea + 16);          // 1.0
  c.raw({0x0f, 0x57, 0xc9});             // xorps xmm1, xmm1
  c.raw({0x0f, 0x5e, 0xc1});             // divps xmm0, xmm1
  Bytes img = program(c);
  put32(img, kArea, mxcsr::MASKS & ~(mxcsr::ZE << mxcsr::MASK_SHIFT));
  for (unsigned i = 0; i < 4; ++i) put32(img, kArea + 16 + 4 * i, 0x3f800000);
  const Result x = run_softvt(img);
  CHECK(x.vector == vec::XM);
  const Result u = run_softvt(img, [](CpuState& s) { s.cr4 &= ~cr4::OSXMMEXCPT; });
  CHECK(u.vector == vec::UD);
  for (const Result* r : {&x, &u}) {
    CHECK(state_mxcsr(r->state) == (get64(img, kArea) | mxcsr::ZE));
    uint32_t lane0;
    std::memcpy(&lane0, r->state.xsave + fxs::XMM0, 4);
    CHECK(lane0 == 0x3f800000);
  }
  // The host agrees on #XM and the flags (CR4.OSXMMEXCPT is set under Linux).
  const Result h = run_host(img);
  CHECK(h.vector == vec::XM);
  CHECK(state_mxcsr(h.state) == state_mxcsr(x.state));
}

TEST_CASE("sse: a row's feature gates it; the SSE2 forms of MOVSD/CMPSD check SSE2 themselves") {
  static CpuModel no_sse2 = [] {
    CpuModel m = sse_model();
    m.features &= ~(1ull << unsigned(Feature::Sse2));
    return m;
  }();
  auto vector_with = [](const CpuModel& m, const Bytes& insn) {
    Memory mem(4 << 20);
    Bytes img = insn;
    img.push_back(0xf4);
    CpuState s = setup_flat(mem, img, 0x10000, FlatMode::Long64);
    s.gpr[RSI] = s.gpr[RDI] = 0x20000;
    VectorRecorder rec;
    RunOptions opt;
    opt.max_insns = 10;
    opt.tracer = &rec;
    run_interp(mem, s, m, opt);
    return rec.vector;
  };
  const CpuModel full = sse_model();
  for (const Bytes& insn : {Bytes{0x66, 0x0f, 0x58, 0xc1}, Bytes{0xf2, 0x0f, 0x10, 0xc1},
                            Bytes{0xf2, 0x0f, 0xc2, 0xc1, 0x00}, Bytes{0xf2, 0x0f, 0x5a, 0xc1}}) {
    CHECK(vector_with(full, insn) == -1);
    CHECK(vector_with(no_sse2, insn) == vec::UD);
  }
  // The string MOVSD/CMPSD (A5, A7) are unaffected.
  CHECK(vector_with(no_sse2, {0xa5}) == -1);
  CHECK(vector_with(no_sse2, {0xa7}) == -1);
  // Without SSE, an SSE row is #UD.
  CpuModel no_sse = sse_model();
  no_sse.features &= ~((1ull << unsigned(Feature::Sse)) | (1ull << unsigned(Feature::Sse2)));
  CHECK(vector_with(no_sse, {0x0f, 0x58, 0xc1}) == vec::UD);
  CHECK(vector_with(sse_model(), {0x0f, 0x58, 0xc1}) == -1);
}

TEST_CASE("sse: alignment #GP(0) and LDMXCSR reserved bits, as on the host") {
  struct Case {
    const char* what;
    Bytes insn;
    int vector;
  };
  const uint32_t odd = kArea + 8;
  const std::vector<Case> cases = {
      {"movaps misaligned load", with_addr({0x0f, 0x28, 0x04, 0x25}, odd), vec::GP},
      {"movaps misaligned store", with_addr({0x0f, 0x29, 0x04, 0x25}, odd), vec::GP},
      {"movntps misaligned", with_addr({0x0f, 0x2b, 0x04, 0x25}, odd), vec::GP},
      {"addps misaligned", with_addr({0x0f, 0x58, 0x04, 0x25}, odd), vec::GP},
      {"cvtpd2ps misaligned", with_addr({0x66, 0x0f, 0x5a, 0x04, 0x25}, odd), vec::GP},
      {"movups misaligned", with_addr({0x0f, 0x10, 0x04, 0x25}, odd + 1), -1},
      {"addss misaligned m32", with_addr({0xf3, 0x0f, 0x58, 0x04, 0x25}, odd + 1), -1},
      {"movlps misaligned m64", with_addr({0x0f, 0x12, 0x04, 0x25}, odd + 1), -1},
      {"cvtps2pd misaligned m64", with_addr({0x0f, 0x5a, 0x04, 0x25}, odd + 4), -1},
      {"fxsave misaligned", with_addr({0x0f, 0xae, 0x04, 0x25}, odd), vec::GP},
      {"fxrstor misaligned", with_addr({0x0f, 0xae, 0x0c, 0x25}, odd), vec::GP},
      {"ldmxcsr reserved bit 16", with_addr({0x0f, 0xae, 0x14, 0x25}, kArea + 0x400), vec::GP},
      {"ldmxcsr all defined bits", with_addr({0x0f, 0xae, 0x14, 0x25}, kArea + 0x404), -1},
  };
  for (const Case& k : cases) {
    Code c;
    c.raw(k.insn);
    Bytes img = program(c);
    put32(img, kArea + 0x400, 0x11f80);
    put32(img, kArea + 0x404, 0xffff);  // every defined bit, DAZ included (MXCSR_MASK 0xffff)
    INFO(k.what);
    const Result s = run_softvt(img);
    const Result h = run_host(img);
    CHECK(s.vector == k.vector);
    CHECK(h.vector == k.vector);
    if (k.vector == vec::GP) CHECK(s.error_code == 0);
    const bool loads_mxcsr = k.vector < 0 && std::string(k.what).rfind("ldmxcsr", 0) == 0;
    CHECK(state_mxcsr(s.state) == (loads_mxcsr ? 0xffffu : mxcsr::DEFAULT));
    CHECK(state_mxcsr(h.state) == state_mxcsr(s.state));
  }
}

// ---- FXSAVE/FXRSTOR and XSAVE/XRSTOR -------------------------------------------------
namespace {

// FXRSTOR of a clean image (FCW 037FH, MXCSR 1F80H, everything else 0):
// the forked native child inherits the x87 register contents of this
// process (FNINIT empties the tags but keeps the registers), so programs
// that store them start from this.
void clean_fpu(Code& c, Bytes& img) {
  const uint32_t clean = kArea + 0xa00;
  std::memset(img.data() + (clean - kLoad), 0, 512);
  put32(img, clean, 0x37f);
  put32(img, clean + 24, mxcsr::DEFAULT);
  c.raw(with_addr({0x0f, 0xae, 0x0c, 0x25}, clean));
}

// Sets XMM0-15 and MXCSR to distinct values from the data area.
void load_distinct_state(Code& c, Bytes& img) {
  clean_fpu(c, img);
  for (unsigned x = 0; x < 16; ++x) {
    const uint32_t at = kArea + 0x800 + 16 * x;
    for (unsigned i = 0; i < 4; ++i) put32(img, at + 4 * i, 0x01010101u * (x + 1) + i);
    if (x >= 8) c.b.push_back(0x44);  // REX.R
    c.movups_load(x & 7, at);
  }
  put32(img, kArea + 0x900, 0x7f9a);  // RC = 3 (toward zero), flags ZE, OE, PE
  c.ldmxcsr(kArea + 0x900);
}

}  // namespace

TEST_CASE("sse: FXSAVE/FXSAVE64 store the image the host stores; FXRSTOR restores it") {
  for (bool rex_w : {false, true}) {
    Code c;
    Bytes img = blank_image();
    load_distinct_state(c, img);
    if (rex_w) c.b.push_back(0x48);
    c.raw(with_addr(kFxsaveArea, kArea));
    c.b.push_back(0xf4);
    std::memcpy(img.data(), c.b.data(), c.b.size());
    const Result s = run_softvt(img);
    const Result h = run_host(img);
    INFO("REX.W " << rex_w);
    REQUIRE(s.hlt);
    REQUIRE(h.hlt);
    const size_t at = kArea - kLoad;
    // Bytes 0-27 (x87 control, MXCSR) and 32-415 (ST, XMM0-15) as the host
    // wrote them; MXCSR_MASK is the model's (softvt 0xffff; the host may
    // report more, e.g. AMD's misaligned-SSE mask bit 17).
    CHECK(std::memcmp(s.image.data() + at, h.image.data() + at, 28) == 0);
    CHECK(std::memcmp(s.image.data() + at + 32, h.image.data() + at + 32, 416 - 32) == 0);
    uint32_t mask;
    std::memcpy(&mask, s.image.data() + at + 28, 4);
    CHECK(mask == 0xffff);
  }
  // FXRSTOR of a modified image, then FXSAVE again elsewhere: the same
  // bytes come back on both sides; TOP and the abridged tag are restored.
  Code c;
  Bytes img = blank_image();
  const uint32_t src = kArea, dst = kArea + 0x200;
  put32(img, src + 0, 0x2800037f);        // FCW 0x37f, FSW TOP = 5
  img[src - kLoad + 4] = 0xe0;            // ST(0..2) valid in abridged form
  put32(img, src + 24, 0x5f80 | mxcsr::PE);
  for (unsigned i = 0; i < 8 * 16; ++i) img[src - kLoad + 32 + i] = uint8_t(i * 7);
  for (unsigned i = 0; i < 16 * 16; ++i) img[src - kLoad + 160 + i] = uint8_t(i * 13 + 1);
  for (unsigned i = 0; i < 8; ++i) std::memset(img.data() + (src - kLoad) + 32 + 16 * i + 10, 0, 6);
  c.raw({0x48}), c.raw(with_addr({0x0f, 0xae, 0x0c, 0x25}, src));  // fxrstor64
  c.raw({0x48}), c.raw(with_addr(kFxsaveArea, dst));               // fxsave64
  img[c.b.size()] = 0xf4;
  std::memcpy(img.data(), c.b.data(), c.b.size());
  const Result s = run_softvt(img);
  const Result h = run_host(img);
  REQUIRE(s.hlt);
  REQUIRE(h.hlt);
  CHECK(std::memcmp(s.image.data() + (dst - kLoad), h.image.data() + (dst - kLoad), 28) == 0);
  CHECK(std::memcmp(s.image.data() + (dst - kLoad) + 32, h.image.data() + (dst - kLoad) + 32, 416 - 32) == 0);
  CHECK(std::memcmp(s.image.data() + (dst - kLoad), img.data() + (src - kLoad), 28) == 0);
}

TEST_CASE("sse: FXRSTOR with MXCSR reserved bits is #GP(0) and loads nothing") {
  Code c;
  Bytes img = blank_image();
  put32(img, kArea + 24, 0x10000 | 0x1f80);
  put32(img, kArea + 160, 0x12345678);
  c.raw(with_addr({0x0f, 0xae, 0x0c, 0x25}, kArea));
  std::memcpy(img.data(), c.b.data(), c.b.size());
  const Result s = run_softvt(img);
  const Result h = run_host(img);
  CHECK(s.vector == vec::GP);
  CHECK(h.vector == vec::GP);
  CHECK(state_mxcsr(s.state) == mxcsr::DEFAULT);
  uint32_t x0;
  std::memcpy(&x0, s.state.xsave + fxs::XMM0, 4);
  CHECK(x0 == 0);
}

TEST_CASE("sse: XSAVE/XRSTOR of x87 and SSE agree with the host (EDX:EAX = 3)") {
  // XSAVE with RFBM = 3 writes the legacy region and XSTATE_BV = 2: the
  // XMM registers are in use, the x87 (no x87 instruction ran since
  // FNINIT) is in its initial configuration; XRSTOR of a header with
  // XSTATE_BV = 0 initializes both but loads MXCSR from the image.
  Code c;
  Bytes img = blank_image();
  load_distinct_state(c, img);
  // XRSTOR with RFBM = 1 and XSTATE_BV = 0 puts the x87 in its initial
  // configuration (the host then tracks it as not in use).
  const uint32_t init_area = kArea + 0xc00;
  put32(img, init_area + 24, 0x7f9a);
  c.raw({0xb8, 1, 0, 0, 0, 0x31, 0xd2});  // mov eax, 1; xor edx, edx
  c.raw(with_addr({0x0f, 0xae, 0x2c, 0x25}, init_area));  // xrstor [init_area]
  c.raw({0xb8, 3, 0, 0, 0, 0x31, 0xd2});  // mov eax, 3; xor edx, edx
  c.raw(with_addr({0x0f, 0xae, 0x24, 0x25}, kArea));  // xsave [kArea]
  const uint32_t second = kArea + 0x400;
  put32(img, second + 24, 0x3f80);                  // MXCSR to load (RC = 1)
  put32(img, second + 160, 0xdeadbeef);             // not loaded: XSTATE_BV[1] = 0
  c.raw(with_addr({0x0f, 0xae, 0x2c, 0x25}, second));  // xrstor [second]
  c.stmxcsr(kArea + 0x3f0);
  c.movups_store(kArea + 0x3e0, 0);
  img[c.b.size()] = 0xf4;
  std::memcpy(img.data(), c.b.data(), c.b.size());
  const Result s = run_softvt(img, enable_xsave);
  const Result h = run_host(img);
  REQUIRE(s.hlt);
  REQUIRE(h.hlt);
  const size_t at = kArea - kLoad;
  CHECK(std::memcmp(s.image.data() + at, h.image.data() + at, 28) == 0);
  CHECK(std::memcmp(s.image.data() + at + 32, h.image.data() + at + 32, 416 - 32) == 0);
  CHECK(get64(s.image, kArea + 512) == 2);
  CHECK(get64(h.image, kArea + 512) == 2);
  CHECK(get64(s.image, kArea + 0x3f0) == 0x3f80);
  CHECK(get64(h.image, kArea + 0x3f0) == 0x3f80);
  CHECK(get64(s.image, kArea + 0x3e0) == 0);
  CHECK(get64(h.image, kArea + 0x3e0) == 0);
  // x87 initialized: FCW 0x37f, FSW 0, tags empty.
  CHECK(std::memcmp(s.state.xsave, h.state.xsave, 8) == 0);
}

TEST_CASE("sse: XRSTOR header checks (SDM Vol. 2 XRSTOR #GP), on softvt and the host") {
  struct Case {
    const char* what;
    unsigned off;    // header byte offset
    uint64_t value;
    bool host_too;   // the host's XCR0 makes the same case fault
  };
  const std::vector<Case> cases = {
      {"XCOMP_BV nonzero without bit 63", 8, 1, true},
      {"header bytes 16-23 nonzero", 16, 1, true},
      {"XSTATE_BV bit outside XCR0 (bit 62)", 0, 1ull << 62, true},
      {"XSTATE_BV AVX bit outside softvt's XCR0", 0, 4, false},
      {"header bytes 24-63 are not checked", 40, 1, true},
  };
  for (const Case& k : cases) {
    Code c;
    Bytes img = blank_image();
    c.raw({0xb8, 3, 0, 0, 0, 0x31, 0xd2});
    c.raw(with_addr({0x0f, 0xae, 0x2c, 0x25}, kArea));
    std::memcpy(img.data(), c.b.data(), c.b.size());
    img[c.b.size()] = 0xf4;
    put32(img, kArea + 24, 0x1f80);
    put64(img, kArea + 512 + k.off, k.value);
    const int want = k.off >= 24 ? -1 : vec::GP;
    INFO(k.what);
    const Result s = run_softvt(img, enable_xsave);
    CHECK(s.vector == want);
    if (k.host_too) CHECK(run_host(img).vector == want);
  }
  // MXCSR reserved bits: #GP only when the SSE component is requested.
  for (uint8_t rfbm : {3, 1}) {
    Code c;
    Bytes img = blank_image();
    c.raw({0xb8, rfbm, 0, 0, 0, 0x31, 0xd2});
    c.raw(with_addr({0x0f, 0xae, 0x2c, 0x25}, kArea));
    std::memcpy(img.data(), c.b.data(), c.b.size());
    img[c.b.size()] = 0xf4;
    put32(img, kArea + 24, 0x11f80);  // bit 16: reserved on every CPU
    const int want = rfbm == 3 ? vec::GP : -1;
    CHECK(run_softvt(img, enable_xsave).vector == want);
    CHECK(run_host(img).vector == want);
  }
  // Misaligned (64-byte rule) and without CR4.OSXSAVE.
  CHECK(softvt_vector(with_addr({0x0f, 0xae, 0x2c, 0x25}, kArea + 16), enable_xsave) == vec::GP);
  CHECK(softvt_vector(with_addr({0x0f, 0xae, 0x24, 0x25}, kArea + 32), enable_xsave) == vec::GP);
  CHECK(softvt_vector(with_addr({0x0f, 0xae, 0x24, 0x25}, kArea), {}) == vec::UD);
  CHECK(softvt_vector(with_addr({0x0f, 0xae, 0x24, 0x25}, kArea),
                      [](CpuState& s) { enable_xsave(s), s.cr0 |= cr0::TS; }) == vec::NM);
}

TEST_CASE("sse: XSAVE writes XSTATE_BV from XINUSE; XSAVEOPT skips components in their initial state") {
  // Fresh state (x87 after FNINIT, XMM all zero, MXCSR 1F80H): both
  // components are in their initial configuration.
  for (bool opt : {false, true}) {
    Code c;
    Bytes img = blank_image();
    std::memset(img.data() + (kArea - kLoad), 0xcc, 512);
    put64(img, kArea + 512, 0x8000000000000004ull);  // bits outside RFBM are kept
    c.raw({0xb8, 3, 0, 0, 0, 0x31, 0xd2});
    c.raw(with_addr({0x0f, 0xae, uint8_t(opt ? 0x34 : 0x24), 0x25}, kArea));
    std::memcpy(img.data(), c.b.data(), c.b.size());
    img[c.b.size()] = 0xf4;
    const Result s = run_softvt(img, enable_xsave);
    REQUIRE(s.hlt);
    INFO((opt ? "XSAVEOPT" : "XSAVE"));
    CHECK(get64(s.image, kArea + 512) == 0x8000000000000004ull);
    // XSAVE writes the components anyway; XSAVEOPT leaves the area alone.
    CHECK(s.image[kArea - kLoad] == (opt ? 0xcc : 0x7f));
    CHECK(s.image[kArea - kLoad + 160] == (opt ? 0xcc : 0x00));
  }
}

TEST_CASE("sse: XSETBV/XGETBV rules (SDM Vol. 2 XSETBV, XGETBV)") {
  auto run = [](uint32_t eax, uint32_t ecx, bool xsetbv, const StateFn& tweak) {
    Code c;
    c.raw({0xb8}), c.d32(eax);
    c.raw({0xb9}), c.d32(ecx);
    c.raw({0x31, 0xd2});
    c.raw({0x0f, 0x01, uint8_t(xsetbv ? 0xd1 : 0xd0)});
    if (xsetbv) c.raw({0x31, 0xc9, 0x0f, 0x01, 0xd0});  // xor ecx, ecx; xgetbv
    return run_softvt(program(c), tweak);
  };
  auto osxsave = [](CpuState& s) { s.cr4 |= cr4::OSXSAVE; };
  Result r = run(3, 0, true, osxsave);
  CHECK(r.vector == -1);
  CHECK(r.state.xcr0 == 3);
  CHECK(r.state.gpr[RAX] == 3);
  CHECK(r.state.gpr[RDX] == 0);
  CHECK(run(1, 0, true, osxsave).state.xcr0 == 1);
  CHECK(run(0, 0, true, osxsave).vector == vec::GP);   // x87 bit clear
  CHECK(run(2, 0, true, osxsave).vector == vec::GP);
  CHECK(run(7, 0, true, osxsave).vector == vec::GP);   // AVX: not supported
  CHECK(run(5, 0, true, osxsave).vector == vec::GP);   // AVX without SSE
  CHECK(run(3, 1, true, osxsave).vector == vec::GP);   // only XCR0 is writable
  CHECK(run(3, 0, true, {}).vector == vec::UD);        // CR4.OSXSAVE = 0
  CHECK(run(3, 0, false, {}).vector == vec::UD);
  CHECK(run(0, 1, false, osxsave).vector == vec::GP);  // XINUSE not reported
  r = run(0, 0, false, osxsave);
  CHECK(r.vector == -1);
  CHECK(r.state.gpr[RAX] == 1);                        // the flat runner's XCR0
  // At CPL 3, XSETBV is #GP(0): checked on the host too, where it is the
  // same privileged instruction.
  Code c;
  c.raw({0x31, 0xc9, 0xb8, 3, 0, 0, 0, 0x31, 0xd2, 0x0f, 0x01, 0xd1});
  CHECK(run_host(program(c)).vector == vec::GP);
}

// ---- the guest programs (tests/guest/sse_*.asm) ------------------------------------
//
// `softvt run --flat` uses the default CPU model, which does not list SSE
// until the CPU models of issue 3 arrive; this runs the corpus' sse_*
// programs through the interpreter with the SSE model and checks their
// header expectations (the native corpus test checks them on the host).

TEST_CASE("sse: the sse_* guest programs meet their expectations in the interpreter") {
  size_t n = 0;
  for (const corpus::Program& p : corpus::load_corpus()) {
    if (p.name.rfind("sse_", 0) != 0) continue;
    ++n;
    INFO(p.name);
    REQUIRE(p.header_errors.empty());
    FlatMode mode = FlatMode::Long64;
    REQUIRE(parse_flat_mode(p.mode, mode));
    const std::string bin = corpus::slurp(p.bin);
    const Bytes image(bin.begin(), bin.end());
    Memory mem(64 << 20);
    const CpuState s = setup_flat(mem, image, p.load, mode);
    RunOptions opt;
    opt.max_insns = p.max_insns;
    const RunOutcome o = run_interp(mem, s, sse_model(), opt);
    std::map<std::string, std::string> st;
    static const char* const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    for (int i = 0; i < 16; ++i) st[names[i]] = corpus::hex(o.state.gpr[i]);
    st["rip"] = corpus::hex(o.state.rip);
    st["rflags"] = corpus::hex(o.state.rflags);
    st["exit"] = stop_reason_name(o.stop);
    INFO("stop: " << o.detail);
    for (const auto& m : corpus::compare_state(p, st)) {
      INFO(m.key << " expected " << m.expected << ", got " << m.actual);
      CHECK(m.expected == m.actual);
    }
    for (const auto& [start, end] : corpus::dump_ranges(p)) {
      const std::vector<uint8_t> bytes(mem.ram() + start, mem.ram() + end);
      for (const auto& m : corpus::compare_mem(p, start, corpus::bytes_hex(bytes))) {
        INFO(m.key << " expected " << m.expected << ", got " << m.actual);
        CHECK(m.expected == m.actual);
      }
    }
  }
  CHECK(n >= 1);
}

TEST_CASE("sse: the MMX forms switch the x87 unit to MMX operation; memory sources do not") {
  struct Case {
    const char* what;
    Bytes insn;          // after FXRSTOR of an image with TOP = 5, no register valid
    bool unmask_ie;      // IE unmasked, the source an SNaN: #XM
  };
  const uint32_t src = kArea + 0x600;  // m64 source
  const std::vector<Case> cases = {
      {"cvtpi2ps xmm0, m64", with_addr({0x0f, 0x2a, 0x04, 0x25}, src), false},
      {"cvtpi2pd xmm0, m64", with_addr({0x66, 0x0f, 0x2a, 0x04, 0x25}, src), false},
      {"cvtpi2ps xmm0, mm1", {0x0f, 0x2a, 0xc1}, false},
      {"cvtpi2pd xmm0, mm1", {0x66, 0x0f, 0x2a, 0xc1}, false},
      {"cvtps2pi mm2, m64", with_addr({0x0f, 0x2d, 0x14, 0x25}, src), false},
      {"cvttpd2pi mm2, xmm1", {0x66, 0x0f, 0x2c, 0xd1}, false},
      {"cvtps2pi mm2, m64 with #XM", with_addr({0x0f, 0x2d, 0x14, 0x25}, src), true},
  };
  for (const Case& k : cases) {
    Code c;
    Bytes img = blank_image();
    put32(img, kArea + 0, 0x2800037f);  // FCW 0x37f, FSW TOP = 5, abridged tag 0
    put32(img, kArea + 24, k.unmask_ie ? (mxcsr::MASKS & ~(mxcsr::IE << mxcsr::MASK_SHIFT)) : mxcsr::DEFAULT);
    put32(img, src, 0x7f800001);        // an SNaN single / int 0x7f800001
    put32(img, src + 4, 0x40000000);
    c.raw(with_addr({0x0f, 0xae, 0x0c, 0x25}, kArea));          // fxrstor
    c.raw(k.insn);
    c.raw(with_addr(kFxsaveArea, kArea + 0x200));                // fxsave
    img[c.b.size()] = 0xf4;
    std::memcpy(img.data(), c.b.data(), c.b.size());
    INFO(k.what);
    const Result s = run_softvt(img);
    const Result h = run_host(img);
    CHECK(s.vector == h.vector);
    // FSW (TOP) and the abridged tag, from the FXSAVE image or, after a
    // fault, from the state.
    const uint8_t* hs = h.hlt ? h.image.data() + (kArea + 0x200 - kLoad) : h.state.xsave;
    const uint8_t* ss = s.hlt ? s.image.data() + (kArea + 0x200 - kLoad) : s.state.xsave;
    INFO("host FSW/FTW " << lanes_hex(hs) << " softvt " << lanes_hex(ss));
    CHECK(std::memcmp(hs + 2, ss + 2, 3) == 0);
    CHECK(std::memcmp(hs + 32, ss + 32, 128) == 0);  // ST/MM registers
    CHECK(std::memcmp(hs + 160, ss + 160, 16) == 0);
  }
}

TEST_CASE("sse: a store that faults on its second page writes nothing (MOVUPS, FXSAVE, XSAVE)") {
  // The 2-MiB page at 0x200000 is remapped through a page table of 4-KiB
  // pages whose second page (0x201000) is not present.
  struct Case {
    const char* what;
    Bytes insn;
    uint32_t addr;   // first byte the instruction would write
  };
  const std::vector<Case> cases = {
      {"movups m128 across the page end", with_addr({0x0f, 0x11, 0x04, 0x25}, 0x200ff8), 0x200ff8},
      {"fxsave across the page end", with_addr(kFxsaveArea, 0x200f00), 0x200f00},
      {"xsave across the page end", with_addr({0xb8, 3, 0, 0, 0, 0x31, 0xd2, 0x0f, 0xae, 0x24, 0x25}, 0x200e00),
       0x200e00},
  };
  for (const Case& k : cases) {
    Memory mem(16 << 20);
    Code c;
    c.raw({0x0f, 0x57, 0xc0, 0x0f, 0x54, 0xc0});  // xorps xmm0, xmm0 (not stored data); andps
    c.raw(k.insn);
    c.hlt();
    CpuState s = setup_flat(mem, c.b, kLoad, FlatMode::Long64);
    enable_xsave(s);
    const uint64_t pt = 0x8000;
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t pte = i == 1 ? 0 : ((0x200000 + (i << 12)) | 0x7);
      std::memcpy(mem.ram() + pt + 8 * i, &pte, 8);
    }
    const uint64_t pde = pt | 0x7;
    std::memcpy(mem.ram() + 0x3000 + 8, &pde, 8);
    std::memset(mem.ram() + 0x200000, 0x5a, 0x1000);
    VectorRecorder rec;
    RunOptions opt;
    opt.max_insns = 100;
    opt.tracer = &rec;
    run_interp(mem, s, sse_model(), opt);
    INFO(k.what);
    CHECK(rec.vector == vec::PF);
    for (uint32_t a = k.addr; a < 0x201000; ++a) {
      INFO("byte at " << hex(a));
      REQUIRE(mem.ram()[a] == 0x5a);
    }
  }
}

TEST_CASE("sse: outside 64-bit mode FXSAVE/FXRSTOR cover XMM0-7 only, as on the host") {
  // 32-bit code (the host: compatibility mode): FXSAVE leaves bytes
  // 288-511 (XMM8-15's slots and the rest) alone; FXRSTOR of an image
  // with XMM7 set and then FXSAVE elsewhere gives the same bytes.
  Code c;
  Bytes img = blank_image();
  const uint32_t area = kArea, second = kArea + 0x200, image2 = kArea + 0x400;
  std::memset(img.data() + (area - kLoad), 0xcc, 512);
  std::memset(img.data() + (second - kLoad), 0xcc, 512);
  std::memset(img.data() + (image2 - kLoad), 0, 512);
  put32(img, image2, 0x37f);
  put32(img, image2 + 24, 0x1f80);
  for (unsigned i = 0; i < 16 * 16; ++i) img[image2 - kLoad + 160 + i] = uint8_t(i + 1);
  c.raw(with_addr({0x0f, 0xae, 0x0c, 0x25}, image2));  // fxrstor [image2] (clean x87 too)
  c.raw(with_addr(kFxsaveArea, area));                 // fxsave [area]
  c.raw({0x0f, 0x57, 0xff});                           // xorps xmm7, xmm7
  c.raw(with_addr(kFxsaveArea, second));
  // In 32-bit code, [disp32] is ModRM 05 (no SIB): re-encode.
  Bytes code;
  for (size_t i = 0; i < c.b.size(); ++i) {
    if (i + 1 < c.b.size() && c.b[i] == 0x0f && c.b[i + 1] == 0xae && (c.b[i + 3] == 0x25)) {
      code.insert(code.end(), {0x0f, 0xae, uint8_t((c.b[i + 2] & 0x38) | 0x05)});
      i += 3;
      continue;
    }
    code.push_back(c.b[i]);
  }
  code.push_back(0xf4);
  std::memcpy(img.data(), code.data(), code.size());
  const Result s = run_softvt(img, {}, FlatMode::Prot32);
  const Result h = run_host(img, FlatMode::Prot32);
  REQUIRE(s.hlt);
  REQUIRE(h.hlt);
  for (uint32_t a : {area, second}) {
    const size_t at = a - kLoad;
    INFO("area " << hex(a));
    CHECK(std::memcmp(s.image.data() + at, h.image.data() + at, 28) == 0);
    CHECK(std::memcmp(s.image.data() + at + 32, h.image.data() + at + 32, 512 - 32) == 0);
    CHECK(s.image[at + 288] == 0xcc);
  }
}

TEST_CASE("sse: in 32-bit code the forms without REX.W match the host (compatibility mode)") {
  std::vector<Form> forms;
  for (const Form& f : convert_forms())
    if (std::find(f.op.begin(), f.op.end(), uint8_t(0x48)) == f.op.end()) forms.push_back(f);
  for (const Form& f : arithmetic_forms())
    if (std::string(f.name).rfind("ADD", 0) == 0 || std::string(f.name).rfind("DIV", 0) == 0) forms.push_back(f);
  for (const Form& f : compare_forms())
    if (std::string(f.name).find("COMIS") != std::string::npos) forms.push_back(f);
  size_t n = 0;
  for (const Form& f : forms)
    for (uint32_t mx : {mxcsr::DEFAULT, mxcsr::MASKS | (2u << mxcsr::RC_SHIFT) | mxcsr::DAZ | mxcsr::FZ})
      n += compare_batch(f, mx, FlatMode::Prot32);
  std::printf("%zu cases compared with the host CPU in 32-bit code\n", n);
}

TEST_CASE("sse: random SSE encodings with random MXCSR and CR0/CR4 bits end architecturally") {
  // Seeded random 0F-map instructions (with the 66/F2/F3/REX prefixes the
  // SSE forms use) from random registers, MXCSR and control bits: every
  // run must end in hlt, shutdown or the instruction limit, with no host
  // exception escaping the interpreter (DESIGN.md "Errors and bad input").
  uint64_t x = 0x5eed;
  auto next = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const uint8_t prefixes[] = {0x66, 0xf2, 0xf3, 0x48, 0x4c, 0x41};
  const CpuModel model = sse_model();
  Memory mem(4 << 20);
  size_t runs = 0, ended = 0, completed = 0;
  for (int run = 0; run < 20000; ++run) {
    // One instruction (a fault ends the run: there is no IDT), then HLT.
    Bytes code;
    for (int k = 0; k < 1; ++k) {
      if (next() & 1) code.push_back(prefixes[next() % sizeof prefixes]);
      code.push_back(0x0f);
      const uint8_t opc[] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2a, 0x2b,
                             0x2c, 0x2d, 0x2e, 0x2f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
                             0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0xae, 0xc2, 0xc3, 0xc6,
                             0xe6, 0x18, 0x01};
      code.push_back(opc[next() % sizeof opc]);
      const uint8_t modrm = uint8_t(next());
      code.push_back((next() & 1) ? uint8_t(modrm | 0xc0) : modrm);  // half register forms
      for (int b = 0; b < 5; ++b) code.push_back(uint8_t(next()));
    }
    // Keep exactly one instruction (Zydis' length) before the HLT; bytes
    // Zydis rejects are #UD for softvt too and are not worth a run.
    ZydisDecoder zd;
    ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zd, code.data(), code.size(), &zi, zo))) continue;
    code.resize(zi.length);
    code.push_back(0xf4);
    std::memset(mem.ram() + 0x10000, 0, 0x1000);
    CpuState s = setup_flat(mem, code, 0x10000, FlatMode::Long64);
    for (int r = 0; r < 16; ++r)
      if (r != RSP) s.gpr[r] = (next() & 3) ? 0x200000 + (next() & 0xfff0) : next();
    uint32_t mx = uint32_t(next()) & 0xffff;
    if (next() & 1) mx |= mxcsr::MASKS;
    std::memcpy(s.xsave + fxs::MXCSR, &mx, 4);
    for (unsigned i = 0; i < 256; ++i) s.xsave[fxs::XMM0 + i] = uint8_t(next());
    if ((next() & 7) == 0) s.cr0 |= cr0::TS;
    if ((next() & 7) == 0) s.cr4 |= cr4::OSXSAVE, s.xcr0 = 3;
    if ((next() & 7) == 0) s.cr4 &= ~cr4::OSXMMEXCPT;
    RunOptions opt;
    opt.max_insns = 64;
    RunOutcome o;
    REQUIRE_NOTHROW(o = run_interp(mem, s, model, opt));
    ++runs;
    if (o.stop == StopReason::Hlt || o.stop == StopReason::Shutdown || o.stop == StopReason::Limit) ++ended;
    else FAIL("run " << run << " stopped with " << stop_reason_name(o.stop) << ": " << o.detail);
    completed += o.stop == StopReason::Hlt;
  }
  CHECK(ended == runs);
  // Enough of them executed (rather than faulted) for the test to mean something.
  std::printf("%zu of %zu random SSE instructions completed\n", completed, runs);
  CHECK(completed > runs / 3);
}
