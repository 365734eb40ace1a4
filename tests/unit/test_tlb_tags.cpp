// The software TLB's address-space tags against SDM 4.10 (emu/tlb.cpp):
// translations of other PCIDs survive MOV CR3 and are never used for the
// current one, CR3 bit 63 keeps the new PCID's translations, global
// translations serve every PCID, and INVLPG, INVPCID (types 0-3) and CR4
// writes invalidate exactly what SDM 4.10.4.1 says.
//
// A TLB is observed the way software observes one: a paging-structure
// entry is changed in memory without invalidation, and a later access
// shows whether the old translation was still cached (the "stale" value)
// or the tables were walked again (the "fresh" value). Whatever the SDM
// requires to be invalidated must read fresh; what softvt keeps (SDM
// 4.10.2 allows any translation to be kept until invalidated) reads stale.
#include <catch.hpp>

#include <cstring>
#include <string>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

// Two address spaces over the flat runner's identity map (2-MiB pages):
// A = the runner's tables (CR3 0x1000, page directory 0x3000), B = a copy
// (PML4 0x80000 -> PDPT 0x81000 -> page directory 0x82000).
constexpr uint64_t PD_A = 0x3000, PD_B = 0x82000;
constexpr uint64_t CR3_A = 0x1000, CR3_B = 0x80000;
// Distinct bytes at the starts of 2-MiB physical pages.
constexpr uint8_t AT_2M = 0x11, AT_4M = 0x22, AT_6M = 0x33, AT_8M = 0x44;

struct TlbMachine {
  CpuModel model = parse_cpu_option("intel");  // PCID, INVPCID, PGE
  Memory mem{64 << 20};
  Cpu cpu{mem, model};
  BlockCache blocks{model};

  // Runs `body` as a 64-bit flat image ending in HLT; the result bytes it
  // leaves in R8..R11 are returned through reg().
  void run(const std::string& body) {
    const auto image = test::assemble_nasm("bits 64\norg 0x10000\n" + body + "\n hlt\n");
    cpu.blocks = &blocks;
    cpu.s = setup_flat(mem, image, FLAT_DEFAULT_LOAD, FlatMode::Long64);
    cpu.update_mode();
    put64(CR3_B, (CR3_B + 0x1000) | 7);
    put64(CR3_B + 0x1000, PD_B | 7);
    std::memcpy(mem.ram() + PD_B, mem.ram() + PD_A, 0x1000);
    // The same byte at the start of each of the first four 4-KiB pieces.
    for (uint64_t piece = 0; piece < 0x4000; piece += 0x1000) {
      mem.ram()[0x200000 + piece] = AT_2M;
      mem.ram()[0x400000 + piece] = AT_4M;
      mem.ram()[0x600000 + piece] = AT_6M;
      mem.ram()[0x800000 + piece] = AT_8M;
    }
    INFO(body);
    REQUIRE(cpu.run(100000) == StopReason::Hlt);
  }
  void put64(uint64_t a, uint64_t v) { std::memcpy(mem.ram() + a, &v, 8); }
  uint8_t reg(unsigned r) const { return uint8_t(cpu.s.gpr[r]); }
};

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// Snippets. CR3 values carry the PCID in bits 11:0 and, with `keep`, bit 63.
std::string set_cr4(uint64_t bits) { return " mov rax, cr4\n or rax, " + hex(bits) + "\n mov cr4, rax\n"; }
std::string clear_cr4(uint64_t bits) { return " mov rax, cr4\n and rax, ~" + hex(bits) + "\n mov cr4, rax\n"; }
std::string load_cr3(uint64_t base, unsigned pcid, bool keep) {
  return " mov rax, " + hex(base | pcid | (keep ? 1ull << 63 : 0)) + "\n mov cr3, rax\n";
}
// PDE `index` of the page directory at `pd` maps physical `phys` (2 MiB).
std::string set_pde(uint64_t pd, unsigned index, uint64_t phys, bool global = false) {
  return " mov rax, " + hex(phys | 0x87 | (global ? 0x100 : 0)) + "\n mov [" + hex(pd + 8 * index) + "], rax\n";
}
std::string read_into(const char* reg8, uint64_t lin) { return " mov " + std::string(reg8) + ", [" + hex(lin) + "]\n"; }
std::string invpcid(unsigned type, unsigned pcid, uint64_t addr) {
  return " mov qword [0x60200], " + std::to_string(pcid) + "\n mov rax, " + hex(addr) +
         "\n mov [0x60208], rax\n mov eax, " + std::to_string(type) + "\n invpcid rax, [0x60200]\n";
}

const std::string kPcide = set_cr4(cr4::PCIDE);

}  // namespace

TEST_CASE("MOV CR3 with bit 63 keeps the new PCID's translations; without it they are dropped", "[tlb]") {
  for (bool keep : {true, false}) {
    INFO("bit 63 = " << keep);
    TlbMachine m;
    m.run(kPcide + load_cr3(CR3_B, 1, false) + read_into("al", 0x200000) +  // PCID 1 caches 2M -> 2M
          load_cr3(CR3_A, 2, false) + set_pde(PD_B, 1, 0x400000) +          // B now maps 2M -> 4M
          load_cr3(CR3_B, 1, keep) + read_into("r8b", 0x200000));
    CHECK(m.reg(R8) == (keep ? AT_2M : AT_4M));
    // Bit 63 is not stored (SDM 4.10.4.1).
    CHECK(m.cpu.s.cr3 == (CR3_B | 1));
  }
}

TEST_CASE("another PCID's non-global translation is never used", "[tlb]") {
  TlbMachine m;
  m.run(kPcide + set_pde(PD_A, 1, 0x400000) +                                  // A maps 2M -> 4M
        load_cr3(CR3_B, 1, false) + read_into("al", 0x200000) +                // PCID 1: 2M -> 2M
        load_cr3(CR3_A, 2, true) + read_into("r8b", 0x200000) +                // PCID 2 walks A
        load_cr3(CR3_B, 1, true) + read_into("r9b", 0x200000));                // PCID 1 again
  CHECK(m.reg(R8) == AT_4M);
  // PCID 2's access refilled the (direct-mapped) slot; PCID 1 walks B again.
  CHECK(m.reg(R9) == AT_2M);
}

TEST_CASE("without CR4.PCIDE, MOV CR3 drops every non-global translation", "[tlb]") {
  TlbMachine m;
  m.run(read_into("al", 0x200000) + set_pde(PD_A, 1, 0x400000) + load_cr3(CR3_A, 0, false) +
        read_into("r8b", 0x200000));
  CHECK(m.reg(R8) == AT_4M);
}

TEST_CASE("a global translation serves every PCID and survives MOV CR3; a non-global one does not", "[tlb]") {
  for (bool global : {true, false}) {
    INFO("global = " << global);
    TlbMachine m;
    // B maps 2M -> 2M (global or not), A maps 2M -> 4M.
    m.run(set_cr4(cr4::PGE) + kPcide + set_pde(PD_B, 1, 0x200000, global) + set_pde(PD_A, 1, 0x400000) +
          load_cr3(CR3_B, 1, false) + read_into("al", 0x200000) +
          load_cr3(CR3_A, 2, false) + read_into("r8b", 0x200000) +
          // Back in PCID 1 after a flushing load: B's PDE now maps 6M.
          set_pde(PD_B, 1, 0x600000, global) + load_cr3(CR3_B, 1, false) + read_into("r9b", 0x200000));
    CHECK(m.reg(R8) == (global ? AT_2M : AT_4M));
    CHECK(m.reg(R9) == (global ? AT_2M : AT_6M));
  }
}

namespace {

// Caches three translations: in PCID 1 (B) of the 2-MiB pages at linear
// 2M (non-global) and 6M (global); in PCID 2 (A) of the one at 8M
// (non-global). Then every one of them is remapped to physical 4M in
// memory, `inval` runs in PCID 2, and the three are read back: R8 = 8M in
// PCID 2, then (switching with bit 63) R9 = 2M and R10 = 6M in PCID 1.
// The 4-KiB pieces used (2M + 0, 6M + 4K, 8M + 8K) fall in different
// slots of the direct-mapped TLB, so none evicts another.
constexpr uint64_t LIN_2M = 0x200000, LIN_6M = 0x601000, LIN_8M = 0x802000;

// `warm_up` runs in PCID 0 before the three translations are cached.
void run_invalidation(TlbMachine& m, const std::string& inval, const std::string& warm_up = "") {
  m.run(set_cr4(cr4::PGE) + kPcide + warm_up + set_pde(PD_B, 3, 0x600000, true) +
        load_cr3(CR3_B, 1, false) + read_into("al", LIN_2M) + read_into("al", LIN_6M) +
        load_cr3(CR3_A, 2, false) + read_into("al", LIN_8M) +
        set_pde(PD_B, 1, 0x400000) + set_pde(PD_B, 3, 0x400000, true) + set_pde(PD_A, 4, 0x400000) + inval +
        read_into("r8b", LIN_8M) + load_cr3(CR3_B, 1, true) + read_into("r9b", LIN_2M) +
        read_into("r10b", LIN_6M));
}

struct Kept {
  bool pcid2_8m, pcid1_2m, global_6m;
};

// Reads one byte from each of 300 4-KiB pages at 16 MiB + 64 KiB up (TLB
// slots 10H-13BH, none of the three above): more valid translations than
// the TLB's fill log holds (Cpu::TLB_LOG_CAP), so the three are cached
// after the log was abandoned and the invalidations below must find them
// by scanning the whole TLB (then rebuild the log, or not).
const std::string kManyTranslations =
    " mov rsi, 0x1010000\n mov ecx, 300\nwarm:\n mov al, [rsi]\n add rsi, 0x1000\n loop warm\n";

void check_kept(const std::string& inval, Kept k, const std::string& warm_up = "") {
  INFO(inval);
  INFO("warm-up: " << warm_up);
  TlbMachine m;
  run_invalidation(m, inval, warm_up);
  CHECK(m.reg(R8) == (k.pcid2_8m ? AT_8M : AT_4M));
  CHECK(m.reg(R9) == (k.pcid1_2m ? AT_2M : AT_4M));
  CHECK(m.reg(R10) == (k.global_6m ? AT_6M : AT_4M));
}

}  // namespace

TEST_CASE("nothing is invalidated without an invalidating instruction (the observation works)", "[tlb]") {
  check_kept("", Kept{true, true, true});
}

TEST_CASE("INVPCID type 0: the non-global translation of that PCID for that address only", "[tlb]") {
  check_kept(invpcid(0, 1, 0x200000), Kept{true, false, true});
  check_kept(invpcid(0, 2, 0x800000), Kept{false, true, true});
  // The address in the other PCID, and a global translation: untouched.
  check_kept(invpcid(0, 1, 0x800000), Kept{true, true, true});
  check_kept(invpcid(0, 1, 0x600000), Kept{true, true, true});
}

TEST_CASE("INVPCID type 1: every non-global translation of that PCID", "[tlb]") {
  check_kept(invpcid(1, 1, 0), Kept{true, false, true});
  check_kept(invpcid(1, 2, 0), Kept{false, true, true});
  check_kept(invpcid(1, 3, 0), Kept{true, true, true});
}

TEST_CASE("INVPCID type 2: every translation, global ones included", "[tlb]") {
  check_kept(invpcid(2, 0, 0), Kept{false, false, false});
}

TEST_CASE("INVPCID type 3: every non-global translation of every PCID", "[tlb]") {
  check_kept(invpcid(3, 0, 0), Kept{false, false, true});
}

TEST_CASE("INVLPG: the current PCID's translation and the global one for the page, not other PCIDs'", "[tlb]") {
  check_kept(" invlpg [0x800000]\n", Kept{false, true, true});
  check_kept(" invlpg [0x200000]\n", Kept{true, true, true});   // PCID 1's: kept
  check_kept(" invlpg [0x600000]\n", Kept{true, true, false});  // global, cached by PCID 1
  // Any address inside the 2-MiB page drops it (SDM Vol. 2 INVLPG).
  check_kept(" invlpg [0x9ff000]\n", Kept{false, true, true});
}

TEST_CASE("CR4 writes: PGE changes and clearing PCIDE drop every PCID's translations", "[tlb]") {
  check_kept(clear_cr4(cr4::PGE) + set_cr4(cr4::PGE), Kept{false, false, false});
  // Clearing PCIDE needs PCID 000H to leave CR3 valid afterwards; then it
  // is set again and PCID 1 loaded with bit 63.
  check_kept(load_cr3(CR3_A, 0, true) + clear_cr4(cr4::PCIDE) + set_cr4(cr4::PCIDE) + load_cr3(CR3_A, 2, true),
             Kept{false, false, false});
  // A CR4 bit that has nothing to do with paging leaves them.
  check_kept(set_cr4(cr4::TSD), Kept{true, true, true});
}

TEST_CASE("with more translations cached than the fill log holds, invalidations drop exactly the same", "[tlb]") {
  static_assert(Cpu::TLB_LOG_CAP < 300);
  // The same cases as above; each twice in a row, so the second runs after
  // the first one's drop rebuilt (or abandoned) the log.
  const std::pair<std::string, Kept> cases[] = {
      {"", Kept{true, true, true}},
      {invpcid(0, 1, 0x200000), Kept{true, false, true}},
      {invpcid(1, 2, 0), Kept{false, true, true}},
      {invpcid(1, 2, 0) + invpcid(1, 2, 0), Kept{false, true, true}},
      {invpcid(2, 0, 0), Kept{false, false, false}},
      {invpcid(3, 0, 0) + invpcid(3, 0, 0), Kept{false, false, true}},
      {" invlpg [0x800000]\n invlpg [0x1010000]\n", Kept{false, true, true}},
      {" invlpg [0x600000]\n", Kept{true, true, false}},
      {clear_cr4(cr4::PGE) + set_cr4(cr4::PGE), Kept{false, false, false}},
  };
  for (const auto& [inval, kept] : cases) check_kept(inval, kept, kManyTranslations);
}

TEST_CASE("setting CR4.PCIDE keeps the translations of PCID 000H", "[tlb]") {
  TlbMachine m;
  m.run(read_into("al", 0x200000) + set_pde(PD_A, 1, 0x400000) + kPcide + read_into("r8b", 0x200000));
  CHECK(m.reg(R8) == AT_2M);
}

TEST_CASE("CR0.PG cannot be cleared while CR4.PCIDE = 1 (#GP(0))", "[tlb]") {
  // From compatibility mode (CS 0x18 of the flat GDT is 32-bit code),
  // where clearing PG leaves IA-32e mode. The flat runner has no IDT: the
  // #GP escalates to a shutdown.
  const std::string to_compat =
      " push 0x18\n push compat\n retfq\n"
      "bits 32\ncompat:\n mov eax, cr0\n and eax, 0x7fffffff\n mov cr0, eax\n";
  for (bool pcide : {false, true}) {
    INFO("PCIDE = " << pcide);
    TlbMachine m;
    const auto image = test::assemble_nasm("bits 64\norg 0x10000\n" + (pcide ? kPcide : std::string()) + to_compat +
                                           " hlt\n");
    m.cpu.blocks = &m.blocks;
    m.cpu.s = setup_flat(m.mem, image, FLAT_DEFAULT_LOAD, FlatMode::Long64);
    m.cpu.update_mode();
    const StopReason r = m.cpu.run(1000);
    CHECK(r == (pcide ? StopReason::Shutdown : StopReason::Hlt));
    CHECK(((m.cpu.s.cr0 & cr0::PG) != 0) == pcide);
  }
}
