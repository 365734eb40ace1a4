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
// Vol. 2 INVLPG). The tag's low 12 bits (the slot) shift out.
bool maps_page_of(const TlbEntry& e, uint64_t lin) {
  const unsigned page_shift = (e.perm >> tlb_perm::PAGE_SHIFT_POS) & 0xff;
  const unsigned shift = page_shift > 12 ? page_shift : 12;
  return (e.tag >> shift) == (lin >> shift);
}

}  // namespace

bool Cpu::tlb_entry_maps_page(const TlbEntry& e, uint64_t lin) { return maps_page_of(e, lin); }

// ---- slots ---------------------------------------------------------------------

void Cpu::clear_tlb_entries() {
  for_each_tlb_entry([](TlbEntry& e) { e = kInvalid; });
  tlb_log_count_ = 0;
  tlb_log_full_ = false;
  tlb_slot_count_ = 0;
  tlb_next_slot_ = 1;
}

// Keeps the indices of the entries still valid. Each valid entry's index
// is in the log once: fill_tlb logs an index only when it makes an invalid
// entry valid, and every drop is followed by this compaction. A full log
// is rebuilt (one scan) only when few entries survived, so a TLB that
// stays full does not pay a second scan after each drop.
void Cpu::compact_tlb_log() {
  if (tlb_log_full_) {
    unsigned n = 0;
    for (unsigned i = 0; i < TLB_SIZE && n <= TLB_LOG_CAP; ++i) n += tlb[i].tag != 0;
    if (n > TLB_LOG_CAP / 2) return;
    tlb_log_count_ = 0;
    for (unsigned i = 0; i < TLB_SIZE; ++i)
      if (tlb[i].tag) tlb_log_[tlb_log_count_++] = uint16_t(i);
    tlb_log_full_ = false;
    return;
  }
  unsigned kept = 0;
  for (unsigned i = 0; i < tlb_log_count_; ++i) {
    const uint16_t index = tlb_log_[i];
    if (tlb[index].tag) tlb_log_[kept++] = index;
  }
  tlb_log_count_ = kept;
}

Cpu::SpaceSlot* Cpu::find_tlb_slot(uint32_t space) {
  for (unsigned i = 0; i < tlb_slot_count_; ++i)
    if (tlb_slots_[i].space == space) return &tlb_slots_[i];
  return nullptr;
}

// A slot number no entry holds (none was handed out since the TLB was last
// cleared), or 0 when they are used up.
uint32_t Cpu::take_tlb_slot() { return tlb_next_slot_ <= tlb_space::MAX_SLOT ? tlb_next_slot_++ : 0; }

// The current PCID is CR3[11:0] with CR4.PCIDE = 1 and 000H otherwise
// (SDM 4.10.1). The virtualization context (bits 31:12) is 0 until VMX or
// SVM guest mode sets it.
void Cpu::refresh_tlb_space() {
  const uint32_t pcid = (s.cr4 & cr4::PCIDE) ? uint32_t(s.cr3) & tlb_space::PCID_MASK : 0;
  tlb_space_ = (tlb_space_ & ~tlb_space::PCID_MASK) | pcid;
  if (const SpaceSlot* found = find_tlb_slot(tlb_space_)) {
    tlb_slot_ = found->slot;
    return;
  }
  // A space without a slot has no entries. When the table or the slot
  // numbers are used up, start over with an empty TLB (dropping cached
  // translations is always allowed).
  if (tlb_slot_count_ == tlb_space::MAX_SPACES || tlb_next_slot_ > tlb_space::MAX_SLOT) clear_tlb_entries();
  tlb_slot_ = take_tlb_slot();
  tlb_slots_[tlb_slot_count_++] = SpaceSlot{tlb_space_, tlb_slot_};
}

void Cpu::set_tlb_context(uint32_t context) {
  tlb_space_ = (tlb_space_ & tlb_space::PCID_MASK) | (context << tlb_space::CONTEXT_SHIFT);
  refresh_tlb_space();
}

// ---- invalidation (SDM 4.10.4.1) ---------------------------------------------------

void Cpu::flush_tlb() {
  clear_tlb_entries();
  refresh_tlb_space();
}

// The space's entries keep their old slot, which no lookup uses any more;
// its global ones are adopted back by the next lookup that finds them
// (Cpu::translate).
void Cpu::flush_tlb_space(uint32_t space) {
  SpaceSlot* found = find_tlb_slot(space);
  if (!found) return;  // nothing cached for it
  const uint32_t slot = take_tlb_slot();
  if (!slot) {
    flush_tlb();
    return;
  }
  found->slot = slot;
  if (space == tlb_space_) tlb_slot_ = slot;
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

// ---- A20M# ------------------------------------------------------------------------

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
