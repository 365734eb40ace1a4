// #VMEXIT (APM Vol. 2 15.6 "#VMEXIT"): the guest state saved into the
// VMCB's state save area, the exit information written to the control
// area, the host state reloaded from the host save area, GIF cleared. Also
// the #VMEXIT(VMEXIT_INVALID) of a VMRUN that failed a consistency check,
// which saves no guest state.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::svm {

struct VmrunCheck;

// What a #VMEXIT writes besides the guest state (APM 15.7 "Intercept
// Operation", Table B-1).
struct ExitInfo {
  uint64_t code = 0;       // EXITCODE (APM Appendix C)
  uint64_t info1 = 0;      // EXITINFO1
  uint64_t info2 = 0;      // EXITINFO2
  // NRIP save (APM 15.7.1): the next sequential RIP of an intercepted
  // instruction; 0 for every other intercept.
  uint64_t nrip = 0;
  // Decode assists for #PF (APM "Decode Assists"): the guest
  // instruction bytes at RIP are written to INSN_LEN / INSN_BYTES.
  bool insn_bytes = false;
  // The #VMEXIT happens inside an instruction handler, which returns to
  // the run loop right after it (Cpu::vm_switched).
  bool in_handler = false;
};

// The #VMEXIT from guest mode. The guest's RIP is Cpu::s.rip (the
// intercepted instruction, or where the event was to be delivered);
// EXITINTINFO is the event in delivery (SvmState::delivering) if any. The
// CPU continues in the host at the instruction after VMRUN (Cpu::s.rip and
// Cpu::next_rip both, so an instruction handler may call it and return).
void vmexit(Cpu& cpu, const ExitInfo& info);
void vmexit(Cpu& cpu, uint64_t code, uint64_t info1 = 0, uint64_t info2 = 0);

// Writes EXITCODE = VMEXIT_INVALID (the full 64-bit -1), EXITINFO1 = 0 and
// EXITINFO2 = 0 to the VMCB of the VMRUN, clears GIF, reloads the host
// state from the host save area and continues at the host RIP (the
// instruction after VMRUN); records the check's name (SvmState::
// failed_check) and notes it in the trace.
void vmexit_invalid(Cpu& cpu, const VmrunCheck& failed);

}  // namespace softvt::svm
