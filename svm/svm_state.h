// The SVM state of one CPU (owned by svm/, referenced from Cpu as
// `cpu.svm`): the global interrupt flag, the SVM MSRs (VM_CR, VM_HSAVE_PA,
// TSC_RATIO), guest mode with the controls VMRUN copied from the VMCB
// (svm/guest_entry.cpp), and what the last VMRUN left for diagnostics.
#pragma once
#include <cstdint>
#include <unordered_map>

#include "svm/npt.h"

namespace softvt {
class Cpu;
}

namespace softvt::svm {

// The VMCB controls of the running guest, copied at VMRUN (APM 15.5.1:
// "the processor loads the control fields"): every intercept point reads
// these, never the VMCB in memory (svm/README.md "VMCB clean bits").
struct GuestControls {
  uint32_t intercept_cr = 0;          // 000h: bits 15:0 reads, 31:16 writes of CR0-15
  uint32_t intercept_dr = 0;          // 004h: the same for DR0-15
  uint32_t intercept_exceptions = 0;  // 008h: bit n = vector n
  uint32_t misc1 = 0, misc2 = 0;      // 00Ch, 010h (svm/controls.h)
  uint16_t pause_filter_threshold = 0, pause_filter_count = 0;
  uint64_t iopm_base_pa = 0, msrpm_base_pa = 0, tsc_offset = 0;
  uint32_t asid = 0;
  // 060h: V_TPR 7:0, V_IRQ 8, V_INTR_PRIO 19:16, V_IGN_TPR 20,
  // V_INTR_MASKING 24, V_INTR_VECTOR 39:32. V_TPR and V_IRQ are live (the
  // guest's CR8 and the taking of the virtual interrupt change them) and
  // written back by #VMEXIT.
  uint64_t vintr = 0;
  uint64_t nested_ctl = 0, virt_ext = 0;  // NP_ENABLE cleared on a model without nested paging
  uint64_t n_cr3 = 0;
};

// An event being delivered in the guest when an intercept happened: the
// #VMEXIT reports it in EXITINTINFO (APM 15.7.2), EVENTINJ's format.
struct EventInDelivery {
  bool valid = false;
  uint64_t info = 0;         // EXITINTINFO value
  uint64_t rip = 0;          // where it was being delivered (validity check)
  uint64_t insn_count = 0;
};

// VM_CR bits (APM Vol. 2 15.30.1 "VM_CR MSR (C001_0114h)").
namespace vm_cr {
constexpr uint64_t DPD = 1u << 0;       // debug port disable (no debug port: stored only)
constexpr uint64_t R_INIT = 1u << 1;    // INIT redirected to #SX (not modelled: stored only)
constexpr uint64_t DIS_A20M = 1u << 2;  // A20M# disabled (not modelled: stored only)
constexpr uint64_t LOCK = 1u << 3;      // LOCK and SVMDIS read-only
constexpr uint64_t SVMDIS = 1u << 4;    // EFER.SVME must be zero
constexpr uint64_t DEFINED = DPD | R_INIT | DIS_A20M | LOCK | SVMDIS;
}  // namespace vm_cr

// TSC_RATIO's value at reset: 1.0 in 8.32 fixed point (APM 15.30.5).
constexpr uint64_t TSC_RATIO_DEFAULT = 0x0100000000ull;

struct SvmState {
  // GIF (APM 15.17 "Global Interrupt Flag, STGI and CLGI"): 1 at reset;
  // with GIF = 0 INTR, NMI and INIT are held pending (emu/events.cpp,
  // emu/cpu_init_sipi.cpp; SMI: softvt has no SMM).
  bool gif = true;
  // An INIT that arrived while GIF = 0, delivered by STGI (svm/gif.cpp).
  bool init_held = false;
  uint64_t vm_cr = 0;
  uint64_t hsave_pa = 0;
  uint64_t tsc_ratio = TSC_RATIO_DEFAULT;
  // The physical address of the VMCB of the last VMRUN (rAX), kept for
  // the #VMEXIT that ends it.
  uint64_t vmcb_pa = 0;
  // The name of the consistency check the last VMRUN failed (svm/
  // vmrun_checks.h), nullptr if it passed them all or none ran yet.
  const char* failed_check = nullptr;

  // ---- guest mode (APM 15.5 - 15.21) -------------------------------------
  // Set by a VMRUN that entered the guest, cleared by #VMEXIT: every
  // intercept point asks it first (one predictable branch in the host).
  bool guest_mode = false;
  GuestControls ctl;
  // A virtual interrupt is pending (guest mode and V_IRQ = 1): the run loop
  // looks for a deliverable event when it is set (emu/exec.cpp).
  bool v_irq_pending = false;
  // The host's RFLAGS.IF at VMRUN: with V_INTR_MASKING = 1 it masks
  // physical interrupts while the guest runs (APM 15.21.1).
  bool host_if = false;
  // MONITOR armed the monitor and no MWAIT has used it yet: the MWAIT
  // intercept that requires an armed monitor reads it (APM 15.7).
  bool monitor_armed = false;
  // The PAUSE filter's internal count (APM 15.14.4).
  uint16_t pause_count = 0;
  uint64_t last_pause_tsc = 0;
  // The next deliver_event is EVENTINJ's: not itself intercepted (APM 15.20).
  bool injecting = false;
  EventInDelivery delivering;
  // TLB: the paging-control bits the host's translations were cached with
  // (VMRUN), and those each ASID's were (svm/guest_tlb.cpp).
  uint64_t host_paging_key = 0;
  std::unordered_map<uint32_t, uint64_t> asid_paging_keys;

  // ---- nested paging (APM 15.25; svm/npt.h) -------------------------------
  // The running guest was entered with NP_ENABLE = 1 (on a model with
  // nested paging): Cpu::nested_paging points at `npt`, the guest's PAT
  // is G_PAT (the host's waits in the host save area).
  bool nested = false;
  Npt npt;
  // The nested roots the TLB holds combined translations for, by tag
  // (svm/guest_tlb.h): [tag] = N_CR3 | the host's mode bits | 1; 0 = free.
  uint64_t npt_tags[16] = {};
  unsigned npt_next_victim = 1;
};

// The event-deliverability rules of guest mode (svm/guest_events.cpp),
// asked by Cpu::event_deliverable while guest_mode is set.
bool guest_event_deliverable(const Cpu& cpu);

}  // namespace softvt::svm
