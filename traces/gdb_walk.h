// A debugger's page-table walk (the gdb stub's memory accesses and
// `monitor walk`): the translation of a linear address by the CPU's current
// paging mode (SDM Vol. 3A chapter 4: no paging, 32-bit, PAE, 4-level and
// 5-level), without any of the walk's side effects - no accessed or dirty
// bit is set, no #PF raised, no MMIO touched, nothing cached - so looking
// at a guest never changes what it does (determinism, DESIGN.md).
//
// Two-dimensional paging (EPT/NPT, not modelled yet): each table the walk
// reads is a guest-physical address; `TableReader` is where a nested walk
// plugs in (it would translate the address through EPT/NPT and add its own
// levels to the report).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace softvt {
class Cpu;
}

namespace softvt::gdb {

struct WalkLevel {
  const char* name;      // "PML5E", "PML4E", "PDPTE", "PDE", "PTE"
  uint64_t entry_addr;   // physical address of the entry
  uint64_t entry;        // its value
};

struct WalkResult {
  bool paging = false;   // CR0.PG = 1
  const char* mode = ""; // "none", "32-bit", "PAE", "4-level", "5-level"
  bool ok = false;       // translated
  uint64_t phys = 0;     // physical address of the linear address
  unsigned page_shift = 12;
  std::vector<WalkLevel> levels;
  std::string problem;   // why not, when !ok ("not present at PDE", ...)
};

// Reads the 4- or 8-byte entry at physical `addr`; false if it cannot
// (outside RAM). The default reads guest RAM only.
using TableReader = std::function<bool(uint64_t addr, unsigned size, uint64_t& value)>;

WalkResult debug_walk(const Cpu& cpu, uint64_t lin);
WalkResult debug_walk(const Cpu& cpu, uint64_t lin, const TableReader& read);

// One line per level, for `monitor walk`.
std::string format_walk(uint64_t lin, const WalkResult& w);

}  // namespace softvt::gdb
