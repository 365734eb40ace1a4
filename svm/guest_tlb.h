// ASID-tagged translations (APM Vol. 2 15.16 "TLB Control"): the guest's
// translations live in the TLB's virtualization context of its ASID (emu/
// cpu.h tlb_space, docs/decisions.md "TLB tags"); the host's in context 0.
// VMRUN and #VMEXIT switch the context without flushing; TLB_CONTROL says
// what VMRUN flushes.
//
// The context of an SVM CPU is `ASID | npt_tag << 16`: bits 15:0 the ASID,
// bits 19:16 a 4-bit tag naming the nested page-table root (N_CR3 and the
// host's paging mode it is walked with) of combined guest-linear ->
// host-physical translations, 0 for a guest without nested paging (and
// the host). The CPU numbers the roots it holds combined translations for
// with tags 1..15; a 16th evicts one (its translations are dropped, which
// is always allowed). Hardware tags by ASID alone; the tag only keeps a
// guest whose hypervisor switches N_CR3 under one ASID from using the
// other root's translations, never more than hardware would keep. Every
// flush by ASID (TLB_CONTROL, INVLPGA) covers all of its tags, so a hit
// stays one compare and the invalidations stay exact.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::svm {

namespace svm_context {
constexpr uint32_t ASID_MASK = 0xffff;
constexpr unsigned NPT_TAG_SHIFT = 16;
constexpr unsigned NPT_TAGS = 15;  // tags 1..15
inline uint32_t asid_of(uint32_t space) { return (space >> 12) & ASID_MASK; }
inline uint32_t npt_tag_of(uint32_t space) { return (space >> (12 + NPT_TAG_SHIFT)) & 0xf; }
}  // namespace svm_context

// The control-register and EFER bits softvt's cached translations depend
// on (their permissions are derived from them when the entry is made;
// hardware applies them at each access), packed into one value.
uint64_t paging_key(const Cpu& cpu);

// VMRUN, after the guest state is loaded (and nested paging set up, with
// SvmState::nested): the context becomes the ASID with the tag of the
// nested root, then TLB_CONTROL 00h keeps everything, 01h flushes every
// entry of every ASID, 03h the entries of this ASID, 07h its non-global
// ones (APM 15.16.1); the reserved values flush every entry.
void enter_guest_tlb(Cpu& cpu, uint32_t asid, uint8_t tlb_control);
// #VMEXIT, after the host state is loaded: back to context 0.
void leave_guest_tlb(Cpu& cpu);
// INVLPGA: the translations of the page holding `lin` in every context of
// `asid` (ASID 0: the host's), global ones included.
void invalidate_asid_page(Cpu& cpu, uint32_t asid, uint64_t lin);

}  // namespace softvt::svm
