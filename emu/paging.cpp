#include "emu/paging.h"

#include <algorithm>

#include "emu/cpu.h"
#include "emu/nested_paging.h"

namespace softvt {
namespace {

constexpr uint64_t PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80;
constexpr uint64_t PTE_G = 0x100;
constexpr uint64_t PTE_NX = 1ull << 63;

struct Walker {
  Cpu& cpu;
  uint64_t lin;
  Acc acc;
  bool user;
  uint64_t phys_mask;      // bits MAXPHYADDR-1:12
  uint64_t rsvd_high;      // bits 51:MAXPHYADDR (and 62:52 are ignored)
  bool nxe;
  bool pages_1g;           // CPUID 80000001H:EDX.Page1GB
  bool pse36;              // CPUID 01H:EDX.PSE-36

  [[noreturn]] void fault(uint32_t bits) {
    uint32_t err = bits;
    if (acc == Acc::Write) err |= pf::W;
    if (user) err |= pf::U;
    // I/D is reported for fetches when NX or SMEP could apply (SDM 4.7).
    if (acc == Acc::Exec && ((nxe && (cpu.s.cr4 & cr4::PAE)) || (cpu.s.cr4 & cr4::SMEP)))
      err |= pf::ID;
    cpu.raise_pf(lin, err);
  }

  NestedPaging* nested;     // the second level in guest mode (emu/nested_paging.h), or nullptr

  // The (host-)physical address of a paging-structure entry at physical
  // (guest-physical) address `addr`: with a second level, the walk's own
  // access goes through it (SDM Vol. 3C 29.3.2 "EPT Translation
  // Mechanism": guest paging-structure accesses are guest-physical).
  uint64_t entry_host_address(uint64_t addr, Acc how) {
    if (!nested) return addr;
    return nested->translate(cpu, addr, NestedAccess{how, NestedKind::GuestWalk, lin, user}).hpa;
  }
  uint64_t read_entry(uint64_t addr, unsigned size) {
    return cpu.mem.read_phys(entry_host_address(addr, Acc::Read), size);
  }
  // Setting an accessed or dirty flag is a write to the entry (for the
  // second level too).
  void write_entry(uint64_t addr, unsigned size, uint64_t value) {
    cpu.mem.write_phys(entry_host_address(addr, Acc::Write), size, value);
  }
  // Address of a paging-structure entry: the walk's accesses are physical
  // accesses of the CPU, so A20M# masks them too (emu/tlb.cpp).
  uint64_t entry_address(uint64_t addr) const { return cpu.apply_a20(addr); }
};

// PAE paging's PDPTE for `lin`: from the PDPTE registers when the second
// level keeps them (EPT: loaded with CR3 or by VM entry, SDM 28.3.2.4),
// else read from memory through the walk.
uint64_t pae_pdpte(Walker& w, uint64_t addr) {
  uint64_t regs[4];
  if (w.nested && w.nested->pdpte_registers(regs)) return regs[(w.lin >> 30) & 3];
  return w.read_entry(addr, 8);
}

// Final permission check shared by all paging modes (SDM 4.6).
void check_access(Walker& w, bool all_w, bool all_u, bool any_nx) {
  Cpu& cpu = w.cpu;
  if (w.user && !all_u) w.fault(pf::P);
  if (w.acc == Acc::Write && !all_w && (w.user || (cpu.s.cr0 & cr0::WP))) w.fault(pf::P);
  if (w.acc == Acc::Exec) {
    if (any_nx) w.fault(pf::P);
    if (!w.user && all_u && (cpu.s.cr4 & cr4::SMEP)) w.fault(pf::P);
  }
  // SMAP (SDM 4.6.1): supervisor data accesses to user pages fault when
  // they are implicit (descriptor tables, TSS, IDT: at any CPL), made at
  // CPL 3 (necessarily implicit), or made with EFLAGS.AC = 0.
  if (!w.user && all_u && w.acc != Acc::Exec && (cpu.s.cr4 & cr4::SMAP) &&
      (cpu.implicit_access || cpu.s.cpl == 3 || !(cpu.s.rflags & fl::AC)))
    w.fault(pf::P);
}

// PAE-format walks (PAE, 4-level, 5-level): 8-byte entries.
Translation walk_long(Walker& w, int levels, uint64_t table) {
  Cpu& cpu = w.cpu;
  uint64_t entries[5];
  uint64_t addrs[5];
  int used = 0;
  bool all_w = true, all_u = true, any_nx = false;
  uint64_t page_size = 0;
  uint64_t base = 0;
  for (int level = levels; level >= 1; --level) {
    unsigned shift = 12 + 9 * (level - 1);
    uint64_t idx = (w.lin >> shift) & 0x1ff;
    if (levels == 3 && level == 3) idx = (w.lin >> 30) & 3;  // PAE PDPTE
    uint64_t addr = w.entry_address((table & w.phys_mask) + idx * 8);
    const bool pae_pdpte_level = levels == 3 && level == 3;
    uint64_t e = pae_pdpte_level ? pae_pdpte(w, addr) : w.read_entry(addr, 8);
    entries[used] = e;
    addrs[used] = addr;
    ++used;
    if (!(e & PTE_P)) w.fault(0);
    uint64_t rsvd = w.rsvd_high;
    if (!w.nxe) rsvd |= PTE_NX;
    bool pae_pdpte = levels == 3 && level == 3;
    if (pae_pdpte) rsvd |= 0x1e6 | PTE_NX;  // SDM 4.4.1: bits 2:1, 8:5, 63 reserved
    bool large = (e & PTE_PS) && level >= 2 && level <= 3 && !pae_pdpte;
    if ((e & PTE_PS) && level >= 4) rsvd |= PTE_PS;  // PML4E/PML5E bit 7 is reserved
    // PDPTE bit 7 is reserved without 1-GiB page support (SDM 4.5.4).
    if (large && level == 3 && !w.pages_1g) rsvd |= PTE_PS;
    if (level == 3 && large && !pae_pdpte) rsvd |= 0x3fffe000ull;  // 1 GiB page: bits 29:13
    if (level == 2 && large) rsvd |= 0x1fe000ull;                  // 2 MiB page: bits 20:13
    if (e & rsvd) w.fault(pf::P | pf::RSVD);
    if (!pae_pdpte) {
      all_w &= (e & PTE_W) != 0;
      all_u &= (e & PTE_U) != 0;
      any_nx |= (e & PTE_NX) && w.nxe;
    }
    if (level == 1 || large) {
      page_size = uint64_t(1) << shift;
      base = e & w.phys_mask & ~(page_size - 1);
      break;
    }
    table = e;
  }
  check_access(w, all_w, all_u, any_nx);
  // Set accessed bits on every level used, dirty on the leaf for writes.
  for (int i = 0; i < used; ++i) {
    bool pae_pdpte = levels == 3 && i == 0;
    if (pae_pdpte) continue;  // PAE PDPTEs have no A bit
    uint64_t e = entries[i];
    uint64_t ne = e | PTE_A;
    if (i == used - 1 && w.acc == Acc::Write) ne |= PTE_D;
    if (ne != e) w.write_entry(addrs[i], 8, ne);
    entries[i] = ne;
  }
  Translation t;
  t.phys = base | (w.lin & (page_size - 1));
  t.writable = all_w;
  t.user = all_u;
  t.nx = any_nx;
  t.dirty = (entries[used - 1] & PTE_D) != 0;
  t.page_shift = uint8_t(__builtin_ctzll(page_size));
  t.global = (entries[used - 1] & PTE_G) && (cpu.s.cr4 & cr4::PGE);
  return t;
}

// 32-bit paging: 4-byte entries, optional 4 MiB pages with CR4.PSE.
Translation walk_32(Walker& w) {
  Cpu& cpu = w.cpu;
  uint64_t pde_addr = w.entry_address((cpu.s.cr3 & 0xfffff000ull) + ((w.lin >> 22) & 0x3ff) * 4);
  uint64_t pde = w.read_entry(pde_addr, 4);
  if (!(pde & PTE_P)) w.fault(0);
  bool large = (pde & PTE_PS) && (cpu.s.cr4 & cr4::PSE);
  // A 4-MiB page's PDE bits (M-20):13 hold physical-address bits (M-1):32
  // and bits 21:(M-19) are reserved, M = min(MAXPHYADDR, 40) with PSE-36
  // and 32 without it (SDM 4.3, Table 4-4).
  const unsigned m = w.pse36 ? std::min(cpu.model.phys_addr_bits, uint8_t(40)) : 32;
  const uint64_t high_bits = (uint64_t(1) << (m - 32)) - 1;
  const uint64_t high_rsvd = ((uint64_t(1) << 22) - 1) & ~((uint64_t(1) << (13 + m - 32)) - 1);
  if (large && (pde & high_rsvd)) w.fault(pf::P | pf::RSVD);
  uint64_t pte = 0, pte_addr = 0, base;
  bool all_w = pde & PTE_W, all_u = pde & PTE_U;
  if (large) {
    base = (pde & 0xffc00000ull) | (((pde >> 13) & high_bits) << 32);
    base |= w.lin & 0x3fffff;
  } else {
    pte_addr = w.entry_address((pde & 0xfffff000ull) + ((w.lin >> 12) & 0x3ff) * 4);
    pte = w.read_entry(pte_addr, 4);
    if (!(pte & PTE_P)) w.fault(0);
    all_w &= (pte & PTE_W) != 0;
    all_u &= (pte & PTE_U) != 0;
    base = (pte & 0xfffff000ull) | (w.lin & 0xfff);
  }
  check_access(w, all_w, all_u, false);
  uint64_t npde = pde | PTE_A;
  if (large && w.acc == Acc::Write) npde |= PTE_D;
  if (npde != pde) w.write_entry(pde_addr, 4, npde);
  bool dirty = large ? (npde & PTE_D) : false;
  if (!large) {
    uint64_t npte = pte | PTE_A;
    if (w.acc == Acc::Write) npte |= PTE_D;
    if (npte != pte) w.write_entry(pte_addr, 4, npte);
    dirty = npte & PTE_D;
  }
  Translation t;
  t.phys = base;
  t.writable = all_w;
  t.user = all_u;
  t.nx = false;
  t.dirty = dirty;
  t.page_shift = large ? 22 : 12;
  t.global = ((large ? npde : pte) & PTE_G) && (cpu.s.cr4 & cr4::PGE);
  return t;
}

}  // namespace

Translation walk_page_tables(Cpu& cpu, uint64_t lin, Acc acc, bool user) {
  const unsigned maxphy = cpu.model.phys_addr_bits;
  Walker w{cpu, lin, acc, user,
           ((uint64_t(1) << maxphy) - 1) & ~uint64_t(0xfff),
           ((uint64_t(1) << 52) - 1) & ~((uint64_t(1) << maxphy) - 1),
           (cpu.s.efer & efer::NXE) != 0, ((cpu.model.cpuid(0x80000001, 0).edx >> 26) & 1) != 0,
           ((cpu.model.cpuid(1, 0).edx >> 17) & 1) != 0, cpu.nested_paging};
  if (!(cpu.s.cr4 & cr4::PAE)) return walk_32(w);
  if (cpu.s.efer & efer::LMA) {
    int levels = (cpu.s.cr4 & cr4::LA57) ? 5 : 4;
    return walk_long(w, levels, cpu.s.cr3);
  }
  return walk_long(w, 3, cpu.s.cr3 & 0xffffffe0ull);
}

}  // namespace softvt

namespace softvt {

void load_pae_pdptes(Cpu& cpu, uint64_t cr3) {
  const uint64_t table = cr3 & 0xffffffe0ull;
  const uint64_t reserved = 0x1e6ull | ~((uint64_t(1) << cpu.model.phys_addr_bits) - 1);
  uint64_t pdpte[4];
  for (unsigned i = 0; i < 4; ++i) {
    const uint64_t gpa = cpu.apply_a20(table + 8 * i);
    uint64_t hpa = gpa;
    // With a second level the PDPTE loads are guest-physical accesses
    // that have no guest-linear address (SDM Vol. 3C 28.2.1 Table 28-7
    // bit 7 = 0).
    if (cpu.nested_paging)
      hpa = cpu.nested_paging->translate(cpu, gpa, NestedAccess{Acc::Read, NestedKind::NoLinear}).hpa;
    pdpte[i] = cpu.mem.read_phys(hpa, 8);
  }
  for (unsigned i = 0; i < 4; ++i)
    if ((pdpte[i] & 1) && (pdpte[i] & reserved)) cpu.raise_gp0();
  uint64_t regs[4];
  if (cpu.nested_paging && cpu.nested_paging->pdpte_registers(regs)) cpu.nested_paging->set_pdpte_registers(pdpte);
}

}  // namespace softvt
