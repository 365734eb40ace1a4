// The host-KVM backend: runs the same machine on /dev/kvm as the oracle
// for differential testing (DESIGN.md "Accelerators").
#include "emu/accel/accel.h"

namespace softvt {

std::string kvm_unavailable_reason() { return "the KVM backend is not implemented yet"; }

RunOutcome run_kvm(Memory&, const CpuState&, const CpuModel&, const RunOptions&) {
  RunOutcome o;
  o.stop = StopReason::Error;
  o.detail = kvm_unavailable_reason();
  return o;
}

}  // namespace softvt
