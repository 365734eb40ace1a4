// VPIDs and EPT tags of cached translations (vmx/vpid.h; SDM Vol. 3C 29.1,
// 29.4 "Caching Translation Information", 29.4.3 "Invalidating Cached
// Translation Information").
#include "vmx/vpid.h"

#include "emu/cpu.h"
#include "vmx/controls.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"

namespace softvt::vmx {
namespace {

using namespace vmx_context;

uint64_t rd(const Cpu& cpu, uint32_t enc) { return read_field(cpu.vmx, enc); }

bool pae_paging(const Cpu& cpu) {
  return (cpu.s.cr0 & cr0::PG) && (cpu.s.cr4 & cr4::PAE) && !(cpu.s.efer & efer::LMA);
}

// A stored EP4TA is page-aligned; bit 0 marks the tag as used.
constexpr uint64_t TAG_USED = 1;

void drop_ept_tag(Cpu& cpu, uint32_t tag) {
  cpu.flush_tlb_if([tag](const TlbEntry& e) { return ept_tag_of(e.space) == tag; });
}

// The tag of an EP4TA's combined mappings: the one it has, a free one, or
// one taken from another EP4TA whose mappings are dropped.
uint32_t ept_tag_for(Cpu& cpu, uint64_t ep4ta) {
  EptTags& t = cpu.vmx.ept_tags;
  for (uint32_t i = 1; i <= EPT_TAGS; ++i)
    if (t.ep4ta[i] == (ep4ta | TAG_USED)) return i;
  for (uint32_t i = 1; i <= EPT_TAGS; ++i)
    if (!t.ep4ta[i]) {
      t.ep4ta[i] = ep4ta | TAG_USED;
      return i;
    }
  const uint32_t victim = t.next_victim;
  t.next_victim = victim % EPT_TAGS + 1;
  drop_ept_tag(cpu, victim);
  t.ep4ta[victim] = ep4ta | TAG_USED;
  return victim;
}

uint32_t guest_vpid(const Cpu& cpu) {
  return (cpu.vmx.controls.proc2 & proc2::VPID) ? uint32_t(rd(cpu, field::VIRTUAL_PROCESSOR_ID)) & VPID_MASK : 0;
}

// SDM 29.4.3: without "enable VPID", VM entries and VM exits invalidate the
// linear and combined mappings of VPID 0000H (every PCID and EP4TA).
void drop_vpid0_unless_vpid(Cpu& cpu) {
  if (cpu.vmx.controls.proc2 & proc2::VPID) return;
  cpu.flush_tlb_if([](const TlbEntry& e) { return vpid_of(e.space) == 0; });
}

}  // namespace

void enter_guest_translation(Cpu& cpu) {
  drop_vpid0_unless_vpid(cpu);
  uint32_t tag = 0;
  if (cpu.vmx.controls.proc2 & proc2::EPT) {
    Ept& ept = cpu.vmx.ept;
    ept.eptp = rd(cpu, field::EPT_POINTER);
    // SDM 28.3.2.4: a PAE guest with EPT takes its PDPTEs from the
    // guest-state area (checked by 28.3.1.6).
    if (pae_paging(cpu))
      for (unsigned i = 0; i < 4; ++i) ept.pdpte[i] = rd(cpu, field::GUEST_PDPTR0 + 2 * i);
    tag = ept_tag_for(cpu, ep4ta_of(ept.eptp));
    cpu.nested_paging = &ept;
  }
  cpu.set_tlb_context(guest_vpid(cpu) | (tag << EPT_TAG_SHIFT));
}

void save_guest_pdptes(Cpu& cpu) {
  // SDM 29.3.4: with EPT and PAE paging, the PDPTE registers are saved.
  if (!cpu.nested_paging || !pae_paging(cpu)) return;
  for (unsigned i = 0; i < 4; ++i) write_field(cpu.vmx, field::GUEST_PDPTR0 + 2 * i, cpu.vmx.ept.pdpte[i]);
}

void leave_guest_translation(Cpu& cpu) {
  cpu.nested_paging = nullptr;
  drop_vpid0_unless_vpid(cpu);
  cpu.set_tlb_context(0);
}

void switch_eptp(Cpu& cpu, uint64_t eptp) {
  cpu.vmx.ept.eptp = eptp;
  const uint32_t tag = ept_tag_for(cpu, ep4ta_of(eptp));
  cpu.set_tlb_context(guest_vpid(cpu) | (tag << EPT_TAG_SHIFT));
}

void invalidate_ept_single(Cpu& cpu, uint64_t eptp) {
  const EptTags& t = cpu.vmx.ept_tags;
  for (uint32_t i = 1; i <= EPT_TAGS; ++i)
    if (t.ep4ta[i] == (ep4ta_of(eptp) | TAG_USED)) drop_ept_tag(cpu, i);
}

void invalidate_ept_all(Cpu& cpu) {
  cpu.flush_tlb_if([](const TlbEntry& e) { return ept_tag_of(e.space) != 0; });
}

void invalidate_vpid_address(Cpu& cpu, uint16_t vpid, uint64_t lin) {
  cpu.flush_tlb_if([&](const TlbEntry& e) {
    return vpid_of(e.space) == vpid && Cpu::tlb_entry_maps_page(e, lin);
  });
}

void invalidate_vpid_single(Cpu& cpu, uint16_t vpid, bool keep_globals) {
  cpu.flush_tlb_if([&](const TlbEntry& e) {
    return vpid_of(e.space) == vpid && !(keep_globals && (e.perm & tlb_perm::GLOBAL));
  });
}

void invalidate_vpid_all(Cpu& cpu) {
  cpu.flush_tlb_if([](const TlbEntry& e) { return vpid_of(e.space) != 0; });
}

}  // namespace softvt::vmx
