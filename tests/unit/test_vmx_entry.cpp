// VMX, second increment: the VM-entry check table (vmx/entry_checks.h)
// against SDM Vol. 3C 28.2/28.3 - every check has a name and a section,
// the table follows the SDM's section order, and each check fires, as the
// first failing one, for a VMCS that violates exactly it (starting from a
// valid VMCS for a 64-bit guest and host, as the SDM's rules allow it);
// the outcome of each group (VMfailValid(7), VMfailValid(8), exit reason
// 33 with bit 31 and the qualification); the exit-reason table and the
// named encodings against the field table.
#include <catch.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "emu/memory.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"
#include "vmx/entry.h"
#include "vmx/entry_checks.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx/vmcs_fields.h"
#include "vmx_valid_vmcs.h"

using namespace softvt;
using namespace softvt::vmx;
namespace F = softvt::vmx::field;
using softvt::test::EFER_LONG;
using softvt::test::NONCANONICAL;
using softvt::test::Vmcs;

namespace {

using Breaker = std::function<void(Vmcs&)>;

// Per check: a change of the valid VMCS that violates exactly that check
// (the SDM text it breaks is the check's own; see vmx/entry_checks.cpp).
const std::map<std::string, Breaker>& breakers() {
  static const std::map<std::string, Breaker> m = {
      // 28.2.1.1
      {"pin-based controls: reserved bits", [](Vmcs& x) { x.set(F::PIN_BASED_VM_EXEC_CONTROL, 0); }},
      {"primary processor-based controls: reserved bits", [](Vmcs& x) { x.orv(F::CPU_BASED_VM_EXEC_CONTROL, 1); }},
      {"secondary processor-based controls: reserved bits", [](Vmcs& x) { x.secondary(proc2::VIRT_X2APIC); }},
      {"CR3-target count above IA32_VMX_MISC[24:16]", [](Vmcs& x) { x.set(F::CR3_TARGET_COUNT, 5); }},
      {"I/O-bitmap addresses", [](Vmcs& x) {
         x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::IO_BITMAPS);
         x.set(F::IO_BITMAP_A, 0x4000);
         x.set(F::IO_BITMAP_B, 0x5001);
       }},
      {"MSR-bitmap address", [](Vmcs& x) {
         x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::MSR_BITMAPS);
         x.set(F::MSR_BITMAP, uint64_t(1) << 40);  // beyond MAXPHYADDR 40
       }},
      {"virtual-APIC address", [](Vmcs& x) {
         x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::TPR_SHADOW);
         x.set(F::VIRTUAL_APIC_PAGE_ADDR, 0x4800);
       }},
      {"TPR threshold bits 31:4", [](Vmcs& x) {
         x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::TPR_SHADOW);
         x.set(F::VIRTUAL_APIC_PAGE_ADDR, 0x4000);
         x.set(F::TPR_THRESHOLD, 0x10);
       }},
      {"TPR threshold above VTPR", [](Vmcs& x) {
         x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::TPR_SHADOW);
         x.set(F::VIRTUAL_APIC_PAGE_ADDR, 0x4000);
         x.mem.write_phys(0x4080, 1, 0x20);  // VTPR[7:4] = 2
         x.set(F::TPR_THRESHOLD, 3);
       }},
      {"virtual NMIs without NMI exiting", [](Vmcs& x) { x.orv(F::PIN_BASED_VM_EXEC_CONTROL, pin::VIRTUAL_NMIS); }},
      {"NMI-window exiting without virtual NMIs", [](Vmcs& x) { x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::NMI_WINDOW); }},
      {"APIC-access address", [](Vmcs& x) {
         x.secondary(proc2::VIRT_APIC_ACCESSES);
         x.set(F::APIC_ACCESS_ADDR, 0xfee00001);
       }},
      {"VPID 0 with enable VPID", [](Vmcs& x) { x.secondary(proc2::VPID); }},
      {"EPT pointer", [](Vmcs& x) {
         x.secondary(proc2::EPT);
         x.set(F::EPT_POINTER, 0x5000 | 6 | (2 << 3));  // WB, but a 3-level walk
       }},
      {"unrestricted guest without EPT", [](Vmcs& x) { x.secondary(proc2::UNRESTRICTED_GUEST); }},
      {"VM-function controls: reserved bits", [](Vmcs& x) {
         x.secondary(proc2::VMFUNC);
         x.set(F::VM_FUNCTION_CONTROL, 2);
       }},
      {"EPTP switching: EPT and EPTP-list address", [](Vmcs& x) {
         x.secondary(proc2::VMFUNC);
         x.set(F::VM_FUNCTION_CONTROL, 1);
         x.set(F::EPTP_LIST_ADDRESS, 0x6000);  // valid, but EPT is off
       }},
      {"VMREAD/VMWRITE-bitmap addresses", [](Vmcs& x) {
         x.secondary(proc2::SHADOW_VMCS);
         x.set(F::VMREAD_BITMAP, 0x6000);
         x.set(F::VMWRITE_BITMAP, 0x6008);
       }},
      // 28.2.1.2
      {"VM-exit controls: reserved bits", [](Vmcs& x) { x.andn(F::VM_EXIT_CONTROLS, 1u << 0); }},
      {"save VMX-preemption timer without the timer", [](Vmcs& x) {
         x.orv(F::VM_EXIT_CONTROLS, exit_ctl::SAVE_PREEMPTION_TIMER);
       }},
      {"VM-exit MSR-store area", [](Vmcs& x) {
         x.set(F::VM_EXIT_MSR_STORE_COUNT, 1);
         x.set(F::VM_EXIT_MSR_STORE_ADDR, 0x7008);
       }},
      {"VM-exit MSR-load area", [](Vmcs& x) {
         x.set(F::VM_EXIT_MSR_LOAD_COUNT, 2);
         x.set(F::VM_EXIT_MSR_LOAD_ADDR, (uint64_t(1) << 40) - 16);  // last byte beyond the width
       }},
      // 28.2.1.3
      {"VM-entry controls: reserved bits", [](Vmcs& x) { x.andn(F::VM_ENTRY_CONTROLS, 1u << 0); }},
      {"event injection: interruption type", [](Vmcs& x) { x.inject(1, 0x20); }},
      {"event injection: vector for the type", [](Vmcs& x) { x.inject(2, 3); }},
      {"event injection: deliver-error-code bit", [](Vmcs& x) { x.inject(3, 13, false); }},
      {"event injection: reserved bits 30:12", [](Vmcs& x) {
         x.inject(0, 0x20);
         x.orv(F::VM_ENTRY_INTR_INFO_FIELD, 1u << 12);
       }},
      {"event injection: error code bits 31:16", [](Vmcs& x) {
         x.inject(3, 13, true);
         x.set(F::VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000);
       }},
      {"event injection: instruction length", [](Vmcs& x) { x.inject(4, 0x80); }},
      {"VM-entry MSR-load area", [](Vmcs& x) {
         x.set(F::VM_ENTRY_MSR_LOAD_COUNT, 1);
         x.set(F::VM_ENTRY_MSR_LOAD_ADDR, 0x7004);
       }},
      // 28.2.2
      {"host CR0: fixed bits", [](Vmcs& x) { x.andn(F::HOST_CR0, cr0::NE); }},
      {"host CR4: fixed bits", [](Vmcs& x) { x.andn(F::HOST_CR4, cr4::VMXE); }},
      {"host CR3: bits beyond the physical-address width", [](Vmcs& x) { x.orv(F::HOST_CR3, uint64_t(1) << 45); }},
      {"host IA32_SYSENTER_ESP/EIP canonical", [](Vmcs& x) { x.set(F::HOST_IA32_SYSENTER_EIP, NONCANONICAL); }},
      {"host IA32_PERF_GLOBAL_CTRL: reserved bits", [](Vmcs& x) {
         x.orv(F::VM_EXIT_CONTROLS, exit_ctl::LOAD_PERF_GLOBAL);
         x.set(F::HOST_IA32_PERF_GLOBAL_CTRL, 1);  // PMC0: the intel model has no general-purpose counters
       }},
      {"host IA32_PAT memory types", [](Vmcs& x) {
         x.orv(F::VM_EXIT_CONTROLS, exit_ctl::LOAD_PAT);
         x.set(F::HOST_IA32_PAT, 0x0007040600070402ull);  // byte 0 = 2: reserved type
       }},
      {"host IA32_EFER: reserved bits, LMA/LME = host address-space size", [](Vmcs& x) {
         x.orv(F::VM_EXIT_CONTROLS, exit_ctl::LOAD_EFER);
         x.set(F::HOST_IA32_EFER, efer::LME | efer::NXE);  // LMA = 0 with a 64-bit host
       }},
      // 28.2.3
      {"host selectors: RPL and TI", [](Vmcs& x) { x.set(F::HOST_DS_SELECTOR, 0x14); }},
      {"host CS selector 0", [](Vmcs& x) { x.set(F::HOST_CS_SELECTOR, 0); }},
      {"host TR selector 0", [](Vmcs& x) { x.set(F::HOST_TR_SELECTOR, 0); }},
      {"host SS selector 0 with a 32-bit host", [](Vmcs& x) {
         x.current_efer = 0;
         x.andn(F::VM_EXIT_CONTROLS, exit_ctl::HOST_ADDR_SPACE_SIZE);
         x.andn(F::VM_ENTRY_CONTROLS, entry_ctl::IA32E_GUEST);
         x.set(F::HOST_SS_SELECTOR, 0);
       }},
      {"host FS/GS/GDTR/IDTR/TR bases canonical", [](Vmcs& x) { x.set(F::HOST_TR_BASE, NONCANONICAL); }},
      // 28.2.4
      {"outside IA-32e mode: IA-32e mode guest and 64-bit host", [](Vmcs& x) { x.current_efer = 0; }},
      {"in IA-32e mode: host address-space size", [](Vmcs& x) {
         x.andn(F::VM_EXIT_CONTROLS, exit_ctl::HOST_ADDR_SPACE_SIZE);
       }},
      {"32-bit host: IA-32e mode guest, CR4.PCIDE, RIP[63:32]", [](Vmcs& x) {
         x.current_efer = 0;
         x.andn(F::VM_EXIT_CONTROLS, exit_ctl::HOST_ADDR_SPACE_SIZE);
         x.andn(F::VM_ENTRY_CONTROLS, entry_ctl::IA32E_GUEST);
         x.set(F::HOST_RIP, uint64_t(1) << 32);
       }},
      {"64-bit host: CR4.PAE, RIP canonical", [](Vmcs& x) { x.set(F::HOST_RIP, NONCANONICAL); }},
      // 28.3.1.1
      {"guest CR0: fixed bits", [](Vmcs& x) { x.andn(F::GUEST_CR0, cr0::NE); }},
      {"guest CR0: PG without PE", [](Vmcs& x) {
         x.secondary(proc2::EPT | proc2::UNRESTRICTED_GUEST);
         x.set(F::EPT_POINTER, 0x5000 | 6 | (3 << 3));
         x.andn(F::GUEST_CR0, cr0::PE);
       }},
      {"guest CR4: fixed bits", [](Vmcs& x) { x.andn(F::GUEST_CR4, cr4::VMXE); }},
      {"guest IA32_DEBUGCTL: reserved bits", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_DEBUG);
         x.set(F::GUEST_IA32_DEBUGCTL, 1);
       }},
      {"IA-32e mode guest: CR0.PG and CR4.PAE", [](Vmcs& x) { x.andn(F::GUEST_CR4, cr4::PAE); }},
      {"guest CR4.PCIDE outside IA-32e mode", [](Vmcs& x) {
         x.legacy_guest();
         x.orv(F::GUEST_CR4, cr4::PCIDE);
       }},
      {"guest CR3: bits beyond the physical-address width", [](Vmcs& x) { x.orv(F::GUEST_CR3, uint64_t(1) << 50); }},
      {"guest DR7 bits 63:32", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_DEBUG);
         x.orv(F::GUEST_DR7, uint64_t(1) << 32);
       }},
      {"guest IA32_SYSENTER_ESP/EIP canonical", [](Vmcs& x) { x.set(F::GUEST_SYSENTER_ESP, NONCANONICAL); }},
      {"guest IA32_PERF_GLOBAL_CTRL: reserved bits", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_PERF_GLOBAL);
         x.set(F::GUEST_IA32_PERF_GLOBAL_CTRL, uint64_t(1) << 33);  // fixed counter 1: not there
       }},
      {"guest IA32_PAT memory types", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_PAT);
         x.set(F::GUEST_IA32_PAT, 0x0007040600070403ull);
       }},
      {"guest IA32_EFER: reserved bits", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_EFER);
         x.set(F::GUEST_IA32_EFER, EFER_LONG | efer::SVME);
       }},
      {"guest IA32_EFER: LMA/LME and IA-32e mode guest", [](Vmcs& x) {
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_EFER);
         x.set(F::GUEST_IA32_EFER, EFER_LONG & ~efer::LME);
       }},
      // 28.3.1.2
      {"guest TR: TI flag", [](Vmcs& x) { x.set(F::GUEST_TR_SELECTOR, 0x1c); }},
      {"guest LDTR: TI flag", [](Vmcs& x) { x.segment(6, 0x24, 0x82, 0, 0xff); }},
      {"guest SS.RPL = CS.RPL", [](Vmcs& x) { x.set(F::GUEST_SS_SELECTOR, 0x13); }},
      {"virtual-8086 guest: bases = selector << 4", [](Vmcs& x) {
         x.v86_guest(2);
         x.set(F::GUEST_FS_BASE, 0x1234);
       }},
      {"guest TR/FS/GS/LDTR bases canonical", [](Vmcs& x) { x.set(F::GUEST_GS_BASE, NONCANONICAL); }},
      {"guest CS/SS/DS/ES bases bits 63:32", [](Vmcs& x) { x.set(F::GUEST_ES_BASE, uint64_t(1) << 32); }},
      {"virtual-8086 guest: limits FFFFH", [](Vmcs& x) { x.v86_guest(0); }},
      {"virtual-8086 guest: access rights F3H", [](Vmcs& x) { x.v86_guest(1); }},
      {"guest CS type", [](Vmcs& x) { x.set(F::GUEST_CS_AR_BYTES, 0xa093); }},
      {"guest SS type", [](Vmcs& x) { x.set(F::GUEST_SS_AR_BYTES, 0xc09b); }},
      {"guest DS/ES/FS/GS type", [](Vmcs& x) { x.set(F::GUEST_DS_AR_BYTES, 0xc092); }},
      {"guest segments: S bit", [](Vmcs& x) { x.set(F::GUEST_GS_AR_BYTES, 0xc083); }},
      {"guest CS DPL", [](Vmcs& x) { x.set(F::GUEST_CS_AR_BYTES, 0xa0fb); }},
      {"guest SS DPL", [](Vmcs& x) {
         x.set(F::GUEST_CS_AR_BYTES, 0xa0fb);
         x.set(F::GUEST_SS_AR_BYTES, 0xc0f3);
       }},
      {"guest DS/ES/FS/GS DPL below RPL", [](Vmcs& x) { x.set(F::GUEST_DS_SELECTOR, 0x13); }},
      {"guest segments: P bit", [](Vmcs& x) { x.set(F::GUEST_ES_AR_BYTES, 0xc013); }},
      {"guest segments: access-rights bits 11:8", [](Vmcs& x) { x.set(F::GUEST_FS_AR_BYTES, 0xc193); }},
      {"guest CS: D/B with L in IA-32e mode", [](Vmcs& x) { x.set(F::GUEST_CS_AR_BYTES, 0xe09b); }},
      {"guest segments: G and the limit", [](Vmcs& x) { x.set(F::GUEST_DS_LIMIT, 0xffff0); }},
      {"guest segments: access-rights bits 31:17", [](Vmcs& x) { x.orv(F::GUEST_SS_AR_BYTES, 1u << 17); }},
      {"guest TR type", [](Vmcs& x) { x.set(F::GUEST_TR_AR_BYTES, 0x83); }},
      {"guest TR: S, P, reserved bits, G, usable", [](Vmcs& x) { x.set(F::GUEST_TR_AR_BYTES, 0x0b); }},
      {"guest LDTR: type, S, P, reserved bits, G", [](Vmcs& x) { x.segment(6, 0, 0x83, 0, 0xff); }},
      // 28.3.1.3
      {"guest GDTR/IDTR bases canonical", [](Vmcs& x) { x.set(F::GUEST_IDTR_BASE, NONCANONICAL); }},
      {"guest GDTR/IDTR limits bits 31:16", [](Vmcs& x) { x.set(F::GUEST_GDTR_LIMIT, 0x10000); }},
      // 28.3.1.4
      {"guest RIP", [](Vmcs& x) { x.set(F::GUEST_RIP, NONCANONICAL); }},
      {"guest RFLAGS: reserved bits", [](Vmcs& x) { x.set(F::GUEST_RFLAGS, 0); }},
      {"guest RFLAGS.VM in IA-32e mode or with CR0.PE = 0", [](Vmcs& x) {
         x.v86_guest(2);
         x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::IA32E_GUEST);
       }},
      {"guest RFLAGS.IF = 0 with an external interrupt injected", [](Vmcs& x) { x.inject(0, 0x20); }},
      // 28.3.1.5
      {"guest activity state not supported", [](Vmcs& x) { x.set(F::GUEST_ACTIVITY_STATE, 4); }},
      {"guest HLT state with SS.DPL != 0", [](Vmcs& x) {
         x.ring3_cs_ss();
         x.set(F::GUEST_ACTIVITY_STATE, 1);
       }},
      {"guest blocking by STI/MOV SS outside the active state", [](Vmcs& x) {
         x.set(F::GUEST_ACTIVITY_STATE, 1);
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::MOV_SS);
       }},
      {"event injection in this activity state", [](Vmcs& x) {
         x.set(F::GUEST_ACTIVITY_STATE, 1);
         x.inject(3, 13, true);
       }},
      {"guest interruptibility: reserved bits", [](Vmcs& x) { x.set(F::GUEST_INTERRUPTIBILITY_INFO, 1u << 5); }},
      {"guest interruptibility: blocking by STI and by MOV SS", [](Vmcs& x) {
         x.set(F::GUEST_RFLAGS, 0x202);
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, 3);
       }},
      {"guest interruptibility: blocking by STI with RFLAGS.IF = 0", [](Vmcs& x) {
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::STI);
       }},
      {"external-interrupt injection with blocking by STI/MOV SS", [](Vmcs& x) {
         x.set(F::GUEST_RFLAGS, 0x202);
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::STI);
         x.inject(0, 0x20);
       }},
      {"NMI injection with blocking by MOV SS", [](Vmcs& x) {
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::MOV_SS);
         x.inject(2, 2);
       }},
      {"guest interruptibility: blocking by SMI outside SMM", [](Vmcs& x) {
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::SMI);
       }},
      {"virtual-NMI injection with blocking by NMI", [](Vmcs& x) {
         x.orv(F::PIN_BASED_VM_EXEC_CONTROL, pin::NMI_EXITING | pin::VIRTUAL_NMIS);
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::NMI);
         x.inject(2, 2);
       }},
      {"guest interruptibility: enclave interruption", [](Vmcs& x) {
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::ENCLAVE);
       }},
      {"NMI injection with blocking by STI", [](Vmcs& x) {
         x.set(F::GUEST_RFLAGS, 0x202);
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::STI);
         x.inject(2, 2);
       }},
      {"guest pending debug exceptions: reserved bits", [](Vmcs& x) {
         x.set(F::GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4);
       }},
      {"guest pending debug exceptions: BS and RFLAGS.TF", [](Vmcs& x) {
         x.set(F::GUEST_RFLAGS, 0x302);  // TF, IF
         x.set(F::GUEST_INTERRUPTIBILITY_INFO, interruptibility::STI);
       }},
      {"guest pending debug exceptions: RTM without RTM support", [](Vmcs& x) {
         x.set(F::GUEST_PENDING_DBG_EXCEPTIONS, (1u << 16) | (1u << 12));  // as the SDM's RTM rules want
       }},
      {"VMCS link pointer", [](Vmcs& x) { x.set(F::VMCS_LINK_POINTER, 0x8000); }},  // revision 0 there
      // 28.3.1.6
      {"guest PDPTEs: reserved bits", [](Vmcs& x) {
         x.legacy_guest();
         x.set(F::GUEST_CR3, 0x9000);
         x.mem.write_phys(0x9010, 8, 0xa000 | 1 | (1u << 5));  // PDPTE 2: bit 5 reserved
       }},
  };
  return m;
}

// Checks no VMCS can reach first on the "intel" model: the controls they
// relate are not 1-settable there, so the reserved-bit check of the
// control word fires before them.
const std::set<std::string>& unreachable_on_intel() {
  static const std::set<std::string> s = {
      "APIC virtualization without TPR shadow",             // virtualize x2APIC / APIC-register / VID not offered
      "virtualize x2APIC mode with virtualize APIC accesses",  // virtualize x2APIC mode not offered
      "virtual-interrupt delivery without external-interrupt exiting",  // not offered
      "entry to SMM / deactivate dual-monitor treatment outside SMM",   // entry controls 10, 11 not offered
  };
  return s;
}

// "28.2.1.1 ..." -> {28, 2, 1, 1}
std::vector<int> section_number(const char* section) {
  std::vector<int> n;
  int cur = 0;
  for (const char* p = section; *p && *p != ' '; ++p) {
    if (*p == '.') {
      n.push_back(cur);
      cur = 0;
    } else {
      cur = cur * 10 + (*p - '0');
    }
  }
  n.push_back(cur);
  return n;
}

}  // namespace

TEST_CASE("VM-entry checks: every check has a unique name, a section with title, a group") {
  std::set<std::string> names;
  for (const EntryCheck& k : entry_checks()) {
    INFO(k.name);
    CHECK(std::string(k.name).size() > 5);
    CHECK(names.insert(k.name).second);
    const std::string sec = k.section;
    CHECK(sec.rfind("28.", 0) == 0);
    CHECK(sec.find(" Checks ") == sec.find(' '));  // the SDM's title ("Checks ...") follows the number
    CHECK(k.holds != nullptr);
  }
  CHECK(entry_checks().size() >= 100);
}

TEST_CASE("VM-entry checks: table order is the SDM's section order, controls before host before guest") {
  std::vector<int> prev;
  int prev_group = 0;
  for (const EntryCheck& k : entry_checks()) {
    INFO(k.name);
    const std::vector<int> n = section_number(k.section);
    CHECK(n >= prev);
    CHECK(int(k.group) >= prev_group);
    prev = n;
    prev_group = int(k.group);
    // Group follows the section: 28.2.1.x controls, 28.2.2-4 host, 28.3 guest.
    if (n[1] == 3) CHECK(k.group == CheckGroup::GuestState);
    else if (n[2] == 1) CHECK(k.group == CheckGroup::Controls);
    else CHECK(k.group == CheckGroup::HostState);
  }
}

TEST_CASE("VM-entry checks: the valid VMCS passes every check") {
  Vmcs x;
  const EntryCheck* f = x.first_failure();
  INFO((f ? f->name : "none"));
  CHECK(f == nullptr);
}

TEST_CASE("VM-entry checks: each check fires first for a VMCS that violates exactly it") {
  const auto& b = breakers();
  for (const EntryCheck& k : entry_checks()) {
    INFO(k.name);
    if (unreachable_on_intel().count(k.name)) {
      CHECK(b.count(k.name) == 0);
      continue;
    }
    REQUIRE(b.count(k.name) == 1);  // every reachable check has its case
    Vmcs x;
    b.at(k.name)(x);
    const EntryCheck* f = x.first_failure();
    CHECK(f == &k);
    if (f != &k) WARN("first failing: " << (f ? f->name : "none"));
  }
  // No case names a check the table does not have.
  for (const auto& [name, fn] : b) {
    bool found = false;
    for (const EntryCheck& k : entry_checks()) found |= name == k.name;
    INFO(name);
    CHECK(found);
  }
}

TEST_CASE("VM-entry checks: unreachable checks are reserved-bit failures of their control word on intel") {
  // Turning on the controls those checks relate hits the secondary
  // controls' reserved-bit check first (they are not 1-settable).
  Vmcs x;
  x.secondary(proc2::VIRT_X2APIC | proc2::VIRT_INTR_DELIVERY);
  REQUIRE(x.first_failure());
  CHECK(std::string(x.first_failure()->name) == "secondary processor-based controls: reserved bits");
  Vmcs y;
  y.orv(F::VM_ENTRY_CONTROLS, entry_ctl::ENTRY_TO_SMM);
  REQUIRE(y.first_failure());
  CHECK(std::string(y.first_failure()->name) == "VM-entry controls: reserved bits");
}

TEST_CASE("VM-entry checks: outcomes by group (VMfailValid 7/8, exit 33|80000000H with qualification)") {
  for (const EntryCheck& k : entry_checks()) {
    INFO(k.name);
    const EntryOutcome o = outcome_of(k);
    switch (k.group) {
      case CheckGroup::Controls: CHECK((o.vm_fail_valid && o.error == 7)); break;
      case CheckGroup::HostState: CHECK((o.vm_fail_valid && o.error == 8)); break;
      default:
        CHECK(!o.vm_fail_valid);
        CHECK(o.exit_reason == 0x80000021u);
        CHECK(o.qualification == k.qualification);
    }
  }
  std::map<std::string, uint32_t> q;
  for (const EntryCheck& k : entry_checks()) q[k.name] = k.qualification;
  CHECK(q["guest PDPTEs: reserved bits"] == 2);
  CHECK(q["NMI injection with blocking by STI"] == 3);
  CHECK(q["VMCS link pointer"] == 4);
  CHECK(q["guest CR0: fixed bits"] == 0);
}

TEST_CASE("VM-entry checks: the SDM's order decides between invalid fields of different groups") {
  // Controls before host state before guest state (SDM 28.2, 28.3).
  Vmcs x;
  x.set(F::CR3_TARGET_COUNT, 9);
  x.set(F::HOST_CS_SELECTOR, 0);
  x.set(F::GUEST_RFLAGS, 0);
  CHECK(std::string(x.first_failure()->name) == "CR3-target count above IA32_VMX_MISC[24:16]");
  x.set(F::CR3_TARGET_COUNT, 0);
  CHECK(std::string(x.first_failure()->name) == "host CS selector 0");
  x.set(F::HOST_CS_SELECTOR, 8);
  CHECK(std::string(x.first_failure()->name) == "guest RFLAGS: reserved bits");
}

TEST_CASE("VM-entry checks: plain capability MSRs (BASIC[55] = 0) make default1 controls must-be-1") {
  Vmcs x;
  x.model = parse_cpu_option("intel,-vmx-true-ctls");
  // CR3-load exiting (bit 15) is 0 in the valid VMCS: allowed by
  // TRUE_PROCBASED_CTLS only.
  REQUIRE(x.first_failure());
  CHECK(std::string(x.first_failure()->name) == "primary processor-based controls: reserved bits");
  x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::CR3_LOAD_EXITING | proc::CR3_STORE_EXITING);
  REQUIRE(x.first_failure());
  CHECK(std::string(x.first_failure()->name) == "VM-exit controls: reserved bits");  // save debug controls
  x.orv(F::VM_EXIT_CONTROLS, exit_ctl::SAVE_DEBUG);
  x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_DEBUG);
  CHECK(x.first_failure() == nullptr);
}

TEST_CASE("exit reasons: SDM Appendix C numbers are unique and named") {
  std::set<uint32_t> seen;
  for (const ExitReasonInfo& r : exit_reason_table()) {
    INFO(r.number);
    CHECK(seen.insert(r.number).second);
    CHECK(std::string(r.name).size() > 2);
  }
  CHECK(std::string(exit_reason_name(10)) == "CPUID");
  CHECK(std::string(exit_reason_name(33)) == "VM-entry failure due to invalid guest state");
  CHECK(std::string(exit_reason_name(35)) == "unknown");  // 35 is not used (SDM Table C-1)
}

TEST_CASE("named VMCS encodings match the field table") {
  for (const F::NamedEncoding& e : F::kNamedEncodings) {
    INFO(e.name);
    const VmcsField* f = find_vmcs_field(e.name);
    REQUIRE(f);
    CHECK(f->encoding == e.encoding);
  }
}

TEST_CASE("every field of the table is reachable by its encoding through the cache accessors") {
  // vmx/vmcs_cache.cpp keys fields by width, type and an index below 64:
  // a field the key cannot hold would throw on its first named access.
  VmxState v;
  uint64_t n = 1;
  for (const VmcsField& f : vmcs_fields()) {
    INFO(f.name);
    const uint64_t value = (0x0123456789abcdefull * n++) & (f.size() == 8 ? ~0ull : (1ull << 8 * f.size()) - 1);
    REQUIRE_NOTHROW(write_field(v, f.encoding, value));
    CHECK(read_field(v, f.encoding) == value);
    CHECK(read_field(v, f) == value);  // the same bytes through the field record
  }
}

// ---- VM entry on a CPU (vmx/entry.cpp) ----------------------------------------------------

namespace {

// A CPU in VMX root operation in IA-32e mode whose current VMCS is `x`'s.
struct EntryCpu {
  Vmcs x;
  Cpu cpu{x.mem, x.model};
  EntryCpu() {
    cpu.s.efer = EFER_LONG;
    cpu.s.cr0 = x.get(F::HOST_CR0);
    cpu.s.cr4 = x.get(F::HOST_CR4);
    cpu.vmx.in_vmx_operation = true;
    cpu.vmx.current_vmcs = 0x200000;
  }
  void enter() {
    cpu.vmx.cache = x.v.cache;
    vm_entry(cpu, true);
  }
  uint64_t field(uint32_t enc) const { return read_field(cpu.vmx, enc); }
};

}  // namespace

TEST_CASE("VM entry: a failed control check is VMfailValid(7) naming the check") {
  EntryCpu e;
  e.x.set(F::CR3_TARGET_COUNT, 5);
  e.enter();
  CHECK((e.cpu.s.rflags & fl::ARITH) == fl::ZF);
  CHECK(e.field(F::VM_INSTRUCTION_ERROR) == 7);
  REQUIRE(e.cpu.vmx.failed_check);
  CHECK(std::string(e.cpu.vmx.failed_check->name) == "CR3-target count above IA32_VMX_MISC[24:16]");
  CHECK(!e.cpu.vmx.non_root);
}

TEST_CASE("VM entry: a failed host-state check is VMfailValid(8)") {
  EntryCpu e;
  e.x.set(F::HOST_TR_SELECTOR, 0);
  e.enter();
  CHECK((e.cpu.s.rflags & fl::ARITH) == fl::ZF);
  CHECK(e.field(F::VM_INSTRUCTION_ERROR) == 8);
  REQUIRE(e.cpu.vmx.failed_check);
  CHECK(std::string(e.cpu.vmx.failed_check->name) == "host TR selector 0");
}

TEST_CASE("VM entry: a failed guest-state check exits with 33|80000000H and loads the host state") {
  EntryCpu e;
  e.x.set(F::VMCS_LINK_POINTER, 0x8000);
  e.x.set(F::VM_EXIT_INTR_INFO, 0x80000306);  // must stay unmodified (SDM 28.8)
  e.enter();
  CHECK(e.field(F::VM_EXIT_REASON) == 0x80000021);
  CHECK(e.field(F::EXIT_QUALIFICATION) == 4);
  CHECK(e.field(F::VM_EXIT_INTR_INFO) == 0x80000306);
  CHECK(e.field(F::GUEST_RIP) == 0x20000);  // guest state not saved
  CHECK(e.cpu.s.rip == 0x10000);            // host RIP
  CHECK(e.cpu.s.gpr[RSP] == 0x8000);
  CHECK(e.cpu.s.rflags == 2);
  CHECK(e.cpu.s.seg[CS].sel == 8);
  CHECK(e.cpu.s.seg[CS].attr == (11 | ar::S | ar::P | ar::L | ar::G));
  CHECK(e.cpu.s.tr.limit == 0x67);
  CHECK(e.cpu.s.gdtr.limit == 0xffff);
  CHECK(e.cpu.s.ldtr.attr == ar::UNUSABLE);
  CHECK(e.cpu.s.dr[7] == 0x400);
  CHECK(!e.cpu.vmx.non_root);
  REQUIRE(e.cpu.vmx.failed_check);
  CHECK(std::string(e.cpu.vmx.failed_check->name) == "VMCS link pointer");
}

TEST_CASE("VM entry: success loads the guest state and enters non-root operation") {
  EntryCpu e;
  e.x.set(F::GUEST_RFLAGS, 0x246);
  e.x.set(F::GUEST_FS_BASE, 0x1234000);
  e.enter();
  CHECK(e.cpu.vmx.failed_check == nullptr);
  CHECK(e.cpu.vmx.non_root);
  CHECK(e.cpu.s.rip == 0x20000);
  CHECK(e.cpu.s.gpr[RSP] == 0x28000);
  CHECK(e.cpu.s.rflags == 0x246);
  CHECK(e.cpu.s.seg[FS].base == 0x1234000);
  CHECK(e.cpu.s.mode == Mode::Long64);
  CHECK(e.cpu.s.cpl == 0);
  CHECK((e.cpu.s.efer & efer::LMA));
  CHECK(launch_state(e.cpu.vmx) == LaunchState::Launched);
}

TEST_CASE("VM entry: every control the intel model offers is honoured (none stops the run)") {
  // The TPR shadow was the last control to be refused by name; with it (and
  // VTPR 0 = threshold 0: no TPR-below-threshold exit, SDM 28.7.7) the
  // entry completes into non-root operation.
  EntryCpu e;
  e.x.orv(F::CPU_BASED_VM_EXEC_CONTROL, proc::TPR_SHADOW);
  e.x.set(F::VIRTUAL_APIC_PAGE_ADDR, 0x4000);
  e.enter();
  CHECK(e.cpu.stop != StopReason::Error);
  CHECK(e.cpu.stop_detail.empty());
  CHECK(e.cpu.vmx.non_root);
}

TEST_CASE("VM entry/exit: IA32_PERF_GLOBAL_CTRL is loaded from the guest and host fields (SDM 28.3.2.1, 29.5.1)") {
  EntryCpu e;
  e.cpu.s.perf_global_ctrl = 0;
  e.x.orv(F::VM_ENTRY_CONTROLS, entry_ctl::LOAD_PERF_GLOBAL);
  e.x.orv(F::VM_EXIT_CONTROLS, exit_ctl::LOAD_PERF_GLOBAL);
  e.x.set(F::GUEST_IA32_PERF_GLOBAL_CTRL, uint64_t(1) << 32);
  e.x.set(F::HOST_IA32_PERF_GLOBAL_CTRL, 0);
  e.enter();
  REQUIRE(e.cpu.vmx.non_root);
  CHECK(e.cpu.stop == StopReason::None);
  CHECK(e.cpu.s.perf_global_ctrl == uint64_t(1) << 32);
  instruction_exit(e.cpu, exit_reason::CPUID, 0, 2);
  CHECK(!e.cpu.vmx.non_root);
  CHECK(e.cpu.s.perf_global_ctrl == 0);
  // Without the controls the MSR keeps its value across entry and exit.
  EntryCpu f;
  f.cpu.s.perf_global_ctrl = uint64_t(1) << 32;
  f.x.set(F::GUEST_IA32_PERF_GLOBAL_CTRL, 0);
  f.enter();
  REQUIRE(f.cpu.vmx.non_root);
  CHECK(f.cpu.s.perf_global_ctrl == uint64_t(1) << 32);
  instruction_exit(f.cpu, exit_reason::CPUID, 0, 2);
  CHECK(f.cpu.s.perf_global_ctrl == uint64_t(1) << 32);
}

namespace {
void msr_entry(Memory& mem, uint64_t at, uint64_t head, uint64_t data) {
  mem.write_phys(at, 8, head);
  mem.write_phys(at + 8, 8, data);
}
constexpr uint32_t STAR = 0xc0000081, LSTAR = 0xc0000082;
}  // namespace

TEST_CASE("VM entry: the VM-entry MSR-load area is loaded as WRMSR would (SDM 28.4)") {
  EntryCpu e;
  msr_entry(e.x.mem, 0x7000, STAR, 0x0023001000000000ull);
  msr_entry(e.x.mem, 0x7010, LSTAR, 0xffffffff81000000ull);
  e.x.set(F::VM_ENTRY_MSR_LOAD_COUNT, 2);
  e.x.set(F::VM_ENTRY_MSR_LOAD_ADDR, 0x7000);
  e.enter();
  CHECK(e.cpu.vmx.non_root);
  CHECK(e.cpu.s.star == 0x0023001000000000ull);
  CHECK(e.cpu.s.lstar == 0xffffffff81000000ull);
}

TEST_CASE("VM entry: a failing MSR-load entry is exit 34|80000000H with its number; earlier entries stay") {
  // Entry 2 names IA32_FS_BASE, entry 3 sets bits 63:32, entry 4 a WRMSR #GP.
  const uint64_t bad[] = {0xc0000100, (uint64_t(1) << 32) | STAR, LSTAR};
  const uint64_t data[] = {0, 0, 0x0000800000000000ull};  // LSTAR non-canonical: #GP
  for (unsigned k = 0; k < 3; ++k) {
    INFO(k);
    EntryCpu e;
    msr_entry(e.x.mem, 0x7000, STAR, 0x1111);
    msr_entry(e.x.mem, 0x7010, bad[k], data[k]);
    e.x.set(F::VM_ENTRY_MSR_LOAD_COUNT, 2);
    e.x.set(F::VM_ENTRY_MSR_LOAD_ADDR, 0x7000);
    e.enter();
    CHECK(!e.cpu.vmx.non_root);
    CHECK(e.field(F::VM_EXIT_REASON) == 0x80000022);
    CHECK(e.field(F::EXIT_QUALIFICATION) == 2);
    CHECK(e.cpu.s.star == 0x1111);
    CHECK(e.cpu.s.rip == 0x10000);  // host state
    CHECK(launch_state(e.cpu.vmx) == LaunchState::Clear);
  }
}

TEST_CASE("VM exit: the MSR-store area saves guest MSRs, the MSR-load area loads host MSRs (SDM 29.4, 29.6)") {
  EntryCpu e;
  msr_entry(e.x.mem, 0x7000, STAR, 0);
  msr_entry(e.x.mem, 0x7100, LSTAR, 0xffffffff82000000ull);
  e.x.set(F::VM_EXIT_MSR_STORE_COUNT, 1);
  e.x.set(F::VM_EXIT_MSR_STORE_ADDR, 0x7000);
  e.x.set(F::VM_EXIT_MSR_LOAD_COUNT, 1);
  e.x.set(F::VM_EXIT_MSR_LOAD_ADDR, 0x7100);
  e.enter();
  REQUIRE(e.cpu.vmx.non_root);
  e.cpu.s.star = 0x00230010deadbeefull;  // the guest's STAR
  instruction_exit(e.cpu, 10, 0, 2);
  CHECK(!e.cpu.vmx.non_root);
  CHECK(e.x.mem.read_phys(0x7008, 8) == 0x00230010deadbeefull);
  CHECK(e.cpu.s.lstar == 0xffffffff82000000ull);
  CHECK(e.cpu.stop == StopReason::None);
}

TEST_CASE("VM exit: a failing MSR-store entry is a VMX abort (indicator 1), a failing load entry indicator 4") {
  for (int load = 0; load < 2; ++load) {
    INFO(load);
    EntryCpu e;
    msr_entry(e.x.mem, 0x7000, 0x9e, 0);  // IA32_SMBASE: only in SMM
    e.x.set(load ? F::VM_EXIT_MSR_LOAD_COUNT : F::VM_EXIT_MSR_STORE_COUNT, 1);
    e.x.set(load ? F::VM_EXIT_MSR_LOAD_ADDR : F::VM_EXIT_MSR_STORE_ADDR, 0x7000);
    e.enter();
    REQUIRE(e.cpu.vmx.non_root);
    instruction_exit(e.cpu, 10, 0, 2);
    CHECK(e.cpu.stop == StopReason::Shutdown);
    CHECK(e.x.mem.read_phys(0x200000 + 4, 4) == (load ? 4u : 1u));
  }
}
