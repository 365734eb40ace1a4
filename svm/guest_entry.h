// Entering the guest: the part of VMRUN after its consistency checks passed
// (AMD APM Vol. 2 15.5 "VMRUN Instruction", 15.5.2, 15.16, 15.20, 15.21).
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::svm {

struct GuestImage;

// Copies the VMCB's control fields into SvmState::ctl, commits the guest
// state `g` (already checked), switches the TLB to the guest's ASID and
// applies TLB_CONTROL, sets GIF and guest mode, and injects EVENTINJ's
// event. The run loop then executes the guest (Cpu::vm_switched).
void enter_guest(Cpu& cpu, uint64_t vmcb_pa, const GuestImage& g);

}  // namespace softvt::svm
