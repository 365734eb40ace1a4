// Linear-to-physical translation by the guest's page tables (SDM Vol. 3A
// chapter 4): 32-bit, PAE, 4-level and 5-level paging, with accessed and
// dirty bits set as hardware sets them and #PF error codes of SDM 4.7.
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;
enum class Acc : uint8_t;

struct Translation {
  uint64_t phys;      // physical address of `lin`
  bool writable;      // R/W = 1 at every level
  bool user;          // user-accessible (U/S = 1 at every level)
  bool nx;            // execute-disable at some level
  bool dirty;         // the leaf entry's D bit is set
  uint8_t page_shift; // log2 of the page size: 12, 21 (2 MiB), 22 (4 MiB) or 30 (1 GiB)
  bool global;        // the leaf entry's G bit with CR4.PGE = 1
};

// #PF error-code bits (SDM 4.7).
namespace pf {
constexpr uint32_t P = 1, W = 2, U = 4, RSVD = 8, ID = 16, PK = 32, SS = 64;
}

// Walks the page tables for an access; raises #PF on failure. Sets A bits
// on every entry used and the D bit of the leaf on a write.
Translation walk_page_tables(Cpu& cpu, uint64_t lin, Acc acc, bool user);

// Loading CR3 (or enabling PAE paging) outside IA-32e mode loads the four
// PDPTEs; a present one with reserved bits set is #GP(0) (SDM 4.4.1).
// They are read like any physical access of the CPU (A20M# applies), and
// through the second level in guest mode (SDM Vol. 3C 29.3.2: "PDPTEs
// loaded by MOV to CR ... through EPT"), which keeps them as its PDPTE
// registers where it has them (EPT).
void load_pae_pdptes(Cpu& cpu, uint64_t cr3);

}  // namespace softvt
