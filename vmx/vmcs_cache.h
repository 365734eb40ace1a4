// The cached current VMCS (vmx/vmx_state.h): loading it from its region,
// writing it back, its fields and its launch state.
#pragma once
#include <cstdint>

#include "vmx/vmcs_fields.h"
#include "vmx/vmx_state.h"

namespace softvt {
class Memory;
}

namespace softvt::vmx {

enum class LaunchState : uint8_t { Clear = 0, Launched = 1 };

// Makes the VMCS at `addr` current: the cached one (if another) is
// written back first, then the region's data is read into the cache.
void make_current(VmxState& v, Memory& mem, uint64_t addr, bool shadow);
// Writes the current VMCS back to its region (the data part: launch state
// and fields; the revision identifier and the abort indicator stay).
void write_back_current(const VmxState& v, Memory& mem);
// VMCLEAR: the VMCS at `addr` has its data in memory and launch state
// "clear"; if it was current, there is no current VMCS any more.
void clear_vmcs(VmxState& v, Memory& mem, uint64_t addr);

// The full value of a field of the current VMCS (zero-extended).
uint64_t read_field(const VmxState& v, const VmcsField& f);
// Stores `value` truncated to the field's width.
void write_field(VmxState& v, const VmcsField& f, uint64_t value);
// The same, by encoding (for fields every processor has, such as
// VM_INSTRUCTION_ERROR); the encoding must be in the table.
uint64_t read_field(const VmxState& v, uint32_t encoding);
void write_field(VmxState& v, uint32_t encoding, uint64_t value);

LaunchState launch_state(const VmxState& v);
void set_launch_state(VmxState& v, LaunchState s);

}  // namespace softvt::vmx
