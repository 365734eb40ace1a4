// #VMEXIT (APM Vol. 2 15.6 "#VMEXIT"). This increment has no guest mode, so
// the one #VMEXIT that can happen is the one ending a VMRUN that failed a
// consistency check: EXITCODE = VMEXIT_INVALID.
#pragma once

namespace softvt {
class Cpu;
}

namespace softvt::svm {

struct VmrunCheck;

// Writes EXITCODE = VMEXIT_INVALID (the full 64-bit -1), EXITINFO1 = 0 and
// EXITINFO2 = 0 to the VMCB of the VMRUN, clears GIF, reloads the host
// state from the host save area and continues at the host RIP (the
// instruction after VMRUN); records the check's name (SvmState::
// failed_check) and notes it in the trace.
void vmexit_invalid(Cpu& cpu, const VmrunCheck& failed);

}  // namespace softvt::svm
