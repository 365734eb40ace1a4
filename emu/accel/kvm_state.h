// Translation between softvt's CpuState and the register structures of the
// Linux KVM API (Documentation/virt/kvm/api.rst: KVM_SET_REGS, KVM_SET_SREGS,
// KVM_SET_FPU, KVM_SET_MSRS, KVM_SET_CPUID2), used by the KVM backend
// (emu/accel/kvm.cpp).
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

#include "emu/cpu_model.h"
#include "emu/cpu_state.h"

namespace softvt::kvm {

kvm_regs to_kvm_regs(const CpuState& s);
void from_kvm_regs(const kvm_regs& r, CpuState& s);

kvm_segment to_kvm_segment(const SegReg& seg);
SegReg from_kvm_segment(const kvm_segment& k);

kvm_sregs to_kvm_sregs(const CpuState& s);
// Fills segments, descriptor tables, control registers, EFER, the APIC
// base and CPL as protected mode defines it (SS.DPL); the caller derives
// the mode afterwards (Cpu::update_mode, which also makes CPL 0 in real
// mode and 3 in virtual-8086 mode).
void from_kvm_sregs(const kvm_sregs& k, CpuState& s);

// x87/SSE state as a KVM_SET_XSAVE/KVM_GET_XSAVE image (the standard,
// non-compacted XSAVE layout of SDM Vol. 1 13.4; 4096 bytes or the larger
// size KVM_CAP_XSAVE2 reports). KVM_SET_FPU
// cannot be used: on an XSAVES host it writes the legacy bytes but leaves
// XSTATE_BV alone, so the guest starts with x87/SSE in their init state
// (measured on this host: XMM registers and MXCSR set with KVM_SET_FPU
// read back through KVM_GET_XSAVE as zero / 0x1f80).
// The legacy region (FXSAVE layout, SDM Vol. 1 Table 10-2) of CpuState's
// xsave area, with XSTATE_BV = x87 | SSE so both are loaded. `kept`, when
// given, is an image read from KVM before: its other components (AVX,
// AVX-512, ... which softvt does not model) and their XSTATE_BV bits stay
// as they were, so an instruction the interpreter runs for KVM does not
// reset them. Ring-3 code can hold such state even where the guest's CPUID
// lacks it: this host's KVM (PVM) runs ring 3 natively, with the host's
// CPUID and XCR0 (glibc's memcpy may then use YMM16..31).
std::vector<uint8_t> to_kvm_xsave(const CpuState& s, size_t image_size,
                                  const std::vector<uint8_t>& kept = {});
// Copies the legacy region back; KVM fills components the guest left in
// their init state with the architectural init values.
void from_kvm_xsave(const std::vector<uint8_t>& image, CpuState& s);

// The MSRs of CpuState that the backend transfers with KVM_SET/GET_MSRS.
struct MsrField {
  uint32_t index;            // SDM Vol. 4 MSR address
  uint64_t CpuState::*field;
  const char* name;
};
std::span<const MsrField> transferred_msrs();

// The guest CPUID for `model`: every leaf of the model, with the registers
// that hold feature flags ANDed with what the host KVM supports
// (KVM_GET_SUPPORTED_CPUID), so the real CPU never advertises an
// instruction the model lacks nor one KVM cannot run; vendor, signature,
// brand and size fields are taken from the model unchanged.
std::vector<kvm_cpuid_entry2> guest_cpuid(const CpuModel& model,
                                          const std::vector<kvm_cpuid_entry2>& supported);

}  // namespace softvt::kvm
