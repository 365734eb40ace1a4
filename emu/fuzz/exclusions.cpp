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
    "saves or loads x87/SSE/XSAVE state: 512+ bytes beyond the data area, and that state is "
    "not compared";
constexpr const char* kTsx = "transactional execution: aborts are model-specific control transfers";

const Exclusion kList[] = {
    {ZYDIS_MNEMONIC_HLT, false, "ends the test case: only the epilogue executes it"},
    {ZYDIS_MNEMONIC_RET, false, kControl},
    {ZYDIS_MNEMONIC_IRET, false, kControl},
    {ZYDIS_MNEMONIC_IRETD, false, kControl},
    {ZYDIS_MNEMONIC_IRETQ, false, kControl},
    {ZYDIS_MNEMONIC_SYSCALL, false, kControl},
    {ZYDIS_MNEMONIC_SYSRET, false, kControl},
    {ZYDIS_MNEMONIC_SYSENTER, false, kControl},
    {ZYDIS_MNEMONIC_SYSEXIT, false, kControl},
    {ZYDIS_MNEMONIC_INT, false, kEvent},
    {ZYDIS_MNEMONIC_INT1, false, kEvent},
    {ZYDIS_MNEMONIC_INT3, false, kEvent},
    {ZYDIS_MNEMONIC_INTO, false, kEvent},
    {ZYDIS_MNEMONIC_UD0, false, kEvent},
    {ZYDIS_MNEMONIC_UD1, false, kEvent},
    {ZYDIS_MNEMONIC_UD2, false, kEvent},
    {ZYDIS_MNEMONIC_BOUND, false, "raises #BR by design when the index is out of the random bounds"},
    {ZYDIS_MNEMONIC_CLI, false, kIf},
    {ZYDIS_MNEMONIC_STI, false, kIf},
    {ZYDIS_MNEMONIC_POPF, false, kPopf},
    {ZYDIS_MNEMONIC_POPFD, false, kPopf},
    {ZYDIS_MNEMONIC_POPFQ, false, kPopf},
    {ZYDIS_MNEMONIC_PUSHF, true, "pushes IF, which is 1 at CPL 3 natively and 0 in the flat runner"},
    {ZYDIS_MNEMONIC_PUSHFD, true, "pushes IF, which is 1 at CPL 3 natively and 0 in the flat runner"},
    {ZYDIS_MNEMONIC_PUSHFQ, true, "pushes IF, which is 1 at CPL 3 natively and 0 in the flat runner"},
    {ZYDIS_MNEMONIC_CPUID, true, "the host CPU's CPUID differs from softvt's CPU model"},
    {ZYDIS_MNEMONIC_LDS, false, kSegLoad},
    {ZYDIS_MNEMONIC_LES, false, kSegLoad},
    {ZYDIS_MNEMONIC_LFS, false, kSegLoad},
    {ZYDIS_MNEMONIC_LGS, false, kSegLoad},
    {ZYDIS_MNEMONIC_LSS, false, kSegLoad},
    {ZYDIS_MNEMONIC_IN, false, kIo},
    {ZYDIS_MNEMONIC_OUT, false, kIo},
    {ZYDIS_MNEMONIC_INSB, false, kIo},
    {ZYDIS_MNEMONIC_INSW, false, kIo},
    {ZYDIS_MNEMONIC_INSD, false, kIo},
    {ZYDIS_MNEMONIC_OUTSB, false, kIo},
    {ZYDIS_MNEMONIC_OUTSW, false, kIo},
    {ZYDIS_MNEMONIC_OUTSD, false, kIo},
    {ZYDIS_MNEMONIC_RDTSC, false, kTime},
    {ZYDIS_MNEMONIC_RDTSCP, false, kTime},
    {ZYDIS_MNEMONIC_RDPID, false, "reads IA32_TSC_AUX, which the backends set differently"},
    {ZYDIS_MNEMONIC_RDRAND, false, kRandom},
    {ZYDIS_MNEMONIC_RDSEED, false, kRandom},
    {ZYDIS_MNEMONIC_RDPMC, false, kPrivileged},
    {ZYDIS_MNEMONIC_RDMSR, false, kPrivileged},
    {ZYDIS_MNEMONIC_WRMSR, false, kPrivileged},
    {ZYDIS_MNEMONIC_LGDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_LIDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_LLDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_LTR, false, kPrivileged},
    {ZYDIS_MNEMONIC_LMSW, false, kPrivileged},
    {ZYDIS_MNEMONIC_CLTS, false, kPrivileged},
    {ZYDIS_MNEMONIC_INVD, false, kPrivileged},
    {ZYDIS_MNEMONIC_WBINVD, false, kPrivileged},
    {ZYDIS_MNEMONIC_INVLPG, false, kPrivileged},
    {ZYDIS_MNEMONIC_INVPCID, false, kPrivileged},
    {ZYDIS_MNEMONIC_SWAPGS, false, kPrivileged},
    {ZYDIS_MNEMONIC_XSETBV, false, kPrivileged},
    {ZYDIS_MNEMONIC_XGETBV, false, "reads XCR0, which the host sets differently"},
    {ZYDIS_MNEMONIC_MONITOR, false, kPrivileged},
    {ZYDIS_MNEMONIC_MWAIT, false, kPrivileged},
    {ZYDIS_MNEMONIC_RSM, false, kPrivileged},
    {ZYDIS_MNEMONIC_CLAC, false, kPrivileged},
    {ZYDIS_MNEMONIC_STAC, false, kPrivileged},
    {ZYDIS_MNEMONIC_SGDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_SIDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_SLDT, false, kPrivileged},
    {ZYDIS_MNEMONIC_STR, false, kPrivileged},
    {ZYDIS_MNEMONIC_SMSW, false, kPrivileged},
    {ZYDIS_MNEMONIC_RDFSBASE, false, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_RDGSBASE, false, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_WRFSBASE, false, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_WRGSBASE, false, "FS/GS bases differ between the native oracle and the flat runner"},
    {ZYDIS_MNEMONIC_LAR, false, kSelectors},
    {ZYDIS_MNEMONIC_LSL, false, kSelectors},
    {ZYDIS_MNEMONIC_VERR, false, kSelectors},
    {ZYDIS_MNEMONIC_VERW, false, kSelectors},
    {ZYDIS_MNEMONIC_ARPL, false, kSelectors},
    {ZYDIS_MNEMONIC_FXSAVE, false, kFpuState},
    {ZYDIS_MNEMONIC_FXSAVE64, false, kFpuState},
    {ZYDIS_MNEMONIC_FXRSTOR, false, kFpuState},
    {ZYDIS_MNEMONIC_FXRSTOR64, false, kFpuState},
    {ZYDIS_MNEMONIC_XSAVE, false, kFpuState},
    {ZYDIS_MNEMONIC_XSAVE64, false, kFpuState},
    {ZYDIS_MNEMONIC_XRSTOR, false, kFpuState},
    {ZYDIS_MNEMONIC_XRSTOR64, false, kFpuState},
    {ZYDIS_MNEMONIC_XBEGIN, false, kTsx},
    {ZYDIS_MNEMONIC_XABORT, false, kTsx},
    {ZYDIS_MNEMONIC_XEND, false, kTsx},
    {ZYDIS_MNEMONIC_XTEST, false, kTsx},
};

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

std::string exclusion_reason(const InsnRow& row, FlatMode mode, bool native_oracle) {
  for (const Exclusion& e : kList)
    if (e.mnemonic == row.mnemonic && (native_oracle || !e.native_only)) return e.reason;
  if (!default_cpu_model().has(row.feature)) return "the CPU model lacks the instruction's feature";
  if (row.ends_block && !is_forward_branch(row.mnemonic))
    return "may change RIP, CS, the mode or paging (its row ends a block)";
  const FormSet& set = forms_of(row.mnemonic, mode);
  if (set.forms.empty())
    return std::string("no form with general-purpose register, memory and immediate operands "
                       "encodes in ") + flat_mode_name(mode);
  if (set.privileged) return kPrivileged;
  if (const char* r = category_reason(set.category)) return r;
  return "";
}

}  // namespace softvt::fuzz
