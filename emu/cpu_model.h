// A CPU model: the CPUID leaves softvt reports and the feature switches the
// decoder and the handlers consult. CPUID never reports a feature softvt
// does not implement (DESIGN.md, issue 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace softvt {

// Features an instruction can depend on (the "feature" column of the
// instruction table). Base = present on every x86-64 CPU.
// Issue 3 adds the x87/SIMD and system features; a CPU model (emu/cpu_model.cpp)
// sets a bit only when softvt implements that feature.
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

struct CpuidLeaf {
  uint32_t leaf, subleaf;
  uint32_t eax, ebx, ecx, edx;
};

struct CpuModel {
  std::string name;
  std::vector<CpuidLeaf> leaves;  // sorted by (leaf, subleaf)
  uint64_t features = 0;          // bit per Feature
  uint8_t phys_addr_bits = 40;    // MAXPHYADDR (CPUID 0x80000008:EAX[7:0])
  uint8_t lin_addr_bits = 48;

  bool has(Feature f) const { return features & (1ull << unsigned(f)); }
  // CPUID as the instruction returns it (SDM Vol. 2 CPUID: a leaf above the
  // maximum returns the highest basic leaf's data).
  CpuidLeaf cpuid(uint32_t leaf, uint32_t subleaf) const;
};

// The built-in models. "softvt" is the default for the flat runner.
const CpuModel& default_cpu_model();
const CpuModel* find_cpu_model(const std::string& name);
std::vector<std::string> cpu_model_names();

}  // namespace softvt
