// EPT (vmx/ept.h): the walk of SDM Vol. 3C 29.3.2 "EPT Translation
// Mechanism", the misconfigurations of 29.3.3.1, the violations of
// 29.3.3.2, the accessed and dirty flags of 29.3.5, and the VM exits they
// cause (28.2.1 Table 28-7, 29.2.x "Guest-Physical Address").
#include "vmx/ept.h"

#include "emu/cpu.h"
#include "vmx/apic_virtualization.h"
#include "vmx/controls.h"
#include "vmx/exit.h"
#include "vmx/event_exits.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {
namespace {

bool cap(uint64_t caps, unsigned bit) { return (caps >> bit) & 1; }

uint64_t bits_between(unsigned hi, unsigned lo) { return ((~uint64_t(0)) >> (63 - hi)) & ~((uint64_t(1) << lo) - 1); }

// Misconfigurations of a present entry (SDM 29.3.3.1), or nullptr.
// `level` 5..1; `large` = bit 7 at level 3 or 2.
const char* misconfiguration(uint64_t e, unsigned level, bool leaf, uint64_t caps, unsigned maxphy) {
  const uint64_t rwx = e & ept_entry::RWX;
  // Write permission without read permission (bits 2:0 = 010b or 110b).
  if ((rwx & 3) == ept_entry::WRITE) return "write without read";
  // Execute-only (100b) without the execute-only capability.
  if (rwx == ept_entry::EXEC && !cap(caps, ept_cap::EXEC_ONLY)) return "execute-only not supported";
  // Reserved bits: bits 51:MAXPHYADDR at every level.
  if (e & bits_between(51, maxphy)) return "reserved bits above MAXPHYADDR";
  const bool large = (e & ept_entry::LARGE) && (level == 3 || level == 2);
  if (level >= 4 && (e & bits_between(7, 3))) return "reserved bits 7:3 of a PML4E/PML5E";
  if (level == 3 && large && !cap(caps, ept_cap::PAGES_1G)) return "1-GiB page not supported";
  if (level == 2 && large && !cap(caps, ept_cap::PAGES_2M)) return "2-MiB page not supported";
  if (level == 3 && large && (e & bits_between(29, 12))) return "reserved bits 29:12 of a 1-GiB page";
  if (level == 2 && large && (e & bits_between(20, 12))) return "reserved bits 20:12 of a 2-MiB page";
  if ((level == 3 || level == 2) && !large && (e & bits_between(6, 3))) return "reserved bits 6:3 of a non-leaf entry";
  // The memory type of a leaf: 2, 3 and 7 are reserved.
  if (leaf) {
    const unsigned mt = (e >> ept_entry::MEMTYPE_SHIFT) & 7;
    if (mt == 2 || mt == 3 || mt == 7) return "reserved memory type";
  }
  return nullptr;
}

}  // namespace

bool eptp_valid(uint64_t eptp, uint64_t caps, unsigned phys_addr_bits) {
  const unsigned mt = eptp & eptp_bits::MEMTYPE_MASK;
  if (!((mt == 0 && cap(caps, ept_cap::UC)) || (mt == 6 && cap(caps, ept_cap::WB)))) return false;
  const unsigned walk = (eptp >> eptp_bits::WALK_LENGTH_SHIFT) & 7;
  if (!((walk == 3 && cap(caps, ept_cap::WALK_4)) || (walk == 4 && cap(caps, ept_cap::WALK_5)))) return false;
  if ((eptp & eptp_bits::AD_ENABLE) && !cap(caps, ept_cap::AD)) return false;
  return (eptp & bits_between(11, 7)) == 0 && (eptp >> phys_addr_bits) == 0;
}

EptWalkResult EptWalker::walk(uint64_t gpa, bool write, bool fetch) const {
  EptWalkResult r;
  const uint64_t addr_mask = bits_between(phys_addr_bits - 1, 12);
  const unsigned levels = ((eptp >> eptp_bits::WALK_LENGTH_SHIFT) & 7) + 1;
  uint64_t table = eptp & addr_mask;
  r.rwx = ept_entry::RWX;
  for (unsigned level = levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t addr = table + ((gpa >> shift) & 0x1ff) * 8;
    if (inspect && addr + 8 > mem.ram_size()) {
      r.outcome = EptWalkResult::Violation;
      r.why = "entry outside RAM";
      return r;
    }
    const uint64_t e = mem.read_phys(addr, 8);
    r.entries[r.used++] = EptWalkResult::Entry{level, addr, e};
    r.level = level;
    r.rwx &= uint32_t(e & ept_entry::RWX);
    // Not present: bits 2:0 all 0 (no mode-based execute control).
    if (!(e & ept_entry::RWX)) {
      r.outcome = EptWalkResult::Violation;
      return r;
    }
    const bool leaf = level == 1 || ((e & ept_entry::LARGE) && (level == 3 || level == 2));
    if (const char* why = misconfiguration(e, level, leaf, caps, phys_addr_bits)) {
      r.outcome = EptWalkResult::Misconfig;
      r.why = why;
      return r;
    }
    if (leaf) {
      r.page_shift = shift;
      const uint64_t size = uint64_t(1) << shift;
      r.hpa = (e & addr_mask & ~(size - 1)) | (gpa & (size - 1));
      r.memory_type = uint8_t((e >> ept_entry::MEMTYPE_SHIFT) & 7);
      r.ignore_pat = e & ept_entry::IGNORE_PAT;
      break;
    }
    table = e & addr_mask;
  }
  // SDM 29.3.3.2: the access needs R (reads), W (writes), X (fetches) in
  // every entry used.
  const uint32_t need = fetch ? ept_entry::EXEC : write ? ept_entry::WRITE : ept_entry::READ;
  if (!(r.rwx & need)) {
    r.outcome = EptWalkResult::Violation;
    return r;
  }
  // SDM 29.3.5: with EPTP[6], the accessed flag of every entry used and,
  // for a write, the dirty flag of the leaf (only for a walk that
  // succeeds: softvt sets no flag for a faulting access, docs/decisions.md).
  const bool ad = (eptp & eptp_bits::AD_ENABLE) && !inspect;
  uint64_t leaf = r.entries[r.used - 1].value;
  if (ad) {
    for (unsigned i = 0; i < r.used; ++i) {
      uint64_t ne = r.entries[i].value | ept_entry::ACCESSED;
      if (i == r.used - 1 && write) ne |= ept_entry::DIRTY;
      if (ne != r.entries[i].value) mem.write_phys(r.entries[i].addr, 8, ne);
      if (i == r.used - 1) leaf = ne;
    }
  }
  r.dirty = leaf & ept_entry::DIRTY;
  return r;
}

namespace {

uint64_t access_bits(Acc acc) {
  switch (acc) {
    case Acc::Write: return ept_qual::WRITE;
    case Acc::Exec: return ept_qual::FETCH;
    default: return ept_qual::READ;
  }
}

// The EPT-violation exit qualification (SDM 28.2.1 Table 28-7). Accesses
// to guest paging-structure entries are reads, or - setting an accessed
// or dirty flag, or any of them with EPT A/D flags enabled - locked
// read-modify-writes (bits 0 and 1); bit 7 is clear only for the PDPTE
// loads of MOV to CR (no guest-linear address); bit 8 tells the final
// access from a paging-structure access. Bit 12 (NMI unblocking by IRET)
// is added by ept_exit.
uint64_t violation_qualification(const NestedAccess& a, bool walk_as_write, uint32_t rwx) {
  uint64_t q = access_bits(a.acc);
  if (a.kind == NestedKind::GuestWalk && (walk_as_write || a.acc == Acc::Write)) q = ept_qual::READ | ept_qual::WRITE;
  q |= uint64_t(rwx & ept_entry::RWX) << ept_qual::PERM_SHIFT;
  if (a.kind != NestedKind::NoLinear) q |= ept_qual::LINEAR_VALID;
  if (a.kind == NestedKind::Final) q |= ept_qual::FINAL;
  return q;
}

[[noreturn]] void ept_exit(Cpu& cpu, uint32_t reason, uint64_t qualification, uint64_t gpa, const NestedAccess& a) {
  ExitInfo x;
  x.reason = reason;
  x.qualification = qualification;
  // The guest-linear address field: for EPT violations whose bit 7 is set
  // (SDM 28.2.1); undefined for misconfigurations, where softvt leaves it.
  if (reason == exit_reason::EPT_VIOLATION && a.kind != NestedKind::NoLinear) {
    x.has_guest_linear = true;
    x.guest_linear = a.lin;
  }
  // The event being delivered, if any, and RF (SDM 28.2.4, 29.3.3).
  // Otherwise, an EPT violation of an IRET that unblocked NMIs (virtual
  // NMIs with that control) sets bit 12 (SDM 28.2.1 Table 28-7, 28.2.3);
  // the saved interruptibility already shows the unblocking.
  const bool delivering = record_access_exit_context(cpu, x);
  if (reason == exit_reason::EPT_VIOLATION && !delivering && nmi_unblocking_bit(cpu))
    x.qualification |= ept_qual::NMI_UNBLOCKING;
  // The guest-physical address field (SDM 28.2.1 "guest-physical address").
  write_field(cpu.vmx, field::GUEST_PHYSICAL_ADDRESS, gpa);
  if (cpu.tracer)
    cpu.tracer->note(cpu, std::string(reason == exit_reason::EPT_VIOLATION ? "EPT violation" : "EPT misconfiguration") +
                              " at guest-physical " + std::to_string(gpa));
  vm_exit(cpu, x);
  throw NestedPagingExit{};
}

}  // namespace

NestedTranslation Ept::translate(Cpu& cpu, uint64_t gpa, const NestedAccess& a) {
  const bool ad = eptp & eptp_bits::AD_ENABLE;
  // With EPT A/D flags, every access to a guest paging-structure entry is
  // a write for EPT (SDM 29.3.3.2, 29.3.5).
  const bool walk_as_write = ad && a.kind == NestedKind::GuestWalk;
  const bool write = a.acc == Acc::Write || walk_as_write;
  const bool fetch = a.acc == Acc::Exec;
  const EptWalker w{cpu.mem, eptp, cpu.model.vmx.ept_vpid, cpu.model.phys_addr_bits};
  const EptWalkResult r = w.walk(gpa, write, fetch);
  if (r.outcome == EptWalkResult::Misconfig) {
    if (cpu.tracer) cpu.tracer->note(cpu, std::string("EPT misconfiguration: ") + r.why);
    ept_exit(cpu, exit_reason::EPT_MISCONFIG, 0, gpa, a);
  }
  if (r.outcome == EptWalkResult::Violation)
    ept_exit(cpu, exit_reason::EPT_VIOLATION, violation_qualification(a, walk_as_write, r.rwx), gpa, a);
  // The guest's page walk or a PDPTE load reaching the APIC-access page
  // (vmx/apic_virtualization.h): an APIC-access exit, below EPT violations.
  if (a.kind != NestedKind::Final) check_guest_physical_apic_access(cpu, r.hpa);
  // What the TLB may cache: the translation's permissions, without write
  // permission while A/D flags are on and the leaf is not yet dirty (the
  // first write must walk again to set it).
  uint32_t perm = 0;
  if (r.rwx & ept_entry::READ) perm |= nested_perm::READ;
  if ((r.rwx & ept_entry::WRITE) && (!ad || r.dirty)) perm |= nested_perm::WRITE;
  if (r.rwx & ept_entry::EXEC) perm |= nested_perm::EXEC;
  return NestedTranslation{r.hpa, perm};
}

bool Ept::pdpte_registers(uint64_t out[4]) const {
  for (unsigned i = 0; i < 4; ++i) out[i] = pdpte[i];
  return true;
}

void Ept::set_pdpte_registers(const uint64_t in[4]) {
  for (unsigned i = 0; i < 4; ++i) pdpte[i] = in[i];
}

}  // namespace softvt::vmx
