// `softvt run --kernel ... --accel kvm`: the PC machine's CPUs run on host
// KVM while everything else stays softvt's - the same loaders, devices,
// interrupt controllers, clock and CPU scheduling as with the interpreter
// (DESIGN.md "Accelerators"), so a kernel's behaviour can be compared
// between the two. KVM gets no in-kernel interrupt controller: port I/O
// and MMIO exits go to softvt's devices, and interrupts are injected from
// softvt's local APICs (KVM_INTERRUPT, KVM_NMI; api.rst "KVM_INTERRUPT"),
// the way a VMM with a user-space irqchip drives KVM.
#pragma once
#include <memory>
#include <string>

#include "emu/cpu_model.h"
#include "emu/machine/pc.h"

namespace softvt {

// The model a KVM-run machine presents: without KVM's in-kernel local
// APIC, KVM cannot run the x2APIC MSRs or IA32_TSC_DEADLINE (both need
// it), so CPUID leaf 1 drops x2APIC (ECX[21]) and TSC-deadline (ECX[24]),
// and softvt's local APICs are configured the same way.
CpuModel kvm_machine_model(const CpuModel& model);

// An engine for `pc` with one vCPU per CPU, or nullptr and `error` (no
// /dev/kvm, or a KVM that cannot run this machine).
std::unique_ptr<Pc::Engine> make_kvm_engine(Pc& pc, std::string& error);

}  // namespace softvt
