// The bits of the VMCB's intercept vectors and virtual-interrupt control
// (AMD APM Vol. 2 Appendix B, Table B-1 "VMCB Layout, Control Area";
// 15.8 - 15.21), as the intercept points test them in SvmState::ctl.
#pragma once
#include <cstdint>

namespace softvt::svm {

// Offset 00Ch (APM Table B-1, "intercept vector 3").
namespace misc1 {
constexpr uint32_t INTR = 1u << 0, NMI = 1u << 1, SMI = 1u << 2, INIT = 1u << 3, VINTR = 1u << 4;
constexpr uint32_t CR0_SEL_WRITE = 1u << 5;  // CR0 writes that change bits other than TS and MP
constexpr uint32_t IDTR_READ = 1u << 6, GDTR_READ = 1u << 7, LDTR_READ = 1u << 8, TR_READ = 1u << 9;
constexpr uint32_t IDTR_WRITE = 1u << 10, GDTR_WRITE = 1u << 11, LDTR_WRITE = 1u << 12, TR_WRITE = 1u << 13;
constexpr uint32_t RDTSC = 1u << 14, RDPMC = 1u << 15, PUSHF = 1u << 16, POPF = 1u << 17;
constexpr uint32_t CPUID = 1u << 18, RSM = 1u << 19, IRET = 1u << 20, INTN = 1u << 21;
constexpr uint32_t INVD = 1u << 22, PAUSE = 1u << 23, HLT = 1u << 24, INVLPG = 1u << 25;
constexpr uint32_t INVLPGA = 1u << 26, IOIO_PROT = 1u << 27, MSR_PROT = 1u << 28;
constexpr uint32_t TASK_SWITCH = 1u << 29, FERR_FREEZE = 1u << 30, SHUTDOWN = 1u << 31;
}  // namespace misc1

// Offset 010h ("intercept vector 4").
namespace misc2 {
constexpr uint32_t VMRUN = 1u << 0, VMMCALL = 1u << 1, VMLOAD = 1u << 2, VMSAVE = 1u << 3;
constexpr uint32_t STGI = 1u << 4, CLGI = 1u << 5, SKINIT = 1u << 6, RDTSCP = 1u << 7;
constexpr uint32_t ICEBP = 1u << 8, WBINVD = 1u << 9, MONITOR = 1u << 10;
constexpr uint32_t MWAIT = 1u << 11, MWAIT_ARMED = 1u << 12, XSETBV = 1u << 13;
}  // namespace misc2

// Offset 060h (APM 15.21 "Interrupt and LAPIC Support").
namespace vintr {
constexpr uint64_t V_TPR = 0xff, V_IRQ = 1ull << 8, V_GIF = 1ull << 9;
constexpr unsigned V_INTR_PRIO_SHIFT = 16;
constexpr uint64_t V_INTR_PRIO = 0xfull << 16, V_IGN_TPR = 1ull << 20, V_INTR_MASKING = 1ull << 24;
constexpr uint64_t V_GIF_ENABLE = 1ull << 25;
constexpr unsigned V_INTR_VECTOR_SHIFT = 32;
}  // namespace vintr

// Offset 068h: bit 0 the interrupt shadow, bit 1 (written by #VMEXIT) the
// guest's RFLAGS.IF (APM Table B-1).
namespace int_state {
constexpr uint64_t SHADOW = 1, GUEST_IF = 2;
}

// Offset 090h bit 0 (APM 15.25 "Nested Paging").
constexpr uint64_t NP_ENABLE = 1;
// Offset 0B8h (VIRT_EXT): bit 1 enables virtual VMLOAD/VMSAVE (bit 0, LBR
// virtualization, is not modelled).
constexpr uint64_t V_VMSAVE_VMLOAD = 2;

// TLB_CONTROL values (APM 15.16.1 "TLB Flush").
namespace tlb_control {
constexpr uint8_t NOTHING = 0x00, FLUSH_ALL = 0x01, FLUSH_ASID = 0x03, FLUSH_ASID_NON_GLOBAL = 0x07;
}

// EXITINFO1 of the CR and DR intercepts with decode assists (APM "Decode Assists",
// "MOV CRx/DRx Intercepts"): bit 63 = a MOV instruction, 3:0 its GPR.
constexpr uint64_t EXITINFO1_MOV = 1ull << 63;

// EXITINFO1 of IOIO (APM 15.10.2 "IN and OUT Behavior", Figure 15-2).
namespace ioio {
constexpr uint64_t TYPE_IN = 1u << 0, STR = 1u << 2, REP = 1u << 3;
constexpr unsigned SZ_SHIFT = 4;    // SZ8 4, SZ16 5, SZ32 6
constexpr unsigned A_SHIFT = 7;     // A16 7, A32 8, A64 9
constexpr unsigned SEG_SHIFT = 10;  // 12:10 the segment (decode assists)
constexpr unsigned PORT_SHIFT = 16;
}  // namespace ioio

// EXITINFO2 of a task-switch intercept (APM "Task Switch Intercept").
namespace task_switch_info {
constexpr uint64_t IRET = 1ull << 36, JMP = 1ull << 38, HAS_ERROR_CODE = 1ull << 44;
}

}  // namespace softvt::svm
