// A minimal architectural performance-monitoring unit, version 2 (SDM Vol.
// 3B chapter "Performance Monitoring", 21.2.1-21.2.2 "Architectural
// Performance Monitoring Version 1/2 Facilities"), for the intel model
// only: CPUID.0AH reports version 2, no general-purpose counters and one
// fixed-function counter of 48 bits, IA32_FIXED_CTR0 = INST_RETIRED.ANY,
// counting softvt's retired instructions (the instruction count that is
// also its time) at CPL 0 (OS) and/or CPL > 0 (USR) per
// IA32_FIXED_CTR_CTRL[1:0], while IA32_PERF_GLOBAL_CTRL[32] enables it.
// MSRs: IA32_FIXED_CTR0 (309H), IA32_FIXED_CTR_CTRL (38DH),
// IA32_PERF_GLOBAL_STATUS (38EH, read-only), IA32_PERF_GLOBAL_CTRL (38FH),
// IA32_PERF_GLOBAL_OVF_CTRL (390H); RDPMC with ECX = 4000_0000H.
//
// Not modelled: the performance-monitoring interrupt. An overflow (the
// counter wrapping from 2^48 - 1 to 0) sets IA32_PERF_GLOBAL_STATUS[32];
// IA32_FIXED_CTR_CTRL[3] (PMI) is kept as written, but no interrupt is
// sent through the local APIC's LVT performance-counter entry.
//
// The amd model has AMD's legacy core performance counters instead (AMD
// APM Vol. 2 13.2 "Performance Monitoring Counters"; no CPUID bit reports
// them, leaf 0AH and the Intel MSRs are #GP there): four 48-bit counters
// PERF_CTR0-3 (C001_0004h-7h) with event selects PERF_CTL0-3
// (C001_0000h-3h), RDPMC with ECX = 0-3 (no PerfCtrExtCore: ECX 4-5 are
// #GP). Only event C0h "Retired Instructions" counts (softvt's retired
// instructions), per EN (bit 22), OS (17, CPL 0), USR (16, CPL > 0) and
// with EFER.SVME = 1 HG_ONLY (41: host only, 40: guest only, both or
// neither: both); the other events never count; E, INV, CNT_MASK and
// unit masks are kept as written but do not change C0h's count of one per
// instruction; INT (PMI) sends no interrupt.
#pragma once
#include <cstdint>

#include "emu/cpu_model.h"
#include "emu/cpu_state.h"

namespace softvt {
class Cpu;
}

namespace softvt::pmu {

namespace msr {
constexpr uint32_t FIXED_CTR0 = 0x309, FIXED_CTR_CTRL = 0x38d, GLOBAL_STATUS = 0x38e;
constexpr uint32_t GLOBAL_CTRL = 0x38f, GLOBAL_OVF_CTRL = 0x390;
}  // namespace msr

constexpr unsigned VERSION = 2;
constexpr unsigned FIXED_COUNTERS = 1;
constexpr unsigned FIXED_WIDTH = 48;
constexpr uint64_t FIXED_MASK = (uint64_t(1) << FIXED_WIDTH) - 1;
// IA32_PERF_GLOBAL_CTRL / _STATUS / _OVF_CTRL bit of fixed counter 0.
constexpr uint64_t FIXED0 = uint64_t(1) << 32;
// IA32_FIXED_CTR_CTRL, counter 0: enable OS (bit 0), USR (bit 1), PMI (bit 3).
constexpr uint64_t CTRL_OS = 1, CTRL_USR = 2, CTRL_PMI = 8;
// IA32_PERF_GLOBAL_OVF_CTRL: ClrOvfBuffer (62), ClrCondChgd (63).
constexpr uint64_t OVF_BUFFER = uint64_t(1) << 62, COND_CHGD = uint64_t(1) << 63;
// RDPMC's ECX for fixed counter 0 (bit 30: fixed-function counters).
constexpr uint32_t RDPMC_FIXED0 = 0x40000000;

// CPUID leaf 0AH as the intel model reports it.
CpuidLeaf cpuid_leaf();
// The model has this PMU (an Intel model reporting version 2 or later).
bool model_has_pmu(const CpuModel& m);
// Bits of IA32_PERF_GLOBAL_CTRL that exist on the model (the rest are
// reserved: WRMSR #GP, and the VM-entry checks of SDM 28.2.2/28.3.1.1).
uint64_t global_ctrl_valid_bits(const CpuModel& m);

// RDMSR/WRMSR of the PMU's MSRs: false when `index` is not one of them;
// else `ok` = false means #GP(0).
bool read_msr(const Cpu& cpu, uint32_t index, uint64_t& value, bool& ok);
bool write_msr(Cpu& cpu, uint32_t index, uint64_t value, bool& ok);

// AMD's legacy counters (APM Vol. 2 13.2.1 "PerfEvtSeln", 13.2.2).
namespace amd {
constexpr uint32_t PERF_CTL0 = 0xc0010000, PERF_CTR0 = 0xc0010004;
constexpr unsigned COUNTERS = 4;
constexpr uint64_t CTR_MASK = (uint64_t(1) << 48) - 1;
constexpr uint64_t USR = uint64_t(1) << 16, OS = uint64_t(1) << 17, EN = uint64_t(1) << 22;
constexpr uint64_t GUEST_ONLY = uint64_t(1) << 40, HOST_ONLY = uint64_t(1) << 41;
// EventSelect[11:0] = bits 35:32 and 7:0.
constexpr uint64_t EVENT_SELECT = 0xf000000ffull;
constexpr uint64_t EVENT_RETIRED_INSTRUCTIONS = 0xc0;
// Reserved: bit 21, bits 39:36, bits 63:42 (#GP when written as 1).
constexpr uint64_t CTL_RESERVED = (uint64_t(1) << 21) | (uint64_t(0xf) << 36) | ~((uint64_t(1) << 42) - 1);
}  // namespace amd
bool model_has_amd_counters(const CpuModel& m);

// RDPMC's counter for ECX: false = ECX names no counter (#GP(0)).
bool read_counter(const Cpu& cpu, uint32_t ecx, uint64_t& value);
// RDPMC exists on the model (else #UD): the intel PMU or AMD's counters.
bool model_has_rdpmc(const CpuModel& m);

// One instruction retired (the run loop, after each; `guest` = SVM guest
// mode, for HG_ONLY): counts it in fixed counter 0 and the AMD counters
// enabled for the CPL it retired at. The test that nothing counts is two
// loads and a branch.
void count_retired(CpuState& s, bool guest);
inline void retire_instruction(CpuState& s, bool guest) {
  if (((s.perf_global_ctrl & FIXED0) && (s.fixed_ctr_ctrl & (CTRL_OS | CTRL_USR))) || s.amd_counting) [[unlikely]]
    count_retired(s, guest);
}

}  // namespace softvt::pmu
