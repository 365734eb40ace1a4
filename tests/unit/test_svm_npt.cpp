// SVM nested paging (svm/npt.cpp; AMD APM Vol. 2 15.25): the nested walk
// on hand-built long-mode tables (page sizes, U/S, R/W, NX, reserved bits,
// accessed/dirty bits, the error-code bits of a failure), G_PAT's validity
// rule, and the L1 test kernel tests/guest/svm_npt_long64.asm, which runs
// an L2 with its own paging through nested tables and checks every NPF
// exit, the A/D bits, EXITINTINFO, INVLPGA/TLB_CONTROL, G_PAT and the
// VMRUN checks of nested paging.
#include <catch.hpp>

#include "tests/unit/flat_run_support.h"

#include <cstdio>
#include <string>

#include "emu/memory.h"
#include "svm/npt.h"

using namespace softvt;
using namespace softvt::svm;

namespace {

constexpr uint64_t PML4 = 0x100000, PDPT = 0x101000, PD = 0x102000, PT = 0x103000;
constexpr uint64_t P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80, NX = 1ull << 63;

// Nested tables: gPA 0-1G through PD (2-Mbyte pages, PD[1] -> PT with
// 4-Kbyte pages), gPA 1G-2G a 1-Gbyte page at 40000000H's frame 80000000H.
struct Tables {
  Memory mem{8 << 20};
  Tables() {
    mem.write_phys(PML4, 8, PDPT | P | W | U);
    mem.write_phys(PDPT, 8, PD | P | W | U);
    mem.write_phys(PDPT + 8, 8, 0x80000000 | PS | P | W | U);
    mem.write_phys(PD, 8, 0x600000 | PS | P | W | U);
    mem.write_phys(PD + 8, 8, PT | P | W | U);
    mem.write_phys(PT + 5 * 8, 8, 0x345000 | P | W | U);
  }
  NptWalker walker(bool nxe = true, bool pages_1g = true) { return NptWalker{mem, PML4, 4, nxe, pages_1g, 40}; }
  uint64_t q(uint64_t pa) { return mem.read_phys(pa, 8); }
  void put(uint64_t pa, uint64_t v) { mem.write_phys(pa, 8, v); }
};

}  // namespace

TEST_CASE("NPT walk: 4-Kbyte, 2-Mbyte and 1-Gbyte pages translate guest-physical addresses", "[svm][npt]") {
  Tables t;
  NptWalkResult r = t.walker().walk(0x205123, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x345123);
  CHECK(r.page_shift == 12);
  r = t.walker().walk(0x1234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x601234);
  CHECK(r.page_shift == 21);
  r = t.walker().walk(0x40001234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x80001234);
  CHECK(r.page_shift == 30);
}

TEST_CASE("NPT walk: accessed bits on every level, dirty on the leaf for a write, none on a failure", "[svm][npt]") {
  Tables t;
  REQUIRE(t.walker().walk(0x205000, false, false).ok);
  CHECK(t.q(PML4) == (PDPT | P | W | U | A));
  CHECK(t.q(PDPT) == (PD | P | W | U | A));
  CHECK(t.q(PD + 8) == (PT | P | W | U | A));
  CHECK(t.q(PT + 5 * 8) == (0x345000 | P | W | U | A));
  NptWalkResult r = t.walker().walk(0x205000, true, false);
  REQUIRE(r.ok);
  CHECK(r.dirty);
  CHECK(t.q(PT + 5 * 8) == (0x345000 | P | W | U | A | D));
  CHECK(t.q(PD + 8) == (PT | P | W | U | A));  // no D on a non-leaf entry
  // A failing walk (W = 0 in the leaf, a write) changes nothing.
  t.put(PT + 6 * 8, 0x346000 | P | U);
  r = t.walker().walk(0x206000, true, false);
  CHECK(!r.ok);
  CHECK(t.q(PT + 6 * 8) == (0x346000 | P | U));
}

TEST_CASE("NPT walk: the error code of each failure (EXITINFO1[31:0])", "[svm][npt]") {
  Tables t;
  // Not present: P = 0; US always (every nested access is a user access).
  NptWalkResult r = t.walker().walk(0x207000, false, false);
  CHECK(!r.ok);
  CHECK(r.error == npf::US);
  r = t.walker().walk(0x207000, true, false);
  CHECK(r.error == (npf::US | npf::RW));
  // U/S = 0 anywhere: a protection fault even for a read.
  t.put(PD + 8, PT | P | W);
  r = t.walker().walk(0x205000, false, false);
  CHECK(!r.ok);
  CHECK(r.error == (npf::US | npf::P));
  t.put(PD + 8, PT | P | W | U);
  // W = 0 in a non-leaf entry: writes fault whatever CR0.WP (user access).
  t.put(PDPT, PD | P | U);
  CHECK(t.walker().walk(0x205000, false, false).ok);
  r = t.walker().walk(0x205000, true, false);
  CHECK(r.error == (npf::US | npf::RW | npf::P));
  t.put(PDPT, PD | P | W | U);
  // NX with EFER.NXE: a fetch faults, with ID.
  t.put(PT + 5 * 8, 0x345000 | P | W | U | NX);
  CHECK(t.walker().walk(0x205000, false, false).ok);
  r = t.walker().walk(0x205000, false, true);
  CHECK(r.error == (npf::US | npf::ID | npf::P));
  // Without EFER.NXE bit 63 is reserved.
  r = t.walker(false).walk(0x205000, false, false);
  CHECK(r.error == (npf::US | npf::RSV | npf::P));
}

TEST_CASE("NPT walk: reserved bits", "[svm][npt]") {
  Tables t;
  const auto error_of = [&](uint64_t gpa, bool pages_1g = true) { return t.walker(true, pages_1g).walk(gpa, false, false).error; };
  const uint64_t rsv = npf::US | npf::RSV | npf::P;
  // Bits 51:MAXPHYADDR (40).
  t.put(PT + 5 * 8, 0x345000 | P | W | U | (1ull << 40));
  CHECK(error_of(0x205000) == rsv);
  t.put(PT + 5 * 8, 0x345000 | P | W | U);
  // PS in a PML4E.
  t.put(PML4, PDPT | P | W | U | PS);
  CHECK(error_of(0x205000) == rsv);
  t.put(PML4, PDPT | P | W | U);
  // Bits 20:13 of a 2-Mbyte page, 29:13 of a 1-Gbyte page.
  t.put(PD, 0x600000 | PS | P | W | U | 0x2000);
  CHECK(error_of(0x1000) == rsv);
  t.put(PDPT + 8, 0x80000000 | PS | P | W | U | 0x10000000);
  CHECK(error_of(0x40000000) == rsv);
  // A 1-Gbyte page without CPUID Page1GB: PS is reserved in a PDPE.
  t.put(PDPT + 8, 0x80000000 | PS | P | W | U);
  CHECK(error_of(0x40000000, false) == rsv);
  CHECK(error_of(0x40000000, true) == 0);
}

TEST_CASE("G_PAT: supported types 0, 1, 4, 5, 6, 7 and reserved bits 7:3 of each field", "[svm][npt]") {
  CHECK(g_pat_valid(0x0007040600070406ull));
  CHECK(g_pat_valid(0x0706050401000706ull));
  for (unsigned field = 0; field < 8; ++field) {
    INFO("field " << field);
    CHECK(!g_pat_valid(uint64_t(2) << (8 * field)));
    CHECK(!g_pat_valid(uint64_t(3) << (8 * field)));
    CHECK(!g_pat_valid(uint64_t(0x08) << (8 * field)));
    CHECK(!g_pat_valid(uint64_t(0x80) << (8 * field)));
  }
}

TEST_CASE("L1 test kernel: an L2 with its own paging runs through nested tables (--cpu amd)", "[svm][npt]") {
  const auto [r, state] = test::run_l1_kernel("svm_npt_long64.bin", "amd");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("svm_npt: done") != std::string::npos);
  CHECK(test::json_exit(state) == "hlt");
  CHECK(test::json_value(state, "rax") == 0);    // failed checks
  CHECK(test::json_value(state, "rbx") == 109);  // passed checks: all of them ran
}

TEST_CASE("L1 test kernel on --cpu amd,-npt: CPUID reports no nested paging, nothing runs", "[svm][npt]") {
  const auto [r, state] = test::run_l1_kernel("svm_npt_long64.bin", "amd,-npt");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(test::json_value(state, "rax") == 0);
  CHECK(test::json_value(state, "rbx") == 0);
}

TEST_CASE("NPT walk, 2-level host format: 4-byte entries, 4-Mbyte pages only with the host's CR4.PSE", "[svm][npt]") {
  Memory mem{16 << 20};
  constexpr uint64_t PD2 = 0x100000, PT2 = 0x101000;
  mem.write_phys(PD2, 4, PT2 | P | W | U);                 // gPA 0-4M through PT2
  mem.write_phys(PD2 + 4, 4, 0xc00000 | PS | P | W | U);  // gPA 4M-8M: 4-Mbyte page at C00000H
  mem.write_phys(PT2 + 5 * 4, 4, 0x345000 | P | W | U);
  mem.write_phys(PT2 + 6 * 4, 4, 0x346000 | P | U);
  mem.write_phys(0xc00000 + 4, 4, 0x777000 | P | W | U);  // entry 1 if C00000H is read as a page table
  NptWalker pse{mem, PD2, 2, true, false, 40, true, true};
  NptWalker nopse{mem, PD2, 2, true, false, 40, false, true};
  NptWalkResult r = pse.walk(0x5123, true, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x345123);
  CHECK(mem.read_phys(PT2 + 5 * 4, 4) == (0x345000 | P | W | U | A | D));
  CHECK(mem.read_phys(PT2 + 6 * 4, 4) == (0x346000 | P | U));  // the 4-byte neighbour untouched
  CHECK(mem.read_phys(PD2, 4) == (PT2 | P | W | U | A));
  r = pse.walk(0x401234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0xc01234);
  CHECK(r.page_shift == 22);
  r = nopse.walk(0x401234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x777234);
  // A write to a read-only page; a fetch has no ID bit (no NX in 32-bit
  // paging, even with the host's EFER.NXE); bit 21 of a 4-Mbyte PDE.
  CHECK(pse.walk(0x6000, true, false).error == (npf::US | npf::RW | npf::P));
  CHECK(pse.walk(0x7000, false, true).error == npf::US);
  mem.write_phys(PD2 + 4, 4, 0xc00000 | PS | P | W | U | (1u << 21));
  CHECK(pse.walk(0x401234, false, false).error == (npf::US | npf::RSV | npf::P));
  // PSE-40: bits 20:13 give physical-address bits 39:32.
  mem.write_phys(PD2 + 4, 4, 0xc00000 | PS | P | W | U | (3u << 13));
  r = pse.walk(0x401234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x300c01234ull);
}

TEST_CASE("NPT walk, PAE host format: four PDPEs without A, W or U bits, PAE reserved bits", "[svm][npt]") {
  Memory mem{16 << 20};
  constexpr uint64_t PDPT3 = 0x100020, PD3 = 0x101000, PT3 = 0x102000;  // a 32-byte aligned PDPT
  mem.write_phys(PDPT3 + 3 * 8, 8, PD3 | P);
  mem.write_phys(PD3, 8, PT3 | P | W | U);
  mem.write_phys(PD3 + 8, 8, 0x600000 | PS | P | W | U);
  mem.write_phys(PT3 + 5 * 8, 8, 0x345000 | P | W | U | NX);
  NptWalker w{mem, PDPT3, 3, true, true, 40};
  NptWalkResult r = w.walk(0xc0005123, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x345123);
  CHECK(mem.read_phys(PDPT3 + 3 * 8, 8) == (PD3 | P));  // no A bit in a PDPE
  CHECK(mem.read_phys(PD3, 8) == (PT3 | P | W | U | A));
  r = w.walk(0xc0201234, false, false);
  REQUIRE(r.ok);
  CHECK(r.hpa == 0x601234);
  CHECK(r.page_shift == 21);
  CHECK(w.walk(0xc0005123, false, true).error == (npf::US | npf::ID | npf::P));
  CHECK(w.walk(0x5123, false, false).error == npf::US);  // PDPE 0 not present
  const uint64_t rsv = npf::US | npf::RSV | npf::P;
  mem.write_phys(PD3 + 8, 8, 0x600000 | PS | P | W | U | (1ull << 52));  // 62:52 reserved in PAE
  CHECK(w.walk(0xc0201234, false, false).error == rsv);
  mem.write_phys(PDPT3 + 3 * 8, 8, PD3 | P | W);  // a PDPE's bit 1 is reserved
  CHECK(w.walk(0xc0005123, false, false).error == rsv);
}

TEST_CASE("L1 test kernel: nested tables in a legacy host's 2-level and PAE formats (--cpu amd)", "[svm][npt]") {
  const auto [r, state] = test::run_l1_kernel("svm_npt_legacy_long64.bin", "amd");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("svm_npt_legacy: done") != std::string::npos);
  CHECK(test::json_exit(state) == "hlt");
  CHECK(test::json_value(state, "rax") == 0);   // failed checks
  CHECK(test::json_value(state, "rbx") == 68);  // passed checks: all of them ran
}
