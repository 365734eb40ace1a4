// VPIDs and the tagging of cached translations in VMX (SDM Vol. 3C 29.1
// "Virtual Processor Identifiers (VPIDs)", 29.4 "Caching Translation
// Information"; docs/decisions.md "TLB tags").
//
// The TLB's virtualization context (tlb_space bits 31:12, emu/cpu.h) of a
// VMX CPU is `vpid | ept_tag << 16`: bits 15:0 the VPID the translation is
// associated with (0 = VMX root operation, or a guest without "enable
// VPID"), bits 19:16 a 4-bit tag of the EP4TA of EPT-derived (combined)
// mappings, 0 for linear mappings (no EPT). The CPU numbers the EP4TAs it
// has combined mappings for with tags 1..15; a 16th evicts one (dropping
// its mappings, which is always allowed). INVEPT and INVVPID are then
// exact: single-context INVEPT drops the tag's mappings for every VPID and
// PCID; INVVPID the VPID's for every EP4TA.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

namespace vmx_context {
constexpr uint32_t VPID_MASK = 0xffff;
constexpr unsigned EPT_TAG_SHIFT = 16;
constexpr unsigned EPT_TAGS = 15;  // tags 1..15
inline uint32_t vpid_of(uint32_t space) { return (space >> 12) & VPID_MASK; }
inline uint32_t ept_tag_of(uint32_t space) { return (space >> (12 + EPT_TAG_SHIFT)) & 0xf; }
}  // namespace vmx_context

// The EP4TA tag table of one CPU (kept in VmxState).
struct EptTags {
  uint64_t ep4ta[vmx_context::EPT_TAGS + 1] = {};  // [tag]; 0 = unused
  unsigned next_victim = 1;
};

// VM entry, after the guest state is loaded: the guest's EPT (if any) as
// the second level, its context, and the invalidations of SDM 29.4.3
// ("enable VPID" = 0: the mappings of VPID 0000H).
void enter_guest_translation(Cpu& cpu);
// VM exit, saving the guest state: the PDPTE registers of a PAE guest
// with EPT (SDM 29.3.4).
void save_guest_pdptes(Cpu& cpu);
// VM exit, after the host state is loaded: no second level, context 0,
// with the invalidations of SDM 29.4.3.
void leave_guest_translation(Cpu& cpu);
// VMFUNC EPTP switching: the new EPTP takes effect (SDM 27.5.6.3).
void switch_eptp(Cpu& cpu, uint64_t eptp);

// INVEPT (SDM Vol. 3C 31.3): single-context (mappings of one EP4TA) or
// global (every EPT-derived mapping).
void invalidate_ept_single(Cpu& cpu, uint64_t eptp);
void invalidate_ept_all(Cpu& cpu);
// INVVPID types 0-3.
void invalidate_vpid_address(Cpu& cpu, uint16_t vpid, uint64_t lin);
void invalidate_vpid_single(Cpu& cpu, uint16_t vpid, bool keep_globals);
void invalidate_vpid_all(Cpu& cpu);

}  // namespace softvt::vmx
