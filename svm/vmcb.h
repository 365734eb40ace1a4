// The VMCB as one table of fields (DESIGN.md "One table, many users"):
// every field of the APM's "Layout of VMCB" (AMD APM Vol. 2 Appendix B,
// Tables B-1 "VMCB Layout, Control Area" and B-2 "VMCB Layout, State Save
// Area") at its architectural offset, with its width and what it holds;
// and the SVM exit codes as one table (APM Vol. 2 Appendix C "SVM Intercept
// Exit Codes"). VMRUN, VMLOAD, VMSAVE, #VMEXIT, the CLI's pretty-printers
// and the tests read them. The VMCB lives in guest memory (DESIGN.md
// "Virtualization"), so the offsets are the layout.
#pragma once
#include <cstdint>
#include <span>

namespace softvt::svm {

enum class VmcbArea : uint8_t { Control, Save };

// Whether softvt gives the field a meaning yet. Later: fields of features
// softvt will implement (intercepts, NPT, ...), read by later increments.
// NotModelled: fields of features CPUID does not report (AVIC, SEV, CET,
// LBR virtualization, ...): softvt never reads them.
enum class VmcbUse : uint8_t { Used, Later, NotModelled };

struct VmcbField {
  const char* name;   // the APM's name (Linux's arch/x86/include/asm/svm.h where the APM has none)
  uint16_t offset;    // byte offset from the start of the VMCB
  uint8_t size;       // bytes: 1, 2, 4 or 8 (the 15 guest instruction bytes: 15)
  uint8_t bit = 0;    // first bit of a field sharing its bytes with others
  uint8_t bits = 0;   // its width in bits (0 = the whole `size` bytes)
  VmcbArea area;
  VmcbUse use;
  const char* what;
};

std::span<const VmcbField> vmcb_fields();
const VmcbField* find_vmcb_field(const char* name);

// Offsets the code uses (each is also a row of the table; the tests check
// they agree).
namespace vmcb {
constexpr uint32_t SIZE = 4096;
// Control area (Table B-1).
constexpr uint32_t INTERCEPT_CR = 0x000, INTERCEPT_DR = 0x004, INTERCEPT_EXCEPTIONS = 0x008;
constexpr uint32_t INTERCEPT_MISC1 = 0x00c, INTERCEPT_MISC2 = 0x010, INTERCEPT_MISC3 = 0x014;
constexpr uint32_t PAUSE_FILTER_THRESHOLD = 0x03c, PAUSE_FILTER_COUNT = 0x03e;
constexpr uint32_t IOPM_BASE_PA = 0x040, MSRPM_BASE_PA = 0x048, TSC_OFFSET = 0x050;
constexpr uint32_t GUEST_ASID = 0x058, TLB_CONTROL = 0x05c, VINTR = 0x060, VINTR_VECTOR = 0x064;
constexpr uint32_t INTERRUPT_SHADOW = 0x068, EXITCODE = 0x070, EXITINFO1 = 0x078, EXITINFO2 = 0x080;
constexpr uint32_t EXITINTINFO = 0x088, NP_CONTROL = 0x090, AVIC_APIC_BAR = 0x098, GHCB_PA = 0x0a0;
constexpr uint32_t EVENTINJ = 0x0a8, N_CR3 = 0x0b0, VIRT_EXT = 0x0b8, CLEAN_BITS = 0x0c0;
constexpr uint32_t NRIP = 0x0c8, INSN_LEN = 0x0d0, INSN_BYTES = 0x0d1;
constexpr uint32_t AVIC_BACKING_PAGE = 0x0e0, AVIC_LOGICAL_TABLE = 0x0f0, AVIC_PHYSICAL_TABLE = 0x0f8;
constexpr uint32_t VMSA_PA = 0x108;
constexpr uint32_t CONTROL_END = 0x400;
// State save area (Table B-2): at 0x400. A segment is 16 bytes:
// selector (2), attributes (2), limit (4), base (8).
constexpr uint32_t SAVE = 0x400;
constexpr uint32_t ES = SAVE + 0x000, CS = SAVE + 0x010, SS = SAVE + 0x020, DS = SAVE + 0x030;
constexpr uint32_t FS = SAVE + 0x040, GS = SAVE + 0x050, GDTR = SAVE + 0x060, LDTR = SAVE + 0x070;
constexpr uint32_t IDTR = SAVE + 0x080, TR = SAVE + 0x090;
constexpr uint32_t SEG_SEL = 0, SEG_ATTRIB = 2, SEG_LIMIT = 4, SEG_BASE = 8;
constexpr uint32_t CPL = SAVE + 0x0cb, EFER = SAVE + 0x0d0;
constexpr uint32_t CR4 = SAVE + 0x148, CR3 = SAVE + 0x150, CR0 = SAVE + 0x158, DR7 = SAVE + 0x160;
constexpr uint32_t DR6 = SAVE + 0x168, RFLAGS = SAVE + 0x170, RIP = SAVE + 0x178, RSP = SAVE + 0x1d8;
constexpr uint32_t RAX = SAVE + 0x1f8, STAR = SAVE + 0x200, LSTAR = SAVE + 0x208, CSTAR = SAVE + 0x210;
constexpr uint32_t SFMASK = SAVE + 0x218, KERNEL_GS_BASE = SAVE + 0x220, SYSENTER_CS = SAVE + 0x228;
constexpr uint32_t SYSENTER_ESP = SAVE + 0x230, SYSENTER_EIP = SAVE + 0x238, CR2 = SAVE + 0x240;
constexpr uint32_t G_PAT = SAVE + 0x268, DBGCTL = SAVE + 0x270;
}  // namespace vmcb

// Bits of control-area fields the code reads.
namespace intercept {
// Byte offset 010h (APM Table B-1): bit 0 intercepts VMRUN.
constexpr uint32_t MISC2_VMRUN = 1u << 0;
}  // namespace intercept
namespace eventinj {
// EVENTINJ (APM 15.20 "Event Injection"): vector 7:0, type 10:8, EV 11,
// reserved 30:12, V 31, error code 63:32.
constexpr uint64_t VECTOR = 0xff, TYPE_SHIFT = 8, TYPE_MASK = 7ull << 8, EV = 1ull << 11;
constexpr uint64_t V = 1ull << 31, RESERVED = 0x7ffff000ull;
constexpr unsigned TYPE_INTR = 0, TYPE_NMI = 2, TYPE_EXCEPTION = 3, TYPE_SOFT_INT = 4;
}  // namespace eventinj

// ---- exit codes (APM Vol. 2 Appendix C, Table C-1) ------------------------------

struct ExitCode {
  uint64_t code;     // EXITCODE as the full 64-bit value (VMEXIT_INVALID = -1)
  const char* name;  // the APM's name
};

namespace exit_code {
constexpr uint64_t CR0_READ = 0x000, CR0_WRITE = 0x010, DR0_READ = 0x020, DR0_WRITE = 0x030;
constexpr uint64_t EXCP_BASE = 0x040, INTR = 0x060, NMI = 0x061, SMI = 0x062, INIT = 0x063;
constexpr uint64_t VINTR = 0x064, CR0_SEL_WRITE = 0x065, IDTR_READ = 0x066, GDTR_READ = 0x067;
constexpr uint64_t LDTR_READ = 0x068, TR_READ = 0x069, IDTR_WRITE = 0x06a, GDTR_WRITE = 0x06b;
constexpr uint64_t LDTR_WRITE = 0x06c, TR_WRITE = 0x06d, RDTSC = 0x06e, RDPMC = 0x06f, PUSHF = 0x070;
constexpr uint64_t POPF = 0x071, CPUID = 0x072, RSM = 0x073, IRET = 0x074, SWINT = 0x075, INVD = 0x076;
constexpr uint64_t PAUSE = 0x077, HLT = 0x078, INVLPG = 0x079, INVLPGA = 0x07a, IOIO = 0x07b, MSR = 0x07c;
constexpr uint64_t TASK_SWITCH = 0x07d, FERR_FREEZE = 0x07e, SHUTDOWN = 0x07f;
constexpr uint64_t VMRUN = 0x080, VMMCALL = 0x081, VMLOAD = 0x082, VMSAVE = 0x083;
constexpr uint64_t STGI = 0x084, CLGI = 0x085, SKINIT = 0x086, RDTSCP = 0x087, ICEBP = 0x088;
constexpr uint64_t WBINVD = 0x089, MONITOR = 0x08a, MWAIT = 0x08b, MWAIT_CONDITIONAL = 0x08c;
constexpr uint64_t XSETBV = 0x08d, NPF = 0x400;
// "VMEXIT_INVALID: invalid guest state in VMCB" - the full 64-bit -1.
constexpr uint64_t INVALID = ~uint64_t(0);
}  // namespace exit_code

std::span<const ExitCode> exit_codes();
// The APM's name of an exit code ("VMEXIT_CR3_WRITE", "VMEXIT_EXCP14",
// "VMEXIT_INVALID"); nullptr for a code the APM does not define.
const char* exit_code_name(uint64_t code);

// ---- segment attributes ----------------------------------------------------------
// The VMCB's 12-bit attribute field holds descriptor bits 47:40 (type, S,
// DPL, P) in 7:0 and bits 55:52 (AVL, L, D/B, G) in 11:8 (APM 15.5.1);
// softvt's ar:: layout is the VMX one (emu/cpu_state.h).
uint16_t vmcb_attrib_from_ar(uint32_t attr);
// P = 0 makes the segment unusable in softvt's terms (a null selector).
uint32_t ar_from_vmcb_attrib(uint16_t attrib);

}  // namespace softvt::svm
