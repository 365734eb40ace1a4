// The architectural PMU, version 2, and AMD's legacy counters (emu/pmu.h).
#include "emu/pmu.h"

#include "emu/cpu.h"

namespace softvt::pmu {

// CPUID.0AH (SDM Vol. 2 CPUID, "Architectural Performance Monitoring
// Leaf"): EAX[7:0] version 2, EAX[15:8] no general-purpose counters,
// EAX[23:16] their width (0: none), EAX[31:24] = 7, the length of the EBX
// vector, whose bits 6:0 are all 1: none of the seven architectural events
// can be counted by a general-purpose counter (there are none). EDX[4:0]
// one fixed-function counter, EDX[12:5] its width 48. ECX is reserved
// before version 5.
CpuidLeaf cpuid_leaf() {
  constexpr uint32_t EVENTS = 7;
  return CpuidLeaf{0xa, 0, VERSION | (EVENTS << 24), (1u << EVENTS) - 1, 0,
                   FIXED_COUNTERS | (FIXED_WIDTH << 5)};
}

bool model_has_pmu(const CpuModel& m) {
  if (!m.intel()) return false;
  const CpuidLeaf* l = m.find_leaf(0xa, 0);
  return l && (l->eax & 0xff) >= VERSION && (l->edx & 0x1f) >= FIXED_COUNTERS;
}

uint64_t global_ctrl_valid_bits(const CpuModel& m) { return model_has_pmu(m) ? FIXED0 : 0; }

namespace {

// IA32_FIXED_CTR_CTRL with one fixed counter in version 2: ENABLE (1:0) and
// PMI (3); bit 2 (AnyThread) exists from version 3 on, bits 63:4 belong
// to counters the model lacks: reserved (SDM Figure "Layout of
// IA32_FIXED_CTR_CTRL MSR").
constexpr uint64_t CTRL_VALID = CTRL_OS | CTRL_USR | CTRL_PMI;
// IA32_PERF_GLOBAL_OVF_CTRL: the overflow of fixed counter 0, ClrOvfBuffer
// and ClrCondChgd (SDM Figure "Layout of IA32_PERF_GLOBAL_OVF_CTRL MSR").
constexpr uint64_t OVF_CTRL_VALID = FIXED0 | OVF_BUFFER | COND_CHGD;

}  // namespace

bool model_has_amd_counters(const CpuModel& m) { return m.amd(); }
bool model_has_rdpmc(const CpuModel& m) { return model_has_pmu(m) || model_has_amd_counters(m); }

namespace {

// PERF_CTLn / PERF_CTRn: the counter number, or -1.
int amd_ctl_index(uint32_t index) {
  return index - amd::PERF_CTL0 < amd::COUNTERS ? int(index - amd::PERF_CTL0) : -1;
}
int amd_ctr_index(uint32_t index) {
  return index - amd::PERF_CTR0 < amd::COUNTERS ? int(index - amd::PERF_CTR0) : -1;
}

bool counts_retired_instructions(uint64_t ctl) {
  return (ctl & amd::EN) && (ctl & (amd::OS | amd::USR)) &&
         (ctl & amd::EVENT_SELECT) == amd::EVENT_RETIRED_INSTRUCTIONS;
}

void update_amd_counting(CpuState& s) {
  s.amd_counting = 0;
  for (uint64_t ctl : s.perf_ctl) s.amd_counting |= counts_retired_instructions(ctl);
}

// The AMD MSRs: on the amd model only (#GP elsewhere, as the Intel MSRs
// are on the amd model). A counter keeps bits 47:0 of a write (bits
// 63:48 of the 48-bit counters are ignored); a select with a reserved bit
// set is #GP(0).
bool read_amd_msr(const Cpu& cpu, uint32_t index, uint64_t& value, bool& ok) {
  if (const int n = amd_ctl_index(index); n >= 0) {
    value = cpu.s.perf_ctl[n];
  } else if (const int c = amd_ctr_index(index); c >= 0) {
    value = cpu.s.perf_ctr[c];
  } else {
    return false;
  }
  ok = model_has_amd_counters(cpu.model);
  return true;
}

bool write_amd_msr(Cpu& cpu, uint32_t index, uint64_t value, bool& ok) {
  const bool present = model_has_amd_counters(cpu.model);
  if (const int n = amd_ctl_index(index); n >= 0) {
    ok = present && !(value & amd::CTL_RESERVED);
    if (ok) {
      cpu.s.perf_ctl[n] = value;
      update_amd_counting(cpu.s);
    }
    return true;
  }
  if (const int c = amd_ctr_index(index); c >= 0) {
    ok = present;
    if (ok) cpu.s.perf_ctr[c] = value & amd::CTR_MASK;
    return true;
  }
  return false;
}

}  // namespace

bool read_msr(const Cpu& cpu, uint32_t index, uint64_t& value, bool& ok) {
  const CpuState& s = cpu.s;
  if (read_amd_msr(cpu, index, value, ok)) return true;
  switch (index) {
    case msr::FIXED_CTR0: value = s.fixed_ctr0; break;
    case msr::FIXED_CTR_CTRL: value = s.fixed_ctr_ctrl; break;
    case msr::GLOBAL_STATUS: value = s.perf_global_status; break;
    case msr::GLOBAL_CTRL: value = s.perf_global_ctrl; break;
    // Write-1-to-clear: reads return 0 (it holds no state).
    case msr::GLOBAL_OVF_CTRL: value = 0; break;
    default: return false;
  }
  ok = model_has_pmu(cpu.model);
  return true;
}

bool write_msr(Cpu& cpu, uint32_t index, uint64_t value, bool& ok) {
  CpuState& s = cpu.s;
  if (write_amd_msr(cpu, index, value, ok)) return true;
  const bool present = model_has_pmu(cpu.model);
  switch (index) {
    case msr::FIXED_CTR0:
      // "Bits beyond the width of the fixed-function counter are reserved
      // and must be written as zeros" (SDM Vol. 3B "Architectural
      // Performance Monitoring Version 2 Facilities").
      ok = present && !(value & ~FIXED_MASK);
      if (ok) s.fixed_ctr0 = value;
      return true;
    case msr::FIXED_CTR_CTRL:
      ok = present && !(value & ~CTRL_VALID);
      if (ok) s.fixed_ctr_ctrl = value;
      return true;
    case msr::GLOBAL_STATUS:
      ok = false;  // read-only
      return true;
    case msr::GLOBAL_CTRL:
      ok = present && !(value & ~global_ctrl_valid_bits(cpu.model));
      if (ok) s.perf_global_ctrl = value;
      return true;
    case msr::GLOBAL_OVF_CTRL:
      ok = present && !(value & ~OVF_CTRL_VALID);
      if (ok) s.perf_global_status &= ~value;
      return true;
    default: return false;
  }
}

bool read_counter(const Cpu& cpu, uint32_t ecx, uint64_t& value) {
  // AMD (APM Vol. 3 RDPMC): ECX 0-3 select PERF_CTR0-3.
  if (model_has_amd_counters(cpu.model)) {
    if (ecx >= amd::COUNTERS) return false;
    value = cpu.s.perf_ctr[ecx];
    return true;
  }
  if (!model_has_pmu(cpu.model) || ecx != RDPMC_FIXED0) return false;
  value = cpu.s.fixed_ctr0;
  return true;
}

namespace {

// INST_RETIRED.ANY at the CPL the instruction retired at: OS = CPL 0, USR
// = CPL 1-3. A wrap from 2^48 - 1 to 0 is an overflow.
void count_fixed0(CpuState& s) {
  if (!(s.perf_global_ctrl & FIXED0)) return;
  const uint64_t wanted = s.cpl == 0 ? CTRL_OS : CTRL_USR;
  if (!(s.fixed_ctr_ctrl & wanted)) return;
  s.fixed_ctr0 = (s.fixed_ctr0 + 1) & FIXED_MASK;
  if (s.fixed_ctr0 == 0) s.perf_global_status |= FIXED0;
}

// APM Vol. 2 13.2.1: OS counts at CPL 0, USR at CPL 1-3; with EFER.SVME =
// 1, HG_ONLY = 01b counts in the guest only, 10b in the host only.
bool amd_counts_now(const CpuState& s, uint64_t ctl, bool guest) {
  if (!counts_retired_instructions(ctl)) return false;
  if (!(ctl & (s.cpl == 0 ? amd::OS : amd::USR))) return false;
  const uint64_t hg = ctl & (amd::GUEST_ONLY | amd::HOST_ONLY);
  if (!(s.efer & efer::SVME) || hg == 0 || hg == (amd::GUEST_ONLY | amd::HOST_ONLY)) return true;
  return guest ? hg == amd::GUEST_ONLY : hg == amd::HOST_ONLY;
}

}  // namespace

void count_retired(CpuState& s, bool guest) {
  count_fixed0(s);
  if (!s.amd_counting) return;
  for (unsigned n = 0; n < amd::COUNTERS; ++n)
    if (amd_counts_now(s, s.perf_ctl[n], guest)) s.perf_ctr[n] = (s.perf_ctr[n] + 1) & amd::CTR_MASK;
}

}  // namespace softvt::pmu
