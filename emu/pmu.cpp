// The architectural PMU, version 2 (emu/pmu.h).
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

bool read_msr(const Cpu& cpu, uint32_t index, uint64_t& value, bool& ok) {
  const CpuState& s = cpu.s;
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
  if (!model_has_pmu(cpu.model) || ecx != RDPMC_FIXED0) return false;
  value = cpu.s.fixed_ctr0;
  return true;
}

// INST_RETIRED.ANY at the CPL the instruction retired at: OS = CPL 0, USR
// = CPL 1-3. A wrap from 2^48 - 1 to 0 is an overflow.
void count_retired(CpuState& s) {
  const uint64_t wanted = s.cpl == 0 ? CTRL_OS : CTRL_USR;
  if (!(s.fixed_ctr_ctrl & wanted)) return;
  s.fixed_ctr0 = (s.fixed_ctr0 + 1) & FIXED_MASK;
  if (s.fixed_ctr0 == 0) s.perf_global_status |= FIXED0;
}

}  // namespace softvt::pmu
