// MSRs of issue 3 (SDM Vol. 4 Table 2-2 for the addresses and layouts) and
// the state-dependent CPUID bits. See system_msrs.h.
#include "emu/interp/system_msrs.h"

#include "emu/cpu.h"
#include "emu/cpu_features.h"

namespace softvt {
namespace {

namespace msr {
constexpr uint32_t TSC = 0x10, TSC_ADJUST = 0x3b, MTRRCAP = 0xfe;
constexpr uint32_t MCG_CAP = 0x179, MCG_STATUS = 0x17a, MCG_CTL = 0x17b;
constexpr uint32_t MISC_ENABLE = 0x1a0;
constexpr uint32_t MTRR_PHYSBASE0 = 0x200, MTRR_DEF_TYPE = 0x2ff;
constexpr uint32_t MC0_CTL = 0x400;
constexpr uint32_t TSC_AUX = 0xc0000103;
}  // namespace msr

bool has(const Cpu& cpu, const char* feature) { return model_has(cpu.model, feature); }

uint64_t phys_reserved(const Cpu& cpu) { return ~((uint64_t(1) << cpu.model.phys_addr_bits) - 1); }

// ---- TSC, IA32_TSC_ADJUST, IA32_TSC_AUX ------------------------------------------

// A write of the TSC that moves it by X moves IA32_TSC_ADJUST by X, and a
// write of IA32_TSC_ADJUST that moves it by X moves the TSC by X (SDM
// 17.17.3).
void write_tsc(Cpu& cpu, uint64_t v) {
  const uint64_t delta = v - cpu.tsc();
  cpu.s.tsc_offset += delta;
  if (has(cpu, "tsc-adjust")) cpu.s.tsc_adjust += delta;
}

void write_tsc_adjust(Cpu& cpu, uint64_t v) {
  cpu.s.tsc_offset += v - cpu.s.tsc_adjust;
  cpu.s.tsc_adjust = v;
}

bool has_tsc_aux(const Cpu& cpu) { return has(cpu, "rdtscp") || has(cpu, "rdpid"); }

// ---- IA32_MISC_ENABLE (Intel) -------------------------------------------------------

namespace misc {
constexpr uint64_t FAST_STRINGS = 1u << 0, AUTO_THERMAL = 1u << 3, BTS_UNAVAILABLE = 1u << 11;
constexpr uint64_t PEBS_UNAVAILABLE = 1u << 12, MONITOR_FSM = 1u << 18, LIMIT_CPUID = 1u << 22;
constexpr uint64_t XD_DISABLE = 1ull << 34;
// Power-on value: fast strings and MONITOR/MWAIT enabled, no branch-trace
// store or PEBS (softvt has no performance monitoring).
constexpr uint64_t POWER_ON = FAST_STRINGS | BTS_UNAVAILABLE | PEBS_UNAVAILABLE | MONITOR_FSM;
constexpr uint64_t READ_ONLY = BTS_UNAVAILABLE | PEBS_UNAVAILABLE;
}  // namespace misc

uint64_t misc_enable(const Cpu& cpu) { return cpu.s.misc_enable ^ misc::POWER_ON; }

uint64_t misc_writable(const Cpu& cpu) {
  uint64_t w = misc::FAST_STRINGS | misc::AUTO_THERMAL | misc::LIMIT_CPUID;
  if (has(cpu, "monitor")) w |= misc::MONITOR_FSM;
  if (has(cpu, "nx")) w |= misc::XD_DISABLE;
  return w;
}

bool write_misc_enable(Cpu& cpu, uint64_t v) {
  if (v & ~(misc_writable(cpu) | misc::READ_ONLY)) return false;
  if ((v ^ misc_enable(cpu)) & misc::READ_ONLY) return false;
  cpu.s.misc_enable = v ^ misc::POWER_ON;
  return true;
}

// ---- MTRRs (SDM 11.11) --------------------------------------------------------------

constexpr unsigned VARIABLE_MTRRS = 8;
// IA32_MTRRCAP: VCNT = 8, fixed ranges (bit 8), write-combining (bit 10), no SMRR.
constexpr uint64_t MTRRCAP = VARIABLE_MTRRS | (1u << 8) | (1u << 10);
constexpr uint32_t kFixedMtrrs[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
                                      0x26b, 0x26c, 0x26d, 0x26e, 0x26f};

// Memory types an MTRR may hold: UC 0, WC 1, WT 4, WP 5, WB 6 (SDM Table 11-8).
bool valid_mtrr_type(uint64_t t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

int fixed_mtrr_index(uint32_t index) {
  for (int i = 0; i < 11; ++i)
    if (kFixedMtrrs[i] == index) return i;
  return -1;
}

bool valid_fixed_mtrr(uint64_t v) {
  for (unsigned i = 0; i < 8; ++i)
    if (!valid_mtrr_type((v >> (8 * i)) & 0xff)) return false;
  return true;
}

// IA32_MTRR_DEF_TYPE: type (7:0), FE (10), E (11); the rest reserved.
bool valid_def_type(uint64_t v) { return !(v & ~uint64_t(0xcff)) && valid_mtrr_type(v & 0xff); }

// PHYSBASEn: type (7:0), base (MAXPHYADDR-1:12); PHYSMASKn: valid (11),
// mask (MAXPHYADDR-1:12) (SDM 11.11.2.3).
bool valid_variable_mtrr(const Cpu& cpu, unsigned n, uint64_t v) {
  if (v & phys_reserved(cpu)) return false;
  if (n & 1) return !(v & 0x7ff);
  return !(v & 0xf00) && valid_mtrr_type(v & 0xff);
}

MsrAccess read_mtrr(const Cpu& cpu, uint32_t index, uint64_t& v) {
  const CpuState& s = cpu.s;
  if (index == msr::MTRRCAP) v = MTRRCAP;
  else if (index == msr::MTRR_DEF_TYPE) v = s.mtrr_def_type;
  else if (index >= msr::MTRR_PHYSBASE0 && index < msr::MTRR_PHYSBASE0 + 2 * VARIABLE_MTRRS)
    v = s.mtrr_var[index - msr::MTRR_PHYSBASE0];
  else if (const int i = fixed_mtrr_index(index); i >= 0) v = s.mtrr_fixed[i];
  else return MsrAccess::Unknown;
  return has(cpu, "mtrr") ? MsrAccess::Ok : MsrAccess::Fault;
}

MsrAccess write_mtrr(Cpu& cpu, uint32_t index, uint64_t v) {
  CpuState& s = cpu.s;
  bool ok;
  if (index == msr::MTRRCAP) {
    ok = false;  // read-only
  } else if (index == msr::MTRR_DEF_TYPE) {
    ok = valid_def_type(v);
    if (ok) s.mtrr_def_type = v;
  } else if (index >= msr::MTRR_PHYSBASE0 && index < msr::MTRR_PHYSBASE0 + 2 * VARIABLE_MTRRS) {
    const unsigned n = index - msr::MTRR_PHYSBASE0;
    ok = valid_variable_mtrr(cpu, n, v);
    if (ok) s.mtrr_var[n] = v;
  } else if (const int i = fixed_mtrr_index(index); i >= 0) {
    ok = valid_fixed_mtrr(v);
    if (ok) s.mtrr_fixed[i] = v;
  } else {
    return MsrAccess::Unknown;
  }
  return ok && has(cpu, "mtrr") ? MsrAccess::Ok : MsrAccess::Fault;
}

// ---- machine check (SDM 15.3) -----------------------------------------------------

constexpr unsigned MC_BANKS = 4;
// IA32_MCG_CAP: 4 banks, IA32_MCG_CTL present (bit 8); no CMCI, no
// extended state, no software error recovery.
constexpr uint64_t MCG_CAP = MC_BANKS | (1u << 8);
// IA32_MCG_STATUS: RIPV (0), EIPV (1), MCIP (2); LMCE_S is absent.
constexpr uint64_t MCG_STATUS_BITS = 0x7;

// A CPU with no machine-check error to report: every bank's STATUS, ADDR
// and MISC read 0; STATUS may only be written with 0 (SDM 15.3.2.2), and
// ADDR/MISC, which hold nothing while STATUS.ADDRV/MISCV are clear, accept
// only 0 as well.
MsrAccess read_mca(const Cpu& cpu, uint32_t index, uint64_t& v) {
  const CpuState& s = cpu.s;
  if (index == msr::MCG_CAP) v = MCG_CAP;
  else if (index == msr::MCG_STATUS) v = s.mcg_status;
  else if (index == msr::MCG_CTL) v = s.mcg_ctl;
  else if (index >= msr::MC0_CTL && index < msr::MC0_CTL + 4 * MC_BANKS)
    v = (index - msr::MC0_CTL) % 4 == 0 ? s.mc_ctl[(index - msr::MC0_CTL) / 4] : 0;
  else return MsrAccess::Unknown;
  return has(cpu, "mca") ? MsrAccess::Ok : MsrAccess::Fault;
}

MsrAccess write_mca(Cpu& cpu, uint32_t index, uint64_t v) {
  CpuState& s = cpu.s;
  bool ok = true;
  if (index == msr::MCG_CAP) {
    ok = false;  // read-only
  } else if (index == msr::MCG_STATUS) {
    ok = !(v & ~MCG_STATUS_BITS);
    if (ok) s.mcg_status = v;
  } else if (index == msr::MCG_CTL) {
    s.mcg_ctl = v;
  } else if (index >= msr::MC0_CTL && index < msr::MC0_CTL + 4 * MC_BANKS) {
    const unsigned bank = (index - msr::MC0_CTL) / 4;
    if ((index - msr::MC0_CTL) % 4 == 0) s.mc_ctl[bank] = v;
    else ok = v == 0;
  } else {
    return MsrAccess::Unknown;
  }
  return ok && has(cpu, "mca") ? MsrAccess::Ok : MsrAccess::Fault;
}

MsrAccess result(bool ok) { return ok ? MsrAccess::Ok : MsrAccess::Fault; }

}  // namespace

MsrAccess read_model_msr(Cpu& cpu, uint32_t index, uint64_t& v) {
  switch (index) {
    case msr::TSC: v = cpu.tsc(); return MsrAccess::Ok;
    case msr::TSC_ADJUST: v = cpu.s.tsc_adjust; return result(has(cpu, "tsc-adjust"));
    case msr::TSC_AUX: v = cpu.s.tsc_aux; return result(has_tsc_aux(cpu));
    case msr::MISC_ENABLE: v = misc_enable(cpu); return result(cpu.model.intel());
    default: break;
  }
  if (MsrAccess r = read_mtrr(cpu, index, v); r != MsrAccess::Unknown) return r;
  return read_mca(cpu, index, v);
}

MsrAccess write_model_msr(Cpu& cpu, uint32_t index, uint64_t v) {
  switch (index) {
    case msr::TSC: write_tsc(cpu, v); return MsrAccess::Ok;
    case msr::TSC_ADJUST:
      if (!has(cpu, "tsc-adjust")) return MsrAccess::Fault;
      write_tsc_adjust(cpu, v);
      return MsrAccess::Ok;
    case msr::TSC_AUX:
      if (!has_tsc_aux(cpu) || (v >> 32)) return MsrAccess::Fault;
      cpu.s.tsc_aux = v;
      return MsrAccess::Ok;
    case msr::MISC_ENABLE: return result(cpu.model.intel() && write_misc_enable(cpu, v));
    default: break;
  }
  if (MsrAccess r = write_mtrr(cpu, index, v); r != MsrAccess::Unknown) return r;
  return write_mca(cpu, index, v);
}

bool monitor_enabled(const Cpu& cpu) {
  return cpu.model.amd() || (misc_enable(cpu) & misc::MONITOR_FSM);
}

CpuidLeaf cpuid_current(const Cpu& cpu, uint32_t leaf, uint32_t subleaf) {
  CpuidLeaf l = cpu.model.cpuid(leaf, subleaf);
  const CpuState& s = cpu.s;
  const bool intel = cpu.model.intel();
  constexpr uint32_t APIC = 1u << 9, MONITOR = 1u << 3, OSXSAVE = 1u << 27, NX = 1u << 20;
  constexpr uint64_t APIC_GLOBAL_ENABLE = 1u << 11;
  switch (l.leaf) {
    case 0:
      // IA32_MISC_ENABLE.LIMIT_CPUID_MAXVAL: the maximum basic leaf reads 2.
      if (intel && (misc_enable(cpu) & misc::LIMIT_CPUID) && l.eax > 2) l.eax = 2;
      break;
    case 1:
      // OSXSAVE mirrors CR4.OSXSAVE (SDM Vol. 2 CPUID, Table 3-10); the
      // APIC flag reads 0 while IA32_APIC_BASE's global enable is clear
      // (SDM 11.4.3); MONITOR reads 0 while MISC_ENABLE disables it.
      l.ecx = (l.ecx & ~OSXSAVE) | ((s.cr4 & cr4::OSXSAVE) ? OSXSAVE : 0);
      if (!(s.apic_base & APIC_GLOBAL_ENABLE)) l.edx &= ~APIC;
      if (!monitor_enabled(cpu)) l.ecx &= ~MONITOR;
      break;
    case 0x80000001:
      if (intel && (misc_enable(cpu) & misc::XD_DISABLE)) l.edx &= ~NX;
      if (cpu.model.amd() && !(s.apic_base & APIC_GLOBAL_ENABLE)) l.edx &= ~APIC;
      break;
    default: break;
  }
  return l;
}

}  // namespace softvt
