// Basic exit reasons (SDM Vol. 3C Appendix C "VMX Basic Exit Reasons",
// Table C-1): one table with the number and the SDM's name, read by VM
// exits, diagnostics and tests (DESIGN.md "One table, many users").
#pragma once
#include <cstdint>
#include <span>

namespace softvt::vmx {

namespace exit_reason {
constexpr uint32_t EXCEPTION_NMI = 0, EXTERNAL_INTERRUPT = 1, TRIPLE_FAULT = 2, INIT = 3, SIPI = 4;
constexpr uint32_t IO_SMI = 5, OTHER_SMI = 6, INTERRUPT_WINDOW = 7, NMI_WINDOW = 8, TASK_SWITCH = 9;
constexpr uint32_t CPUID = 10, GETSEC = 11, HLT = 12, INVD = 13, INVLPG = 14, RDPMC = 15, RDTSC = 16;
constexpr uint32_t RSM = 17, VMCALL = 18, VMCLEAR = 19, VMLAUNCH = 20, VMPTRLD = 21, VMPTRST = 22;
constexpr uint32_t VMREAD = 23, VMRESUME = 24, VMWRITE = 25, VMXOFF = 26, VMXON = 27;
constexpr uint32_t CR_ACCESS = 28, DR_ACCESS = 29, IO_INSTRUCTION = 30, RDMSR = 31, WRMSR = 32;
constexpr uint32_t INVALID_GUEST_STATE = 33, MSR_LOADING = 34, MWAIT = 36, MTF = 37, MONITOR = 39;
constexpr uint32_t PAUSE = 40, MACHINE_CHECK = 41, TPR_BELOW_THRESHOLD = 43, APIC_ACCESS = 44;
constexpr uint32_t VIRTUALIZED_EOI = 45, GDTR_IDTR = 46, LDTR_TR = 47, EPT_VIOLATION = 48;
constexpr uint32_t EPT_MISCONFIG = 49, INVEPT = 50, RDTSCP = 51, PREEMPTION_TIMER = 52, INVVPID = 53;
constexpr uint32_t WBINVD = 54, XSETBV = 55, APIC_WRITE = 56, RDRAND = 57, INVPCID = 58, VMFUNC = 59;
constexpr uint32_t ENCLS = 60, RDSEED = 61, PML_FULL = 62, XSAVES = 63, XRSTORS = 64;
// Bit 31 of the exit-reason field: VM-entry failure (SDM 25.9.1, Table 25-18).
constexpr uint32_t ENTRY_FAILURE = 1u << 31;
}  // namespace exit_reason

struct ExitReasonInfo {
  uint32_t number;
  const char* name;  // the SDM's name of the exit reason
};

std::span<const ExitReasonInfo> exit_reason_table();
// The SDM's name of a basic exit reason ("unknown" if none).
const char* exit_reason_name(uint32_t basic_reason);

}  // namespace softvt::vmx
