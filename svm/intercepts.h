// SVM guest mode: the intercept points (AMD APM Vol. 2 15.7 - 15.14 and
// the intercept vectors of Appendix B, Table B-1). Every caller in emu/
// guards the call with `cpu.svm.guest_mode` - one predictable branch in
// the host (DESIGN.md "Virtualization") - and calls where the APM puts the
// check: most instruction intercepts after the instruction's own #UD and
// privilege exceptions, some (CPUID, RSM, PAUSE, PUSHF, POPF, INTn, IRET,
// ICEBP, XSETBV) before any of them. A function returning true made a
// #VMEXIT: the handler returns at once (the CPU now runs the host).
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
struct Insn;
struct GuestException;
enum class EventType : uint8_t;
}  // namespace softvt

namespace softvt::svm {

// Instructions whose intercept is one bit and whose #VMEXIT carries no
// information besides NRIP (EXITINFO1 = EXITINFO2 = 0).
enum class Intercept : uint8_t {
  Rdtsc, Rdpmc, Pushf, Popf, Cpuid, Rsm, Iret, Invd, Hlt, Invlpga,
  IdtrRead, GdtrRead, LdtrRead, TrRead, IdtrWrite, GdtrWrite, LdtrWrite, TrWrite,
  Vmrun, Vmmcall, Vmload, Vmsave, Stgi, Clgi, Skinit, Rdtscp, Icebp, Wbinvd, Monitor, Xsetbv,
};
bool intercept_instruction(Cpu& cpu, Intercept which);

// INTn: EXITINFO1 = the vector (decode assists). INVLPG: EXITINFO1 = the
// linear address. PAUSE: the pause filter (APM 15.14.4). MWAIT: the
// unconditional intercept, then the one that requires an armed monitor.
bool intercept_intn(Cpu& cpu, uint8_t vector);
bool intercept_invlpg(Cpu& cpu, uint64_t linear);
bool intercept_pause(Cpu& cpu);
bool intercept_mwait(Cpu& cpu, bool monitor_armed);

// Control registers (APM 15.9): MOV from/to CRn (`gpr` = the register
// operand, EXITINFO1 bit 63 set), SMSW (a CR0 read, gpr < 0), CLTS and
// LMSW (CR0 writes, gpr < 0). `value` is the value a write would load:
// the CR0 selective-write intercept compares it with CR0 (bits other than
// TS and MP; LMSW: bits 3:0, and it cannot clear PE).
bool intercept_cr_read(Cpu& cpu, unsigned cr, int gpr);
bool intercept_cr_write(Cpu& cpu, unsigned cr, int gpr, uint64_t value);
bool intercept_lmsw(Cpu& cpu, uint64_t value);
bool intercept_clts(Cpu& cpu);
// CR8 with V_INTR_MASKING = 1 is the virtual TPR (APM 15.21.1): true if
// the access went to V_TPR (`value` read or written).
bool virtual_cr8_read(Cpu& cpu, uint64_t& value);
bool virtual_cr8_write(Cpu& cpu, uint64_t value);

// MOV DRn (APM 15.9, "Decode Assists"): EXITINFO1 bit 63 and the GPR.
bool intercept_dr(Cpu& cpu, unsigned dr, bool write, int gpr);

// IN/OUT/INS/OUTS through the I/O permission map (APM 15.10).
struct IoAccess {
  uint16_t port;
  unsigned size;      // 1, 2, 4
  bool in, string, rep;
  unsigned addrsize;  // the address size (string forms)
  uint8_t seg;        // the segment of OUTS's source (decode assists)
};
bool intercept_io(Cpu& cpu, const IoAccess& io);
// RDMSR/WRMSR through the MSR permission map (APM 15.11).
bool intercept_msr(Cpu& cpu, uint32_t index, bool write);

// The TSC the guest reads: TSC * TSC_RATIO (8.32 fixed point) + TSC_OFFSET
// (APM 15.30.5, 15.18.4).
uint64_t guest_tsc(const Cpu& cpu, uint64_t tsc);

// A hardware task switch in the guest (APM "Task Switch Intercept"): EXITINFO1 = the new
// TSS selector, EXITINFO2 = IRET/JMP reason and the error code; NRIP for a
// switch by an instruction (CALL, JMP, IRET), 0 for one through a task gate
// of the IDT (`has_error`/`error`: the exception's error code).
bool intercept_task_switch(Cpu& cpu, uint16_t selector, bool iret, bool jmp, bool has_error, uint32_t error,
                           bool by_instruction);

// FERR_FREEZE (APM 15.14.2 "FERR_FREEZE Intercept"; intercept vector 3, bit 30): an x87 instruction
// about to freeze on a pending unmasked x87 exception (CR0.NE = 0, IGNNE#
// deasserted) exits with VMEXIT_FERR_FREEZE instead of freezing.
bool intercept_ferr_freeze(Cpu& cpu);

// ---- exceptions and events (svm/guest_events.cpp) ----------------------------------
// An exception an instruction raised, before CR2 is written: exits when its
// vector is intercepted (EXITINFO1 = the error code, EXITINFO2 = the #PF
// address, instruction bytes for #PF; APM 15.12).
bool intercept_exception(Cpu& cpu, const GuestException& e);
// Any event about to be delivered (Cpu::deliver_event): the exception
// intercepts of #DB traps, INT3, INTO and INT1; records INTn/INT3/INTO as
// the event in delivery for EXITINTINFO. EVENTINJ's event is exempt.
bool intercept_event(Cpu& cpu, uint8_t vector, EventType type, uint32_t error, uint64_t next);
// An exception raised while delivering an event: exits with the event as
// EXITINTINFO (APM 15.7.2).
bool intercept_exception_in_delivery(Cpu& cpu, const GuestException& e, uint8_t vector, EventType type,
                                     uint32_t error);
// The EXITINTINFO value (EVENTINJ's format, APM 15.7.2) of an event
// softvt delivers: V, TYPE, the vector, EV with the error code.
uint64_t exitintinfo_of(uint8_t vector, EventType type, uint32_t error);
// The event Cpu::deliver_event is delivering (Cpu::delivering), recorded
// as the EXITINTINFO of the #VMEXIT about to be made inside its delivery
// (an NPF, a task switch through a task gate); EVENTINJ's event is
// recorded already, as the VMCB gave it.
void note_event_in_delivery(Cpu& cpu);
// Delivers an exception in the guest as the run loop would, with its
// intercept (used where svm/ code catches one: EVENTINJ's delivery).
void deliver_guest_exception(Cpu& cpu, const GuestException& e);
// A shutdown (triple fault) in the guest: #VMEXIT(SHUTDOWN) if intercepted.
bool intercept_shutdown(Cpu& cpu);
// Takes the highest-priority deliverable event of guest mode: NMI, INTR
// (to the host as #VMEXIT when intercepted), the virtual interrupt.
bool take_guest_event(Cpu& cpu);
// Recomputes SvmState::v_irq_pending from V_IRQ.
void update_virtual_irq(Cpu& cpu);

}  // namespace softvt::svm
