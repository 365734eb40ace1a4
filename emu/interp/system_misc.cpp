// The other system-architecture instructions of issue 3 (SDM Vol. 2):
// RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE, RDPID, RDRAND/RDSEED, CLFLUSH/
// CLFLUSHOPT/CLWB, MONITOR/MWAIT, INVPCID and STAC/CLAC.
#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/interp/operands.h"
#include "emu/interp/system_msrs.h"
#include "emu/interp/table.h"
#include "emu/segments.h"
#include "svm/intercepts.h"
#include "vmx/nonroot.h"

namespace softvt {
namespace {

bool is_mem_op(const Insn& in, unsigned i) { return in.op[i].kind == OpKind::Mem; }

// ---- FS/GS base --------------------------------------------------------------------

// #UD outside 64-bit mode and while CR4.FSGSBASE = 0 (SDM Vol. 2 RDFSBASE/
// WRFSBASE); the 32-bit forms read the low half zero-extended and write the
// base zero-extended; a 64-bit write must be canonical (#GP(0)).
void check_fsgsbase(Cpu& cpu) {
  if (!cpu.in_64bit() || !(cpu.s.cr4 & cr4::FSGSBASE)) cpu.raise_ud();
}

template <uint8_t SEG>
void rd_base(Cpu& cpu, const Insn& in) {
  check_fsgsbase(cpu);
  cpu.set_reg(in.op[0].reg, in.opsize == 8 ? 8 : 4, cpu.s.seg[SEG].base);
}

template <uint8_t SEG>
void wr_base(Cpu& cpu, const Insn& in) {
  check_fsgsbase(cpu);
  const unsigned size = in.opsize == 8 ? 8 : 4;
  const uint64_t v = cpu.get_reg(in.op[0].reg, size);
  if (!is_canonical(cpu, v)) cpu.raise_gp0();
  cpu.s.seg[SEG].base = v;
}

// ---- RDPID -------------------------------------------------------------------------

// IA32_TSC_AUX into r64 in 64-bit mode, r32 elsewhere (SDM Vol. 2 RDPID).
void rdpid(Cpu& cpu, const Insn& in) {
  cpu.set_reg(in.op[0].reg, cpu.in_64bit() ? 8 : 4, cpu.s.tsc_aux);
}

// ---- RDRAND / RDSEED ---------------------------------------------------------------

// Deterministic random numbers (DESIGN.md "Determinism", docs/decisions.md):
// the value is a SplitMix64 hash of the retired-instruction count and a
// per-instruction salt, so two runs of the same guest read the same
// numbers, and successive reads differ. CF = 1 (a value was available);
// OF, SF, ZF, AF, PF = 0 (SDM Vol. 2 RDRAND).
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

template <uint64_t SALT, unsigned N>
void random_value(Cpu& cpu, const Insn& in) {
  // VMX non-root: RDRAND/RDSEED exiting (SDM Vol. 3C 27.1.3).
  if (cpu.vmx.non_root && vmx::intercept_rdrand(cpu, in, SALT != 0x52445241ull)) return;
  const uint64_t v = splitmix64(cpu.s.insn_count ^ SALT);
  cpu.set_reg(in.op[0].reg, N, v);
  cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | fl::CF;
}
template <unsigned N> void rdrand(Cpu& cpu, const Insn& in) { random_value<0x52445241ull, N>(cpu, in); }
template <unsigned N> void rdseed(Cpu& cpu, const Insn& in) { random_value<0x52445345ull << 32, N>(cpu, in); }

// ---- CLFLUSH / CLFLUSHOPT / CLWB -------------------------------------------------

// Caches are not modelled; what remains is the access check: "subject to
// all permission checking and faults associated with a byte load", except
// that an execute-only code segment may be named (SDM Vol. 2 CLFLUSH).
void cache_line_op(Cpu& cpu, const Insn& in) {
  const uint64_t ea = effective_address(cpu, in);
  const SegReg& sr = cpu.s.seg[in.seg];
  const bool exec_only_code = (sr.attr & ar::TYPE_CODE) && !(sr.attr & ar::TYPE_RW);
  const uint64_t lin = cpu.linear(in.seg, ea, 1, exec_only_code ? Acc::Exec : Acc::Read);
  cpu.translate(lin, Acc::Read, cpu.user_access());
}

Handler select_cache_line_op(const Insn& in) { return is_mem_op(in, 0) ? cache_line_op : nullptr; }

// ---- MONITOR / MWAIT ---------------------------------------------------------------

// CPL 0 only, not in virtual-8086 mode, and (Intel) only while
// IA32_MISC_ENABLE.ENABLE_MONITOR_FSM is set (SDM Vol. 2 MONITOR/MWAIT,
// Vol. 4 Table 2-2).
void check_monitor_usable(Cpu& cpu) {
  if (cpu.s.mode == Mode::V86 || cpu.s.cpl != 0 || !monitor_enabled(cpu)) cpu.raise_ud();
}

// MONITOR arms address monitoring at DS:rAX (segment override allowed);
// the address is checked like a byte read. ECX holds extensions: none are
// defined, so any bit set is #GP(0).
void monitor(Cpu& cpu, const Insn& in) {
  check_monitor_usable(cpu);
  // VMX non-root: MONITOR exiting, after the #UD checks (SDM Vol. 3C 27.1.1).
  if (cpu.vmx.non_root && vmx::intercept_monitor(cpu, in)) return;
  if (cpu.s.gpr[RCX] & 0xffffffff) cpu.raise_gp0();
  const uint64_t ea = cpu.s.gpr[RAX] & mask_of(in.addrsize);
  const uint64_t lin = cpu.linear(in.seg, ea, 1, Acc::Read);
  cpu.translate(lin, Acc::Read, false);
  if (cpu.vmx.non_root) vmx::monitor_armed(cpu);
  // SVM: the MONITOR intercept, after the address is checked (APM 15.7).
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Monitor)) return;
  cpu.svm.monitor_armed = true;
}

// MWAIT returns at once: with one CPU and no pending store to the monitored
// range it may wake for any implementation-specific reason (SDM 8.10.4),
// so an immediate return is within the architecture. ECX bit 0 (interrupts
// as break events) is the only extension (CPUID.05H:ECX[1]); others are
// #GP(0).
void mwait(Cpu& cpu, const Insn& in) {
  check_monitor_usable(cpu);
  if (cpu.vmx.non_root && vmx::intercept_mwait(cpu, in)) return;
  const uint32_t ext = uint32_t(cpu.s.gpr[RCX]);
  const bool ibe = cpu.model.cpuid(5, 0).ecx & 2;
  if ((ext & ~1u) || ((ext & 1) && !ibe)) cpu.raise_gp0();
  // SVM: MWAIT intercepted always, or only with the monitor armed (APM 15.7).
  if (cpu.svm.guest_mode && svm::intercept_mwait(cpu, cpu.svm.monitor_armed)) return;
  cpu.svm.monitor_armed = false;
}

// ---- INVPCID -----------------------------------------------------------------------

// INVPCID type, [m128 descriptor: PCID in bits 11:0, bits 63:12 reserved,
// linear address in bits 127:64] (SDM Vol. 2 INVPCID; SDM 4.10.4.1):
// type 0 drops the non-global translations of that PCID for the address
// (the whole page, large or not), type 1 every non-global translation of
// that PCID, type 2 every translation of every PCID, global ones included,
// type 3 every non-global one of every PCID.
void invalidate_by_type(Cpu& cpu, uint64_t type, uint32_t pcid, uint64_t addr) {
  const uint32_t space = cpu.tlb_space_of_pcid(pcid);
  switch (type) {
    case 0: cpu.flush_tlb_page_in_space(addr, space); break;
    case 1: cpu.flush_tlb_space(space); break;
    case 2: cpu.flush_tlb_context(true); break;
    default: cpu.flush_tlb_context(false); break;
  }
}

void invpcid(Cpu& cpu, const Insn& in) {
  // VMX non-root: #UD without "enable INVPCID" (before the privilege
  // check); with it, "INVLPG exiting" makes INVPCID exit (SDM Vol. 3C 27.3).
  if (cpu.vmx.non_root) vmx::check_invpcid_enabled(cpu);
  if (cpu.s.mode == Mode::V86 || cpu.s.cpl != 0) cpu.raise_gp0();
  if (cpu.vmx.non_root && vmx::intercept_invpcid(cpu, in)) return;
  const uint64_t type = cpu.get_reg(in.op[0].reg, cpu.in_64bit() ? 8 : 4);
  const uint64_t ea = effective_address(cpu, in);
  const uint64_t lo = cpu.read(in.seg, ea, 8);
  const uint64_t addr = cpu.read(in.seg, (ea + 8) & mask_of(in.addrsize), 8);
  if (type > 3) cpu.raise_gp0();
  if (lo >> 12) cpu.raise_gp0();
  const uint64_t pcid = lo & 0xfff;
  if (type == 0 && !is_canonical(cpu, addr)) cpu.raise_gp0();
  if (type <= 1 && pcid != 0 && !(cpu.s.cr4 & cr4::PCIDE)) cpu.raise_gp0();
  invalidate_by_type(cpu, type, uint32_t(pcid), addr);
  cpu.end_block = true;
}

Handler select_invpcid(const Insn& in) { return is_mem_op(in, 1) ? invpcid : nullptr; }

// ---- STAC / CLAC -------------------------------------------------------------------

// #UD at CPL > 0 and in virtual-8086 mode (SDM Vol. 2 STAC/CLAC).
template <bool SET>
void stac_clac(Cpu& cpu, const Insn&) {
  if (cpu.s.mode == Mode::V86 || cpu.s.cpl != 0) cpu.raise_ud();
  cpu.set_flag(fl::AC, SET);
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_RDFSBASE, SOFTVT_FIXED(rd_base<FS>), 0, 0, Feature::FsGsBase, 0},
    {ZYDIS_MNEMONIC_RDGSBASE, SOFTVT_FIXED(rd_base<GS>), 0, 0, Feature::FsGsBase, 0},
    {ZYDIS_MNEMONIC_WRFSBASE, SOFTVT_FIXED(wr_base<FS>), 0, 0, Feature::FsGsBase, 0},
    {ZYDIS_MNEMONIC_WRGSBASE, SOFTVT_FIXED(wr_base<GS>), 0, 0, Feature::FsGsBase, 0},
    {ZYDIS_MNEMONIC_RDPID, SOFTVT_FIXED(rdpid), 0, 0, Feature::Rdpid, 0},
    {ZYDIS_MNEMONIC_RDRAND, SOFTVT_SIZED_WDQ(rdrand), fl::ARITH, 0, Feature::Rdrand, 0},
    {ZYDIS_MNEMONIC_RDSEED, SOFTVT_SIZED_WDQ(rdseed), fl::ARITH, 0, Feature::Rdseed, 0},
    {ZYDIS_MNEMONIC_CLFLUSH, select_cache_line_op, 0, 0, Feature::Clflush, 0},
    {ZYDIS_MNEMONIC_CLFLUSHOPT, select_cache_line_op, 0, 0, Feature::Clflushopt, 0},
    {ZYDIS_MNEMONIC_CLWB, select_cache_line_op, 0, 0, Feature::Clwb, 0},
    {ZYDIS_MNEMONIC_MONITOR, SOFTVT_FIXED(monitor), 0, 0, Feature::Monitor, 0},
    {ZYDIS_MNEMONIC_MWAIT, SOFTVT_FIXED(mwait), 0, 0, Feature::Monitor, 0},
    {ZYDIS_MNEMONIC_INVPCID, select_invpcid, 0, 0, Feature::Invpcid, 1},
    {ZYDIS_MNEMONIC_STAC, SOFTVT_FIXED(stac_clac<true>), 0, 0, Feature::Smap, 0},
    {ZYDIS_MNEMONIC_CLAC, SOFTVT_FIXED(stac_clac<false>), 0, 0, Feature::Smap, 0},
};

}  // namespace

std::span<const InsnRow> rows_system_misc() { return kRows; }

}  // namespace softvt
