// Side-effect-free page walk for the debugger (SDM Vol. 3A 4.3, 4.4, 4.5),
// through EPT (SDM Vol. 3C 29.3) or nested paging (APM Vol. 2 15.25) when
// the guest runs with a second level.
#include "traces/gdb_walk.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "svm/controls.h"
#include "svm/npt.h"
#include "svm/vmcb.h"
#include "vmx/controls.h"
#include "vmx/ept.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::gdb {
namespace {

constexpr uint64_t P = 1, PS = 1u << 7;
// Physical-address bits of an entry (bits 51:12; SDM 4.5 Table 4-15 ff.).
constexpr uint64_t ADDR_MASK = 0x000ffffffffff000ull;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

bool read_ram(const Cpu& cpu, uint64_t addr, unsigned size, uint64_t& v) {
  if (addr + size > cpu.mem.ram_size() || addr + size < addr) return false;
  v = 0;
  std::memcpy(&v, cpu.mem.ram() + addr, size);
  return true;
}

const char* const kLevelNames[6] = {"", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"};

// ---- the second level, through vmx/ept.h and svm/npt.h in inspection mode ----

std::string ept_rights(uint32_t rwx) {
  std::string s;
  if (rwx & vmx::ept_entry::READ) s += " R";
  if (rwx & vmx::ept_entry::WRITE) s += " W";
  if (rwx & vmx::ept_entry::EXEC) s += " X";
  return s.empty() ? "none" : s.substr(1);
}

NestedWalk walk_ept(const Cpu& cpu, const SecondLevel& second, uint64_t gpa) {
  // Memory is only read: the inspecting walker writes no flag and reads no MMIO.
  const vmx::EptWalker w{const_cast<Memory&>(cpu.mem), second.root, cpu.model.vmx.ept_vpid,
                         cpu.model.phys_addr_bits, true};
  const vmx::EptWalkResult r = w.walk(gpa, false, false);
  NestedWalk n;
  n.used = true;
  for (unsigned i = 0; i < r.used; ++i)
    n.levels.push_back(WalkLevel{kLevelNames[r.entries[i].level], r.entries[i].addr, r.entries[i].value});
  const bool present_leaf = r.used && (r.entries[r.used - 1].value & vmx::ept_entry::RWX);
  if (r.outcome == vmx::EptWalkResult::Misconfig) {
    n.problem = std::string("EPT misconfiguration (") + r.why + ")";
  } else if (r.outcome == vmx::EptWalkResult::Violation && (*r.why || !present_leaf)) {
    n.problem = *r.why ? std::string("EPT ") + r.why : std::string("EPT violation: not present at EPT ") + kLevelNames[r.level];
  } else {
    // Translated; a read the translation does not allow (execute-only)
    // shows as its rights.
    n.ok = true;
    n.hpa = r.hpa;
    n.page_shift = r.page_shift;
    n.rights = ept_rights(r.rwx);
  }
  return n;
}

NestedWalk walk_npt(const Cpu& cpu, const SecondLevel& second, uint64_t gpa) {
  svm::NptWalker w{const_cast<Memory&>(cpu.mem), second.root, second.levels, second.nxe, second.pages_1g,
                   cpu.model.phys_addr_bits, second.pse, second.pse36};
  w.inspect = true;
  const svm::NptWalkResult r = w.walk(gpa, false, false);
  NestedWalk n;
  n.used = true;
  for (unsigned i = 0; i < r.used; ++i)
    n.levels.push_back(WalkLevel{kLevelNames[r.entries[i].level], r.entries[i].addr, r.entries[i].value});
  // A failed walk reached its leaf when the error is a protection one
  // (P set, RSV clear: APM 8.4.2); the debugger's read needs no right.
  const bool leaf_reached = r.ok || ((r.error & svm::npf::P) && !(r.error & svm::npf::RSV));
  if (r.outside_ram) {
    n.problem = "nested page-table entry outside RAM";
  } else if (!leaf_reached) {
    n.problem = (r.error & svm::npf::RSV) ? "nested page fault: reserved bits set"
                                          : "nested page fault: not present at nested " +
                                                std::string(kLevelNames[r.entries[r.used - 1].level]);
  } else {
    n.ok = true;
    n.hpa = r.hpa;
    n.page_shift = r.page_shift;
    bool all_u = true, all_w = true, nx = false;
    // A PAE table's PDPE has no U/S or R/W bit (APM 5.2.1).
    for (unsigned i = second.levels == 3 ? 1 : 0; i < r.used; ++i) {
      all_u &= (r.entries[i].value & 4) != 0;
      all_w &= (r.entries[i].value & 2) != 0;
      nx |= second.nxe && (r.entries[i].value >> 63);
    }
    n.rights = std::string(all_w ? "RW" : "R") + (all_u ? " US" : " supervisor (every nested access faults)") +
               (nx ? " NX" : "");
  }
  return n;
}

// ---- the guest's walk ----------------------------------------------------------

struct Walker {
  const Cpu& cpu;
  WalkResult& w;

  // The entry at (guest-)physical `addr`, through the second level.
  bool read_entry(uint64_t addr, unsigned size, uint64_t& e, NestedWalk& nested) {
    uint64_t hpa = addr;
    if (w.second.kind != SecondLevel::None) {
      nested = debug_walk_gpa(cpu, w.second, addr);
      if (!nested.ok) return false;
      hpa = nested.hpa;
    }
    return read_ram(cpu, hpa, size, e);
  }

  // Reads one entry and records it; false (with the problem) if unreadable
  // or not present.
  bool entry(const char* name, uint64_t addr, unsigned size, uint64_t& e) {
    addr = cpu.apply_a20(addr);
    NestedWalk nested;
    if (!read_entry(addr, size, e, nested)) {
      w.problem = nested.used && !nested.ok ? std::string(name) + "'s guest-physical address: " + nested.problem
                                            : std::string(name) + " lies outside RAM";
      w.levels.push_back(GuestLevel{WalkLevel{name, addr, 0}, nested, false});
      return false;
    }
    w.levels.push_back(GuestLevel{WalkLevel{name, addr, e}, nested, true});
    if (!(e & P)) {
      w.problem = std::string("not present at ") + name;
      return false;
    }
    return true;
  }

  void leaf(uint64_t base, unsigned shift, uint64_t lin) {
    w.ok = true;
    w.page_shift = shift;
    w.guest_phys = cpu.apply_a20(base | (lin & ((uint64_t(1) << shift) - 1)));
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
    for (int level = top_level; level >= 1; --level) {
      const unsigned shift = 12 + 9 * unsigned(level - 1);
      uint64_t e;
      if (!entry(kLevelNames[level], table + 8 * ((lin >> shift) & 0x1ff), 8, e)) return;
      // PS = 1 maps a 1-GiB page at a PDPTE (4-/5-level only) or a 2-MiB page at a PDE.
      if ((level == 2 || (level == 3 && top_level >= 4)) && (e & PS))
        return leaf(e & ADDR_MASK & ~((uint64_t(1) << shift) - 1), shift, lin);
      table = e & ADDR_MASK;
      if (level == 1) leaf(table, 12, lin);
    }
  }

  void pae(uint64_t lin) {
    lin &= 0xffffffffu;
    const uint64_t addr = (cpu.s.cr3 & 0xffffffe0u) + 8 * (lin >> 30);
    uint64_t regs[4];
    uint64_t pdpte;
    if (cpu.nested_paging && cpu.nested_paging->pdpte_registers(regs)) {
      // Under EPT the CPU uses the PDPTE registers loaded with CR3 (SDM
      // 4.4.1, 28.3.2.4), not memory.
      w.pdpte_registers = true;
      pdpte = regs[lin >> 30];
      w.levels.push_back(GuestLevel{WalkLevel{"PDPTE", addr, pdpte}, NestedWalk{}, true});
      if (!(pdpte & P)) {
        w.problem = "not present at PDPTE";
        return;
      }
    } else if (!entry("PDPTE", addr, 8, pdpte)) {
      return;
    }
    tables(pdpte & ADDR_MASK, 2, lin);
  }

  void translate(uint64_t lin) {
    if (!(cpu.s.cr0 & cr0::PG)) {
      w.mode = "none";
      // Without paging linear addresses are physical (32 bits outside long mode).
      leaf(0, 32, lin & 0xffffffffu);
      w.page_shift = 12;
      return;
    }
    w.paging = true;
    if (cpu.s.efer & efer::LMA) {
      const bool five = cpu.s.cr4 & cr4::LA57;
      w.mode = five ? "5-level" : "4-level";
      const unsigned bits = five ? 57 : 48;
      const int64_t sx = int64_t(lin << (64 - bits)) >> (64 - bits);
      if (uint64_t(sx) != lin) {
        w.problem = "not canonical";
        return;
      }
      tables(cpu.s.cr3 & ADDR_MASK, five ? 5 : 4, lin);
    } else if (cpu.s.cr4 & cr4::PAE) {
      w.mode = "PAE";
      pae(lin);
    } else {
      w.mode = "32-bit";
      legacy_32bit(lin);
    }
  }
};

SecondLevel ept_level(uint64_t eptp, const char* whose) {
  SecondLevel s;
  s.kind = SecondLevel::Ept;
  s.root = eptp;
  s.levels = unsigned((eptp >> vmx::eptp_bits::WALK_LENGTH_SHIFT) & 7) + 1;
  s.description = "EPT (EPTP " + hex(eptp) + ", " + std::to_string(s.levels) + "-level" +
                  ((eptp & vmx::eptp_bits::AD_ENABLE) ? ", A/D flags" : "") + "; " + whose + ")";
  return s;
}

SecondLevel npt_level(const svm::Npt& n, const char* whose) {
  SecondLevel s;
  s.kind = SecondLevel::Npt;
  s.root = n.n_cr3;
  s.levels = n.levels;
  s.nxe = n.nxe;
  s.pages_1g = n.pages_1g;
  s.pse = n.pse;
  s.pse36 = n.pse36;
  s.description = "NPT (N_CR3 " + hex(n.n_cr3) + ", " + std::to_string(n.levels) + "-level" + (n.nxe ? ", NXE" : "") +
                  "; " + whose + ")";
  return s;
}

void append_nested(std::string& out, const NestedWalk& n, const char* indent, const char* kind) {
  char line[200];
  for (const WalkLevel& l : n.levels) {
    std::snprintf(line, sizeof line, "%s%s %-5s at 0x%010" PRIx64 " = 0x%016" PRIx64 "\n", indent, kind, l.name,
                  l.entry_addr, l.entry);
    out += line;
  }
  if (n.ok)
    std::snprintf(line, sizeof line, "%s-> host-physical 0x%" PRIx64 " (%s page, %s)\n", indent, n.hpa,
                  n.page_shift == 30 ? "1-GiB" : n.page_shift == 21 ? "2-MiB" : "4-KiB", n.rights.c_str());
  else
    std::snprintf(line, sizeof line, "%s-> no translation: %s\n", indent, n.problem.c_str());
  out += line;
}

const char* second_kind(const SecondLevel& s) { return s.kind == SecondLevel::Ept ? "EPT" : "NPT"; }

}  // namespace

SecondLevel active_second_level(const Cpu& cpu) {
  if (!cpu.nested_paging) return SecondLevel{};
  if (cpu.nested_paging == &cpu.vmx.ept) return ept_level(cpu.vmx.ept.eptp, "the running L2's");
  return npt_level(cpu.svm.npt, "the running L2's");
}

SecondLevel configured_second_level(const Cpu& cpu) {
  if (cpu.nested_paging) return active_second_level(cpu);
  if (cpu.vmx.in_vmx_operation && cpu.vmx.has_current_vmcs()) {
    const uint64_t proc = vmx::read_field(cpu.vmx, vmx::field::CPU_BASED_VM_EXEC_CONTROL);
    const uint64_t proc2 = vmx::read_field(cpu.vmx, vmx::field::SECONDARY_VM_EXEC_CONTROL);
    if ((proc & vmx::proc::SECONDARY) && (proc2 & vmx::proc2::EPT))
      return ept_level(vmx::read_field(cpu.vmx, vmx::field::EPT_POINTER), "the current VMCS's, not in use in L1");
  }
  uint64_t np = 0, n_cr3 = 0;
  if (cpu.svm.vmcb_pa && read_ram(cpu, cpu.svm.vmcb_pa + svm::vmcb::NP_CONTROL, 8, np) &&
      read_ram(cpu, cpu.svm.vmcb_pa + svm::vmcb::N_CR3, 8, n_cr3) && (np & svm::NP_ENABLE))
    // The nested tables take the host's paging mode at VMRUN (APM 15.25.3): the current one here.
    return npt_level(svm::host_nested_paging(cpu, n_cr3), "the last VMRUN's VMCB, not in use in L1");
  return SecondLevel{};
}

NestedWalk debug_walk_gpa(const Cpu& cpu, const SecondLevel& second, uint64_t gpa) {
  if (second.kind == SecondLevel::Ept) return walk_ept(cpu, second, gpa);
  if (second.kind == SecondLevel::Npt) return walk_npt(cpu, second, gpa);
  NestedWalk n;
  n.ok = true;
  n.hpa = gpa;
  return n;
}

WalkResult debug_walk(const Cpu& cpu, uint64_t lin) {
  WalkResult w;
  w.second = active_second_level(cpu);
  Walker k{cpu, w};
  k.translate(lin);
  w.phys = w.guest_phys;
  if (w.ok && w.second.kind != SecondLevel::None) {
    w.final_nested = debug_walk_gpa(cpu, w.second, w.guest_phys);
    if (w.final_nested.ok) {
      w.phys = w.final_nested.hpa;
    } else {
      w.ok = false;
      w.problem = "the guest-physical address: " + w.final_nested.problem;
    }
  }
  return w;
}

std::string format_walk(uint64_t lin, const WalkResult& w) {
  char line[200];
  std::snprintf(line, sizeof line, "linear 0x%" PRIx64 ": paging %s\n", lin, w.paging ? w.mode : "off");
  std::string out = line;
  const bool nested = w.second.kind != SecondLevel::None;
  if (nested) out += "  through " + w.second.description + "\n";
  for (const GuestLevel& g : w.levels) {
    const WalkLevel& l = g.entry;
    const bool reg = w.pdpte_registers && !std::strcmp(l.name, "PDPTE");
    if (!g.read)
      std::snprintf(line, sizeof line, "  %-6s at %s0x%010" PRIx64 " (not readable)\n", l.name,
                    nested ? "guest-physical " : "", l.entry_addr);
    else
      std::snprintf(line, sizeof line, "  %-6s at %s0x%010" PRIx64 " = 0x%016" PRIx64 "%s%s%s%s%s%s\n", l.name,
                    nested ? "guest-physical " : "", l.entry_addr, l.entry, (l.entry & 1) ? " P" : " not-present",
                    (l.entry & 2) ? " RW" : "", (l.entry & 4) ? " US" : "",
                    (l.entry & 0x80) && std::strcmp(l.name, "PTE") ? " PS" : "", (l.entry >> 63) ? " XD" : "",
                    reg ? " (PDPTE register)" : "");
    out += line;
    if (g.nested.used) append_nested(out, g.nested, "         ", second_kind(w.second));
  }
  const char* size = w.page_shift == 30 ? "1-GiB" : w.page_shift == 22 ? "4-MiB" : w.page_shift == 21 ? "2-MiB" : "4-KiB";
  if (nested && (w.ok || w.final_nested.used)) {
    std::snprintf(line, sizeof line, "  -> guest-physical 0x%" PRIx64 " (%s page)\n", w.guest_phys, size);
    out += line;
    append_nested(out, w.final_nested, "     ", second_kind(w.second));
  }
  if (w.ok)
    std::snprintf(line, sizeof line, "  -> physical 0x%" PRIx64 "%s\n", w.phys,
                  nested ? "" : (std::string(" (") + size + " page)").c_str());
  else
    std::snprintf(line, sizeof line, "  -> no translation: %s\n", w.problem.c_str());
  out += line;
  return out;
}

std::string format_gpa_walk(uint64_t gpa, const SecondLevel& second, const NestedWalk& n) {
  std::string out = "guest-physical " + hex(gpa) + ": ";
  if (second.kind == SecondLevel::None)
    return out + "no EPT or nested paging in use or set up (guest-physical = host-physical)\n";
  out += "through " + second.description + "\n";
  append_nested(out, n, "  ", second_kind(second));
  return out;
}

}  // namespace softvt::gdb
