// System instructions: HLT, CPUID, RDTSC(P), control and debug registers,
// descriptor-table registers, LLDT/LTR and the selector-inspection
// instructions, MSRs, CLI/STI, port I/O, cache and TLB control, far-pointer
// loads (SDM Vol. 2 and Vol. 3A). SYSCALL/SYSENTER and SWAPGS live in
// system_calls.cpp, the issue-3 additions in system_misc.cpp, the
// model-specific MSRs and state-dependent CPUID bits in system_msrs.cpp.
#include "emu/interp/system_forms.h"

#include "emu/cpu_features.h"
#include "emu/interp/flags.h"
#include "emu/interp/system_msrs.h"
#include "emu/interp/table.h"
#include "emu/paging.h"
#include "emu/pmu.h"
#include "emu/segments.h"
#include "svm/features.h"
#include "svm/intercepts.h"
#include "vmx/capabilities.h"
#include "vmx/exit_reasons.h"
#include "vmx/nonroot.h"
#include "vmx/vmx_operation.h"

namespace softvt {
namespace {

void require_cpl0(Cpu& cpu) {
  if (cpu.s.cpl != 0) cpu.raise_gp0();
}

bool real_or_v86(const Cpu& cpu) { return cpu.s.mode == Mode::Real || cpu.s.mode == Mode::V86; }

// LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW, ARPL are not recognized in
// real and virtual-8086 mode (SDM Vol. 2: "#UD ... in real-address mode").
void require_protected(Cpu& cpu) {
  if (real_or_v86(cpu)) cpu.raise_ud();
}

unsigned iopl(const Cpu& cpu) { return unsigned((cpu.s.rflags & fl::IOPL) >> 12); }

// Control and debug register moves use 64-bit operands in 64-bit mode and
// 32-bit ones elsewhere, whatever the prefixes (SDM Vol. 2 MOV CR/DR).
unsigned crdr_size(const Cpu& cpu) { return cpu.in_64bit() ? 8 : 4; }

uint32_t cpuid_bit(const Cpu& cpu, uint32_t leaf, int reg, unsigned bit) {
  const CpuidLeaf l = cpuid_current(cpu, leaf, 0);
  const uint32_t r[4] = {l.eax, l.ebx, l.ecx, l.edx};
  return (r[reg] >> bit) & 1;
}
enum { EAX_, EBX_, ECX_, EDX_ };

// ---- HLT, CPUID, RDTSC --------------------------------------------------------

void hlt(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  if (cpu.vmx.non_root && vmx::intercept_hlt(cpu, in)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Hlt)) return;
  cpu.s.halted = 1;
}

// CPUID leaf 1 deposits the microcode update signature in
// IA32_BIOS_SIGN_ID[63:32]; with no update loaded the MSR is left as it is
// (SDM Vol. 3A 10.11.7). Intel only: AMD reports its patch level in MSR 8BH
// directly.
void deposit_update_signature(Cpu& cpu) {
  const uint32_t rev = cpu.model.microcode_revision;
  if (!cpu.model.intel() || rev == 0) return;
  cpu.s.bios_sign_id = (uint64_t(rev) << 32) | (cpu.s.bios_sign_id & 0xffffffff);
}

void cpuid(Cpu& cpu, const Insn& in) {
  // CPUID exits unconditionally in VMX non-root operation (SDM Vol. 3C 27.1.2).
  if (cpu.vmx.non_root) return vmx::exit_unconditional(cpu, in, vmx::exit_reason::CPUID);
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Cpuid)) return;
  const CpuidLeaf l = cpuid_current(cpu, uint32_t(cpu.s.gpr[RAX]), uint32_t(cpu.s.gpr[RCX]));
  if (uint32_t(cpu.s.gpr[RAX]) == 1) deposit_update_signature(cpu);
  cpu.set_reg(RAX, 4, l.eax);
  // Leaf 1 EBX[31:24]: this processor's initial APIC ID (SDM Vol. 2 CPUID).
  // Leaf 0BH/1FH EDX: its x2APIC ID (SDM Vol. 2 CPUID, Table 3-8).
  cpu.set_reg(RBX, 4, l.leaf == 1 ? (l.ebx & 0x00ffffff) | (uint32_t(cpu.initial_apic_id) << 24) : l.ebx);
  cpu.set_reg(RCX, 4, l.ecx);
  const bool topology = (l.leaf == 0xb || l.leaf == 0x1f) && cpu.model.find_leaf(l.leaf, 0);
  cpu.set_reg(RDX, 4, topology ? cpu.initial_apic_id : l.edx);
}

// CR4.TSD restricts RDTSC/RDTSCP to CPL 0 (SDM Vol. 2 RDTSC).
void check_tsd(Cpu& cpu) {
  if ((cpu.s.cr4 & cr4::TSD) && cpu.s.cpl != 0) cpu.raise_gp0();
}

void rdtsc(Cpu& cpu, const Insn& in) {
  check_tsd(cpu);
  if (cpu.vmx.non_root && vmx::intercept_rdtsc(cpu, in)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Rdtsc)) return;
  uint64_t t = cpu.vmx.non_root ? vmx::guest_tsc(cpu, cpu.tsc()) : cpu.tsc();
  if (cpu.svm.guest_mode) t = svm::guest_tsc(cpu, t);  // TSC_RATIO, TSC_OFFSET (APM 15.30.5)
  cpu.set_reg(RAX, 4, t & 0xffffffff);
  cpu.set_reg(RDX, 4, t >> 32);
}

void rdtscp(Cpu& cpu, const Insn& in) {
  // Without "enable RDTSCP" it is #UD in VMX non-root operation (SDM 27.3),
  // before the CR4.TSD check.
  if (cpu.vmx.non_root && vmx::intercept_rdtscp(cpu, in)) return;
  check_tsd(cpu);
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Rdtscp)) return;
  uint64_t t = cpu.vmx.non_root ? vmx::guest_tsc(cpu, cpu.tsc()) : cpu.tsc();
  if (cpu.svm.guest_mode) t = svm::guest_tsc(cpu, t);
  cpu.set_reg(RAX, 4, t & 0xffffffff);
  cpu.set_reg(RDX, 4, t >> 32);
  cpu.set_reg(RCX, 4, cpu.s.tsc_aux & 0xffffffff);
}

// RDPMC (SDM Vol. 2 RDPMC, AMD APM Vol. 3 RDPMC): with CR4.PCE = 0, CPL >
// 0 and CR0.PE = 1 it is #GP(0) - a privilege fault, ahead of "RDPMC
// exiting" (SDM 27.1.1) and of the SVM RDPMC intercept (svm/README.md:
// after the privilege checks) -; an ECX that names no counter is #GP(0)
// after the exit check. EDX:EAX = the counter (bits 47:32 in EDX).
// The intel PMU and the amd model's legacy counters (emu/pmu.h); a model
// with neither keeps RDPMC #UD.
void rdpmc(Cpu& cpu, const Insn& in) {
  if (!pmu::model_has_rdpmc(cpu.model)) cpu.raise_ud();
  if (!(cpu.s.cr4 & cr4::PCE) && cpu.s.cpl > 0 && (cpu.s.cr0 & cr0::PE)) cpu.raise_gp0();
  if (cpu.vmx.non_root && vmx::intercept_rdpmc(cpu, in)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Rdpmc)) return;
  uint64_t v = 0;
  if (!pmu::read_counter(cpu, uint32_t(cpu.s.gpr[RCX]), v)) cpu.raise_gp0();
  cpu.set_reg(RAX, 4, v & 0xffffffff);
  cpu.set_reg(RDX, 4, v >> 32);
}

// ---- control registers ----------------------------------------------------------

uint64_t max_phys_mask(const Cpu& cpu) {
  return (uint64_t(1) << cpu.model.phys_addr_bits) - 1;
}

bool legacy_pae_paging(uint64_t cr0v, uint64_t cr4v, uint64_t efer) {
  return (cr0v & cr0::PG) && (cr4v & cr4::PAE) && !(efer & efer::LME);
}

// Loading CR3 (or enabling PAE paging) outside IA-32e mode loads the four
// PDPTEs (emu/paging.h: #GP(0) for reserved bits; through EPT in guest mode).
void check_pdptes(Cpu& cpu, uint64_t cr3v) { load_pae_pdptes(cpu, cr3v); }

// CR0 bits software can change; ET is fixed to 1, other bits are reserved
// and ignored on writes outside bits 63:32 (SDM 2.5).
constexpr uint64_t CR0_WRITABLE = cr0::PE | cr0::MP | cr0::EM | cr0::TS | cr0::NE | cr0::WP |
                                  cr0::AM | cr0::NW | cr0::CD | cr0::PG;

void write_cr0(Cpu& cpu, uint64_t v) {
  if (v >> 32) cpu.raise_gp0();  // bits 63:32 are reserved (64-bit mode)
  v = (v & CR0_WRITABLE) | cr0::ET;
  vmx::check_cr0_fixed_bits(cpu, v);  // PE, NE, PG stay 1 in VMX operation (SDM 24.8)
  if ((v & cr0::PG) && !(v & cr0::PE)) cpu.raise_gp0();
  if ((v & cr0::NW) && !(v & cr0::CD)) cpu.raise_gp0();
  const uint64_t old = cpu.s.cr0;
  const bool enabling_paging = (v & cr0::PG) && !(old & cr0::PG);
  const bool disabling_paging = !(v & cr0::PG) && (old & cr0::PG);
  if (enabling_paging && (cpu.s.efer & efer::LME)) {
    // Activating IA-32e mode needs CR4.PAE and a CS without L (SDM 9.8.5).
    if (!(cpu.s.cr4 & cr4::PAE) || (cpu.s.seg[CS].attr & ar::L)) cpu.raise_gp0();
  }
  // Paging can be turned off in IA-32e mode only from compatibility mode
  // (SDM 9.8.5.4; Vol. 2 MOV CR "64-Bit Mode Exceptions"), and never while
  // CR4.PCIDE = 1 (Vol. 2 MOV CR "Protected Mode Exceptions"), so PCIDE
  // is set only in IA-32e mode.
  if (disabling_paging && (cpu.in_64bit() || (cpu.s.cr4 & cr4::PCIDE))) cpu.raise_gp0();
  if (enabling_paging && legacy_pae_paging(v, cpu.s.cr4, cpu.s.efer)) check_pdptes(cpu, cpu.s.cr3);
  cpu.s.cr0 = v;
  if (enabling_paging && (cpu.s.efer & efer::LME)) cpu.s.efer |= efer::LMA;
  if (disabling_paging) cpu.s.efer &= ~efer::LMA;
  // A change of PG, WP, CD or NW changes what cached translations allow.
  if ((old ^ v) & (cr0::PG | cr0::WP | cr0::CD | cr0::NW | cr0::PE)) cpu.flush_tlb();
  cpu.update_mode();
}

// CR3 bit 63 with CR4.PCIDE = 1 asks not to invalidate the new PCID's
// translations and is not stored (SDM 4.10.4.1); otherwise every bit at or
// above MAXPHYADDR is reserved (SDM 4.5.1, Vol. 2 MOV CR).
constexpr uint64_t CR3_NO_FLUSH = 1ull << 63;

void write_cr3(Cpu& cpu, uint64_t v) {
  bool keep_translations = false;
  if (cpu.long_mode()) {
    if (cpu.s.cr4 & cr4::PCIDE) {
      keep_translations = v & CR3_NO_FLUSH;
      v &= ~CR3_NO_FLUSH;
    }
    if (v & ~max_phys_mask(cpu)) cpu.raise_gp0();
  } else {
    v &= 0xffffffffull;
    if (legacy_pae_paging(cpu.s.cr0, cpu.s.cr4, cpu.s.efer)) check_pdptes(cpu, v);
  }
  cpu.s.cr3 = v;
  cpu.refresh_tlb_space();
  // SDM 4.10.4.1: the load invalidates the non-global translations of the
  // new PCID (000H with CR4.PCIDE = 0) unless bit 63 asked to keep them;
  // other PCIDs' translations and global ones stay.
  if (!keep_translations) cpu.flush_tlb_space(cpu.tlb_space());
}

// Whether a CR4 write drops every cached translation. SDM 4.10.4.1: a
// change of PGE, or of PCIDE from 1 to 0, invalidates all of them (global
// ones and every PCID's); a change of PAE, or of SMEP from 0 to 1, those of
// the current PCID. softvt's entries also carry permissions derived from
// SMEP, SMAP, PSE, LA57 and PKE (hardware applies those at each access),
// so any change of these drops every entry too. Setting PCIDE needs
// nothing: CR3[11:0] = 0 then (checked), so the current PCID stays 000H.
bool cr4_write_flushes_tlb(uint64_t old, uint64_t v) {
  constexpr uint64_t cached = cr4::PAE | cr4::PSE | cr4::PGE | cr4::SMEP | cr4::SMAP | cr4::LA57 | cr4::PKE;
  const uint64_t changed = old ^ v;
  return (changed & cached) || ((old & cr4::PCIDE) && !(v & cr4::PCIDE));
}

// CR4 bits this CPU model allows come from the feature table (SDM 2.5:
// setting a bit for an unsupported feature is #GP(0)); emu/cpu_features.cpp.
void write_cr4(Cpu& cpu, uint64_t v) {
  if (v & ~cr4_writable_bits(cpu.model)) cpu.raise_gp0();
  vmx::check_cr4_fixed_bits(cpu, v);  // VMXE stays 1 in VMX operation (SDM 24.8)
  const uint64_t old = cpu.s.cr4;
  // IA-32e mode needs PAE; LA57 cannot change while it is active.
  if (cpu.long_mode() && (!(v & cr4::PAE) || ((old ^ v) & cr4::LA57))) cpu.raise_gp0();
  // PCIDE may be set only in IA-32e mode with CR3[11:0] = 0 (SDM 4.10.1).
  if ((v & cr4::PCIDE) && !(old & cr4::PCIDE) && (!cpu.long_mode() || (cpu.s.cr3 & 0xfff)))
    cpu.raise_gp0();
  const uint64_t paging_bits = cr4::PAE | cr4::PSE | cr4::PGE | cr4::PCIDE | cr4::SMEP | cr4::SMAP;
  if (((old ^ v) & paging_bits) && legacy_pae_paging(cpu.s.cr0, v, cpu.s.efer))
    check_pdptes(cpu, cpu.s.cr3);
  cpu.s.cr4 = v;
  if (cr4_write_flushes_tlb(old, v)) cpu.flush_tlb();
  else cpu.refresh_tlb_space();
  if ((old ^ v) & cr4::DE) debug_registers_changed(cpu);  // I/O breakpoints
}

void write_cr8(Cpu& cpu, uint64_t v) {
  if (v & ~uint64_t(0xf)) cpu.raise_gp0();  // TPR: bits 63:4 reserved
  if (cpu.svm.guest_mode && svm::virtual_cr8_write(cpu, v)) return;  // V_TPR (APM 15.21.1)
  if (cpu.platform) cpu.platform->write_cr8(v);  // the local APIC's TPR
  else cpu.s.cr8 = v;
}

// CR8 exists only in 64-bit mode (SDM 2.5; the LOCK MOV CR0 alias is AMD's).
template <unsigned CR>
void check_cr_exists(Cpu& cpu) {
  if (CR == 8 && !cpu.in_64bit()) cpu.raise_ud();
}

template <unsigned CR>
void mov_to_cr(Cpu& cpu, const Insn& in) {
  check_cr_exists<CR>(cpu);
  require_cpl0(cpu);
  uint64_t v = cpu.get_reg(in.op[1].reg, crdr_size(cpu));
  if (cpu.vmx.non_root && vmx::intercept_cr_write(cpu, in, CR, v)) return;
  if (cpu.svm.guest_mode && svm::intercept_cr_write(cpu, CR, in.op[1].reg, v)) return;
  switch (CR) {
    case 0: write_cr0(cpu, v); break;
    case 2: cpu.s.cr2 = v; break;
    case 3: write_cr3(cpu, v); break;
    case 4: write_cr4(cpu, v); break;
    default: write_cr8(cpu, v); break;
  }
  cpu.end_block = true;
}

template <unsigned CR>
void mov_from_cr(Cpu& cpu, const Insn& in) {
  check_cr_exists<CR>(cpu);
  require_cpl0(cpu);
  uint64_t v;
  switch (CR) {
    case 0: v = cpu.s.cr0; break;
    case 2: v = cpu.s.cr2; break;
    case 3: v = cpu.s.cr3; break;
    case 4: v = cpu.s.cr4; break;
    default: v = cpu.platform ? cpu.platform->read_cr8() : cpu.s.cr8; break;
  }
  if (cpu.vmx.non_root && vmx::intercept_cr_read(cpu, in, CR, v)) return;
  if (cpu.svm.guest_mode) {
    if (svm::intercept_cr_read(cpu, CR, in.op[0].reg)) return;
    if (CR == 8) svm::virtual_cr8_read(cpu, v);  // V_TPR (APM 15.21.1)
  }
  cpu.set_reg(in.op[0].reg, crdr_size(cpu), v);
}

// ---- debug registers -------------------------------------------------------------

// Returns the register a DR number names (DR4/DR5 alias DR6/DR7 while
// CR4.DE = 0, and are #UD with it; SDM 17.2.2), after the privilege and
// general-detect checks (SDM 17.2.4).
// In VMX non-root operation with "MOV-DR exiting", the VM exit comes after
// the #UD and CPL checks and before the general-detect #DB (SDM Vol. 3C
// 27.1.1: privilege faults have priority; a #DB for DR7.GD does not):
// ~0u = the instruction exited.
unsigned debug_register_access(Cpu& cpu, const Insn& in, unsigned n, bool to_dr) {
  if ((n == 4 || n == 5) && (cpu.s.cr4 & cr4::DE)) cpu.raise_ud();
  require_cpl0(cpu);
  if (cpu.vmx.non_root && vmx::intercept_mov_dr(cpu, in, n, to_dr)) return ~0u;
  if (cpu.s.dr[7] & dr7::GD) debug_general_detect(cpu);
  // SVM: the DR intercepts come after the exceptions, #DB included (APM 15.9).
  if (cpu.svm.guest_mode &&
      svm::intercept_dr(cpu, n, to_dr, to_dr ? in.op[1].reg : in.op[0].reg))
    return ~0u;
  return (n == 4 || n == 5) ? n + 2 : n;
}

template <unsigned DR>
void mov_to_dr(Cpu& cpu, const Insn& in) {
  const unsigned n = debug_register_access(cpu, in, DR, true);
  if (n == ~0u) return;
  uint64_t v = cpu.get_reg(in.op[1].reg, crdr_size(cpu));
  if (n >= 6) {
    if (v >> 32) cpu.raise_gp0();  // DR6/DR7 bits 63:32 are reserved
    // DR6: B0-B3, BD, BS, BT writable; the rest reads as 1 (bit 12 as 0).
    // DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 as 0 (SDM 17.2.3/4).
    v = n == 6 ? ((v & dr6::WRITABLE) | dr6::FIXED1)
               : ((v & ~dr7::READ_AS_ZERO) | dr7::FIXED1);
  }
  cpu.s.dr[n] = v;
  if (n != 6) debug_registers_changed(cpu);
}

template <unsigned DR>
void mov_from_dr(Cpu& cpu, const Insn& in) {
  const unsigned n = debug_register_access(cpu, in, DR, false);
  if (n == ~0u) return;
  cpu.set_reg(in.op[0].reg, crdr_size(cpu), cpu.s.dr[n]);
}

void clts(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  bool clear_ts = true;
  if (cpu.vmx.non_root && vmx::intercept_clts(cpu, in, clear_ts)) return;
  if (cpu.svm.guest_mode && svm::intercept_clts(cpu)) return;
  if (clear_ts) cpu.s.cr0 &= ~cr0::TS;
}

// LMSW loads CR0[3:0]; it can set PE but never clear it (SDM Vol. 2 LMSW).
void lmsw(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  const uint64_t src = read_operand<2>(cpu, in, 0);
  uint64_t v = (cpu.s.cr0 & ~uint64_t(0xe)) | (src & 0xf);
  if (cpu.vmx.non_root) {
    const bool mem = is_mem(in, 0);
    const uint64_t lin = mem ? cpu.linear(in.seg, effective_address(cpu, in), 2, Acc::Read) : 0;
    if (vmx::intercept_lmsw(cpu, in, uint16_t(src), mem, lin, v)) return;
  }
  if (cpu.svm.guest_mode && svm::intercept_lmsw(cpu, v)) return;
  cpu.s.cr0 = v;
  cpu.update_mode();
  cpu.end_block = true;
}

// UMIP: SGDT, SIDT, SLDT, SMSW and STR are #GP(0) at CPL > 0 while
// CR4.UMIP = 1 (SDM 2.5; Vol. 2 SGDT "#GP(0) If CR4.UMIP = 1 and CPL > 0").
void check_umip(Cpu& cpu) {
  if ((cpu.s.cr4 & cr4::UMIP) && cpu.s.cpl > 0) cpu.raise_gp0();
}

// SMSW: a register destination receives CR0 at the operand size, memory
// always 16 bits (SDM Vol. 2 SMSW).
template <unsigned N>
void smsw(Cpu& cpu, const Insn& in) {
  check_umip(cpu);
  if (cpu.svm.guest_mode && svm::intercept_cr_read(cpu, 0, -1)) return;  // SMSW reads CR0 (APM 15.9)
  // In VMX non-root operation host-owned CR0 bits read from the shadow (SDM 27.3).
  const uint64_t cr0v = cpu.vmx.non_root ? vmx::guest_visible_cr0(cpu, cpu.s.cr0) : cpu.s.cr0;
  if (is_mem(in, 0)) write_operand<2>(cpu, in, 0, cr0v & 0xffff);
  else write_operand<N>(cpu, in, 0, cr0v);
}

// ---- descriptor-table registers ----------------------------------------------------

// LGDT/LIDT: 16-bit limit then base: 24 bits with a 16-bit operand size,
// 32 bits with 32, 64 bits in 64-bit mode (SDM Vol. 2 LGDT/LIDT).
DescTable read_pseudo_descriptor(Cpu& cpu, const Insn& in) {
  const uint64_t ea = effective_address(cpu, in);
  const uint32_t limit = uint32_t(cpu.read(in.seg, ea, 2));
  const uint64_t base_at = (ea + 2) & mask_of(in.addrsize);
  uint64_t base;
  if (cpu.in_64bit()) {
    base = cpu.read(in.seg, base_at, 8);
    if (!is_canonical(cpu, base)) cpu.raise_gp0();
  } else {
    base = cpu.read(in.seg, base_at, 4);
    if (in.opsize == 2) base &= 0xffffff;
  }
  return DescTable{base, limit, 0};
}

template <bool IDT>
void lgdt_lidt(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  // VMX non-root: descriptor-table exiting (SDM Vol. 3C 27.1.3).
  if (cpu.vmx.non_root && vmx::intercept_gdtr_idtr(cpu, in, IDT ? 3 : 2)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, IDT ? svm::Intercept::IdtrWrite : svm::Intercept::GdtrWrite))
    return;
  const DescTable t = read_pseudo_descriptor(cpu, in);
  (IDT ? cpu.s.idtr : cpu.s.gdtr) = t;
}

// SGDT/SIDT store the limit and a 32-bit base (64-bit in 64-bit mode),
// whatever the operand size on current processors (SDM Vol. 2 SGDT).
template <bool IDT>
void sgdt_sidt(Cpu& cpu, const Insn& in) {
  check_umip(cpu);
  if (cpu.vmx.non_root && vmx::intercept_gdtr_idtr(cpu, in, IDT ? 1 : 0)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, IDT ? svm::Intercept::IdtrRead : svm::Intercept::GdtrRead))
    return;
  const DescTable& t = IDT ? cpu.s.idtr : cpu.s.gdtr;
  const uint64_t ea = effective_address(cpu, in);
  const unsigned base_size = cpu.in_64bit() ? 8 : 4;
  const bool user = cpu.user_access();
  const uint64_t lin_limit = cpu.linear(in.seg, ea, 2, Acc::Write);
  const uint64_t lin_base = cpu.linear(in.seg, (ea + 2) & mask_of(in.addrsize), base_size, Acc::Write);
  cpu.probe_write_lin(lin_limit, 2, user);
  cpu.probe_write_lin(lin_base, base_size, user);
  cpu.write_lin(lin_limit, 2, t.limit & 0xffff, user);
  cpu.write_lin(lin_base, base_size, base_size == 8 ? t.base : (t.base & 0xffffffff), user);
}

Handler select_lgdt(const Insn& in) { return is_mem(in, 0) ? lgdt_lidt<false> : nullptr; }
Handler select_lidt(const Insn& in) { return is_mem(in, 0) ? lgdt_lidt<true> : nullptr; }
Handler select_sgdt(const Insn& in) { return is_mem(in, 0) ? sgdt_sidt<false> : nullptr; }
Handler select_sidt(const Insn& in) { return is_mem(in, 0) ? sgdt_sidt<true> : nullptr; }

// ---- LLDT, LTR, SLDT, STR ------------------------------------------------------------

// A system descriptor named by LLDT/LTR: global, inside the GDT, and in
// IA-32e mode 16 bytes with a canonical base (SDM Vol. 2 LLDT/LTR).
struct SystemDescriptor {
  uint64_t lo, hi;
};

SystemDescriptor read_system_descriptor(Cpu& cpu, uint16_t sel, uint8_t wanted_type) {
  const uint32_t err = selector_error(sel);
  if (sel & 4) cpu.raise(vec::GP, err);
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  if (!desc::system_type(d, wanted_type)) cpu.raise(vec::GP, err);
  uint64_t hi = 0;
  if (cpu.long_mode()) {
    hi = read_descriptor_high(cpu, sel, vec::GP);
  }
  if (!desc::present(d)) cpu.raise(vec::NP, err);
  if (cpu.long_mode()) {
    const uint64_t base = desc::base(d) | ((hi & 0xffffffffull) << 32);
    if (!is_canonical(cpu, base)) cpu.raise(vec::GP, err);
  }
  return SystemDescriptor{d, hi};
}

SegReg system_segment(uint16_t sel, const SystemDescriptor& sd) {
  SegReg r = Cpu::segment_from_descriptor(sel, sd.lo);
  r.base |= (sd.hi & 0xffffffffull) << 32;
  return r;
}

void lldt(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  require_cpl0(cpu);
  if (cpu.vmx.non_root && vmx::intercept_ldtr_tr(cpu, in, 2)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::LdtrWrite)) return;
  const uint16_t sel = uint16_t(read_operand<2>(cpu, in, 0));
  if (null_selector(sel)) {
    // A null selector marks LDTR unusable (SDM Vol. 2 LLDT).
    cpu.s.ldtr = null_segment(sel, 0);
    return;
  }
  cpu.s.ldtr = system_segment(sel, read_system_descriptor(cpu, sel, desc::LDT));
}

void ltr(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  require_cpl0(cpu);
  if (cpu.vmx.non_root && vmx::intercept_ldtr_tr(cpu, in, 3)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::TrWrite)) return;
  const uint16_t sel = uint16_t(read_operand<2>(cpu, in, 0));
  if (null_selector(sel)) cpu.raise_gp0();
  // IA-32e mode accepts only the 64-bit TSS type (9); legacy mode a 16- or
  // 32-bit available TSS.
  const uint32_t err = selector_error(sel);
  if (sel & 4) cpu.raise(vec::GP, err);
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  uint8_t type = desc::TSS_AVAIL;
  if (!cpu.long_mode() && desc::system_type(d, desc::TSS16_AVAIL)) type = desc::TSS16_AVAIL;
  const SystemDescriptor sd = read_system_descriptor(cpu, sel, type);
  // Mark the descriptor busy (a locked read-modify-write).
  cpu.write_sys(descriptor_address(cpu, sel) + 5, 1, ((sd.lo | desc::BUSY_BIT) >> 40) & 0xff);
  SystemDescriptor busy = sd;
  busy.lo |= desc::BUSY_BIT;
  cpu.s.tr = system_segment(sel, busy);
}

// SLDT/STR: a register destination gets the selector zero-extended to the
// operand size, memory gets 16 bits (SDM Vol. 2 SLDT/STR).
template <bool TR, unsigned N>
void store_system_selector(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  check_umip(cpu);
  if (cpu.vmx.non_root && vmx::intercept_ldtr_tr(cpu, in, TR ? 1 : 0)) return;
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, TR ? svm::Intercept::TrRead : svm::Intercept::LdtrRead)) return;
  const uint16_t sel = TR ? cpu.s.tr.sel : cpu.s.ldtr.sel;
  if (is_mem(in, 0)) write_operand<2>(cpu, in, 0, sel);
  else write_operand<N>(cpu, in, 0, sel);
}

// ---- LAR, LSL, VERR, VERW, ARPL ------------------------------------------------------

// Reads the descriptor for LAR/LSL/VERR/VERW; false (ZF = 0) where the
// instructions report failure instead of faulting: null selector, outside
// the table, LDT reference with LDTR unusable.
bool peek_descriptor(Cpu& cpu, uint16_t sel, uint64_t& d) {
  if (null_selector(sel)) return false;
  uint32_t limit;
  if (sel & 4) {
    if (cpu.s.ldtr.attr & ar::UNUSABLE) return false;
    limit = cpu.s.ldtr.limit;
  } else {
    limit = cpu.s.gdtr.limit;
  }
  if ((sel | 7u) > limit) return false;
  d = cpu.read_sys(descriptor_address(cpu, sel), 8);
  return true;
}

// Data and non-conforming code need DPL >= CPL and DPL >= RPL.
bool privilege_visible(const Cpu& cpu, uint16_t sel, uint64_t d) {
  if (desc::conforming(d)) return true;
  return desc::dpl(d) >= cpu.s.cpl && desc::dpl(d) >= (sel & 3);
}

// System types LAR (access rights) or LSL (limit) accept (SDM Vol. 2 LAR
// Table 3-59, LSL Table 3-62).
bool lar_lsl_type_ok(const Cpu& cpu, uint64_t d, bool lsl) {
  if (desc::code_or_data(d)) return true;
  const uint8_t t = desc::type(d);
  if (cpu.long_mode()) return t == desc::LDT || t == desc::TSS_AVAIL || t == desc::TSS_BUSY ||
                              (!lsl && t == desc::CALL_GATE);
  switch (t) {
    case desc::TSS16_AVAIL: case desc::LDT: case desc::TSS16_BUSY: case desc::TSS_AVAIL:
    case desc::TSS_BUSY: return true;
    case desc::CALL_GATE16: case desc::TASK_GATE: case desc::CALL_GATE: return !lsl;
    default: return false;
  }
}

void set_zf(Cpu& cpu, bool v) { cpu.set_flag(fl::ZF, v); }

template <bool LSL, unsigned N>
void lar_lsl(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  const uint16_t sel = uint16_t(read_operand<2>(cpu, in, 1));
  uint64_t d = 0;
  if (!peek_descriptor(cpu, sel, d) || !lar_lsl_type_ok(cpu, d, LSL) ||
      !privilege_visible(cpu, sel, d)) {
    set_zf(cpu, false);
    return;
  }
  // LAR: the descriptor's second doubleword masked by 00FxFF00H (bits 19:16,
  // the limit, are returned as 0 here); LSL: the byte-granular limit.
  const uint64_t v = LSL ? desc::limit(d) : ((d >> 32) & 0x00f0ff00);
  write_operand<N>(cpu, in, 0, v);
  set_zf(cpu, true);
}

template <bool WRITE>
void verr_verw(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  const uint16_t sel = uint16_t(read_operand<2>(cpu, in, 0));
  uint64_t d = 0;
  bool ok = peek_descriptor(cpu, sel, d) && desc::code_or_data(d) && privilege_visible(cpu, sel, d);
  if (ok) ok = WRITE ? desc::writable_data(d) : desc::readable(d);
  set_zf(cpu, ok);
}

void arpl(Cpu& cpu, const Insn& in) {
  require_protected(cpu);
  const uint64_t dest = read_dest<2>(cpu, in, 0);
  const uint64_t src = read_operand<2>(cpu, in, 1);
  if ((dest & 3) < (src & 3)) {
    write_operand<2>(cpu, in, 0, (dest & ~uint64_t(3)) | (src & 3));
    set_zf(cpu, true);
  } else {
    set_zf(cpu, false);
  }
}

// ---- TLB, caches -------------------------------------------------------------------

void invlpg(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  // The linear address of the operand; no limit or canonical fault: a
  // non-canonical INVLPG is a no-op (SDM Vol. 2 INVLPG).
  const uint64_t ea = effective_address(cpu, in);
  uint64_t lin = ea;
  if (cpu.in_64bit()) {
    if (in.seg == FS || in.seg == GS) lin += cpu.s.seg[in.seg].base;
  } else {
    lin = (cpu.s.seg[in.seg].base + ea) & 0xffffffffull;
  }
  if (cpu.vmx.non_root && vmx::intercept_invlpg(cpu, in, lin)) return;
  if (cpu.svm.guest_mode && svm::intercept_invlpg(cpu, lin)) return;
  cpu.flush_tlb_page(lin);
}

Handler select_invlpg(const Insn& in) { return is_mem(in, 0) ? invlpg : nullptr; }

// Caches are not modelled. WBINVD exits with "WBINVD exiting"; INVD exits
// unconditionally in VMX non-root operation (SDM Vol. 3C 27.1.2, 27.1.3).
void wbinvd(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  if (cpu.vmx.non_root) vmx::intercept_wbinvd(cpu, in);
  if (cpu.svm.guest_mode) svm::intercept_instruction(cpu, svm::Intercept::Wbinvd);
}
void invd(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  if (cpu.vmx.non_root) vmx::exit_unconditional(cpu, in, vmx::exit_reason::INVD);
  if (cpu.svm.guest_mode) svm::intercept_instruction(cpu, svm::Intercept::Invd);
}

// ---- MSRs --------------------------------------------------------------------------

namespace msr {
constexpr uint32_t PLATFORM_ID = 0x17, APIC_BASE = 0x1b, FEATURE_CONTROL = 0x3a, BIOS_SIGN_ID = 0x8b;
constexpr uint32_t SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176;
constexpr uint32_t PAT = 0x277;
constexpr uint32_t EFER = 0xc0000080, STAR = 0xc0000081, LSTAR = 0xc0000082, CSTAR = 0xc0000083;
constexpr uint32_t SFMASK = 0xc0000084, FS_BASE = 0xc0000100, GS_BASE = 0xc0000101;
constexpr uint32_t KERNEL_GS_BASE = 0xc0000102;
}  // namespace msr

bool read_msr(Cpu& cpu, uint32_t index, uint64_t& v) {
  CpuState& s = cpu.s;
  switch (index) {
    case msr::APIC_BASE: v = s.apic_base; return true;
    // Intel IA32_BIOS_SIGN_ID: what software wrote, with the update
    // signature CPUID leaf 1 deposited in bits 63:32 (SDM Vol. 3A 10.11.7.1:
    // write 0, CPUID.01H, RDMSR). AMD PATCH_LEVEL: the patch level in bits
    // 31:0 (AMD PPR MSR0000_008B "Patch Level"; Linux's early_init_amd reads
    // it so).
    case msr::BIOS_SIGN_ID:
      v = cpu.model.intel() ? s.bios_sign_id : cpu.model.microcode_revision;
      return true;
    // IA32_PLATFORM_ID (Intel family 6, read-only): platform bits 52:50 = 0
    // (SDM Vol. 4 Table 2-2); Linux's microcode driver reads it unguarded.
    case msr::PLATFORM_ID: v = 0; return cpu.model.intel();
    case msr::FEATURE_CONTROL: v = s.feature_control; return cpu.model.intel();  // Intel-only MSR
    case msr::SYSENTER_CS: v = s.sysenter_cs; return true;
    case msr::SYSENTER_ESP: v = s.sysenter_esp; return true;
    case msr::SYSENTER_EIP: v = s.sysenter_eip; return true;
    case msr::PAT: v = s.pat; return model_has(cpu.model, "pat");
    case msr::EFER: v = s.efer; return true;
    case msr::STAR: v = s.star; return true;
    case msr::LSTAR: v = s.lstar; return true;
    case msr::CSTAR: v = s.cstar; return true;
    case msr::SFMASK: v = s.sfmask; return true;
    case msr::FS_BASE: v = s.seg[FS].base; return true;
    case msr::GS_BASE: v = s.seg[GS].base; return true;
    case msr::KERNEL_GS_BASE: v = s.kernel_gs_base; return true;
    default:
      // IA32_VMX_BASIC..IA32_VMX_VMFUNC: data of the model (vmx/capabilities.h).
      if (index >= vmx::msr::FIRST && index <= vmx::msr::LAST)
        return vmx::read_vmx_capability_msr(cpu.model, index, v);
      // VM_CR, VM_HSAVE_PA, TSC_RATIO (svm/features.h).
      if (bool ok = false; svm::read_svm_msr(cpu, index, v, ok)) return ok;
      // The architectural PMU of the intel model (emu/pmu.h).
      if (bool ok = false; pmu::read_msr(cpu, index, v, ok)) return ok;
      return read_model_msr(cpu, index, v) == MsrAccess::Ok;
  }
}

// PAT entries must be valid memory types: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB,
// 7 UC- (SDM 11.12.2).
bool valid_pat(uint64_t v) {
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned t = unsigned(v >> (8 * i)) & 0xff;
    if (t == 2 || t == 3 || t > 7) return false;
  }
  return true;
}

// EFER bits this model allows: SCE with CPUID 80000001H:EDX.SYSCALL, LME
// with EDX.LM, NXE with EDX.NX (as CPUID reports it now: IA32_MISC_ENABLE
// can hide NX), SVME with 80000001H:ECX.SVM (APM Vol. 2 15.4). LMA is
// read-only (SDM 2.2.1, Table 2-1); LMSLE, FFXSR and TCE are not offered.
uint64_t efer_writable(const Cpu& cpu) {
  uint64_t w = 0;
  if (cpuid_bit(cpu, 0x80000001, EDX_, 11)) w |= efer::SCE;
  if (cpuid_bit(cpu, 0x80000001, EDX_, 29)) w |= efer::LME | efer::LMA;
  if (cpuid_bit(cpu, 0x80000001, EDX_, 20)) w |= efer::NXE;
  if (svm::model_has_svm(cpu.model)) w |= efer::SVME;
  return w;
}

bool write_efer(Cpu& cpu, uint64_t v) {
  if (v & ~efer_writable(cpu)) return false;
  // SVME is MBZ while VM_CR.SVMDIS is set (APM 15.30.1).
  if (!svm::efer_svme_write_allowed(cpu, v)) return false;
  // LME cannot change while paging is enabled (SDM 9.8.5).
  if (((v ^ cpu.s.efer) & efer::LME) && (cpu.s.cr0 & cr0::PG)) return false;
  const uint64_t old = cpu.s.efer;
  cpu.s.efer = (v & ~efer::LMA) | (old & efer::LMA);
  if ((old ^ cpu.s.efer) & efer::NXE) cpu.flush_tlb();
  cpu.update_mode();
  return true;
}

bool write_msr(Cpu& cpu, uint32_t index, uint64_t v) {
  CpuState& s = cpu.s;
  const bool canon = is_canonical(cpu, v);
  switch (index) {
    case msr::APIC_BASE: {
      // BSP (8), x2APIC enable (10, not offered), EN (11), base 12..MAXPHYADDR-1.
      const uint64_t writable = (1u << 8) | (1u << 11) | (max_phys_mask(cpu) & ~uint64_t(0xfff));
      if (v & ~writable) return false;
      s.apic_base = v;
      return true;
    }
    // Intel: read/write, software writes 0 before CPUID to have the
    // signature deposited (SDM Vol. 3A 10.11.7.1); AMD's PATCH_LEVEL is
    // read-only (AMD PPR MSR0000_008B).
    case msr::BIOS_SIGN_ID:
      if (!cpu.model.intel()) return false;
      s.bios_sign_id = v;
      return true;
    case msr::FEATURE_CONTROL:
      // Intel only; writable until locked (bit 0); bit 2 enables VMX
      // outside SMX where the model has VMX (SDM Vol. 3C 24.7).
      if (!vmx::feature_control_writable(cpu, v)) return false;
      s.feature_control = v;
      return true;
    case msr::SYSENTER_CS: s.sysenter_cs = v & 0xffffffff; return true;
    case msr::SYSENTER_ESP: if (!canon) return false; s.sysenter_esp = v; return true;
    case msr::SYSENTER_EIP: if (!canon) return false; s.sysenter_eip = v; return true;
    case msr::PAT:
      if (!model_has(cpu.model, "pat") || !valid_pat(v)) return false;
      s.pat = v;
      return true;
    case msr::EFER: return write_efer(cpu, v);
    case msr::STAR: s.star = v; return true;
    case msr::LSTAR: if (!canon) return false; s.lstar = v; return true;
    case msr::CSTAR: if (!canon) return false; s.cstar = v; return true;
    case msr::SFMASK: if (v >> 32) return false; s.sfmask = v; return true;
    case msr::FS_BASE: if (!canon) return false; s.seg[FS].base = v; return true;
    case msr::GS_BASE: if (!canon) return false; s.seg[GS].base = v; return true;
    case msr::KERNEL_GS_BASE: if (!canon) return false; s.kernel_gs_base = v; return true;
    default:
      // VM_CR, VM_HSAVE_PA, TSC_RATIO (svm/features.h).
      if (bool ok = false; svm::write_svm_msr(cpu, index, v, ok)) return ok;
      if (bool ok = false; pmu::write_msr(cpu, index, v, ok)) return ok;
      return write_model_msr(cpu, index, v) == MsrAccess::Ok;
  }
}

// RDMSR/WRMSR: CPL 0; an MSR the model lacks or a value it rejects is
// #GP(0) (SDM Vol. 2 RDMSR/WRMSR).
void rdmsr(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  uint64_t v = 0;
  const uint32_t index = uint32_t(cpu.s.gpr[RCX]);
  if (cpu.vmx.non_root && vmx::intercept_msr(cpu, in, index, false)) return;
  if (cpu.svm.guest_mode && svm::intercept_msr(cpu, index, false)) return;
  if (!msr_read_as_rdmsr(cpu, index, v)) cpu.raise_gp0();
  // IA32_TSC read in VMX non-root operation: TSC offsetting applies (SDM 27.3).
  if (cpu.vmx.non_root && index == 0x10) v = vmx::guest_tsc(cpu, v);
  if (cpu.svm.guest_mode && index == 0x10) v = svm::guest_tsc(cpu, v);  // APM 15.30.5
  cpu.set_reg(RAX, 4, v & 0xffffffff);
  cpu.set_reg(RDX, 4, v >> 32);
}

void wrmsr(Cpu& cpu, const Insn& in) {
  require_cpl0(cpu);
  const uint64_t v = (cpu.s.gpr[RAX] & 0xffffffff) | (cpu.s.gpr[RDX] << 32);
  const uint32_t index = uint32_t(cpu.s.gpr[RCX]);
  if (cpu.vmx.non_root && vmx::intercept_msr(cpu, in, index, true)) return;
  if (cpu.svm.guest_mode && svm::intercept_msr(cpu, index, true)) return;
  if (!msr_write_as_wrmsr(cpu, index, v)) cpu.raise_gp0();
  cpu.end_block = true;
}

// ---- CLI / STI -------------------------------------------------------------------

// IF may change when CPL <= IOPL (protected mode) or IOPL = 3 (virtual-8086
// mode); PVI/VME are not offered, so otherwise #GP(0) (SDM Vol. 2 CLI/STI).
void check_if_change(Cpu& cpu) {
  if (cpu.s.mode == Mode::Real) return;
  if (cpu.s.mode == Mode::V86 ? iopl(cpu) < 3 : cpu.s.cpl > iopl(cpu)) cpu.raise_gp0();
}

void cli(Cpu& cpu, const Insn&) {
  check_if_change(cpu);
  cpu.s.rflags &= ~fl::IF;
}

void sti(Cpu& cpu, const Insn&) {
  check_if_change(cpu);
  // Interrupts stay blocked until after the next instruction when STI sets
  // IF (SDM Vol. 2 STI).
  if (!(cpu.s.rflags & fl::IF)) cpu.s.interrupt_shadow = shadow::STI;
  cpu.s.rflags |= fl::IF;
}

// ---- port I/O -------------------------------------------------------------------

uint16_t io_port(Cpu& cpu, const Insn& in, unsigned port_op) {
  if (in.op[port_op].kind == OpKind::Imm) return uint16_t(in.imm & 0xff);
  return uint16_t(cpu.s.gpr[RDX] & 0xffff);
}

void in_(Cpu& cpu, const Insn& in) {
  const unsigned size = in.op[0].size;
  const uint16_t port = io_port(cpu, in, 1);
  if (!io_permitted(cpu, port, size)) cpu.raise_gp0();
  if (cpu.vmx.non_root &&
      vmx::intercept_io(cpu, in, {port, size, true, false, false, in.op[1].kind == OpKind::Imm}))
    return;
  if (cpu.svm.guest_mode && svm::intercept_io(cpu, {port, size, true, false, false, in.addrsize, 0})) return;
  const uint64_t v = cpu.port_read(port, size);
  cpu.set_reg(RAX, size, v);
}

void out_(Cpu& cpu, const Insn& in) {
  const unsigned size = in.op[1].size;
  const uint16_t port = io_port(cpu, in, 0);
  if (!io_permitted(cpu, port, size)) cpu.raise_gp0();
  if (cpu.vmx.non_root &&
      vmx::intercept_io(cpu, in, {port, size, false, false, false, in.op[0].kind == OpKind::Imm}))
    return;
  if (cpu.svm.guest_mode && svm::intercept_io(cpu, {port, size, false, false, false, in.addrsize, 0})) return;
  const uint64_t v = cpu.get_reg(RAX, size);
  cpu.port_write(port, size, v);
}

// ---- far-pointer loads -------------------------------------------------------

// LDS/LES/LFS/LGS/LSS r, m16:16/32/64: the segment is loaded (and may
// fault) before the register is written (SDM Vol. 2 LDS).
template <uint8_t SEG>
void load_far_pointer(Cpu& cpu, const Insn& in) {
  const uint64_t ea = effective_address(cpu, in);
  const uint64_t off = cpu.read(in.seg, ea, in.opsize);
  const uint16_t sel = uint16_t(cpu.read(in.seg, (ea + in.opsize) & mask_of(in.addrsize), 2));
  const uint8_t shadow = cpu.s.interrupt_shadow;
  cpu.load_segment(SEG, sel);
  cpu.s.interrupt_shadow = shadow;  // only MOV SS / POP SS block interrupts
  cpu.set_reg(in.op[0].reg, in.opsize, off);
}

template <uint8_t SEG>
Handler select_load_far(const Insn& in) {
  return is_mem(in, 1) ? load_far_pointer<SEG> : nullptr;
}

// ---- MOV Sreg -----------------------------------------------------------------------

bool is_sreg(const Operand& o) {
  return o.kind == OpKind::Reg && o.reg >= reg::SEG0 && o.reg < reg::SEG0 + 6;
}

void mov_to_sreg(Cpu& cpu, const Insn& in) {
  const uint16_t sel = uint16_t(read_operand<2>(cpu, in, 1));
  cpu.load_segment(uint8_t(in.op[0].reg - reg::SEG0), sel);
}

// MOV r, Sreg zero-extends the selector to the register size; a memory
// destination is always 16 bits (SDM Vol. 2 MOV).
template <unsigned N>
void mov_from_sreg(Cpu& cpu, const Insn& in) {
  const uint16_t sel = cpu.s.seg[in.op[1].reg - reg::SEG0].sel;
  if (is_mem(in, 0)) write_operand<2>(cpu, in, 0, sel);
  else write_operand<N>(cpu, in, 0, sel);
}

template <unsigned CR>
Handler cr_handler(bool to) { return to ? Handler(mov_to_cr<CR>) : Handler(mov_from_cr<CR>); }

template <unsigned DR>
Handler dr_handler(bool to) { return to ? Handler(mov_to_dr<DR>) : Handler(mov_from_dr<DR>); }

// ---- rows ---------------------------------------------------------------------------

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_HLT, SOFTVT_FIXED(hlt), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_CPUID, SOFTVT_FIXED(cpuid), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_RDTSC, SOFTVT_FIXED(rdtsc), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_RDTSCP, SOFTVT_FIXED(rdtscp), 0, 0, Feature::Rdtscp, 0},
    {ZYDIS_MNEMONIC_RDPMC, SOFTVT_FIXED(rdpmc), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CLTS, SOFTVT_FIXED(clts), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LMSW, SOFTVT_FIXED(lmsw), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_SMSW, SOFTVT_SIZED_WDQ(smsw), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LGDT, select_lgdt, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LIDT, select_lidt, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SGDT, select_sgdt, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SIDT, select_sidt, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LLDT, SOFTVT_FIXED(lldt), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LTR, SOFTVT_FIXED(ltr), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SLDT, [](const Insn& i) -> Handler {
       switch (i.opsize) { case 2: return store_system_selector<false, 2>;
                           case 4: return store_system_selector<false, 4>;
                           default: return store_system_selector<false, 8>; } },
     0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STR, [](const Insn& i) -> Handler {
       switch (i.opsize) { case 2: return store_system_selector<true, 2>;
                           case 4: return store_system_selector<true, 4>;
                           default: return store_system_selector<true, 8>; } },
     0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LAR, [](const Insn& i) -> Handler {
       switch (i.opsize) { case 2: return lar_lsl<false, 2>; case 4: return lar_lsl<false, 4>;
                           default: return lar_lsl<false, 8>; } },
     fl::ZF, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LSL, [](const Insn& i) -> Handler {
       switch (i.opsize) { case 2: return lar_lsl<true, 2>; case 4: return lar_lsl<true, 4>;
                           default: return lar_lsl<true, 8>; } },
     fl::ZF, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VERR, SOFTVT_FIXED(verr_verw<false>), fl::ZF, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VERW, SOFTVT_FIXED(verr_verw<true>), fl::ZF, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ARPL, SOFTVT_FIXED(arpl), fl::ZF, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INVLPG, select_invlpg, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_WBINVD, SOFTVT_FIXED(wbinvd), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INVD, SOFTVT_FIXED(invd), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_RDMSR, SOFTVT_FIXED(rdmsr), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_WRMSR, SOFTVT_FIXED(wrmsr), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_CLI, SOFTVT_FIXED(cli), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STI, SOFTVT_FIXED(sti), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_IN, SOFTVT_FIXED(in_), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_OUT, SOFTVT_FIXED(out_), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LDS, select_load_far<DS>, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LES, select_load_far<ES>, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LFS, select_load_far<FS>, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LGS, select_load_far<GS>, 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LSS, select_load_far<SS>, 0, 0, Feature::Base, 0},
};

}  // namespace

bool msr_read_as_rdmsr(Cpu& cpu, uint32_t index, uint64_t& v) {
  bool ok = false;
  if (!(cpu.platform && cpu.platform->read_msr(index, v, ok))) ok = read_msr(cpu, index, v);
  return ok;
}

bool msr_write_as_wrmsr(Cpu& cpu, uint32_t index, uint64_t v) {
  bool ok = false;
  if (cpu.platform && cpu.platform->write_msr(index, v, ok)) return ok;
  if (!write_msr(cpu, index, v)) return false;
  if (cpu.platform) cpu.platform->msr_written(index);
  return true;
}

Handler mov_sreg_handler(const Insn& in) {
  if (is_sreg(in.op[0])) {
    if (in.op[0].reg == reg::SEG0 + CS) return nullptr;  // MOV CS is #UD
    return mov_to_sreg;
  }
  if (!is_sreg(in.op[1])) return nullptr;
  switch (in.opsize) {
    case 2: return mov_from_sreg<2>;
    case 4: return mov_from_sreg<4>;
    default: return mov_from_sreg<8>;
  }
}

Handler mov_crdr_handler(const Insn& in) {
  const bool to = in.op[0].kind == OpKind::Reg && in.op[0].reg >= reg::CR0 && in.op[0].reg < reg::XMM0;
  const uint8_t r = to ? in.op[0].reg : in.op[1].reg;
  if (r >= reg::CR0 && r < reg::DR0) {
    switch (r - reg::CR0) {
      case 0: return cr_handler<0>(to);
      case 2: return cr_handler<2>(to);
      case 3: return cr_handler<3>(to);
      case 4: return cr_handler<4>(to);
      case 8: return cr_handler<8>(to);  // only encodable with REX.R (64-bit mode)
      default: return nullptr;           // CR1, CR5-CR7, CR9-CR15: #UD
    }
  }
  if (r >= reg::DR0 && r < reg::DR0 + 8) {
    switch (r - reg::DR0) {
      case 0: return dr_handler<0>(to);
      case 1: return dr_handler<1>(to);
      case 2: return dr_handler<2>(to);
      case 3: return dr_handler<3>(to);
      case 4: return dr_handler<4>(to);
      case 5: return dr_handler<5>(to);
      case 6: return dr_handler<6>(to);
      default: return dr_handler<7>(to);
    }
  }
  return nullptr;
}

namespace {

bool io_permission(Cpu& cpu, uint16_t port, unsigned size) {
  if (cpu.s.mode == Mode::Real) return true;
  if (cpu.s.mode != Mode::V86 && cpu.s.cpl <= iopl(cpu)) return true;
  // The I/O permission bitmap of a 32- or 64-bit TSS: its offset is the
  // 16-bit field at 66h; every bit for port..port+size-1 must be clear, and
  // both bytes read must lie inside the TSS limit (SDM 19.5.2).
  const SegReg& tr = cpu.s.tr;
  const uint32_t type = tr.attr & ar::TYPE_MASK;
  if ((tr.attr & ar::UNUSABLE) || (type != desc::TSS_AVAIL && type != desc::TSS_BUSY)) return false;
  if (tr.limit < 0x67) return false;
  const auto lin = [&](uint64_t off) {
    return cpu.long_mode() ? tr.base + off : ((tr.base + off) & 0xffffffffull);
  };
  const uint64_t map = cpu.read_sys(lin(0x66), 2);
  const uint64_t at = map + (port >> 3);
  if (at + 1 > tr.limit) return false;
  const uint64_t bits = cpu.read_sys(lin(at), 2);
  const uint64_t want = ((uint64_t(1) << size) - 1) << (port & 7);
  return (bits & want) == 0;
}

}  // namespace

bool io_permitted(Cpu& cpu, uint16_t port, unsigned size) {
  const bool ok = io_permission(cpu, port, size);
  // The access will happen: I/O breakpoints compare it (SDM 17.3.1.2).
  if (ok && cpu.dbg.io_armed) debug_io_access(cpu, port, size);
  return ok;
}

std::span<const InsnRow> rows_system() { return kRows; }

}  // namespace softvt
