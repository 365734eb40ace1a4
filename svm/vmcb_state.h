// Reading and writing the VMCB's state save area (and softvt's host save
// area, which uses the same layout: svm/README.md) in guest-physical
// memory: segments, descriptor tables, and the images VMRUN checks before
// anything is committed.
#pragma once
#include <cstdint>

#include "emu/cpu_state.h"

namespace softvt {
class Memory;
}

namespace softvt::svm {

// A segment at `addr` (selector, attributes, limit, base: APM Table B-2).
SegReg read_vmcb_segment(Memory& mem, uint64_t addr);
void write_vmcb_segment(Memory& mem, uint64_t addr, const SegReg& seg);
// GDTR/IDTR: limit at +4, base at +8 (selector and attributes reserved).
DescTable read_vmcb_table(Memory& mem, uint64_t addr);
void write_vmcb_table(Memory& mem, uint64_t addr, const DescTable& t);

// The guest state VMRUN loads (APM Vol. 3 VMRUN "Operation").
struct GuestImage {
  SegReg es, cs, ss, ds;
  DescTable gdtr, idtr;
  uint64_t efer, cr0, cr2, cr3, cr4, dr6, dr7, rflags, rip, rsp, rax, g_pat;
  uint8_t cpl;
  bool interrupt_shadow;
};

// The control fields VMRUN's checks read.
struct ControlImage {
  uint32_t intercept_misc2;
  uint64_t iopm_base_pa, msrpm_base_pa;
  uint32_t asid;
  uint64_t eventinj;
  uint64_t nested_ctl, n_cr3;  // 090h (NP_ENABLE), 0B0h
  // Not a VMCB field: the host's CR0 at VMRUN, which APM 15.25.3's check
  // reads (VMRUN fills it in).
  uint64_t host_cr0;
};

GuestImage read_guest_image(Memory& mem, uint64_t vmcb_pa);
ControlImage read_control_image(Memory& mem, uint64_t vmcb_pa);

}  // namespace softvt::svm
