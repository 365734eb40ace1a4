// VM entry (vmx/entry.h): the checks, then SDM Vol. 3C 28.3.2 "Loading
// Guest State", then VMX non-root operation.
#include "vmx/entry.h"

#include <string>

#include "emu/cpu.h"
#include "emu/debug.h"
#include "emu/nested_paging.h"
#include "emu/pmu.h"
#include "vmx/apic_virtualization.h"
#include "vmx/controls.h"
#include "vmx/entry_checks.h"
#include "vmx/event_exits.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/msr_areas.h"
#include "vmx/nonroot.h"
#include "vmx/vm_instruction_errors.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx/vpid.h"

namespace softvt::vmx {
namespace {

uint64_t rd(const Cpu& cpu, uint32_t enc) { return read_field(cpu.vmx, enc); }

// CR0 bits a VM entry does not modify (SDM 28.3.2.1): ET, CD, NW, bits
// 63:32, 28:19, 17 and 15:6.
constexpr uint64_t CR0_KEPT = cr0::ET | cr0::CD | cr0::NW | ~uint64_t(0xffffffff) | (0x3ffull << 19) |
                              (1ull << 17) | (0x3ffull << 6);

// ---- the controls the intercept points read ------------------------------------------

void load_active_controls(Cpu& cpu) {
  ActiveControls& c = cpu.vmx.controls;
  c.pin = uint32_t(rd(cpu, field::PIN_BASED_VM_EXEC_CONTROL));
  c.proc = uint32_t(rd(cpu, field::CPU_BASED_VM_EXEC_CONTROL));
  c.proc2 = (c.proc & proc::SECONDARY) ? uint32_t(rd(cpu, field::SECONDARY_VM_EXEC_CONTROL)) : 0;
  c.exit = uint32_t(rd(cpu, field::VM_EXIT_CONTROLS));
  c.entry = uint32_t(rd(cpu, field::VM_ENTRY_CONTROLS));
  c.exception_bitmap = uint32_t(rd(cpu, field::EXCEPTION_BITMAP));
  c.pf_mask = uint32_t(rd(cpu, field::PAGE_FAULT_ERROR_CODE_MASK));
  c.pf_match = uint32_t(rd(cpu, field::PAGE_FAULT_ERROR_CODE_MATCH));
  c.cr3_target_count = uint32_t(rd(cpu, field::CR3_TARGET_COUNT));
  for (unsigned i = 0; i < 4; ++i) c.cr3_targets[i] = rd(cpu, field::CR3_TARGET_VALUE0 + 2 * i);
  c.cr0_mask = rd(cpu, field::CR0_GUEST_HOST_MASK);
  c.cr4_mask = rd(cpu, field::CR4_GUEST_HOST_MASK);
  c.cr0_shadow = rd(cpu, field::CR0_READ_SHADOW);
  c.cr4_shadow = rd(cpu, field::CR4_READ_SHADOW);
  c.io_bitmap_a = rd(cpu, field::IO_BITMAP_A);
  c.io_bitmap_b = rd(cpu, field::IO_BITMAP_B);
  c.msr_bitmap = rd(cpu, field::MSR_BITMAP);
  c.tsc_offset = rd(cpu, field::TSC_OFFSET);
  c.ple_gap = uint32_t(rd(cpu, field::PLE_GAP));
  c.ple_window = uint32_t(rd(cpu, field::PLE_WINDOW));
  load_apic_controls(cpu);
}

// ---- 28.3.2 loading guest state ------------------------------------------------------

// 28.3.2.1: control registers, debug registers, MSRs.
void load_guest_control_registers(Cpu& cpu) {
  const ActiveControls& c = cpu.vmx.controls;
  cpu.s.cr0 = (cpu.s.cr0 & CR0_KEPT) | (rd(cpu, field::GUEST_CR0) & ~CR0_KEPT);
  cpu.s.cr3 = rd(cpu, field::GUEST_CR3);
  cpu.s.cr4 = rd(cpu, field::GUEST_CR4);
  // DR7 with bits 12, 14 and 15 always 0 and bit 10 always 1 (SDM 28.3.2.1).
  if (c.entry & entry_ctl::LOAD_DEBUG) cpu.s.dr[7] = (rd(cpu, field::GUEST_DR7) & ~uint64_t(0xd000)) | 0x400;
  cpu.s.sysenter_cs = rd(cpu, field::GUEST_SYSENTER_CS);
  cpu.s.sysenter_esp = rd(cpu, field::GUEST_SYSENTER_ESP);
  cpu.s.sysenter_eip = rd(cpu, field::GUEST_SYSENTER_EIP);
  if (c.entry & entry_ctl::LOAD_PERF_GLOBAL) cpu.s.perf_global_ctrl = rd(cpu, field::GUEST_IA32_PERF_GLOBAL_CTRL);
  if (c.entry & entry_ctl::LOAD_PAT) cpu.s.pat = rd(cpu, field::GUEST_IA32_PAT);
  const bool ia32e = c.entry & entry_ctl::IA32E_GUEST;
  if (c.entry & entry_ctl::LOAD_EFER) {
    cpu.s.efer = rd(cpu, field::GUEST_IA32_EFER);
  } else {
    // LMA := "IA-32e mode guest"; with CR0.PG = 1, LME too.
    cpu.s.efer = ia32e ? (cpu.s.efer | efer::LMA) : (cpu.s.efer & ~efer::LMA);
    if (cpu.s.cr0 & cr0::PG) cpu.s.efer = ia32e ? (cpu.s.efer | efer::LME) : (cpu.s.efer & ~efer::LME);
  }
}

SegReg guest_segment(const Cpu& cpu, unsigned i) {
  SegReg r{};
  r.sel = uint16_t(rd(cpu, field::GUEST_ES_SELECTOR + 2 * i));
  r.base = rd(cpu, field::GUEST_ES_BASE + 2 * i);
  r.limit = uint32_t(rd(cpu, field::GUEST_ES_LIMIT + 2 * i));
  r.attr = uint32_t(rd(cpu, field::GUEST_ES_AR_BYTES + 2 * i));
  return r;
}

// 28.3.2.2: segment and descriptor-table registers.
void load_guest_segments(Cpu& cpu) {
  for (unsigned i = 0; i < 6; ++i) cpu.s.seg[i] = guest_segment(cpu, i);
  cpu.s.ldtr = guest_segment(cpu, 6);
  cpu.s.tr = guest_segment(cpu, 7);
  cpu.s.gdtr = DescTable{rd(cpu, field::GUEST_GDTR_BASE), uint32_t(rd(cpu, field::GUEST_GDTR_LIMIT)), 0};
  cpu.s.idtr = DescTable{rd(cpu, field::GUEST_IDTR_BASE), uint32_t(rd(cpu, field::GUEST_IDTR_LIMIT)), 0};
}

// 28.3.2.3: RIP, RSP, RFLAGS; 28.3.2.5 (non-register state): activity and
// interruptibility.
void load_guest_rip_rsp_rflags_and_state(Cpu& cpu) {
  cpu.s.rip = rd(cpu, field::GUEST_RIP);
  cpu.next_rip = cpu.s.rip;
  cpu.s.gpr[RSP] = rd(cpu, field::GUEST_RSP);
  cpu.s.rflags = rd(cpu, field::GUEST_RFLAGS);
  const uint32_t intr = uint32_t(rd(cpu, field::GUEST_INTERRUPTIBILITY_INFO));
  cpu.s.interrupt_shadow = 0;
  if (intr & interruptibility::STI) cpu.s.interrupt_shadow |= shadow::STI;
  if (intr & interruptibility::MOV_SS) cpu.s.interrupt_shadow |= shadow::MOV_SS;
  // With virtual NMIs the bit is virtual-NMI blocking (SDM 25.4.2); the
  // host's own NMI blocking returns at the VM exit.
  cpu.vmx.events.host_nmi_blocked = cpu.s.nmi_blocked;
  cpu.s.nmi_blocked = (intr & interruptibility::NMI) ? 1 : 0;
}

// Entering non-root operation: CPL = SS.DPL (0 in real mode, 3 in V86
// mode: Cpu::update_mode), the mode, the TLB context (VPID, EPT; with the
// invalidations of SDM 29.4.3: vmx/vpid.cpp) and the armed breakpoints
// follow the new state.
void enter_guest_mode(Cpu& cpu, bool launch) {
  cpu.s.cpl = cpu.s.seg[SS].dpl();
  cpu.update_mode();
  enter_guest_translation(cpu);
  debug_registers_changed(cpu);
  if (launch) set_launch_state(cpu.vmx, LaunchState::Launched);
  cpu.vmx.non_root = true;
  cpu.end_block = true;
}

// ---- 28.6 event injection --------------------------------------------------------------

// Delivers the event of the VM-entry interruption-information field through
// the guest's IDT, as the guest's first action (SDM 28.6.1): not subject to
// the exception bitmap; software interrupts and exceptions return to RIP +
// VM-entry instruction length; an injected NMI blocks NMIs (SDM 28.6.1.1,
// no virtual NMIs). A fault while delivering an injected software event is
// handled as one during the delivery of a hardware event: the bitmap may
// turn it into a VM exit with IDT-vectoring information, else it is
// delivered (nested faults then follow the double-fault rules).
void inject_event(Cpu& cpu) {
  const uint32_t info = uint32_t(rd(cpu, field::VM_ENTRY_INTR_INFO_FIELD));
  const unsigned raw_type = (info >> intr_info::TYPE_SHIFT) & 7;
  // Type 7 ("other event", vector 0: the entry checks allow no other) is
  // not vectoring: it makes an MTF VM exit pending (SDM 28.6.2).
  const bool vectoring = (info & intr_info::VALID) && raw_type != 7;
  arm_guest_events(cpu, vectoring);
  if (!(info & intr_info::VALID)) return;
  if (!vectoring) return set_pending_mtf_exit(cpu);
  // A vectoring entry leaves no blocking by STI or MOV SS (SDM 28.7.1).
  cpu.s.interrupt_shadow = 0;
  const uint8_t vector = info & 0xff;
  const auto type = EventType(raw_type);
  const uint32_t error = (info & intr_info::DELIVER_ERROR_CODE)
                             ? uint32_t(rd(cpu, field::VM_ENTRY_EXCEPTION_ERROR_CODE)) : NO_ERROR_CODE;
  const bool software = type == EventType::SoftwareInterrupt || type == EventType::SoftwareException ||
                        type == EventType::PrivilegedSoftware;
  const uint64_t next = software ? cpu.s.rip + rd(cpu, field::VM_ENTRY_INSTRUCTION_LEN) : cpu.s.rip;
  cpu.s.halted = 0;
  if (type == EventType::Nmi) cpu.s.nmi_blocked = 1;
  cpu.vmx.injecting = true;
  try {
    cpu.deliver_event(vector, type, error, next);
  } catch (const NestedPagingExit&) {
    // An EPT violation or misconfiguration while delivering the injected
    // event made its VM exit (with the event as IDT-vectoring
    // information: vmx/ept.cpp).
    cpu.vmx.injecting = false;
    throw;
  } catch (const GuestException& f) {
    cpu.vmx.injecting = false;
    if (!intercept_exception_in_delivery(cpu, f, vector, unsigned(type), error)) {
      if (f.vector == vec::PF) cpu.s.cr2 = f.cr2;
      cpu.deliver_event(f.vector, EventType::HardwareException, f.error_code, cpu.s.rip);
    }
  }
  cpu.vmx.injecting = false;
  cpu.next_rip = cpu.s.rip;
}

void vm_fail_valid(Cpu& cpu, uint32_t error) {
  cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | fl::ZF;
  write_field(cpu.vmx, field::VM_INSTRUCTION_ERROR, error);
}

void note_failure(Cpu& cpu, const EntryCheck& k) {
  cpu.vmx.failed_check = &k;
  if (cpu.tracer) cpu.tracer->vm_entry_failed(cpu, k.name);
  if (cpu.tracer)
    cpu.tracer->note(cpu, std::string("VM entry failed: ") + k.name + " [SDM " + k.section + "; " +
                              group_name(k.group) + "]");
}

}  // namespace

void vm_entry(Cpu& cpu, bool launch) {
  cpu.vmx.failed_check = nullptr;
  const EntryContext ctx(cpu.vmx, cpu.model, cpu.mem, cpu.s.efer);
  const EntryCheck* failed = first_failing_check(ctx);
  if (failed && failed->group != CheckGroup::GuestState) {
    // 28.2: VMfailValid(7) / VMfailValid(8); the instruction completes.
    note_failure(cpu, *failed);
    return vm_fail_valid(cpu, outcome_of(*failed).error);
  }
  // The control and host-state checks passed: the exit controls are valid
  // for the VM exit a guest-state failure makes (SDM 28.8).
  load_active_controls(cpu);
  // From here on the instruction ends in the other world - the guest, or
  // the host after a VM-entry failure exit - not as an instruction that
  // completes: the run loop applies none of its TF, RF and shadow rules
  // (Cpu::vm_switched). The guest's first instruction sees the RFLAGS.RF
  // and the blocking by STI/MOV SS the entry loaded (28.3.2.3, 28.3.2.5),
  // and a host TF = 1 gives VMLAUNCH/VMRESUME no single-step trap: the
  // trap would follow the instruction (SDM 17.3.1.4), which never
  // completes in the host, and the guest's RFLAGS replaced that TF (KVM's
  // nested VMX likewise drops the trap once the VMfail checks passed,
  // arch/x86/kvm/vmx/nested.c nested_vmx_run). VMfail completes the
  // instruction: its trap follows as usual.
  cpu.vm_switched = true;
  if (failed) {
    note_failure(cpu, *failed);
    const EntryOutcome o = outcome_of(*failed);
    return vm_entry_failure_exit(cpu, o.exit_reason, o.qualification);
  }
  const uint8_t nmi_blocked_before = cpu.s.nmi_blocked;
  load_guest_control_registers(cpu);
  load_guest_segments(cpu);
  load_guest_rip_rsp_rflags_and_state(cpu);
  // 28.4: the VM-entry MSR-load area, in guest context; a failing entry is a
  // VM-entry failure (reason 34, qualification = its number), with blocking
  // by NMI as it was before the entry (SDM 28.8).
  cpu.update_mode();
  if (const uint32_t bad = load_msr_area(cpu, rd(cpu, field::VM_ENTRY_MSR_LOAD_ADDR),
                                         uint32_t(rd(cpu, field::VM_ENTRY_MSR_LOAD_COUNT)))) {
    cpu.s.nmi_blocked = nmi_blocked_before;
    if (cpu.tracer) cpu.tracer->note(cpu, "VM entry failed: MSR loading, entry " + std::to_string(bad));
    return vm_entry_failure_exit(cpu, exit_reason::MSR_LOADING | exit_reason::ENTRY_FAILURE, bad);
  }
  enter_guest_mode(cpu, launch);
  if (cpu.tracer) cpu.tracer->note(cpu, launch ? "VM entry (VMLAUNCH)" : "VM entry (VMRESUME)");
  if (cpu.tracer) cpu.tracer->vm_entry(cpu, launch ? Cpu::Tracer::VmEntryKind::Vmlaunch : Cpu::Tracer::VmEntryKind::Vmresume);
  inject_event(cpu);
  // 28.7.7: a TPR threshold above VTPR exits right after the entry (after
  // the injected event, unless its delivery already exited).
  if (cpu.vmx.non_root) arm_tpr_threshold_exit(cpu);
}

}  // namespace softvt::vmx
