// The global interrupt flag (APM Vol. 2 15.17 "Global Interrupt Flag,
// STGI and CLGI"). GIF lives in SvmState; the event code asks it
// (Cpu::event_deliverable, Cpu::take_pending_event: INTR and NMI are held
// pending while GIF = 0) and so does INIT (Cpu::init_signal holds it).
#pragma once

namespace softvt {
class Cpu;
}

namespace softvt::svm {

// Sets GIF. Setting it delivers an INIT held while it was 0: the INIT is
// recognised at the boundary after the instruction that set GIF, so the
// caller's instruction completes first (its next RIP becomes the INIT's
// reset RIP).
void set_gif(Cpu& cpu, bool gif);

// Called by Cpu::init_signal first: true if GIF = 0 holds the INIT pending.
bool hold_init(Cpu& cpu);
// INIT's effect on the SVM state: VM_CR.SVMDIS is cleared when LOCK is 0
// (APM 15.30.1); EFER (and with it SVME) is cleared by INIT itself; an
// unintercepted INIT in a guest ends guest mode.
void reset_on_init(Cpu& cpu);

}  // namespace softvt::svm
