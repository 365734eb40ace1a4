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
  uint32_t ple_gap = 0, ple_window = 0;
  // APIC virtualization (vmx/apic_virtualization.h): the virtual-APIC
  // page with "use TPR shadow", the TPR threshold, and the APIC-access
  // page with "virtualize APIC accesses" (~0 without it: no page address
  // compares equal).
  uint64_t virtual_apic_page = 0;
  uint64_t apic_access_page = ~uint64_t(0);
  uint32_t tpr_threshold = 0;
};

// What VMX non-root operation tracks between instruction boundaries
// (vmx/event_exits.h): the events and timers the boundary checks of SDM
// Vol. 3C 26.2, 26.5 and 26.7 look at. Reset at every VM entry.
struct GuestEvents {
  // Any boundary check is needed (a control that exits at boundaries is
  // set, or an INIT/SIPI/MTF exit is pending): the run loop asks
  // vmx::boundary_event before each instruction only then.
  bool boundary_checks = false;
  bool mtf_pending = false;        // an MTF VM exit is pending (SDM 26.5.2)
  bool timer_active = false;       // the VMX-preemption timer counts (SDM 26.5.1)
  uint64_t timer_deadline = 0;     // TSC at which it reaches 0
  uint32_t activity = 0;           // guest activity state (vmx/controls.h activity::)
  bool host_nmi_blocked = false;   // blocking by NMI of the host, with virtual NMIs
  // IRET in the guest that unblocked NMIs, at this retired-instruction count
  // (a fault in it exits with "NMI unblocking due to IRET", SDM 28.2.3).
  bool iret_unblocked_nmi = false;
  uint64_t iret_insn = 0;
  // The conditions of a #DB fault that is about to exit (Table 28-1).
  uint64_t db_qualification = 0;
  // MONITOR armed the address-monitoring hardware (MWAIT's qualification).
  bool monitor_armed = false;
  // PAUSE-loop exiting (SDM 26.1.3): TSC of the last PAUSE and of the
  // first PAUSE of the current loop.
  bool ple_started = false;
  uint64_t ple_last = 0, ple_first = 0;
  // TPR virtualization found VTPR[7:4] below the TPR threshold: a
  // TPR-below-threshold VM exit is due at the next boundary (SDM 31.1.2,
  // 28.7.7; vmx/apic_virtualization.h).
  bool tpr_below_threshold = false;
  // The size of a write to VTPR through the APIC-access page that the
  // current operation virtualized (0: none); the operation's later
  // accesses to the page exit (SDM 31.4.2, 31.4.3.1).
  uint8_t vtpr_write_size = 0;
};

struct VmxState {
  bool in_vmx_operation = false;  // after VMXON, until VMXOFF (root operation)
  bool non_root = false;          // VMX non-root operation: L2 runs under `controls`
  ActiveControls controls;
  GuestEvents events;
  // Signals held for VMX: an INIT latched in VMX root operation, where
  // INIT is blocked (SDM 24.8 "Restrictions on VMX Operation"), or pending
  // in the guest (an INIT exit, SDM 27.2); a SIPI (its vector) for a guest
  // in the wait-for-SIPI state (a SIPI exit).
  bool init_pending = false;
  bool sipi_pending = false;
  uint8_t sipi_vector = 0;
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
