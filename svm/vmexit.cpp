#include "svm/vmexit.h"

#include <string>

#include "emu/cpu.h"
#include "svm/host_save.h"
#include "svm/vmcb.h"
#include "svm/vmrun_checks.h"

namespace softvt::svm {

void vmexit_invalid(Cpu& cpu, const VmrunCheck& failed) {
  SvmState& st = cpu.svm;
  Memory& mem = cpu.mem;
  // 1. GIF = 0 (APM 15.17: #VMEXIT clears GIF).
  st.gif = false;
  // 2. EXITCODE and the exit information. All 64 bits of EXITCODE: software
  //    compares VMEXIT_INVALID as a 64-bit -1 (issue 5).
  mem.write_phys(st.vmcb_pa + vmcb::EXITCODE, 8, exit_code::INVALID);
  mem.write_phys(st.vmcb_pa + vmcb::EXITINFO1, 8, 0);
  mem.write_phys(st.vmcb_pa + vmcb::EXITINFO2, 8, 0);
  // 3. Reload the host state; continue after VMRUN.
  cpu.next_rip = load_host_state(cpu, st.hsave_pa);
  st.failed_check = failed.name;
  if (cpu.tracer) cpu.tracer->vm_entry_failed(cpu, failed.name);
  if (cpu.tracer) cpu.tracer->vm_exit(cpu, Cpu::Tracer::VmArch::Svm, exit_code::INVALID, 0);
  if (cpu.tracer)
    cpu.tracer->note(cpu, std::string("SVM: VMRUN consistency check '") + failed.name + "' failed (" + failed.what +
                              ", " + failed.section + "): #VMEXIT(VMEXIT_INVALID)");
}

}  // namespace softvt::svm
