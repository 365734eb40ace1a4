// The VM-entry checks as one ordered table (DESIGN.md "Virtualization",
// "One table, many users"): each check is a named entry with its SDM
// section and the group that decides its architectural outcome. VM entry
// (vmx/entry.cpp) runs them in table order - the order of SDM Vol. 3C
// chapter "VM Entries": 28.2 "Checks on VMX Controls and Host-State Area"
// (28.2.1 controls, then 28.2.2-28.2.4 host state), then 28.3 "Checking and
// Loading Guest State" (28.3.1.1-28.3.1.6). Section numbers are those of
// the SDM editions where "VM Entries" is chapter 28; older editions number
// the same sections 26.x/27.x, so every entry also carries the title.
//
// The check's name is softvt's diagnostic (traces, the run's stop detail,
// tests); the outcome is architectural and depends only on the group:
//   Controls   -> VMfailValid(7)  "VM entry with invalid control field(s)"
//   HostState  -> VMfailValid(8)  "VM entry with invalid host-state field(s)"
//   GuestState -> VM-entry-failure VM exit, reason 33 | bit 31, with the
//                 check's exit qualification (SDM 28.8 "VM-Entry Failures
//                 During or After Loading Guest State": 0 default, 2 PDPTE,
//                 3 NMI injection, 4 VMCS link pointer).
#pragma once
#include <cstdint>
#include <span>

#include "vmx/vmx_state.h"

namespace softvt {
struct CpuModel;
class Memory;
}  // namespace softvt

namespace softvt::vmx {

enum class CheckGroup : uint8_t { Controls, HostState, GuestState };

// Exit qualifications of a VM-entry failure due to invalid guest state
// (SDM 28.8).
namespace entry_qual {
constexpr uint32_t DEFAULT = 0, PDPTE = 2, NMI_INJECTION = 3, LINK_POINTER = 4;
}

// What the checks read: the current VMCS, the model's capability MSRs,
// physical memory (the VMCS link pointer's revision identifier, the PDPTEs
// of a PAE guest, the virtual-APIC page) and the logical processor's own
// state that some checks name (IA32_EFER.LMA for the address-space size).
struct EntryContext {
  EntryContext(const VmxState& v, const CpuModel& m, Memory& mem, uint64_t current_efer);
  const VmxState& v;
  const CpuModel& model;
  Memory& mem;
  uint64_t current_efer;
  // The control words read once (secondary = 0 when "activate secondary
  // controls" is 0: SDM 25.6.2, the secondary controls are then ignored).
  uint32_t pin, proc, proc2, exit, entry;
  uint64_t f(uint32_t encoding) const;  // a field of the current VMCS
  bool ia32e_guest() const;
  bool unrestricted() const;
  bool host_64() const;  // "host address-space size"
};

struct EntryCheck {
  const char* name;        // softvt's name of the check (diagnostics)
  const char* section;     // SDM section number and title
  CheckGroup group;
  uint32_t qualification;  // GuestState only: the exit qualification
  bool (*holds)(const EntryContext&);
};

// The checks in the SDM's order.
std::span<const EntryCheck> entry_checks();

// The first check that fails, or nullptr when all hold.
const EntryCheck* first_failing_check(const EntryContext& c);

// The architectural outcome of a failed check.
struct EntryOutcome {
  bool vm_fail_valid;      // true: VMfailValid(error); false: VM-entry-failure VM exit
  uint32_t error;          // VM-instruction error (7 or 8)
  uint32_t exit_reason;    // 33 | ENTRY_FAILURE
  uint32_t qualification;
};
EntryOutcome outcome_of(const EntryCheck& c);
const char* group_name(CheckGroup g);

}  // namespace softvt::vmx
