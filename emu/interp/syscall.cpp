// SYSCALL and SYSRET in IA-32e mode (SDM Vol. 2B SYSCALL, SYSRET; Vol. 3A
// 5.8.8 "Fast System Calls in 64-Bit Mode"). Intel's rules: both are #UD
// outside 64-bit mode and while IA32_EFER.SCE is 0 (SCE is writable with
// long mode, emu/interp/system.cpp efer_writable). The flat segments they
// load come from IA32_STAR, not from descriptor tables.
#include "emu/cpu.h"
#include "emu/debug.h"
#include "emu/interp/table.h"
#include "emu/segments.h"

namespace softvt {
namespace {

// The fixed CS/SS hidden parts SYSCALL/SYSRET load (SDM Vol. 2B, the
// Operation sections): base 0, limit 4 GiB (G = 1), present, accessed
// execute/read code or read/write data.
SegReg flat(uint16_t sel, unsigned dpl, uint32_t extra) {
  SegReg r{};
  r.sel = sel;
  r.base = 0;
  r.limit = 0xffffffff;
  r.attr = ar::S | ar::P | ar::G | (dpl << ar::DPL_SHIFT) | extra;
  return r;
}
constexpr uint32_t CODE = ar::TYPE_CODE | ar::TYPE_RW | ar::TYPE_ACCESSED;  // type 11
constexpr uint32_t DATA = ar::TYPE_RW | ar::TYPE_ACCESSED;                  // type 3

void check_available(Cpu& cpu) {
  if (!cpu.in_64bit() || !(cpu.s.efer & efer::SCE)) cpu.raise_ud();
}

void syscall(Cpu& cpu, const Insn&) {
  check_available(cpu);
  CpuState& s = cpu.s;
  const uint64_t rflags_before = s.rflags;
  const uint16_t sel = uint16_t(s.star >> 32) & 0xfffc;
  s.gpr[RCX] = cpu.next_rip;
  s.gpr[R11] = s.rflags;
  s.rflags = (s.rflags & ~s.sfmask) | fl::FIXED1;
  s.seg[CS] = flat(sel, 0, CODE | ar::L);
  s.seg[SS] = flat(uint16_t(sel + 8), 0, DATA | ar::DB);
  s.cpl = 0;
  cpu.next_rip = s.lstar;  // canonical: WRMSR refuses anything else
  cpu.update_mode();
  cpu.end_block = true;
  // TF cleared through IA32_FMASK: no single-step trap after SYSCALL
  // (docs/decisions.md "Hooks for other instructions").
  debug_note_control_transfer(cpu, rflags_before);
}

void sysret(Cpu& cpu, const Insn& in) {
  check_available(cpu);
  CpuState& s = cpu.s;
  if (s.cpl != 0) cpu.raise_gp0();
  const bool to_64 = in.opsize == 8;
  // Intel: a non-canonical RCX faults with #GP(0) in ring 0 (SDM SYSRET).
  if (to_64 && !is_canonical(cpu, s.gpr[RCX])) cpu.raise_gp0();
  const uint16_t base = uint16_t(s.star >> 48);
  s.rflags = (s.gpr[R11] & 0x3c7fd7) | fl::FIXED1;
  if (to_64) {
    s.seg[CS] = flat(uint16_t((base + 16) | 3), 3, CODE | ar::L);
    cpu.next_rip = s.gpr[RCX];
  } else {
    s.seg[CS] = flat(uint16_t(base | 3), 3, CODE | ar::DB);
    cpu.next_rip = s.gpr[RCX] & 0xffffffff;
  }
  // SS: only the selector comes from STAR; the hidden part is the fixed
  // flat data segment at DPL 3 (SDM SYSRET Operation).
  s.seg[SS] = flat(uint16_t((base + 8) | 3), 3, DATA | ar::DB);
  s.cpl = 3;
  cpu.update_mode();
  cpu.end_block = true;
}

const InsnRow kRows[] = {
    // Availability follows IA32_EFER.SCE (checked by the handlers).
    {ZYDIS_MNEMONIC_SYSCALL, SOFTVT_FIXED(syscall), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_SYSRET, SOFTVT_FIXED(sysret), 0, 0, Feature::Base, 1},
};

}  // namespace

std::span<const InsnRow> rows_syscall() { return kRows; }

}  // namespace softvt
