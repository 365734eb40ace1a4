// The integer instruction groups (alu, shift_rotate, bits, muldiv_bcd)
// against the host CPU: each instruction form runs natively on the host
// (64-bit forms as user code, the BCD instructions in a 32-bit
// compatibility-mode code segment) and in softvt's interpreter (a long64
// or prot32 flat image) from the same registers, flags and memory, over
// edge-case and random inputs. Results, memory and every flag the SDM
// defines for that input must match; #DE on the host (SIGFPE) must be #DE
// in softvt with nothing written. Flags (and results) the SDM leaves
// undefined are compared too, but only counted and reported in a summary.
//
// The same instruction bytes run on both sides: the host executes them
// from a generated code page, so the oracle and softvt see one encoding.
#include <catch.hpp>

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "decoder/decoder.h"
#include "emu/accel/accel.h"
#include "emu/interp/table.h"
#include "emu/loader/flat.h"

using namespace softvt;

namespace {

// ---- the host side ---------------------------------------------------------

// Register file exchanged with the host harnesses; gpr[RSP] is not used
// (the harness needs the stack).
struct Regs {
  uint64_t gpr[16];
  uint64_t flags;
};
static_assert(offsetof(Regs, flags) == 128);

}  // namespace

// alu_host_exec64(Regs* ctx, const void* code): loads every GPR but RSP and
// the flags from ctx, calls `code` (the instruction followed by RET),
// stores the registers and flags back.
extern "C" void alu_host_exec64(Regs* ctx, const void* code);
asm(R"(
  .text
  .intel_syntax noprefix
  .globl alu_host_exec64
  .type alu_host_exec64, @function
alu_host_exec64:
  push rbx
  push rbp
  push r12
  push r13
  push r14
  push r15
  push rdi
  push rsi
  push qword ptr [rdi + 128]
  popfq
  mov rax, [rdi + 0]
  mov rcx, [rdi + 8]
  mov rdx, [rdi + 16]
  mov rbx, [rdi + 24]
  mov rbp, [rdi + 40]
  mov rsi, [rdi + 48]
  mov r8, [rdi + 64]
  mov r9, [rdi + 72]
  mov r10, [rdi + 80]
  mov r11, [rdi + 88]
  mov r12, [rdi + 96]
  mov r13, [rdi + 104]
  mov r14, [rdi + 112]
  mov r15, [rdi + 120]
  mov rdi, [rdi + 56]
  call qword ptr [rsp]
  pushfq
  push rdi
  mov rdi, [rsp + 24]
  mov [rdi + 0], rax
  mov [rdi + 8], rcx
  mov [rdi + 16], rdx
  mov [rdi + 24], rbx
  mov [rdi + 40], rbp
  mov [rdi + 48], rsi
  mov [rdi + 64], r8
  mov [rdi + 72], r9
  mov [rdi + 80], r10
  mov [rdi + 88], r11
  mov [rdi + 96], r12
  mov [rdi + 104], r13
  mov [rdi + 112], r14
  mov [rdi + 120], r15
  pop rax
  mov [rdi + 56], rax
  pop rax
  mov [rdi + 128], rax
  add rsp, 16
  pop r15
  pop r14
  pop r13
  pop r12
  pop rbp
  pop rbx
  ret
  .size alu_host_exec64, . - alu_host_exec64
  .att_syntax prefix
)");

namespace {

constexpr uint64_t kArith = fl::ARITH;
constexpr uint64_t kLoad = 0x10000;            // softvt image address
constexpr uint64_t kDataStart = 0x200000;      // memory operands, host and guest
constexpr uint64_t kDataSize = 0x4000;
constexpr uint64_t kDataBase = kDataStart + 0x2000;  // RSI points here

sigjmp_buf g_jump;
volatile sig_atomic_t g_signal = 0;
void* volatile g_fault_addr = nullptr;

void on_fault(int sig, siginfo_t* info, void*) {
  g_signal = sig;
  g_fault_addr = info->si_addr;
  siglongjmp(g_jump, 1);
}

struct HostOutcome {
  int signal = 0;  // 0: ran to the end
  uint64_t fault_addr = 0;  // SIGSEGV: the faulting address
  Regs regs{};
};

// The host's executable page, data region and the low (< 4 GiB) region for
// the compatibility-mode harness.
class Host {
 public:
  Host() {
    code_ = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    void* d = mmap(reinterpret_cast<void*>(kDataStart), kDataSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    data_ = d == reinterpret_cast<void*>(kDataStart) ? static_cast<uint8_t*>(d) : nullptr;
    low_ = static_cast<uint8_t*>(mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
    alt_stack_.resize(1 << 16);
    stack_t ss{};
    ss.ss_sp = alt_stack_.data();
    ss.ss_size = alt_stack_.size();
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    for (int sig : {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP}) sigaction(sig, &sa, &old_[sig]);
  }
  ~Host() {
    if (code_ != MAP_FAILED) munmap(code_, 4096);
    if (data_) munmap(data_, kDataSize);
    if (low_ != MAP_FAILED) munmap(low_, 0x10000);
    for (int sig : {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP}) sigaction(sig, &old_[sig], nullptr);
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;
  bool usable() const { return code_ != MAP_FAILED && data_ && low_ != MAP_FAILED; }
  uint8_t* data() { return data_; }
  void set_data_readonly(bool ro) { mprotect(data_, kDataSize, ro ? PROT_READ : PROT_READ | PROT_WRITE); }

  // Runs a 64-bit instruction.
  HostOutcome run64(const std::vector<uint8_t>& insn, const Regs& in) {
    std::memcpy(code_, insn.data(), insn.size());
    code_[insn.size()] = 0xc3;  // RET
    static Regs ctx;
    ctx = in;
    HostOutcome out;
    g_signal = 0;
    if (sigsetjmp(g_jump, 1) == 0) alu_host_exec64(&ctx, code_);
    out.signal = g_signal;
    out.fault_addr = reinterpret_cast<uint64_t>(g_fault_addr);
    out.regs = ctx;
    return out;
  }

  // Runs a 32-bit instruction in the compatibility-mode code segment Linux
  // provides to 64-bit processes (selector 0x23); EAX..EDI but ESP.
  HostOutcome run32(const std::vector<uint8_t>& insn, const Regs& in) {
    Regs* ctx = reinterpret_cast<Regs*>(low_ + kCtx);
    *ctx = in;
    build_compat_harness(insn);
    HostOutcome out;
    g_signal = 0;
    if (sigsetjmp(g_jump, 1) == 0) reinterpret_cast<void (*)()>(low_)();
    out.signal = g_signal;
    out.regs = *ctx;
    return out;
  }

 private:
  static constexpr uint32_t kCtx = 0x1000, kSavedRsp = 0x1100, kStackTop = 0xfff0;

  uint32_t low_addr(uint32_t off) const { return uint32_t(reinterpret_cast<uintptr_t>(low_)) + off; }

  // 64-bit entry: save callee-saved registers and RSP, switch to a stack
  // below 4 GiB, load flags and EAX..EDI, far-return into 32-bit code that
  // runs the instruction, PUSHFD, and far-returns to 64-bit code which
  // stores the registers and returns to the caller.
  void build_compat_harness(const std::vector<uint8_t>& insn) {
    std::vector<uint8_t> c;
    auto b = [&](std::initializer_list<uint8_t> bytes) { c.insert(c.end(), bytes); };
    auto d32 = [&](uint32_t v) {
      for (int i = 0; i < 4; ++i) c.push_back(uint8_t(v >> (8 * i)));
    };
    static const uint8_t regs_modrm[] = {0x04, 0x0c, 0x14, 0x1c, 0, 0x2c, 0x34, 0x3c};
    b({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57});
    b({0x48, 0x89, 0x24, 0x25}), d32(low_addr(kSavedRsp));       // mov [saved], rsp
    b({0x48, 0xc7, 0xc4}), d32(low_addr(kStackTop));             // mov rsp, imm32
    b({0xff, 0x34, 0x25}), d32(low_addr(kCtx + 128));            // push qword [flags]
    b({0x9d});                                                   // popfq
    for (unsigned r = 0; r < 8; ++r) {
      if (r == RSP) continue;
      b({0x8b, regs_modrm[r], 0x25}), d32(low_addr(kCtx + 8 * r));  // mov r32, [ctx + 8r]
    }
    b({0x6a, 0x23, 0x68});                                       // push 0x23; push target
    const size_t target_at = c.size();
    d32(0);
    b({0x48, 0xcb});                                             // retfq
    const uint32_t target = low_addr(uint32_t(c.size()));
    std::memcpy(&c[target_at], &target, 4);
    c.insert(c.end(), insn.begin(), insn.end());
    b({0x9c, 0x6a, 0x33, 0x68});                                 // pushfd; push 0x33; push back
    const size_t back_at = c.size();
    d32(0);
    b({0xcb});                                                   // retf
    const uint32_t back = low_addr(uint32_t(c.size()));
    std::memcpy(&c[back_at], &back, 4);
    for (unsigned r = 0; r < 8; ++r) {
      if (r == RSP) continue;
      b({0x89, regs_modrm[r], 0x25}), d32(low_addr(kCtx + 8 * r));  // mov [ctx + 8r], r32
    }
    b({0x8b, 0x04, 0x24});                                       // mov eax, [rsp] (EFLAGS)
    b({0x89, 0x04, 0x25}), d32(low_addr(kCtx + 128));
    b({0x48, 0x8b, 0x24, 0x25}), d32(low_addr(kSavedRsp));       // mov rsp, [saved]
    b({0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3});
    std::memcpy(low_, c.data(), c.size());
    // The context's upper halves: the 32-bit stores leave them as loaded.
    Regs* ctx = reinterpret_cast<Regs*>(low_ + kCtx);
    for (unsigned r = 0; r < 8; ++r) ctx->gpr[r] &= 0xffffffff;
  }

  uint8_t* code_;
  uint8_t* data_;
  uint8_t* low_;
  std::vector<uint8_t> alt_stack_;
  struct sigaction old_[32];
};

// ---- the softvt side ---------------------------------------------------------

// The first exception the instruction raised.
struct VectorRecorder : Cpu::Tracer {
  int vector = -1;
  uint32_t error_code = 0;
  uint64_t cr2 = 0;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException& e) override {
    if (vector >= 0) return;
    vector = e.vector;
    error_code = e.error_code;
    cr2 = e.cr2;
  }
  void note(const Cpu&, const std::string&) override {}
};

struct SoftvtOutcome {
  StopReason stop;
  VectorRecorder exception;
  CpuState state;
};

class Softvt {
 public:
  Softvt() : mem_(32 << 20) {
    base32_ = setup_flat(mem_, {0xf4}, kLoad, FlatMode::Prot32);
    base64_ = setup_flat(mem_, {0xf4}, kLoad, FlatMode::Long64);
  }
  uint8_t* data() { return mem_.ram() + kDataStart; }
  // Clears R/W in the 2-MiB page-directory entry that maps the data region
  // (the long64 flat runner's identity map; CR0.WP is set).
  void set_data_readonly(bool ro) {
    const uint64_t pde_addr = 0x3000 + 8 * (kDataStart >> 21);
    uint64_t pde;
    std::memcpy(&pde, mem_.ram() + pde_addr, 8);
    pde = ro ? pde & ~uint64_t(2) : pde | 2;
    std::memcpy(mem_.ram() + pde_addr, &pde, 8);
  }

  SoftvtOutcome run(bool long64, const std::vector<uint8_t>& insn, const Regs& in) {
    std::memcpy(mem_.ram() + kLoad, insn.data(), insn.size());
    mem_.ram()[kLoad + insn.size()] = 0xf4;  // HLT
    CpuState s = long64 ? base64_ : base32_;
    for (unsigned r = 0; r < 16; ++r)
      if (r != RSP) s.gpr[r] = long64 ? in.gpr[r] : in.gpr[r] & 0xffffffff;
    s.rflags = in.flags | fl::FIXED1;
    VectorRecorder rec;
    RunOptions opt;
    opt.max_insns = 4;
    opt.tracer = &rec;
    RunOutcome o = run_interp(mem_, s, default_cpu_model(), opt);
    return {o.stop, rec, o.state};
  }

 private:
  Memory mem_;
  CpuState base32_, base64_;
};

// ---- instruction forms ---------------------------------------------------------

// What a case's inputs are: registers whose values are operands.
enum class Role : uint8_t {
  Value,      // an operand of the form's width: edge cases and random values
  Count,      // a shift/rotate count in the low byte
  BitOffset,  // a BT bit offset addressing memory around RSI: small signed
};

struct RegInput {
  uint8_t reg;
  Role role;
};

// Which flags the SDM defines for one input, and whether the result is.
struct Spec {
  uint64_t def_flags;
  bool result_defined = true;
};

struct Form;
using SpecFn = std::function<Spec(const Form&, const Regs&, uint64_t imm)>;
// Adjusts the inputs of case i; `mem_operand` points at the memory operand
// (nullptr for register forms).
using PrepareFn = std::function<void(const Form&, Regs&, uint64_t& imm, uint8_t* mem_operand,
                                     std::mt19937_64&, unsigned i)>;

struct Form {
  std::string name;
  bool long64 = true;
  std::vector<uint8_t> bytes;  // without the immediate
  unsigned bits = 64;          // operand width (edge values)
  std::vector<RegInput> inputs;
  unsigned imm_bytes = 0;
  Role imm_role = Role::Value;
  bool mem = false;            // [RSI] holds an operand of `bits`
  SpecFn spec;
  PrepareFn prepare;           // optional: adjusts the inputs of case i
  unsigned cases = 300;
  std::string group;           // the test case that runs it
  bool expect_fault = false;   // the host must fault on every case (#UD forms)
};

uint64_t width_mask(unsigned bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }

std::vector<uint64_t> edge_values(unsigned bits) {
  const uint64_t m = width_mask(bits), sign = uint64_t(1) << (bits - 1);
  std::vector<uint64_t> v = {0,        1,        2,        3,        7,          8,
                             0xf,      0x10,     0x99,     sign - 1, sign,       sign + 1,
                             m - 1,    m,        m / 3,    m / 3 * 2, m / 15 * 9, m >> 1 >> (bits / 2)};
  for (auto& x : v) x &= m;
  return v;
}

const std::vector<uint64_t> kEdgeCounts = {0,  1,  2,  3,  4,  5,  7,  8,  9,  15, 16, 17,
                                           18, 24, 31, 32, 33, 34, 63, 64, 65, 127, 128, 255};

uint64_t random_value(std::mt19937_64& rng) {
  uint64_t v = rng();
  switch (rng() % 4) {
    case 0: return v >> (rng() % 64);  // small magnitudes
    case 1: return ~(v >> (rng() % 64));  // small negative
    default: return v;
  }
}

// A value for `role` at `bits`, with random bits above the operand (which
// the instruction must ignore or preserve).
uint64_t input_value(Role role, unsigned bits, std::mt19937_64& rng, int edge_index) {
  const uint64_t m = width_mask(bits);
  const uint64_t garbage = rng() & ~m;
  switch (role) {
    case Role::Count: {
      uint64_t c = edge_index >= 0 ? kEdgeCounts[size_t(edge_index) % kEdgeCounts.size()] : rng() & 0xff;
      return (rng() & ~uint64_t(0xff)) | c;
    }
    case Role::BitOffset: {
      // Offsets within +-2^15 bits = +-4 KiB around RSI (the data region).
      static const int64_t edges[] = {0, 1, -1, 7, 8, -8, 15, 16, 31, 32, 63, 64, -64, 65, 32767, -32768};
      int64_t o = edge_index >= 0 ? edges[size_t(edge_index) % 16] : int64_t(rng() % 65536) - 32768;
      return garbage | (uint64_t(o) & m);
    }
    default: {
      if (edge_index >= 0) {
        auto e = edge_values(bits);
        return garbage | e[size_t(edge_index) % e.size()];
      }
      return garbage | (random_value(rng) & m);
    }
  }
}

size_t edge_count(Role role, unsigned bits) {
  switch (role) {
    case Role::Count: return kEdgeCounts.size();
    case Role::BitOffset: return 16;
    default: return edge_values(bits).size();
  }
}

// ---- encoders ----------------------------------------------------------------

// A legacy-map instruction: [66] [mandatory F2/F3] [REX] opcode ModRM.
// `rm` < 16 is a register, kMemRsi the memory operand [RSI].
constexpr uint8_t kMemRsi = 0xff;

std::vector<uint8_t> legacy(unsigned bits, std::vector<uint8_t> mandatory, std::vector<uint8_t> opcode,
                            uint8_t reg, uint8_t rm, bool lock = false) {
  std::vector<uint8_t> out;
  if (lock) out.push_back(0xf0);
  if (bits == 16) out.push_back(0x66);
  out.insert(out.end(), mandatory.begin(), mandatory.end());
  const bool mem = rm == kMemRsi;
  uint8_t rex = 0x40 | (bits == 64 ? 8 : 0) | ((reg & 8) ? 4 : 0) | (!mem && (rm & 8) ? 1 : 0);
  if (rex != 0x40) out.push_back(rex);
  out.insert(out.end(), opcode.begin(), opcode.end());
  out.push_back(mem ? uint8_t(((reg & 7) << 3) | 6) : uint8_t(0xc0 | ((reg & 7) << 3) | (rm & 7)));
  return out;
}

// A VEX (C4) instruction: map 2 = 0F38, 3 = 0F3A; pp 0 none, 1 66, 2 F3, 3 F2.
std::vector<uint8_t> vex(unsigned map, bool w, uint8_t vvvv, unsigned pp, uint8_t opcode, uint8_t reg,
                         uint8_t rm) {
  const bool mem = rm == kMemRsi;
  const uint8_t b1 = uint8_t(((reg & 8) ? 0 : 0x80) | 0x40 | (!mem && (rm & 8) ? 0 : 0x20) | map);
  const uint8_t b2 = uint8_t((w ? 0x80 : 0) | ((~vvvv & 0xf) << 3) | pp);
  const uint8_t modrm = mem ? uint8_t(((reg & 7) << 3) | 6) : uint8_t(0xc0 | ((reg & 7) << 3) | (rm & 7));
  return {0xc4, b1, b2, opcode, modrm};
}

std::string bits_name(unsigned bits) { return std::to_string(bits); }

// ---- flag specs (SDM Vol. 2 "Flags Affected") -----------------------------------

unsigned count_of(const Form& f, const Regs& r, uint64_t imm, bool from_cl, bool one) {
  const uint64_t raw = one ? 1 : from_cl ? (r.gpr[RCX] & 0xff) : imm;
  return unsigned(raw & (f.bits == 64 ? 63 : 31));
}

SpecFn fixed_spec(uint64_t def) {
  return [def](const Form&, const Regs&, uint64_t) { return Spec{def}; };
}

// SHL/SHR (sar = false) and SAR: count 0 changes nothing; OF only for 1;
// AF undefined; SHL/SHR CF undefined for count >= width.
SpecFn shift_spec(bool from_cl, bool one, bool sar) {
  return [=](const Form& f, const Regs& r, uint64_t imm) {
    const unsigned c = count_of(f, r, imm, from_cl, one);
    if (c == 0) return Spec{kArith};
    uint64_t def = fl::CF | fl::SF | fl::ZF | fl::PF | (c == 1 ? fl::OF : 0);
    if (!sar && c >= f.bits) def &= ~fl::CF;
    return Spec{def};
  };
}

// ROL/ROR/RCL/RCR: count 0 changes nothing; SF, ZF, AF, PF never change; OF
// only for count 1.
SpecFn rotate_spec(bool from_cl, bool one) {
  return [=](const Form& f, const Regs& r, uint64_t imm) {
    const unsigned c = count_of(f, r, imm, from_cl, one);
    return Spec{c == 1 || c == 0 ? kArith : kArith & ~fl::OF};
  };
}

// SHLD/SHRD: count 0 changes nothing; count > width: result and flags
// undefined; AF undefined; OF only for count 1.
SpecFn double_shift_spec(bool from_cl) {
  return [=](const Form& f, const Regs& r, uint64_t imm) {
    const unsigned c = count_of(f, r, imm, from_cl, false);
    if (c == 0) return Spec{kArith};
    if (c > f.bits) return Spec{0, false};
    return Spec{fl::CF | fl::SF | fl::ZF | fl::PF | (c == 1 ? fl::OF : 0)};
  };
}

// ---- the form catalogue ------------------------------------------------------

// Registers used: the r/m operand is RBX, the ModRM.reg operand RDX, a
// VEX.vvvv operand RDI, counts in RCX (CL), memory at [RSI].
constexpr uint8_t kRm = RBX, kReg = RDX, kVvvv = RDI;

void add_form(std::vector<Form>& out, Form f) { out.push_back(std::move(f)); }

void alu_forms(std::vector<Form>& out) {
  struct Op {
    const char* name;
    uint8_t base;   // the "op r/m, r" opcode of the 8-bit form
    uint8_t digit;  // /digit of the 80/81/83 immediate group
    bool logic;
  };
  const Op ops[] = {{"add", 0x00, 0, false}, {"or", 0x08, 1, true},   {"adc", 0x10, 2, false},
                    {"sbb", 0x18, 3, false}, {"and", 0x20, 4, true},  {"sub", 0x28, 5, false},
                    {"xor", 0x30, 6, true},  {"cmp", 0x38, 7, false}, {"test", 0x84, 0, true}};
  for (const Op& op : ops) {
    const SpecFn spec = fixed_spec(op.logic ? kArith & ~fl::AF : kArith);
    const bool is_test = op.base == 0x84;
    const bool lockable = !is_test && op.base != 0x38;
    for (unsigned bits : {8u, 16u, 32u, 64u}) {
      const uint8_t opc = uint8_t(op.base + (bits == 8 ? 0 : 1));
      const std::string n = std::string(op.name) + bits_name(bits);
      add_form(out, {n + " r/m,r", true, legacy(bits, {}, {opc}, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kReg, Role::Value}}, 0, Role::Value, false, spec});
      add_form(out, {n + " [mem],r", true, legacy(bits, {}, {opc}, kReg, kMemRsi), bits,
                     {{kReg, Role::Value}}, 0, Role::Value, true, spec});
      if (!is_test)
        add_form(out, {n + " r,[mem]", true, legacy(bits, {}, {uint8_t(opc + 2)}, kReg, kMemRsi), bits,
                       {{kReg, Role::Value}}, 0, Role::Value, true, spec});
      if (lockable)
        add_form(out, {"lock " + n + " [mem],r", true, legacy(bits, {}, {opc}, kReg, kMemRsi, true), bits,
                       {{kReg, Role::Value}}, 0, Role::Value, true, spec, nullptr, 100});
      // Immediate forms: 80/81 (/digit, imm of the width, imm32 for 64),
      // 83 (imm8 sign-extended), TEST F6/F7 /0.
      const uint8_t group = is_test ? uint8_t(bits == 8 ? 0xf6 : 0xf7) : uint8_t(bits == 8 ? 0x80 : 0x81);
      const unsigned imm_bytes = bits == 8 ? 1 : bits == 16 ? 2 : 4;
      add_form(out, {n + " r/m,imm", true, legacy(bits, {}, {group}, op.digit, kRm), bits,
                     {{kRm, Role::Value}}, imm_bytes, Role::Value, false, spec});
      if (!is_test && bits != 8)
        add_form(out, {n + " r/m,imm8", true, legacy(bits, {}, {0x83}, op.digit, kRm), bits,
                       {{kRm, Role::Value}}, 1, Role::Value, false, spec});
    }
    // High-byte registers: op BH, DH (ModRM rm = 7, reg = 6, no REX).
    add_form(out, {std::string(op.name) + "8 bh,dh", true, {op.base, 0xc0 | (6 << 3) | 7}, 16,
                   {{RBX, Role::Value}, {RDX, Role::Value}}, 0, Role::Value, false, spec, nullptr, 150});
    // Extended registers: op r9, r10.
    add_form(out, {std::string(op.name) + "64 r9,r10", true, legacy(64, {}, {uint8_t(op.base + 1)}, R10, R9),
                   64, {{R9, Role::Value}, {R10, Role::Value}}, 0, Role::Value, false, spec, nullptr, 150});
  }
  // Unary: INC FE/FF /0, DEC /1, NOT F6/F7 /2, NEG /3.
  struct Un {
    const char* name;
    uint8_t opc8;
    uint8_t digit;
    uint64_t def;
  };
  const Un uns[] = {{"inc", 0xfe, 0, kArith}, {"dec", 0xfe, 1, kArith},
                    {"not", 0xf6, 2, kArith}, {"neg", 0xf6, 3, kArith}};
  for (const Un& u : uns) {
    for (unsigned bits : {8u, 16u, 32u, 64u}) {
      const uint8_t opc = uint8_t(u.opc8 + (bits == 8 ? 0 : 1));
      const std::string n = std::string(u.name) + bits_name(bits);
      add_form(out, {n + " r/m", true, legacy(bits, {}, {opc}, u.digit, kRm), bits, {{kRm, Role::Value}}, 0,
                     Role::Value, false, fixed_spec(u.def)});
      add_form(out, {n + " [mem]", true, legacy(bits, {}, {opc}, u.digit, kMemRsi), bits, {}, 0, Role::Value,
                     true, fixed_spec(u.def), nullptr, 100});
      add_form(out, {"lock " + n + " [mem]", true, legacy(bits, {}, {opc}, u.digit, kMemRsi, true), bits, {},
                     0, Role::Value, true, fixed_spec(u.def), nullptr, 60});
    }
  }
}

void shift_forms(std::vector<Form>& out) {
  struct Op {
    const char* name;
    uint8_t digit;
    bool rotate;
    bool sar;
  };
  const Op ops[] = {{"rol", 0, true, false}, {"ror", 1, true, false}, {"rcl", 2, true, false},
                    {"rcr", 3, true, false}, {"shl", 4, false, false}, {"shr", 5, false, false},
                    {"sal", 6, false, false}, {"sar", 7, false, true}};
  for (const Op& op : ops) {
    for (unsigned bits : {8u, 16u, 32u, 64u}) {
      const uint8_t w = bits == 8 ? 0 : 1;
      const std::string n = std::string(op.name) + bits_name(bits);
      auto spec = [&](bool cl, bool one) { return op.rotate ? rotate_spec(cl, one) : shift_spec(cl, one, op.sar); };
      add_form(out, {n + " r/m,1", true, legacy(bits, {}, {uint8_t(0xd0 + w)}, op.digit, kRm), bits,
                     {{kRm, Role::Value}}, 0, Role::Value, false, spec(false, true), nullptr, 150});
      add_form(out, {n + " r/m,cl", true, legacy(bits, {}, {uint8_t(0xd2 + w)}, op.digit, kRm), bits,
                     {{kRm, Role::Value}, {RCX, Role::Count}}, 0, Role::Value, false, spec(true, false), nullptr,
                     500});
      add_form(out, {n + " r/m,imm8", true, legacy(bits, {}, {uint8_t(0xc0 + w)}, op.digit, kRm), bits,
                     {{kRm, Role::Value}}, 1, Role::Count, false, spec(false, false), nullptr, 300});
      add_form(out, {n + " [mem],cl", true, legacy(bits, {}, {uint8_t(0xd2 + w)}, op.digit, kMemRsi), bits,
                     {{RCX, Role::Count}}, 0, Role::Value, true, spec(true, false), nullptr, 100});
    }
  }
  // SHLD 0F A4 (imm8) / A5 (CL), SHRD 0F AC / AD: r/m = RBX, reg = RDX.
  for (bool right : {false, true}) {
    for (unsigned bits : {16u, 32u, 64u}) {
      const std::string n = std::string(right ? "shrd" : "shld") + bits_name(bits);
      const uint8_t base = right ? 0xac : 0xa4;
      add_form(out, {n + " r/m,r,cl", true, legacy(bits, {}, {0x0f, uint8_t(base + 1)}, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kReg, Role::Value}, {RCX, Role::Count}}, 0, Role::Value, false,
                     double_shift_spec(true), nullptr, 800});
      add_form(out, {n + " r/m,r,imm8", true, legacy(bits, {}, {0x0f, base}, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kReg, Role::Value}}, 1, Role::Count, false, double_shift_spec(false),
                     nullptr, 500});
      add_form(out, {n + " [mem],r,cl", true, legacy(bits, {}, {0x0f, uint8_t(base + 1)}, kReg, kMemRsi), bits,
                     {{kReg, Role::Value}, {RCX, Role::Count}}, 0, Role::Value, true, double_shift_spec(true),
                     nullptr, 100});
    }
  }
  // BMI2: SHLX (66), SARX (F3), SHRX (F2): VEX.0F38 F7, count in vvvv;
  // RORX VEX.F2.0F3A F0 ib.
  const struct {
    const char* name;
    unsigned pp;
  } xs[] = {{"shlx", 1}, {"sarx", 2}, {"shrx", 3}};
  for (auto& x : xs) {
    for (unsigned bits : {32u, 64u}) {
      const std::string n = std::string(x.name) + bits_name(bits);
      add_form(out, {n + " r,r/m,r", true, vex(2, bits == 64, kVvvv, x.pp, 0xf7, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kVvvv, Role::Count}}, 0, Role::Value, false, fixed_spec(kArith)});
      add_form(out, {n + " r,[mem],r", true, vex(2, bits == 64, kVvvv, x.pp, 0xf7, kReg, kMemRsi), bits,
                     {{kVvvv, Role::Count}}, 0, Role::Value, true, fixed_spec(kArith), nullptr, 100});
    }
  }
  for (unsigned bits : {32u, 64u})
    add_form(out, {"rorx" + bits_name(bits) + " r,r/m,imm8", true, vex(3, bits == 64, 0, 3, 0xf0, kReg, kRm), bits,
                   {{kRm, Role::Value}}, 1, Role::Count, false, fixed_spec(kArith)});
}

void bit_forms(std::vector<Form>& out) {
  // BT 0F A3 / BTS AB / BTR B3 / BTC BB (r/m, r); 0F BA /4../7 ib.
  const struct {
    const char* name;
    uint8_t opc;
    uint8_t digit;
  } bts[] = {{"bt", 0xa3, 4}, {"bts", 0xab, 5}, {"btr", 0xb3, 6}, {"btc", 0xbb, 7}};
  const SpecFn bt_spec = fixed_spec(fl::CF | fl::ZF);
  for (auto& b : bts) {
    for (unsigned bits : {16u, 32u, 64u}) {
      const std::string n = std::string(b.name) + bits_name(bits);
      add_form(out, {n + " r/m,r", true, legacy(bits, {}, {0x0f, b.opc}, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kReg, Role::Count}}, 0, Role::Value, false, bt_spec});
      add_form(out, {n + " r/m,imm8", true, legacy(bits, {}, {0x0f, 0xba}, b.digit, kRm), bits,
                     {{kRm, Role::Value}}, 1, Role::Count, false, bt_spec});
      add_form(out, {n + " [mem],r", true, legacy(bits, {}, {0x0f, b.opc}, kReg, kMemRsi), bits,
                     {{kReg, Role::BitOffset}}, 0, Role::Value, true, bt_spec});
      add_form(out, {n + " [mem],imm8", true, legacy(bits, {}, {0x0f, 0xba}, b.digit, kMemRsi), bits, {}, 1,
                     Role::Count, true, bt_spec, nullptr, 100});
      if (b.opc != 0xa3)
        add_form(out, {"lock " + n + " [mem],r", true, legacy(bits, {}, {0x0f, b.opc}, kReg, kMemRsi, true), bits,
                       {{kReg, Role::BitOffset}}, 0, Role::Value, true, bt_spec, nullptr, 100});
    }
  }
  // BSF 0F BC, BSR 0F BD, TZCNT F3 0F BC, LZCNT F3 0F BD, POPCNT F3 0F B8:
  // reg = destination, r/m = source.
  const struct {
    const char* name;
    bool f3;
    uint8_t opc;
    uint64_t def;
  } scans[] = {{"bsf", false, 0xbc, fl::ZF},
               {"bsr", false, 0xbd, fl::ZF},
               {"tzcnt", true, 0xbc, fl::CF | fl::ZF},
               {"lzcnt", true, 0xbd, fl::CF | fl::ZF},
               {"popcnt", true, 0xb8, kArith}};
  for (auto& s : scans) {
    for (unsigned bits : {16u, 32u, 64u}) {
      const std::string n = std::string(s.name) + bits_name(bits);
      std::vector<uint8_t> mand;
      if (s.f3) mand.push_back(0xf3);
      add_form(out, {n + " r,r/m", true, legacy(bits, mand, {0x0f, s.opc}, kReg, kRm), bits,
                     {{kRm, Role::Value}, {kReg, Role::Value}}, 0, Role::Value, false, fixed_spec(s.def)});
      add_form(out, {n + " r,[mem]", true, legacy(bits, mand, {0x0f, s.opc}, kReg, kMemRsi), bits,
                     {{kReg, Role::Value}}, 0, Role::Value, true, fixed_spec(s.def), nullptr, 100});
    }
  }
  // BMI1/BMI2 (VEX.0F38): ANDN F2 (dest, vvvv, r/m), BEXTR F7 (dest, r/m,
  // vvvv), BLSR F3 /1, BLSMSK /2, BLSI /3 (vvvv dest, r/m), BZHI F5 (dest,
  // r/m, vvvv), PDEP F2.F5 / PEXT F3.F5 (dest, vvvv, r/m), MULX F2.F6.
  const uint64_t szoc = fl::SF | fl::ZF | fl::OF | fl::CF;
  for (unsigned bits : {32u, 64u}) {
    const bool w = bits == 64;
    const std::string b = bits_name(bits);
    add_form(out, {"andn" + b, true, vex(2, w, kVvvv, 0, 0xf2, kReg, kRm), bits,
                   {{kVvvv, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(szoc)});
    add_form(out, {"andn" + b + " [mem]", true, vex(2, w, kVvvv, 0, 0xf2, kReg, kMemRsi), bits,
                   {{kVvvv, Role::Value}}, 0, Role::Value, true, fixed_spec(szoc), nullptr, 100});
    // BEXTR control: start and length from edge counts.
    auto bextr_prepare = [](const Form&, Regs& r, uint64_t&, uint8_t*, std::mt19937_64& rng, unsigned) {
      const uint64_t start = kEdgeCounts[rng() % kEdgeCounts.size()];
      const uint64_t len = kEdgeCounts[rng() % kEdgeCounts.size()];
      r.gpr[kVvvv] = (rng() & ~uint64_t(0xffff)) * (rng() & 1) | (len << 8) | start;
    };
    add_form(out, {"bextr" + b, true, vex(2, w, kVvvv, 0, 0xf7, kReg, kRm), bits, {{kRm, Role::Value}}, 0,
                   Role::Value, false, fixed_spec(fl::ZF | fl::OF | fl::CF), bextr_prepare, 500});
    add_form(out, {"bextr" + b + " [mem]", true, vex(2, w, kVvvv, 0, 0xf7, kReg, kMemRsi), bits, {}, 0,
                   Role::Value, true, fixed_spec(fl::ZF | fl::OF | fl::CF), bextr_prepare, 100});
    const struct {
      const char* name;
      uint8_t digit;
    } bls[] = {{"blsr", 1}, {"blsmsk", 2}, {"blsi", 3}};
    for (auto& x : bls) {
      add_form(out, {std::string(x.name) + b, true, vex(2, w, kVvvv, 0, 0xf3, x.digit, kRm), bits,
                     {{kRm, Role::Value}, {kVvvv, Role::Value}}, 0, Role::Value, false, fixed_spec(szoc)});
      add_form(out, {std::string(x.name) + b + " [mem]", true, vex(2, w, kVvvv, 0, 0xf3, x.digit, kMemRsi), bits,
                     {{kVvvv, Role::Value}}, 0, Role::Value, true, fixed_spec(szoc), nullptr, 100});
    }
    add_form(out, {"bzhi" + b, true, vex(2, w, kVvvv, 0, 0xf5, kReg, kRm), bits,
                   {{kRm, Role::Value}, {kVvvv, Role::Count}}, 0, Role::Value, false, fixed_spec(szoc)});
    add_form(out, {"pdep" + b, true, vex(2, w, kVvvv, 3, 0xf5, kReg, kRm), bits,
                   {{kVvvv, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith)});
    add_form(out, {"pext" + b, true, vex(2, w, kVvvv, 2, 0xf5, kReg, kRm), bits,
                   {{kVvvv, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith)});
    add_form(out, {"pdep" + b + " [mem]", true, vex(2, w, kVvvv, 3, 0xf5, kReg, kMemRsi), bits,
                   {{kVvvv, Role::Value}}, 0, Role::Value, true, fixed_spec(kArith), nullptr, 100});
  }
}

// DIV/IDIV inputs: the dividend's high half (RDX, or AH) is chosen so that
// most quotients fit, with overflows, zero divisors and INT_MIN / -1 mixed
// in.
void divide_prepare(const Form& f, Regs& r, uint64_t&, uint8_t* mem_operand, std::mt19937_64& rng,
                    unsigned i) {
  const uint64_t m = width_mask(f.bits);
  const uint64_t sign = uint64_t(1) << (f.bits - 1);
  uint64_t divisor = 0;
  if (mem_operand) std::memcpy(&divisor, mem_operand, f.bits / 8);
  else divisor = r.gpr[kRm] & m;
  uint64_t low = r.gpr[RAX] & m, high;
  switch (i % 8) {
    case 0: high = 0; break;
    case 1: high = (low & sign) ? m : 0; break;  // sign extension of the low half
    case 2: high = divisor ? (rng() % divisor) : 0; break;
    case 3: low = sign, high = m, divisor = m; break;  // INT_MIN / -1
    case 4: high = rng() & m; break;
    default: high = (divisor >> 1) & m; break;
  }
  if (f.bits == 8) {
    r.gpr[RAX] = (r.gpr[RAX] & ~uint64_t(0xffff)) | (high << 8) | low;
  } else {
    r.gpr[RAX] = (r.gpr[RAX] & ~m) | low;
    r.gpr[RDX] = (r.gpr[RDX] & ~m) | high;
  }
  if (mem_operand) std::memcpy(mem_operand, &divisor, f.bits / 8);
  else r.gpr[kRm] = (r.gpr[kRm] & ~m) | divisor;
}

void muldiv_forms(std::vector<Form>& out) {
  // F6/F7 /4 MUL, /5 IMUL, /6 DIV, /7 IDIV (r/m = RBX or [RSI]).
  const struct {
    const char* name;
    uint8_t digit;
    uint64_t def;
    bool divide;
  } ops[] = {{"mul", 4, fl::CF | fl::OF, false},
             {"imul", 5, fl::CF | fl::OF, false},
             {"div", 6, 0, true},
             {"idiv", 7, 0, true}};
  for (auto& op : ops) {
    for (unsigned bits : {8u, 16u, 32u, 64u}) {
      const uint8_t opc = bits == 8 ? 0xf6 : 0xf7;
      const std::string n = std::string(op.name) + bits_name(bits);
      PrepareFn prep = op.divide ? PrepareFn(divide_prepare) : nullptr;
      add_form(out, {n + " r/m", true, legacy(bits, {}, {opc}, op.digit, kRm), bits,
                     {{kRm, Role::Value}, {RAX, Role::Value}, {RDX, Role::Value}}, 0, Role::Value, false,
                     fixed_spec(op.def), prep, 600});
      add_form(out, {n + " [mem]", true, legacy(bits, {}, {opc}, op.digit, kMemRsi), bits,
                     {{RAX, Role::Value}, {RDX, Role::Value}}, 0, Role::Value, true, fixed_spec(op.def), prep,
                     200});
    }
    // 8-bit with a high-byte operand: op BH.
    add_form(out, {std::string(op.name) + "8 bh", true, {0xf6, uint8_t(0xc0 | (op.digit << 3) | 7)}, 8,
                   {{RAX, Role::Value}}, 0, Role::Value, false, fixed_spec(op.def), nullptr, 100});
  }
  // IMUL r, r/m (0F AF); IMUL r, r/m, imm8 (6B) / imm (69).
  for (unsigned bits : {16u, 32u, 64u}) {
    const std::string n = "imul" + bits_name(bits);
    const SpecFn spec = fixed_spec(fl::CF | fl::OF);
    add_form(out, {n + " r,r/m", true, legacy(bits, {}, {0x0f, 0xaf}, kReg, kRm), bits,
                   {{kReg, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, spec});
    add_form(out, {n + " r,[mem]", true, legacy(bits, {}, {0x0f, 0xaf}, kReg, kMemRsi), bits,
                   {{kReg, Role::Value}}, 0, Role::Value, true, spec, nullptr, 100});
    add_form(out, {n + " r,r/m,imm8", true, legacy(bits, {}, {0x6b}, kReg, kRm), bits, {{kRm, Role::Value}}, 1,
                   Role::Value, false, spec});
    add_form(out, {n + " r,r/m,imm", true, legacy(bits, {}, {0x69}, kReg, kRm), bits, {{kRm, Role::Value}},
                   bits == 16 ? 2u : 4u, Role::Value, false, spec});
  }
  // MULX (VEX.F2.0F38 F6): high half to reg, low half to vvvv, RDX * r/m;
  // with reg = vvvv the high half wins.
  for (unsigned bits : {32u, 64u}) {
    const bool w = bits == 64;
    const std::string b = bits_name(bits);
    add_form(out, {"mulx" + b, true, vex(2, w, kVvvv, 3, 0xf6, kReg, kRm), bits,
                   {{RDX, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith)});
    add_form(out, {"mulx" + b + " same dest", true, vex(2, w, RBP, 3, 0xf6, RBP, kRm), bits,
                   {{RDX, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith), nullptr,
                   100});
    add_form(out, {"mulx" + b + " [mem]", true, vex(2, w, kVvvv, 3, 0xf6, kReg, kMemRsi), bits,
                   {{RDX, Role::Value}}, 0, Role::Value, true, fixed_spec(kArith), nullptr, 100});
    // ADCX 66 0F 38 F6, ADOX F3 0F 38 F6 (reg = destination).
    add_form(out, {"adcx" + b, true, legacy(bits, {0x66}, {0x0f, 0x38, 0xf6}, kReg, kRm), bits,
                   {{kReg, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith)});
    add_form(out, {"adox" + b, true, legacy(bits, {0xf3}, {0x0f, 0x38, 0xf6}, kReg, kRm), bits,
                   {{kReg, Role::Value}, {kRm, Role::Value}}, 0, Role::Value, false, fixed_spec(kArith)});
  }
}

// Decimal adjust, in 32-bit code: every AL with every CF/AF combination
// (and random AH and other flags).
// AAM/AAD run each of those with a set of bases, then random ones.
void bcd_prepare(const Form&, Regs& r, uint64_t& imm, uint8_t*, std::mt19937_64& rng, unsigned i) {
  r.gpr[RAX] = (r.gpr[RAX] & ~uint64_t(0xff)) | (i & 0xff);
  r.flags = (r.flags & ~(fl::CF | fl::AF)) | ((i & 0x100) ? fl::CF : 0) | ((i & 0x200) ? fl::AF : 0);
  static const uint64_t bases[] = {0, 1, 2, 7, 9, 10, 16, 100, 255};
  const unsigned round = i >> 10;
  imm = round < 9 ? bases[round] : rng() & 0xff;
}

void bcd_forms(std::vector<Form>& out) {
  const struct {
    const char* name;
    uint8_t opc;
    uint64_t def;
    bool imm;
  } ops[] = {{"daa", 0x27, kArith & ~fl::OF, false},
             {"das", 0x2f, kArith & ~fl::OF, false},
             {"aaa", 0x37, fl::CF | fl::AF, false},
             {"aas", 0x3f, fl::CF | fl::AF, false},
             {"aam", 0xd4, fl::SF | fl::ZF | fl::PF, true},
             {"aad", 0xd5, fl::SF | fl::ZF | fl::PF, true}};
  for (auto& op : ops)
    add_form(out, {op.name, false, {op.opc}, 16, {{RAX, Role::Value}}, op.imm ? 1u : 0u, Role::Value, false,
                   fixed_spec(op.def), bcd_prepare, op.imm ? 10240u : 1024u});
}

// Encodings that are #UD: the decimal-adjust opcodes in 64-bit mode, LOCK
// with a register destination, and LOCK on instructions it does not apply
// to (SDM Vol. 2 LOCK, AAA...). The host raises SIGILL; softvt must raise
// #UD and change nothing.
void invalid_forms(std::vector<Form>& out) {
  const struct {
    const char* name;
    std::vector<uint8_t> bytes;
  } bad[] = {{"daa in 64-bit mode", {0x27}},
             {"das in 64-bit mode", {0x2f}},
             {"aaa in 64-bit mode", {0x37}},
             {"aas in 64-bit mode", {0x3f}},
             {"aam in 64-bit mode", {0xd4, 0x0a}},
             {"aad in 64-bit mode", {0xd5, 0x0a}},
             {"lock add r,r", {0xf0, 0x01, 0xd3}},
             {"lock adc r,imm8", {0xf0, 0x83, 0xd3, 0x01}},
             {"lock not r", {0xf0, 0xf7, 0xd3}},
             {"lock inc r", {0xf0, 0xff, 0xc3}},
             {"lock bts r,r", {0xf0, 0x0f, 0xab, 0xd3}},
             {"lock cmp [mem],r", {0xf0, 0x39, 0x16}},
             {"lock test [mem],r", {0xf0, 0x85, 0x16}},
             {"lock bt [mem],r", {0xf0, 0x0f, 0xa3, 0x16}},
             {"lock shl [mem],1", {0xf0, 0xd1, 0x26}},
             {"lock mul [mem]", {0xf0, 0xf7, 0x26}},
             {"lock imul r,[mem]", {0xf0, 0x0f, 0xaf, 0x16}},
             {"lock popcnt r,[mem]", {0xf0, 0xf3, 0x0f, 0xb8, 0x16}},
             // VEX.L = 1 (the BMI instructions are VEX.LZ) and RORX with
             // VEX.vvvv != 1111b.
             {"bextr with VEX.L=1", {0xc4, 0xe2, 0x74, 0xf7, 0xc2}},
             {"blsr with VEX.L=1", {0xc4, 0xe2, 0x74, 0xf3, 0xca}},
             {"shlx with VEX.L=1", {0xc4, 0xe2, 0x75, 0xf7, 0xc2}},
             {"mulx with VEX.L=1", {0xc4, 0xe2, 0x77, 0xf6, 0xc2}},
             {"rorx with VEX.vvvv=1110b", {0xc4, 0xe3, 0x73, 0xf0, 0xc2, 0x05}}};
  for (auto& b : bad) {
    Form f{b.name, true, b.bytes, 32, {{kRm, Role::Value}, {kReg, Role::Value}}, 0, Role::Value, true,
           fixed_spec(kArith), nullptr, 20};
    f.expect_fault = true;
    out.push_back(f);
  }
}

std::vector<Form> all_forms() {
  std::vector<Form> f;
  auto add_group = [&](void (*make)(std::vector<Form>&), const char* group) {
    const size_t first = f.size();
    make(f);
    for (size_t k = first; k < f.size(); ++k) f[k].group = group;
  };
  add_group(alu_forms, "alu");
  add_group(shift_forms, "shift");
  add_group(bit_forms, "bits");
  add_group(muldiv_forms, "muldiv");
  add_group(bcd_forms, "bcd");
  add_group(invalid_forms, "invalid");
  return f;
}

// ---- running and comparing ----------------------------------------------------

const char* flag_name(uint64_t bit) {
  switch (bit) {
    case fl::CF: return "CF";
    case fl::PF: return "PF";
    case fl::AF: return "AF";
    case fl::ZF: return "ZF";
    case fl::SF: return "SF";
    default: return "OF";
  }
}

std::string hex(const std::vector<uint8_t>& b) {
  std::string s;
  char t[4];
  for (uint8_t x : b) {
    snprintf(t, sizeof t, "%02x", x);
    s += t;
  }
  return s;
}

std::string regs_text(const Regs& r, bool long64) {
  static const char* names[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  std::string s;
  char t[64];
  for (unsigned i = 0; i < (long64 ? 16u : 8u); ++i) {
    if (i == RSP) continue;
    snprintf(t, sizeof t, "%s=%" PRIx64 " ", names[i], r.gpr[i]);
    s += t;
  }
  snprintf(t, sizeof t, "flags=%" PRIx64, r.flags);
  return s + t;
}

struct Tally {
  uint64_t cases = 0, defined_flag_checks = 0, de_cases = 0, ud_cases = 0, pf_cases = 0;
  std::vector<std::string> failures;
  std::map<std::string, uint64_t> undefined_diffs;  // "form: FLAG" -> count
  std::map<std::string, uint64_t> undefined_seen;   // "form: FLAG" -> cases where undefined
  void fail(const std::string& m) {
    if (failures.size() < 40) failures.push_back(m);
    else failures.back() = "... (more failures)";
  }
};

class Runner {
 public:
  Runner() : rng_(0x5eed0a1u) {}
  bool usable() const { return host_.usable(); }

  void run_form(const Form& f, Tally& t) {
    const ZydisMnemonic mnem = mnemonic_of(f);
    // #UD encodings decode as invalid: no row; nothing may change anyway.
    static const InsnRow kNoRow{ZYDIS_MNEMONIC_INVALID, nullptr, 0, 0, Feature::Base, 0};
    const InsnRow* row = f.expect_fault && mnem == ZYDIS_MNEMONIC_INVALID ? &kNoRow : find_row(mnem);
    if (!row) {
      t.fail(f.name + ": no instruction-table row for " + ZydisMnemonicGetString(mnem));
      return;
    }
    size_t edges0 = f.inputs.empty() ? 0 : edge_count(f.inputs[0].role, f.bits);
    size_t edges1 = f.inputs.size() < 2 ? 1 : edge_count(f.inputs[1].role, f.bits);
    for (unsigned i = 0; i < f.cases; ++i) run_case(f, *row, i, edges0, edges1, false, t);
    // Memory forms again on a read-only page: instructions that write their
    // memory operand fault as writes whether or not they change it (count
    // 0, OR 0, ...); BT, CMP and TEST only read it.
    if (f.mem && f.long64)
      for (unsigned i = 0; i < kReadOnlyCases; ++i) run_case(f, *row, i, edges0, edges1, true, t);
  }

 private:
  ZydisMnemonic mnemonic_of(const Form& f) {
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    std::vector<uint8_t> b = f.bytes;
    b.resize(b.size() + f.imm_bytes);
    if (!ZYAN_SUCCESS(decoder_.decode_raw(b.data(), b.size(),
                                          f.long64 ? DecodeMode::Long64 : DecodeMode::Prot32, zi, zo)))
      return ZYDIS_MNEMONIC_INVALID;
    return zi.mnemonic;
  }

  void make_inputs(const Form& f, unsigned i, size_t e0, size_t e1, Regs& r, uint64_t& imm) {
    for (auto& g : r.gpr) g = rng_();
    r.gpr[RSI] = kDataBase;
    r.flags = rng_() & kArith;
    // The first two inputs walk all pairs of edge values first.
    const bool edge_phase = i < e0 * e1;
    for (size_t k = 0; k < f.inputs.size(); ++k) {
      int edge = -1;
      if (edge_phase && k == 0) edge = int(i % e0);
      else if (edge_phase && k == 1) edge = int(i / e0);
      else if (rng_() % 3 == 0) edge = int(rng_() % 64);
      r.gpr[f.inputs[k].reg] = input_value(f.inputs[k].role, f.bits, rng_, edge);
    }
    imm = 0;
    if (f.imm_bytes) {
      const int edge = rng_() % 2 ? int(rng_() % 64) : -1;
      imm = input_value(f.imm_role, f.bits, rng_, edge) & width_mask(8 * f.imm_bytes);
    }
    if (f.mem) {
      uint8_t* d = host_.data();
      for (uint64_t k = 0; k < kDataSize; k += 8) {
        const uint64_t v = rng_();
        std::memcpy(d + k, &v, 8);
      }
      const uint64_t v = input_value(Role::Value, f.bits, rng_, edge_phase ? int(i % 18) : -1);
      std::memcpy(d + (kDataBase - kDataStart), &v, f.bits / 8);
    }
    if (f.prepare) f.prepare(f, r, imm, f.mem ? host_.data() + (kDataBase - kDataStart) : nullptr, rng_, i);
    if (!f.long64)
      for (auto& g : r.gpr) g &= 0xffffffff;
  }

  static constexpr unsigned kReadOnlyCases = 12;

  void run_case(const Form& f, const InsnRow& row, unsigned i, size_t e0, size_t e1, bool readonly, Tally& t) {
    Regs in{};
    uint64_t imm;
    make_inputs(f, i, e0, e1, in, imm);
    std::vector<uint8_t> insn = f.bytes;
    for (unsigned k = 0; k < f.imm_bytes; ++k) insn.push_back(uint8_t(imm >> (8 * k)));
    const Spec spec = f.spec(f, in, imm);
    std::vector<uint8_t> data_in;
    if (f.mem) {
      data_in.assign(host_.data(), host_.data() + kDataSize);
      std::memcpy(softvt_.data(), data_in.data(), kDataSize);
    }
    if (readonly) host_.set_data_readonly(true), softvt_.set_data_readonly(true);
    const HostOutcome h = f.long64 ? host_.run64(insn, in) : host_.run32(insn, in);
    const SoftvtOutcome s = softvt_.run(f.long64, insn, in);
    if (readonly) host_.set_data_readonly(false), softvt_.set_data_readonly(false);
    ++t.cases;
    const std::string where = f.name + " [" + hex(insn) + "] in: " + regs_text(in, f.long64);
    if (dump_ && f.name.find(dump_) != std::string::npos) dump_case(f, insn, in, h, s);
    if (h.signal) {
      check_fault(f, in, h, s, data_in, where, t);
      return;
    }
    if (f.expect_fault) {
      t.fail(where + ": the host did not fault on an encoding that must be #UD");
      return;
    }
    if (s.stop != StopReason::Hlt) {
      t.fail(where + ": host completed, softvt stopped with " + stop_reason_name(s.stop) + " (vector " +
             std::to_string(s.exception.vector) + ")");
      return;
    }
    Regs got{};
    for (unsigned r = 0; r < 16; ++r) got.gpr[r] = s.state.gpr[r];
    got.flags = s.state.rflags;
    compare_registers(f, spec, h.regs, got, where, t);
    compare_flags(f, row, spec, in, h.regs.flags, got.flags, where, t);
    if (f.mem && std::memcmp(host_.data(), softvt_.data(), kDataSize) != 0) {
      if (spec.result_defined) t.fail(where + ": memory differs" + first_memory_difference());
      else ++t.undefined_diffs[f.name + ": result (memory)"];
    }
    const uint64_t expect_rip = kLoad + insn.size() + 1;
    if (s.state.rip != expect_rip) t.fail(where + ": rip after HLT differs");
  }

  std::string first_memory_difference() {
    for (uint64_t k = 0; k < kDataSize; ++k)
      if (host_.data()[k] != softvt_.data()[k]) {
        char m[96];
        snprintf(m, sizeof m, " (first at %#" PRIx64 ": host %02x softvt %02x)", kDataStart + k,
                 host_.data()[k], softvt_.data()[k]);
        return m;
      }
    return "";
  }

  void compare_registers(const Form& f, const Spec& spec, const Regs& host, const Regs& got,
                         const std::string& where, Tally& t) {
    const unsigned n = f.long64 ? 16 : 8;
    const uint64_t m = f.long64 ? ~uint64_t(0) : 0xffffffff;
    for (unsigned r = 0; r < n; ++r) {
      if (r == RSP) continue;
      if ((host.gpr[r] & m) == (got.gpr[r] & m)) continue;
      if (!spec.result_defined) {
        ++t.undefined_diffs[f.name + ": result"];
        continue;
      }
      char msg[128];
      snprintf(msg, sizeof msg, ": gpr %u host %#" PRIx64 " softvt %#" PRIx64, r, host.gpr[r] & m, got.gpr[r] & m);
      t.fail(where + msg);
    }
    if (got.gpr[RSP] != kLoad) t.fail(where + ": softvt changed RSP");
  }

  void compare_flags(const Form& f, const InsnRow& row, const Spec& spec, const Regs& in, uint64_t host,
                     uint64_t got, const std::string& where, Tally& t) {
    // Bits outside the six arithmetic flags never change here.
    if ((got & ~kArith) != ((in.flags | fl::FIXED1) & ~kArith))
      t.fail(where + ": softvt changed a non-arithmetic RFLAGS bit");
    const uint64_t undefined = kArith & ~spec.def_flags;
    // The table must list every flag the SDM leaves undefined for this
    // input, and every flag softvt changed must be one the row names.
    if (undefined & ~uint64_t(row.flags_undef))
      t.fail(where + ": the table's flags_undef misses flags undefined here");
    const uint64_t changed = (got ^ in.flags) & kArith;
    if (changed & ~uint64_t(row.flags_def | row.flags_undef))
      t.fail(where + ": softvt changed flags the table row does not name");
    for (uint64_t bit : {fl::CF, fl::PF, fl::AF, fl::ZF, fl::SF, fl::OF}) {
      const bool differs = (host & bit) != (got & bit);
      if (spec.def_flags & bit) {
        ++t.defined_flag_checks;
        if (differs) {
          char msg[96];
          snprintf(msg, sizeof msg, ": %s host %d softvt %d (host flags %#" PRIx64 ")", flag_name(bit),
                   (host & bit) != 0, (got & bit) != 0, host);
          t.fail(where + msg);
        }
      } else {
        ++t.undefined_seen[f.name + ": " + flag_name(bit)];
        if (differs) ++t.undefined_diffs[f.name + ": " + flag_name(bit)];
      }
    }
  }

  // The host faulted: softvt must raise the matching exception and leave
  // registers, flags and memory as they were.
  void check_fault(const Form& f, const Regs& in, const HostOutcome& h, const SoftvtOutcome& s,
                   const std::vector<uint8_t>& data_in, const std::string& where, Tally& t) {
    int want;
    if (h.signal == SIGFPE) {
      want = vec::DE;
      ++t.de_cases;
    } else if (h.signal == SIGILL) {
      want = vec::UD;
      ++t.ud_cases;
    } else if (h.signal == SIGSEGV && f.mem) {
      want = vec::PF;  // a write to the read-only data page
      ++t.pf_cases;
    } else {
      t.fail(where + ": the host raised signal " + std::to_string(h.signal));
      return;
    }
    if (s.exception.vector != want || s.stop != StopReason::Shutdown) {
      t.fail(where + ": host vector " + std::to_string(want) + ", softvt stop " + stop_reason_name(s.stop) +
             " vector " + std::to_string(s.exception.vector));
      return;
    }
    // #PF(P=1, W=1, supervisor) at the address the host faulted on.
    if (want == vec::PF && (s.exception.error_code != 3 || s.exception.cr2 != h.fault_addr)) {
      char msg[128];
      snprintf(msg, sizeof msg, ": #PF error code %#x at %#" PRIx64 ", host faulted at %#" PRIx64,
               s.exception.error_code, s.exception.cr2, h.fault_addr);
      t.fail(where + msg);
    }
    const uint64_t m = f.long64 ? ~uint64_t(0) : 0xffffffff;
    for (unsigned r = 0; r < 16; ++r)
      if (r != RSP && (s.state.gpr[r] & m) != (in.gpr[r] & m)) t.fail(where + ": fault but a register changed");
    if (s.state.rip != kLoad) t.fail(where + ": fault with RIP not at the instruction");
    if ((s.state.rflags & kArith) != (in.flags & kArith)) t.fail(where + ": fault but flags changed");
    if (f.mem && std::memcmp(softvt_.data(), data_in.data(), kDataSize) != 0)
      t.fail(where + ": fault but memory changed");
  }

  // SOFTVT_ALU_DUMP=<part of a form name> prints every case of the
  // matching forms (input, host, softvt) for studying host behaviour.
  void dump_case(const Form& f, const std::vector<uint8_t>& insn, const Regs& in, const HostOutcome& h,
                 const SoftvtOutcome& s) {
    Regs got{};
    for (unsigned r = 0; r < 16; ++r) got.gpr[r] = s.state.gpr[r];
    got.flags = s.state.rflags;
    uint64_t mem_in = 0;
    if (f.mem) std::memcpy(&mem_in, host_.data() + (kDataBase - kDataStart), 8);
    std::printf("DUMP %s | %s | in %s | host sig=%d %s | softvt %s\n", f.name.c_str(), hex(insn).c_str(),
                regs_text(in, f.long64).c_str(), h.signal, regs_text(h.regs, f.long64).c_str(),
                regs_text(got, f.long64).c_str());
  }

  const char* dump_ = std::getenv("SOFTVT_ALU_DUMP");
  Host host_;
  Softvt softvt_;
  Decoder decoder_{default_cpu_model()};
  std::mt19937_64 rng_;
};

void print_summary(const Tally& t) {
  std::printf("alu_host: %" PRIu64 " cases, %" PRIu64 " defined-flag checks, %" PRIu64 " #DE, %" PRIu64
              " #UD and %" PRIu64 " #PF cases\n",
              t.cases, t.defined_flag_checks, t.de_cases, t.ud_cases, t.pf_cases);
  if (t.undefined_diffs.empty()) {
    std::printf("alu_host: every undefined flag and result matched the host\n");
    return;
  }
  std::printf("alu_host: undefined flags/results that differ from the host (not failures):\n");
  for (auto& [k, n] : t.undefined_diffs) {
    auto it = t.undefined_seen.find(k);
    if (it != t.undefined_seen.end())
      std::printf("  %-40s %6" PRIu64 " of %6" PRIu64 "\n", k.c_str(), n, it->second);
    else
      std::printf("  %-40s %6" PRIu64 "\n", k.c_str(), n);
  }
}

Tally run_forms(const std::vector<Form>& forms, const char* label, uint64_t min_cases = 1000) {
  Runner runner;
  Tally t;
  if (!runner.usable()) {
    FAIL("cannot map the host test pages (code, data at 0x200000, low memory)");
    return t;
  }
  for (const Form& f : forms) runner.run_form(f, t);
  std::printf("[%s] ", label);
  print_summary(t);
  for (const auto& m : t.failures) UNSCOPED_INFO(m);
  CHECK(t.failures.empty());
  CHECK(t.cases >= min_cases);
  return t;
}

std::vector<Form> forms_of(const std::string& group) {
  std::vector<Form> out;
  for (auto& f : all_forms())
    if (f.group == group) out.push_back(f);
  return out;
}

}  // namespace

// The selectors themselves reject LOCK with a register destination (Zydis
// already does, so the host tests above cannot reach them).
TEST_CASE("lockable rows reject LOCK with a register destination", "[alu]") {
  for (ZydisMnemonic m : {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_SBB,
                          ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_INC,
                          ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_NOT, ZYDIS_MNEMONIC_BTS,
                          ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC}) {
    INFO(ZydisMnemonicGetString(m));
    const InsnRow* row = find_row(m);
    REQUIRE(row != nullptr);
    Insn in{};
    in.opsize = 4;
    in.nops = 2;
    in.prefixes = pfx::LOCK;
    in.op[0] = Operand{OpKind::Reg, 4, RBX, 0};
    in.op[1] = Operand{OpKind::Reg, 4, RDX, 0};
    CHECK(row->select(in) == nullptr);
    in.op[0] = Operand{OpKind::Mem, 4, reg::NONE, 0};
    CHECK(row->select(in) != nullptr);
    in.prefixes = 0;
    in.op[0] = Operand{OpKind::Reg, 4, RBX, 0};
    CHECK(row->select(in) != nullptr);
  }
}

TEST_CASE("integer arithmetic and logic match the host CPU", "[alu]") { run_forms(forms_of("alu"), "alu"); }

TEST_CASE("shifts and rotates match the host CPU", "[alu]") { run_forms(forms_of("shift"), "shift"); }

TEST_CASE("bit instructions match the host CPU", "[alu]") { run_forms(forms_of("bits"), "bits"); }

// The inputs include zero divisors, quotient overflows and INT_MIN / -1
// for every DIV/IDIV form: #DE must have been exercised.
TEST_CASE("multiply, divide and ADX match the host CPU", "[alu]") {
  const Tally t = run_forms(forms_of("muldiv"), "muldiv");
  CHECK(t.de_cases > 500);
}

// AAM 0 is #DE. Needs the kernel's 32-bit code segment (IA-32 emulation).
TEST_CASE("decimal adjust matches the host CPU in 32-bit code", "[alu]") {
  {
    Host probe;
    if (probe.usable() && probe.run32({0x90}, Regs{}).signal != 0) {
      WARN("skipped: this kernel does not run 32-bit code (no IA-32 emulation)");
      return;
    }
  }
  const Tally t = run_forms(forms_of("bcd"), "bcd");
  CHECK(t.de_cases >= 1024);
}

TEST_CASE("invalid encodings raise #UD as on the host", "[alu]") {
  const Tally t = run_forms(forms_of("invalid"), "invalid", 300);
  CHECK(t.ud_cases == t.cases);
}
