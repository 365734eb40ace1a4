#include "svm/guest_tlb.h"

#include "emu/cpu.h"
#include "svm/controls.h"

namespace softvt::svm {

using namespace svm_context;

uint64_t paging_key(const Cpu& cpu) {
  constexpr uint64_t cr0_bits = cr0::PE | cr0::PG | cr0::WP | cr0::CD | cr0::NW;
  constexpr uint64_t cr4_bits =
      cr4::PAE | cr4::PSE | cr4::PGE | cr4::PCIDE | cr4::SMEP | cr4::SMAP | cr4::LA57 | cr4::PKE;
  constexpr uint64_t efer_bits = efer::NXE | efer::LME | efer::LMA;
  return (cpu.s.cr0 & cr0_bits) | ((cpu.s.cr4 & cr4_bits) << 32) | ((cpu.s.efer & efer_bits) << 48);
}

namespace {

// The entries of every context of `asid` (every nested tag and PCID).
void flush_asid(Cpu& cpu, uint32_t asid, bool include_global) {
  cpu.flush_tlb_if([asid, include_global](const TlbEntry& e) {
    return e.tag && asid_of(e.space) == asid && (include_global || !(e.perm & tlb_perm::GLOBAL));
  });
}

void apply_tlb_control(Cpu& cpu, uint32_t asid, uint8_t tlb_control) {
  switch (tlb_control) {
    case tlb_control::NOTHING: return;
    case tlb_control::FLUSH_ASID: flush_asid(cpu, asid, true); return;
    case tlb_control::FLUSH_ASID_NON_GLOBAL: flush_asid(cpu, asid, false); return;
    // 01h and the values the APM reserves: every entry (flushing more
    // is always allowed).
    default: cpu.flush_tlb(); return;
  }
}

// softvt's entries carry permissions derived from CR0.WP, CR4.SMEP, EFER.NXE,
// ...: when a context is entered with other paging controls than its
// entries were made with, they are dropped (a TLB may drop entries at any
// time; keeping them would apply the old controls).
void drop_if_paging_controls_changed(Cpu& cpu, uint64_t& recorded, bool known) {
  const uint64_t key = paging_key(cpu);
  if (known && recorded != key) cpu.flush_tlb_context(true);
  recorded = key;
}

// The tag of the running guest's nested root (0 without nested paging):
// the one it has, a free one, or one taken from another root whose
// translations are dropped. The host's paging mode is part of the key: the
// same tables walked with another EFER.NXE, format (2 - 5 levels) or
// CR4.PSE translate differently. The root: bits 31:5 for a PAE host's
// PDPT, above 11 otherwise; bits 4:0 hold the mode.
uint32_t npt_tag_for(Cpu& cpu) {
  SvmState& st = cpu.svm;
  if (!st.nested) return 0;
  const Npt& n = st.npt;
  const uint64_t root = n.levels == 3 ? (n.n_cr3 & 0xffffffe0u) : (n.n_cr3 & ~uint64_t(0xfff));
  const uint64_t key = root | 1 | (n.nxe ? 2 : 0) | uint64_t(n.levels - 2) << 2 | (n.pse ? 0x10 : 0);
  for (uint32_t i = 1; i <= NPT_TAGS; ++i)
    if (st.npt_tags[i] == key) return i;
  for (uint32_t i = 1; i <= NPT_TAGS; ++i)
    if (!st.npt_tags[i]) {
      st.npt_tags[i] = key;
      return i;
    }
  const uint32_t victim = st.npt_next_victim;
  st.npt_next_victim = victim % NPT_TAGS + 1;
  cpu.flush_tlb_if([victim](const TlbEntry& e) { return e.tag && npt_tag_of(e.space) == victim; });
  st.npt_tags[victim] = key;
  return victim;
}

}  // namespace

void enter_guest_tlb(Cpu& cpu, uint32_t asid, uint8_t tlb_control) {
  // The ASID field has 16 bits here; CPUID reports 8000H ASIDs. An ASID
  // too wide for it (no VMRUN check rejects one) shares the last value and
  // has it flushed at every VMRUN, so it never sees another's entries.
  if (asid >= ASID_MASK) {
    asid = ASID_MASK;
    if (tlb_control == tlb_control::NOTHING || tlb_control == tlb_control::FLUSH_ASID_NON_GLOBAL)
      tlb_control = tlb_control::FLUSH_ASID;
  }
  const uint32_t tag = npt_tag_for(cpu);
  cpu.set_tlb_context(asid | (tag << NPT_TAG_SHIFT));
  apply_tlb_control(cpu, asid, tlb_control);
  auto [it, inserted] = cpu.svm.asid_paging_keys.try_emplace(asid | (tag << NPT_TAG_SHIFT), 0);
  drop_if_paging_controls_changed(cpu, it->second, !inserted);
}

void leave_guest_tlb(Cpu& cpu) {
  cpu.set_tlb_context(0);
  drop_if_paging_controls_changed(cpu, cpu.svm.host_paging_key, true);
}

void invalidate_asid_page(Cpu& cpu, uint32_t asid, uint64_t lin) {
  // An ASID beyond the context's field shares the last value (enter_guest_tlb).
  if (asid > ASID_MASK) asid = ASID_MASK;
  cpu.flush_tlb_if([asid, lin](const TlbEntry& e) {
    return e.tag && asid_of(e.space) == asid && Cpu::tlb_entry_maps_page(e, lin);
  });
}

}  // namespace softvt::svm
