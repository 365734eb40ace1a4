// The VMRUN consistency-check table (svm/vmrun_checks.h). Order and wording
// follow the list in AMD APM Vol. 2 15.5.1; conditions the list leaves
// open are decided as documented per row (svm/README.md).
#include "svm/vmrun_checks.h"

#include <cstring>

#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "svm/controls.h"
#include "svm/npt.h"
#include "svm/vmcb.h"

namespace softvt::svm {
namespace {

constexpr const char* APM_1551 = "APM Vol. 2 15.5.1";
constexpr const char* INVALID = "#VMEXIT(VMEXIT_INVALID)";

bool long_mode_paging(const GuestImage& g) { return (g.efer & efer::LME) && (g.cr0 & cr0::PG); }

// CR3 MBZ bits: in long mode (EFER.LME = 1) bits 63:MAXPHYADDR (APM 3.1.2,
// the long-mode CR3 format: 51:12 the table base, 63:52 reserved); in
// legacy modes bits 63:32. Bits 11:0 are ignored or the PCID, never MBZ.
bool cr3_mbz(const CpuModel& m, const ControlImage&, const GuestImage& g) {
  const unsigned width = (g.efer & efer::LME) ? m.phys_addr_bits : 32;
  return (g.cr3 >> width) != 0;
}

// CR4 MBZ bits: those of features this model does not report (the bits a
// MOV to CR4 would reject, emu/cpu_features.h) and bits 63:32.
bool cr4_mbz(const CpuModel& m, const ControlImage&, const GuestImage& g) {
  return (g.cr4 & ~cr4_writable_bits(m)) != 0;
}

// LME and LMA are left to the next row, which names their failure exactly.
bool efer_mbz(const CpuModel& m, const ControlImage&, const GuestImage& g) {
  return (g.efer & ~(efer_defined_bits(m) | efer::LME | efer::LMA)) != 0;
}

bool efer_long_mode_unsupported(const CpuModel& m, const ControlImage&, const GuestImage& g) {
  return (g.efer & (efer::LMA | efer::LME)) && !model_has(m, "lm");
}

// The permission maps must lie wholly below the maximum physical address
// (bits 11:0 of the base are ignored: APM Table B-1).
bool map_beyond_phys(const CpuModel& m, uint64_t base, uint64_t size) {
  const uint64_t first = base & ~uint64_t(0xfff);
  const uint64_t last = first + size - 1;
  return last < first || (last >> m.phys_addr_bits) != 0;
}

// APM 15.20 "Event Injection": VMRUN fails with VMEXIT_INVALID if a
// reserved TYPE is given, or TYPE = 3 (exception) with a vector that is
// not an exception's (vector 2, NMI, included). softvt takes the exception
// vectors to be 0-31. Reserved bits 30:12 are not checked (the APM lists
// no failure for them).
bool eventinj_illegal(const CpuModel&, const ControlImage& c, const GuestImage&) {
  if (!(c.eventinj & eventinj::V)) return false;
  const unsigned type = unsigned((c.eventinj & eventinj::TYPE_MASK) >> eventinj::TYPE_SHIFT);
  const unsigned vector = unsigned(c.eventinj & eventinj::VECTOR);
  if (type != eventinj::TYPE_INTR && type != eventinj::TYPE_NMI && type != eventinj::TYPE_EXCEPTION &&
      type != eventinj::TYPE_SOFT_INT)
    return true;
  return type == eventinj::TYPE_EXCEPTION && (vector == 2 || vector > 31);
}

// APM 15.25.3/15.25.4: the nested-paging checks apply when VMRUN runs with
// nested paging enabled. On a model without nested paging NP_ENABLE is
// ignored (the APM names no failure for it; CPUID 8000000AH:EDX.NP says
// the bit has no function).
bool nested(const CpuModel& m, const ControlImage& c) {
  return (c.nested_ctl & NP_ENABLE) && model_has(m, "npt");
}

// N_CR3 MBZ bits: 63:MAXPHYADDR, as for the long-mode CR3 the nested
// tables' root is (bits 11:0 are PWT/PCD and ignored bits).
bool n_cr3_mbz(const CpuModel& m, const ControlImage& c, const GuestImage&) {
  return nested(m, c) && (c.n_cr3 >> m.phys_addr_bits) != 0;
}

using M = CpuModel;
using C = ControlImage;
using G = GuestImage;

const VmrunCheck kChecks[] = {
    {"efer_svme_zero", APM_1551, INVALID, "EFER.SVME is zero",
     [](const M&, const C&, const G& g) { return !(g.efer & efer::SVME); }},
    {"cr0_cd_zero_nw_set", APM_1551, INVALID, "CR0.CD is zero and CR0.NW is set",
     [](const M&, const C&, const G& g) { return !(g.cr0 & cr0::CD) && (g.cr0 & cr0::NW); }},
    {"cr0_high_bits", APM_1551, INVALID, "CR0[63:32] are not zero",
     [](const M&, const C&, const G& g) { return (g.cr0 >> 32) != 0; }},
    {"cr3_mbz", APM_1551, INVALID, "any MBZ bit of CR3 is set", cr3_mbz},
    {"cr4_mbz", APM_1551, INVALID, "any MBZ bit of CR4 is set", cr4_mbz},
    {"dr6_high_bits", APM_1551, INVALID, "DR6[63:32] are not zero",
     [](const M&, const C&, const G& g) { return (g.dr6 >> 32) != 0; }},
    {"dr7_high_bits", APM_1551, INVALID, "DR7[63:32] are not zero",
     [](const M&, const C&, const G& g) { return (g.dr7 >> 32) != 0; }},
    {"efer_mbz", APM_1551, INVALID, "any MBZ bit of EFER is set", efer_mbz},
    {"efer_long_mode_unsupported", APM_1551, INVALID,
     "EFER.LMA or EFER.LME is non-zero and this processor does not support long mode", efer_long_mode_unsupported},
    {"efer_lme_cr0_pg_cr4_pae_zero", APM_1551, INVALID, "EFER.LME and CR0.PG are both set and CR4.PAE is zero",
     [](const M&, const C&, const G& g) { return long_mode_paging(g) && !(g.cr4 & cr4::PAE); }},
    {"efer_lme_cr0_pg_cr0_pe_zero", APM_1551, INVALID, "EFER.LME and CR0.PG are both non-zero and CR0.PE is zero",
     [](const M&, const C&, const G& g) { return long_mode_paging(g) && !(g.cr0 & cr0::PE); }},
    {"efer_lme_cr0_pg_cr4_pae_cs_l_cs_d", APM_1551, INVALID,
     "EFER.LME, CR0.PG, CR4.PAE, CS.L, and CS.D are all non-zero",
     [](const M&, const C&, const G& g) {
       return long_mode_paging(g) && (g.cr4 & cr4::PAE) && (g.cs.attr & ar::L) && (g.cs.attr & ar::DB);
     }},
    {"vmrun_intercept_clear", APM_1551, INVALID, "the VMRUN intercept bit is clear",
     [](const M&, const C& c, const G&) { return !(c.intercept_misc2 & intercept::MISC2_VMRUN); }},
    {"msrpm_beyond_phys", APM_1551, INVALID,
     "the MSR permission map extends to a physical address at or above the maximum supported",
     [](const M& m, const C& c, const G&) { return map_beyond_phys(m, c.msrpm_base_pa, MSRPM_SIZE); }},
    {"iopm_beyond_phys", APM_1551, INVALID,
     "the I/O permission map extends to a physical address at or above the maximum supported",
     [](const M& m, const C& c, const G&) { return map_beyond_phys(m, c.iopm_base_pa, IOPM_SIZE); }},
    {"eventinj_illegal", "APM Vol. 2 15.5.1, 15.20", INVALID,
     "illegal event injection (reserved TYPE, or TYPE = exception with a vector that is not an exception)",
     eventinj_illegal},
    {"asid_zero", APM_1551, INVALID, "ASID is equal to zero",
     [](const M&, const C& c, const G&) { return c.asid == 0; }},
    // APM 15.25.3 "Enabling Nested Paging": "If VMRUN is executed with
    // hCR0.PG cleared to zero and NP_ENABLE set to 1, VMRUN terminates with
    // #VMEXIT(VMEXIT_INVALID)".
    {"np_host_cr0_pg_zero", "APM Vol. 2 15.25.3", INVALID, "NP_ENABLE is set and the host's CR0.PG is zero",
     [](const M& m, const C& c, const G&) { return nested(m, c) && !(c.host_cr0 & cr0::PG); }},
    // APM 15.25.4 "Nested Paging and VMRUN/#VMEXIT": with NP_ENABLE = 1
    // these are illegal "in addition to those mentioned in Canonicalization
    // and Consistency Checks", in this order.
    {"n_cr3_mbz", "APM Vol. 2 15.25.4", INVALID, "NP_ENABLE is set and any MBZ bit of nCR3 is set", n_cr3_mbz},
    {"g_pat_illegal", "APM Vol. 2 15.25.4", INVALID,
     "NP_ENABLE is set and a G_PAT.PA field has an unsupported type encoding or a reserved field is non-zero",
     [](const M& m, const C& c, const G& g) { return nested(m, c) && !g_pat_valid(g.g_pat); }},
};

}  // namespace

uint64_t efer_defined_bits(const CpuModel& m) {
  uint64_t bits = 0;
  if (model_has(m, "syscall")) bits |= efer::SCE;
  if (model_has(m, "lm")) bits |= efer::LME | efer::LMA;
  if (model_has(m, "nx")) bits |= efer::NXE;
  if (model_has(m, "svm")) bits |= efer::SVME;
  return bits;
}

std::span<const VmrunCheck> vmrun_checks() { return kChecks; }

const VmrunCheck* find_vmrun_check(const char* name) {
  for (const VmrunCheck& c : kChecks)
    if (std::strcmp(c.name, name) == 0) return &c;
  return nullptr;
}

const VmrunCheck* first_failing_check(const CpuModel& m, const ControlImage& c, const GuestImage& g) {
  for (const VmrunCheck& k : kChecks)
    if (k.fails(m, c, g)) return &k;
  return nullptr;
}

}  // namespace softvt::svm
