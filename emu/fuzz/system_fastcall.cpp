// The fast-system-call family (system_cases.h): one scenario per case,
// chosen at random -
//   syscall   SYSCALL from CPL 0 with random STAR/LSTAR/CSTAR/SFMASK and
//             EFER.SCE (off: #UD)
//   (sysret   SYSRET with or without REX.W, random STAR[63:48], R11 and
//             RCX (non-canonical: #GP(0) on Intel), from CPL 0 (or 3: #GP):
//             built by gen_sysret but not drawn - this host's KVM is no
//             oracle for it (measured: RFLAGS = R11 unmasked instead of
//             (R11 & 3C7FD7H) | 2, a 64-bit return without REX.W keeping
//             RCX[63:32] and CS = STAR[63:48] + 16, the AMD behaviour for
//             a non-canonical RCX; SDM Vol. 2 SYSRET))
//   sysenter  SYSENTER from CPL 0/3, 64-bit, compatibility or 32-bit
//             protected mode, random SYSENTER_CS (0: #GP(0))/ESP/EIP
//   sysexit   SYSEXIT to 32- or 64-bit user code (REX.W), random RCX/RDX
//             (non-canonical with REX.W: #GP(0)), SYSENTER_CS (0: #GP(0))
//   swapgs    SWAPGS once or twice with random GS.base/KERNEL_GS_BASE (CPL 3: #GP)
//   fsgsbase  RD/WR FS/GS BASE, 32/64-bit operands, non-canonical values
//             (#GP(0)), CPL 0 or 3
//   tsc_aux   WRMSR/RDMSR of IA32_TSC_AUX (bits 63:32 set: #GP(0)), then
//             maybe RDTSCP (only ECX is kept: the TSC is time-dependent) or
//             RDPID
//   invpcid   INVPCID with random type (> 3: #GP), PCID (> 4095: #GP),
//             address (non-canonical for type 0: #GP), CR4.PCIDE
//   cache     CLFLUSH/CLFLUSHOPT (mapped, unmapped: #PF, non-canonical:
//             #GP), PAUSE, WBINVD/INVD (CPL 3: #GP)
//   umip      SGDT/SIDT/SLDT/STR/SMSW at CPL 3 (or 0) with CR4.UMIP random
// The CPU model is sys_model(): without the features this host's KVM lacks
// (RDTSCP, RDPID, INVPCID, PCID), those kinds check their #GP/#UD answers.
#include "emu/cpu_features.h"

#include "emu/fuzz/prng.h"
#include "emu/fuzz/system_asm.h"
#include "emu/fuzz/system_cases.h"

namespace softvt::fuzz {
namespace {

using namespace sysmap;
using namespace sysgen;

constexpr uint64_t kKernelLanding = kKernelCode + 0x800;  // a HLT sled
constexpr uint64_t kUserLanding = kUserCode + 0x800;      // a HLT sled (#GP at CPL 3)

uint64_t canonical(uint64_t v) { return v & (1ull << 47) ? v | 0xffff800000000000ull : v & 0x7fffffffffffull; }
// A random address that is non-canonical (bits 63:47 not all equal).
uint64_t non_canonical(Prng& r) { return (r.next() & 0x7fffffffffffull) | (uint64_t(r.range(1, 0x1fffe)) << 47); }
uint64_t random_canonical(Prng& r) { return canonical(r.next()); }

// A selector from a biased set: the GDT's own, null, or random.
uint16_t random_selector(Prng& r) {
  const uint16_t common[] = {0x08, 0x10, 0x18, 0x20, 0x23, 0x28, 0x2b, 0x30, 0x33, 0x3b};
  if (r.chance(3, 4)) return common[r.below(10)];
  return uint16_t(r.next());
}

struct Builder {
  Prng& r;
  SysCase& c;
  FlatMode mode;
  bool lm;
  Asm k;  // kernel code
  Asm u;  // user code
  bool user = false, user32 = false;
  std::string sum;

  Builder(Prng& rr, SysCase& cc, FlatMode m)
      : r(rr), c(cc), mode(m), lm(m == FlatMode::Long64), k(m, kKernelCode), u(m, kUserCode) {}

  ZydisRegister R(unsigned n) { return gpr(n, lm ? 8 : 4); }
  // The code the scenario's subject runs in: the user page when it runs
  // at CPL 3 (entered with IRET), else the kernel page.
  Asm& body() { return user ? u : k; }
  // Chooses CPL 3 with probability num/den; in long mode the user code is
  // sometimes compatibility-mode code (when `compat` allows it).
  void choose_cpl(uint64_t num, uint64_t den, bool compat) {
    user = r.chance(num, den);
    user32 = user && lm && compat && r.chance(1, 3);
    if (user32) u = Asm(FlatMode::Prot32, kUserCode);
    if (user) user_data_segments(c);
    sum += user ? (user32 ? " cpl3-compat" : " cpl3") : " cpl0";
  }
  uint64_t random_rflags() { return 0x2 | (r.next() & (fl::ARITH | fl::DF)); }
  void finish() {
    body().hlt();
    if (user) emit_enter_user(k, kUserCode, kUserStack + 0x1000 - 8 * r.below(4),
                              random_rflags() | fl::IF, user32);
    put(c, kKernelCode, k.bytes());
    if (user) put(c, kUserCode, u.bytes());
    put(c, kKernelLanding, Bytes(0x100, 0xf4));
    put(c, kUserLanding, Bytes(0x100, 0xf4));
  }
  void store_result(unsigned offset, ZydisRegister r32) {
    body().op(ZYDIS_MNEMONIC_MOV, {mem_operand(ZYDIS_REGISTER_NONE, int64_t(kResult + offset), 4), reg_operand(r32)});
  }
};

void gen_syscall(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  if (!r.chance(1, 8)) s.efer |= efer::SCE;
  s.star = uint64_t(random_selector(b.r)) << 32 | uint64_t(random_selector(b.r)) << 48 | (r.next() & 0xffffffff);
  s.lstar = kKernelLanding + r.below(0x100);
  s.cstar = kKernelLanding + r.below(0x100);
  s.sfmask = r.next() & 0xffffffff & ~fl::TF;
  s.rflags = b.random_rflags();
  // Exclusion: SYSCALL at CPL 3 is not run on this host's KVM as the CPU
  // runs it: its PVM takes a user-mode SYSCALL as a guest system call of
  // its own ABI (measured: it continues at LSTAR still at CPL 3, whose
  // fetch of the supervisor page faults, even with EFER.SCE = 0). Only
  // CPL-0 SYSCALLs are generated.
  b.choose_cpl(0, 1, true);
  b.body().raw({0x0f, 0x05});
  b.sum += " sce=" + std::to_string((s.efer & efer::SCE) != 0) + " star=" + hex(s.star) + " sfmask=" + hex(s.sfmask);
}

[[maybe_unused]] void gen_sysret(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  if (!r.chance(1, 8)) s.efer |= efer::SCE;
  s.star = uint64_t(random_selector(b.r)) << 48 | uint64_t(random_selector(b.r)) << 32;
  const bool rexw = r.chance(1, 2);
  uint64_t rcx = kUserLanding + r.below(0x100);
  if (rexw && r.chance(1, 5)) rcx = non_canonical(r);
  else if (!rexw) rcx |= r.next() & 0xffffffff00000000ull;  // ignored: EIP = ECX
  s.gpr[RCX] = rcx;
  s.gpr[R11] = r.next() & ~fl::TF & ~fl::VM;
  b.choose_cpl(1, 8, false);
  if (rexw) b.body().raw({0x48, 0x0f, 0x07});
  else b.body().raw({0x0f, 0x07});
  b.sum += std::string(rexw ? " rex.w" : "") + " rcx=" + hex(rcx) + " r11=" + hex(s.gpr[R11]) + " star=" + hex(s.star);
}

void gen_sysenter(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  s.sysenter_cs = r.chance(1, 8) ? 0 : random_selector(r);
  s.sysenter_eip = kKernelLanding + r.below(0x100);
  s.sysenter_esp = kKernelStack + r.below(0x1000);
  s.rflags = b.random_rflags() | (r.chance(1, 2) ? fl::IF : 0);
  // Exclusion: SYSENTER at CPL 3 in long mode (64-bit or compatibility
  // code) raises #UD under this host's KVM (measured): its PVM runs user
  // code on this AMD CPU, where SYSENTER is #UD in long mode (AMD APM
  // Vol. 3 SYSENTER), while the Intel model runs it (SDM Vol. 2 SYSENTER).
  b.choose_cpl(b.lm ? 0 : 1, 2, true);
  b.body().raw({0x0f, 0x34});
  b.sum += " cs=" + hex(s.sysenter_cs) + " eip=" + hex(s.sysenter_eip) + " esp=" + hex(s.sysenter_esp);
}

void gen_sysexit(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  s.sysenter_cs = r.chance(1, 8) ? 0 : random_selector(r);
  const bool rexw = b.lm && r.chance(1, 2);
  uint64_t rdx = kUserLanding + r.below(0x100);
  if (rexw && r.chance(1, 5)) rdx = non_canonical(r);
  s.gpr[RDX] = rdx;
  s.gpr[RCX] = rexw && r.chance(1, 5) ? non_canonical(r) : kUserStack + r.below(0x1000);
  s.rflags = b.random_rflags();
  b.choose_cpl(1, 8, false);
  if (rexw) b.body().raw({0x48, 0x0f, 0x35});
  else b.body().raw({0x0f, 0x35});
  b.sum += std::string(rexw ? " rex.w" : "") + " cs=" + hex(s.sysenter_cs) + " rdx=" + hex(rdx) + " rcx=" + hex(s.gpr[RCX]);
}

void gen_swapgs(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  s.seg[GS].base = random_canonical(r);
  s.kernel_gs_base = random_canonical(r);
  b.choose_cpl(1, 8, false);
  const unsigned n = unsigned(r.range(1, 2));
  for (unsigned i = 0; i < n; ++i) b.body().raw({0x0f, 0x01, 0xf8});
  b.sum += " x" + std::to_string(n) + " gs=" + hex(s.seg[GS].base) + " kgs=" + hex(s.kernel_gs_base);
}

void gen_fsgsbase(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  // Exclusion: CR4.FSGSBASE is always set. This host's KVM ignores it: at
  // CPL 0 its emulator runs WRFSBASE & co. with CR4.FSGSBASE = 0, and at
  // CPL 3 the CPU runs them under the host's CR4 (measured), where the SDM
  // (Vol. 2 RDFSBASE/WRFSBASE) requires #UD. The interpreter-only unit test
  // checks the #UD.
  s.cr4 |= cr4::FSGSBASE;
  s.seg[FS].base = random_canonical(r);
  s.seg[GS].base = random_canonical(r);
  b.choose_cpl(1, 2, false);
  const ZydisMnemonic ops[4] = {ZYDIS_MNEMONIC_RDFSBASE, ZYDIS_MNEMONIC_RDGSBASE, ZYDIS_MNEMONIC_WRFSBASE,
                                ZYDIS_MNEMONIC_WRGSBASE};
  const unsigned which = unsigned(r.below(4));
  const bool wide = r.chance(2, 3);
  unsigned reg = unsigned(r.below(16));
  if (reg == RSP) reg = RBP;  // the frames the stubs leave need RSP
  const uint64_t v = r.chance(1, 4) ? non_canonical(r) : random_canonical(r);
  if (which >= 2) b.body().mov_imm(gpr(reg, 8), v);
  b.body().op(ops[which], {reg_operand(gpr(reg, wide ? 8 : 4))});
  b.sum += std::string(" ") + ZydisMnemonicGetString(ops[which]) + (wide ? " r64" : " r32") + " value=" + hex(v) +
           " fsgsbase=" + std::to_string((s.cr4 & cr4::FSGSBASE) != 0);
}

void gen_tsc_aux(Builder& b) {
  Prng& r = b.r;
  b.choose_cpl(0, 1, false);
  Asm& a = b.body();
  const uint64_t v = (r.next() & 0xffffffff) | (r.chance(1, 4) ? r.next() << 32 : 0);
  a.mov_imm(ZYDIS_REGISTER_ECX, 0xc0000103);  // IA32_TSC_AUX (SDM Vol. 4 Table 2-2)
  a.mov_imm(ZYDIS_REGISTER_EAX, v & 0xffffffff);
  a.mov_imm(ZYDIS_REGISTER_EDX, v >> 32);
  a.raw({0x0f, 0x30});  // WRMSR
  a.mov_imm(ZYDIS_REGISTER_EAX, 0);
  a.mov_imm(ZYDIS_REGISTER_EDX, 0);
  a.raw({0x0f, 0x32});  // RDMSR
  b.store_result(8, ZYDIS_REGISTER_EAX);
  b.store_result(12, ZYDIS_REGISTER_EDX);
  // Then RDTSCP (ECX = TSC_AUX; EDX:EAX = the TSC, discarded) or RDPID.
  const unsigned reader = unsigned(r.below(3));
  if (reader == 1) {
    a.mov_imm(ZYDIS_REGISTER_ECX, 0);
    a.raw({0x0f, 0x01, 0xf9});
    a.mov_imm(ZYDIS_REGISTER_EAX, 0);
    a.mov_imm(ZYDIS_REGISTER_EDX, 0);
  } else if (reader == 2) {
    a.raw({0xf3, 0x0f, 0xc7, 0xf9});  // RDPID RCX
  }
  b.sum += " value=" + hex(v) + (reader == 1 ? " rdtscp" : reader == 2 ? " rdpid" : "");
}

void gen_invpcid(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  if (r.chance(1, 2) && model_has(sys_model(), "pcid")) {
    s.cr4 |= cr4::PCIDE;
    s.cr3 |= r.below(4096);
  }
  b.choose_cpl(1, 8, false);
  uint64_t pcid = r.chance(1, 8) ? r.next() : r.below(4096);
  const uint64_t addr = r.chance(1, 5) ? non_canonical(r) : random_canonical(r);
  const uint64_t type = r.chance(1, 8) ? r.next() & 0xffffffff : r.below(4);
  put64(b.c, kUserData + 0x100, pcid);
  put64(b.c, kUserData + 0x108, addr);
  Asm& a = b.body();
  a.mov_imm(ZYDIS_REGISTER_RAX, type);
  a.mov_imm(ZYDIS_REGISTER_RBX, kUserData + 0x100);
  a.op(ZYDIS_MNEMONIC_INVPCID, {reg_operand(ZYDIS_REGISTER_RAX), mem_operand(ZYDIS_REGISTER_RBX, 0, 16)});
  b.sum += " type=" + hex(type) + " pcid=" + hex(pcid) + " addr=" + hex(addr) + " pcide=" +
           std::to_string((s.cr4 & cr4::PCIDE) != 0);
}

void gen_cache(Builder& b) {
  Prng& r = b.r;
  b.choose_cpl(1, 3, false);
  Asm& a = b.body();
  const unsigned which = unsigned(r.below(5));
  static const char* names[5] = {"clflush", "clflushopt", "pause", "wbinvd", "invd"};
  std::string where;
  if (which <= 1) {
    const unsigned place = unsigned(r.below(4));
    // A user page, a supervisor page, an unmapped address, a non-canonical one.
    const uint64_t addrs[4] = {kUserData + r.below(0x1000), kResult + r.below(0x1000),
                               0x40000000 + r.below(0x1000), non_canonical(r)};
    a.mov_imm(ZYDIS_REGISTER_RSI, addrs[place]);
    if (which == 0) a.raw({0x0f, 0xae, 0x3e});  // CLFLUSH [rsi]
    else a.raw({0x66, 0x0f, 0xae, 0x3e});  // CLFLUSHOPT [rsi]
    where = " at " + hex(addrs[place]);
  } else if (which == 2) {
    a.raw({0xf3, 0x90});
  } else {
    a.raw({0x0f, uint8_t(which == 3 ? 0x09 : 0x08)});
  }
  b.sum += std::string(" ") + names[which] + where;
}

void gen_umip(Builder& b) {
  CpuState& s = b.c.init;
  Prng& r = b.r;
  if (r.chance(2, 3)) s.cr4 |= cr4::UMIP;
  b.choose_cpl(3, 4, true);
  Asm& a = b.body();
  const bool lm = a.mode() == FlatMode::Long64;
  const ZydisRegister ptr = lm ? ZYDIS_REGISTER_RSI : ZYDIS_REGISTER_ESI;
  a.mov_imm(ptr, kUserData + 0x200 + r.below(0x100));
  const ZydisMnemonic ops[5] = {ZYDIS_MNEMONIC_SGDT, ZYDIS_MNEMONIC_SIDT, ZYDIS_MNEMONIC_SLDT, ZYDIS_MNEMONIC_STR,
                                ZYDIS_MNEMONIC_SMSW};
  const unsigned which = unsigned(r.below(5));
  const bool to_reg = which >= 2 && r.chance(1, 2);
  if (to_reg) {
    const unsigned sizes[3] = {2, 4, 8};
    const unsigned size = sizes[r.below(lm ? 3 : 2)];
    a.mov_imm(gpr(2, lm ? 8 : 4), lm ? r.next() : r.next() & 0xffffffff);
    a.op(ops[which], {reg_operand(gpr(2, size))});
  } else {
    a.op(ops[which], {mem_operand(ptr, 0, which <= 1 ? (lm ? 10 : 6) : 2)});
  }
  b.sum += std::string(" ") + ZydisMnemonicGetString(ops[which]) + (to_reg ? " reg" : " mem") + " umip=" +
           std::to_string((s.cr4 & cr4::UMIP) != 0);
}

struct Kind {
  const char* name;
  void (*gen)(Builder&);
  bool prot32;  // also generated in 32-bit protected mode
};
constexpr Kind kKinds[] = {
    {"syscall", gen_syscall, false}, {"sysenter", gen_sysenter, true},
    {"sysexit", gen_sysexit, true},  {"swapgs", gen_swapgs, false},   {"fsgsbase", gen_fsgsbase, false},
    {"tsc_aux", gen_tsc_aux, false}, {"invpcid", gen_invpcid, false}, {"cache", gen_cache, false},
    {"umip", gen_umip, true},
};

}  // namespace

SysCase build_fastcall_case(uint64_t seed) {
  Prng r(seed ^ 0x6661737463000000ull);
  SysCase c;
  c.family = SysFamily::FastCall;
  c.seed = seed;
  const Kind& kind = kKinds[r.below(sizeof kKinds / sizeof kKinds[0])];
  const FlatMode mode = kind.prot32 && r.chance(1, 3) ? FlatMode::Prot32 : FlatMode::Long64;
  init_machine(c, mode);
  TablePool pool;
  // 32-bit protected-mode cases run unpaged: this host's KVM cannot run
  // paging outside long mode (system_campaign.cpp, legacy_paging_problem).
  if (mode == FlatMode::Long64) {
    c.paging = PagingMode::Level4;
    c.init.cr3 = identity_map(c, c.paging, pool);
  } else {
    c.paging = PagingMode::Off;
    c.init.cr0 &= ~cr0::PG;
  }
  if (mode == FlatMode::Long64) c.init.efer |= efer::NXE;
  // Random values in the registers the scenario does not set, so that
  // what it must preserve is visible.
  for (int g : {RBX, RBP, RSI, RDI, R8, R9, R10, R12, R13, R14, R15})
    c.init.gpr[g] = mode == FlatMode::Long64 ? r.next() : r.next() & 0xffffffff;
  Builder b(r, c, mode);
  b.sum = std::string(kind.name) + " " + flat_mode_name(mode);
  kind.gen(b);
  b.finish();
  compare_standard(c, pool.next);
  c.kind = kind.name;
  c.summary = b.sum;
  return c;
}

}  // namespace softvt::fuzz
