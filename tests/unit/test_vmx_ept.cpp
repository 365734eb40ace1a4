// EPT, VPID, INVEPT/INVVPID and VMFUNC (vmx/ept.cpp, vmx/vpid.cpp,
// vmx/instructions.cpp): the EPT walker against SDM Vol. 3C 29.3 (the
// translation, 2-MiB/1-GiB pages, permissions, each misconfiguration rule
// of 29.3.3.1, accessed/dirty flags of 29.3.5), the EPTP checks, the
// capability MSRs and their narrowing, the instruction checks that need no
// VMCS, and the L1 test kernel tests/guest/vmx_ept_long64.asm (EPT
// violations and misconfigurations as exits, A/D flags, stale translations
// and INVEPT/INVVPID per type, VPID isolation, VMFUNC, a real-mode L2).
#include <catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <cstring>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "emu/memory.h"
#include "emu/nested_paging.h"
#include "emu/paging.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/flat_run_support.h"
#include "tests/unit/nasm_support.h"
#include "vmx/capabilities.h"
#include "vmx/ept.h"

using namespace softvt;
using namespace softvt::vmx;

namespace {

// ---- an EPT in a small memory -----------------------------------------------------------

constexpr uint64_t PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
constexpr uint64_t LEAF_WB = 0x30 | 7;  // RWX, memory type 6
constexpr uint64_t EPTP = PML4 | 0x1e;  // WB, 4-level walk
// What softvt's intel model reports (vmx/capabilities.cpp).
const uint64_t kCaps = softvt_vmx_capabilities().ept_vpid;
constexpr unsigned MAXPHY = 40;

struct EptFixture {
  Memory mem{4 << 20};
  EptFixture() {
    mem.write_phys(PML4, 8, PDPT | 7);
    mem.write_phys(PDPT, 8, PD | 7);
    mem.write_phys(PD, 8, PT | 7);
    // gpa 0-2 MiB: 4-KiB pages at host 1 MiB + gpa
    for (uint64_t i = 0; i < 512; ++i) mem.write_phys(PT + 8 * i, 8, (0x100000 + (i << 12)) | LEAF_WB);
  }
  uint64_t entry(uint64_t addr) { return mem.read_phys(addr, 8); }
  void set(uint64_t addr, uint64_t v) { mem.write_phys(addr, 8, v); }
  EptWalkResult walk(uint64_t gpa, bool write = false, bool fetch = false, uint64_t eptp = EPTP,
                     uint64_t caps = kCaps) {
    return EptWalker{mem, eptp, caps, MAXPHY}.walk(gpa, write, fetch);
  }
};

// ---- CLI helpers (tests/unit/flat_run_support.h) ------------------------------------------

using test::CliResult;
using test::shell;
using test::slurp;

using test::env_path;
using test::json_exit;
using test::json_value;
using test::kVmxOn;
using test::run_flat;

}  // namespace

// ---- the generic hook (emu/nested_paging.h) ----------------------------------------------

namespace {
// A second level that moves guest-physical memory up by 16 MiB and grants
// read and execute only: final writes are refused (as an NPF or EPT
// violation would be) by throwing NestedPagingExit; the guest walk may set
// its accessed and dirty flags.
struct Shifted final : NestedPaging {
  static constexpr uint64_t OFFSET = 16 << 20;
  struct Call {
    uint64_t gpa;
    Acc acc;
    NestedKind kind;
    uint64_t lin;
  };
  std::vector<Call> calls;
  NestedTranslation translate(Cpu&, uint64_t gpa, const NestedAccess& a) override {
    calls.push_back(Call{gpa, a.acc, a.kind, a.lin});
    if (a.acc == Acc::Write && a.kind == NestedKind::Final) throw NestedPagingExit{};
    return NestedTranslation{gpa + OFFSET, nested_perm::READ | nested_perm::EXEC};
  }
};

struct HookMachine {
  CpuModel model = parse_cpu_option("intel");
  Memory mem{64 << 20};
  Cpu cpu{mem, model};
  Shifted second;
  HookMachine() {
    cpu.s = setup_flat(mem, test::assemble_nasm("hlt\n"), FLAT_DEFAULT_LOAD, FlatMode::Long64);
    cpu.update_mode();
    cpu.refresh_tlb_space();
    // The guest's page tables and a data page, where the second level puts them.
    std::memcpy(mem.ram() + Shifted::OFFSET + 0x1000, mem.ram() + 0x1000, 0x6000);
    mem.ram()[Shifted::OFFSET + 0x200123] = 0x5a;
    cpu.nested_paging = &second;
  }
};
}  // namespace

TEST_CASE("Nested paging hook: the guest walk and the final access go through the second level") {
  HookMachine m;
  const TlbEntry& e = m.cpu.translate(0x200123, Acc::Read, false);
  CHECK(e.phys == Shifted::OFFSET + 0x200000);
  CHECK(m.cpu.read_lin(0x200123, 1, Acc::Read, false) == 0x5a);
  // PML4E, PDPTE, PDE reads (guest walk, with the linear address), then
  // any accessed-flag writes, then the final access.
  REQUIRE(m.second.calls.size() >= 4);
  CHECK(m.second.calls[0].kind == NestedKind::GuestWalk);
  CHECK(m.second.calls[0].gpa == 0x1000);
  CHECK(m.second.calls[0].lin == 0x200123);
  CHECK(m.second.calls[1].gpa == 0x2000);
  CHECK(m.second.calls[2].gpa == 0x3000 + 8);
  CHECK(m.second.calls.back().kind == NestedKind::Final);
  CHECK(m.second.calls.back().gpa == 0x200123);
}

TEST_CASE("Nested paging hook: cached permissions are the intersection; a refused write unwinds") {
  HookMachine m;
  m.cpu.translate(0x200123, Acc::Read, false);
  m.second.calls.clear();
  // A read hits the TLB: the second level is not asked again.
  m.cpu.translate(0x200123, Acc::Read, false);
  CHECK(m.second.calls.empty());
  // The cached entry has no write permission (the second level gave none):
  // a write refills (the walk sets the guest PDE's dirty flag through the
  // second level) and the second level refuses the final write.
  CHECK_THROWS_AS(m.cpu.translate(0x200123, Acc::Write, false), NestedPagingExit);
  REQUIRE_FALSE(m.second.calls.empty());
  CHECK(m.second.calls.back().kind == NestedKind::Final);
  CHECK(m.second.calls.back().acc == Acc::Write);
  CHECK(m.second.calls.back().gpa == 0x200123);
  // Without the hook the same linear address is the unshifted page again
  // (after a flush: the cached combined translation belongs to guest mode).
  m.cpu.nested_paging = nullptr;
  m.cpu.flush_tlb();
  CHECK(m.cpu.translate(0x200123, Acc::Read, false).phys == 0x200000);
}

TEST_CASE("Nested paging hook: PAE PDPTE loads have no linear address") {
  HookMachine m;
  m.second.calls.clear();
  load_pae_pdptes(m.cpu, 0x8000);  // a zeroed table: no PDPTE present
  REQUIRE(m.second.calls.size() == 4);
  for (unsigned i = 0; i < 4; ++i) {
    CHECK(m.second.calls[i].kind == NestedKind::NoLinear);
    CHECK(m.second.calls[i].acc == Acc::Read);
    CHECK(m.second.calls[i].gpa == 0x8000 + 8 * i);
  }
  // The flat runner's PML4 read as PDPTEs: bit 1 (R/W) is reserved there.
  m.mem.ram()[Shifted::OFFSET + 0x9000] = 0x03;
  CHECK_THROWS_AS(load_pae_pdptes(m.cpu, 0x9000), GuestException);
}

// ---- EPTP (SDM 28.2.1.1 "EPT pointer", 25.6.11) -------------------------------------------

TEST_CASE("EPTP validity: memory type, walk length, A/D, reserved bits, MAXPHYADDR") {
  CHECK(eptp_valid(0x1000 | 0x1e, kCaps, MAXPHY));          // WB, 4 levels
  CHECK(eptp_valid(0x1000 | 0x18, kCaps, MAXPHY));          // UC
  CHECK(eptp_valid(0x1000 | 0x5e, kCaps, MAXPHY));          // A/D enabled
  CHECK_FALSE(eptp_valid(0x1000 | 0x19, kCaps, MAXPHY));    // memory type 1
  CHECK_FALSE(eptp_valid(0x1000 | 0x1f, kCaps, MAXPHY));    // memory type 7
  CHECK_FALSE(eptp_valid(0x1000 | 0x16, kCaps, MAXPHY));    // walk length 3 (bits 5:3 = 2)
  CHECK_FALSE(eptp_valid(0x1000 | 0x26, kCaps, MAXPHY));    // 5-level: not offered
  CHECK(eptp_valid(0x1000 | 0x26, kCaps | (1ull << 7), MAXPHY));
  CHECK_FALSE(eptp_valid(0x1000 | 0x5e, kCaps & ~(1ull << 21), MAXPHY));  // A/D without the capability
  CHECK_FALSE(eptp_valid(0x1000 | 0x1e, kCaps & ~(1ull << 14), MAXPHY));  // WB without the capability
  CHECK_FALSE(eptp_valid(0x1000 | 0x9e, kCaps, MAXPHY));    // bit 7 reserved
  CHECK_FALSE(eptp_valid(0x1000 | 0x81e, kCaps, MAXPHY));   // bit 11 reserved
  CHECK_FALSE(eptp_valid((1ull << 40) | 0x1e, kCaps, MAXPHY));  // beyond MAXPHYADDR
  CHECK(ep4ta_of(0xabcde05e) == 0xabcde000);
}

// ---- the walk (SDM 29.3.2) -------------------------------------------------------------------

TEST_CASE("EPT walk: 4-KiB translation, memory type and ignore-PAT kept, permissions ANDed") {
  EptFixture f;
  EptWalkResult r = f.walk(0x5123);
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK(r.hpa == 0x105123);
  CHECK(r.page_shift == 12);
  CHECK(r.memory_type == 6);
  CHECK_FALSE(r.ignore_pat);
  CHECK(r.rwx == 7);
  f.set(PT + 5 * 8, 0x105000 | 0x60 | 1);  // read-only, WT (4 << 3), ignore PAT (bit 6)
  r = f.walk(0x5000);
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK(r.memory_type == 4);
  CHECK(r.ignore_pat);
  CHECK(r.rwx == 1);
  f.set(PDPT, PD | 5);  // the PDPTE lacks W: no write anywhere below it
  r = f.walk(0x6000, true);
  CHECK(r.outcome == EptWalkResult::Violation);
  CHECK(r.rwx == 5);
  CHECK(r.level == 1);
}

TEST_CASE("EPT walk: violations for not-present entries and missing R/W/X") {
  EptFixture f;
  f.set(PT + 7 * 8, 0);
  EptWalkResult r = f.walk(0x7000);
  CHECK(r.outcome == EptWalkResult::Violation);
  CHECK(r.level == 1);
  CHECK(r.rwx == 0);
  f.set(PML4, 0);
  r = f.walk(0x1000);
  CHECK(r.outcome == EptWalkResult::Violation);
  CHECK(r.level == 4);
  EptFixture g;
  g.set(PT + 8, 0x101000 | 0x30 | 4);  // execute-only
  CHECK(g.walk(0x1000, false, true).outcome == EptWalkResult::Ok);
  CHECK(g.walk(0x1000).outcome == EptWalkResult::Violation);
  CHECK(g.walk(0x1000, true).outcome == EptWalkResult::Violation);
  g.set(PT + 16, 0x102000 | 0x30 | 3);  // read/write, no execute
  CHECK(g.walk(0x2000, false, true).outcome == EptWalkResult::Violation);
  CHECK(g.walk(0x2000, true).outcome == EptWalkResult::Ok);
}

TEST_CASE("EPT walk: 2-MiB and 1-GiB pages") {
  EptFixture f;
  f.set(PD + 8, 0x600000 | 0x80 | LEAF_WB);  // gpa 2-4 MiB -> 6 MiB
  EptWalkResult r = f.walk(0x256789);
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK(r.page_shift == 21);
  CHECK(r.hpa == 0x656789);
  f.set(PDPT + 8, 0x80000000ull | 0x80 | LEAF_WB);  // gpa 1-2 GiB -> 2 GiB
  r = f.walk(0x4a345678);
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK(r.page_shift == 30);
  CHECK(r.hpa == 0x8a345678);
  // Without the capabilities, bit 7 is a misconfiguration (SDM 29.3.3.1).
  CHECK(f.walk(0x4a345678, false, false, EPTP, kCaps & ~(1ull << 17)).outcome == EptWalkResult::Misconfig);
  CHECK(f.walk(0x200000, false, false, EPTP, kCaps & ~(1ull << 16)).outcome == EptWalkResult::Misconfig);
}

TEST_CASE("EPT misconfigurations, rule by rule (SDM 29.3.3.1)") {
  struct Case {
    const char* what;
    uint64_t addr, value;
    bool misconfig;
  };
  const Case cases[] = {
      {"write without read (010b)", PT + 8, 0x101000 | 0x30 | 2, true},
      {"write/execute without read (110b)", PT + 8, 0x101000 | 0x30 | 6, true},
      {"read/execute (101b) is fine", PT + 8, 0x101000 | 0x30 | 5, false},
      {"leaf memory type 2", PT + 8, 0x101000 | 0x10 | 7, true},
      {"leaf memory type 3", PT + 8, 0x101000 | 0x18 | 7, true},
      {"leaf memory type 7", PT + 8, 0x101000 | 0x38 | 7, true},
      {"leaf memory type 0 (UC)", PT + 8, 0x101000 | 7, false},
      {"leaf memory type 5 (WP)", PT + 8, 0x101000 | 0x28 | 7, false},
      {"PTE bit 45 (above MAXPHYADDR 40)", PT + 8, (1ull << 45) | 0x101000 | LEAF_WB, true},
      {"PTE bit 52 ignored", PT + 8, (1ull << 52) | 0x101000 | LEAF_WB, false},
      {"PML4E bit 3", PML4, PDPT | 8 | 7, true},
      {"PML4E bit 7", PML4, PDPT | 0x80 | 7, true},
      {"PDPTE (non-leaf) bit 4", PDPT, PD | 0x10 | 7, true},
      {"PDE (non-leaf) bit 6", PD, PT | 0x40 | 7, true},
      {"PDE (non-leaf) bit 8 (accessed) is fine", PD, PT | 0x100 | 7, false},
      {"PDE bit 45", PD, (1ull << 45) | PT | 7, true},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    EptFixture f;
    f.set(c.addr, c.value);
    const EptWalkResult r = f.walk(0x1000);
    CHECK((r.outcome == EptWalkResult::Misconfig) == c.misconfig);
  }
  // Execute-only without the capability (EPT_VPID_CAP bit 0).
  EptFixture f;
  f.set(PT + 8, 0x101000 | 0x30 | 4);
  CHECK(f.walk(0x1000, false, true, EPTP, kCaps & ~1ull).outcome == EptWalkResult::Misconfig);
  // Reserved bits of large pages: 2-MiB bits 20:12, 1-GiB bits 29:12.
  f.set(PD + 8, 0x600000 | 0x1000 | 0x80 | LEAF_WB);
  CHECK(f.walk(0x200000).outcome == EptWalkResult::Misconfig);
  f.set(PDPT + 8, 0x80000000ull | 0x10000000 | 0x80 | LEAF_WB);
  CHECK(f.walk(0x40000000).outcome == EptWalkResult::Misconfig);
  // A not-present entry is a violation even with other bits set (bits 2:0 = 0).
  f.set(PT + 16, 0x102000 | 0x38);
  CHECK(f.walk(0x2000).outcome == EptWalkResult::Violation);
}

TEST_CASE("EPT accessed and dirty flags (EPTP bit 6; SDM 29.3.5)") {
  EptFixture f;
  // Without EPTP[6] nothing is written.
  REQUIRE(f.walk(0x3000, true).outcome == EptWalkResult::Ok);
  CHECK((f.entry(PT + 3 * 8) & 0x300) == 0);
  CHECK((f.entry(PML4) & 0x100) == 0);
  // A read sets the accessed flag of every entry used, not the dirty flag.
  EptWalkResult r = f.walk(0x4000, false, false, EPTP | 0x40);
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK((f.entry(PML4) & 0x100) != 0);
  CHECK((f.entry(PDPT) & 0x100) != 0);
  CHECK((f.entry(PD) & 0x100) != 0);
  CHECK((f.entry(PT + 4 * 8) & 0x300) == 0x100);
  CHECK_FALSE(r.dirty);
  // A write sets the leaf's dirty flag.
  r = f.walk(0x4000, true, false, EPTP | 0x40);
  CHECK((f.entry(PT + 4 * 8) & 0x300) == 0x300);
  CHECK(r.dirty);
  // A failing walk sets nothing (docs/decisions.md: faulting walks change no entry).
  f.set(PT + 5 * 8, 0x105000 | 0x30 | 1);
  CHECK(f.walk(0x5000, true, false, EPTP | 0x40).outcome == EptWalkResult::Violation);
  CHECK((f.entry(PT + 5 * 8) & 0x300) == 0);
}

TEST_CASE("EPT walk with 5 levels when the EPTP asks for it") {
  EptFixture f;
  constexpr uint64_t PML5 = 0x14000;
  f.set(PML5, PML4 | 7);
  const EptWalkResult r = f.walk(0x5123, false, false, PML5 | 0x26, kCaps | (1ull << 7));
  REQUIRE(r.outcome == EptWalkResult::Ok);
  CHECK(r.hpa == 0x105123);
}

// ---- capabilities ------------------------------------------------------------------------------

TEST_CASE("IA32_VMX_EPT_VPID_CAP and IA32_VMX_VMFUNC: what softvt implements, narrowable") {
  const CpuModel m = parse_cpu_option("intel");
  uint64_t v = 0;
  REQUIRE(read_vmx_capability_msr(m, msr::EPT_VPID_CAP, v));
  // Execute-only, 4-level walks, UC/WB, 2-MiB/1-GiB pages, INVEPT (single,
  // all), A/D flags; INVVPID with its four types. No 5-level walk, no
  // advanced EPT-violation information (bit 22).
  CHECK(v == 0x00000f0106334141ull);
  REQUIRE(read_vmx_capability_msr(m, msr::VMFUNC, v));
  CHECK(v == 1);
  const CpuModel no_ad = parse_cpu_option("intel,-vmx-eptad");
  REQUIRE(read_vmx_capability_msr(no_ad, msr::EPT_VPID_CAP, v));
  CHECK(((v >> 21) & 1) == 0);
  const CpuModel no_ept = parse_cpu_option("intel,-vmx-ept");
  REQUIRE(read_vmx_capability_msr(no_ept, msr::EPT_VPID_CAP, v));  // VPID remains
  CHECK(uint32_t(v) == 0);
  CHECK(((no_ept.vmx.proc2.allowed1 >> 7) & 1) == 0);  // no unrestricted guest without EPT
  const CpuModel no_vpid = parse_cpu_option("intel,-vmx-vpid");
  REQUIRE(read_vmx_capability_msr(no_vpid, msr::EPT_VPID_CAP, v));
  CHECK((v >> 32) == 0);
}

// ---- instruction checks without a VMCS / outside VMX non-root operation ----------------------

TEST_CASE("INVEPT and INVVPID without a current VMCS: VMfailInvalid") {
  const CliResult r = run_flat(std::string(kVmxOn) +
                               "mov qword [0x90010], 0x10001e\n mov qword [0x90018], 0\n"
                               "mov ecx, 1\n invept rcx, [0x90010]\n pushfq\n pop rbx\n"
                               "mov ecx, 3\n invept rcx, [0x90010]\n pushfq\n pop rcx\n"
                               "mov qword [0x90010], 0\n mov eax, 1\n invvpid rax, [0x90010]\n pushfq\n pop rdx\n hlt\n");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(json_exit(r.out) == "hlt");
  CHECK((json_value(r.out, "rbx") & 0x8d5) == 0);  // a valid single-context INVEPT succeeds
  CHECK((json_value(r.out, "rcx") & 0x8d5) == 1);  // type 3: VMfail without a VMCS = VMfailInvalid (CF)
  CHECK((json_value(r.out, "rdx") & 0x8d5) == 1);  // VPID 0
}

TEST_CASE("INVEPT, INVVPID and VMFUNC: #UD where the SDM says") {
  // VMFUNC outside VMX non-root operation: #UD (no IDT: shutdown).
  CliResult r = run_flat(std::string(kVmxOn) + "xor eax, eax\n xor ecx, ecx\n vmfunc\n hlt\n");
  INFO(r.out << r.err);
  CHECK(json_exit(r.out) == "shutdown");
  // Before VMXON: #UD.
  r = run_flat("mov ecx, 2\n invept rcx, [0x90010]\n hlt\n");
  CHECK(json_exit(r.out) == "shutdown");
  // A model without EPT / without VPID: #UD in VMX operation too.
  r = run_flat(std::string(kVmxOn) + "mov ecx, 2\n invept rcx, [0x90010]\n hlt\n", "intel,-vmx-ept");
  CHECK(json_exit(r.out) == "shutdown");
  r = run_flat(std::string(kVmxOn) + "mov ecx, 2\n invvpid rcx, [0x90010]\n hlt\n", "intel,-vmx-vpid");
  CHECK(json_exit(r.out) == "shutdown");
  // The same instructions on the full model: VMfailInvalid, no fault.
  r = run_flat(std::string(kVmxOn) + "mov ecx, 2\n invept rcx, [0x90010]\n mov ecx, 2\n invvpid rcx, [0x90010]\n hlt\n");
  CHECK(json_exit(r.out) == "hlt");
}

// ---- the L1 test kernel ----------------------------------------------------------------------

TEST_CASE("L1 test kernel: EPT violations and misconfigurations, A/D flags, INVEPT/INVVPID, VPIDs, VMFUNC, "
          "a real-mode L2") {
  const std::string bin = env_path("SOFTVT_GUEST_DIR") + "/vmx_ept_long64.bin";
  const CliResult r = shell(env_path("SOFTVT") + " run --flat " + bin + " --debugcon stdio --dump-state " +
                            test::flat_tmp_path("state.json"));
  const std::string json = slurp(test::flat_tmp_path("state.json"));
  std::remove(test::flat_tmp_path("state.json").c_str());
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("vmx_ept: done") != std::string::npos);
  CHECK(json_exit(json) == "hlt");
  CHECK(json_value(json, "rax") == 0);    // failed checks
  CHECK(json_value(json, "rbx") == 203);  // passed checks: all of them ran
}
