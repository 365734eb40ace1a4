// The TPR shadow and the APIC-access page (vmx/apic_virtualization.h): the
// L1 test kernel tests/guest/vmx_apic_long64.asm through `softvt run
// --flat` (CR8 on VTPR, TPR-below-threshold exits, virtualized VTPR
// accesses and APIC-access exits with their qualifications, with and
// without EPT, the VM-entry checks), what a recorded trace shows of those
// exits, the entry checks' conditions on the shared valid VMCS, and the
// MMU's side driven directly: the APIC-access page never cached with a
// permission, VTPR accesses reaching the virtual-APIC page each time.
#include <catch.hpp>

#include <cstdio>
#include <string>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/flat_run_support.h"
#include "tests/unit/vmx_valid_vmcs.h"
#include "vmx/apic_virtualization.h"
#include "vmx/controls.h"

using namespace softvt;

namespace {

using test::CliResult;
using test::env_path;
using test::json_exit;
using test::json_value;
using test::shell;
using test::slurp;

// Passed checks of the kernel: every check counts, failures print.
constexpr uint64_t kKernelChecks = 147;

std::string kernel_path() { return env_path("SOFTVT_GUEST_DIR") + "/vmx_apic_long64.bin"; }

// ---- the MMU driven directly: a CPU in VMX non-root operation -------------------------

constexpr uint64_t kApicPage = 0x600000, kVirtualApic = 0x102000;

// A 64-bit CPU on the flat runner's identity map (2-MiB pages), put into
// VMX non-root operation with the APIC-virtualization controls set by hand
// (no VM entry: only the paths that do not exit are driven here; the exits
// are the kernel's).
struct NonRootCpu {
  CpuModel model = parse_cpu_option("intel");
  Memory mem{16 << 20};
  Cpu cpu{mem, model};
  BlockCache blocks{model};

  NonRootCpu() {
    cpu.s = setup_flat(mem, std::vector<uint8_t>{0xf4}, 0x10000, FlatMode::Long64);
    cpu.blocks = &blocks;
    cpu.update_mode();
    cpu.refresh_tlb_space();
    cpu.vmx.non_root = true;
    vmx::ActiveControls& c = cpu.vmx.controls;
    c.proc = vmx::proc::TPR_SHADOW | vmx::proc::SECONDARY;
    c.proc2 = vmx::proc2::VIRT_APIC_ACCESSES;
    c.virtual_apic_page = kVirtualApic;
    c.apic_access_page = kApicPage;
    mem.write_phys(kApicPage + 0x80, 4, 0x5a5a5a5a);
  }
  const TlbEntry& entry_of(uint64_t lin) const { return cpu.tlb[(lin >> 12) & (Cpu::TLB_SIZE - 1)]; }
};

constexpr uint32_t kAccessBits = tlb_perm::READ_S | tlb_perm::WRITE_S | tlb_perm::EXEC_S | tlb_perm::READ_U |
                                 tlb_perm::WRITE_U | tlb_perm::EXEC_U | tlb_perm::CODE_WRITE;

}  // namespace

// ---- the L1 test kernel ---------------------------------------------------------------

TEST_CASE("L1 test kernel: TPR shadow, TPR-below-threshold exits, the APIC-access page with and without EPT") {
  const std::string state = test::flat_tmp_path("apic_state.json");
  const CliResult r = shell(env_path("SOFTVT") + " run --flat " + kernel_path() + " --debugcon stdio --dump-state " + state);
  const std::string json = slurp(state);
  std::remove(state.c_str());
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("vmx_apic: done") != std::string::npos);
  CHECK(json_exit(json) == "hlt");
  CHECK(json_value(json, "rax") == 0);              // failed checks
  CHECK(json_value(json, "rbx") == kKernelChecks);  // passed checks: all of them ran
}

TEST_CASE("a recorded trace names the TPR-below-threshold and APIC-access exits and the access") {
  const std::string trace = test::flat_tmp_path("apic.trace");
  REQUIRE(shell(env_path("SOFTVT") + " run --flat " + kernel_path() + " --record " + trace).status == 0);
  const CliResult show = shell(env_path("SOFTVT") + " trace show " + trace);
  std::remove(trace.c_str());
  REQUIRE(show.status == 0);
  // The exit records carry reason and qualification; the notes say the access in words.
  CHECK(show.out.find("VM exit: TPR below threshold (reason 0x2b), qualification 0x0") != std::string::npos);
  CHECK(show.out.find("VM exit: APIC access (reason 0x2c), qualification 0x1300") != std::string::npos);
  CHECK(show.out.find("note: APIC access: linear write at offset 300H") != std::string::npos);
  CHECK(show.out.find("note: APIC access: linear instruction fetch at offset 100H") != std::string::npos);
  CHECK(show.out.find("note: APIC access: linear access during event delivery at offset 210H") != std::string::npos);
  CHECK(show.out.find("note: APIC access: guest-physical access during event delivery") != std::string::npos);
}

// ---- the VM-entry checks' conditions (SDM 28.2.1.1) ------------------------------------

TEST_CASE("VM entry: TPR threshold vs VTPR is checked only without APIC-access virtualization") {
  test::Vmcs x;
  namespace F = vmx::field;
  x.orv(F::CPU_BASED_VM_EXEC_CONTROL, vmx::proc::TPR_SHADOW);
  x.set(F::VIRTUAL_APIC_PAGE_ADDR, 0x4000);
  x.mem.write_phys(0x4080, 1, 0x20);  // VTPR[7:4] = 2
  x.set(F::TPR_THRESHOLD, 3);
  const vmx::EntryCheck* k = x.first_failure();
  REQUIRE(k);
  CHECK(std::string(k->name) == "TPR threshold above VTPR");
  // With "virtualize APIC accesses" the entry succeeds (and exits at once:
  // SDM 28.7.7, the kernel's "TPR exit right after VM entry").
  x.secondary(vmx::proc2::VIRT_APIC_ACCESSES);
  x.set(F::APIC_ACCESS_ADDR, 0x5000);
  CHECK(x.first_failure() == nullptr);
  // Bits 31:4 are checked in both cases.
  x.set(F::TPR_THRESHOLD, 0x13);
  k = x.first_failure();
  REQUIRE(k);
  CHECK(std::string(k->name) == "TPR threshold bits 31:4");
}

TEST_CASE("VM entry: a VMCS with the TPR shadow and APIC-access virtualization no longer stops the run") {
  // The two controls left vmx/entry.cpp's list of unimplemented features:
  // a kernel using them runs to its end (the first test), and the model
  // still offers them.
  const CpuModel m = parse_cpu_option("intel");
  CHECK(((m.vmx.proc.allowed1 >> 21) & 1) == 1);
  CHECK((m.vmx.secondary_allowed1() & vmx::proc2::VIRT_APIC_ACCESSES) != 0);
  CHECK((m.vmx.secondary_allowed1() & (vmx::proc2::VIRT_X2APIC | vmx::proc2::APIC_REG_VIRT |
                                        vmx::proc2::VIRT_INTR_DELIVERY)) == 0);
}

// ---- the MMU side ------------------------------------------------------------------------

TEST_CASE("VTPR reads through the APIC-access page reach the virtual-APIC page; the page is never cached") {
  NonRootCpu n;
  n.mem.write_phys(kVirtualApic + 0x80, 4, 0x11223340);
  CHECK(n.cpu.read_lin(kApicPage + 0x80, 4, Acc::Read, false) == 0x11223340);
  // The translation stays in the TLB without any access permission: the
  // next access walks again and asks VMX again (a TLB hit never reaches
  // the APIC-access page's own memory).
  const TlbEntry& e = n.entry_of(kApicPage);
  CHECK((e.perm & tlb_perm::APIC_ACCESS) != 0);
  CHECK((e.perm & kAccessBits) == 0);
  n.mem.write_phys(kVirtualApic + 0x80, 4, 0x70);
  CHECK(n.cpu.read_lin(kApicPage + 0x80, 1, Acc::Read, false) == 0x70);
  CHECK(n.cpu.read_lin(kApicPage + 0x80, 2, Acc::Read, false) == 0x70);
  CHECK(n.mem.read_phys(kApicPage + 0x80, 4) == 0x5a5a5a5a);
}

TEST_CASE("VTPR writes through the APIC-access page: bytes 81H-83H cleared, TPR virtualization") {
  NonRootCpu n;
  n.mem.write_phys(kVirtualApic + 0x80, 4, 0xaabbcc00);
  n.cpu.vmx.controls.tpr_threshold = 4;
  n.cpu.write_lin(kApicPage + 0x80, 2, 0x1250, false);
  CHECK(n.mem.read_phys(kVirtualApic + 0x80, 4) == 0x50);
  CHECK(n.mem.read_phys(kApicPage + 0x80, 4) == 0x5a5a5a5a);  // the APIC-access page itself is not written
  CHECK_FALSE(n.cpu.vmx.events.tpr_below_threshold);          // 5 >= 4
  CHECK(n.cpu.vmx.events.vtpr_write_size == 2);               // the operation wrote VTPR
  CHECK(n.cpu.vmx.events.boundary_checks);                    // ... until the next boundary
  n.cpu.vmx.events.vtpr_write_size = 0;
  n.cpu.write_lin(kApicPage + 0x80, 1, 0x30, false);
  CHECK(n.mem.read_phys(kVirtualApic + 0x80, 4) == 0x30);
  CHECK(n.cpu.vmx.events.tpr_below_threshold);  // 3 < 4: a trap-like exit is due
}

TEST_CASE("MOV to/from CR8 with the TPR shadow works on VTPR (SDM 31.3)") {
  NonRootCpu n;
  n.mem.write_phys(kVirtualApic + 0x80, 4, 0xffffff5a);
  CHECK(vmx::virtual_cr8(n.cpu) == 5);
  n.cpu.vmx.controls.tpr_threshold = 7;
  vmx::write_virtual_cr8(n.cpu, 9);
  CHECK(n.mem.read_phys(kVirtualApic + 0x80, 4) == 0x90);  // bits 3:0 and 31:8 cleared
  CHECK_FALSE(n.cpu.vmx.events.tpr_below_threshold);
  vmx::write_virtual_cr8(n.cpu, 6);
  CHECK(n.cpu.vmx.events.tpr_below_threshold);
  CHECK(n.cpu.s.cr8 == 0);  // the real TPR is untouched
  // Bits 63:4 of the source: #GP(0) before anything is written.
  n.mem.write_phys(kVirtualApic + 0x80, 4, 0x60);
  bool gp = false;
  try {
    vmx::write_virtual_cr8(n.cpu, 0x10);
  } catch (const GuestException& e) {
    gp = e.vector == vec::GP && e.error_code == 0;
  }
  CHECK(gp);
  CHECK(n.mem.read_phys(kVirtualApic + 0x80, 4) == 0x60);
}

TEST_CASE("other pages keep their cached fast path in VMX non-root operation") {
  NonRootCpu n;
  n.mem.write_phys(0x601080, 4, 0x12345678);
  CHECK(n.cpu.read_lin(0x601080, 4, Acc::Read, false) == 0x12345678);
  const TlbEntry& e = n.entry_of(0x601000);
  CHECK((e.perm & tlb_perm::APIC_ACCESS) == 0);
  CHECK((e.perm & tlb_perm::READ_S) != 0);
  CHECK(e.host != nullptr);
}
