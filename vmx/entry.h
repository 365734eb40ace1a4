// VM entry after VMLAUNCH/VMRESUME's instruction checks (SDM Vol. 3C
// chapter "VM Entries": 28.2 checks on controls and host state, 28.3
// checking and loading guest state, 28.8 failures after it).
#pragma once

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

// Runs the entry checks (vmx/entry_checks.h) and, when they pass, loads
// the guest state and enters VMX non-root operation. A failed control or
// host-state check is VMfailValid(7/8); a failed guest-state check is a
// VM-entry-failure VM exit to the host. Cpu::vmx.failed_check names the
// failed check (nullptr after a successful entry). A VMCS asking for
// something softvt does not implement yet stops the run with an error
// naming it.
void vm_entry(Cpu& cpu, bool launch);

}  // namespace softvt::vmx
