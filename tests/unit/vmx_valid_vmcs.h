// A current VMCS that passes every VM-entry check (vmx/entry_checks.h):
// shared by the entry-check tests (tests/unit/test_vmx_entry.cpp), which
// break one field at a time from it, and by bench/vmx_entry_checks.cpp.
#pragma once
#include <cstdint>

#include "emu/cli/cpu_option.h"
#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "emu/memory.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"
#include "vmx/entry_checks.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::test {

using namespace softvt::vmx;
namespace F = softvt::vmx::field;

constexpr uint64_t NONCANONICAL = 0x0000800000000000ull;
constexpr uint64_t EFER_LONG = 0xd01;  // SCE LME LMA NXE, as the flat runner

// A current VMCS that passes every check: a 64-bit guest and a 64-bit host
// on the "intel" model (flat 64-bit code/data segments, a busy 64-bit TSS,
// unusable LDTR, paging with PAE, the fixed CR0/CR4 bits set).
struct Vmcs {
  CpuModel model = parse_cpu_option("intel");
  Memory mem{16 << 20};
  VmxState v;
  uint64_t current_efer = EFER_LONG;

  Vmcs() {
    const VmxCapabilities& c = model.vmx;
    set(F::PIN_BASED_VM_EXEC_CONTROL, c.pin.must_be_1);
    set(F::CPU_BASED_VM_EXEC_CONTROL, c.proc.must_be_1 | proc::SECONDARY);
    set(F::SECONDARY_VM_EXEC_CONTROL, 0);
    set(F::VM_EXIT_CONTROLS, c.exit.must_be_1 | exit_ctl::HOST_ADDR_SPACE_SIZE);
    set(F::VM_ENTRY_CONTROLS, c.entry.must_be_1 | entry_ctl::IA32E_GUEST);
    const uint64_t cr0v = cr0::PG | cr0::PE | cr0::NE | cr0::ET | cr0::MP | cr0::WP;
    const uint64_t cr4v = cr4::VMXE | cr4::PAE | cr4::OSFXSR | cr4::OSXMMEXCPT;
    set(F::HOST_CR0, cr0v);
    set(F::HOST_CR4, cr4v);
    set(F::HOST_CR3, 0x1000);
    set(F::HOST_CS_SELECTOR, 0x08);
    for (uint32_t e : {F::HOST_SS_SELECTOR, F::HOST_DS_SELECTOR, F::HOST_ES_SELECTOR, F::HOST_FS_SELECTOR,
                       F::HOST_GS_SELECTOR})
      set(e, 0x10);
    set(F::HOST_TR_SELECTOR, 0x18);
    set(F::HOST_RIP, 0x10000);
    set(F::HOST_RSP, 0x8000);
    set(F::GUEST_CR0, cr0v);
    set(F::GUEST_CR4, cr4v);
    set(F::GUEST_CR3, 0x1000);
    set(F::GUEST_DR7, 0x400);
    set(F::GUEST_RFLAGS, 2);
    set(F::GUEST_RIP, 0x20000);
    set(F::GUEST_RSP, 0x28000);
    segment(1, 0x08, 0xa09b);  // CS: code, execute/read, accessed, L, G
    for (unsigned i : {0u, 2u, 3u, 4u, 5u}) segment(i, 0x10, 0xc093);  // data: read/write, accessed, D/B, G
    set(F::GUEST_LDTR_AR_BYTES, ar::UNUSABLE);
    set(F::GUEST_TR_SELECTOR, 0x18);
    set(F::GUEST_TR_LIMIT, 0x67);
    set(F::GUEST_TR_AR_BYTES, 0x8b);  // busy 64-bit TSS, P
    set(F::GUEST_GDTR_LIMIT, 0x27);
    set(F::GUEST_IDTR_LIMIT, 0xfff);
    set(F::VMCS_LINK_POINTER, ~uint64_t(0));
  }
  void set(uint32_t enc, uint64_t value) { write_field(v, enc, value); }
  uint64_t get(uint32_t enc) const { return read_field(v, enc); }
  void orv(uint32_t enc, uint64_t bits) { set(enc, get(enc) | bits); }
  void andn(uint32_t enc, uint64_t bits) { set(enc, get(enc) & ~bits); }
  void segment(unsigned i, uint16_t sel, uint32_t arb, uint64_t base = 0, uint32_t limit = 0xffffffff) {
    set(F::GUEST_ES_SELECTOR + 2 * i, sel);
    set(F::GUEST_ES_AR_BYTES + 2 * i, arb);
    set(F::GUEST_ES_BASE + 2 * i, base);
    set(F::GUEST_ES_LIMIT + 2 * i, limit);
  }
  const EntryCheck* first_failure() {
    const EntryContext ctx(v, model, mem, current_efer);
    return first_failing_check(ctx);
  }
  // Helpers for the guest variants the checks need.
  void secondary(uint32_t bits) { orv(F::SECONDARY_VM_EXEC_CONTROL, bits); }
  void legacy_guest() { andn(F::VM_ENTRY_CONTROLS, entry_ctl::IA32E_GUEST); set(F::GUEST_CS_AR_BYTES, 0xc09b); }
  // Virtual-8086 guest with the bases, limits and access rights the V86
  // rules need, up to `upto` (0: bases, 1: + limits, 2: + rights).
  void v86_guest(int upto) {
    legacy_guest();
    set(F::GUEST_RFLAGS, 0x20002);
    for (unsigned i = 0; i < 6; ++i) {
      set(F::GUEST_ES_BASE + 2 * i, get(F::GUEST_ES_SELECTOR + 2 * i) << 4);
      if (upto >= 1) set(F::GUEST_ES_LIMIT + 2 * i, 0xffff);
      if (upto >= 2) set(F::GUEST_ES_AR_BYTES + 2 * i, 0xf3);
    }
  }
  void inject(unsigned type, unsigned vector, bool error_code = false) {
    set(F::VM_ENTRY_INTR_INFO_FIELD, vector | (type << 8) | (error_code ? intr_info::DELIVER_ERROR_CODE : 0) |
                                         intr_info::VALID);
  }
  void ring3_cs_ss() {
    segment(1, 0x0b, 0xa0fb);
    segment(2, 0x13, 0xc0f3);
  }
};

}  // namespace softvt::test
