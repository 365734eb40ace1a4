// VM exits (vmx/exit.h): SDM Vol. 3C "VM Exits" - 29.2 "Recording VM-Exit
// Information and Updating VM-Entry Control Fields", 29.3 "Saving Guest
// State", 29.5 "Loading Host State". Section numbers as in the editions
// where "VM Exits" is chapter 29.
#include "vmx/exit.h"

#include "emu/cpu.h"
#include "emu/pmu.h"
#include "vmx/controls.h"
#include "vmx/event_exits.h"
#include "vmx/exit_reasons.h"
#include "vmx/msr_areas.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx/vpid.h"

namespace softvt::vmx {
namespace {

uint64_t rd(const Cpu& cpu, uint32_t enc) { return read_field(cpu.vmx, enc); }
void wr(Cpu& cpu, uint32_t enc, uint64_t v) { write_field(cpu.vmx, enc, v); }

// CR0 bits a VM entry or VM exit does not modify (SDM 28.3.2.1, 29.5.1):
// ET, CD, NW, bits 63:32, 28:19, 17 and 15:6.
constexpr uint64_t CR0_KEPT = cr0::ET | cr0::CD | cr0::NW | ~uint64_t(0xffffffff) | (0x3ffull << 19) |
                              (1ull << 17) | (0x3ffull << 6);

// ---- 29.2 recording VM-exit information ------------------------------------------------

void record_exit_information(Cpu& cpu, const ExitInfo& i) {
  wr(cpu, field::VM_EXIT_REASON, i.reason);
  wr(cpu, field::EXIT_QUALIFICATION, i.qualification);
  if (i.has_guest_linear) wr(cpu, field::GUEST_LINEAR_ADDRESS, i.guest_linear);
  // Interruption information: valid only for exits caused by an event
  // (bit 31 cleared otherwise, SDM 29.2.2); the error code when bit 11.
  wr(cpu, field::VM_EXIT_INTR_INFO, i.interruption_info);
  if (i.interruption_info & intr_info::DELIVER_ERROR_CODE)
    wr(cpu, field::VM_EXIT_INTR_ERROR_CODE, i.interruption_error);
  // IDT-vectoring information: bit 31 = 0 unless the exit happened while
  // delivering an event through the IDT (SDM 29.2.4).
  wr(cpu, field::IDT_VECTORING_INFO_FIELD, i.idt_vectoring_info);
  if (i.idt_vectoring_info & intr_info::DELIVER_ERROR_CODE)
    wr(cpu, field::IDT_VECTORING_ERROR_CODE, i.idt_vectoring_error);
  if (i.has_instruction_length) wr(cpu, field::VM_EXIT_INSTRUCTION_LEN, i.instruction_length);
  if (i.has_instruction_info) wr(cpu, field::VMX_INSTRUCTION_INFO, i.instruction_info);
  // Every VM exit clears the valid bit of the VM-entry interruption
  // information (SDM 29.2.1 end; not a VM-entry failure: SDM 28.8).
  wr(cpu, field::VM_ENTRY_INTR_INFO_FIELD, rd(cpu, field::VM_ENTRY_INTR_INFO_FIELD) & ~uint64_t(intr_info::VALID));
}

// "IA-32e mode guest" takes IA32_EFER.LMA on every VM exit (SDM 29.2,
// IA32_VMX_MISC[5] = 1).
void update_entry_controls(Cpu& cpu) {
  uint64_t e = rd(cpu, field::VM_ENTRY_CONTROLS) & ~uint64_t(entry_ctl::IA32E_GUEST);
  if (cpu.s.efer & efer::LMA) e |= entry_ctl::IA32E_GUEST;
  wr(cpu, field::VM_ENTRY_CONTROLS, e);
}

// ---- 29.3 saving guest state ----------------------------------------------------------

void save_segment(Cpu& cpu, unsigned i, const SegReg& r) {
  wr(cpu, field::GUEST_ES_SELECTOR + 2 * i, r.sel);
  wr(cpu, field::GUEST_ES_BASE + 2 * i, r.base);
  wr(cpu, field::GUEST_ES_LIMIT + 2 * i, r.limit);
  wr(cpu, field::GUEST_ES_AR_BYTES + 2 * i, r.attr);
}

void save_control_and_debug_registers(Cpu& cpu) {
  const uint32_t ctl = cpu.vmx.controls.exit;
  wr(cpu, field::GUEST_CR0, cpu.s.cr0);
  wr(cpu, field::GUEST_CR3, cpu.s.cr3);
  wr(cpu, field::GUEST_CR4, cpu.s.cr4);
  if (ctl & exit_ctl::SAVE_DEBUG) {
    wr(cpu, field::GUEST_DR7, cpu.s.dr[7]);
    wr(cpu, field::GUEST_IA32_DEBUGCTL, 0);  // no DEBUGCTL bits are modelled
  }
  wr(cpu, field::GUEST_SYSENTER_CS, cpu.s.sysenter_cs);
  wr(cpu, field::GUEST_SYSENTER_ESP, cpu.s.sysenter_esp);
  wr(cpu, field::GUEST_SYSENTER_EIP, cpu.s.sysenter_eip);
  if (ctl & exit_ctl::SAVE_PAT) wr(cpu, field::GUEST_IA32_PAT, cpu.s.pat);
  if (ctl & exit_ctl::SAVE_EFER) wr(cpu, field::GUEST_IA32_EFER, cpu.s.efer);
  save_guest_pdptes(cpu);  // EPT and PAE paging (SDM 29.3.4)
}

void save_segments_and_tables(Cpu& cpu) {
  for (unsigned i = 0; i < 6; ++i) save_segment(cpu, i, cpu.s.seg[i]);
  save_segment(cpu, 6, cpu.s.ldtr);
  save_segment(cpu, 7, cpu.s.tr);
  wr(cpu, field::GUEST_GDTR_BASE, cpu.s.gdtr.base);
  wr(cpu, field::GUEST_GDTR_LIMIT, cpu.s.gdtr.limit);
  wr(cpu, field::GUEST_IDTR_BASE, cpu.s.idtr.base);
  wr(cpu, field::GUEST_IDTR_LIMIT, cpu.s.idtr.limit);
}

// Interruptibility (SDM 29.3.4): blocking by STI / MOV SS as the shadow
// stands at the exit; blocking by NMI (virtual-NMI blocking with virtual
// NMIs).
uint32_t guest_interruptibility(const Cpu& cpu) {
  uint32_t v = 0;
  if (cpu.s.interrupt_shadow & shadow::STI) v |= interruptibility::STI;
  if (cpu.s.interrupt_shadow & shadow::MOV_SS) v |= interruptibility::MOV_SS;
  if (cpu.s.nmi_blocked) v |= interruptibility::NMI;
  return v;
}

// RIP/RSP/RFLAGS, activity and interruptibility state, pending debug
// exceptions, the VMX-preemption timer value (SDM 29.3.3, 29.3.4). RIP is
// the instruction's own address for an instruction exit (fault-like), the
// next instruction's for an exit at a boundary (trap-like: MTF, windows,
// timer, interrupts).
void save_rip_rsp_rflags_and_non_register_state(Cpu& cpu, const ExitInfo& info) {
  wr(cpu, field::GUEST_RIP, cpu.s.rip);
  wr(cpu, field::GUEST_RSP, cpu.s.gpr[RSP]);
  wr(cpu, field::GUEST_RFLAGS, info.saved_rf ? (cpu.s.rflags | fl::RF) : cpu.s.rflags);
  wr(cpu, field::GUEST_ACTIVITY_STATE, guest_activity_at_exit(cpu));
  wr(cpu, field::GUEST_INTERRUPTIBILITY_INFO, guest_interruptibility(cpu));
  wr(cpu, field::GUEST_PENDING_DBG_EXCEPTIONS, info.pending_debug);
  save_timer_value(cpu, info.timer_exit);
}

// ---- 29.5 loading host state ---------------------------------------------------------

void load_host_control_registers(Cpu& cpu, bool host64) {
  cpu.s.cr0 = (cpu.s.cr0 & CR0_KEPT) | (rd(cpu, field::HOST_CR0) & ~CR0_KEPT);
  uint64_t cr4v = rd(cpu, field::HOST_CR4);
  // CR4.PAE = 1 for a 64-bit host, CR4.PCIDE = 0 for a 32-bit one (SDM 29.5.1).
  cr4v = host64 ? (cr4v | cr4::PAE) : (cr4v & ~cr4::PCIDE);
  cpu.s.cr4 = cr4v;
  cpu.s.cr3 = rd(cpu, field::HOST_CR3);
  cpu.s.dr[7] = 0x400;  // DR7 := 400H; IA32_DEBUGCTL := 0 (no bits modelled)
  cpu.s.sysenter_cs = rd(cpu, field::HOST_IA32_SYSENTER_CS) & 0xffffffff;
  const uint64_t width = host64 ? ~uint64_t(0) : 0xffffffffull;
  cpu.s.sysenter_esp = rd(cpu, field::HOST_IA32_SYSENTER_ESP) & width;
  cpu.s.sysenter_eip = rd(cpu, field::HOST_IA32_SYSENTER_EIP) & width;
}

void load_host_msrs(Cpu& cpu, bool host64) {
  const uint32_t ctl = cpu.vmx.controls.exit;
  // IA32_PERF_GLOBAL_CTRL: its reserved bits keep their (0) values (SDM
  // 29.5.1; the entry checks made the field's reserved bits 0).
  if (ctl & exit_ctl::LOAD_PERF_GLOBAL) {
    const uint64_t valid = pmu::global_ctrl_valid_bits(cpu.model);
    cpu.s.perf_global_ctrl = (rd(cpu, field::HOST_IA32_PERF_GLOBAL_CTRL) & valid) | (cpu.s.perf_global_ctrl & ~valid);
  }
  if (ctl & exit_ctl::LOAD_PAT) cpu.s.pat = rd(cpu, field::HOST_IA32_PAT);
  if (ctl & exit_ctl::LOAD_EFER) {
    cpu.s.efer = rd(cpu, field::HOST_IA32_EFER);
  } else {
    // LMA and LME := "host address-space size" (SDM 29.5.1).
    cpu.s.efer = host64 ? (cpu.s.efer | efer::LMA | efer::LME) : (cpu.s.efer & ~(efer::LMA | efer::LME));
  }
}

SegReg host_data_segment(uint16_t sel, uint64_t base) {
  // Unusable with a null selector, else a flat read/write accessed segment
  // (type 3, S, DPL 0, P, D/B, G; SDM 29.5.2). DPL is 0 in both cases.
  SegReg r{};
  r.sel = sel;
  r.base = base;
  if (sel == 0) {
    r.attr = ar::UNUSABLE;
    return r;
  }
  r.limit = 0xffffffff;
  r.attr = 3 | ar::S | ar::P | ar::DB | ar::G;
  return r;
}

void load_host_segments(Cpu& cpu, bool host64) {
  SegReg& cs = cpu.s.seg[CS];
  cs = SegReg{};
  cs.sel = uint16_t(rd(cpu, field::HOST_CS_SELECTOR));
  cs.limit = 0xffffffff;
  cs.attr = 11 | ar::S | ar::P | ar::G | (host64 ? ar::L : ar::DB);
  for (unsigned i : {ES, SS, DS, FS, GS}) {
    const uint16_t sel = uint16_t(rd(cpu, field::HOST_ES_SELECTOR + 2 * i));
    uint64_t base = 0;
    if (i == FS) base = rd(cpu, field::HOST_FS_BASE);
    if (i == GS) base = rd(cpu, field::HOST_GS_BASE);
    cpu.s.seg[i] = host_data_segment(sel, base);
  }
  cpu.s.tr = SegReg{};
  cpu.s.tr.sel = uint16_t(rd(cpu, field::HOST_TR_SELECTOR));
  cpu.s.tr.base = rd(cpu, field::HOST_TR_BASE);
  cpu.s.tr.limit = 0x67;
  cpu.s.tr.attr = 11 | ar::P;  // busy 32/64-bit TSS, S = 0, G = 0
  cpu.s.ldtr = SegReg{};
  cpu.s.ldtr.attr = ar::UNUSABLE;
  cpu.s.gdtr = DescTable{rd(cpu, field::HOST_GDTR_BASE), 0xffff, 0};
  cpu.s.idtr = DescTable{rd(cpu, field::HOST_IDTR_BASE), 0xffff, 0};
}

void load_host_rip_rsp_rflags(Cpu& cpu) {
  cpu.s.rip = rd(cpu, field::HOST_RIP);
  cpu.s.gpr[RSP] = rd(cpu, field::HOST_RSP);
  cpu.s.rflags = fl::FIXED1;
  cpu.next_rip = cpu.s.rip;
}

// Leaving non-root operation: CPL 0, the mode recomputed, no interrupt
// shadow, not halted; no second level, the host's TLB context (with the
// invalidations of SDM 29.4.3: vmx/vpid.cpp).
void leave_guest_mode(Cpu& cpu) {
  cpu.vmx.non_root = false;
  cpu.s.cpl = 0;
  cpu.s.interrupt_shadow = 0;
  cpu.s.halted = 0;
  cpu.update_mode();
  leave_guest_translation(cpu);
  cpu.end_block = true;
}

void load_host_state(Cpu& cpu) {
  const bool host64 = cpu.vmx.controls.exit & exit_ctl::HOST_ADDR_SPACE_SIZE;
  load_host_control_registers(cpu, host64);
  load_host_msrs(cpu, host64);
  load_host_segments(cpu, host64);
  load_host_rip_rsp_rflags(cpu);
  leave_guest_mode(cpu);
}

// The guest's debug traps not yet delivered end with it (an exit at a
// boundary saved them in the pending-debug-exceptions field; an
// instruction exit is fault-like: its own traps never happened). The
// single-step trap of a guest instruction that exited is not the host's:
// the run loop judges it by the TF the exit left (host RFLAGS = 2).
void leave_guest_debug_state(Cpu& cpu, bool at_boundary) {
  cpu.dbg.pending = 0;
  if (!at_boundary && (cpu.s.rflags & fl::TF)) cpu.dbg.tf_after = true;
}

void note(Cpu& cpu, uint32_t reason) {
  if (!cpu.tracer) return;
  cpu.tracer->note(cpu, std::string("VM exit: ") + exit_reason_name(reason & 0xffff) + " (" +
                            std::to_string(reason & 0xffff) + ")");
}

// 29.4 / 29.6: the VM-exit MSR-store area (guest MSRs, before the host
// state) and MSR-load area (after it); a failing entry is a VMX abort.
bool store_guest_msrs(Cpu& cpu) {
  if (store_msr_area(cpu, rd(cpu, field::VM_EXIT_MSR_STORE_ADDR), uint32_t(rd(cpu, field::VM_EXIT_MSR_STORE_COUNT))))
    return true;
  vmx_abort(cpu, abort_indicator::SAVING_GUEST_MSRS);
  return false;
}
void load_host_msrs_from_area(Cpu& cpu) {
  if (load_msr_area(cpu, rd(cpu, field::VM_EXIT_MSR_LOAD_ADDR), uint32_t(rd(cpu, field::VM_EXIT_MSR_LOAD_COUNT))))
    vmx_abort(cpu, abort_indicator::LOADING_HOST_MSRS);
}

}  // namespace

void vm_exit(Cpu& cpu, const ExitInfo& info) {
  record_exit_information(cpu, info);
  update_entry_controls(cpu);
  save_control_and_debug_registers(cpu);
  save_segments_and_tables(cpu);
  save_rip_rsp_rflags_and_non_register_state(cpu, info);
  note(cpu, info.reason);
  if (cpu.tracer) cpu.tracer->vm_exit(cpu, Cpu::Tracer::VmArch::Vmx, info.reason, info.qualification);
  leave_guest_debug_state(cpu, info.at_boundary);
  if (!store_guest_msrs(cpu)) return;
  leave_guest_events(cpu, info.nmi_exit);
  load_host_state(cpu);
  load_host_msrs_from_area(cpu);
}

void vm_entry_failure_exit(Cpu& cpu, uint32_t reason, uint64_t qualification) {
  // SDM 28.8: the exit-reason and qualification fields are written and
  // "all other VM-exit information fields are unmodified"; the guest-state
  // area is not modified, the valid bit of the VM-entry interruption
  // information is not cleared; the host state is loaded as on a VM exit
  // and blocking by NMI stays what it was before the VM entry.
  wr(cpu, field::VM_EXIT_REASON, reason);
  wr(cpu, field::EXIT_QUALIFICATION, qualification);
  note(cpu, reason);
  if (cpu.tracer) cpu.tracer->vm_exit(cpu, Cpu::Tracer::VmArch::Vmx, reason, qualification);
  load_host_state(cpu);
  load_host_msrs_from_area(cpu);  // "MSRs are loaded as specified in the VM-exit MSR-load area"
}

void instruction_exit(Cpu& cpu, uint32_t reason, uint64_t qualification, unsigned length) {
  ExitInfo i;
  i.reason = reason;
  i.qualification = qualification;
  i.has_instruction_length = true;
  i.instruction_length = length;
  vm_exit(cpu, i);
}

bool record_access_exit_context(const Cpu& cpu, ExitInfo& x) {
  const Cpu::EventInDelivery& d = cpu.delivering;
  if (!d.valid) {
    x.saved_rf = true;
    return false;
  }
  x.idt_vectoring_info = intr_info::VALID | d.vector | (uint32_t(d.type) << intr_info::TYPE_SHIFT);
  if (d.error != NO_ERROR_CODE) {
    x.idt_vectoring_info |= intr_info::DELIVER_ERROR_CODE;
    x.idt_vectoring_error = d.error;
  }
  const bool software = d.type == EventType::SoftwareInterrupt || d.type == EventType::SoftwareException ||
                        d.type == EventType::PrivilegedSoftware;
  if (software) {
    x.has_instruction_length = true;
    x.instruction_length = uint32_t(d.next - cpu.s.rip);
  }
  x.saved_rf = d.type == EventType::HardwareException && d.vector != vec::DB;
  return true;
}

}  // namespace softvt::vmx
