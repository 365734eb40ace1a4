// A CPU model: the CPUID leaves softvt reports and the feature switches the
// decoder and the handlers consult. CPUID never reports a feature softvt
// does not implement (DESIGN.md, issue 3). The named feature bits and their
// CPUID locations are one table (emu/cpu_features.h); the models' data live
// in emu/cpu_models/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vmx/capabilities.h"

namespace softvt {

// Features an instruction can depend on (the "feature" column of the
// instruction table). Base = present on every x86-64 CPU.
// A model's mask is derived from its CPUID bits through the feature table
// (emu/cpu_features.cpp), which names the one CPUID bit gating each.
enum class Feature : uint8_t {
  Base, Cmov, Cx8, Cx16, Popcnt, Lzcnt, Bmi1, Bmi2, Adx, Movbe, Rdtscp,
  LahfLm, Rdrand, Rdseed, Rdpid, Sse, Sse2, Fxsr,
  // x87 and SIMD
  Fpu, Mmx, Xsave, Xsaveopt,
  // system instructions
  Syscall, Sep, FsGsBase, Invpcid, Clflush, Clflushopt, Clwb, Monitor, Smap,
  Count
};
static_assert(unsigned(Feature::Count) <= 64, "CpuModel::features is a 64-bit mask");

// Where a model's behaviour follows its vendor's manual where Intel's SDM
// and AMD's APM differ (CPUID above the maximum leaf, SYSCALL/SYSRET in
// legacy and compatibility mode, SYSRET to a non-canonical RIP, SYSENTER
// in long mode, the vendor-specific MSRs).
enum class Vendor : uint8_t { Intel, Amd };

struct CpuidLeaf {
  uint32_t leaf, subleaf;
  uint32_t eax, ebx, ecx, edx;
};

struct CpuModel {
  std::string name;
  Vendor vendor = Vendor::Intel;
  std::vector<CpuidLeaf> leaves;  // sorted by (leaf, subleaf)
  uint64_t features = 0;          // bit per Feature
  uint8_t phys_addr_bits = 40;    // MAXPHYADDR (CPUID 0x80000008:EAX[7:0])
  uint8_t lin_addr_bits = 48;
  // The VMX capability MSRs (vmx/capabilities.h); meaningful only while
  // CPUID.1:ECX.VMX is set.
  vmx::VmxCapabilities vmx{};
  // The microcode revision the processor reports: Intel, the update
  // signature CPUID.01H deposits in IA32_BIOS_SIGN_ID[63:32] (SDM Vol. 3A
  // 10.11.7); AMD, the patch level in MSR 8BH[31:0] (AMD PPR MSR0000_008B
  // "Patch Level"; Linux's early_init_amd reads it there). Linux checks it
  // against errata tables (e.g. the TSC-deadline timer's,
  // arch/x86/kernel/apic/apic.c).
  uint32_t microcode_revision = 0;

  bool has(Feature f) const { return features & (1ull << unsigned(f)); }
  bool intel() const { return vendor == Vendor::Intel; }
  bool amd() const { return vendor == Vendor::Amd; }
  // CPUID as the model defines it, before the bits that reflect the
  // current state (OSXSAVE, APIC IDs) are merged in by the instruction
  // (emu/interp/system.cpp). A leaf above the maximum returns the highest
  // basic leaf's data on Intel (SDM Vol. 2 CPUID) and zeros on AMD (APM
  // Vol. 3 CPUID).
  CpuidLeaf cpuid(uint32_t leaf, uint32_t subleaf) const;
  // The stored leaf (nullptr if the model has none); for editing models.
  CpuidLeaf* find_leaf(uint32_t leaf, uint32_t subleaf);
  const CpuidLeaf* find_leaf(uint32_t leaf, uint32_t subleaf) const;
};

// Leaves whose output depends on ECX (the subleaf).
bool cpuid_subleaf_significant(uint32_t leaf);

// The built-in models: "intel" (the default), "amd", and "softvt", the
// name the default had before issue 3, kept as an alias of it.
const CpuModel& default_cpu_model();
const CpuModel* find_cpu_model(const std::string& name);
std::vector<std::string> cpu_model_names();

}  // namespace softvt
