// The system-scenario generator (emu/fuzz/system_cases.h) on its own:
// determinism, coverage of the families and kinds, and cases whose
// interpreter outcome follows from the SDM and the case's parameters.
#include <catch.hpp>

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include <sys/wait.h>

#include "emu/fuzz/system_asm.h"
#include "emu/fuzz/system_campaign.h"

using namespace softvt;
using namespace softvt::fuzz;

namespace {

bool same_case(const SysCase& a, const SysCase& b) {
  if (a.memory.size() != b.memory.size() || a.summary != b.summary || a.kind != b.kind) return false;
  for (size_t i = 0; i < a.memory.size(); ++i)
    if (a.memory[i].addr != b.memory[i].addr || a.memory[i].bytes != b.memory[i].bytes) return false;
  return std::memcmp(&a.init, &b.init, sizeof a.init) == 0 && a.compared == b.compared;
}

SysRun interp(const SysCase& c) { return make_sys_backend(BackendKind::Interp)(c); }

uint64_t stack_qword(const SysCase& c, const SysRun& r, uint64_t addr) {
  for (size_t i = 0; i < c.compared.size(); ++i) {
    const auto& [base, len] = c.compared[i];
    if (addr >= base && addr + 8 <= base + len) {
      uint64_t v;
      std::memcpy(&v, r.memory[i].data() + (addr - base), 8);
      return v;
    }
  }
  FAIL("address not compared");
  return 0;
}

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("system cases: the same seed gives the same machine, another seed another") {
  for (SysFamily f : {SysFamily::Paging, SysFamily::FastCall}) {
    for (uint64_t seed = 1; seed < 40; ++seed) {
      const SysCase a = build_sys_case(f, seed), b = build_sys_case(f, seed);
      CHECK(same_case(a, b));
      CHECK_FALSE(same_case(a, build_sys_case(f, seed + 1000)));
    }
  }
}

TEST_CASE("system cases: every family, paging mode and fast-call kind is generated") {
  std::set<std::string> paging, fastcall;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    paging.insert(build_sys_case(SysFamily::Paging, seed).kind);
    fastcall.insert(build_sys_case(SysFamily::FastCall, seed).kind);
  }
  CHECK(paging == std::set<std::string>{"32-bit", "PAE", "4-level"});
  CHECK(fastcall == std::set<std::string>{"syscall", "sysenter", "sysexit", "swapgs", "fsgsbase", "tsc_aux",
                                          "invpcid", "cache", "umip"});
}

TEST_CASE("system cases: the interpreter halts in every case, and a #PF reports the target in CR2") {
  // Each case ends in a HLT (the end of the code, or a stub's after a
  // fault; at CPL 3 the final HLT itself faults with #GP(0)). A #PF comes
  // from the target page: CR2 is the target, one of its bytes, or the
  // LDT descriptor the implicit access reads there, or the data slot the
  // writes use (SDM 4.7: CR2 = the faulting linear address).
  std::map<uint32_t, int> markers;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const SysCase c = build_sys_case(SysFamily::Paging, seed);
    const SysRun r = interp(c);
    INFO(c.summary);
    REQUIRE(r.end == SysRun::End::Hlt);
    const uint32_t m = result_marker(c, r);
    ++markers[m];
    if (m == 0x100 + 14) {
      CHECK(r.state.cr2 >= c.target);
      CHECK(r.state.cr2 < c.target + 24);
    }
    if (has(c.summary, "cpl3")) CHECK(m >= 0x100);  // the HLT at CPL 3 faults at the latest
  }
  CHECK(markers[0x100 + 14] > 0);
  CHECK(markers[0x100 + 13] > 0);
}

TEST_CASE("system cases: a CPL-3 #PF's error code says user and the access kind") {
  // SDM 4.7: U/S = 1 for a user-mode access (bit 2); W/R = 1 for writes
  // (bit 1); I/D for fetches with NXE or SMEP (bit 4). In long mode the
  // error code is the lowest word of the frame on the kernel stack
  // (RSP0 = 0x13000, five qwords plus the error code).
  int checked = 0;
  for (uint64_t seed = 0; seed < 600 && checked < 40; ++seed) {
    const SysCase c = build_sys_case(SysFamily::Paging, seed);
    if (c.kind != "4-level" || !has(c.summary, "cpl3")) continue;
    const SysRun r = interp(c);
    if (result_marker(c, r) != 0x100 + 14) continue;
    const uint64_t err = stack_qword(c, r, sysmap::kKernelStack + 0x1000 - 48);
    INFO(c.summary << " error " << err);
    // The implicit access (an LDT read) is a supervisor access.
    if (!has(c.summary, "implicit")) CHECK((err & 4) != 0);
    // A case whose only access is a read never faults as a write.
    if (has(c.summary, " read") && !has(c.summary, "write") && !has(c.summary, "rmw") &&
        !has(c.summary, "implicit") && !has(c.summary, "fetch"))
      CHECK((err & 0x12) == 0);
    ++checked;
  }
  CHECK(checked > 10);
}

TEST_CASE("system cases: SWAPGS exchanges GS.base and KERNEL_GS_BASE (SDM Vol. 2 SWAPGS)") {
  int checked = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    const SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind != "swapgs") continue;
    const SysRun r = interp(c);
    INFO(c.summary);
    if (has(c.summary, "cpl3")) {
      CHECK(result_marker(c, r) == 0x100 + 13);  // CPL != 0: #GP(0)
      continue;
    }
    const bool twice = has(c.summary, " x2");
    CHECK(r.state.seg[GS].base == (twice ? c.init.seg[GS].base : c.init.kernel_gs_base));
    CHECK(r.state.kernel_gs_base == (twice ? c.init.kernel_gs_base : c.init.seg[GS].base));
    ++checked;
  }
  CHECK(checked > 5);
}

TEST_CASE("system cases: UMIP makes SGDT/SIDT/SLDT/STR/SMSW #GP(0) at CPL 3 only (SDM 2.5)") {
  int faulted = 0, ran = 0;
  for (uint64_t seed = 0; seed < 600; ++seed) {
    const SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind != "umip") continue;
    const SysRun r = interp(c);
    const uint32_t m = result_marker(c, r);
    INFO(c.summary);
    if (has(c.summary, "cpl3") && has(c.summary, "umip=1")) {
      CHECK(m == 0x100 + 13);
      CHECK(r.state.rip == sysmap::kStubs + 13 * sysmap::kStubSize + (c.init.mode == Mode::Long64 ? 12 : 11));
      ++faulted;
    } else if (has(c.summary, "cpl0")) {
      CHECK(m == 0);
      ++ran;
    }
  }
  CHECK(faulted > 3);
  CHECK(ran > 3);
}

TEST_CASE("system cases: SYSCALL with EFER.SCE = 0 is #UD; otherwise RCX/R11 hold the return (SDM Vol. 2 SYSCALL)") {
  int ud = 0, ok = 0;
  for (uint64_t seed = 0; seed < 600; ++seed) {
    const SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind != "syscall") continue;
    const SysRun r = interp(c);
    const uint32_t m = result_marker(c, r);
    INFO(c.summary);
    // Intel: #UD outside 64-bit mode too (compatibility-mode user code).
    if (!(c.init.efer & efer::SCE) || has(c.summary, "cpl3-compat")) {
      CHECK(m == 0x100 + 6);
      ++ud;
      continue;
    }
    CHECK(m == 0);
    CHECK(r.state.rip == c.init.lstar + 1);  // after the HLT of the sled
    CHECK((r.state.rflags & c.init.sfmask & ~uint64_t(2)) == 0);
    CHECK(r.state.seg[CS].sel == ((c.init.star >> 32) & 0xfffc));
    CHECK(r.state.seg[SS].sel == uint16_t((c.init.star >> 32) + 8));  // RPL bits kept
    CHECK(r.state.cpl == 0);
    ++ok;
  }
  CHECK(ud > 3);
  CHECK(ok > 3);
}

TEST_CASE("system cases: the code emitter encodes at its address and rejects nonsense") {
  Asm a(FlatMode::Long64, 0x10000);
  a.mov_imm(ZYDIS_REGISTER_EAX, 0xfffffff0u);  // an unsigned 32-bit value
  a.hlt();
  CHECK(a.bytes() == Bytes{0xb8, 0xf0, 0xff, 0xff, 0xff, 0xf4});
  CHECK(a.here() == 0x10006);
  CHECK_THROWS(a.op(ZYDIS_MNEMONIC_MOV, {reg_operand(ZYDIS_REGISTER_CR0), imm_operand(1)}));
}

// The kinds whose KVM comparison is limited by what this host's KVM lacks
// (system_cases.h kFeaturesKvmLacks, the fsgsbase and syscall exclusions)
// are checked here on the interpreter alone.
namespace {

SysCase first_case(const char* kind, const char* with = "") {
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind == kind && has(c.summary, with)) return c;
  }
  FAIL("no case of kind " << kind);
  return {};
}

}  // namespace

TEST_CASE("system cases: RD/WR FS/GS BASE are #UD with CR4.FSGSBASE = 0 (SDM Vol. 2 RDFSBASE)") {
  for (const char* cpl : {"cpl0", "cpl3"}) {
    SysCase c = first_case("fsgsbase", cpl);
    const SysRun with = interp(c);
    INFO(c.summary);
    CHECK(result_marker(c, with) != 0x100 + 6);
    c.init.cr4 &= ~cr4::FSGSBASE;
    CHECK(result_marker(c, interp(c)) == 0x100 + 6);
  }
}

TEST_CASE("system cases: without RDTSCP/RDPID, IA32_TSC_AUX does not exist; with them it round-trips") {
  // sys_model() (KVM's view): WRMSR to TSC_AUX is #GP(0) (SDM Vol. 4:
  // the MSR exists if RDTSCP or RDPID is enumerated).
  const SysCase c = first_case("tsc_aux", "rdpid");
  CHECK(result_marker(c, interp(c)) == 0x100 + 13);
  // The default model has both: the value written comes back from RDMSR
  // (result +8/+12) and RDPID (RCX), unless bits 63:32 are set (#GP(0):
  // TSC_AUX is 32 bits wide on this model, SDM Vol. 4 Table 2-2).
  int checked = 0;
  for (uint64_t seed = 0; seed < 3000 && checked < 8; ++seed) {
    const SysCase t = build_sys_case(SysFamily::FastCall, seed);
    if (t.kind != "tsc_aux" || !has(t.summary, "rdpid")) continue;
    const SysRun r = make_sys_backend(BackendKind::Interp, &default_cpu_model())(t);
    const uint64_t v = std::strtoull(t.summary.substr(t.summary.find("value=") + 6).c_str(), nullptr, 16);
    INFO(t.summary);
    if (v >> 32) {
      CHECK(result_marker(t, r) == 0x100 + 13);
    } else {
      CHECK(result_marker(t, r) == 0);
      CHECK(r.state.gpr[RCX] == v);
      CHECK(stack_qword(t, r, sysmap::kResult + 8) == v);
    }
    ++checked;
  }
  CHECK(checked == 8);
}

TEST_CASE("system cases: INVPCID is #UD without the feature, #GP(0) at CPL 3 or with type > 3 (SDM Vol. 2 INVPCID)") {
  int checked = 0;
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    const SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind != "invpcid") continue;
    INFO(c.summary);
    CHECK(result_marker(c, interp(c)) == 0x100 + 6);
    const SysRun r = make_sys_backend(BackendKind::Interp, &default_cpu_model())(c);
    const uint64_t type = std::strtoull(c.summary.substr(c.summary.find("type=") + 5).c_str(), nullptr, 16);
    if (has(c.summary, "cpl3") || type > 3) {
      CHECK(result_marker(c, r) == 0x100 + 13);
      ++checked;
    }
  }
  CHECK(checked > 5);
}

TEST_CASE("system cases: INVPCID's #GP(0) rules with the feature present (SDM Vol. 2 INVPCID)") {
  // #GP(0) at CPL > 0, for a type above 3, a descriptor with bits 63:12
  // set, a non-canonical address with type 0, and a PCID other than 0 for
  // types 0 and 1 while CR4.PCIDE = 0; otherwise no fault.
  int faults = 0, clean = 0;
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    const SysCase c = build_sys_case(SysFamily::FastCall, seed);
    if (c.kind != "invpcid") continue;
    auto field = [&](const char* name) {
      return std::strtoull(c.summary.substr(c.summary.find(name) + std::strlen(name)).c_str(), nullptr, 16);
    };
    const uint64_t type = field("type="), pcid = field("pcid="), addr = field("addr=");
    const bool pcide = (c.init.cr4 & cr4::PCIDE) != 0;
    const bool canonical = uint64_t(int64_t(addr << 16) >> 16) == addr;
    const bool gp = has(c.summary, "cpl3") || type > 3 || (pcid >> 12) != 0 || (type == 0 && !canonical) ||
                    (!pcide && type <= 1 && (pcid & 0xfff) != 0);
    const SysRun r = make_sys_backend(BackendKind::Interp, &default_cpu_model())(c);
    INFO(c.summary);
    CHECK(result_marker(c, r) == (gp ? 0x100 + 13 : 0));
    ++(gp ? faults : clean);
  }
  CHECK(faults > 10);
  CHECK(clean > 3);
}

namespace {

int softvt_status(const std::string& args) {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  const int raw = std::system((std::string(exe) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

}  // namespace

TEST_CASE("softvt fuzz --suite system: options and exit statuses") {
  // The interpreter against itself agrees on every case (exit 0); the
  // instruction suite's options and the CPL-3 oracles are refused (2).
  CHECK(softvt_status("fuzz --suite system --a interp --b interp --count 40") == 0);
  CHECK(softvt_status("fuzz --suite system --a interp --b interp --family paging --count 5") == 0);
  CHECK(softvt_status("fuzz --suite system --b native") == 2);
  CHECK(softvt_status("fuzz --suite system --b interp --mode long64") == 2);
  CHECK(softvt_status("fuzz --suite system --b interp --family nosuch") == 2);
  CHECK(softvt_status("fuzz --suite nosuch --b interp") == 2);
  CHECK(softvt_status("fuzz --b interp --family paging") == 2);
}
