// Side-effect-free page walk for the debugger (SDM Vol. 3A 4.3, 4.4, 4.5).
#include "traces/gdb_walk.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "emu/cpu.h"

namespace softvt::gdb {
namespace {

constexpr uint64_t P = 1, PS = 1u << 7;
// Physical-address bits of an entry (bits 51:12; SDM 4.5 Table 4-15 ff.).
constexpr uint64_t ADDR_MASK = 0x000ffffffffff000ull;

bool read_ram(const Cpu& cpu, uint64_t addr, unsigned size, uint64_t& v) {
  if (addr + size > cpu.mem.ram_size() || addr + size < addr) return false;
  v = 0;
  std::memcpy(&v, cpu.mem.ram() + addr, size);
  return true;
}

struct Walker {
  const Cpu& cpu;
  const TableReader& read;
  WalkResult& w;

  // Reads one entry and records it; false (with the problem) if unreadable
  // or not present.
  bool entry(const char* name, uint64_t addr, unsigned size, uint64_t& e) {
    addr = cpu.apply_a20(addr);
    if (!read(addr, size, e)) {
      w.problem = std::string(name) + " lies outside RAM";
      return false;
    }
    w.levels.push_back(WalkLevel{name, addr, e});
    if (!(e & P)) {
      w.problem = std::string("not present at ") + name;
      return false;
    }
    return true;
  }

  void leaf(uint64_t base, unsigned shift, uint64_t lin) {
    w.ok = true;
    w.page_shift = shift;
    w.phys = cpu.apply_a20(base | (lin & ((uint64_t(1) << shift) - 1)));
  }

  void legacy_32bit(uint64_t lin) {
    uint64_t pde, pte;
    lin &= 0xffffffffu;
    if (!entry("PDE", (cpu.s.cr3 & 0xfffff000u) + 4 * (lin >> 22), 4, pde)) return;
    if ((pde & PS) && (cpu.s.cr4 & cr4::PSE)) {
      // 4-MiB page: bits 31:22 and, with PSE-36, bits 20:13 = address 39:32 (SDM 4.3).
      return leaf((pde & 0xffc00000u) | (((pde >> 13) & 0xff) << 32), 22, lin);
    }
    if (!entry("PTE", (pde & 0xfffff000u) + 4 * ((lin >> 12) & 0x3ff), 4, pte)) return;
    leaf(pte & 0xfffff000u, 12, lin);
  }

  // The hierarchy below a PDPTE (PAE) or from the top (4-/5-level).
  void tables(uint64_t table, int top_level, uint64_t lin) {
    static const char* const kNames[6] = {"", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
    for (int level = top_level; level >= 1; --level) {
      const unsigned shift = 12 + 9 * unsigned(level - 1);
      uint64_t e;
      if (!entry(kNames[level], table + 8 * ((lin >> shift) & 0x1ff), 8, e)) return;
      // PS = 1 maps a 1-GiB page at a PDPTE (4-/5-level only) or a 2-MiB page at a PDE.
      if ((level == 2 || (level == 3 && top_level >= 4)) && (e & PS))
        return leaf(e & ADDR_MASK & ~((uint64_t(1) << shift) - 1), shift, lin);
      table = e & ADDR_MASK;
      if (level == 1) leaf(table, 12, lin);
    }
  }

  void pae(uint64_t lin) {
    lin &= 0xffffffffu;
    uint64_t pdpte;
    if (!entry("PDPTE", (cpu.s.cr3 & 0xffffffe0u) + 8 * (lin >> 30), 8, pdpte)) return;
    tables(pdpte & ADDR_MASK, 2, lin);
  }
};

}  // namespace

WalkResult debug_walk(const Cpu& cpu, uint64_t lin) {
  return debug_walk(cpu, lin, [&cpu](uint64_t a, unsigned n, uint64_t& v) { return read_ram(cpu, a, n, v); });
}

WalkResult debug_walk(const Cpu& cpu, uint64_t lin, const TableReader& read) {
  WalkResult w;
  Walker k{cpu, read, w};
  if (!(cpu.s.cr0 & cr0::PG)) {
    w.mode = "none";
    // Without paging linear addresses are physical (32 bits outside long mode).
    k.leaf(0, 32, lin & 0xffffffffu);
    w.page_shift = 12;
    return w;
  }
  w.paging = true;
  if (cpu.s.efer & efer::LMA) {
    const bool five = cpu.s.cr4 & cr4::LA57;
    w.mode = five ? "5-level" : "4-level";
    const unsigned bits = five ? 57 : 48;
    const int64_t sx = int64_t(lin << (64 - bits)) >> (64 - bits);
    if (uint64_t(sx) != lin) {
      w.problem = "not canonical";
      return w;
    }
    k.tables(cpu.s.cr3 & ADDR_MASK, five ? 5 : 4, lin);
  } else if (cpu.s.cr4 & cr4::PAE) {
    w.mode = "PAE";
    k.pae(lin);
  } else {
    w.mode = "32-bit";
    k.legacy_32bit(lin);
  }
  return w;
}

std::string format_walk(uint64_t lin, const WalkResult& w) {
  char line[160];
  std::snprintf(line, sizeof line, "linear 0x%" PRIx64 ": paging %s\n", lin, w.paging ? w.mode : "off");
  std::string out = line;
  for (const WalkLevel& l : w.levels) {
    std::snprintf(line, sizeof line, "  %-6s at 0x%010" PRIx64 " = 0x%016" PRIx64 "%s%s%s%s%s\n", l.name,
                  l.entry_addr, l.entry, (l.entry & 1) ? " P" : " not-present", (l.entry & 2) ? " RW" : "",
                  (l.entry & 4) ? " US" : "", (l.entry & 0x80) && std::strcmp(l.name, "PTE") ? " PS" : "",
                  (l.entry >> 63) ? " XD" : "");
    out += line;
  }
  if (w.ok)
    std::snprintf(line, sizeof line, "  -> physical 0x%" PRIx64 " (%s page)\n", w.phys,
                  w.page_shift == 30 ? "1-GiB" : w.page_shift == 22 ? "4-MiB" : w.page_shift == 21 ? "2-MiB" : "4-KiB");
  else
    std::snprintf(line, sizeof line, "  -> no translation: %s\n", w.problem.c_str());
  out += line;
  out += "  (EPT/NPT: not modelled yet; guest-physical = host-physical)\n";
  return out;
}

}  // namespace softvt::gdb
