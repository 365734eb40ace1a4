#include "vmx/exit_reasons.h"

namespace softvt::vmx {
namespace {

using namespace exit_reason;

// SDM Vol. 3C Table C-1, names as the SDM writes them.
constexpr ExitReasonInfo kReasons[] = {
    {EXCEPTION_NMI, "Exception or non-maskable interrupt (NMI)"},
    {EXTERNAL_INTERRUPT, "External interrupt"},
    {TRIPLE_FAULT, "Triple fault"},
    {INIT, "INIT signal"},
    {SIPI, "Start-up IPI (SIPI)"},
    {IO_SMI, "I/O system-management interrupt (SMI)"},
    {OTHER_SMI, "Other SMI"},
    {INTERRUPT_WINDOW, "Interrupt window"},
    {NMI_WINDOW, "NMI window"},
    {TASK_SWITCH, "Task switch"},
    {CPUID, "CPUID"},
    {GETSEC, "GETSEC"},
    {HLT, "HLT"},
    {INVD, "INVD"},
    {INVLPG, "INVLPG"},
    {RDPMC, "RDPMC"},
    {RDTSC, "RDTSC"},
    {RSM, "RSM"},
    {VMCALL, "VMCALL"},
    {VMCLEAR, "VMCLEAR"},
    {VMLAUNCH, "VMLAUNCH"},
    {VMPTRLD, "VMPTRLD"},
    {VMPTRST, "VMPTRST"},
    {VMREAD, "VMREAD"},
    {VMRESUME, "VMRESUME"},
    {VMWRITE, "VMWRITE"},
    {VMXOFF, "VMXOFF"},
    {VMXON, "VMXON"},
    {CR_ACCESS, "Control-register accesses"},
    {DR_ACCESS, "MOV DR"},
    {IO_INSTRUCTION, "I/O instruction"},
    {RDMSR, "RDMSR"},
    {WRMSR, "WRMSR"},
    {INVALID_GUEST_STATE, "VM-entry failure due to invalid guest state"},
    {MSR_LOADING, "VM-entry failure due to MSR loading"},
    {MWAIT, "MWAIT"},
    {MTF, "Monitor trap flag"},
    {MONITOR, "MONITOR"},
    {PAUSE, "PAUSE"},
    {MACHINE_CHECK, "VM-entry failure due to machine-check event"},
    {TPR_BELOW_THRESHOLD, "TPR below threshold"},
    {APIC_ACCESS, "APIC access"},
    {VIRTUALIZED_EOI, "Virtualized EOI"},
    {GDTR_IDTR, "Access to GDTR or IDTR"},
    {LDTR_TR, "Access to LDTR or TR"},
    {EPT_VIOLATION, "EPT violation"},
    {EPT_MISCONFIG, "EPT misconfiguration"},
    {INVEPT, "INVEPT"},
    {RDTSCP, "RDTSCP"},
    {PREEMPTION_TIMER, "VMX-preemption timer expired"},
    {INVVPID, "INVVPID"},
    {WBINVD, "WBINVD or WBNOINVD"},
    {XSETBV, "XSETBV"},
    {APIC_WRITE, "APIC write"},
    {RDRAND, "RDRAND"},
    {INVPCID, "INVPCID"},
    {VMFUNC, "VMFUNC"},
    {ENCLS, "ENCLS"},
    {RDSEED, "RDSEED"},
    {PML_FULL, "Page-modification log full"},
    {XSAVES, "XSAVES"},
    {XRSTORS, "XRSTORS"},
};

}  // namespace

std::span<const ExitReasonInfo> exit_reason_table() { return kReasons; }

const char* exit_reason_name(uint32_t basic_reason) {
  for (const ExitReasonInfo& r : kReasons)
    if (r.number == basic_reason) return r.name;
  return "unknown";
}

}  // namespace softvt::vmx
