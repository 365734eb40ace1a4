// The one table of named CPU features (QEMU's -cpu spelling): for each,
// the CPUID leaf/register/bit that reports it, the softvt Feature it gates
// (the instruction table's feature column; Feature::Base when it gates no
// instruction) and the CR4 bits it makes writable. `--cpu` (emu/cli/
// cpu_option.cpp), MOV to CR4 (emu/interp/system.cpp), the MSR code and the
// tests all read it, so a feature is either fully present or fully absent.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "emu/cpu_model.h"

namespace softvt {

enum class CpuidReg : uint8_t { Eax, Ebx, Ecx, Edx };

struct CpuFeatureInfo {
  const char* name;     // QEMU's spelling
  uint32_t leaf, subleaf;
  CpuidReg reg;
  uint8_t bit;
  Feature gates;        // Feature::Base: a system feature with no instruction row
  uint64_t cr4_bits;    // CR4 bits writable only with this feature
  const char* what;
};

std::span<const CpuFeatureInfo> cpu_feature_table();
// By name; '_' and '-' are interchangeable and "lzcnt" names "abm" (QEMU).
const CpuFeatureInfo* find_cpu_feature(const std::string& name);
const CpuFeatureInfo* find_cpu_feature(uint32_t leaf, uint32_t subleaf, CpuidReg reg, unsigned bit);

// Does the model report the feature (its CPUID bit is set)?
bool model_reports(const CpuModel& m, const CpuFeatureInfo& f);
// Sets or clears the feature in both the CPUID bit and the Feature mask
// (and, for AMD, the 0x80000001 EDX mirror of leaf 1 EDX).
void set_model_feature(CpuModel& m, const CpuFeatureInfo& f, bool on);
// Recomputes the Feature mask from the CPUID bits (a Feature is present
// when every table entry gating it is reported) and AMD's mirrored bits.
void sync_model_features(CpuModel& m);
// Does the model report the named feature? (Convenience for handlers;
// the name must be in the table.)
bool model_has(const CpuModel& m, const char* name);

// CR4 bits a MOV to CR4 may set on this model (SDM 2.5: a bit of a feature
// the processor lacks is reserved, #GP(0)).
uint64_t cr4_writable_bits(const CpuModel& m);

// AMD's 0x80000001 EDX repeats these bits of leaf 1 EDX (APM Vol. 3
// CPUID Fn8000_0001_EDX).
constexpr uint32_t AMD_EXT_EDX_MIRROR = 0x0183f3ffu;

}  // namespace softvt
