// The VM-entry checks (vmx/entry_checks.h), in the order of SDM Vol. 3C
// 28.2 "Checks on VMX Controls and Host-State Area" and 28.3.1 "Checks on
// the Guest State Area". Each check is one small predicate: true = the
// VMCS satisfies it.
#include "vmx/entry_checks.h"

#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "emu/memory.h"
#include "emu/pmu.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"
#include "vmx/ept.h"
#include "vmx/exit_reasons.h"
#include "vmx/vm_instruction_errors.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {

EntryContext::EntryContext(const VmxState& vs, const CpuModel& m, Memory& memory, uint64_t efer)
    : v(vs), model(m), mem(memory), current_efer(efer) {
  pin = uint32_t(f(field::PIN_BASED_VM_EXEC_CONTROL));
  proc = uint32_t(f(field::CPU_BASED_VM_EXEC_CONTROL));
  proc2 = (proc & proc::SECONDARY) ? uint32_t(f(field::SECONDARY_VM_EXEC_CONTROL)) : 0;
  exit = uint32_t(f(field::VM_EXIT_CONTROLS));
  entry = uint32_t(f(field::VM_ENTRY_CONTROLS));
}

uint64_t EntryContext::f(uint32_t encoding) const { return read_field(v, encoding); }
bool EntryContext::ia32e_guest() const { return entry & entry_ctl::IA32E_GUEST; }
bool EntryContext::unrestricted() const { return proc2 & proc2::UNRESTRICTED_GUEST; }
bool EntryContext::host_64() const { return exit & exit_ctl::HOST_ADDR_SPACE_SIZE; }

namespace {

using C = EntryContext;

// ---- helpers ------------------------------------------------------------------------

const VmxCapabilities& caps(const C& c) { return vmx_capabilities(c.model); }

// A control word against its capability MSR: the TRUE_ MSR when
// IA32_VMX_BASIC[55] = 1, else the plain one, which reports every default1
// control as must-be-1 (SDM Vol. 3D A.2, A.3.1, A.4, A.5).
bool controls_allowed(uint32_t word, const ControlCaps& cc, uint32_t default1, bool true_msrs,
                      uint32_t allowed1) {
  const uint32_t must = true_msrs ? cc.must_be_1 : (cc.must_be_1 | default1);
  return (word & must) == must && !(word & ~allowed1);
}

bool within_phys(const C& c, uint64_t addr) { return (addr >> c.model.phys_addr_bits) == 0; }
// "Bits 11:0 of the address must be 0; the address must not set any bits
// beyond the processor's physical-address width."
bool page_address_ok(const C& c, uint64_t addr) { return (addr & 0xfff) == 0 && within_phys(c, addr); }
bool canonical(const C& c, uint64_t v) {
  const unsigned n = c.model.lin_addr_bits;
  return uint64_t(int64_t(v << (64 - n)) >> (64 - n)) == v;
}
// An MSR area of `count` 16-byte entries: bits 3:0 zero, and its first and
// last byte within the physical-address width (SDM 28.2.1.2, 28.2.1.3).
bool msr_area_ok(const C& c, uint32_t count_field, uint32_t addr_field) {
  const uint64_t count = c.f(count_field);
  if (count == 0) return true;
  const uint64_t addr = c.f(addr_field);
  return (addr & 0xf) == 0 && within_phys(c, addr) && within_phys(c, addr + count * 16 - 1);
}
// Each byte a PAT memory type: 0, 1, 4, 5, 6 or 7 (SDM 11.12.2).
bool pat_ok(uint64_t pat) {
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned t = (pat >> (8 * i)) & 0xff;
    if (t == 2 || t == 3 || t > 7) return false;
  }
  return true;
}
// IA32_EFER bits the model implements (as WRMSR allows them).
uint64_t efer_allowed(const C& c) {
  uint64_t w = 0;
  if (model_has(c.model, "syscall")) w |= efer::SCE;
  if (model_has(c.model, "lm")) w |= efer::LME | efer::LMA;
  if (model_has(c.model, "nx")) w |= efer::NXE;
  return w;
}

// ---- event injection (SDM 25.8.3, Table 25-17) ------------------------------------------

uint32_t injection(const C& c) { return uint32_t(c.f(field::VM_ENTRY_INTR_INFO_FIELD)); }
bool injecting(const C& c) { return injection(c) & intr_info::VALID; }
unsigned inj_type(const C& c) { return (injection(c) >> 8) & 7; }
unsigned inj_vector(const C& c) { return injection(c) & 0xff; }
constexpr unsigned EXT_INT = 0, NMI = 2, HW_EXC = 3, SW_INT = 4, PRIV_SW_EXC = 5, SW_EXC = 6, OTHER = 7;
bool injecting_type(const C& c, unsigned t) { return injecting(c) && inj_type(c) == t; }
// Exceptions that deliver an error code: #DF #TS #NP #SS #GP #PF #AC
// (and #CP where CET is supported; softvt has no CET).
bool exception_has_error_code(unsigned v) {
  return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17;
}

// ---- guest segment fields (encodings step by 2 from ES: ES CS SS DS FS GS LDTR TR) -----

constexpr unsigned G_ES = 0, G_CS = 1, G_SS = 2, G_DS = 3, G_FS = 4, G_GS = 5, G_LDTR = 6, G_TR = 7;
uint16_t sel(const C& c, unsigned i) { return uint16_t(c.f(field::GUEST_ES_SELECTOR + 2 * i)); }
uint64_t base(const C& c, unsigned i) { return c.f(field::GUEST_ES_BASE + 2 * i); }
uint32_t limit(const C& c, unsigned i) { return uint32_t(c.f(field::GUEST_ES_LIMIT + 2 * i)); }
uint32_t arb(const C& c, unsigned i) { return uint32_t(c.f(field::GUEST_ES_AR_BYTES + 2 * i)); }
bool usable(const C& c, unsigned i) { return !(arb(c, i) & ar::UNUSABLE); }
unsigned type(const C& c, unsigned i) { return arb(c, i) & 0xf; }
unsigned dpl(const C& c, unsigned i) { return (arb(c, i) >> 5) & 3; }
bool v86(const C& c) { return c.f(field::GUEST_RFLAGS) & fl::VM; }
// CS always, the others when usable (the SDM's "if the register is CS or
// if the register is usable").
bool checked(const C& c, unsigned i) { return i == G_CS || usable(c, i); }
// G consistent with the limit: any of limit[11:0] clear -> G = 0; any of
// limit[31:20] set -> G = 1.
bool granularity_ok(uint32_t ar_bits, uint32_t lim) {
  const bool g = ar_bits & ar::G;
  if ((lim & 0xfff) != 0xfff && g) return false;
  if ((lim >> 20) && !g) return false;
  return true;
}
template <class F>
bool all_data_segments(const C& c, F pred) {
  for (unsigned i : {G_ES, G_CS, G_SS, G_DS, G_FS, G_GS})
    if (!pred(i)) return false;
  return true;
}

// ---- 28.2.1.1 VM-execution control fields ----------------------------------------------

bool pin_controls(const C& c) {
  return controls_allowed(c.pin, caps(c).pin, default1::PIN, caps(c).true_controls, caps(c).pin.allowed1);
}
bool proc_controls(const C& c) {
  return controls_allowed(c.proc, caps(c).proc, default1::PROC, caps(c).true_controls, caps(c).proc.allowed1);
}
bool proc2_controls(const C& c) {
  return controls_allowed(c.proc2, caps(c).proc2, 0, true, caps(c).secondary_allowed1());
}
bool cr3_target_count(const C& c) { return c.f(field::CR3_TARGET_COUNT) <= ((caps(c).misc >> 16) & 0x1ff); }
bool io_bitmap_addresses(const C& c) {
  if (!(c.proc & proc::IO_BITMAPS)) return true;
  return page_address_ok(c, c.f(field::IO_BITMAP_A)) && page_address_ok(c, c.f(field::IO_BITMAP_B));
}
bool msr_bitmap_address(const C& c) {
  return !(c.proc & proc::MSR_BITMAPS) || page_address_ok(c, c.f(field::MSR_BITMAP));
}
bool virtual_apic_address(const C& c) {
  return !(c.proc & proc::TPR_SHADOW) || page_address_ok(c, c.f(field::VIRTUAL_APIC_PAGE_ADDR));
}
bool tpr_threshold_bits(const C& c) {
  if (!(c.proc & proc::TPR_SHADOW) || (c.proc2 & proc2::VIRT_INTR_DELIVERY)) return true;
  return (c.f(field::TPR_THRESHOLD) >> 4) == 0;
}
// TPR threshold[3:0] not above VTPR[7:4] (byte 80H of the virtual-APIC page).
bool tpr_threshold_vs_vtpr(const C& c) {
  if (!(c.proc & proc::TPR_SHADOW) || (c.proc2 & (proc2::VIRT_INTR_DELIVERY | proc2::VIRT_APIC_ACCESSES)))
    return true;
  const uint64_t vtpr = c.mem.read_phys(c.f(field::VIRTUAL_APIC_PAGE_ADDR) + 0x80, 1);
  return (c.f(field::TPR_THRESHOLD) & 0xf) <= ((vtpr >> 4) & 0xf);
}
bool no_apic_virtualization_without_tpr_shadow(const C& c) {
  if (c.proc & proc::TPR_SHADOW) return true;
  return !(c.proc2 & (proc2::VIRT_X2APIC | proc2::APIC_REG_VIRT | proc2::VIRT_INTR_DELIVERY));
}
bool virtual_nmis_need_nmi_exiting(const C& c) {
  return (c.pin & pin::NMI_EXITING) || !(c.pin & pin::VIRTUAL_NMIS);
}
bool nmi_window_needs_virtual_nmis(const C& c) {
  return (c.pin & pin::VIRTUAL_NMIS) || !(c.proc & proc::NMI_WINDOW);
}
bool apic_access_address(const C& c) {
  return !(c.proc2 & proc2::VIRT_APIC_ACCESSES) || page_address_ok(c, c.f(field::APIC_ACCESS_ADDR));
}
bool x2apic_excludes_apic_accesses(const C& c) {
  return !(c.proc2 & proc2::VIRT_X2APIC) || !(c.proc2 & proc2::VIRT_APIC_ACCESSES);
}
bool interrupt_delivery_needs_intr_exiting(const C& c) {
  return !(c.proc2 & proc2::VIRT_INTR_DELIVERY) || (c.pin & pin::EXT_INTR_EXITING);
}
bool vpid_nonzero(const C& c) { return !(c.proc2 & proc2::VPID) || c.f(field::VIRTUAL_PROCESSOR_ID) != 0; }
// EPTP (SDM 25.6.11, Table 25-9): memory type UC (0) or WB (6) as
// IA32_VMX_EPT_VPID_CAP bits 8/14 allow; bits 5:3 = 3 (4-level walk, cap
// bit 6); bit 6 (A/D) only with cap bit 21; bits 11:7 reserved; no bits
// beyond the physical-address width.
bool eptp_valid(const C& c) {
  if (!(c.proc2 & proc2::EPT)) return true;
  return vmx::eptp_valid(c.f(field::EPT_POINTER), caps(c).ept_vpid, c.model.phys_addr_bits);
}
bool unrestricted_needs_ept(const C& c) { return !c.unrestricted() || (c.proc2 & proc2::EPT); }
bool vmfunc_controls(const C& c) {
  if (!(c.proc2 & proc2::VMFUNC)) return true;
  return (c.f(field::VM_FUNCTION_CONTROL) & ~caps(c).vmfunc_controls()) == 0;
}
bool eptp_switching(const C& c) {
  if (!(c.proc2 & proc2::VMFUNC) || !(c.f(field::VM_FUNCTION_CONTROL) & 1)) return true;
  return (c.proc2 & proc2::EPT) && page_address_ok(c, c.f(field::EPTP_LIST_ADDRESS));
}
bool vmcs_shadowing_bitmaps(const C& c) {
  if (!(c.proc2 & proc2::SHADOW_VMCS)) return true;
  return page_address_ok(c, c.f(field::VMREAD_BITMAP)) && page_address_ok(c, c.f(field::VMWRITE_BITMAP));
}

// ---- 28.2.1.2 VM-exit control fields -------------------------------------------------

bool exit_controls(const C& c) {
  return controls_allowed(c.exit, caps(c).exit, default1::EXIT, caps(c).true_controls, caps(c).exit.allowed1);
}
bool save_timer_needs_timer(const C& c) {
  return (c.pin & pin::PREEMPTION_TIMER) || !(c.exit & exit_ctl::SAVE_PREEMPTION_TIMER);
}
bool exit_msr_store_area(const C& c) { return msr_area_ok(c, field::VM_EXIT_MSR_STORE_COUNT, field::VM_EXIT_MSR_STORE_ADDR); }
bool exit_msr_load_area(const C& c) { return msr_area_ok(c, field::VM_EXIT_MSR_LOAD_COUNT, field::VM_EXIT_MSR_LOAD_ADDR); }

// ---- 28.2.1.3 VM-entry control fields ------------------------------------------------

bool entry_controls(const C& c) {
  return controls_allowed(c.entry, caps(c).entry, default1::ENTRY, caps(c).true_controls, caps(c).entry.allowed1);
}
// Type 1 is reserved; 7 (other event) needs the monitor trap flag.
bool injection_type(const C& c) {
  if (!injecting(c)) return true;
  const unsigned t = inj_type(c);
  if (t == 1) return false;
  return t != OTHER || (caps(c).proc.allowed1 & proc::MTF);
}
bool injection_vector(const C& c) {
  if (!injecting(c)) return true;
  switch (inj_type(c)) {
    case NMI: return inj_vector(c) == 2;
    case HW_EXC: return inj_vector(c) <= 31;
    case OTHER: return inj_vector(c) == 0;
    default: return true;
  }
}
// Deliver-error-code = 1 exactly for a hardware exception that has one,
// and 0 for an unrestricted guest with CR0.PE = 0 (real mode pushes none).
bool injection_error_code_bit(const C& c) {
  if (!injecting(c)) return true;
  const bool deliver = injection(c) & intr_info::DELIVER_ERROR_CODE;
  if (c.unrestricted() && !(c.f(field::GUEST_CR0) & cr0::PE)) return !deliver;
  return deliver == (inj_type(c) == HW_EXC && exception_has_error_code(inj_vector(c)));
}
bool injection_reserved_bits(const C& c) { return !injecting(c) || ((injection(c) >> 12) & 0x7ffff) == 0; }
bool injection_error_code(const C& c) {
  if (!injecting(c) || !(injection(c) & intr_info::DELIVER_ERROR_CODE)) return true;
  return (c.f(field::VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16) == 0;
}
// Software interrupts and exceptions: instruction length 1-15 (0 allowed
// with IA32_VMX_MISC[30]).
bool injection_instruction_length(const C& c) {
  if (!injecting(c)) return true;
  const unsigned t = inj_type(c);
  if (t != SW_INT && t != PRIV_SW_EXC && t != SW_EXC) return true;
  const uint64_t len = c.f(field::VM_ENTRY_INSTRUCTION_LEN);
  const bool zero_ok = (caps(c).misc >> 30) & 1;
  return (len >= 1 || zero_ok) && len <= 15;
}
bool entry_msr_load_area(const C& c) { return msr_area_ok(c, field::VM_ENTRY_MSR_LOAD_COUNT, field::VM_ENTRY_MSR_LOAD_ADDR); }
// Not in SMM (softvt has none): "entry to SMM" and "deactivate dual-monitor
// treatment" must be 0.
bool smm_entry_controls(const C& c) {
  return !(c.entry & (entry_ctl::ENTRY_TO_SMM | entry_ctl::DEACT_DUAL_MONITOR));
}

// ---- 28.2.2 host control registers and MSRs ------------------------------------------

bool host_cr0(const C& c) {
  const uint64_t v = c.f(field::HOST_CR0), f0 = cr0_fixed0(c.model), f1 = cr0_fixed1(c.model);
  return (v & f0) == f0 && !(v & ~f1);
}
bool host_cr4(const C& c) {
  const uint64_t v = c.f(field::HOST_CR4), f0 = cr4_fixed0(c.model), f1 = cr4_fixed1(c.model);
  return (v & f0) == f0 && !(v & ~f1);
}
bool host_cr3(const C& c) { return within_phys(c, c.f(field::HOST_CR3)); }
bool host_sysenter(const C& c) {
  return canonical(c, c.f(field::HOST_IA32_SYSENTER_ESP)) && canonical(c, c.f(field::HOST_IA32_SYSENTER_EIP));
}
// "Bits reserved in the IA32_PERF_GLOBAL_CTRL MSR must be 0 in the field"
// (SDM 28.2.2 host, 28.3.1.1 guest) when the control loads it.
bool perf_global_ctrl_ok(const C& c, uint64_t value) {
  return !(value & ~pmu::global_ctrl_valid_bits(c.model));
}
bool host_perf_global_ctrl(const C& c) {
  return !(c.exit & exit_ctl::LOAD_PERF_GLOBAL) || perf_global_ctrl_ok(c, c.f(field::HOST_IA32_PERF_GLOBAL_CTRL));
}
bool host_pat(const C& c) { return !(c.exit & exit_ctl::LOAD_PAT) || pat_ok(c.f(field::HOST_IA32_PAT)); }
bool host_efer(const C& c) {
  if (!(c.exit & exit_ctl::LOAD_EFER)) return true;
  const uint64_t e = c.f(field::HOST_IA32_EFER);
  if (e & ~efer_allowed(c)) return false;
  return bool(e & efer::LMA) == c.host_64() && bool(e & efer::LME) == c.host_64();
}

// ---- 28.2.3 host segment and descriptor-table registers -------------------------------

uint16_t host_sel(const C& c, unsigned i) { return uint16_t(c.f(field::HOST_ES_SELECTOR + 2 * i)); }
bool host_selectors_rpl_ti(const C& c) {
  for (unsigned i = 0; i < 7; ++i)  // ES CS SS DS FS GS TR
    if (host_sel(c, i) & 7) return false;
  return true;
}
bool host_cs_nonzero(const C& c) { return host_sel(c, 1) != 0; }
bool host_tr_nonzero(const C& c) { return host_sel(c, 6) != 0; }
bool host_ss_nonzero(const C& c) { return c.host_64() || host_sel(c, 2) != 0; }
bool host_bases_canonical(const C& c) {
  for (uint32_t e : {field::HOST_FS_BASE, field::HOST_GS_BASE, field::HOST_GDTR_BASE, field::HOST_IDTR_BASE,
                     field::HOST_TR_BASE})
    if (!canonical(c, c.f(e))) return false;
  return true;
}

// ---- 28.2.4 address-space size --------------------------------------------------------

bool outside_ia32e_no_64bit(const C& c) {
  return (c.current_efer & efer::LMA) || (!c.ia32e_guest() && !c.host_64());
}
bool inside_ia32e_host_64(const C& c) { return !(c.current_efer & efer::LMA) || c.host_64(); }
bool host_32_rules(const C& c) {
  if (c.host_64()) return true;
  return !c.ia32e_guest() && !(c.f(field::HOST_CR4) & cr4::PCIDE) && (c.f(field::HOST_RIP) >> 32) == 0;
}
bool host_64_rules(const C& c) {
  if (!c.host_64()) return true;
  return (c.f(field::HOST_CR4) & cr4::PAE) && canonical(c, c.f(field::HOST_RIP));
}

// ---- 28.3.1.1 guest control registers, debug registers and MSRs ------------------------

// PE and PG are not fixed for an unrestricted guest (SDM 25.6.2, A.7).
bool guest_cr0(const C& c) {
  uint64_t f0 = cr0_fixed0(c.model);
  if (c.unrestricted()) f0 &= ~(cr0::PE | cr0::PG);
  const uint64_t v = c.f(field::GUEST_CR0);
  return (v & f0) == f0 && !(v & ~cr0_fixed1(c.model));
}
bool guest_cr0_pg_needs_pe(const C& c) {
  const uint64_t v = c.f(field::GUEST_CR0);
  return !(v & cr0::PG) || (v & cr0::PE);
}
bool guest_cr4(const C& c) {
  const uint64_t v = c.f(field::GUEST_CR4), f0 = cr4_fixed0(c.model), f1 = cr4_fixed1(c.model);
  return (v & f0) == f0 && !(v & ~f1);
}
// softvt models no IA32_DEBUGCTL bits (RDMSR/WRMSR 1D9H are #GP): every
// bit is reserved.
bool guest_debugctl(const C& c) {
  return !(c.entry & entry_ctl::LOAD_DEBUG) || c.f(field::GUEST_IA32_DEBUGCTL) == 0;
}
bool ia32e_guest_paging(const C& c) {
  if (!c.ia32e_guest()) return true;
  return (c.f(field::GUEST_CR0) & cr0::PG) && (c.f(field::GUEST_CR4) & cr4::PAE);
}
bool legacy_guest_no_pcide(const C& c) { return c.ia32e_guest() || !(c.f(field::GUEST_CR4) & cr4::PCIDE); }
bool guest_cr3(const C& c) { return within_phys(c, c.f(field::GUEST_CR3)); }
bool guest_dr7(const C& c) { return !(c.entry & entry_ctl::LOAD_DEBUG) || (c.f(field::GUEST_DR7) >> 32) == 0; }
bool guest_sysenter(const C& c) {
  return canonical(c, c.f(field::GUEST_SYSENTER_ESP)) && canonical(c, c.f(field::GUEST_SYSENTER_EIP));
}
bool guest_perf_global_ctrl(const C& c) {
  return !(c.entry & entry_ctl::LOAD_PERF_GLOBAL) ||
         perf_global_ctrl_ok(c, c.f(field::GUEST_IA32_PERF_GLOBAL_CTRL));
}
bool guest_pat(const C& c) { return !(c.entry & entry_ctl::LOAD_PAT) || pat_ok(c.f(field::GUEST_IA32_PAT)); }
bool guest_efer_reserved(const C& c) {
  return !(c.entry & entry_ctl::LOAD_EFER) || !(c.f(field::GUEST_IA32_EFER) & ~efer_allowed(c));
}
// LMA = "IA-32e mode guest"; with CR0.PG = 1, LME too.
bool guest_efer_lma_lme(const C& c) {
  if (!(c.entry & entry_ctl::LOAD_EFER)) return true;
  const uint64_t e = c.f(field::GUEST_IA32_EFER);
  if (bool(e & efer::LMA) != c.ia32e_guest()) return false;
  return !(c.f(field::GUEST_CR0) & cr0::PG) || bool(e & efer::LME) == c.ia32e_guest();
}

// ---- 28.3.1.2 guest segment registers -------------------------------------------------

bool tr_ti(const C& c) { return !(sel(c, G_TR) & 4); }
bool ldtr_ti(const C& c) { return !usable(c, G_LDTR) || !(sel(c, G_LDTR) & 4); }
bool ss_rpl_eq_cs_rpl(const C& c) {
  return v86(c) || c.unrestricted() || (sel(c, G_SS) & 3) == (sel(c, G_CS) & 3);
}
bool v86_bases(const C& c) {
  return !v86(c) || all_data_segments(c, [&](unsigned i) { return base(c, i) == uint64_t(sel(c, i)) << 4; });
}
bool system_bases_canonical(const C& c) {
  if (!canonical(c, base(c, G_TR)) || !canonical(c, base(c, G_FS)) || !canonical(c, base(c, G_GS))) return false;
  return !usable(c, G_LDTR) || canonical(c, base(c, G_LDTR));
}
bool legacy_bases_32bit(const C& c) {
  if (base(c, G_CS) >> 32) return false;
  for (unsigned i : {G_SS, G_DS, G_ES})
    if (usable(c, i) && (base(c, i) >> 32)) return false;
  return true;
}
bool v86_limits(const C& c) {
  return !v86(c) || all_data_segments(c, [&](unsigned i) { return limit(c, i) == 0xffff; });
}
bool v86_access_rights(const C& c) {
  return !v86(c) || all_data_segments(c, [&](unsigned i) { return arb(c, i) == 0xf3; });
}
// The rest of the segment access-rights checks apply outside V86 mode.
bool cs_type(const C& c) {
  if (v86(c)) return true;
  const unsigned t = type(c, G_CS);
  return t == 9 || t == 11 || t == 13 || t == 15 || (t == 3 && c.unrestricted());
}
bool ss_type(const C& c) { return v86(c) || !usable(c, G_SS) || type(c, G_SS) == 3 || type(c, G_SS) == 7; }
bool data_types(const C& c) {
  if (v86(c)) return true;
  for (unsigned i : {G_DS, G_ES, G_FS, G_GS}) {
    if (!usable(c, i)) continue;
    const unsigned t = type(c, i);
    if (!(t & 1) || ((t & 8) && !(t & 2))) return false;  // accessed; code must be readable
  }
  return true;
}
bool s_bits(const C& c) {
  return v86(c) || all_data_segments(c, [&](unsigned i) { return !checked(c, i) || (arb(c, i) & ar::S); });
}
bool cs_dpl(const C& c) {
  if (v86(c)) return true;
  const unsigned t = type(c, G_CS), d = dpl(c, G_CS);
  if (t == 3) return d == 0;
  if (t == 9 || t == 11) return d == dpl(c, G_SS);
  return d <= dpl(c, G_SS);  // 13, 15: conforming
}
bool ss_dpl(const C& c) {
  if (v86(c)) return true;
  if (!c.unrestricted() && dpl(c, G_SS) != (sel(c, G_SS) & 3u)) return false;
  if (type(c, G_CS) == 3 || !(c.f(field::GUEST_CR0) & cr0::PE)) return dpl(c, G_SS) == 0;
  return true;
}
bool data_dpl(const C& c) {
  if (v86(c) || c.unrestricted()) return true;
  for (unsigned i : {G_DS, G_ES, G_FS, G_GS})
    if (usable(c, i) && type(c, i) <= 11 && dpl(c, i) < (sel(c, i) & 3u)) return false;
  return true;
}
bool present_bits(const C& c) {
  return v86(c) || all_data_segments(c, [&](unsigned i) { return !checked(c, i) || (arb(c, i) & ar::P); });
}
bool reserved_11_8(const C& c) {
  return v86(c) || all_data_segments(c, [&](unsigned i) { return !checked(c, i) || !(arb(c, i) & 0xf00); });
}
bool cs_db_with_l(const C& c) {
  return v86(c) || !c.ia32e_guest() || !(arb(c, G_CS) & ar::L) || !(arb(c, G_CS) & ar::DB);
}
bool granularity(const C& c) {
  return v86(c) ||
         all_data_segments(c, [&](unsigned i) { return !checked(c, i) || granularity_ok(arb(c, i), limit(c, i)); });
}
bool reserved_31_17(const C& c) {
  return v86(c) || all_data_segments(c, [&](unsigned i) { return !checked(c, i) || (arb(c, i) >> 17) == 0; });
}
bool tr_type(const C& c) {
  const unsigned t = type(c, G_TR);
  return c.ia32e_guest() ? t == 11 : (t == 3 || t == 11);
}
bool tr_attributes(const C& c) {
  const uint32_t a = arb(c, G_TR);
  return !(a & ar::S) && (a & ar::P) && !(a & 0xf00) && granularity_ok(a, limit(c, G_TR)) &&
         !(a & ar::UNUSABLE) && (a >> 17) == 0;
}
bool ldtr_attributes(const C& c) {
  if (!usable(c, G_LDTR)) return true;
  const uint32_t a = arb(c, G_LDTR);
  return (a & 0xf) == 2 && !(a & ar::S) && (a & ar::P) && !(a & 0xf00) && granularity_ok(a, limit(c, G_LDTR)) &&
         (a >> 17) == 0;
}

// ---- 28.3.1.3 guest descriptor-table registers ---------------------------------------

bool gdtr_idtr_bases(const C& c) {
  return canonical(c, c.f(field::GUEST_GDTR_BASE)) && canonical(c, c.f(field::GUEST_IDTR_BASE));
}
bool gdtr_idtr_limits(const C& c) {
  return (c.f(field::GUEST_GDTR_LIMIT) >> 16) == 0 && (c.f(field::GUEST_IDTR_LIMIT) >> 16) == 0;
}

// ---- 28.3.1.4 guest RIP, RFLAGS and SSP -----------------------------------------------

bool guest_rip(const C& c) {
  const uint64_t rip = c.f(field::GUEST_RIP);
  if (c.ia32e_guest() && (arb(c, G_CS) & ar::L)) return canonical(c, rip);
  return (rip >> 32) == 0;
}
// Reserved bits 63:22, 15, 5, 3 are 0 and bit 1 is 1.
bool rflags_reserved(const C& c) {
  const uint64_t r = c.f(field::GUEST_RFLAGS);
  return (r & ~uint64_t(0x3fffff)) == 0 && !(r & ((1u << 15) | (1u << 5) | (1u << 3))) && (r & fl::FIXED1);
}
bool rflags_vm(const C& c) {
  return !v86(c) || (!c.ia32e_guest() && (c.f(field::GUEST_CR0) & cr0::PE));
}
bool rflags_if_for_interrupt(const C& c) {
  return !injecting_type(c, EXT_INT) || (c.f(field::GUEST_RFLAGS) & fl::IF);
}

// ---- 28.3.1.5 guest non-register state ------------------------------------------------

uint32_t activity_state(const C& c) { return uint32_t(c.f(field::GUEST_ACTIVITY_STATE)); }
uint32_t interruptibility_state(const C& c) { return uint32_t(c.f(field::GUEST_INTERRUPTIBILITY_INFO)); }
bool activity_supported(const C& c) {
  const uint32_t a = activity_state(c);
  return a == activity::ACTIVE || (a <= 3 && ((caps(c).misc >> (5 + a)) & 1));
}
bool hlt_needs_ss_dpl0(const C& c) { return activity_state(c) != activity::HLT || dpl(c, G_SS) == 0; }
bool shadow_needs_active(const C& c) {
  return !(interruptibility_state(c) & (interruptibility::STI | interruptibility::MOV_SS)) ||
         activity_state(c) == activity::ACTIVE;
}
// Events that may be injected in each activity state.
bool injection_vs_activity(const C& c) {
  if (!injecting(c)) return true;
  const unsigned t = inj_type(c), v = inj_vector(c);
  switch (activity_state(c)) {
    case activity::HLT: return t == EXT_INT || t == NMI || (t == HW_EXC && (v == 1 || v == 18)) || t == OTHER;
    case activity::SHUTDOWN: return t == NMI || (t == HW_EXC && v == 18);
    case activity::WAIT_SIPI: return false;
    default: return true;
  }
}
bool interruptibility_reserved(const C& c) { return (interruptibility_state(c) >> 5) == 0; }
bool sti_and_mov_ss(const C& c) {
  const uint32_t i = interruptibility_state(c);
  return !((i & interruptibility::STI) && (i & interruptibility::MOV_SS));
}
bool sti_needs_if(const C& c) {
  return !(interruptibility_state(c) & interruptibility::STI) || (c.f(field::GUEST_RFLAGS) & fl::IF);
}
bool interrupt_injection_unblocked(const C& c) {
  return !injecting_type(c, EXT_INT) ||
         !(interruptibility_state(c) & (interruptibility::STI | interruptibility::MOV_SS));
}
bool nmi_injection_no_mov_ss(const C& c) {
  return !injecting_type(c, NMI) || !(interruptibility_state(c) & interruptibility::MOV_SS);
}
bool smi_blocking(const C& c) { return !(interruptibility_state(c) & interruptibility::SMI); }
bool virtual_nmi_injection_unblocked(const C& c) {
  return !(c.pin & pin::VIRTUAL_NMIS) || !injecting_type(c, NMI) ||
         !(interruptibility_state(c) & interruptibility::NMI);
}
bool enclave_interruption(const C& c) { return !(interruptibility_state(c) & interruptibility::ENCLAVE); }
// Processors may refuse NMI injection while blocking by STI (SDM 28.3.1.5
// footnote; exit qualification 3 of SDM 28.8): softvt's model does.
bool nmi_injection_no_sti(const C& c) {
  return !injecting_type(c, NMI) || !(interruptibility_state(c) & interruptibility::STI);
}
// Bits 11:4, 13, 15 and 63:17 are reserved (bit 16, RTM, has its own
// checks below).
constexpr uint64_t PENDING_DEBUG_RTM = 1u << 16;
bool pending_debug_reserved(const C& c) {
  const uint64_t allowed = 0xf | (1u << 12) | (1u << 14) | PENDING_DEBUG_RTM;
  return !(c.f(field::GUEST_PENDING_DBG_EXCEPTIONS) & ~allowed);
}
// With blocking by STI/MOV SS or in the HLT state, BS must be RFLAGS.TF
// (IA32_DEBUGCTL.BTF is 0: softvt models no DEBUGCTL bits).
bool pending_debug_bs(const C& c) {
  const bool blocking = interruptibility_state(c) & (interruptibility::STI | interruptibility::MOV_SS);
  if (!blocking && activity_state(c) != activity::HLT) return true;
  const bool bs = (c.f(field::GUEST_PENDING_DBG_EXCEPTIONS) >> 14) & 1;
  return bs == bool(c.f(field::GUEST_RFLAGS) & fl::TF);
}
// Bit 16 (RTM) = 1 needs, among others, a processor that supports RTM
// (CPUID.(EAX=07H,ECX=0):EBX[11]); no softvt model offers RTM, so the bit
// must be 0 (its other conditions - bit 12 = 1, the other bits 0, no
// blocking by MOV SS - never come into play).
bool pending_debug_rtm(const C& c) { return !(c.f(field::GUEST_PENDING_DBG_EXCEPTIONS) & PENDING_DEBUG_RTM); }
// The VMCS link pointer (all ones = none): 4-KiB aligned, within the
// physical-address width, naming a VMCS with the processor's revision
// identifier and a shadow-VMCS indicator equal to "VMCS shadowing", and
// (not in SMM: softvt has none) not the current-VMCS pointer.
bool vmcs_link_pointer(const C& c) {
  const uint64_t p = c.f(field::VMCS_LINK_POINTER);
  if (p == ~uint64_t(0)) return true;
  if (!page_address_ok(c, p) || p == c.v.current_vmcs) return false;
  const uint32_t rev = uint32_t(c.mem.read_phys(p, 4));
  return (rev & 0x7fffffff) == caps(c).revision && bool(rev >> 31) == bool(c.proc2 & proc2::SHADOW_VMCS);
}

// ---- 28.3.1.6 PDPTEs of a PAE guest --------------------------------------------------

bool pae_guest(const C& c) {
  return (c.f(field::GUEST_CR0) & cr0::PG) && (c.f(field::GUEST_CR4) & cr4::PAE) && !c.ia32e_guest();
}
// A present PDPTE has bits 2:1, 8:5 and 63:MAXPHYADDR clear (SDM 4.4.1).
bool pdpte_ok(const C& c, uint64_t e) {
  if (!(e & 1)) return true;
  return !(e & 0x1e6) && within_phys(c, e);
}
uint64_t guest_pdpte(const C& c, unsigned i) {
  if (c.proc2 & proc2::EPT) return c.f(field::GUEST_PDPTR0 + 2 * i);
  return c.mem.read_phys((c.f(field::GUEST_CR3) & 0xffffffe0) + 8 * i, 8);
}
bool guest_pdptes(const C& c) {
  if (!pae_guest(c)) return true;
  for (unsigned i = 0; i < 4; ++i)
    if (!pdpte_ok(c, guest_pdpte(c, i))) return false;
  return true;
}

// ---- the table ------------------------------------------------------------------------

constexpr CheckGroup CTL = CheckGroup::Controls, HOST = CheckGroup::HostState, GUEST = CheckGroup::GuestState;
#define EXEC "28.2.1.1 Checks on VM-Execution Control Fields"
#define EXITC "28.2.1.2 Checks on VM-Exit Control Fields"
#define ENTRYC "28.2.1.3 Checks on VM-Entry Control Fields"
#define HOSTCR "28.2.2 Checks on Host Control Registers, MSRs, and SSP"
#define HOSTSEG "28.2.3 Checks on Host Segment and Descriptor-Table Registers"
#define HOSTSIZE "28.2.4 Checks Related to Address-Space Size"
#define GCR "28.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs"
#define GSEG "28.3.1.2 Checks on Guest Segment Registers"
#define GDT "28.3.1.3 Checks on Guest Descriptor-Table Registers"
#define GRIP "28.3.1.4 Checks on Guest RIP, RFLAGS, and SSP"
#define GNR "28.3.1.5 Checks on Guest Non-Register State"
#define GPDPTE "28.3.1.6 Checks on Guest Page-Directory-Pointer-Table Entries"

constexpr uint32_t Q0 = entry_qual::DEFAULT;

const EntryCheck kChecks[] = {
    {"pin-based controls: reserved bits", EXEC, CTL, Q0, pin_controls},
    {"primary processor-based controls: reserved bits", EXEC, CTL, Q0, proc_controls},
    {"secondary processor-based controls: reserved bits", EXEC, CTL, Q0, proc2_controls},
    {"CR3-target count above IA32_VMX_MISC[24:16]", EXEC, CTL, Q0, cr3_target_count},
    {"I/O-bitmap addresses", EXEC, CTL, Q0, io_bitmap_addresses},
    {"MSR-bitmap address", EXEC, CTL, Q0, msr_bitmap_address},
    {"virtual-APIC address", EXEC, CTL, Q0, virtual_apic_address},
    {"TPR threshold bits 31:4", EXEC, CTL, Q0, tpr_threshold_bits},
    {"TPR threshold above VTPR", EXEC, CTL, Q0, tpr_threshold_vs_vtpr},
    {"APIC virtualization without TPR shadow", EXEC, CTL, Q0, no_apic_virtualization_without_tpr_shadow},
    {"virtual NMIs without NMI exiting", EXEC, CTL, Q0, virtual_nmis_need_nmi_exiting},
    {"NMI-window exiting without virtual NMIs", EXEC, CTL, Q0, nmi_window_needs_virtual_nmis},
    {"APIC-access address", EXEC, CTL, Q0, apic_access_address},
    {"virtualize x2APIC mode with virtualize APIC accesses", EXEC, CTL, Q0, x2apic_excludes_apic_accesses},
    {"virtual-interrupt delivery without external-interrupt exiting", EXEC, CTL, Q0,
     interrupt_delivery_needs_intr_exiting},
    {"VPID 0 with enable VPID", EXEC, CTL, Q0, vpid_nonzero},
    {"EPT pointer", EXEC, CTL, Q0, eptp_valid},
    {"unrestricted guest without EPT", EXEC, CTL, Q0, unrestricted_needs_ept},
    {"VM-function controls: reserved bits", EXEC, CTL, Q0, vmfunc_controls},
    {"EPTP switching: EPT and EPTP-list address", EXEC, CTL, Q0, eptp_switching},
    {"VMREAD/VMWRITE-bitmap addresses", EXEC, CTL, Q0, vmcs_shadowing_bitmaps},
    {"VM-exit controls: reserved bits", EXITC, CTL, Q0, exit_controls},
    {"save VMX-preemption timer without the timer", EXITC, CTL, Q0, save_timer_needs_timer},
    {"VM-exit MSR-store area", EXITC, CTL, Q0, exit_msr_store_area},
    {"VM-exit MSR-load area", EXITC, CTL, Q0, exit_msr_load_area},
    {"VM-entry controls: reserved bits", ENTRYC, CTL, Q0, entry_controls},
    {"event injection: interruption type", ENTRYC, CTL, Q0, injection_type},
    {"event injection: vector for the type", ENTRYC, CTL, Q0, injection_vector},
    {"event injection: deliver-error-code bit", ENTRYC, CTL, Q0, injection_error_code_bit},
    {"event injection: reserved bits 30:12", ENTRYC, CTL, Q0, injection_reserved_bits},
    {"event injection: error code bits 31:16", ENTRYC, CTL, Q0, injection_error_code},
    {"event injection: instruction length", ENTRYC, CTL, Q0, injection_instruction_length},
    {"VM-entry MSR-load area", ENTRYC, CTL, Q0, entry_msr_load_area},
    {"entry to SMM / deactivate dual-monitor treatment outside SMM", ENTRYC, CTL, Q0, smm_entry_controls},

    {"host CR0: fixed bits", HOSTCR, HOST, Q0, host_cr0},
    {"host CR4: fixed bits", HOSTCR, HOST, Q0, host_cr4},
    {"host CR3: bits beyond the physical-address width", HOSTCR, HOST, Q0, host_cr3},
    {"host IA32_SYSENTER_ESP/EIP canonical", HOSTCR, HOST, Q0, host_sysenter},
    {"host IA32_PERF_GLOBAL_CTRL: reserved bits", HOSTCR, HOST, Q0, host_perf_global_ctrl},
    {"host IA32_PAT memory types", HOSTCR, HOST, Q0, host_pat},
    {"host IA32_EFER: reserved bits, LMA/LME = host address-space size", HOSTCR, HOST, Q0, host_efer},
    {"host selectors: RPL and TI", HOSTSEG, HOST, Q0, host_selectors_rpl_ti},
    {"host CS selector 0", HOSTSEG, HOST, Q0, host_cs_nonzero},
    {"host TR selector 0", HOSTSEG, HOST, Q0, host_tr_nonzero},
    {"host SS selector 0 with a 32-bit host", HOSTSEG, HOST, Q0, host_ss_nonzero},
    {"host FS/GS/GDTR/IDTR/TR bases canonical", HOSTSEG, HOST, Q0, host_bases_canonical},
    {"outside IA-32e mode: IA-32e mode guest and 64-bit host", HOSTSIZE, HOST, Q0, outside_ia32e_no_64bit},
    {"in IA-32e mode: host address-space size", HOSTSIZE, HOST, Q0, inside_ia32e_host_64},
    {"32-bit host: IA-32e mode guest, CR4.PCIDE, RIP[63:32]", HOSTSIZE, HOST, Q0, host_32_rules},
    {"64-bit host: CR4.PAE, RIP canonical", HOSTSIZE, HOST, Q0, host_64_rules},

    {"guest CR0: fixed bits", GCR, GUEST, Q0, guest_cr0},
    {"guest CR0: PG without PE", GCR, GUEST, Q0, guest_cr0_pg_needs_pe},
    {"guest CR4: fixed bits", GCR, GUEST, Q0, guest_cr4},
    {"guest IA32_DEBUGCTL: reserved bits", GCR, GUEST, Q0, guest_debugctl},
    {"IA-32e mode guest: CR0.PG and CR4.PAE", GCR, GUEST, Q0, ia32e_guest_paging},
    {"guest CR4.PCIDE outside IA-32e mode", GCR, GUEST, Q0, legacy_guest_no_pcide},
    {"guest CR3: bits beyond the physical-address width", GCR, GUEST, Q0, guest_cr3},
    {"guest DR7 bits 63:32", GCR, GUEST, Q0, guest_dr7},
    {"guest IA32_SYSENTER_ESP/EIP canonical", GCR, GUEST, Q0, guest_sysenter},
    {"guest IA32_PERF_GLOBAL_CTRL: reserved bits", GCR, GUEST, Q0, guest_perf_global_ctrl},
    {"guest IA32_PAT memory types", GCR, GUEST, Q0, guest_pat},
    {"guest IA32_EFER: reserved bits", GCR, GUEST, Q0, guest_efer_reserved},
    {"guest IA32_EFER: LMA/LME and IA-32e mode guest", GCR, GUEST, Q0, guest_efer_lma_lme},
    {"guest TR: TI flag", GSEG, GUEST, Q0, tr_ti},
    {"guest LDTR: TI flag", GSEG, GUEST, Q0, ldtr_ti},
    {"guest SS.RPL = CS.RPL", GSEG, GUEST, Q0, ss_rpl_eq_cs_rpl},
    {"virtual-8086 guest: bases = selector << 4", GSEG, GUEST, Q0, v86_bases},
    {"guest TR/FS/GS/LDTR bases canonical", GSEG, GUEST, Q0, system_bases_canonical},
    {"guest CS/SS/DS/ES bases bits 63:32", GSEG, GUEST, Q0, legacy_bases_32bit},
    {"virtual-8086 guest: limits FFFFH", GSEG, GUEST, Q0, v86_limits},
    {"virtual-8086 guest: access rights F3H", GSEG, GUEST, Q0, v86_access_rights},
    {"guest CS type", GSEG, GUEST, Q0, cs_type},
    {"guest SS type", GSEG, GUEST, Q0, ss_type},
    {"guest DS/ES/FS/GS type", GSEG, GUEST, Q0, data_types},
    {"guest segments: S bit", GSEG, GUEST, Q0, s_bits},
    {"guest CS DPL", GSEG, GUEST, Q0, cs_dpl},
    {"guest SS DPL", GSEG, GUEST, Q0, ss_dpl},
    {"guest DS/ES/FS/GS DPL below RPL", GSEG, GUEST, Q0, data_dpl},
    {"guest segments: P bit", GSEG, GUEST, Q0, present_bits},
    {"guest segments: access-rights bits 11:8", GSEG, GUEST, Q0, reserved_11_8},
    {"guest CS: D/B with L in IA-32e mode", GSEG, GUEST, Q0, cs_db_with_l},
    {"guest segments: G and the limit", GSEG, GUEST, Q0, granularity},
    {"guest segments: access-rights bits 31:17", GSEG, GUEST, Q0, reserved_31_17},
    {"guest TR type", GSEG, GUEST, Q0, tr_type},
    {"guest TR: S, P, reserved bits, G, usable", GSEG, GUEST, Q0, tr_attributes},
    {"guest LDTR: type, S, P, reserved bits, G", GSEG, GUEST, Q0, ldtr_attributes},
    {"guest GDTR/IDTR bases canonical", GDT, GUEST, Q0, gdtr_idtr_bases},
    {"guest GDTR/IDTR limits bits 31:16", GDT, GUEST, Q0, gdtr_idtr_limits},
    {"guest RIP", GRIP, GUEST, Q0, guest_rip},
    {"guest RFLAGS: reserved bits", GRIP, GUEST, Q0, rflags_reserved},
    {"guest RFLAGS.VM in IA-32e mode or with CR0.PE = 0", GRIP, GUEST, Q0, rflags_vm},
    {"guest RFLAGS.IF = 0 with an external interrupt injected", GRIP, GUEST, Q0, rflags_if_for_interrupt},
    {"guest activity state not supported", GNR, GUEST, Q0, activity_supported},
    {"guest HLT state with SS.DPL != 0", GNR, GUEST, Q0, hlt_needs_ss_dpl0},
    {"guest blocking by STI/MOV SS outside the active state", GNR, GUEST, Q0, shadow_needs_active},
    {"event injection in this activity state", GNR, GUEST, Q0, injection_vs_activity},
    {"guest interruptibility: reserved bits", GNR, GUEST, Q0, interruptibility_reserved},
    {"guest interruptibility: blocking by STI and by MOV SS", GNR, GUEST, Q0, sti_and_mov_ss},
    {"guest interruptibility: blocking by STI with RFLAGS.IF = 0", GNR, GUEST, Q0, sti_needs_if},
    {"external-interrupt injection with blocking by STI/MOV SS", GNR, GUEST, Q0, interrupt_injection_unblocked},
    {"NMI injection with blocking by MOV SS", GNR, GUEST, Q0, nmi_injection_no_mov_ss},
    {"guest interruptibility: blocking by SMI outside SMM", GNR, GUEST, Q0, smi_blocking},
    {"virtual-NMI injection with blocking by NMI", GNR, GUEST, Q0, virtual_nmi_injection_unblocked},
    {"guest interruptibility: enclave interruption", GNR, GUEST, Q0, enclave_interruption},
    {"NMI injection with blocking by STI", GNR, GUEST, entry_qual::NMI_INJECTION, nmi_injection_no_sti},
    {"guest pending debug exceptions: reserved bits", GNR, GUEST, Q0, pending_debug_reserved},
    {"guest pending debug exceptions: BS and RFLAGS.TF", GNR, GUEST, Q0, pending_debug_bs},
    {"guest pending debug exceptions: RTM without RTM support", GNR, GUEST, Q0, pending_debug_rtm},
    {"VMCS link pointer", GNR, GUEST, entry_qual::LINK_POINTER, vmcs_link_pointer},
    {"guest PDPTEs: reserved bits", GPDPTE, GUEST, entry_qual::PDPTE, guest_pdptes},
};

}  // namespace

std::span<const EntryCheck> entry_checks() { return kChecks; }

const EntryCheck* first_failing_check(const EntryContext& c) {
  for (const EntryCheck& k : kChecks)
    if (!k.holds(c)) return &k;
  return nullptr;
}

EntryOutcome outcome_of(const EntryCheck& k) {
  switch (k.group) {
    case CheckGroup::Controls: return {true, vm_error::ENTRY_INVALID_CONTROL_FIELD, 0, 0};
    case CheckGroup::HostState: return {true, vm_error::ENTRY_INVALID_HOST_STATE_FIELD, 0, 0};
    default:
      return {false, 0, exit_reason::INVALID_GUEST_STATE | exit_reason::ENTRY_FAILURE, k.qualification};
  }
}

const char* group_name(CheckGroup g) {
  switch (g) {
    case CheckGroup::Controls: return "VMX controls";
    case CheckGroup::HostState: return "host state";
    default: return "guest state";
  }
}

}  // namespace softvt::vmx
