// VMCS shadowing (SDM Vol. 3C 25.10 "VMCS Types: Ordinary and Shadow",
// 25.6.15 "VMCS Shadowing Bitmap Addresses", and the VMREAD/VMWRITE
// pseudocode of 31.3): with the "VMCS shadowing" control, VMREAD and
// VMWRITE in VMX non-root operation whose field's bit is clear in the
// VMREAD/VMWRITE bitmap access the shadow VMCS the VMCS link pointer
// references instead of exiting.
//
// Storage (vmx/README.md "Shadow VMCSs"): a shadow VMCS has softvt's region
// layout like any VMCS. While the guest runs it is never the current VMCS
// (VM entry refuses a shadow current VMCS and a link pointer equal to the
// current-VMCS pointer), so its data lives in guest memory and a shadowed
// VMREAD/VMWRITE reads or writes the field at its layout offset there,
// through Memory::read_phys/write_phys: no second cache to keep coherent.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

struct VmcsField;

// Whether VMREAD (`write` false) or VMWRITE (`write` true) of the field
// encoding `encoding` (the register operand, zero-extended) in VMX
// non-root operation accesses the shadow VMCS rather than exiting:
// "VMCS shadowing" is 1, bits 63:15 of the operand are 0 and the field's
// bit (bits 14:0 of the encoding) is 0 in the VMREAD or VMWRITE bitmap.
bool shadowed_access(const Cpu& cpu, uint64_t encoding, bool write);

// The VMCS link pointer is valid (not FFFFFFFF_FFFFFFFFH): a shadowed
// VMREAD/VMWRITE otherwise ends in VMfailInvalid.
bool shadow_vmcs_valid(const Cpu& cpu);

// A field of the shadow VMCS (zero-extended), and its new value (truncated
// to the field's width).
uint64_t read_shadow_field(Cpu& cpu, const VmcsField& f);
void write_shadow_field(Cpu& cpu, const VmcsField& f, uint64_t value);

}  // namespace softvt::vmx
