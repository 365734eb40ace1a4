// The SVM state of one CPU (owned by svm/, referenced from Cpu as
// `cpu.svm`): the global interrupt flag, the SVM MSRs (VM_CR, VM_HSAVE_PA,
// TSC_RATIO) and what the last VMRUN left for diagnostics. Guest mode (a
// running L2) is the next increment (issue 5).
#pragma once
#include <cstdint>

namespace softvt::svm {

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
};

}  // namespace softvt::svm
