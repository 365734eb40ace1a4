// Nested paging, SVM's second level (AMD APM Vol. 2 15.25 "Nested
// Paging"): with NP_ENABLE = 1 every guest-physical address of the guest -
// its own page-table entries, the final address of a translated linear
// address, an unpaged guest's accesses - is translated through the nested
// page tables at N_CR3 (VMCB 0B0h). They have the format of the host's
// paging mode at VMRUN (15.25.3: CR4.PAE, EFER.LMA and, for a legacy host,
// CR4.PSE): long mode (4 levels, 5 with the host's CR4.LA57; 4-Kbyte,
// 2-Mbyte and 1-Gbyte pages), legacy PAE (3 levels, 4-Kbyte and 2-Mbyte
// pages, four PDPTEs read from memory on each walk) or legacy 32-bit
// (2 levels of 4-byte entries, 4-Mbyte pages with the host's CR4.PSE),
// with the host's EFER.NXE where the format has NX. `Npt` is SVM's
// implementation of the generic hook (emu/nested_paging.h); a failed
// translation is #VMEXIT(NPF) (15.25.6).
#pragma once
#include <cstdint>

#include "emu/nested_paging.h"

namespace softvt {
class Memory;
}

namespace softvt::svm {

// EXITINFO1 of #VMEXIT(NPF) (APM 15.25.6 "Nested versus Guest Page Faults,
// Fault Ordering"): the page-fault error-code bits of the nested access
// (8.4.2) and which part of the guest's translation it was.
namespace npf {
constexpr uint64_t P = 1, RW = 2, US = 4, RSV = 8, ID = 0x10;
constexpr uint64_t FINAL = 1ull << 32;       // the final guest-physical address of the access
constexpr uint64_t GUEST_PAGE = 1ull << 33;  // an access to the guest's own page tables
}  // namespace npf

// One walk of the nested page tables (pure: no exit made here).
struct NptWalkResult {
  bool ok = false;
  uint64_t hpa = 0;
  // On failure: the error-code bits P, RW, US, RSV, ID of the nested
  // access (npf::), which are EXITINFO1[31:0].
  uint64_t error = 0;
  bool writable = false;  // W in every entry used
  bool nx = false;        // NX (with the host's EFER.NXE) in some entry used
  bool dirty = false;     // the leaf's D bit after this access
  unsigned page_shift = 12;
  // The entries read, top level first (the debugger shows them:
  // traces/gdb_walk.cpp).
  struct Entry {
    unsigned level;
    uint64_t addr, value;
  } entries[5] = {};
  unsigned used = 0;
  bool outside_ram = false;  // an inspection met an entry outside RAM
};

// The nested tables' format is the host's paging mode at VMRUN: `levels`
// 2 = legacy 32-bit paging, 3 = legacy PAE paging, 4 or 5 = long mode.
struct NptWalker {
  Memory& mem;
  uint64_t n_cr3;
  unsigned levels;          // 2, 3, 4, or 5 (the host's CR4.PAE, EFER.LMA, CR4.LA57)
  bool nxe;                 // the host's EFER.NXE at VMRUN (no effect with 2 levels)
  bool pages_1g;            // CPUID 80000001H:EDX.Page1GB
  unsigned phys_addr_bits;
  bool pse = false;         // 2 levels: the host's CR4.PSE (4-Mbyte pages)
  bool pse36 = false;       // 2 levels: CPUID 01H:EDX.PSE-36 (4-Mbyte pages above 4 Gbytes)
  // The debugger's walk: no accessed or dirty bit is set, and an entry
  // outside RAM is not read (no MMIO access) but ends the walk
  // (`outside_ram`).
  bool inspect = false;

  // Translates `gpa` for a read, a write or a fetch. Every nested access
  // is a user access (APM 15.25.5): U/S must be 1 at every level; W is
  // needed for a write whatever CR0.WP; NX forbids a fetch. A successful
  // walk sets the accessed bit of every entry used and, for a write, the
  // leaf's dirty bit; a failed one sets none (docs/decisions.md).
  NptWalkResult walk(uint64_t gpa, bool write, bool fetch) const;

 private:
  NptWalkResult walk_legacy(uint64_t gpa, bool write, uint64_t error) const;
};

// The nested paging of the running guest (kept in SvmState; Cpu::
// nested_paging points here while a guest with NP_ENABLE runs).
class Npt final : public NestedPaging {
 public:
  uint64_t n_cr3 = 0;
  unsigned levels = 4;
  bool nxe = false;
  bool pages_1g = false;
  bool pse = false;
  bool pse36 = false;
  // While set, a failed translation throws NestedPagingExit without a
  // #VMEXIT: the instruction-byte fetch of decode assists during an exit
  // (svm/vmexit.cpp) fetches what it can and no more.
  bool quiet = false;

  NestedTranslation translate(Cpu& cpu, uint64_t gpa, const NestedAccess& access) override;
  // AMD reads a PAE guest's PDPTEs from memory on each walk (no PDPTE
  // registers, unlike EPT): NestedPaging's default pdpte_registers().
};

// The nested paging VMRUN would set up now for N_CR3 `n_cr3`: the tables'
// format is the host's current paging mode (APM 15.25.3). The debugger
// uses it to walk the last VMRUN's tables from the host.
Npt host_nested_paging(const Cpu& cpu, uint64_t n_cr3);

// VMRUN with NP_ENABLE = 1, before the guest state is loaded: N_CR3 and
// the host's paging mode (CR4.PAE, CR4.PSE, CR4.LA57, EFER.LMA, EFER.NXE)
// become the nested paging of the guest.
void enter_nested_paging(Cpu& cpu, uint64_t n_cr3);
// #VMEXIT: no second level in the host.
void leave_nested_paging(Cpu& cpu);

// The G_PAT field's validity (APM 15.25.4): every PA field a supported
// memory type (0, 1, 4, 5, 6, 7), the reserved bits 7:3 of each zero.
bool g_pat_valid(uint64_t g_pat);

}  // namespace softvt::svm
