// Exceptions, interrupts and virtual interrupts in SVM guest mode (APM
// Vol. 2 15.12 "Exception Intercepts", 15.13 "Interrupt Intercepts",
// 15.17 GIF, 15.21 "Interrupt and LAPIC Support").
#include <string>

#include "emu/cpu.h"
#include "svm/controls.h"
#include "svm/intercepts.h"
#include "svm/vmcb.h"
#include "svm/vmexit.h"

namespace softvt::svm {
namespace {

const GuestControls& ctl(const Cpu& cpu) { return cpu.svm.ctl; }

bool exception_intercepted(const Cpu& cpu, uint8_t vector) {
  return vector < 32 && ((ctl(cpu).intercept_exceptions >> vector) & 1);
}

// The EXITINTINFO / EVENTINJ type of an event softvt delivers (APM 15.20):
// 0 external interrupt, 2 NMI, 3 exception (INT3, INTO and INT1 included),
// 4 software interrupt (INTn).
uint64_t svm_event_type(EventType t) {
  switch (t) {
    case EventType::ExternalInterrupt: return eventinj::TYPE_INTR;
    case EventType::Nmi: return eventinj::TYPE_NMI;
    case EventType::SoftwareInterrupt: return eventinj::TYPE_SOFT_INT;
    default: return eventinj::TYPE_EXCEPTION;
  }
}

// Exceptions that push an error code (the EV bit of EXITINTINFO).
bool pushes_error_code(uint8_t vector, EventType t) {
  if (t != EventType::HardwareException) return false;
  switch (vector) {
    case vec::DF: case vec::TS: case vec::NP: case vec::SS: case vec::GP: case vec::PF:
    case vec::AC: case vec::CP: return true;
    default: return false;
  }
}

uint64_t event_info(uint8_t vector, EventType t, uint32_t error) { return exitintinfo_of(vector, t, error); }

void note_delivery(Cpu& cpu, uint64_t info) {
  cpu.svm.delivering = EventInDelivery{true, info, cpu.s.rip, cpu.s.insn_count};
}

// `nrip` != 0: INT3/INTO/INT1, inside their instruction handler.
bool exception_exit(Cpu& cpu, uint8_t vector, uint32_t error, uint64_t cr2, uint64_t nrip) {
  ExitInfo x;
  x.code = exit_code::EXCP_BASE + vector;
  x.info1 = error == NO_ERROR_CODE ? 0 : error;
  if (vector == vec::PF) {
    x.info2 = cr2;
    x.insn_bytes = true;  // decode assists (APM "Decode Assists")
  }
  x.nrip = nrip;
  x.in_handler = nrip != 0;
  vmexit(cpu, x);
  return true;
}

// ---- masking (APM 15.21.1 "Physical Interrupt Masking", 15.21.4) -----------------

// Physical INTR: with V_INTR_MASKING = 1 the host's IF (as at VMRUN) masks
// it, else the guest's. An intercepted INTR exits whatever the guest's
// interrupt shadow; one delivered to the guest waits for the shadow's end.
bool physical_intr_unmasked(const Cpu& cpu) {
  const bool if_set = (ctl(cpu).vintr & vintr::V_INTR_MASKING) ? cpu.svm.host_if : (cpu.s.rflags & fl::IF);
  if (!if_set) return false;
  return (ctl(cpu).misc1 & misc1::INTR) || !cpu.s.interrupt_shadow;
}

// An intercepted NMI exits whatever the guest's NMI blocking (it is the
// host's NMI); one for the guest waits for its blocking and a MOV SS shadow.
bool nmi_unmasked(const Cpu& cpu) {
  if (ctl(cpu).misc1 & misc1::NMI) return true;
  return !cpu.s.nmi_blocked && !(cpu.s.interrupt_shadow & shadow::MOV_SS);
}

// The virtual interrupt: V_IRQ, the guest's IF, no interrupt shadow, and
// V_IGN_TPR or V_INTR_PRIO above V_TPR (APM 15.21.4).
bool virtual_irq_unmasked(const Cpu& cpu) {
  const uint64_t v = ctl(cpu).vintr;
  if (!(v & vintr::V_IRQ) || !(cpu.s.rflags & fl::IF) || cpu.s.interrupt_shadow) return false;
  // vGIF: V_GIF = 0 holds virtual interrupts (APM "Virtual GIF").
  if ((v & vintr::V_GIF_ENABLE) && !(v & vintr::V_GIF)) return false;
  const unsigned prio = unsigned((v & vintr::V_INTR_PRIO) >> vintr::V_INTR_PRIO_SHIFT);
  return (v & vintr::V_IGN_TPR) || prio > unsigned(v & 0xf);
}

}  // namespace

uint64_t exitintinfo_of(uint8_t vector, EventType t, uint32_t error) {
  uint64_t v = vector | (svm_event_type(t) << eventinj::TYPE_SHIFT) | eventinj::V;
  if (pushes_error_code(vector, t)) v |= eventinj::EV | (uint64_t(error == NO_ERROR_CODE ? 0 : error) << 32);
  return v;
}

// EXITINTINFO of a #VMEXIT during the delivery of an event (APM 15.7.2):
// the event, as Cpu::deliver_event records it - unless this boundary's
// record already holds that event: EVENTINJ's as the VMCB gave it (its EV
// bit, not the vector, says whether an error code is pushed).
void note_event_in_delivery(Cpu& cpu) {
  const Cpu::EventInDelivery& d = cpu.delivering;
  if (!d.valid) return;
  const EventInDelivery& r = cpu.svm.delivering;
  const bool recorded = r.valid && r.rip == cpu.s.rip && r.insn_count == cpu.s.insn_count &&
                        (r.info & eventinj::VECTOR) == d.vector &&
                        ((r.info & eventinj::TYPE_MASK) >> eventinj::TYPE_SHIFT) == svm_event_type(d.type);
  if (!recorded) note_delivery(cpu, exitintinfo_of(d.vector, d.type, d.error));
}

bool guest_event_deliverable(const Cpu& cpu) {
  if (!cpu.svm.gif) return false;
  if (cpu.nmi_pending && nmi_unmasked(cpu)) return true;
  if (cpu.intr_line && physical_intr_unmasked(cpu)) return true;
  return cpu.svm.v_irq_pending && virtual_irq_unmasked(cpu);
}

void update_virtual_irq(Cpu& cpu) {
  cpu.svm.v_irq_pending = cpu.svm.guest_mode && (cpu.svm.ctl.vintr & vintr::V_IRQ);
}

bool take_guest_event(Cpu& cpu) {
  if (!guest_event_deliverable(cpu)) return false;
  cpu.s.halted = 0;
  // NMI (APM 15.13.2): the intercept exits and leaves the NMI pending.
  if (cpu.nmi_pending && nmi_unmasked(cpu)) {
    if (ctl(cpu).misc1 & misc1::NMI) {
      vmexit(cpu, exit_code::NMI);
      return true;
    }
    cpu.nmi_pending = false;
    cpu.s.nmi_blocked = 1;
    if (cpu.tracer) cpu.tracer->note(cpu, "NMI (guest)");
    cpu.deliver_event(vec::NMI, EventType::Nmi, NO_ERROR_CODE, cpu.s.rip);
    return true;
  }
  // INTR (APM 15.13.1): the intercept exits before the acknowledge cycle;
  // the interrupt stays pending for the host.
  if (cpu.intr_line && physical_intr_unmasked(cpu)) {
    if (ctl(cpu).misc1 & misc1::INTR) {
      vmexit(cpu, exit_code::INTR);
      return true;
    }
    const uint8_t vector = cpu.intr_source ? cpu.intr_source->intr_acknowledge() : 0;
    if (cpu.tracer) cpu.tracer->note(cpu, "external interrupt (guest), vector " + std::to_string(vector));
    cpu.deliver_event(vector, EventType::ExternalInterrupt, NO_ERROR_CODE, cpu.s.rip);
    return true;
  }
  // The virtual interrupt (APM 15.21.4): the VINTR intercept exits with
  // V_IRQ still set; otherwise V_INTR_VECTOR is delivered through the
  // guest's IDT as an external interrupt and V_IRQ is cleared.
  if (ctl(cpu).misc1 & misc1::VINTR) {
    vmexit(cpu, exit_code::VINTR);
    return true;
  }
  const uint8_t vector = uint8_t(ctl(cpu).vintr >> vintr::V_INTR_VECTOR_SHIFT);
  cpu.svm.ctl.vintr &= ~vintr::V_IRQ;
  update_virtual_irq(cpu);
  if (cpu.tracer) cpu.tracer->note(cpu, "virtual interrupt, vector " + std::to_string(vector));
  cpu.deliver_event(vector, EventType::ExternalInterrupt, NO_ERROR_CODE, cpu.s.rip);
  return true;
}

bool intercept_exception(Cpu& cpu, const GuestException& e) {
  if (!exception_intercepted(cpu, e.vector)) return false;
  return exception_exit(cpu, e.vector, e.error_code, e.cr2, 0);
}

bool intercept_event(Cpu& cpu, uint8_t vector, EventType type, uint32_t error, uint64_t next) {
  if (cpu.svm.injecting) {
    cpu.svm.injecting = false;  // EVENTINJ's event itself is not intercepted (APM 15.20)
    return false;
  }
  switch (type) {
    case EventType::HardwareException:
      // #DB traps and the like (instruction faults were checked by the run loop).
      return exception_intercepted(cpu, vector) && exception_exit(cpu, vector, error, 0, 0);
    case EventType::SoftwareException:   // INT3, INTO: RIP = the instruction, NRIP the next
    case EventType::PrivilegedSoftware:  // INT1 (ICEBP) not intercepted as an instruction
      if (exception_intercepted(cpu, vector)) return exception_exit(cpu, vector, NO_ERROR_CODE, 0, next);
      note_delivery(cpu, event_info(vector, type, error));
      return false;
    case EventType::SoftwareInterrupt:
      note_delivery(cpu, event_info(vector, type, error));
      return false;
    default: return false;
  }
}

bool intercept_exception_in_delivery(Cpu& cpu, const GuestException& e, uint8_t vector, EventType type,
                                     uint32_t error) {
  if (!exception_intercepted(cpu, e.vector)) return false;
  note_delivery(cpu, event_info(vector, type, error));
  return exception_exit(cpu, e.vector, e.error_code, e.cr2, 0);
}

void deliver_guest_exception(Cpu& cpu, const GuestException& e) {
  if (intercept_exception(cpu, e)) return;
  if (e.vector == vec::PF) cpu.s.cr2 = e.cr2;
  cpu.deliver_event(e.vector, EventType::HardwareException, e.error_code, cpu.s.rip);
}

bool intercept_shutdown(Cpu& cpu) {
  if (!(ctl(cpu).misc1 & misc1::SHUTDOWN)) return false;
  vmexit(cpu, exit_code::SHUTDOWN);
  return true;
}

}  // namespace softvt::svm
