// Entering and staying in VMX operation, as the rest of the CPU sees it
// (SDM Vol. 3C 24.7 "Enabling and Entering VMX Operation", 24.8
// "Restrictions on VMX Operation"): IA32_FEATURE_CONTROL, and the CR0/CR4
// bits fixed while the CPU is in VMX operation. Called by WRMSR and MOV to
// CR0/CR4 (emu/interp/system.cpp) and by the loaders' callers.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
struct CpuModel;
}

namespace softvt::vmx {

// Whether WRMSR may write `value` to IA32_FEATURE_CONTROL now: an Intel
// model, the MSR not locked (bit 0), only the lock bit and the VMX-enable
// bits the model supports (bit 2 needs VMX; bit 1 needs VMX and SMX, which
// no softvt model has; SGX, SENTER and LMCE bits are not offered).
bool feature_control_writable(const Cpu& cpu, uint64_t value);

// What firmware leaves in IA32_FEATURE_CONTROL before it boots a kernel
// (softvt's loaders run no firmware): locked, with VMX outside SMX enabled
// when the model has VMX (vmx/README.md "IA32_FEATURE_CONTROL"); 0 on
// a model without the MSR (AMD).
uint64_t firmware_feature_control(const CpuModel& m);

// MOV to CR0 / CR4 in VMX operation: #GP(0) if the new value sets a bit
// clear in IA32_VMX_CR*_FIXED1 or clears a bit set in FIXED0 (SDM 24.8).
void check_cr0_fixed_bits(Cpu& cpu, uint64_t value);
void check_cr4_fixed_bits(Cpu& cpu, uint64_t value);

}  // namespace softvt::vmx
