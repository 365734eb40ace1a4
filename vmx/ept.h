// EPT, the extended page tables of VMX (SDM Vol. 3C 29.3 "The Extended
// Page Table Mechanism (EPT)", in the editions where "VMX Support for
// Address Translation" is chapter 29): the EPTP, the 4-level walk with
// R/W/X permissions, 2-MiB and 1-GiB pages, the memory type and
// ignore-PAT bits (kept, never used: softvt has no caches), accessed and
// dirty flags, EPT violations (exit reason 48) and misconfigurations
// (49). `Ept` is VMX's implementation of the generic second-level hook
// (emu/nested_paging.h).
#pragma once
#include <cstdint>

#include "emu/nested_paging.h"

namespace softvt {
class Memory;
}

namespace softvt::vmx {

// EPT paging-structure entry bits (SDM 29.3.2, Tables 29-1..29-6).
namespace ept_entry {
constexpr uint64_t READ = 1, WRITE = 2, EXEC = 4, RWX = 7;
constexpr unsigned MEMTYPE_SHIFT = 3;        // bits 5:3 of a leaf: memory type
constexpr uint64_t IGNORE_PAT = 1u << 6;     // leaf: ignore PAT memory type
constexpr uint64_t LARGE = 1u << 7;          // PDPTE/PDE: maps a 1-GiB / 2-MiB page
constexpr uint64_t ACCESSED = 1u << 8, DIRTY = 1u << 9;
}  // namespace ept_entry

// EPTP bits (SDM 25.6.11 "Extended-Page-Table Pointer (EPTP)", Table 25-9).
namespace eptp_bits {
constexpr uint64_t MEMTYPE_MASK = 7;
constexpr unsigned WALK_LENGTH_SHIFT = 3;    // bits 5:3: page-walk length - 1
constexpr uint64_t AD_ENABLE = 1u << 6;
}  // namespace eptp_bits

// IA32_VMX_EPT_VPID_CAP bits (SDM Vol. 3D A.10).
namespace ept_cap {
constexpr unsigned EXEC_ONLY = 0, WALK_4 = 6, WALK_5 = 7, UC = 8, WB = 14, PAGES_2M = 16, PAGES_1G = 17;
constexpr unsigned INVEPT = 20, AD = 21, INVEPT_SINGLE = 25, INVEPT_ALL = 26;
constexpr unsigned INVVPID = 32, INVVPID_ADDR = 40, INVVPID_SINGLE = 41, INVVPID_ALL = 42,
                   INVVPID_SINGLE_KEEP_GLOBALS = 43;
}  // namespace ept_cap

// EPT-violation exit qualification (SDM Vol. 3C 28.2.1, Table 28-7).
namespace ept_qual {
constexpr uint64_t READ = 1, WRITE = 2, FETCH = 4;         // the access
constexpr unsigned PERM_SHIFT = 3;                         // bits 5:3: R/W/X of the translation
constexpr uint64_t LINEAR_VALID = 1u << 7;                 // guest-linear address field valid
constexpr uint64_t FINAL = 1u << 8;                        // the translation of a linear address (1) or a paging-structure entry (0)
constexpr uint64_t NMI_UNBLOCKING = 1u << 12;              // NMI unblocking due to IRET
}  // namespace ept_qual

// Whether an EPTP value is one VM entry accepts (SDM 28.2.1.1 "EPT
// pointer"): memory type UC or WB as the capabilities allow, a walk length
// the capabilities offer, A/D only with its capability, bits 11:7 and
// beyond MAXPHYADDR zero.
bool eptp_valid(uint64_t eptp, uint64_t ept_vpid_cap, unsigned phys_addr_bits);

// The EP4TA: the address of the EPT PML4 table (bits N-1:12 of the EPTP),
// the tag of EPT-derived mappings (SDM 29.4.1).
inline uint64_t ep4ta_of(uint64_t eptp) { return eptp & 0x000ffffffffff000ull; }

// One walk of the EPT paging structures (no exit made here: the walker is
// pure, tests/unit/test_vmx_ept.cpp drives it directly).
struct EptWalkResult {
  enum Outcome : uint8_t { Ok, Violation, Misconfig } outcome = Ok;
  uint64_t hpa = 0;
  // R/W/X (ept_entry bits) ANDed over the entries used, the not-present
  // or last one included (the qualification's bits 5:3).
  uint32_t rwx = 0;
  unsigned page_shift = 12;
  uint8_t memory_type = 0;  // the leaf's memory type (bits 5:3) and ignore-PAT: stored, not used
  bool ignore_pat = false;
  bool dirty = false;       // the leaf's dirty flag after this access (A/D enabled)
  unsigned level = 0;       // the level of the entry that ended the walk (4..1)
  const char* why = "";     // misconfiguration: which rule (tests, traces); an inspection: an entry outside RAM
  // The entries read, top level first (the debugger shows them:
  // traces/gdb_walk.cpp).
  struct Entry {
    unsigned level;
    uint64_t addr, value;
  } entries[5] = {};
  unsigned used = 0;
};

struct EptWalker {
  Memory& mem;
  uint64_t eptp;
  uint64_t caps;            // IA32_VMX_EPT_VPID_CAP
  unsigned phys_addr_bits;
  // The debugger's walk: no accessed or dirty flag is set, and an entry
  // outside RAM is not read (no MMIO access) but ends the walk as a
  // violation with `why` saying so.
  bool inspect = false;

  // Translates `gpa` for an access that is a read, a write (`write`) or a
  // fetch (`fetch`); with EPTP[6], a successful walk sets the accessed
  // flags of the entries used and, for a write, the leaf's dirty flag
  // (SDM 29.3.5).
  EptWalkResult walk(uint64_t gpa, bool write, bool fetch) const;
};

// VMX's second level: the EPTP in use and the PDPTE registers of a PAE
// guest (EPT keeps them: SDM 28.3.2.4, 4.4.1).
class Ept final : public NestedPaging {
 public:
  uint64_t eptp = 0;
  uint64_t pdpte[4] = {};

  NestedTranslation translate(Cpu& cpu, uint64_t gpa, const NestedAccess& access) override;
  bool pdpte_registers(uint64_t out[4]) const override;
  void set_pdpte_registers(const uint64_t in[4]) override;
};

}  // namespace softvt::vmx
