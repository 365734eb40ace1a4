// Model-specific registers beyond the base set of emu/interp/system.cpp:
// the TSC and IA32_TSC_ADJUST, IA32_TSC_AUX, IA32_MISC_ENABLE, the MTRRs
// and the machine-check registers, each present only when the CPU model
// reports its feature; and CPUID as the instruction returns it, with the
// bits that reflect the current state (CR4.OSXSAVE, the APIC enable,
// IA32_MISC_ENABLE) merged into the model's leaves.
#pragma once
#include <cstdint>

#include "emu/cpu_model.h"

namespace softvt {

class Cpu;

enum class MsrAccess : uint8_t { Unknown, Ok, Fault };

MsrAccess read_model_msr(Cpu& cpu, uint32_t index, uint64_t& value);
MsrAccess write_model_msr(Cpu& cpu, uint32_t index, uint64_t value);

// MONITOR/MWAIT are enabled (Intel: IA32_MISC_ENABLE bit 18; AMD: always).
bool monitor_enabled(const Cpu& cpu);

// RDMSR / WRMSR at CPL 0 without the instruction around them (the
// platform's MSRs first, then the core's): false = #GP(0). The VMX MSR
// areas (vmx/msr_areas.cpp) load and store MSRs "as RDMSR/WRMSR would".
bool msr_read_as_rdmsr(Cpu& cpu, uint32_t index, uint64_t& value);
bool msr_write_as_wrmsr(Cpu& cpu, uint32_t index, uint64_t value);

// CPUID leaf `leaf`, subleaf `subleaf` for the current state.
CpuidLeaf cpuid_current(const Cpu& cpu, uint32_t leaf, uint32_t subleaf);

}  // namespace softvt
