// VMX non-root operation between instructions (vmx/event_exits.h).
//
// Priority at an instruction boundary (SDM Vol. 3A 6.9 Table 6-2 with the
// VMX events of Vol. 3C 26.2, 26.5.1, 26.5.2 and 26.7.5/26.7.6):
//   INIT (reason 3), SIPI in wait-for-SIPI (4)       priority 3
//   pending MTF VM exit (37)                          "take priority over debug-trap exceptions"
//   debug traps (#DB, the run loop delivers them)     priority 4
//   VMX-preemption timer (52)                         below debug traps, above NMI-window
//   NMI-window exiting (8)                            above NMIs
//   NMI with "NMI exiting" (0, vector 2)              priority 5
//   interrupt-window exiting (7)                      above external interrupts
//   external interrupt with "external-interrupt exiting" (1)
// Activity states (SDM 28.7.2 "Activity State"): HLT is woken by all of
// these; shutdown blocks external interrupts (and their window) and SIPIs;
// wait-for-SIPI blocks everything but SIPI (the timer counts there but
// causes no exit, SDM 26.5.1).
#include "vmx/event_exits.h"

#include "emu/cpu.h"
#include "vmx/controls.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {
namespace {

uint64_t rd(const Cpu& cpu, uint32_t enc) { return read_field(cpu.vmx, enc); }
const ActiveControls& ctl(const Cpu& cpu) { return cpu.vmx.controls; }

// IA32_VMX_MISC[4:0]: the timer counts down when this TSC bit changes.
unsigned timer_shift(const Cpu& cpu) { return unsigned(cpu.model.vmx.misc & 0x1f); }

// Pending debug exceptions (SDM 25.4.2 Table 25-4): B3-B0 (3:0), enabled
// breakpoint (12: one of them is enabled in DR7), BS (14). A VM entry's bit
// 12 stays in cpu.dbg.pending as PENDING_ENABLED_BP (emu/debug.h).
constexpr uint64_t PDE_B_MASK = 0xf, PDE_ENABLED_BP = 1u << 12, PDE_BS = 1u << 14;
static_assert(PDE_ENABLED_BP == PENDING_ENABLED_BP);

// SDM 29.3.4 (saving non-register state): bit 12 is set for a matched
// breakpoint enabled in DR7, and also "if it had been set on VM entry,
// causing there to be valid pending debug exceptions" not yet delivered.
uint64_t pending_debug_field(const Cpu& cpu) {
  const uint64_t p = cpu.dbg.pending;
  uint64_t v = p & (PDE_B_MASK | PDE_ENABLED_BP | PDE_BS);
  for (unsigned n = 0; n < 4; ++n)
    if (((p >> n) & 1) && ((cpu.s.dr[7] >> (2 * n)) & 3)) v |= PDE_ENABLED_BP;
  return v;
}

// A VM exit at an instruction boundary: no instruction length; the debug
// traps still pending go into the pending-debug-exceptions field.
void boundary_exit(Cpu& cpu, uint32_t reason, uint64_t qualification = 0, uint32_t intr = 0) {
  ExitInfo x;
  x.reason = reason;
  x.qualification = qualification;
  x.interruption_info = intr;
  x.pending_debug = pending_debug_field(cpu);
  x.timer_exit = reason == exit_reason::PREEMPTION_TIMER;
  x.nmi_exit = reason == exit_reason::EXCEPTION_NMI;
  x.at_boundary = true;
  vm_exit(cpu, x);
}

bool timer_due(const Cpu& cpu) {
  const GuestEvents& ev = cpu.vmx.events;
  return ev.timer_active && cpu.tsc() >= ev.timer_deadline;
}

// A guest that is halted (HLT or shutdown) with nothing else to wake it,
// outside a machine that keeps time (Cpu::machine_keeps_time: the PC idles
// its clock to the deadline instead): time passes until the timer reaches
// 0. softvt's time is the retired-
// instruction count (DESIGN.md "Determinism"), which stands still while
// the CPU waits, so the TSC is moved to the deadline (the guest sees the
// time that passed).
void wait_for_timer(Cpu& cpu) {
  const uint64_t now = cpu.tsc();
  if (cpu.vmx.events.timer_deadline > now) cpu.s.tsc_offset += cpu.vmx.events.timer_deadline - now;
}

// The guest's current activity state: a guest woken from an inactive
// state is active; HLT in the guest enters the HLT state.
void refresh_activity(Cpu& cpu) {
  GuestEvents& ev = cpu.vmx.events;
  if (!cpu.s.halted) ev.activity = activity::ACTIVE;
  else if (ev.activity == activity::ACTIVE) ev.activity = activity::HLT;
}

// INIT and SIPI exits (SDM 27.2 "Other Causes of VM Exits"): an INIT is
// blocked in wait-for-SIPI (it stays latched); a SIPI exit records the
// vector as the exit qualification.
bool init_or_sipi_exit(Cpu& cpu) {
  VmxState& v = cpu.vmx;
  const bool wait_sipi = v.events.activity == activity::WAIT_SIPI;
  if (v.init_pending && !wait_sipi) {
    v.init_pending = false;
    boundary_exit(cpu, exit_reason::INIT);
    return true;
  }
  if (v.sipi_pending && wait_sipi) {
    v.sipi_pending = false;
    boundary_exit(cpu, exit_reason::SIPI, v.sipi_vector);
    return true;
  }
  return false;
}

// The events below the debug traps, in priority order. An NMI is blocked
// by MOV SS (and, without virtual NMIs, by blocking by NMI; with them
// physical NMIs are not blocked by the guest's virtual-NMI blocking, SDM
// 26.3); NMI-window exiting needs no virtual-NMI blocking and no blocking
// by MOV SS or STI (the SDM lets a processor also honour STI; softvt
// does). External interrupts that exit ignore RFLAGS.IF (SDM 26.3) but
// not the STI/MOV SS shadow.
bool window_or_interrupt_exit(Cpu& cpu) {
  const ActiveControls& c = ctl(cpu);
  const uint8_t shadow_bits = cpu.s.interrupt_shadow;
  const bool mov_ss = shadow_bits & shadow::MOV_SS;
  const bool shutdown = cpu.vmx.events.activity == activity::SHUTDOWN;
  const bool vnmi = c.pin & pin::VIRTUAL_NMIS;
  if ((c.proc & proc::NMI_WINDOW) && !cpu.s.nmi_blocked && !shadow_bits) {
    boundary_exit(cpu, exit_reason::NMI_WINDOW);
    return true;
  }
  if (cpu.nmi_pending && (c.pin & pin::NMI_EXITING) && !mov_ss && (vnmi || !cpu.s.nmi_blocked)) {
    cpu.nmi_pending = false;
    if (cpu.tracer) cpu.tracer->note(cpu, "NMI (VM exit)");
    boundary_exit(cpu, exit_reason::EXCEPTION_NMI, 0,
                  vec::NMI | (uint32_t(EventType::Nmi) << intr_info::TYPE_SHIFT) | intr_info::VALID);
    return true;
  }
  if (shutdown) return false;  // blocks external interrupts and their window
  if ((c.proc & proc::INTR_WINDOW) && (cpu.s.rflags & fl::IF) && !shadow_bits) {
    boundary_exit(cpu, exit_reason::INTERRUPT_WINDOW);
    return true;
  }
  if (cpu.intr_line && (c.pin & pin::EXT_INTR_EXITING) && !shadow_bits) {
    // "Acknowledge interrupt on exit": the controller's acknowledge cycle
    // names the vector, recorded as a valid external interrupt (type 0);
    // without it the interrupt stays requested and the information is
    // not valid (SDM 28.2.2).
    uint32_t intr = 0;
    if (c.exit & exit_ctl::ACK_INTR) {
      const uint8_t vector = cpu.intr_source ? cpu.intr_source->intr_acknowledge() : 0;
      intr = vector | intr_info::VALID;
    }
    boundary_exit(cpu, exit_reason::EXTERNAL_INTERRUPT, 0, intr);
    return true;
  }
  return false;
}

// Whether the controls (or a latched signal) need a check at every
// instruction boundary. External-interrupt and NMI exiting do not: the run
// loop asks at every boundary while INTR or an NMI is pending.
bool needs_boundary_checks(const Cpu& cpu) {
  const ActiveControls& c = ctl(cpu);
  const GuestEvents& ev = cpu.vmx.events;
  return (c.pin & pin::PREEMPTION_TIMER) ||
         (c.proc & (proc::INTR_WINDOW | proc::NMI_WINDOW | proc::MTF)) || ev.mtf_pending ||
         ev.activity != activity::ACTIVE || cpu.vmx.init_pending;
}

}  // namespace

void arm_guest_events(Cpu& cpu, bool injected) {
  GuestEvents& ev = cpu.vmx.events;
  const ActiveControls& c = ctl(cpu);
  const bool host_nmi_blocked = ev.host_nmi_blocked;
  ev = GuestEvents{};
  ev.host_nmi_blocked = host_nmi_blocked;
  // 28.7.2: a vectoring entry leaves the CPU active; else the field decides.
  ev.activity = injected ? activity::ACTIVE : uint32_t(rd(cpu, field::GUEST_ACTIVITY_STATE));
  cpu.s.halted = ev.activity != activity::ACTIVE;
  // 28.7.4: the timer starts with the field's value; 0 means a VM exit
  // before the first instruction (after event injection).
  if (c.pin & pin::PREEMPTION_TIMER) {
    const unsigned x = timer_shift(cpu);
    const uint64_t value = uint32_t(rd(cpu, field::VMX_PREEMPTION_TIMER_VALUE));
    ev.timer_active = true;
    ev.timer_deadline = ((cpu.tsc() >> x) + value) << x;
  }
  // 26.5.2: with the monitor trap flag, an injected event makes an MTF VM
  // exit pending on the boundary after its delivery.
  if (injected && (c.proc & proc::MTF)) ev.mtf_pending = true;
  // 28.7.3: the pending debug exceptions are delivered after a
  // non-vectoring entry into the active or HLT state (as a #DB trap at
  // the first boundary, before the timer); an injected event discards them.
  // They are valid only with BS or "enabled breakpoint" (bit 12) set: B3-B0
  // alone deliver nothing. A valid set is treated as if encountered in the
  // guest: DR6 (or the #DB exit's qualification) gets B3-B0 and BS; bit 12
  // alone makes a #DB with neither.
  const uint64_t pde = rd(cpu, field::GUEST_PENDING_DBG_EXCEPTIONS);
  const bool valid = pde & (PDE_ENABLED_BP | PDE_BS);
  cpu.dbg.pending = 0;
  if (valid && !injected && ev.activity <= activity::HLT)
    cpu.dbg.pending = pde & (PDE_B_MASK | PDE_ENABLED_BP | PDE_BS);
  ev.boundary_checks = needs_boundary_checks(cpu);
}

void set_pending_mtf_exit(Cpu& cpu) {
  cpu.vmx.events.mtf_pending = true;
  cpu.vmx.events.boundary_checks = true;
}

bool boundary_event(Cpu& cpu) {
  GuestEvents& ev = cpu.vmx.events;
  refresh_activity(cpu);
  // The operation that wrote VTPR through the APIC-access page is over
  // (vmx/apic_virtualization.h). A TPR-below-threshold exit it or a VM
  // entry made due comes before INIT and SIPI; the shutdown and
  // wait-for-SIPI states hold it until an event leaves them (SDM 28.7.7).
  ev.vtpr_write_size = 0;
  if (ev.tpr_below_threshold && ev.activity <= activity::HLT) {
    ev.tpr_below_threshold = false;
    boundary_exit(cpu, exit_reason::TPR_BELOW_THRESHOLD);
    return true;
  }
  if (init_or_sipi_exit(cpu)) return true;
  if (ev.activity == activity::WAIT_SIPI) return false;
  if (ev.mtf_pending) {
    ev.mtf_pending = false;
    boundary_exit(cpu, exit_reason::MTF);
    return true;
  }
  // Debug traps (priority 4) are the run loop's; a halted CPU takes them
  // only when something wakes it.
  if (cpu.dbg.pending && !(cpu.s.interrupt_shadow & shadow::MOV_SS) && !cpu.s.halted) return false;
  if (timer_due(cpu)) {
    boundary_exit(cpu, exit_reason::PREEMPTION_TIMER);
    return true;
  }
  if (window_or_interrupt_exit(cpu)) return true;
  if (cpu.s.halted && ev.timer_active && !cpu.event_deliverable() && !cpu.machine_keeps_time) {
    wait_for_timer(cpu);
    boundary_exit(cpu, exit_reason::PREEMPTION_TIMER);
    return true;
  }
  return false;
}

void after_guest_instruction(Cpu& cpu) {
  if (ctl(cpu).proc & proc::MTF) cpu.vmx.events.mtf_pending = true;
}

bool exit_after_each_iteration(const Cpu& cpu) { return ctl(cpu).proc & proc::MTF; }

bool exit_due_after_iteration(const Cpu& cpu) { return cpu.vmx.events.tpr_below_threshold; }

void after_guest_event(Cpu& cpu) {
  if (ctl(cpu).proc & proc::MTF) cpu.vmx.events.mtf_pending = true;
}

void note_guest_iret(Cpu& cpu) {
  GuestEvents& ev = cpu.vmx.events;
  ev.iret_unblocked_nmi = cpu.s.nmi_blocked;
  ev.iret_insn = cpu.s.insn_count;
}

// SDM 28.2.3: with virtual NMIs, a VM exit caused by a fault of an IRET
// that had virtual-NMI blocking set reports "NMI unblocking due to IRET"
// (without virtual NMIs the same holds for blocking by NMI).
uint32_t nmi_unblocking_bit(const Cpu& cpu) {
  const GuestEvents& ev = cpu.vmx.events;
  return (ev.iret_unblocked_nmi && ev.iret_insn == cpu.s.insn_count) ? intr_info::NMI_UNBLOCKING : 0;
}

uint64_t halted_timer_deadline(const Cpu& cpu) {
  const GuestEvents& ev = cpu.vmx.events;
  if (!cpu.vmx.non_root || !ev.timer_active || ev.activity == activity::WAIT_SIPI) return ~uint64_t(0);
  return ev.timer_deadline;
}

bool halted_guest_exit_due(const Cpu& cpu) {
  const VmxState& v = cpu.vmx;
  if (!v.non_root) return false;
  const GuestEvents& ev = v.events;
  const ActiveControls& c = ctl(cpu);
  if (ev.activity == activity::WAIT_SIPI) return v.sipi_pending;
  const bool shutdown = ev.activity == activity::SHUTDOWN;
  if ((ev.tpr_below_threshold && !shutdown) || v.init_pending || ev.mtf_pending || timer_due(cpu)) return true;
  const bool vnmi = c.pin & pin::VIRTUAL_NMIS;
  if (cpu.nmi_pending && (c.pin & pin::NMI_EXITING) && !(cpu.s.interrupt_shadow & shadow::MOV_SS) &&
      (vnmi || !cpu.s.nmi_blocked))
    return true;
  return !shutdown && cpu.intr_line && (c.pin & pin::EXT_INTR_EXITING) && !cpu.s.interrupt_shadow;
}

bool intercept_init(Cpu& cpu) {
  VmxState& v = cpu.vmx;
  v.init_pending = true;
  if (v.non_root) v.events.boundary_checks = true;
  if (cpu.tracer) cpu.tracer->note(cpu, v.non_root ? "INIT (VM exit pending)" : "INIT blocked in VMX root operation");
  return true;
}

void release_blocked_init(Cpu& cpu) {
  if (!cpu.vmx.init_pending) return;
  cpu.vmx.init_pending = false;
  if (cpu.tracer) cpu.tracer->note(cpu, "INIT blocked in VMX root operation taken after VMXOFF");
  cpu.init_signal();
  cpu.dbg.pending = 0;
  cpu.next_rip = cpu.s.rip;
  cpu.vm_switched = true;
}

bool intercept_sipi(Cpu& cpu, uint8_t vector) {
  VmxState& v = cpu.vmx;
  // 28.7.2: the active, HLT and shutdown states discard SIPIs.
  if (v.events.activity != activity::WAIT_SIPI) return false;
  v.sipi_pending = true;
  v.sipi_vector = vector;
  v.events.boundary_checks = true;
  return true;
}

uint32_t guest_activity_at_exit(const Cpu& cpu) {
  if (!cpu.s.halted) return activity::ACTIVE;
  const uint32_t a = cpu.vmx.events.activity;
  return a == activity::ACTIVE ? activity::HLT : a;
}

void save_timer_value(Cpu& cpu, bool timer_exit) {
  if (!(ctl(cpu).exit & exit_ctl::SAVE_PREEMPTION_TIMER) || !cpu.vmx.events.timer_active) return;
  const unsigned x = timer_shift(cpu);
  const uint64_t now = cpu.tsc() >> x, end = cpu.vmx.events.timer_deadline >> x;
  const uint64_t left = (timer_exit || now >= end) ? 0 : end - now;
  write_field(cpu.vmx, field::VMX_PREEMPTION_TIMER_VALUE, left);
}

void leave_guest_events(Cpu& cpu, bool nmi_exit) {
  GuestEvents& ev = cpu.vmx.events;
  // With virtual NMIs the guest's blocking was virtual: the host's own
  // blocking returns. An exit caused by an NMI leaves NMIs blocked (SDM
  // 28.5 "Updating Non-Register State": as if the NMI had been delivered).
  if (ctl(cpu).pin & pin::VIRTUAL_NMIS) cpu.s.nmi_blocked = ev.host_nmi_blocked;
  if (nmi_exit) cpu.s.nmi_blocked = 1;
  ev.boundary_checks = false;
  ev.mtf_pending = false;
  ev.timer_active = false;
  ev.activity = activity::ACTIVE;
  ev.iret_unblocked_nmi = false;
}

}  // namespace softvt::vmx
