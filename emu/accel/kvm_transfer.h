// Moving a CpuState into and out of a KVM vCPU (the ioctls of api.rst:
// KVM_SET_CPUID2, KVM_SET/GET_SREGS, _REGS, _XSAVE, _MSRS), shared by the
// flat-image backend (emu/accel/kvm.cpp) and the PC machine's
// (emu/accel/kvm_pc.cpp). Each returns "" or the failing ioctl and why.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emu/accel/kvm_vm.h"
#include "emu/cpu_model.h"
#include "emu/cpu_state.h"

namespace softvt::kvm {

// The model's CPUID masked by what this KVM supports (kvm_state.h
// guest_cpuid). `apic_id`, when given, goes into leaf 1 EBX[31:24] and the
// topology leaves' EDX, as the CPUID instruction reports it for that CPU
// (the interpreter merges it in at execution, emu/interp/system.cpp).
std::string guest_cpuid_for(const Vm& vm, const CpuModel& model, int apic_id,
                            std::vector<kvm_cpuid_entry2>& out);
std::string set_cpuid(const Vm& vm, unsigned vcpu, const std::vector<kvm_cpuid_entry2>& entries);

// Segments, control and descriptor-table registers, EFER, then the GPRs,
// RIP and RFLAGS.
std::string set_registers(const Vm& vm, unsigned vcpu, const CpuState& s);
// The rest of the state the backends transfer: x87/SSE (XSAVE image) and
// the MSRs of transferred_msrs(). `kept_xsave`: an image get_state read,
// whose components softvt does not model are written back unchanged
// (kvm_state.h to_kvm_xsave).
std::string set_fpu_and_msrs(const Vm& vm, unsigned vcpu, const CpuState& s,
                             const std::vector<uint8_t>& kept_xsave = {});
// Everything above, read back (CPL too, from SS.DPL; the caller derives
// the mode). `xsave_image`, when given, receives KVM's whole XSAVE image.
std::string get_state(const Vm& vm, unsigned vcpu, CpuState& s,
                      std::vector<uint8_t>* xsave_image = nullptr);

}  // namespace softvt::kvm
