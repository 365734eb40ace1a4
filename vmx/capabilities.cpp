// The VMX capability MSRs (vmx/capabilities.h). Values: what softvt's VMX
// implements (issue 4), in the formats of SDM Vol. 3D Appendix A.
#include "vmx/capabilities.h"

#include <algorithm>
#include <iterator>

#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "vmx/vmcs_fields.h"

namespace softvt::vmx {
namespace {

uint32_t bits(std::initializer_list<unsigned> list) {
  uint32_t v = 0;
  for (unsigned b : list) v |= 1u << b;
  return v;
}
uint64_t bits64(std::initializer_list<unsigned> list) {
  uint64_t v = 0;
  for (unsigned b : list) v |= uint64_t(1) << b;
  return v;
}

// IA32_VMX_BASIC (SDM A.1): bits 30:0 revision, 44:32 region size, 48
// 32-bit physical addresses only (0: MAXPHYADDR), 49 dual-monitor SMM (0),
// 53:50 memory type of VMCS accesses (6 = write-back), 54 INS/OUTS
// information, 55 TRUE_ MSRs.
constexpr uint32_t REVISION_ID = 0x74766f73;  // bytes "sovt" in memory; bit 31 = 0
constexpr uint64_t MEMTYPE_WB = 6;

// IA32_VMX_MISC bits 4:0: the preemption timer counts down when bit 5 of
// the TSC changes (SDM A.6, 26.5.1).
constexpr unsigned PREEMPTION_TIMER_RATE = 5;
constexpr unsigned CR3_TARGETS = 4;  // bits 24:16

const VmxFeatureInfo kFeatures[] = {
    // Pin-based controls (SDM 25.6.1, Table 25-5)
    {"vmx-intr-exit", CapField::Pin, 0, "external-interrupt exiting"},
    {"vmx-nmi-exit", CapField::Pin, 3, "NMI exiting"},
    {"vmx-vnmi", CapField::Pin, 5, "virtual NMIs"},
    {"vmx-preemption-timer", CapField::Pin, 6, "VMX-preemption timer"},
    // Primary processor-based controls (SDM 25.6.2, Table 25-6)
    {"vmx-vintr-pending", CapField::Proc, 2, "interrupt-window exiting"},
    {"vmx-tsc-offset", CapField::Proc, 3, "use TSC offsetting"},
    {"vmx-hlt-exit", CapField::Proc, 7, "HLT exiting"},
    {"vmx-invlpg-exit", CapField::Proc, 9, "INVLPG exiting"},
    {"vmx-mwait-exit", CapField::Proc, 10, "MWAIT exiting"},
    {"vmx-rdpmc-exit", CapField::Proc, 11, "RDPMC exiting"},
    {"vmx-rdtsc-exit", CapField::Proc, 12, "RDTSC exiting"},
    {"vmx-cr3-load-noexit", CapField::TrueProc0, 15, "CR3-load exiting may be 0 (TRUE_PROCBASED_CTLS)"},
    {"vmx-cr3-store-noexit", CapField::TrueProc0, 16, "CR3-store exiting may be 0 (TRUE_PROCBASED_CTLS)"},
    {"vmx-cr8-load-exit", CapField::Proc, 19, "CR8-load exiting"},
    {"vmx-cr8-store-exit", CapField::Proc, 20, "CR8-store exiting"},
    {"vmx-flexpriority", CapField::Proc, 21, "use TPR shadow"},
    {"vmx-vnmi-pending", CapField::Proc, 22, "NMI-window exiting"},
    {"vmx-movdr-exit", CapField::Proc, 23, "MOV-DR exiting"},
    {"vmx-io-exit", CapField::Proc, 24, "unconditional I/O exiting"},
    {"vmx-io-bitmap", CapField::Proc, 25, "use I/O bitmaps"},
    {"vmx-mtf", CapField::Proc, 27, "monitor trap flag"},
    {"vmx-msr-bitmap", CapField::Proc, 28, "use MSR bitmaps"},
    {"vmx-monitor-exit", CapField::Proc, 29, "MONITOR exiting"},
    {"vmx-pause-exit", CapField::Proc, 30, "PAUSE exiting"},
    {"vmx-secondary-ctls", CapField::Proc, 31, "activate secondary controls"},
    // Secondary processor-based controls (SDM 25.6.2, Table 25-7)
    {"vmx-apicv-xapic", CapField::Proc2, 0, "virtualize APIC accesses"},
    {"vmx-ept", CapField::Proc2, 1, "enable EPT"},
    {"vmx-desc-exit", CapField::Proc2, 2, "descriptor-table exiting"},
    {"vmx-rdtscp-exit", CapField::Proc2, 3, "enable RDTSCP"},
    {"vmx-vpid", CapField::Proc2, 5, "enable VPID"},
    {"vmx-wbinvd-exit", CapField::Proc2, 6, "WBINVD exiting"},
    {"vmx-unrestricted-guest", CapField::Proc2, 7, "unrestricted guest"},
    {"vmx-ple", CapField::Proc2, 10, "PAUSE-loop exiting"},
    {"vmx-rdrand-exit", CapField::Proc2, 11, "RDRAND exiting"},
    {"vmx-invpcid-exit", CapField::Proc2, 12, "enable INVPCID"},
    {"vmx-vmfunc", CapField::Proc2, 13, "enable VM functions"},
    {"vmx-shadow-vmcs", CapField::Proc2, 14, "VMCS shadowing"},
    {"vmx-rdseed-exit", CapField::Proc2, 16, "RDSEED exiting"},
    {"vmx-tsc-scaling", CapField::Proc2, 25, "use TSC scaling"},
    // VM-exit controls (SDM 25.7.1, Table 25-13)
    {"vmx-exit-nosave-debugctl", CapField::TrueExit0, 2, "save debug controls may be 0 (TRUE_EXIT_CTLS)"},
    {"vmx-exit-load-perf-global-ctrl", CapField::Exit, 12, "load IA32_PERF_GLOBAL_CTRL on exit"},
    {"vmx-exit-ack-intr", CapField::Exit, 15, "acknowledge interrupt on exit"},
    {"vmx-exit-save-pat", CapField::Exit, 18, "save IA32_PAT"},
    {"vmx-exit-load-pat", CapField::Exit, 19, "load IA32_PAT on exit"},
    {"vmx-exit-save-efer", CapField::Exit, 20, "save IA32_EFER"},
    {"vmx-exit-load-efer", CapField::Exit, 21, "load IA32_EFER on exit"},
    {"vmx-exit-save-preemption-timer", CapField::Exit, 22, "save VMX-preemption timer value"},
    // VM-entry controls (SDM 25.8.1, Table 25-15)
    {"vmx-entry-noload-debugctl", CapField::TrueEntry0, 2, "load debug controls may be 0 (TRUE_ENTRY_CTLS)"},
    {"vmx-entry-ia32e-mode", CapField::Entry, 9, "IA-32e mode guest"},
    {"vmx-entry-load-perf-global-ctrl", CapField::Entry, 13, "load IA32_PERF_GLOBAL_CTRL on entry"},
    {"vmx-entry-load-pat", CapField::Entry, 14, "load IA32_PAT on entry"},
    {"vmx-entry-load-efer", CapField::Entry, 15, "load IA32_EFER on entry"},
    // IA32_VMX_MISC (SDM A.6)
    {"vmx-store-lma", CapField::Misc, 5, "VM exits store EFER.LMA in the IA-32e mode guest control"},
    {"vmx-activity-hlt", CapField::Misc, 6, "activity state HLT"},
    {"vmx-activity-shutdown", CapField::Misc, 7, "activity state shutdown"},
    {"vmx-activity-wait-sipi", CapField::Misc, 8, "activity state wait-for-SIPI"},
    {"vmx-vmwrite-vmexit-fields", CapField::Misc, 29, "VMWRITE to VM-exit information fields"},
    {"vmx-zero-len-inject", CapField::Misc, 30, "event injection with instruction length 0"},
    // IA32_VMX_EPT_VPID_CAP (SDM A.10). QEMU spells bits 41 and 43
    // "vmx-invept-..."; softvt names them after what they are (INVVPID).
    {"vmx-ept-execonly", CapField::EptVpid, 0, "execute-only EPT translations"},
    {"vmx-page-walk-4", CapField::EptVpid, 6, "4-level EPT page walk"},
    {"vmx-ept-2mb", CapField::EptVpid, 16, "2-MiB EPT pages"},
    {"vmx-ept-1gb", CapField::EptVpid, 17, "1-GiB EPT pages"},
    {"vmx-invept", CapField::EptVpid, 20, "INVEPT"},
    {"vmx-eptad", CapField::EptVpid, 21, "EPT accessed and dirty flags"},
    {"vmx-invept-single-context", CapField::EptVpid, 25, "single-context INVEPT"},
    {"vmx-invept-all-context", CapField::EptVpid, 26, "all-context INVEPT"},
    {"vmx-invvpid", CapField::EptVpid, 32, "INVVPID"},
    {"vmx-invvpid-single-addr", CapField::EptVpid, 40, "individual-address INVVPID"},
    {"vmx-invvpid-single-context", CapField::EptVpid, 41, "single-context INVVPID"},
    {"vmx-invvpid-all-context", CapField::EptVpid, 42, "all-context INVVPID"},
    {"vmx-invvpid-single-context-noglobals", CapField::EptVpid, 43,
     "single-context-retaining-globals INVVPID"},
    // IA32_VMX_BASIC (SDM A.1) and IA32_VMX_VMFUNC (SDM A.11)
    {"vmx-ins-outs", CapField::Basic, 54, "INS/OUTS instruction information on VM exits"},
    {"vmx-true-ctls", CapField::Basic, 55, "the IA32_VMX_TRUE_*_CTLS MSRs"},
    {"vmx-eptp-switching", CapField::VmFunc, 0, "VM function 0: EPTP switching"},
};

// Default1 classes of the TRUE_ words (SDM A.2-A.5) that softvt's named
// switches may make 0-settable.
uint32_t& word_of(VmxCapabilities& c, CapField f) {
  switch (f) {
    case CapField::Pin: return c.pin.allowed1;
    case CapField::Proc: return c.proc.allowed1;
    case CapField::Proc2: return c.proc2.allowed1;
    case CapField::Exit: return c.exit.allowed1;
    case CapField::Entry: return c.entry.allowed1;
    case CapField::TruePin0: return c.pin.must_be_1;
    case CapField::TrueProc0: return c.proc.must_be_1;
    case CapField::TrueExit0: return c.exit.must_be_1;
    default: return c.entry.must_be_1;  // TrueEntry0
  }
}

std::string normalise(std::string n) {
  std::replace(n.begin(), n.end(), '_', '-');
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return n;
}

// What a capability needs (SDM 26.2.1.1: unrestricted guest needs EPT; the
// EPT and VPID capability bits and EPTP switching mean nothing without the
// controls; QEMU drops the same dependants).
void drop_dependants(VmxCapabilities& c) {
  if (!((c.proc.allowed1 >> 31) & 1)) c.proc2.allowed1 = 0;
  const uint32_t p2 = c.proc2.allowed1;
  if (!((p2 >> proc2_bit::EPT) & 1)) {
    c.proc2.allowed1 &= ~(1u << proc2_bit::UNRESTRICTED_GUEST);
    c.ept_vpid &= ~uint64_t(0xffffffff);
    c.vmfunc &= ~uint64_t(1);  // EPTP switching
  }
  if (!((p2 >> proc2_bit::VPID) & 1)) c.ept_vpid &= uint64_t(0xffffffff);
  if (!((p2 >> proc2_bit::VMFUNC) & 1)) c.vmfunc = 0;
  if (!((c.ept_vpid >> 20) & 1)) c.ept_vpid &= ~bits64({25, 26});           // INVEPT types
  if (!((c.ept_vpid >> 32) & 1)) c.ept_vpid &= ~bits64({40, 41, 42, 43});   // INVVPID types
}

}  // namespace

VmxCapabilities softvt_vmx_capabilities() {
  VmxCapabilities c;
  c.revision = REVISION_ID;
  c.ins_outs_info = true;
  c.true_controls = true;
  // TRUE_ allowed-0: the default1 controls that stay 1 (SDM A.3.1: CR3-load
  // and CR3-store exiting (15, 16), save/load debug controls (2) may be 0).
  c.pin = {default1::PIN, default1::PIN | bits({0, 3, 5, 6})};
  c.proc = {default1::PROC & ~bits({15, 16}),
            default1::PROC | bits({2, 3, 7, 9, 10, 11, 12, 15, 16, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31})};
  c.proc2 = {0, bits({0, 1, 2, 3, 5, 6, 7, 10, 11, 12, 13, 14, 16, 25})};
  // Exit bit 9 (host address-space size) is 1-settable on every processor
  // with Intel 64 (SDM 25.7.1).
  c.exit = {default1::EXIT & ~bits({2}), default1::EXIT | bits({9, 12, 15, 18, 19, 20, 21, 22})};
  c.entry = {default1::ENTRY & ~bits({2}), default1::ENTRY | bits({9, 13, 14, 15})};
  c.misc = PREEMPTION_TIMER_RATE | bits64({5, 6, 7, 8}) | (uint64_t(CR3_TARGETS) << 16);
  // EPT: execute-only, 4-level walks, UC and WB EPT structures, 2-MiB and
  // 1-GiB pages, INVEPT (single-context, all-context), accessed/dirty
  // flags; VPID: INVVPID of all four types.
  c.ept_vpid = bits64({0, 6, 8, 14, 16, 17, 20, 21, 25, 26, 32, 40, 41, 42, 43});
  c.vmfunc = 1;  // EPTP switching
  return c;
}

bool model_has_vmx(const CpuModel& m) { return m.intel() && model_has(m, "vmx"); }

const VmxCapabilities& vmx_capabilities(const CpuModel& m) { return m.vmx; }

uint64_t cr0_fixed0(const CpuModel&) { return cr0::PE | cr0::NE | cr0::PG; }
uint64_t cr0_fixed1(const CpuModel&) { return 0xffffffffull; }
uint64_t cr4_fixed0(const CpuModel&) { return cr4::VMXE; }
// A CR4 bit may be 1 in VMX operation when the model supports it (SDM A.8).
uint64_t cr4_fixed1(const CpuModel& m) { return cr4_writable_bits(m) | cr4::VMXE; }

namespace {
uint64_t control_msr(uint32_t must_be_1, uint32_t allowed1) {
  return must_be_1 | (uint64_t(allowed1) << 32);
}
}  // namespace

bool read_vmx_capability_msr(const CpuModel& m, uint32_t index, uint64_t& v) {
  if (!model_has_vmx(m)) return false;
  const VmxCapabilities& c = m.vmx;
  const bool secondary = (c.proc.allowed1 >> 31) & 1;
  const uint32_t p2 = c.secondary_allowed1();
  switch (index) {
    case msr::BASIC:
      v = c.revision | (uint64_t(vmcs_layout::REGION_SIZE) << 32) | (MEMTYPE_WB << 50) |
          (uint64_t(c.ins_outs_info) << 54) | (uint64_t(c.true_controls) << 55);
      return true;
    // The non-TRUE MSRs report every default1 control as must-be-1 (SDM A.2).
    case msr::PINBASED_CTLS: v = control_msr(c.pin.must_be_1 | default1::PIN, c.pin.allowed1); return true;
    case msr::PROCBASED_CTLS: v = control_msr(c.proc.must_be_1 | default1::PROC, c.proc.allowed1); return true;
    case msr::EXIT_CTLS: v = control_msr(c.exit.must_be_1 | default1::EXIT, c.exit.allowed1); return true;
    case msr::ENTRY_CTLS: v = control_msr(c.entry.must_be_1 | default1::ENTRY, c.entry.allowed1); return true;
    case msr::MISC: v = c.misc; return true;
    case msr::CR0_FIXED0: v = cr0_fixed0(m); return true;
    case msr::CR0_FIXED1: v = cr0_fixed1(m); return true;
    case msr::CR4_FIXED0: v = cr4_fixed0(m); return true;
    case msr::CR4_FIXED1: v = cr4_fixed1(m); return true;
    case msr::VMCS_ENUM: v = uint64_t(highest_field_index(c)) << 1; return true;
    case msr::PROCBASED_CTLS2: v = control_msr(c.proc2.must_be_1, p2); return secondary;
    // Exists when EPT or VPID may be enabled (SDM A.10).
    case msr::EPT_VPID_CAP:
      v = c.ept_vpid;
      return ((p2 >> proc2_bit::EPT) & 1) || ((p2 >> proc2_bit::VPID) & 1);
    case msr::TRUE_PINBASED_CTLS: v = control_msr(c.pin.must_be_1, c.pin.allowed1); return c.true_controls;
    case msr::TRUE_PROCBASED_CTLS: v = control_msr(c.proc.must_be_1, c.proc.allowed1); return c.true_controls;
    case msr::TRUE_EXIT_CTLS: v = control_msr(c.exit.must_be_1, c.exit.allowed1); return c.true_controls;
    case msr::TRUE_ENTRY_CTLS: v = control_msr(c.entry.must_be_1, c.entry.allowed1); return c.true_controls;
    case msr::VMFUNC: v = c.vmfunc_controls(); return (p2 >> proc2_bit::VMFUNC) & 1;
    default: return false;
  }
}

void drop_controls_of_absent_features(CpuModel& m) {
  VmxCapabilities& c = m.vmx;
  const auto drop2 = [&](const char* feature, unsigned bit) {
    if (!model_has(m, feature)) c.proc2.allowed1 &= ~(1u << bit);
  };
  drop2("rdtscp", 3);   // enable RDTSCP
  drop2("rdrand", 11);  // RDRAND exiting
  drop2("invpcid", 12); // enable INVPCID
  drop2("rdseed", 16);  // RDSEED exiting
  if (!model_has(m, "lm")) {
    c.entry.allowed1 &= ~(1u << 9);  // IA-32e mode guest
    c.exit.allowed1 &= ~(1u << 9);   // host address-space size
  }
  drop_dependants(c);
}

std::span<const VmxFeatureInfo> vmx_feature_table() { return kFeatures; }

const VmxFeatureInfo* find_vmx_feature(const std::string& name) {
  const std::string n = normalise(name);
  for (const VmxFeatureInfo& f : kFeatures)
    if (n == f.name) return &f;
  return nullptr;
}

bool vmx_feature_on(const VmxCapabilities& c, const VmxFeatureInfo& f) {
  switch (f.field) {
    case CapField::Misc: return (c.misc >> f.bit) & 1;
    case CapField::EptVpid: return (c.ept_vpid >> f.bit) & 1;
    case CapField::VmFunc: return (c.vmfunc >> f.bit) & 1;
    case CapField::Basic: return f.bit == 54 ? c.ins_outs_info : c.true_controls;
    case CapField::TruePin0: case CapField::TrueProc0: case CapField::TrueExit0: case CapField::TrueEntry0:
      return !((word_of(const_cast<VmxCapabilities&>(c), f.field) >> f.bit) & 1);
    default: return (word_of(const_cast<VmxCapabilities&>(c), f.field) >> f.bit) & 1;
  }
}

void set_vmx_feature(VmxCapabilities& c, const VmxFeatureInfo& f, bool on) {
  auto set64 = [&](uint64_t& w) { w = on ? (w | (uint64_t(1) << f.bit)) : (w & ~(uint64_t(1) << f.bit)); };
  switch (f.field) {
    case CapField::Misc: set64(c.misc); break;
    case CapField::EptVpid: set64(c.ept_vpid); break;
    case CapField::VmFunc: set64(c.vmfunc); break;
    case CapField::Basic: (f.bit == 54 ? c.ins_outs_info : c.true_controls) = on; break;
    case CapField::TruePin0: case CapField::TrueProc0: case CapField::TrueExit0: case CapField::TrueEntry0: {
      uint32_t& w = word_of(c, f.field);  // "may be 0" = not must-be-1
      w = on ? (w & ~(1u << f.bit)) : (w | (1u << f.bit));
      break;
    }
    default: {
      uint32_t& w = word_of(c, f.field);
      w = on ? (w | (1u << f.bit)) : (w & ~(1u << f.bit));
      break;
    }
  }
  drop_dependants(c);
}

}  // namespace softvt::vmx
