// Fast system calls: SYSCALL/SYSRET, SYSENTER/SYSEXIT and SWAPGS (SDM Vol. 2
// and Vol. 3A 5.8.7-5.8.8; AMD APM Vol. 3 where the vendors differ: the
// model's vendor decides).
//
// Where they differ:
// - SYSCALL/SYSRET: Intel only in 64-bit mode (#UD elsewhere); AMD also in
//   legacy protected mode (STAR[31:0] is the target EIP) and SYSCALL from
//   compatibility mode (target CSTAR).
// - SYSRET to 64-bit mode with a non-canonical RCX: #GP(0) at CPL 0 on
//   Intel; AMD loads it and the fetch at CPL 3 faults.
// - SYSRET on AMD loads only SS's selector: SS's base, limit and attributes
//   stay as they were (APM Vol. 3 SYSRET).
// - SYSENTER/SYSEXIT: #UD in long mode on AMD; Intel supports them there.
#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/interp/operands.h"
#include "emu/interp/table.h"
#include "emu/segments.h"

namespace softvt {
namespace {

constexpr uint32_t FLAT_LIMIT = 0xffffffff;

// The flat segments these instructions load without reading a descriptor:
// base 0, limit 4 GiB, accessed code (execute/read) or data (read/write).
SegReg flat_code(uint16_t sel, unsigned dpl, bool long64) {
  const uint32_t attr = ar::TYPE_CODE | ar::TYPE_RW | ar::TYPE_ACCESSED | ar::S |
                        (dpl << ar::DPL_SHIFT) | ar::P | ar::G | (long64 ? ar::L : ar::DB);
  return SegReg{sel, 0, attr, FLAT_LIMIT, 0, 0};
}

SegReg flat_stack(uint16_t sel, unsigned dpl) {
  const uint32_t attr = ar::TYPE_RW | ar::TYPE_ACCESSED | ar::S | (dpl << ar::DPL_SHIFT) | ar::P |
                        ar::DB | ar::G;
  return SegReg{sel, 0, attr, FLAT_LIMIT, 0, 0};
}

void enter_cs_ss(Cpu& cpu, const SegReg& cs, const SegReg& ss, uint8_t cpl) {
  cpu.s.seg[CS] = cs;
  cpu.s.seg[SS] = ss;
  cpu.s.cpl = cpl;
  cpu.update_mode();
  cpu.end_block = true;
}

uint16_t star_syscall_cs(const Cpu& cpu) { return uint16_t(cpu.s.star >> 32); }
uint16_t star_sysret_cs(const Cpu& cpu) { return uint16_t(cpu.s.star >> 48); }

// ---- SYSCALL ---------------------------------------------------------------------

void syscall_(Cpu& cpu, const Insn&) {
  CpuState& s = cpu.s;
  if (!(s.efer & efer::SCE)) cpu.raise_ud();
  if (cpu.model.intel() && !cpu.in_64bit()) cpu.raise_ud();
  // AMD in real or virtual-8086 mode: the legacy form needs protected mode.
  if (!cpu.protected_mode() || s.mode == Mode::V86) cpu.raise_ud();
  // CS = STAR[47:32] with RPL 0, but SS = STAR[47:32] + 8 unmasked: its RPL
  // bits are STAR's (SDM Vol. 2 SYSCALL "SS.Selector := IA32_STAR[47:32] +
  // 8", APM Vol. 3 SYSCALL; found by the system fuzz suite against KVM).
  const uint16_t cs_sel = star_syscall_cs(cpu) & 0xfffc;
  const uint16_t ss_sel = uint16_t(star_syscall_cs(cpu) + 8);
  if (cpu.long_mode()) {
    s.gpr[RCX] = cpu.next_rip;
    s.gpr[R11] = s.rflags;
    cpu.next_rip = cpu.in_64bit() ? s.lstar : s.cstar;
    s.rflags = ((s.rflags & ~s.sfmask) & ~fl::RF) | fl::FIXED1;
    enter_cs_ss(cpu, flat_code(cs_sel, 0, true), flat_stack(ss_sel, 0), 0);
    return;
  }
  // AMD legacy mode: ECX = return EIP, EIP = STAR[31:0]; VM, IF and RF
  // are cleared (APM Vol. 3 SYSCALL).
  s.gpr[RCX] = cpu.next_rip & 0xffffffff;
  cpu.next_rip = s.star & 0xffffffff;
  s.rflags &= ~(fl::VM | fl::IF | fl::RF);
  enter_cs_ss(cpu, flat_code(cs_sel, 0, false), flat_stack(ss_sel, 0), 0);
}

// ---- SYSRET ----------------------------------------------------------------------

// RFLAGS from R11: RF, VM and the reserved bits cleared, bit 1 set (SDM
// Vol. 2 SYSRET: "RFLAGS := (R11 & 3C7FD7H) | 2").
constexpr uint64_t SYSRET_RFLAGS_MASK = 0x3c7fd7;

void sysret(Cpu& cpu, const Insn& in) {
  CpuState& s = cpu.s;
  if (!(s.efer & efer::SCE)) cpu.raise_ud();
  if (cpu.model.intel() && !cpu.in_64bit()) cpu.raise_ud();
  if (!cpu.protected_mode() || s.cpl != 0) cpu.raise_gp0();
  const uint16_t base_sel = star_sysret_cs(cpu);
  const uint16_t ss_sel = uint16_t(base_sel + 8) | 3;
  // AMD keeps SS's hidden part; Intel loads a flat DPL-3 stack segment.
  SegReg ss = s.seg[SS];
  ss.sel = ss_sel;
  if (cpu.model.intel()) ss = flat_stack(ss_sel, 3);
  if (!cpu.long_mode()) {
    // AMD legacy mode: EIP = ECX, IF set, other flags unchanged.
    cpu.next_rip = s.gpr[RCX] & 0xffffffff;
    s.rflags |= fl::IF;
    enter_cs_ss(cpu, flat_code(base_sel | 3, 3, false), ss, 3);
    return;
  }
  const bool to64 = cpu.in_64bit() && (in.prefixes & pfx::REX_W);
  uint64_t target = s.gpr[RCX];
  if (to64) {
    if (cpu.model.intel() && !is_canonical(cpu, target)) cpu.raise_gp0();
  } else {
    target &= 0xffffffff;
  }
  s.rflags = (s.gpr[R11] & SYSRET_RFLAGS_MASK) | fl::FIXED1;
  cpu.next_rip = target;
  const uint16_t cs_sel = uint16_t(to64 ? base_sel + 16 : base_sel) | 3;
  enter_cs_ss(cpu, flat_code(cs_sel, 3, to64), ss, 3);
}

// ---- SYSENTER / SYSEXIT -------------------------------------------------------------

// Shared checks (SDM Vol. 2 SYSENTER/SYSEXIT; APM Vol. 3): #UD in long mode
// on AMD, #GP(0) in real mode and with a null IA32_SYSENTER_CS.
void check_sysenter_usable(Cpu& cpu) {
  if (cpu.model.amd() && cpu.long_mode()) cpu.raise_ud();
  if (!cpu.protected_mode()) cpu.raise_gp0();
  if ((cpu.s.sysenter_cs & 0xfffc) == 0) cpu.raise_gp0();
}

void sysenter(Cpu& cpu, const Insn&) {
  check_sysenter_usable(cpu);
  CpuState& s = cpu.s;
  const bool ia32e = cpu.long_mode();
  const uint16_t cs_sel = uint16_t(s.sysenter_cs) & 0xfffc;
  s.rflags &= ~(fl::VM | fl::IF | fl::RF);
  if (ia32e) {
    s.gpr[RSP] = s.sysenter_esp;
    cpu.next_rip = s.sysenter_eip;
  } else {
    s.gpr[RSP] = s.sysenter_esp & 0xffffffff;
    cpu.next_rip = s.sysenter_eip & 0xffffffff;
  }
  enter_cs_ss(cpu, flat_code(cs_sel, 0, ia32e), flat_stack(uint16_t(cs_sel + 8), 0), 0);
}

void sysexit(Cpu& cpu, const Insn& in) {
  check_sysenter_usable(cpu);
  CpuState& s = cpu.s;
  if (s.cpl != 0) cpu.raise_gp0();
  const bool to64 = cpu.in_64bit() && (in.prefixes & pfx::REX_W);
  const uint16_t base = uint16_t(s.sysenter_cs);
  uint64_t rsp = s.gpr[RCX], rip = s.gpr[RDX];
  if (to64) {
    if (!is_canonical(cpu, rsp) || !is_canonical(cpu, rip)) cpu.raise_gp0();
  } else {
    rsp &= 0xffffffff;
    rip &= 0xffffffff;
  }
  const uint16_t cs_sel = uint16_t(base + (to64 ? 32 : 16)) | 3;
  const uint16_t ss_sel = uint16_t(base + (to64 ? 40 : 24)) | 3;
  s.gpr[RSP] = rsp;
  cpu.next_rip = rip;
  enter_cs_ss(cpu, flat_code(cs_sel, 3, to64), flat_stack(ss_sel, 3), 3);
}

// ---- SWAPGS ------------------------------------------------------------------------

void swapgs(Cpu& cpu, const Insn&) {
  if (!cpu.in_64bit()) cpu.raise_ud();
  if (cpu.s.cpl != 0) cpu.raise_gp0();
  const uint64_t t = cpu.s.seg[GS].base;
  cpu.s.seg[GS].base = cpu.s.kernel_gs_base;
  cpu.s.kernel_gs_base = t;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_SYSCALL, SOFTVT_FIXED(syscall_), 0, 0, Feature::Syscall, 1},
    {ZYDIS_MNEMONIC_SYSRET, SOFTVT_FIXED(sysret), 0, 0, Feature::Syscall, 1},
    {ZYDIS_MNEMONIC_SYSENTER, SOFTVT_FIXED(sysenter), 0, 0, Feature::Sep, 1},
    {ZYDIS_MNEMONIC_SYSEXIT, SOFTVT_FIXED(sysexit), 0, 0, Feature::Sep, 1},
    {ZYDIS_MNEMONIC_SWAPGS, SOFTVT_FIXED(swapgs), 0, 0, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_system_calls() { return kRows; }

}  // namespace softvt
