// VMRUN's consistency checks (AMD APM Vol. 2 15.5.1 "Basic Operation",
// "Canonicalization and Consistency Checks") as one ordered, named table
// (DESIGN.md "Virtualization"): VMRUN runs them in table order on the state
// it loaded from the VMCB; the first that fails ends VMRUN in #VMEXIT with
// EXITCODE = VMEXIT_INVALID (-1, all 64 bits) and names itself
// (SvmState::failed_check, the trace, the run's stop detail).
#pragma once
#include <cstdint>
#include <span>

#include "svm/vmcb_state.h"

namespace softvt {
struct CpuModel;
}

namespace softvt::svm {

struct VmrunCheck {
  const char* name;     // short, stable: the tests, trace and CLI show it
  const char* section;  // where the APM states it
  const char* outcome;  // what a failure does
  const char* what;     // the condition that fails, in the APM's words
  bool (*fails)(const CpuModel& model, const ControlImage& c, const GuestImage& g);
};

std::span<const VmrunCheck> vmrun_checks();
const VmrunCheck* find_vmrun_check(const char* name);
// The first check that fails, nullptr if all pass.
const VmrunCheck* first_failing_check(const CpuModel& model, const ControlImage& c, const GuestImage& g);

// Sizes of the permission maps (APM 15.10.1 "I/O Permissions Map": 12
// Kbytes; 15.11 "MSR Intercepts": 8 Kbytes).
constexpr uint64_t IOPM_SIZE = 0x3000, MSRPM_SIZE = 0x2000;

// EFER bits this model defines (the others are MBZ): SCE with SYSCALL,
// LME and LMA with long mode, NXE with NX, SVME with SVM (APM Vol. 2
// 3.1.7 "Extended Feature Enable Register").
uint64_t efer_defined_bits(const CpuModel& model);

}  // namespace softvt::svm
