#include "svm/gif.h"

#include "emu/cpu.h"

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
  if (cpu.svm.gif) return false;
  cpu.svm.init_held = true;
  return true;
}

void reset_on_init(Cpu& cpu) {
  if (!(cpu.svm.vm_cr & vm_cr::LOCK)) cpu.svm.vm_cr &= ~vm_cr::SVMDIS;
}

}  // namespace softvt::svm
