// CPUID lookup and the registry of built-in models (their data live in
// emu/cpu_models/). Each CPUID bit a model sets is there because softvt
// implements the feature (DESIGN.md; emu/cpu_features.cpp names them).
#include "emu/cpu_model.h"

#include "emu/cpu_models/models.h"

namespace softvt {

bool cpuid_subleaf_significant(uint32_t leaf) {
  return leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd;
}

const CpuidLeaf* CpuModel::find_leaf(uint32_t leaf, uint32_t subleaf) const {
  for (const auto& l : leaves)
    if (l.leaf == leaf && l.subleaf == subleaf) return &l;
  return nullptr;
}

CpuidLeaf* CpuModel::find_leaf(uint32_t leaf, uint32_t subleaf) {
  for (auto& l : leaves)
    if (l.leaf == leaf && l.subleaf == subleaf) return &l;
  return nullptr;
}

CpuidLeaf CpuModel::cpuid(uint32_t leaf, uint32_t subleaf) const {
  const CpuidLeaf* l0 = find_leaf(0, 0);
  const CpuidLeaf* e0 = find_leaf(0x80000000, 0);
  const uint32_t max_basic = l0 ? l0->eax : 0;
  const uint32_t max_ext = e0 ? e0->eax : 0;
  const bool above = leaf < 0x80000000 ? leaf > max_basic : leaf > max_ext;
  if (above) {
    // AMD: a function above the supported range returns zeros (APM Vol. 3
    // CPUID). Intel: "If a value entered for CPUID.EAX is higher than the
    // maximum input value for basic or extended function ... the data for
    // the highest basic information leaf is returned" (SDM Vol. 2 CPUID);
    // that leaf is then read with the caller's ECX.
    if (amd()) return CpuidLeaf{leaf, subleaf, 0, 0, 0, 0};
    leaf = max_basic;
  }
  const uint32_t sub = cpuid_subleaf_significant(leaf) ? subleaf : 0;
  if (const CpuidLeaf* l = find_leaf(leaf, sub)) return CpuidLeaf{leaf, subleaf, l->eax, l->ebx, l->ecx, l->edx};
  // Leaf 0BH past the last level: EAX = EBX = 0, ECX[7:0] = the input
  // level number, ECX[15:8] = 0 (invalid level) (SDM Vol. 2 CPUID).
  if (leaf == 0xb && find_leaf(0xb, 0)) return CpuidLeaf{leaf, subleaf, 0, 0, subleaf & 0xff, 0};
  return CpuidLeaf{leaf, subleaf, 0, 0, 0, 0};
}

const CpuModel& default_cpu_model() {
  static const CpuModel m = make_intel_model();
  return m;
}

namespace {
const CpuModel& amd_model() {
  static const CpuModel m = make_amd_model();
  return m;
}
}  // namespace

const CpuModel* find_cpu_model(const std::string& name) {
  if (name == "intel" || name == "softvt") return &default_cpu_model();
  if (name == "amd") return &amd_model();
  return nullptr;
}

std::vector<std::string> cpu_model_names() { return {"intel", "amd", "softvt"}; }

}  // namespace softvt
