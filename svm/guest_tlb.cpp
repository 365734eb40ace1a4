#include "svm/guest_tlb.h"

#include "emu/cpu.h"
#include "svm/controls.h"

namespace softvt::svm {

uint64_t paging_key(const Cpu& cpu) {
  constexpr uint64_t cr0_bits = cr0::PE | cr0::PG | cr0::WP | cr0::CD | cr0::NW;
  constexpr uint64_t cr4_bits =
      cr4::PAE | cr4::PSE | cr4::PGE | cr4::PCIDE | cr4::SMEP | cr4::SMAP | cr4::LA57 | cr4::PKE;
  constexpr uint64_t efer_bits = efer::NXE | efer::LME | efer::LMA;
  return (cpu.s.cr0 & cr0_bits) | ((cpu.s.cr4 & cr4_bits) << 32) | ((cpu.s.efer & efer_bits) << 48);
}

namespace {

void apply_tlb_control(Cpu& cpu, uint8_t tlb_control) {
  switch (tlb_control) {
    case tlb_control::NOTHING: return;
    case tlb_control::FLUSH_ASID: cpu.flush_tlb_context(true); return;
    case tlb_control::FLUSH_ASID_NON_GLOBAL: cpu.flush_tlb_context(false); return;
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

}  // namespace

void enter_guest_tlb(Cpu& cpu, uint32_t asid, uint8_t tlb_control) {
  // The context field has 20 bits; CPUID reports 8000H ASIDs. An ASID too
  // wide for it (no VMRUN check rejects one) shares the last context and
  // has it flushed at every VMRUN, so it never sees another's entries.
  constexpr uint32_t MAX_CONTEXT = 0xfffff;
  if (asid >= MAX_CONTEXT) {
    asid = MAX_CONTEXT;
    if (tlb_control == tlb_control::NOTHING || tlb_control == tlb_control::FLUSH_ASID_NON_GLOBAL)
      tlb_control = tlb_control::FLUSH_ASID;
  }
  cpu.set_tlb_context(asid);
  apply_tlb_control(cpu, tlb_control);
  auto [it, inserted] = cpu.svm.asid_paging_keys.try_emplace(asid, 0);
  drop_if_paging_controls_changed(cpu, it->second, !inserted);
}

void leave_guest_tlb(Cpu& cpu) {
  cpu.set_tlb_context(0);
  drop_if_paging_controls_changed(cpu, cpu.svm.host_paging_key, true);
}

}  // namespace softvt::svm
