#include "svm/gif.h"

#include "emu/cpu.h"
#include "svm/npt.h"
#include "svm/controls.h"
#include "svm/vmcb.h"
#include "svm/vmexit.h"

namespace softvt::svm {

void set_gif(Cpu& cpu, bool gif) {
  cpu.svm.gif = gif;
  if (!gif || !cpu.svm.init_held) return;
  cpu.svm.init_held = false;
  if (cpu.tracer) cpu.tracer->note(cpu, "SVM: STGI releases a held INIT");
  cpu.init_signal();
  cpu.next_rip = cpu.s.rip;  // the run loop retires the instruction at the INIT's RIP
}

bool hold_init(Cpu& cpu) {
  // In a guest with the INIT intercept: #VMEXIT(INIT), and the INIT stays
  // pending - held by the GIF = 0 the #VMEXIT leaves (APM 15.13.3).
  if (cpu.svm.guest_mode && (cpu.svm.ctl.misc1 & misc1::INIT)) {
    vmexit(cpu, exit_code::INIT);
    cpu.svm.init_held = true;
    return true;
  }
  if (cpu.svm.gif) return false;
  cpu.svm.init_held = true;
  return true;
}

void reset_on_init(Cpu& cpu) {
  if (!(cpu.svm.vm_cr & vm_cr::LOCK)) cpu.svm.vm_cr &= ~vm_cr::SVMDIS;
  // An INIT the guest does not intercept resets the processor: guest mode
  // ends with it (no #VMEXIT), the TLB back in the host's context.
  if (cpu.svm.guest_mode) {
    cpu.svm.guest_mode = false;
    cpu.svm.v_irq_pending = false;
    cpu.svm.injecting = false;
    cpu.set_tlb_context(0);
    if (cpu.svm.nested) leave_nested_paging(cpu);
    cpu.svm.nested = false;
  }
}

}  // namespace softvt::svm
