#include "emu/fuzz/exclusions.h"

#include <algorithm>

#include "emu/cpu_model.h"
#include "emu/fuzz/forms.h"

namespace softvt::fuzz {
namespace {

constexpr const char* kControl = "control transfer to an address that is not a forward skip";
constexpr const char* kEvent = "raises an exception or interrupt by design (the flat runner has no IDT)";
constexpr const char* kPrivileged =
    "system instruction: privileged at CPL 3 (the native oracle) and reads or writes machine "
    "state the backends set up differently (descriptor tables, control registers, MSRs)";
constexpr const char* kSelectors =
    "reads selectors or descriptors: the native oracle runs under the host's GDT";
constexpr const char* kSegLoad = "loads a segment register from random memory (#GP)";
constexpr const char* kIo = "port I/O: privileged at CPL 3, and the backends have different devices";
constexpr const char* kTime = "reads a time-stamp counter: differs between backends by design";
constexpr const char* kRandom = "hardware random numbers differ on every run";
constexpr const char* kIf =
    "changes IF: privileged at CPL 3 (#GP natively), and an enabled IF is not comparable";
constexpr const char* kPopf =
    "loads TF/IF/AC/IOPL/NT from random stack contents (single-step traps, alignment checks)";
constexpr const char* kFpuState =
    "FXSAVE/XSAVE-family image: stores the host's MXCSR_MASK and FCS/FDS selectors into the "
    "data area (not comparable byte for byte there; the epilogue's FXSAVE is compared with "
    "those fields masked), and a restore from random data #GPs on MXCSR's reserved bits "
    "almost always (the prologue's FXRSTOR of a valid image exercises it in every case)";
constexpr const char* kFpuSelectors =
    "stores FCS/FDS (the x87 environment's selectors) into the data area: the native oracle's "
    "are the host kernel's user selectors, the flat runner's its GDT's";
constexpr const char* kFpuRealEnv =
    "x87 environment in real mode uses the real-mode layout (20-bit linear FIP/FDP, SDM Vol. 1 "
    "8.1.10, Fig. 8-10), but the native oracle runs real16 cases in 16-bit protected-mode "
    "segments (protected-mode layout)";
// SDM Vol. 1 8.1.10 / Figs. 8-9..8-12: FNSTENV/FNSAVE write FCS and FDS.
constexpr const char* kKvmFp =
    "x87/MMX/SSE instruction: this host's PVM-based KVM runs CPL 0 guest code through KVM's "
    "instruction emulator, which fails on x87, MMX and most SSE instructions (FLD1, PADDB, "
    "LDMXCSR, FXSAVE, ...) and cannot load or store the random x87/SSE state of a case "
    "(docs/oracles.md, \"KVM and the x87/SIMD groups\"); the native oracle covers them";
constexpr const char* kTsx = "transactional execution: aborts are model-specific control transfers";
// Measured on this project's host, whose PVM-based KVM runs CPL 0 guest code
// through KVM's instruction emulator: these execute wrongly there without
// a KVM error (instructions that end in a KVM error are avoided by the
// campaign as it meets them). The native oracle still covers them.
constexpr const char* kKvmBsr =
    "KVM's instruction emulator executes F3 0F BD/BC as BSR/BSF (no LZCNT/TZCNT)";
constexpr const char* kKvmMovbe = "KVM's instruction emulator raises #UD for MOVBE";
constexpr const char* kKvmBcd =
    "KVM's instruction emulator sets AAM/AAD's SF/ZF/PF unlike the CPU (checked on the host "
    "CPU in a 32-bit LDT code segment: flags of the resulting AL, as the SDM says)";
constexpr const char* kKvmEnter =
    "KVM's instruction emulator pushes ENTER's frame pointer with the stack-address size "
    "instead of the operand size (SDM Vol. 2 ENTER), and fails on nesting levels above 0";

const Exclusion kList[] = {
    {ZYDIS_MNEMONIC_HLT, Scope::Always, "ends the test case: only the epilogue executes it"},
    {ZYDIS_MNEMONIC_RET, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_IRET, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_IRETD, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_IRETQ, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_SYSCALL, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_SYSRET, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_SYSENTER, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_SYSEXIT, Scope::Always, kControl},
    {ZYDIS_MNEMONIC_INT, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_INT1, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_INT3, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_INTO, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_UD0, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_UD1, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_UD2, Scope::Always, kEvent},
    {ZYDIS_MNEMONIC_BOUND, Scope::Always, "raises #BR by design when the index is out of the random bounds"},
    {ZYDIS_MNEMONIC_CLI, Scope::Always, kIf},
    {ZYDIS_MNEMONIC_STI, Scope::Always, kIf},
    {ZYDIS_MNEMONIC_POPF, Scope::Always, kPopf},
    {ZYDIS_MNEMONIC_POPFD, Scope::Always, kPopf},
    {ZYDIS_MNEMONIC_POPFQ, Scope::Always, kPopf},
    {ZYDIS_MNEMONIC_CPUID, Scope::Native, "the host CPU's CPUID differs from softvt's CPU model"},
    {ZYDIS_MNEMONIC_CPUID, Scope::Kvm,
     "this host's KVM answers CPUID leaves 1 and 7 with the host's feature words whatever "
     "KVM_SET_CPUID2 was given (docs/oracles.md), so they differ from the CPU model"},
    {ZYDIS_MNEMONIC_LDS, Scope::Always, kSegLoad},
    {ZYDIS_MNEMONIC_LES, Scope::Always, kSegLoad},
    {ZYDIS_MNEMONIC_LFS, Scope::Always, kSegLoad},
    {ZYDIS_MNEMONIC_LGS, Scope::Always, kSegLoad},
    {ZYDIS_MNEMONIC_LSS, Scope::Always, kSegLoad},
    {ZYDIS_MNEMONIC_IN, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_OUT, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_INSB, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_INSW, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_INSD, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_OUTSB, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_OUTSW, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_OUTSD, Scope::Always, kIo},
    {ZYDIS_MNEMONIC_RDTSC, Scope::Always, kTime},
    {ZYDIS_MNEMONIC_RDTSCP, Scope::Always, kTime},
    {ZYDIS_MNEMONIC_RDPID, Scope::Always, "reads IA32_TSC_AUX, which the backends set differently"},
    {ZYDIS_MNEMONIC_RDRAND, Scope::Always, kRandom},
    {ZYDIS_MNEMONIC_RDSEED, Scope::Always, kRandom},
    {ZYDIS_MNEMONIC_RDPMC, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_RDMSR, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_WRMSR, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_LGDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_LIDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_LLDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_LTR, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_LMSW, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_CLTS, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_INVD, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_WBINVD, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_INVLPG, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_INVPCID, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_SWAPGS, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_XSETBV, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_XGETBV, Scope::Always, "reads XCR0, which the host sets differently"},
    {ZYDIS_MNEMONIC_MONITOR, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_MWAIT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_RSM, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_CLAC, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_STAC, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_SGDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_SIDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_SLDT, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_STR, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_SMSW, Scope::Always, kPrivileged},
    {ZYDIS_MNEMONIC_RDFSBASE, Scope::Always, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_RDGSBASE, Scope::Always, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_WRFSBASE, Scope::Always, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_WRGSBASE, Scope::Always, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_LAR, Scope::Always, kSelectors},
    {ZYDIS_MNEMONIC_LSL, Scope::Always, kSelectors},
    {ZYDIS_MNEMONIC_VERR, Scope::Always, kSelectors},
    {ZYDIS_MNEMONIC_VERW, Scope::Always, kSelectors},
    {ZYDIS_MNEMONIC_ARPL, Scope::Always, kSelectors},
    {ZYDIS_MNEMONIC_FXSAVE, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_FXSAVE64, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_FXRSTOR, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_FXRSTOR64, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_XSAVE, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_XSAVE64, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_XRSTOR, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_XRSTOR64, Scope::Always, kFpuState},
    {ZYDIS_MNEMONIC_FNSTENV, Scope::Native, kFpuSelectors},
    {ZYDIS_MNEMONIC_FNSAVE, Scope::Native, kFpuSelectors},
    {ZYDIS_MNEMONIC_XBEGIN, Scope::Always, kTsx},
    {ZYDIS_MNEMONIC_XABORT, Scope::Always, kTsx},
    {ZYDIS_MNEMONIC_XEND, Scope::Always, kTsx},
    {ZYDIS_MNEMONIC_XTEST, Scope::Always, kTsx},
    {ZYDIS_MNEMONIC_LZCNT, Scope::Kvm, kKvmBsr},
    {ZYDIS_MNEMONIC_TZCNT, Scope::Kvm, kKvmBsr},
    {ZYDIS_MNEMONIC_MOVBE, Scope::Kvm, kKvmMovbe},
    {ZYDIS_MNEMONIC_AAM, Scope::Kvm, kKvmBcd},
    {ZYDIS_MNEMONIC_AAD, Scope::Kvm, kKvmBcd},
    {ZYDIS_MNEMONIC_ENTER, Scope::Kvm, kKvmEnter},
};

bool is_fp_feature(Feature f) {
  return f == Feature::Fpu || f == Feature::Mmx || f == Feature::Sse || f == Feature::Sse2 ||
         f == Feature::Fxsr;
}

bool loads_fp_environment(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_FLDENV || m == ZYDIS_MNEMONIC_FRSTOR;
}

bool applies(Scope s, Oracles o) {
  switch (s) {
    case Scope::Always: return true;
    case Scope::Native: return o.native;
    default: return o.kvm;
  }
}

constexpr ZydisMnemonic kForwardBranches[] = {
    ZYDIS_MNEMONIC_JMP,   ZYDIS_MNEMONIC_CALL,  ZYDIS_MNEMONIC_JO,    ZYDIS_MNEMONIC_JNO,
    ZYDIS_MNEMONIC_JB,    ZYDIS_MNEMONIC_JNB,   ZYDIS_MNEMONIC_JZ,    ZYDIS_MNEMONIC_JNZ,
    ZYDIS_MNEMONIC_JBE,   ZYDIS_MNEMONIC_JNBE,  ZYDIS_MNEMONIC_JS,    ZYDIS_MNEMONIC_JNS,
    ZYDIS_MNEMONIC_JP,    ZYDIS_MNEMONIC_JNP,   ZYDIS_MNEMONIC_JL,    ZYDIS_MNEMONIC_JNL,
    ZYDIS_MNEMONIC_JLE,   ZYDIS_MNEMONIC_JNLE,  ZYDIS_MNEMONIC_JCXZ,  ZYDIS_MNEMONIC_JECXZ,
    ZYDIS_MNEMONIC_JRCXZ, ZYDIS_MNEMONIC_LOOP,  ZYDIS_MNEMONIC_LOOPE, ZYDIS_MNEMONIC_LOOPNE,
};

// Zydis categories whose instructions are never comparable here.
const char* category_reason(ZydisInstructionCategory c) {
  switch (c) {
    case ZYDIS_CATEGORY_SYSTEM: return kPrivileged;
    case ZYDIS_CATEGORY_IO: case ZYDIS_CATEGORY_IOSTRINGOP: return kIo;
    case ZYDIS_CATEGORY_INTERRUPT: return kEvent;
    case ZYDIS_CATEGORY_SYSCALL: case ZYDIS_CATEGORY_SYSRET: case ZYDIS_CATEGORY_RET: return kControl;
    case ZYDIS_CATEGORY_VTX: return "VMX instruction: changes the virtualization state";
    case ZYDIS_CATEGORY_SEGOP: return kSegLoad;
    case ZYDIS_CATEGORY_XSAVE: case ZYDIS_CATEGORY_XSAVEOPT: return kFpuState;
    case ZYDIS_CATEGORY_RDRAND: case ZYDIS_CATEGORY_RDSEED: return kRandom;
    case ZYDIS_CATEGORY_RDWRFSGS: return "FS/GS bases differ between the native oracle and the flat runner";
    default: return nullptr;
  }
}

}  // namespace

std::span<const Exclusion> exclusion_list() { return kList; }

bool is_forward_branch(ZydisMnemonic m) {
  return std::find(std::begin(kForwardBranches), std::end(kForwardBranches), m) !=
         std::end(kForwardBranches);
}

std::string exclusion_reason(const InsnRow& row, FlatMode mode, Oracles oracles) {
  for (const Exclusion& e : kList)
    if (e.mnemonic == row.mnemonic && applies(e.scope, oracles)) return e.reason;
  if (!default_cpu_model().has(row.feature)) return "the CPU model lacks the instruction's feature";
  if (oracles.kvm && is_fp_feature(row.feature)) return kKvmFp;
  if (oracles.native && mode == FlatMode::Real16 && loads_fp_environment(row.mnemonic))
    return kFpuRealEnv;
  if (row.ends_block && !is_forward_branch(row.mnemonic))
    return "may change RIP, CS, the mode or paging (its row ends a block)";
  const FormSet& set = forms_of(row.mnemonic, mode);
  if (set.forms.empty())
    return std::string("no form with general-purpose register, memory and immediate operands "
                       "encodes in ") + flat_mode_name(mode) +
           " and decodes back to it with softvt's decoder (e.g. ENDBR is a NOP without CET)";
  if (set.privileged) return kPrivileged;
  if (const char* r = category_reason(set.category)) return r;
  return "";
}

}  // namespace softvt::fuzz
