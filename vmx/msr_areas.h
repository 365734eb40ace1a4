// The VM-entry MSR-load area and the VM-exit MSR-store and MSR-load areas
// (SDM Vol. 3C 28.4 "Loading MSRs", 29.4 "Saving MSRs", 29.6 "Loading
// MSRs"): arrays of 16-byte entries in guest-physical memory, bits 31:0 the
// MSR index, bits 63:32 reserved (0), bits 127:64 the data.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

// Loads `count` entries at `addr` in order, each as WRMSR at CPL 0 would.
// Returns 0 when all were loaded, else the 1-based number of the entry
// that failed (entries before it stay loaded).
uint32_t load_msr_area(Cpu& cpu, uint64_t addr, uint32_t count);
// Stores the MSRs of `count` entries at `addr` into their data, each as
// RDMSR would read it; false when an entry fails.
bool store_msr_area(Cpu& cpu, uint64_t addr, uint32_t count);

// VMX-abort indicators (SDM 29.7 "VMX Aborts").
namespace abort_indicator {
constexpr uint32_t SAVING_GUEST_MSRS = 1, LOADING_HOST_MSRS = 4;
}
// A VMX abort: the indicator is written to the current VMCS region (offset
// 4) and the logical processor shuts down.
void vmx_abort(Cpu& cpu, uint32_t indicator);

}  // namespace softvt::vmx
