// The named-feature table (emu/cpu_features.h). Bit positions: SDM Vol. 2
// CPUID Tables 3-8 to 3-11 and the leaf 6/7/0DH/80000001H/80000007H
// descriptions; AMD APM Vol. 3 Appendix E for the AMD-defined bits.
#include "emu/cpu_features.h"

#include <algorithm>
#include <iterator>

#include "emu/cpu_state.h"

namespace softvt {
namespace {

using R = CpuidReg;
using F = Feature;

constexpr uint32_t EXT1 = 0x80000001;

// Only what softvt implements is listed; VME/PVI and PKU are not (their
// CR4 bits stay reserved). VMX is Intel's (vmx/): its capability MSRs are
// named separately (vmx/capabilities.h). SVM is AMD's (svm/): 80000001H:
// ECX.SVM makes EFER.SVME, VM_CR and VM_HSAVE_PA exist; the 8000000AH:EDX
// bits carry QEMU's names (target/i386/cpu.c FEAT_SVM).
const CpuFeatureInfo kFeatures[] = {
    // CPUID.01H:EDX
    {"fpu", 1, 0, R::Edx, 0, F::Fpu, 0, "x87 FPU on chip"},
    {"de", 1, 0, R::Edx, 2, F::Base, cr4::DE, "debugging extensions (CR4.DE: DR4/DR5 #UD)"},
    {"pse", 1, 0, R::Edx, 3, F::Base, cr4::PSE, "4-MiB pages in 32-bit paging"},
    {"tsc", 1, 0, R::Edx, 4, F::Base, cr4::TSD, "time-stamp counter, RDTSC, CR4.TSD"},
    {"msr", 1, 0, R::Edx, 5, F::Base, 0, "RDMSR/WRMSR"},
    {"pae", 1, 0, R::Edx, 6, F::Base, cr4::PAE, "physical-address extension"},
    {"mce", 1, 0, R::Edx, 7, F::Base, cr4::MCE, "machine-check exception (CR4.MCE)"},
    {"cx8", 1, 0, R::Edx, 8, F::Cx8, 0, "CMPXCHG8B"},
    {"apic", 1, 0, R::Edx, 9, F::Base, 0, "local APIC"},
    {"sep", 1, 0, R::Edx, 11, F::Sep, 0, "SYSENTER/SYSEXIT"},
    {"mtrr", 1, 0, R::Edx, 12, F::Base, 0, "memory-type range registers"},
    {"pge", 1, 0, R::Edx, 13, F::Base, cr4::PGE, "global pages (CR4.PGE)"},
    {"mca", 1, 0, R::Edx, 14, F::Base, 0, "machine-check architecture (IA32_MCG_CAP, banks)"},
    {"cmov", 1, 0, R::Edx, 15, F::Cmov, 0, "CMOVcc"},
    {"pat", 1, 0, R::Edx, 16, F::Base, 0, "page-attribute table (IA32_PAT)"},
    {"pse36", 1, 0, R::Edx, 17, F::Base, 0, "36-bit 4-MiB page addresses"},
    {"clflush", 1, 0, R::Edx, 19, F::Clflush, 0, "CLFLUSH"},
    {"mmx", 1, 0, R::Edx, 23, F::Mmx, 0, "MMX"},
    {"fxsr", 1, 0, R::Edx, 24, F::Fxsr, cr4::OSFXSR, "FXSAVE/FXRSTOR, CR4.OSFXSR"},
    {"sse", 1, 0, R::Edx, 25, F::Sse, cr4::OSXMMEXCPT, "SSE, CR4.OSXMMEXCPT"},
    {"sse2", 1, 0, R::Edx, 26, F::Sse2, 0, "SSE2"},
    // CPUID.01H:ECX
    {"monitor", 1, 0, R::Ecx, 3, F::Monitor, 0, "MONITOR/MWAIT"},
    {"vmx", 1, 0, R::Ecx, 5, F::Base, cr4::VMXE, "VMX (VMXON..VMFUNC, IA32_VMX_* MSRs, CR4.VMXE)"},
    {"cx16", 1, 0, R::Ecx, 13, F::Cx16, 0, "CMPXCHG16B"},
    {"pcid", 1, 0, R::Ecx, 17, F::Base, cr4::PCIDE, "process-context identifiers (CR4.PCIDE)"},
    {"x2apic", 1, 0, R::Ecx, 21, F::Base, 0, "x2APIC mode"},
    {"movbe", 1, 0, R::Ecx, 22, F::Movbe, 0, "MOVBE"},
    {"popcnt", 1, 0, R::Ecx, 23, F::Popcnt, 0, "POPCNT"},
    {"tsc-deadline", 1, 0, R::Ecx, 24, F::Base, 0, "APIC timer TSC-deadline mode"},
    {"xsave", 1, 0, R::Ecx, 26, F::Xsave, cr4::OSXSAVE, "XSAVE/XRSTOR/XGETBV/XSETBV, CR4.OSXSAVE"},
    {"rdrand", 1, 0, R::Ecx, 30, F::Rdrand, 0, "RDRAND"},
    // CPUID.06H:EAX
    {"arat", 6, 0, R::Eax, 2, F::Base, 0, "APIC timer always running"},
    // CPUID.(EAX=07H,ECX=0):EBX
    {"fsgsbase", 7, 0, R::Ebx, 0, F::FsGsBase, cr4::FSGSBASE, "RD/WRFSBASE, RD/WRGSBASE"},
    {"tsc-adjust", 7, 0, R::Ebx, 1, F::Base, 0, "IA32_TSC_ADJUST"},
    {"bmi1", 7, 0, R::Ebx, 3, F::Bmi1, 0, "BMI1 (ANDN, BEXTR, BLS*, TZCNT)"},
    {"smep", 7, 0, R::Ebx, 7, F::Base, cr4::SMEP, "supervisor-mode execution prevention"},
    {"bmi2", 7, 0, R::Ebx, 8, F::Bmi2, 0, "BMI2"},
    {"invpcid", 7, 0, R::Ebx, 10, F::Invpcid, 0, "INVPCID"},
    {"rdseed", 7, 0, R::Ebx, 18, F::Rdseed, 0, "RDSEED"},
    {"adx", 7, 0, R::Ebx, 19, F::Adx, 0, "ADCX/ADOX"},
    {"smap", 7, 0, R::Ebx, 20, F::Smap, cr4::SMAP, "supervisor-mode access prevention, STAC/CLAC"},
    {"clflushopt", 7, 0, R::Ebx, 23, F::Clflushopt, 0, "CLFLUSHOPT"},
    {"clwb", 7, 0, R::Ebx, 24, F::Clwb, 0, "CLWB"},
    // CPUID.(EAX=07H,ECX=0):ECX
    {"umip", 7, 0, R::Ecx, 2, F::Base, cr4::UMIP, "user-mode instruction prevention"},
    {"la57", 7, 0, R::Ecx, 16, F::Base, cr4::LA57, "5-level paging"},
    {"rdpid", 7, 0, R::Ecx, 22, F::Rdpid, 0, "RDPID"},
    // CPUID.(EAX=0DH,ECX=1):EAX
    {"xsaveopt", 0xd, 1, R::Eax, 0, F::Xsaveopt, 0, "XSAVEOPT"},
    // CPUID.80000001H:ECX
    {"lahf-lm", EXT1, 0, R::Ecx, 0, F::LahfLm, 0, "LAHF/SAHF in 64-bit mode"},
    {"svm", EXT1, 0, R::Ecx, 2, F::Base, 0, "SVM (VMRUN..INVLPGA, EFER.SVME, VM_CR, VM_HSAVE_PA)"},
    {"abm", EXT1, 0, R::Ecx, 5, F::Lzcnt, 0, "LZCNT (advanced bit manipulation)"},
    // CPUID.80000001H:EDX
    {"syscall", EXT1, 0, R::Edx, 11, F::Syscall, 0, "SYSCALL/SYSRET"},
    {"nx", EXT1, 0, R::Edx, 20, F::Base, 0, "execute-disable pages (EFER.NXE)"},
    {"pdpe1gb", EXT1, 0, R::Edx, 26, F::Base, 0, "1-GiB pages"},
    {"rdtscp", EXT1, 0, R::Edx, 27, F::Rdtscp, 0, "RDTSCP, IA32_TSC_AUX"},
    {"lm", EXT1, 0, R::Edx, 29, F::Base, 0, "long mode"},
    // CPUID.8000000AH:EDX (APM Vol. 3 CPUID Fn8000_000A_EDX): SVM features
    {"npt", 0x8000000a, 0, R::Edx, 0, F::Base, 0, "SVM nested paging"},
    {"nrip-save", 0x8000000a, 0, R::Edx, 3, F::Base, 0, "SVM next-RIP save on #VMEXIT"},
    {"tsc-scale", 0x8000000a, 0, R::Edx, 4, F::Base, 0, "SVM TSC ratio MSR (C000_0104h)"},
    {"vmcb-clean", 0x8000000a, 0, R::Edx, 5, F::Base, 0, "SVM VMCB clean bits"},
    {"flushbyasid", 0x8000000a, 0, R::Edx, 6, F::Base, 0, "SVM TLB_CONTROL flush by ASID"},
    {"decodeassists", 0x8000000a, 0, R::Edx, 7, F::Base, 0, "SVM decode assists"},
    {"pause-filter", 0x8000000a, 0, R::Edx, 10, F::Base, 0, "SVM PAUSE intercept filter count"},
    {"pfthreshold", 0x8000000a, 0, R::Edx, 12, F::Base, 0, "SVM PAUSE filter threshold"},
    {"v-vmsave-vmload", 0x8000000a, 0, R::Edx, 15, F::Base, 0, "SVM virtualized VMSAVE/VMLOAD"},
    {"vgif", 0x8000000a, 0, R::Edx, 16, F::Base, 0, "SVM virtual GIF"},
    // CPUID.80000007H:EDX
    {"invtsc", 0x80000007, 0, R::Edx, 8, F::Base, 0, "invariant TSC"},
};

uint32_t& reg_of(CpuidLeaf& l, CpuidReg r) {
  switch (r) {
    case R::Eax: return l.eax;
    case R::Ebx: return l.ebx;
    case R::Ecx: return l.ecx;
    default: return l.edx;
  }
}

std::string normalise(std::string n) {
  std::replace(n.begin(), n.end(), '_', '-');
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (n == "lzcnt") n = "abm";
  if (n == "pdpe1g") n = "pdpe1gb";
  return n;
}

void update_amd_mirror(CpuModel& m) {
  if (!m.amd()) return;
  const CpuidLeaf* l1 = m.find_leaf(1, 0);
  CpuidLeaf* e1 = m.find_leaf(EXT1, 0);
  if (!l1 || !e1) return;
  e1->edx = (e1->edx & ~AMD_EXT_EDX_MIRROR) | (l1->edx & AMD_EXT_EDX_MIRROR);
}

// 0x80000008:EAX[15:8], the linear-address width, follows LA57.
void update_address_widths(CpuModel& m) {
  const CpuFeatureInfo* la57 = find_cpu_feature("la57");
  m.lin_addr_bits = model_reports(m, *la57) ? 57 : 48;
  if (CpuidLeaf* l = m.find_leaf(0x80000008, 0))
    l->eax = (l->eax & ~0xffffu) | m.phys_addr_bits | (uint32_t(m.lin_addr_bits) << 8);
}

}  // namespace

std::span<const CpuFeatureInfo> cpu_feature_table() { return kFeatures; }

const CpuFeatureInfo* find_cpu_feature(const std::string& name) {
  const std::string n = normalise(name);
  for (const CpuFeatureInfo& f : kFeatures)
    if (n == f.name) return &f;
  return nullptr;
}

const CpuFeatureInfo* find_cpu_feature(uint32_t leaf, uint32_t subleaf, CpuidReg reg, unsigned bit) {
  for (const CpuFeatureInfo& f : kFeatures)
    if (f.leaf == leaf && f.subleaf == subleaf && f.reg == reg && f.bit == bit) return &f;
  return nullptr;
}

bool model_reports(const CpuModel& m, const CpuFeatureInfo& f) {
  const CpuidLeaf* l = m.find_leaf(f.leaf, f.subleaf);
  if (!l) return false;
  CpuidLeaf copy = *l;
  return (reg_of(copy, f.reg) >> f.bit) & 1;
}

bool model_has(const CpuModel& m, const char* name) {
  const CpuFeatureInfo* f = find_cpu_feature(name);
  return f && model_reports(m, *f);
}

void sync_model_features(CpuModel& m) {
  update_amd_mirror(m);
  update_address_widths(m);
  uint64_t features = 1ull << unsigned(Feature::Base);
  for (const CpuFeatureInfo& f : kFeatures)
    if (f.gates != Feature::Base && model_reports(m, f)) features |= 1ull << unsigned(f.gates);
  m.features = features;
}

void set_model_feature(CpuModel& m, const CpuFeatureInfo& f, bool on) {
  CpuidLeaf* l = m.find_leaf(f.leaf, f.subleaf);
  if (!l) {
    m.leaves.push_back(CpuidLeaf{f.leaf, f.subleaf, 0, 0, 0, 0});
    std::sort(m.leaves.begin(), m.leaves.end(), [](const CpuidLeaf& a, const CpuidLeaf& b) {
      return a.leaf != b.leaf ? a.leaf < b.leaf : a.subleaf < b.subleaf;
    });
    l = m.find_leaf(f.leaf, f.subleaf);
  }
  uint32_t& r = reg_of(*l, f.reg);
  r = on ? (r | (1u << f.bit)) : (r & ~(1u << f.bit));
  sync_model_features(m);
}

uint64_t cr4_writable_bits(const CpuModel& m) {
  // PCE (RDPMC at any CPL) has no CPUID flag of its own: every x86-64
  // processor has it.
  uint64_t bits = cr4::PCE;
  for (const CpuFeatureInfo& f : kFeatures)
    if (f.cr4_bits && model_reports(m, f)) bits |= f.cr4_bits;
  return bits;
}

}  // namespace softvt
