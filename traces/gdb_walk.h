// A debugger's page-table walk (the gdb stub's memory accesses and
// `monitor walk` / `monitor walk-gpa`): the translation of a linear address
// by the CPU's current paging mode (SDM Vol. 3A chapter 4: no paging,
// 32-bit, PAE, 4-level and 5-level), without any of the walk's side effects
// - no accessed or dirty bit is set, no #PF raised, no VM exit made, no MMIO
// touched, nothing cached - so looking at a guest never changes what it
// does (determinism, DESIGN.md).
//
// Two-dimensional paging: in guest mode with EPT (VMX) or nested paging
// (SVM) every table the guest's walk reads is at a guest-physical address,
// translated through the second level before it is read, and so is the
// final guest-physical address; each of those second-level walks is
// reported level by level (vmx/ept.h and svm/npt.h walk, in their
// inspection mode).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace softvt {
class Cpu;
}

namespace softvt::gdb {

struct WalkLevel {
  const char* name;      // "PML5E", "PML4E", "PDPTE", "PDE", "PTE"
  uint64_t entry_addr;   // physical address of the entry (guest-physical under EPT/NPT)
  uint64_t entry;        // its value
};

// A walk of the second level (EPT or the nested page tables) for one
// guest-physical address.
struct NestedWalk {
  bool used = false;        // a second level translated this address
  std::vector<WalkLevel> levels;
  bool ok = false;          // translated
  uint64_t hpa = 0;
  unsigned page_shift = 12;
  std::string rights;       // what the translation allows ("R W X", "RW US NX", ...)
  std::string problem;      // why not, when !ok
};

// The second level a walk goes through: the running guest's (L2), or,
// from L1, the one of the current VMCS / the last VMRUN's VMCB.
struct SecondLevel {
  enum Kind : uint8_t { None, Ept, Npt } kind = None;
  uint64_t root = 0;        // EPTP / N_CR3
  unsigned levels = 4;      // NPT: 2 (legacy), 3 (PAE), 4 or 5
  bool nxe = false;         // NPT: the host's EFER.NXE
  bool pages_1g = false;    // NPT
  bool pse = false, pse36 = false;  // NPT, 2 levels: the host's CR4.PSE, the model's PSE-36
  std::string description;  // "EPT (EPTP 0x...)" for the report
};

struct GuestLevel {
  WalkLevel entry;
  NestedWalk nested;        // the second-level walk of entry.entry_addr
  bool read = true;         // false: the entry could not be read (entry.entry is 0)
};

struct WalkResult {
  bool paging = false;   // CR0.PG = 1
  const char* mode = ""; // "none", "32-bit", "PAE", "4-level", "5-level"
  bool ok = false;       // translated
  uint64_t guest_phys = 0;  // (guest-)physical address of the linear address
  uint64_t phys = 0;        // host-physical (= guest_phys without a second level)
  unsigned page_shift = 12;
  std::vector<GuestLevel> levels;
  SecondLevel second;
  NestedWalk final_nested;  // the second-level walk of guest_phys
  bool pdpte_registers = false;  // PAE under EPT: the PDPTEs come from the PDPTE registers
  std::string problem;   // why not, when !ok ("not present at PDE", ...)
};

// The second level in use for the CPU's memory accesses (None outside
// guest mode or without EPT/NPT).
SecondLevel active_second_level(const Cpu& cpu);
// The second level an L1 set up for its guest: the active one in guest
// mode; in L1, the current VMCS's EPT (enable EPT set) or the last VMRUN's
// nested paging (NP_ENABLE).
SecondLevel configured_second_level(const Cpu& cpu);

WalkResult debug_walk(const Cpu& cpu, uint64_t lin);
// A guest-physical address through `second` (None: the identity).
NestedWalk debug_walk_gpa(const Cpu& cpu, const SecondLevel& second, uint64_t gpa);

// One line per level, for `monitor walk` and `monitor walk-gpa`.
std::string format_walk(uint64_t lin, const WalkResult& w);
std::string format_gpa_walk(uint64_t gpa, const SecondLevel& second, const NestedWalk& n);

}  // namespace softvt::gdb
