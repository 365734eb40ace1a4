#include "svm/vmcb_state.h"

#include "emu/memory.h"
#include "svm/vmcb.h"

namespace softvt::svm {

SegReg read_vmcb_segment(Memory& mem, uint64_t addr) {
  SegReg r{};
  r.sel = uint16_t(mem.read_phys(addr + vmcb::SEG_SEL, 2));
  r.attr = ar_from_vmcb_attrib(uint16_t(mem.read_phys(addr + vmcb::SEG_ATTRIB, 2)));
  r.limit = uint32_t(mem.read_phys(addr + vmcb::SEG_LIMIT, 4));
  r.base = mem.read_phys(addr + vmcb::SEG_BASE, 8);
  return r;
}

void write_vmcb_segment(Memory& mem, uint64_t addr, const SegReg& seg) {
  mem.write_phys(addr + vmcb::SEG_SEL, 2, seg.sel);
  mem.write_phys(addr + vmcb::SEG_ATTRIB, 2, vmcb_attrib_from_ar(seg.attr));
  mem.write_phys(addr + vmcb::SEG_LIMIT, 4, seg.limit);
  mem.write_phys(addr + vmcb::SEG_BASE, 8, seg.base);
}

DescTable read_vmcb_table(Memory& mem, uint64_t addr) {
  DescTable t{};
  t.limit = uint32_t(mem.read_phys(addr + vmcb::SEG_LIMIT, 4));
  t.base = mem.read_phys(addr + vmcb::SEG_BASE, 8);
  return t;
}

void write_vmcb_table(Memory& mem, uint64_t addr, const DescTable& t) {
  mem.write_phys(addr + vmcb::SEG_LIMIT, 4, t.limit);
  mem.write_phys(addr + vmcb::SEG_BASE, 8, t.base);
}

GuestImage read_guest_image(Memory& mem, uint64_t pa) {
  GuestImage g{};
  g.es = read_vmcb_segment(mem, pa + vmcb::ES);
  g.cs = read_vmcb_segment(mem, pa + vmcb::CS);
  g.ss = read_vmcb_segment(mem, pa + vmcb::SS);
  g.ds = read_vmcb_segment(mem, pa + vmcb::DS);
  g.gdtr = read_vmcb_table(mem, pa + vmcb::GDTR);
  g.idtr = read_vmcb_table(mem, pa + vmcb::IDTR);
  const auto q = [&](uint32_t off) { return mem.read_phys(pa + off, 8); };
  g.efer = q(vmcb::EFER);
  g.cr0 = q(vmcb::CR0);
  g.cr2 = q(vmcb::CR2);
  g.cr3 = q(vmcb::CR3);
  g.cr4 = q(vmcb::CR4);
  g.dr6 = q(vmcb::DR6);
  g.dr7 = q(vmcb::DR7);
  g.rflags = q(vmcb::RFLAGS);
  g.rip = q(vmcb::RIP);
  g.rsp = q(vmcb::RSP);
  g.rax = q(vmcb::RAX);
  g.g_pat = q(vmcb::G_PAT);
  g.cpl = uint8_t(mem.read_phys(pa + vmcb::CPL, 1));
  g.interrupt_shadow = mem.read_phys(pa + vmcb::INTERRUPT_SHADOW, 1) & 1;
  return g;
}

ControlImage read_control_image(Memory& mem, uint64_t pa) {
  ControlImage c{};
  c.intercept_misc2 = uint32_t(mem.read_phys(pa + vmcb::INTERCEPT_MISC2, 4));
  c.iopm_base_pa = mem.read_phys(pa + vmcb::IOPM_BASE_PA, 8);
  c.msrpm_base_pa = mem.read_phys(pa + vmcb::MSRPM_BASE_PA, 8);
  c.asid = uint32_t(mem.read_phys(pa + vmcb::GUEST_ASID, 4));
  c.eventinj = mem.read_phys(pa + vmcb::EVENTINJ, 8);
  c.nested_ctl = mem.read_phys(pa + vmcb::NP_CONTROL, 8);
  c.n_cr3 = mem.read_phys(pa + vmcb::N_CR3, 8);
  return c;
}

}  // namespace softvt::svm
