// Nested paging (svm/npt.h): the walk of the nested page tables in the
// host's format (AMD APM Vol. 2 5.2 "Legacy-Mode Page Translation" with
// 32-bit or PAE entries, 5.3 "Long-Mode Page Translation", as 15.25.3 -
// 15.25.5 apply them to guest-physical addresses) and the #VMEXIT(NPF) of
// 15.25.6.
#include "svm/npt.h"

#include <algorithm>

#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "svm/intercepts.h"
#include "svm/vmcb.h"
#include "svm/vmexit.h"

namespace softvt::svm {
namespace {

constexpr uint64_t PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80;
constexpr uint64_t PTE_NX = 1ull << 63;

uint64_t bits_between(unsigned hi, unsigned lo) { return ((~uint64_t(0)) >> (63 - hi)) & ~((uint64_t(1) << lo) - 1); }

// Reserved bits of a present legacy-PAE entry (APM 5.2.3, Figures 5-9 -
// 5-13; Intel SDM Vol. 3A Tables 4-8 - 4-11 agree): bits 62:MAXPHYADDR
// (62:52 too, unlike long mode where they are available), NX without
// EFER.NXE, bits 20:13 of a 2-Mbyte page; a PDPE has no R/W, U/S, A, PS or
// NX: bits 2:1, 8:5 and 63 are reserved.
uint64_t pae_reserved_bits(const NptWalker& w, uint64_t e, unsigned level) {
  uint64_t rsvd = bits_between(62, w.phys_addr_bits);
  if (level == 3) return rsvd | 0x1e6 | PTE_NX;
  if (!w.nxe) rsvd |= PTE_NX;
  if (level == 2 && (e & PTE_PS)) rsvd |= bits_between(20, 13);
  return rsvd;
}

// Reserved bits of a present long-mode entry (APM 5.3.3, Figures 5-18 -
// 5-23; the same rules as the host's own walk in emu/paging.cpp): bits
// 51:MAXPHYADDR, NX without EFER.NXE, PS in a PML4E/PML5E, PS in a PDPE
// without 1-Gbyte pages, bits 29:13 of a 1-Gbyte and 20:13 of a 2-Mbyte
// page.
uint64_t reserved_bits(const NptWalker& w, uint64_t e, unsigned level) {
  if (w.levels == 3) return pae_reserved_bits(w, e, level);
  uint64_t rsvd = bits_between(51, w.phys_addr_bits);
  if (!w.nxe) rsvd |= PTE_NX;
  if (level >= 4) return rsvd | PTE_PS;
  if (!(e & PTE_PS) || level == 1) return rsvd;
  if (level == 3) return rsvd | (w.pages_1g ? bits_between(29, 13) : PTE_PS);
  return rsvd | bits_between(20, 13);
}

// A legacy PAE table's PDPE has no permission, accessed or page-size bit.
bool is_pae_pdpe(const NptWalker& w, unsigned level) { return w.levels == 3 && level == 3; }

}  // namespace

NptWalkResult NptWalker::walk(uint64_t gpa, bool write, bool fetch) const {
  // The error code of a failure (APM 8.4.2): RW for a write; US always
  // (nested accesses are user accesses, 15.25.5); ID for a fetch when NX
  // is enabled (the I/D bit is defined only then: EFER.NXE with PAE-format
  // entries).
  const uint64_t error = npf::US | (write ? npf::RW : 0) | (fetch && nxe && levels >= 3 ? npf::ID : 0);
  if (levels == 2) return walk_legacy(gpa, write, error);
  NptWalkResult r;
  const uint64_t addr_mask = bits_between(phys_addr_bits - 1, 12);
  // A PAE host's N_CR3 holds the 32-byte aligned PDPT at bits 31:5 (APM
  // 5.2.1, the legacy CR3 format).
  uint64_t table = levels == 3 ? (n_cr3 & 0xffffffe0u) : (n_cr3 & addr_mask);
  bool all_w = true, all_u = true, any_nx = false;
  for (unsigned level = levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    // PAE: four PDPEs indexed by bits 31:30. A legacy host's formats
    // translate 32-bit addresses: higher guest-physical bits are not
    // looked at (as Linux's nested SVM walks a 32-bit host's tables).
    // The nested PDPEs are read from memory on each walk: no instruction
    // loads them as MOV CR3 loads a PAE host's own, and Linux's nested
    // SVM reads them from memory each time (nested_svm_get_tdp_pdptr).
    const uint64_t index = is_pae_pdpe(*this, level) ? ((gpa >> 30) & 3) : ((gpa >> shift) & 0x1ff);
    const uint64_t addr = table + index * 8;
    if (inspect && addr + 8 > mem.ram_size()) {
      r.outside_ram = true;
      r.error = error;
      return r;
    }
    const uint64_t e = mem.read_phys(addr, 8);
    r.entries[r.used++] = NptWalkResult::Entry{level, addr, e};
    if (!(e & PTE_P)) {
      r.error = error;
      return r;
    }
    if (e & reserved_bits(*this, e, level)) {
      r.error = error | npf::P | npf::RSV;
      return r;
    }
    if (is_pae_pdpe(*this, level)) {
      table = e & addr_mask;
      continue;
    }
    all_w &= (e & PTE_W) != 0;
    all_u &= (e & PTE_U) != 0;
    any_nx |= nxe && (e & PTE_NX);
    if (level == 1 || (e & PTE_PS)) {
      r.page_shift = shift;
      const uint64_t size = uint64_t(1) << shift;
      r.hpa = (e & addr_mask & ~(size - 1)) | (gpa & (size - 1));
      break;
    }
    table = e & addr_mask;
  }
  // Protection (APM 5.6 as a user access): U/S in every entry, W for a
  // write, no NX for a fetch.
  if (!all_u || (write && !all_w) || (fetch && any_nx)) {
    r.error = error | npf::P;
    return r;
  }
  // Accessed bits of every entry used, the dirty bit of the leaf for a
  // write (APM 5.4.1, 15.25.5: the nested walk updates them as a host walk
  // does).
  for (unsigned i = 0; i < r.used && !inspect; ++i) {
    if (levels == 3 && i == 0) continue;  // a PAE PDPE has no A bit
    uint64_t ne = r.entries[i].value | PTE_A;
    if (i == r.used - 1 && write) ne |= PTE_D;
    if (ne != r.entries[i].value) mem.write_phys(r.entries[i].addr, 8, ne);
    r.entries[i].value = ne;
  }
  r.ok = true;
  r.writable = all_w;
  r.nx = any_nx;
  r.dirty = (r.entries[r.used - 1].value & PTE_D) != 0;
  return r;
}

// The legacy 32-bit format (APM 5.2.2 "Non-PAE Paging", Figures 5-4 -
// 5-7): 4-byte entries, a PDE with PS = 1 maps a 4-Mbyte page only with
// the host's CR4.PSE (otherwise PS is ignored and the PDE points to a page
// table); with PSE-36 (AMD's PSE-40) a 4-Mbyte PDE's bits 20:13 give
// physical-address bits 39:32 up to MAXPHYADDR, the rest of 21:13 are
// reserved. No NX.
NptWalkResult NptWalker::walk_legacy(uint64_t gpa, bool write, uint64_t error) const {
  NptWalkResult r;
  const uint64_t pde_addr = (n_cr3 & 0xfffff000u) + ((gpa >> 22) & 0x3ff) * 4;
  if (inspect && pde_addr + 4 > mem.ram_size()) {
    r.outside_ram = true;
    r.error = error;
    return r;
  }
  const uint64_t pde = mem.read_phys(pde_addr, 4);
  r.entries[r.used++] = NptWalkResult::Entry{2, pde_addr, pde};
  if (!(pde & PTE_P)) {
    r.error = error;
    return r;
  }
  const bool large = pse && (pde & PTE_PS);
  bool all_w = (pde & PTE_W) != 0, all_u = (pde & PTE_U) != 0;
  uint64_t leaf_addr = pde_addr, leaf = pde;
  if (large) {
    const unsigned m = pse36 ? std::min(phys_addr_bits, 40u) : 32;
    if (pde & bits_between(21, 13 + m - 32)) {
      r.error = error | npf::P | npf::RSV;
      return r;
    }
    const uint64_t high = (pde >> 13) & ((uint64_t(1) << (m - 32)) - 1);
    r.hpa = (pde & 0xffc00000u) | (high << 32) | (gpa & 0x3fffff);
    r.page_shift = 22;
  } else {
    leaf_addr = (pde & 0xfffff000u) + ((gpa >> 12) & 0x3ff) * 4;
    if (inspect && leaf_addr + 4 > mem.ram_size()) {
      r.outside_ram = true;
      r.error = error;
      return r;
    }
    leaf = mem.read_phys(leaf_addr, 4);
    r.entries[r.used++] = NptWalkResult::Entry{1, leaf_addr, leaf};
    if (!(leaf & PTE_P)) {
      r.error = error;
      return r;
    }
    all_w &= (leaf & PTE_W) != 0;
    all_u &= (leaf & PTE_U) != 0;
    r.hpa = (leaf & 0xfffff000u) | (gpa & 0xfff);
  }
  if (!all_u || (write && !all_w)) {
    r.error = error | npf::P;
    return r;
  }
  if (inspect) {
    r.ok = true;
    r.writable = all_w;
    r.dirty = (leaf & PTE_D) != 0;
    return r;
  }
  if (!(pde & PTE_A) || (large && write && !(pde & PTE_D)))
    mem.write_phys(pde_addr, 4, pde | PTE_A | (large && write ? PTE_D : 0));
  if (!large) {
    const uint64_t nl = leaf | PTE_A | (write ? PTE_D : 0);
    if (nl != leaf) mem.write_phys(leaf_addr, 4, nl);
    leaf = nl;
  } else {
    leaf = pde | PTE_A | (write ? PTE_D : 0);
  }
  r.ok = true;
  r.writable = all_w;
  r.dirty = (leaf & PTE_D) != 0;
  return r;
}

namespace {

[[noreturn]] void npf_exit(Cpu& cpu, uint64_t info1, uint64_t gpa) {
  note_event_in_delivery(cpu);
  ExitInfo x;
  x.code = exit_code::NPF;
  x.info1 = info1;
  x.info2 = gpa;
  // NRIP is not saved for NPF (APM 15.7.1: only instruction intercepts
  // have a next RIP); decode assists save the instruction bytes at RIP
  // (APM "Decode Assists": #NPF and intercepted #PF).
  x.insn_bytes = true;
  vmexit(cpu, x);
  throw NestedPagingExit{};
}

}  // namespace

NestedTranslation Npt::translate(Cpu& cpu, uint64_t gpa, const NestedAccess& a) {
  // Every access to the guest's page tables is a write for the nested
  // translation, whether or not an A/D bit changes (real hardware: a
  // read-only nested page holding a guest page table faults with RW = 1
  // on any walk, kvm-unit-tests svm_npt "npt_rw_pfwalk" and the
  // "npt_access_paddr" tests). The PDPTE loads of a PAE guest (no linear
  // address) are guest page-table accesses too.
  const bool table_access = a.kind != NestedKind::Final;
  const bool write = table_access || a.acc == Acc::Write;
  const bool fetch = !table_access && a.acc == Acc::Exec;
  const NptWalker w{cpu.mem, n_cr3, levels, nxe, pages_1g, cpu.model.phys_addr_bits, pse, pse36};
  const NptWalkResult r = w.walk(gpa, write, fetch);
  if (!r.ok) {
    if (quiet) throw NestedPagingExit{};
    npf_exit(cpu, r.error | (table_access ? npf::GUEST_PAGE : npf::FINAL), gpa);
  }
  // What the TLB may cache: read (every nested access is a user access,
  // which the walk allowed), write once the leaf is dirty, execute without
  // NX.
  uint32_t perm = nested_perm::READ;
  if (r.writable && r.dirty) perm |= nested_perm::WRITE;
  if (!r.nx) perm |= nested_perm::EXEC;
  return NestedTranslation{r.hpa, perm};
}

// The host's paging mode as the nested tables' format (APM 15.25.3): long
// mode with EFER.LMA (5 levels with CR4.LA57), else PAE with CR4.PAE, else
// 32-bit paging (with CR4.PSE's 4-Mbyte pages). VMRUN's checks made sure
// the host's CR0.PG is 1.
static unsigned host_paging_levels(const Cpu& cpu) {
  if (cpu.s.efer & efer::LMA) return (cpu.s.cr4 & cr4::LA57) ? 5 : 4;
  return (cpu.s.cr4 & cr4::PAE) ? 3 : 2;
}

Npt host_nested_paging(const Cpu& cpu, uint64_t n_cr3) {
  Npt npt;
  npt.n_cr3 = n_cr3;
  npt.levels = host_paging_levels(cpu);
  npt.nxe = (cpu.s.efer & efer::NXE) != 0 && npt.levels >= 3;
  npt.pse = npt.levels == 2 && (cpu.s.cr4 & cr4::PSE);
  npt.pse36 = ((cpu.model.cpuid(1, 0).edx >> 17) & 1) != 0;
  npt.pages_1g = model_has(cpu.model, "pdpe1gb");
  return npt;
}

void enter_nested_paging(Cpu& cpu, uint64_t n_cr3) {
  cpu.svm.npt = host_nested_paging(cpu, n_cr3);
  cpu.nested_paging = &cpu.svm.npt;
}

void leave_nested_paging(Cpu& cpu) { cpu.nested_paging = nullptr; }

bool g_pat_valid(uint64_t g_pat) {
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned field = unsigned(g_pat >> (8 * i)) & 0xff;
    if (field == 2 || field == 3 || field > 7) return false;
  }
  return true;
}

}  // namespace softvt::svm
