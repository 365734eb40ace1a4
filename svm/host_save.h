// The host save area at VM_HSAVE_PA (APM Vol. 2 15.30.4): where VMRUN saves
// the host state and #VMEXIT reloads it from. Its format is
// implementation-specific; softvt lays the page out as a VMCB state save
// area (the host's values at the offsets of APM Table B-2, control area
// unused), so the saved state can be read with the same table
// (svm/README.md lists the fields).
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::svm {

// VMRUN: ES, CS, SS, DS (selector and hidden state), GDTR, IDTR, EFER,
// CR0, CR3, CR4, RFLAGS, RIP = `next_rip` (the instruction after VMRUN),
// RSP, RAX (APM Vol. 3 VMRUN "Operation").
void save_host_state(Cpu& cpu, uint64_t hsave_pa, uint64_t next_rip);
// #VMEXIT: the same fields back, CR0.PE forced to 1, CPL = 0, DR7 with all
// breakpoints disabled (APM 15.6 "#VMEXIT"). Returns the host RIP. The
// TLB context is the caller's (svm/guest_tlb.h).
uint64_t load_host_state(Cpu& cpu, uint64_t hsave_pa);
// With nested paging the guest runs with G_PAT as its PAT: VMRUN saves the
// host's PAT at G_PAT's offset (268h of the save area), #VMEXIT reloads it.
void save_host_pat(Cpu& cpu, uint64_t hsave_pa);
void load_host_pat(Cpu& cpu, uint64_t hsave_pa);

}  // namespace softvt::svm
