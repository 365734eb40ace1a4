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

// ---- paging outcomes against the SDM, in every paging mode -----------------
// KVM runs only the 4-level cases here; this statement of SDM 4.3-4.8,
// written independently of emu/paging.cpp, checks the interpreter on the
// 32-bit and PAE cases too: for cases with a single access (not the
// implicit one), the vector, error code, CR2 and the accessed/dirty flags.
namespace {

uint64_t mem_at(const SysCase& c, const SysRun& r, uint64_t addr, unsigned size) {
  for (size_t i = 0; i < c.compared.size(); ++i) {
    const auto& [base, len] = c.compared[i];
    if (addr >= base && addr + size <= base + len) {
      uint64_t v = 0;
      std::memcpy(&v, r.memory[i].data() + (addr - base), size);
      return v;
    }
  }
  FAIL("address not compared");
  return 0;
}

struct Expected {
  int vector = -1;  // -1: no fault
  uint32_t error = 0;
  uint64_t cr2 = 0;
};

constexpr uint64_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, XD = 1ull << 63;
constexpr uint64_t kHighReserved = 0x000fff0000000000ull;  // bits 51:40 (MAXPHYADDR 40)

// Reserved bits of a present entry at `level` (1 = PTE) in `pm`, SDM Tables
// 4-4..4-6 (32-bit, PSE-36 with MAXPHYADDR 40), 4-8..4-11 (PAE), 4-14..4-19
// (4-level, no 1-GiB pages).
uint64_t reserved(PagingMode pm, int level, uint64_t e, bool pse, bool nxe) {
  if (pm == PagingMode::Bits32) return level == 2 && (e & PS) && pse ? (1u << 21) : 0;
  uint64_t r = kHighReserved | (nxe ? 0 : XD);
  if (pm == PagingMode::Level4 && level >= 3) r |= PS;
  if (level == 2 && (e & PS)) r |= 0x1fe000;  // 2-MiB page: bits 20:13
  return r;
}

Expected expected_single_access(const SysCase& c, bool& leaf_dirty_expected) {
  const CpuState& s = c.init;
  const bool cpl3 = has(c.summary, "cpl3"), ac = has(c.summary, " ac");
  const auto [kind, size] = c.accesses[0];
  const bool write = kind == 'w' || kind == 'm', fetch = kind == 'f';
  const uint64_t lin = c.target + (write ? 16 : 0);
  const bool nxe = (s.efer & efer::NXE) && c.paging != PagingMode::Bits32;
  const bool pse = s.cr4 & cr4::PSE;
  const uint32_t w = write ? 2 : 0, u = cpl3 ? 4 : 0;
  const uint32_t id = fetch && (nxe || (s.cr4 & cr4::SMEP)) ? 0x10 : 0;
  Expected x;
  x.cr2 = lin;
  leaf_dirty_expected = false;
  // #AC (SDM 6.15) before the translation (see emu/mmu.cpp).
  if (cpl3 && (s.cr0 & cr0::AM) && ac && !fetch && size > 1 && (lin % size)) {
    x.vector = 17, x.cr2 = s.cr2;  // CR2 is written only by #PF
    return x;
  }
  const int levels = int(c.target_path.size());
  bool all_w = true, all_u = true, any_xd = false;
  int level = c.paging == PagingMode::Bits32 ? 2 : c.paging == PagingMode::Pae ? 3 : 4;
  for (int i = 0; i < levels; ++i, --level) {
    const uint64_t e = c.target_path[size_t(i)].second;
    const bool pae_pdpte = c.paging == PagingMode::Pae && level == 3;
    if (!(e & P)) {
      x.vector = 14, x.error = w | u | id;
      return x;
    }
    if (!pae_pdpte && (e & reserved(c.paging, level, e, pse, nxe))) {
      x.vector = 14, x.error = 1 | 8 | w | u | id;
      return x;
    }
    if (pae_pdpte) continue;
    all_w &= (e & RW) != 0;
    all_u &= (e & US) != 0;
    any_xd |= nxe && (e & XD);
  }
  // SDM 4.6: access rights.
  const bool deny = (cpl3 && !all_u) || (write && !all_w && (cpl3 || (s.cr0 & cr0::WP))) ||
                    (fetch && any_xd) || (fetch && !cpl3 && all_u && (s.cr4 & cr4::SMEP)) ||
                    (!fetch && !cpl3 && all_u && (s.cr4 & cr4::SMAP) && !ac);
  if (deny) {
    x.vector = 14, x.error = 1 | w | u | id;
    return x;
  }
  leaf_dirty_expected = write;
  // Success: at CPL 3 the HLT that follows is #GP(0).
  if (cpl3) x.vector = 13, x.cr2 = s.cr2;
  return x;
}

}  // namespace

TEST_CASE("system cases: single accesses follow SDM 4.6-4.8 in 32-bit, PAE and 4-level paging") {
  std::map<std::string, int> checked;
  int faults = 0, successes = 0;
  for (uint64_t seed = 0; seed < 6000; ++seed) {
    const SysCase c = build_sys_case(SysFamily::Paging, seed);
    if (c.accesses.size() != 1 || c.accesses[0].first == 'i') continue;
    bool dirty = false;
    const Expected x = expected_single_access(c, dirty);
    const SysRun r = interp(c);
    INFO(c.summary);
    REQUIRE(r.end == SysRun::End::Hlt);
    const uint32_t m = result_marker(c, r);
    if (x.vector < 0) {
      CHECK(m == 0);
    } else {
      CHECK(m == 0x100 + uint32_t(x.vector));
      CHECK(r.state.cr2 == x.cr2);
      // The stub halts with RSP at the error code (vectors 13, 14, 17).
      const unsigned slot = c.init.mode == Mode::Long64 ? 8 : 4;
      CHECK(mem_at(c, r, r.state.gpr[RSP] & 0xffffffffffffull, slot) == x.error);
    }
    // Accessed flags on every entry of a translation that was used,
    // dirty on the leaf of a write (SDM 4.8); none for a faulting walk
    // (the interpreter's choice, as KVM's walker: Intel sets them only
    // after a successful walk).
    const bool used = x.vector < 0 || x.vector == 13;
    const bool wide = c.paging != PagingMode::Bits32;
    for (size_t i = 0; i < c.target_path.size(); ++i) {
      const auto& [addr, v] = c.target_path[i];
      const uint64_t now = mem_at(c, r, addr, wide ? 8 : 4);
      const bool pae_pdpte = c.paging == PagingMode::Pae && i == 0;
      const bool leaf = i + 1 == c.target_path.size();
      uint64_t want = v;
      if (used && !pae_pdpte) want |= A;
      if (used && leaf && dirty) want |= D;
      CHECK(now == want);
    }
    ++checked[c.kind];
    ++(x.vector == 14 || x.vector == 17 ? faults : successes);
  }
  for (const char* k : {"32-bit", "PAE", "4-level"}) CHECK(checked[k] > 50);
  CHECK(faults > 100);
  CHECK(successes > 30);
}
