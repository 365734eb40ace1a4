// VMX non-root operation between instructions (SDM Vol. 3C 26.2 "Other
// Causes of VM Exits", 26.3 "Changes to Instruction Behavior" (IRET and
// NMI blocking), 26.5 "Features Specific to VMX Non-Root Operation" (the
// VMX-preemption timer, the monitor trap flag), 26.7 "Interrupt-Window
// and NMI-Window Exiting" (numbered 27.x in the editions where "VM
// Entries" is chapter 28), and the activity states of 28.7.2): the VM
// exits that happen at instruction boundaries, in the SDM's priority
// order, and INIT/SIPI in VMX operation. Every caller in emu/ guards the
// call with `cpu.vmx.non_root` (or, for INIT/SIPI, VMX operation).
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

// VM entry, after event injection: the activity state, the preemption
// timer, the pending MTF exit of an injected event and the pending debug
// exceptions; decides whether the run loop must check every boundary.
void arm_guest_events(Cpu& cpu, bool injected);
// VM entry injecting "other event" type 7 vector 0: an MTF VM exit is
// pending on the boundary after the entry (SDM 28.6.2 "Injection of
// Pending MTF VM Exits").
void set_pending_mtf_exit(Cpu& cpu);

// The run loop, before each instruction of a guest whose controls need
// boundary checks (cpu.vmx.events.boundary_checks) or while INTR or an NMI
// is pending: takes the
// highest-priority VM exit due here - INIT/SIPI, MTF, (debug traps are
// left to the run loop), the preemption timer, NMI-window, NMI,
// interrupt-window, external interrupt - and returns true if it exited.
bool boundary_event(Cpu& cpu);

// An instruction retired in the guest, or an iteration of a REP string
// instruction completed: with the monitor trap flag, an MTF exit is
// pending (SDM 26.5.2). (VMLAUNCH/VMRESUME entering the guest is no guest
// instruction: the run loop retires it as a world switch, Cpu::vm_switched.)
void after_guest_instruction(Cpu& cpu);
// A REP string instruction in the guest stops after each iteration (the
// monitor trap flag: an MTF exit follows each one).
bool exit_after_each_iteration(const Cpu& cpu);
// The iteration of a REP string instruction that just ran made a trap-like
// VM exit due (TPR below threshold after a VTPR write through the
// APIC-access page): the instruction stops after it, RIP on it and the
// registers advanced by that iteration, and the exit comes at that
// boundary (SDM Vol. 3C 31.4.3.3 / 31.1.2; the SDM's REP example: "the
// instruction pointer saved in the VMCS references the repeated string
// instruction" and "the next iteration would be performed if the
// instruction were restarted").
bool exit_due_after_iteration(const Cpu& cpu);
// An event was delivered through the guest's IDT - a fault of a guest
// instruction, a debug trap, an NMI or interrupt: with the monitor trap
// flag, an MTF exit is pending on the boundary after its delivery.
void after_guest_event(Cpu& cpu);

// The TSC (Cpu::tsc) at which the VMX-preemption timer of the guest ends a
// wait in the HLT or shutdown state with a VM exit (~0: no such timer, or
// the wait-for-SIPI state, where it causes no exit). A machine that keeps
// time (Cpu::machine_keeps_time) idles to it while the CPU is halted.
uint64_t halted_timer_deadline(const Cpu& cpu);
// A halted VMX guest has a boundary exit due now that no event deliverable
// through its IDT would show (Cpu::event_deliverable): TPR below threshold,
// INIT, SIPI, a pending MTF exit, the preemption timer, an NMI with "NMI
// exiting", INTR with "external-interrupt exiting" (RFLAGS.IF ignored) -
// the conditions of boundary_event, which takes the exit once the machine
// runs the CPU.
bool halted_guest_exit_due(const Cpu& cpu);

// IRET in the guest: records whether it unblocks NMIs (virtual NMIs: the
// virtual-NMI blocking), for the "NMI unblocking due to IRET" bit of an
// exit caused by a fault in it.
void note_guest_iret(Cpu& cpu);
// The bit (intr_info::NMI_UNBLOCKING) for an exception exit now.
uint32_t nmi_unblocking_bit(const Cpu& cpu);

// INIT in VMX operation: blocked (latched) in root operation, an INIT
// exit (reason 3) in the guest unless its activity state is wait-for-SIPI.
// True = handled here (the caller does not reset the CPU).
bool intercept_init(Cpu& cpu);
// VMXOFF left VMX operation with an INIT latched in root operation: INIT
// is blocked only there (SDM Vol. 3C 24.8 "Restrictions on VMX Operation"),
// so it is taken at the boundary after VMXOFF - before VMXOFF's own debug
// traps (SDM Vol. 3A 6.9 Table 6-2: INIT priority 3, traps on the previous
// instruction 4), which the reset discards. The run loop retires VMXOFF
// into the INIT's state (Cpu::vm_switched).
void release_blocked_init(Cpu& cpu);
// SIPI while in VMX non-root: a SIPI exit (reason 4) from the
// wait-for-SIPI state (true), discarded in other states (false).
bool intercept_sipi(Cpu& cpu, uint8_t vector);

// What a VM exit saves of the guest's activity state, and the timer value
// ("save VMX-preemption timer value"); then the host's NMI blocking.
uint32_t guest_activity_at_exit(const Cpu& cpu);
void save_timer_value(Cpu& cpu, bool timer_exit);
void leave_guest_events(Cpu& cpu, bool nmi_exit);

}  // namespace softvt::vmx
