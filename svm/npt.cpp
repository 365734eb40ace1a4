// Nested paging (svm/npt.h): the walk of the nested page tables in the
// long-mode format (AMD APM Vol. 2 5.3 "Long-Mode Page Translation", as
// 15.25.3 - 15.25.5 apply it to guest-physical addresses) and the
// #VMEXIT(NPF) of 15.25.6.
#include "svm/npt.h"

#include <string>

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

// Reserved bits of a present long-mode entry (APM 5.3.3, Figures 5-18 -
// 5-23; the same rules as the host's own walk in emu/paging.cpp): bits
// 51:MAXPHYADDR, NX without EFER.NXE, PS in a PML4E/PML5E, PS in a PDPE
// without 1-Gbyte pages, bits 29:13 of a 1-Gbyte and 20:13 of a 2-Mbyte
// page.
uint64_t reserved_bits(const NptWalker& w, uint64_t e, unsigned level) {
  uint64_t rsvd = bits_between(51, w.phys_addr_bits);
  if (!w.nxe) rsvd |= PTE_NX;
  if (level >= 4) return rsvd | PTE_PS;
  if (!(e & PTE_PS) || level == 1) return rsvd;
  if (level == 3) return rsvd | (w.pages_1g ? bits_between(29, 13) : PTE_PS);
  return rsvd | bits_between(20, 13);
}

}  // namespace

NptWalkResult NptWalker::walk(uint64_t gpa, bool write, bool fetch) const {
  NptWalkResult r;
  const uint64_t addr_mask = bits_between(phys_addr_bits - 1, 12);
  // The error code of a failure (APM 8.4.2): RW for a write; US always
  // (nested accesses are user accesses, 15.25.5); ID for a fetch when NX
  // is enabled (the I/D bit is defined only then).
  uint64_t error = npf::US | (write ? npf::RW : 0) | (fetch && nxe ? npf::ID : 0);
  uint64_t table = n_cr3 & addr_mask;
  bool all_w = true, all_u = true, any_nx = false;
  for (unsigned level = levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t addr = table + ((gpa >> shift) & 0x1ff) * 8;
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

namespace {

// EXITINTINFO of an NPF during the delivery of an event (APM 15.7.2): the
// event, as Cpu::deliver_event records it.
void note_event_in_delivery(Cpu& cpu) {
  const Cpu::EventInDelivery& d = cpu.delivering;
  // EVENTINJ's event is already recorded as the VMCB gave it.
  if (!d.valid || cpu.svm.injecting) return;
  cpu.svm.delivering = EventInDelivery{true, exitintinfo_of(d.vector, d.type, d.error), cpu.s.rip,
                                       cpu.s.insn_count};
}

[[noreturn]] void npf_exit(Cpu& cpu, uint64_t info1, uint64_t gpa) {
  note_event_in_delivery(cpu);
  if (cpu.tracer)
    cpu.tracer->note(cpu, "SVM: nested page fault at guest-physical " + std::to_string(gpa) + ", EXITINFO1 " +
                              std::to_string(info1));
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
  const NptWalker w{cpu.mem, n_cr3, levels, nxe, pages_1g, cpu.model.phys_addr_bits};
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

bool npt_host_mode_supported(const Cpu& cpu) { return (cpu.s.efer & efer::LMA) != 0; }

void enter_nested_paging(Cpu& cpu, uint64_t n_cr3) {
  Npt& npt = cpu.svm.npt;
  npt.n_cr3 = n_cr3;
  npt.levels = (cpu.s.cr4 & cr4::LA57) ? 5 : 4;
  npt.nxe = (cpu.s.efer & efer::NXE) != 0;
  npt.pages_1g = model_has(cpu.model, "pdpe1gb");
  npt.quiet = false;
  cpu.nested_paging = &npt;
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
