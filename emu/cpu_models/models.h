// Builders of the built-in CPU models (emu/cpu_model.cpp registers them)
// and the helpers they share.
#pragma once
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "emu/cpu_features.h"
#include "emu/cpu_model.h"

namespace softvt {

CpuModel make_intel_model();
CpuModel make_amd_model();

namespace model_build {

inline uint32_t str4(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}

// Vendor string in EBX, EDX, ECX order (SDM Vol. 2 CPUID leaf 0).
inline CpuidLeaf vendor_leaf(uint32_t leaf, uint32_t max, const char* vendor12) {
  return CpuidLeaf{leaf, 0, max, str4(vendor12), str4(vendor12 + 8), str4(vendor12 + 4)};
}

// The 48-byte brand string in leaves 80000002H-80000004H.
inline void add_brand(CpuModel& m, const char* text) {
  char brand[48] = {};
  std::strncpy(brand, text, 47);
  for (uint32_t i = 0; i < 3; ++i) {
    CpuidLeaf l{0x80000002 + i, 0, 0, 0, 0, 0};
    std::memcpy(&l.eax, brand + 16 * i, 4);
    std::memcpy(&l.ebx, brand + 16 * i + 4, 4);
    std::memcpy(&l.ecx, brand + 16 * i + 8, 4);
    std::memcpy(&l.edx, brand + 16 * i + 12, 4);
    m.leaves.push_back(l);
  }
}

// Sets each named feature's CPUID bit (the leaves must exist), then
// derives the Feature mask from them.
inline void add_features(CpuModel& m, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    const CpuFeatureInfo* f = find_cpu_feature(n);
    if (!f) throw std::logic_error(std::string("cpu model: unknown feature ") + n);
    set_model_feature(m, *f, true);
  }
}

inline void sort_leaves(CpuModel& m) {
  std::sort(m.leaves.begin(), m.leaves.end(), [](const CpuidLeaf& a, const CpuidLeaf& b) {
    return a.leaf != b.leaf ? a.leaf < b.leaf : a.subleaf < b.subleaf;
  });
}

// XSAVE (leaf 0DH): XCR0 may enable x87 (bit 0) and SSE (bit 1); the
// area for both is the 512-byte legacy region plus the 64-byte header =
// 576 bytes (SDM Vol. 1 13.4). Subleaf 1 EAX holds XSAVEOPT (bit 0), set
// through the feature table.
inline void add_xsave_leaves(CpuModel& m) {
  m.leaves.push_back({0xd, 0, 0x3, 576, 576, 0});
  m.leaves.push_back({0xd, 1, 0, 576, 0, 0});
}

}  // namespace model_build
}  // namespace softvt
