// The VMCB field table and the exit-code table (svm/vmcb.h). Offsets: AMD
// APM Vol. 2 Appendix B, Tables B-1 and B-2; cross-checked against the
// layouts of Linux's arch/x86/include/asm/svm.h (struct vmcb_control_area,
// struct vmcb_save_area). Exit codes: APM Vol. 2 Appendix C, cross-checked
// against Linux's arch/x86/include/uapi/asm/svm.h.
#include "svm/vmcb.h"

#include <array>
#include <cstring>
#include <string>

#include "emu/cpu_state.h"

namespace softvt::svm {
namespace {

using A = VmcbArea;
using U = VmcbUse;

constexpr VmcbField ctl(const char* n, uint16_t off, uint8_t size, U use, const char* what) {
  return VmcbField{n, off, size, 0, 0, A::Control, use, what};
}
constexpr VmcbField ctl_bits(const char* n, uint16_t off, uint8_t size, uint8_t bit, uint8_t bits, U use,
                             const char* what) {
  return VmcbField{n, off, size, bit, bits, A::Control, use, what};
}
constexpr VmcbField save(const char* n, uint16_t off, uint8_t size, U use, const char* what) {
  return VmcbField{n, uint16_t(0x400 + off), size, 0, 0, A::Save, use, what};
}

#define SEGMENT_ROWS(NAME, OFF, USE)                                                        \
  save(NAME "_SELECTOR", OFF + 0, 2, USE, NAME " selector"),                                \
      save(NAME "_ATTRIB", OFF + 2, 2, USE, NAME " attributes (descriptor bits 47:40, 55:52)"), \
      save(NAME "_LIMIT", OFF + 4, 4, USE, NAME " limit, byte-granular"),                   \
      save(NAME "_BASE", OFF + 8, 8, USE, NAME " base")

constexpr VmcbField kFields[] = {
    // ---- Table B-1: control area --------------------------------------------------
    ctl_bits("INTERCEPT_CR_READ", 0x000, 4, 0, 16, U::Used, "intercept reads of CR0-CR15 (bit n: CRn)"),
    ctl_bits("INTERCEPT_CR_WRITE", 0x000, 4, 16, 16, U::Used, "intercept writes of CR0-CR15 (bit 16+n: CRn)"),
    ctl_bits("INTERCEPT_DR_READ", 0x004, 4, 0, 16, U::Used, "intercept reads of DR0-DR15"),
    ctl_bits("INTERCEPT_DR_WRITE", 0x004, 4, 16, 16, U::Used, "intercept writes of DR0-DR15"),
    ctl("INTERCEPT_EXCEPTIONS", 0x008, 4, U::Used, "intercept exception vectors 0-31 (bit n: vector n)"),
    ctl("INTERCEPT_MISC1", 0x00c, 4, U::Used,
        "intercepts INTR, NMI, SMI, INIT, VINTR, CR0 selective write, IDTR/GDTR/LDTR/TR reads and writes, "
        "RDTSC, RDPMC, PUSHF, POPF, CPUID, RSM, IRET, INTn, INVD, PAUSE, HLT, INVLPG, INVLPGA, IOIO_PROT, "
        "MSR_PROT, task switch, FERR_FREEZE, shutdown (bits 0-31)"),
    ctl("INTERCEPT_MISC2", 0x010, 4, U::Used,
        "intercepts VMRUN (bit 0, must be 1), VMMCALL, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, RDTSCP, ICEBP, "
        "WBINVD, MONITOR, MWAIT, MWAIT conditional, XSETBV, RDPRU, EFER write trap, CR0-15 write traps"),
    ctl("INTERCEPT_MISC3", 0x014, 4, U::NotModelled, "intercepts INVLPGB, illegal INVLPGB, INVPCID, MCOMMIT, TLBSYNC, bus lock"),
    ctl("PAUSE_FILTER_THRESHOLD", 0x03c, 2, U::Used, "PAUSE filter threshold (cycles between PAUSEs)"),
    ctl("PAUSE_FILTER_COUNT", 0x03e, 2, U::Used, "PAUSE filter count"),
    ctl("IOPM_BASE_PA", 0x040, 8, U::Used, "physical base of the I/O permission map (bits 11:0 ignored)"),
    ctl("MSRPM_BASE_PA", 0x048, 8, U::Used, "physical base of the MSR permission map (bits 11:0 ignored)"),
    ctl("TSC_OFFSET", 0x050, 8, U::Used, "added to the TSC the guest reads"),
    ctl("GUEST_ASID", 0x058, 4, U::Used, "the guest's address-space identifier (0 is the host's)"),
    ctl("TLB_CONTROL", 0x05c, 1, U::Used, "00h nothing, 01h flush all, 03h flush this ASID, 07h this ASID's non-global"),
    ctl_bits("V_TPR", 0x060, 8, 0, 8, U::Used, "virtual TPR (bits 3:0 used)"),
    ctl_bits("V_IRQ", 0x060, 8, 8, 1, U::Used, "a virtual interrupt is pending"),
    ctl_bits("V_GIF", 0x060, 8, 9, 1, U::Used, "virtual GIF (with V_GIF_ENABLE)"),
    ctl_bits("V_NMI", 0x060, 8, 11, 1, U::NotModelled, "virtual NMI pending (vNMI)"),
    ctl_bits("V_NMI_MASK", 0x060, 8, 12, 1, U::NotModelled, "virtual NMI blocked (vNMI)"),
    ctl_bits("V_INTR_PRIO", 0x060, 8, 16, 4, U::Used, "priority of the virtual interrupt"),
    ctl_bits("V_IGN_TPR", 0x060, 8, 20, 1, U::Used, "the virtual interrupt ignores V_TPR"),
    ctl_bits("V_INTR_MASKING", 0x060, 8, 24, 1, U::Used, "virtualize TPR and RFLAGS.IF masking"),
    ctl_bits("V_GIF_ENABLE", 0x060, 8, 25, 1, U::Used, "virtual GIF enabled"),
    ctl_bits("V_NMI_ENABLE", 0x060, 8, 26, 1, U::NotModelled, "virtual NMI enabled"),
    ctl_bits("X2AVIC_ENABLE", 0x060, 8, 30, 1, U::NotModelled, "x2AVIC mode (AVIC: not modelled)"),
    ctl_bits("AVIC_ENABLE", 0x060, 8, 31, 1, U::NotModelled, "AVIC enabled (not modelled)"),
    ctl_bits("V_INTR_VECTOR", 0x060, 8, 32, 8, U::Used, "vector of the virtual interrupt"),
    ctl_bits("INTERRUPT_SHADOW", 0x068, 8, 0, 1, U::Used, "the guest is in an interrupt shadow"),
    ctl_bits("GUEST_INTERRUPT_MASK", 0x068, 8, 1, 1, U::Used, "the guest's RFLAGS.IF (written on #VMEXIT)"),
    ctl("EXITCODE", 0x070, 8, U::Used, "#VMEXIT reason (Appendix C), 64 bits: VMEXIT_INVALID is -1"),
    ctl("EXITINFO1", 0x078, 8, U::Used, "exit-specific information"),
    ctl("EXITINFO2", 0x080, 8, U::Used, "exit-specific information"),
    ctl("EXITINTINFO", 0x088, 8, U::Used, "the event being delivered when the #VMEXIT happened (EVENTINJ format)"),
    ctl_bits("NP_ENABLE", 0x090, 8, 0, 1, U::Used, "nested paging enabled"),
    ctl_bits("SEV_ENABLE", 0x090, 8, 1, 1, U::NotModelled, "secure encrypted virtualization"),
    ctl_bits("SEV_ES_ENABLE", 0x090, 8, 2, 1, U::NotModelled, "SEV encrypted state"),
    ctl_bits("GMET_ENABLE", 0x090, 8, 3, 1, U::NotModelled, "guest-mode execute trap"),
    ctl_bits("SSS_CHECK_ENABLE", 0x090, 8, 4, 1, U::NotModelled, "supervisor shadow-stack checks"),
    ctl_bits("VTE_ENABLE", 0x090, 8, 5, 1, U::NotModelled, "virtual transparent encryption"),
    ctl_bits("RO_GPT_ENABLE", 0x090, 8, 6, 1, U::NotModelled, "read-only guest page tables"),
    ctl_bits("INVLPGB_TLBSYNC_ENABLE", 0x090, 8, 7, 1, U::NotModelled, "INVLPGB/TLBSYNC in the guest"),
    ctl("AVIC_APIC_BAR", 0x098, 8, U::NotModelled, "AVIC: guest APIC base (not modelled)"),
    ctl("GHCB_PA", 0x0a0, 8, U::NotModelled, "SEV-ES: guest-hypervisor communication block"),
    ctl("EVENTINJ", 0x0a8, 8, U::Used, "event to inject: vector, type, EV, V, error code (APM 15.20)"),
    ctl("N_CR3", 0x0b0, 8, U::Used, "nested page table root (host-physical CR3)"),
    ctl_bits("LBR_VIRTUALIZATION_ENABLE", 0x0b8, 8, 0, 1, U::NotModelled, "LBR virtualization (not modelled)"),
    ctl_bits("V_VMSAVE_VMLOAD_ENABLE", 0x0b8, 8, 1, 1, U::Used, "virtualized VMSAVE/VMLOAD"),
    ctl("VMCB_CLEAN", 0x0c0, 4, U::Used,
        "VMCB clean bits: fields unchanged since the last VMRUN (softvt reloads every field regardless)"),
    ctl("NRIP", 0x0c8, 8, U::Used, "next sequential RIP of the intercepted instruction (NRIP save)"),
    ctl("INSN_LEN", 0x0d0, 1, U::Used, "number of guest instruction bytes fetched (decode assists)"),
    ctl("INSN_BYTES", 0x0d1, 15, U::Used, "guest instruction bytes (decode assists)"),
    ctl("AVIC_BACKING_PAGE", 0x0e0, 8, U::NotModelled, "AVIC backing page (not modelled)"),
    ctl("AVIC_LOGICAL_TABLE", 0x0f0, 8, U::NotModelled, "AVIC logical APIC ID table (not modelled)"),
    ctl("AVIC_PHYSICAL_TABLE", 0x0f8, 8, U::NotModelled, "AVIC physical APIC ID table (not modelled)"),
    ctl("VMSA_PA", 0x108, 8, U::NotModelled, "SEV-ES: VM save area"),
    ctl("BUS_LOCK_COUNTER", 0x120, 2, U::NotModelled, "bus-lock threshold counter"),
    ctl("RESERVED_FOR_SOFTWARE", 0x3e0, 32, U::NotModelled, "reserved for the hypervisor's use; never touched"),
    // ---- Table B-2: state save area at 0x400 --------------------------------------
    SEGMENT_ROWS("ES", 0x000, U::Used),
    SEGMENT_ROWS("CS", 0x010, U::Used),
    SEGMENT_ROWS("SS", 0x020, U::Used),
    SEGMENT_ROWS("DS", 0x030, U::Used),
    SEGMENT_ROWS("FS", 0x040, U::Used),
    SEGMENT_ROWS("GS", 0x050, U::Used),
    save("GDTR_LIMIT", 0x064, 4, U::Used, "GDTR limit (selector and attributes reserved)"),
    save("GDTR_BASE", 0x068, 8, U::Used, "GDTR base"),
    SEGMENT_ROWS("LDTR", 0x070, U::Used),
    save("IDTR_LIMIT", 0x084, 4, U::Used, "IDTR limit (selector and attributes reserved)"),
    save("IDTR_BASE", 0x088, 8, U::Used, "IDTR base"),
    SEGMENT_ROWS("TR", 0x090, U::Used),
    save("VMPL", 0x0ca, 1, U::NotModelled, "SEV-SNP virtual machine privilege level"),
    save("CPL", 0x0cb, 1, U::Used, "current privilege level"),
    save("EFER", 0x0d0, 8, U::Used, "EFER"),
    save("CR4", 0x148, 8, U::Used, "CR4"),
    save("CR3", 0x150, 8, U::Used, "CR3"),
    save("CR0", 0x158, 8, U::Used, "CR0"),
    save("DR7", 0x160, 8, U::Used, "DR7"),
    save("DR6", 0x168, 8, U::Used, "DR6"),
    save("RFLAGS", 0x170, 8, U::Used, "RFLAGS"),
    save("RIP", 0x178, 8, U::Used, "RIP"),
    save("RSP", 0x1d8, 8, U::Used, "RSP"),
    save("S_CET", 0x1e0, 8, U::NotModelled, "supervisor CET state (no CET)"),
    save("SSP", 0x1e8, 8, U::NotModelled, "shadow-stack pointer (no CET)"),
    save("ISST_ADDR", 0x1f0, 8, U::NotModelled, "interrupt SSP table address (no CET)"),
    save("RAX", 0x1f8, 8, U::Used, "RAX"),
    save("STAR", 0x200, 8, U::Used, "STAR (VMLOAD/VMSAVE)"),
    save("LSTAR", 0x208, 8, U::Used, "LSTAR (VMLOAD/VMSAVE)"),
    save("CSTAR", 0x210, 8, U::Used, "CSTAR (VMLOAD/VMSAVE)"),
    save("SFMASK", 0x218, 8, U::Used, "SFMASK (VMLOAD/VMSAVE)"),
    save("KERNEL_GS_BASE", 0x220, 8, U::Used, "KernelGSbase (VMLOAD/VMSAVE)"),
    save("SYSENTER_CS", 0x228, 8, U::Used, "SYSENTER_CS (VMLOAD/VMSAVE)"),
    save("SYSENTER_ESP", 0x230, 8, U::Used, "SYSENTER_ESP (VMLOAD/VMSAVE)"),
    save("SYSENTER_EIP", 0x238, 8, U::Used, "SYSENTER_EIP (VMLOAD/VMSAVE)"),
    save("CR2", 0x240, 8, U::Used, "CR2"),
    save("G_PAT", 0x268, 8, U::Used, "guest PAT (used only with nested paging)"),
    save("DBGCTL", 0x270, 8, U::NotModelled, "DebugCtl (LBR virtualization: not modelled)"),
    save("BR_FROM", 0x278, 8, U::NotModelled, "LastBranchFromIP (LBR virtualization)"),
    save("BR_TO", 0x280, 8, U::NotModelled, "LastBranchToIP (LBR virtualization)"),
    save("LASTEXCPFROM", 0x288, 8, U::NotModelled, "LastIntFromIP (LBR virtualization)"),
    save("LASTEXCPTO", 0x290, 8, U::NotModelled, "LastIntToIP (LBR virtualization)"),
    save("SPEC_CTRL", 0x2e0, 8, U::NotModelled, "guest SPEC_CTRL"),
};

#undef SEGMENT_ROWS

// Table C-1. CRn/DRn reads and writes, exceptions and CRn write traps are
// ranges (n in the low bits); the table lists each code.
struct ExitCodeTable {
  std::array<ExitCode, 256> codes{};
  std::array<std::array<char, 32>, 256> names{};
  size_t count = 0;

  void add(uint64_t code, const char* name) { codes[count++] = ExitCode{code, name}; }
  void add_range(uint64_t first, unsigned n, const char* prefix, const char* suffix) {
    for (unsigned i = 0; i < n; ++i) {
      std::string s = std::string(prefix) + std::to_string(i) + suffix;
      std::strncpy(names[count].data(), s.c_str(), names[count].size() - 1);
      add(first + i, names[count].data());
    }
  }

  ExitCodeTable() {
    add_range(0x000, 16, "VMEXIT_CR", "_READ");
    add_range(0x010, 16, "VMEXIT_CR", "_WRITE");
    add_range(0x020, 16, "VMEXIT_DR", "_READ");
    add_range(0x030, 16, "VMEXIT_DR", "_WRITE");
    add_range(0x040, 32, "VMEXIT_EXCP", "");
    static constexpr ExitCode kNamed[] = {
        {0x060, "VMEXIT_INTR"},          {0x061, "VMEXIT_NMI"},        {0x062, "VMEXIT_SMI"},
        {0x063, "VMEXIT_INIT"},          {0x064, "VMEXIT_VINTR"},      {0x065, "VMEXIT_CR0_SEL_WRITE"},
        {0x066, "VMEXIT_IDTR_READ"},     {0x067, "VMEXIT_GDTR_READ"},  {0x068, "VMEXIT_LDTR_READ"},
        {0x069, "VMEXIT_TR_READ"},       {0x06a, "VMEXIT_IDTR_WRITE"}, {0x06b, "VMEXIT_GDTR_WRITE"},
        {0x06c, "VMEXIT_LDTR_WRITE"},    {0x06d, "VMEXIT_TR_WRITE"},   {0x06e, "VMEXIT_RDTSC"},
        {0x06f, "VMEXIT_RDPMC"},         {0x070, "VMEXIT_PUSHF"},      {0x071, "VMEXIT_POPF"},
        {0x072, "VMEXIT_CPUID"},         {0x073, "VMEXIT_RSM"},        {0x074, "VMEXIT_IRET"},
        {0x075, "VMEXIT_SWINT"},         {0x076, "VMEXIT_INVD"},       {0x077, "VMEXIT_PAUSE"},
        {0x078, "VMEXIT_HLT"},           {0x079, "VMEXIT_INVLPG"},     {0x07a, "VMEXIT_INVLPGA"},
        {0x07b, "VMEXIT_IOIO"},          {0x07c, "VMEXIT_MSR"},        {0x07d, "VMEXIT_TASK_SWITCH"},
        {0x07e, "VMEXIT_FERR_FREEZE"},   {0x07f, "VMEXIT_SHUTDOWN"},   {0x080, "VMEXIT_VMRUN"},
        {0x081, "VMEXIT_VMMCALL"},       {0x082, "VMEXIT_VMLOAD"},     {0x083, "VMEXIT_VMSAVE"},
        {0x084, "VMEXIT_STGI"},          {0x085, "VMEXIT_CLGI"},       {0x086, "VMEXIT_SKINIT"},
        {0x087, "VMEXIT_RDTSCP"},        {0x088, "VMEXIT_ICEBP"},      {0x089, "VMEXIT_WBINVD"},
        {0x08a, "VMEXIT_MONITOR"},       {0x08b, "VMEXIT_MWAIT"},      {0x08c, "VMEXIT_MWAIT_CONDITIONAL"},
        {0x08d, "VMEXIT_XSETBV"},        {0x08e, "VMEXIT_RDPRU"},      {0x08f, "VMEXIT_EFER_WRITE_TRAP"},
    };
    for (const ExitCode& e : kNamed) add(e.code, e.name);
    add_range(0x090, 16, "VMEXIT_CR", "_WRITE_TRAP");
    static constexpr ExitCode kTail[] = {
        {0x0a0, "VMEXIT_INVLPGB"},  {0x0a1, "VMEXIT_INVLPGB_ILLEGAL"}, {0x0a2, "VMEXIT_INVPCID"},
        {0x0a3, "VMEXIT_MCOMMIT"},  {0x0a4, "VMEXIT_TLBSYNC"},         {0x0a5, "VMEXIT_BUSLOCK"},
        {0x400, "VMEXIT_NPF"},      {0x401, "VMEXIT_AVIC_INCOMPLETE_IPI"}, {0x402, "VMEXIT_AVIC_NOACCEL"},
        {0x403, "VMEXIT_VMGEXIT"},  {exit_code::INVALID, "VMEXIT_INVALID"},
    };
    for (const ExitCode& e : kTail) add(e.code, e.name);
  }
};

const ExitCodeTable& exit_code_table() {
  static const ExitCodeTable t;
  return t;
}

}  // namespace

std::span<const VmcbField> vmcb_fields() { return kFields; }

const VmcbField* find_vmcb_field(const char* name) {
  for (const VmcbField& f : kFields)
    if (std::strcmp(f.name, name) == 0) return &f;
  return nullptr;
}

std::span<const ExitCode> exit_codes() {
  const ExitCodeTable& t = exit_code_table();
  return {t.codes.data(), t.count};
}

const char* exit_code_name(uint64_t code) {
  for (const ExitCode& e : exit_codes())
    if (e.code == code) return e.name;
  return nullptr;
}

uint16_t vmcb_attrib_from_ar(uint32_t attr) { return uint16_t((attr & 0xff) | ((attr >> 4) & 0xf00)); }

uint32_t ar_from_vmcb_attrib(uint16_t attrib) {
  uint32_t attr = (attrib & 0xffu) | ((uint32_t(attrib) & 0xf00u) << 4);
  if (!(attr & ar::P)) attr |= ar::UNUSABLE;
  return attr;
}

}  // namespace softvt::svm
