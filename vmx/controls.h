// Bits of the VM-execution, VM-exit and VM-entry control fields and of the
// other control-field formats VM entry and VM exits read (SDM Vol. 3C 25.6
// "VM-Execution Control Fields", 25.7 "VM-Exit Control Fields", 25.8
// "VM-Entry Control Fields").
#pragma once
#include <cstdint>

namespace softvt::vmx {

// Pin-based VM-execution controls (SDM 25.6.1, Table 25-5).
namespace pin {
constexpr uint32_t EXT_INTR_EXITING = 1u << 0, NMI_EXITING = 1u << 3, VIRTUAL_NMIS = 1u << 5;
constexpr uint32_t PREEMPTION_TIMER = 1u << 6, POSTED_INTERRUPTS = 1u << 7;
}  // namespace pin

// Primary processor-based VM-execution controls (SDM 25.6.2, Table 25-6).
namespace proc {
constexpr uint32_t INTR_WINDOW = 1u << 2, TSC_OFFSETTING = 1u << 3, HLT_EXITING = 1u << 7;
constexpr uint32_t INVLPG_EXITING = 1u << 9, MWAIT_EXITING = 1u << 10, RDPMC_EXITING = 1u << 11;
constexpr uint32_t RDTSC_EXITING = 1u << 12, CR3_LOAD_EXITING = 1u << 15, CR3_STORE_EXITING = 1u << 16;
constexpr uint32_t TERTIARY = 1u << 17, CR8_LOAD_EXITING = 1u << 19, CR8_STORE_EXITING = 1u << 20;
constexpr uint32_t TPR_SHADOW = 1u << 21, NMI_WINDOW = 1u << 22, MOV_DR_EXITING = 1u << 23;
constexpr uint32_t UNCOND_IO_EXITING = 1u << 24, IO_BITMAPS = 1u << 25, MTF = 1u << 27;
constexpr uint32_t MSR_BITMAPS = 1u << 28, MONITOR_EXITING = 1u << 29, PAUSE_EXITING = 1u << 30;
constexpr uint32_t SECONDARY = 1u << 31;
}  // namespace proc

// Secondary processor-based VM-execution controls (SDM 25.6.2, Table 25-7).
namespace proc2 {
constexpr uint32_t VIRT_APIC_ACCESSES = 1u << 0, EPT = 1u << 1, DESC_EXITING = 1u << 2;
constexpr uint32_t RDTSCP = 1u << 3, VIRT_X2APIC = 1u << 4, VPID = 1u << 5, WBINVD_EXITING = 1u << 6;
constexpr uint32_t UNRESTRICTED_GUEST = 1u << 7, APIC_REG_VIRT = 1u << 8, VIRT_INTR_DELIVERY = 1u << 9;
constexpr uint32_t PLE = 1u << 10, VMFUNC = 1u << 13, SHADOW_VMCS = 1u << 14, PML = 1u << 17;
constexpr uint32_t EPT_VE = 1u << 18, TSC_SCALING = 1u << 25;
}  // namespace proc2

// VM-exit controls (SDM 25.7.1, Table 25-13).
namespace exit_ctl {
constexpr uint32_t SAVE_DEBUG = 1u << 2, HOST_ADDR_SPACE_SIZE = 1u << 9, LOAD_PERF_GLOBAL = 1u << 12;
constexpr uint32_t ACK_INTR = 1u << 15, SAVE_PAT = 1u << 18, LOAD_PAT = 1u << 19;
constexpr uint32_t SAVE_EFER = 1u << 20, LOAD_EFER = 1u << 21, SAVE_PREEMPTION_TIMER = 1u << 22;
}  // namespace exit_ctl

// VM-entry controls (SDM 25.8.1, Table 25-15).
namespace entry_ctl {
constexpr uint32_t LOAD_DEBUG = 1u << 2, IA32E_GUEST = 1u << 9, ENTRY_TO_SMM = 1u << 10;
constexpr uint32_t DEACT_DUAL_MONITOR = 1u << 11, LOAD_PERF_GLOBAL = 1u << 13;
constexpr uint32_t LOAD_PAT = 1u << 14, LOAD_EFER = 1u << 15;
}  // namespace entry_ctl

// The VM-entry interruption-information field (SDM 25.8.3, Table 25-17)
// and the IDT-vectoring / VM-exit interruption information (25.9.2).
namespace intr_info {
constexpr uint32_t VECTOR_MASK = 0xff, TYPE_SHIFT = 8, TYPE_MASK = 7u << 8;
constexpr uint32_t DELIVER_ERROR_CODE = 1u << 11, NMI_UNBLOCKING = 1u << 12, VALID = 1u << 31;
}  // namespace intr_info

// Guest interruptibility state (SDM 25.4.2, Table 25-3).
namespace interruptibility {
constexpr uint32_t STI = 1u << 0, MOV_SS = 1u << 1, SMI = 1u << 2, NMI = 1u << 3, ENCLAVE = 1u << 4;
}  // namespace interruptibility

// Guest activity state (SDM 25.4.2).
namespace activity {
constexpr uint32_t ACTIVE = 0, HLT = 1, SHUTDOWN = 2, WAIT_SIPI = 3;
}

}  // namespace softvt::vmx
