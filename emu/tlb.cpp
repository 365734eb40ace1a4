// Software-TLB maintenance: the address-space tag of the current context
// and the invalidations of SDM 4.10.4.1 in terms of it (MOV CR3/CR4,
// INVLPG, INVPCID call these), and the A20 mask (A20M#).
#include "emu/cpu.h"

namespace softvt {

namespace {

constexpr TlbEntry kInvalid{0, nullptr, 0, 0, 0};

bool is_global(const TlbEntry& e) { return (e.perm & tlb_perm::GLOBAL) != 0; }

// Whether the entry caches a translation of the page that holds `lin`: the
// 4-KiB page itself, or any 4-KiB piece of a larger page covering `lin`
// (INVLPG and INVPCID invalidate the whole large page, SDM 4.10.4.1 and
// Vol. 2 INVLPG).
bool maps_page_of(const TlbEntry& e, uint64_t lin) {
  const unsigned shift = (e.perm >> tlb_perm::PAGE_SHIFT_POS) & 0xff;
  const uint64_t page = e.tag - 1;
  if (shift <= 12) return page == (lin >> 12);
  return ((page << 12) >> shift) == (lin >> shift);
}

}  // namespace

template <class Pred>
void Cpu::drop_tlb_entries(Pred pred) {
  for (TlbEntry& e : tlb)
    if (e.tag && pred(e)) e = kInvalid;
}

// The current PCID is CR3[11:0] with CR4.PCIDE = 1 and 000H otherwise
// (SDM 4.10.1). The virtualization context (bits 31:12) is 0 until VMX or
// SVM guest mode sets it.
void Cpu::refresh_tlb_space() {
  const uint32_t pcid = (s.cr4 & cr4::PCIDE) ? uint32_t(s.cr3) & tlb_space::PCID_MASK : 0;
  tlb_space_ = (tlb_space_ & ~tlb_space::PCID_MASK) | pcid;
}

void Cpu::flush_tlb() {
  for (TlbEntry& e : tlb) e = kInvalid;
  refresh_tlb_space();
}

void Cpu::flush_tlb_space(uint32_t space) {
  drop_tlb_entries([space](const TlbEntry& e) { return e.space == space && !is_global(e); });
}

void Cpu::flush_tlb_context(bool include_global) {
  const uint32_t cur = tlb_space_;
  drop_tlb_entries([cur, include_global](const TlbEntry& e) {
    return tlb_space::same_context(e.space, cur) && (include_global || !is_global(e));
  });
}

void Cpu::flush_tlb_page(uint64_t lin) {
  const uint32_t cur = tlb_space_;
  drop_tlb_entries([cur, lin](const TlbEntry& e) {
    const bool owned = e.space == cur || (is_global(e) && tlb_space::same_context(e.space, cur));
    return owned && maps_page_of(e, lin);
  });
}

void Cpu::flush_tlb_page_in_space(uint64_t lin, uint32_t space) {
  drop_tlb_entries([space, lin](const TlbEntry& e) {
    return e.space == space && !is_global(e) && maps_page_of(e, lin);
  });
}

void Cpu::set_a20(bool enabled) {
  const uint64_t mask = enabled ? ~uint64_t(0) : ~(uint64_t(1) << 20);
  if (mask == a20_mask_) return;
  a20_mask_ = mask;
  // Cached translations hold physical addresses built with the old mask;
  // the instructions after the one that changed A20 may now come from
  // elsewhere, so the current block ends too.
  flush_tlb();
  end_block = true;
}

}  // namespace softvt
