// ASID-tagged translations (APM Vol. 2 15.16 "TLB Control"): the guest's
// translations live in the TLB's virtualization context = its ASID (emu/
// cpu.h tlb_space, docs/decisions.md "TLB tags"); the host's in context 0.
// VMRUN and #VMEXIT switch the context without flushing; TLB_CONTROL says
// what VMRUN flushes.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::svm {

// The control-register and EFER bits softvt's cached translations depend
// on (their permissions are derived from them when the entry is made;
// hardware applies them at each access), packed into one value.
uint64_t paging_key(const Cpu& cpu);

// VMRUN, after the guest state is loaded: the context becomes the ASID,
// then TLB_CONTROL 00h keeps everything, 01h flushes every entry of every
// ASID, 03h the entries of this ASID, 07h its non-global ones (APM
// 15.16.1); the reserved values flush every entry.
void enter_guest_tlb(Cpu& cpu, uint32_t asid, uint8_t tlb_control);
// #VMEXIT, after the host state is loaded: back to context 0.
void leave_guest_tlb(Cpu& cpu);

}  // namespace softvt::svm
