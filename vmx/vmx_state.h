// The VMX state of one CPU (owned by vmx/, referenced from Cpu as
// `cpu.vmx`): whether it is in VMX operation, the VMXON pointer, the
// current-VMCS pointer, and the current VMCS itself, cached here and
// written back to its region in guest memory when it stops being current
// (VMCLEAR, VMPTRLD of another VMCS, VMXOFF; DESIGN.md "Virtualization").
// The launch state of every other VMCS lives in its region (vmx/README.md).
#pragma once
#include <array>
#include <cstdint>

#include "vmx/ept.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vpid.h"

namespace softvt::vmx {

// The current-VMCS pointer's "no current VMCS" value (SDM Vol. 3C 25.1).
constexpr uint64_t INVALID_VMCS_POINTER = ~uint64_t(0);

struct EntryCheck;

// The controls of the running L2 that intercept points read (DESIGN.md
// "Virtualization": guest mode is a CPU state plus the active controls).
// Copied from the current VMCS at VM entry: while the CPU is in VMX
// non-root operation no VMWRITE can reach the VMCS (it exits), so the copy
// stays exact.
struct ActiveControls {
  uint32_t pin = 0, proc = 0, proc2 = 0, exit = 0, entry = 0;
  uint32_t exception_bitmap = 0, pf_mask = 0, pf_match = 0;
  uint32_t cr3_target_count = 0;
  uint64_t cr3_targets[4] = {};
  uint64_t cr0_mask = 0, cr4_mask = 0, cr0_shadow = 0, cr4_shadow = 0;
  uint64_t io_bitmap_a = 0, io_bitmap_b = 0, msr_bitmap = 0;
  uint64_t tsc_offset = 0;
};

struct VmxState {
  bool in_vmx_operation = false;  // after VMXON, until VMXOFF (root operation)
  bool non_root = false;          // VMX non-root operation: L2 runs under `controls`
  ActiveControls controls;
  bool injecting = false;  // VM entry is delivering an injected event (no exception-bitmap exit for it)
  // The check that failed the last VM entry (nullptr: none, or the entry
  // succeeded): tests and traces read its name (vmx/entry_checks.h).
  const EntryCheck* failed_check = nullptr;
  uint64_t vmxon_pointer = 0;
  uint64_t current_vmcs = INVALID_VMCS_POINTER;
  bool current_is_shadow = false;  // shadow-VMCS indicator of the current VMCS (SDM 25.10)
  // The current VMCS's region as softvt lays it out (offsets of
  // vmx/vmcs_fields.h); bytes below vmcs_layout::LAUNCH_STATE are unused.
  std::array<uint8_t, vmcs_layout::REGION_SIZE> cache{};
  // EPT of the running guest (Cpu::nested_paging points here while it
  // runs with "enable EPT") and the EP4TA tags of cached combined
  // mappings (vmx/vpid.h).
  Ept ept;
  EptTags ept_tags;

  bool has_current_vmcs() const { return current_vmcs != INVALID_VMCS_POINTER; }
};

}  // namespace softvt::vmx
