// The built-in CPU models. Each CPUID bit below is set only because softvt
// implements the feature (DESIGN.md; issue 3 adds the named PC models).
#include "emu/cpu_model.h"

#include <algorithm>
#include <cstring>

namespace softvt {
namespace {

uint32_t str4(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}

constexpr uint64_t bit(Feature f) { return 1ull << unsigned(f); }

CpuModel make_softvt_model() {
  CpuModel m;
  m.name = "softvt";
  m.phys_addr_bits = 40;
  m.lin_addr_bits = 48;
  m.features = bit(Feature::Base) | bit(Feature::Cmov) | bit(Feature::Cx8) | bit(Feature::Cx16) |
               bit(Feature::Popcnt) | bit(Feature::Lzcnt) | bit(Feature::Bmi1) |
               bit(Feature::Bmi2) | bit(Feature::Adx) | bit(Feature::Movbe) |
               bit(Feature::Rdtscp) | bit(Feature::LahfLm) | bit(Feature::Fpu) |
               bit(Feature::Mmx) | bit(Feature::Sse) | bit(Feature::Sse2) | bit(Feature::Fxsr);
  // Leaf 0: maximum basic leaf and vendor "GenuineIntel" (EBX, EDX, ECX).
  m.leaves.push_back({0, 0, 7, str4("Genu"), str4("ntel"), str4("ineI")});
  // Leaf 1: family 6 model 0x55 stepping 4 style signature; features:
  // EDX: FPU(0) PSE(3) TSC(4) MSR(5) PAE(6) CX8(8) CMOV(15) MMX(23) FXSR(24)
  // SSE(25) SSE2(26);
  // ECX: CX16(13) MOVBE(22) POPCNT(23).
  const uint32_t l1_edx = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |
                          (1u << 15) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
  const uint32_t l1_ecx = (1u << 13) | (1u << 22) | (1u << 23);
  m.leaves.push_back({1, 0, 0x00050654, 0x00010800, l1_ecx, l1_edx});
  // Leaf 7.0: EBX: BMI1(3) BMI2(8) ADX(19).
  m.leaves.push_back({7, 0, 0, (1u << 3) | (1u << 8) | (1u << 19), 0, 0});
  m.leaves.push_back({0x80000000, 0, 0x80000008, 0, 0, 0});
  // 0x80000001: ECX: LAHF/SAHF in 64-bit mode(0) LZCNT(5);
  // EDX: NX(20) 1-GiB pages(26) RDTSCP(27) LM(29).
  m.leaves.push_back({0x80000001, 0, 0, 0, (1u << 0) | (1u << 5),
                      (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29)});
  const char brand[49] = "softvt x86-64 software CPU                      ";
  for (uint32_t i = 0; i < 3; ++i) {
    CpuidLeaf l{0x80000002 + i, 0, 0, 0, 0, 0};
    std::memcpy(&l.eax, brand + 16 * i, 4);
    std::memcpy(&l.ebx, brand + 16 * i + 4, 4);
    std::memcpy(&l.ecx, brand + 16 * i + 8, 4);
    std::memcpy(&l.edx, brand + 16 * i + 12, 4);
    m.leaves.push_back(l);
  }
  // 0x80000008: physical and linear address widths.
  m.leaves.push_back({0x80000008, 0, uint32_t(m.phys_addr_bits) | (uint32_t(m.lin_addr_bits) << 8), 0, 0, 0});
  std::sort(m.leaves.begin(), m.leaves.end(), [](const CpuidLeaf& a, const CpuidLeaf& b) {
    return a.leaf != b.leaf ? a.leaf < b.leaf : a.subleaf < b.subleaf;
  });
  return m;
}

}  // namespace

CpuidLeaf CpuModel::cpuid(uint32_t leaf, uint32_t subleaf) const {
  const uint32_t max_basic = leaves.empty() ? 0 : leaves.front().eax;
  uint32_t max_ext = 0;
  for (const auto& l : leaves)
    if (l.leaf == 0x80000000) max_ext = l.eax;
  // Intel: a leaf above the maximum returns the highest basic leaf's data
  // (SDM Vol. 2 CPUID, "If a value entered ... is higher than the maximum").
  if ((leaf < 0x80000000 && leaf > max_basic) || (leaf >= 0x80000000 && leaf > max_ext)) {
    leaf = max_basic;
  }
  for (const auto& l : leaves) {
    if (l.leaf == leaf && (l.subleaf == subleaf || (leaf != 7 && leaf != 0xd && leaf != 4 && leaf != 0xb)))
      return CpuidLeaf{leaf, subleaf, l.eax, l.ebx, l.ecx, l.edx};
  }
  return CpuidLeaf{leaf, subleaf, 0, 0, 0, 0};
}

const CpuModel& default_cpu_model() {
  static const CpuModel m = make_softvt_model();
  return m;
}

const CpuModel* find_cpu_model(const std::string& name) {
  if (name == default_cpu_model().name) return &default_cpu_model();
  return nullptr;
}

std::vector<std::string> cpu_model_names() { return {default_cpu_model().name}; }

}  // namespace softvt
