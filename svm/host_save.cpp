#include "svm/host_save.h"

#include "emu/cpu.h"
#include "svm/vmcb.h"
#include "svm/vmcb_state.h"

namespace softvt::svm {

namespace {
// DR7 after #VMEXIT: every breakpoint disabled, bit 10 reads as 1.
constexpr uint64_t DR7_ALL_DISABLED = 0x400;
}  // namespace

void save_host_state(Cpu& cpu, uint64_t pa, uint64_t next_rip) {
  Memory& mem = cpu.mem;
  const CpuState& s = cpu.s;
  write_vmcb_segment(mem, pa + vmcb::ES, s.seg[ES]);
  write_vmcb_segment(mem, pa + vmcb::CS, s.seg[CS]);
  write_vmcb_segment(mem, pa + vmcb::SS, s.seg[SS]);
  write_vmcb_segment(mem, pa + vmcb::DS, s.seg[DS]);
  write_vmcb_table(mem, pa + vmcb::GDTR, s.gdtr);
  write_vmcb_table(mem, pa + vmcb::IDTR, s.idtr);
  const auto q = [&](uint32_t off, uint64_t v) { mem.write_phys(pa + off, 8, v); };
  q(vmcb::EFER, s.efer);
  q(vmcb::CR0, s.cr0);
  q(vmcb::CR3, s.cr3);
  q(vmcb::CR4, s.cr4);
  q(vmcb::RFLAGS, s.rflags);
  q(vmcb::RIP, next_rip);
  q(vmcb::RSP, s.gpr[RSP]);
  q(vmcb::RAX, s.gpr[RAX]);
}

void save_host_pat(Cpu& cpu, uint64_t pa) { cpu.mem.write_phys(pa + vmcb::G_PAT, 8, cpu.s.pat); }

void load_host_pat(Cpu& cpu, uint64_t pa) { cpu.s.pat = cpu.mem.read_phys(pa + vmcb::G_PAT, 8); }

uint64_t load_host_state(Cpu& cpu, uint64_t pa) {
  Memory& mem = cpu.mem;
  CpuState& s = cpu.s;
  s.seg[ES] = read_vmcb_segment(mem, pa + vmcb::ES);
  s.seg[CS] = read_vmcb_segment(mem, pa + vmcb::CS);
  s.seg[SS] = read_vmcb_segment(mem, pa + vmcb::SS);
  s.seg[DS] = read_vmcb_segment(mem, pa + vmcb::DS);
  s.gdtr = read_vmcb_table(mem, pa + vmcb::GDTR);
  s.idtr = read_vmcb_table(mem, pa + vmcb::IDTR);
  const auto q = [&](uint32_t off) { return mem.read_phys(pa + off, 8); };
  s.efer = q(vmcb::EFER);
  s.cr0 = q(vmcb::CR0) | cr0::PE;
  s.cr3 = q(vmcb::CR3);
  s.cr4 = q(vmcb::CR4);
  s.rflags = q(vmcb::RFLAGS) | fl::FIXED1;
  s.gpr[RSP] = q(vmcb::RSP);
  s.gpr[RAX] = q(vmcb::RAX);
  s.dr[7] = DR7_ALL_DISABLED;
  debug_registers_changed(cpu);
  s.cpl = 0;
  cpu.update_mode();
  // The TLB is not flushed: the caller returns to the host's context
  // (svm/guest_tlb.h), whose translations stayed valid.
  cpu.end_block = true;
  return q(vmcb::RIP);
}

}  // namespace softvt::svm
