// Events taken between instructions (SDM 6.9 "Priority Among Concurrent
// Exceptions and Interrupts"): NMI, then maskable external interrupts.
// Debug traps of the previous instruction (priority 4) are delivered by the
// run loop just before these (emu/exec.cpp, emu/debug.cpp); INIT/SIPI
// (priority 3) join as they are modelled.
#include <string>

#include "emu/cpu.h"
#include "svm/intercepts.h"

namespace softvt {

bool Cpu::take_pending_event() {
  // SVM guest mode: the intercepts and virtual interrupts (APM 15.13, 15.21).
  if (svm.guest_mode) return svm::take_guest_event(*this);
  // SVM: while GIF = 0, INTR and NMI are held pending (APM Vol. 2 15.17,
  // svm/gif.h); SMI would be too (softvt has no SMM).
  if (!svm.gif) return false;
  // NMI: blocked while an NMI handler runs (until IRET) and, on this
  // model, for the instruction after MOV SS / POP SS (SDM 6.8.3).
  if (nmi_pending && !s.nmi_blocked && !(s.interrupt_shadow & shadow::MOV_SS)) {
    nmi_pending = false;
    s.halted = 0;
    s.nmi_blocked = 1;
    if (tracer) tracer->note(*this, "NMI");
    deliver_event(vec::NMI, EventType::Nmi, NO_ERROR_CODE, s.rip);
    return true;
  }
  // INTR: masked by RFLAGS.IF and by either kind of interrupt shadow. The
  // acknowledge cycle names the vector (SDM 6.3.1; 8259A INTA sequence).
  if (intr_line && (s.rflags & fl::IF) && !s.interrupt_shadow) {
    const uint8_t vector = intr_source ? intr_source->intr_acknowledge() : 0;
    s.halted = 0;
    if (tracer) tracer->note(*this, "external interrupt, vector " + std::to_string(vector));
    deliver_event(vector, EventType::ExternalInterrupt, NO_ERROR_CODE, s.rip);
    return true;
  }
  return false;
}

}  // namespace softvt
