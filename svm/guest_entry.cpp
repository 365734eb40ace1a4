#include "svm/guest_entry.h"

#include <string>

#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "svm/controls.h"
#include "svm/guest_tlb.h"
#include "svm/host_save.h"
#include "svm/intercepts.h"
#include "svm/npt.h"
#include "svm/vmcb.h"
#include "svm/vmcb_state.h"

namespace softvt::svm {
namespace {

// APM 15.5.1: VMRUN loads the control information from the VMCB. softvt
// keeps its own copy for the whole run of the guest and reloads every
// field at every VMRUN, whatever VMCB_CLEAN says (APM 15.15 "VMCB State
// Caching" allows a processor to ignore the clean bits).
GuestControls read_controls(const Cpu& cpu, Memory& mem, uint64_t pa) {
  GuestControls c;
  const auto d = [&](uint32_t off) { return uint32_t(mem.read_phys(pa + off, 4)); };
  const auto q = [&](uint32_t off) { return mem.read_phys(pa + off, 8); };
  c.intercept_cr = d(vmcb::INTERCEPT_CR);
  c.intercept_dr = d(vmcb::INTERCEPT_DR);
  c.intercept_exceptions = d(vmcb::INTERCEPT_EXCEPTIONS);
  c.misc1 = d(vmcb::INTERCEPT_MISC1);
  c.misc2 = d(vmcb::INTERCEPT_MISC2);
  c.pause_filter_threshold = uint16_t(mem.read_phys(pa + vmcb::PAUSE_FILTER_THRESHOLD, 2));
  c.pause_filter_count = uint16_t(mem.read_phys(pa + vmcb::PAUSE_FILTER_COUNT, 2));
  c.iopm_base_pa = q(vmcb::IOPM_BASE_PA);
  c.msrpm_base_pa = q(vmcb::MSRPM_BASE_PA);
  c.tsc_offset = q(vmcb::TSC_OFFSET);
  c.asid = d(vmcb::GUEST_ASID);
  c.vintr = q(vmcb::VINTR);
  c.nested_ctl = q(vmcb::NP_CONTROL);
  // Without nested paging in the model NP_ENABLE has no function.
  if (!model_has(cpu.model, "npt")) c.nested_ctl &= ~NP_ENABLE;
  c.n_cr3 = q(vmcb::N_CR3);
  c.virt_ext = q(vmcb::VIRT_EXT);
  return c;
}

// The guest's CPL: 0 in real mode, 3 in virtual-8086 mode, the VMCB's CPL
// otherwise (APM Vol. 3 VMRUN "Operation").
uint8_t guest_cpl(const GuestImage& g) {
  if (!(g.cr0 & cr0::PE)) return 0;
  if (g.rflags & fl::VM) return 3;
  return g.cpl & 3;
}

void load_guest_state(Cpu& cpu, const GuestImage& g) {
  CpuState& s = cpu.s;
  s.seg[ES] = g.es;
  s.seg[CS] = g.cs;
  s.seg[SS] = g.ss;
  s.seg[DS] = g.ds;
  s.gdtr = g.gdtr;
  s.idtr = g.idtr;
  s.efer = g.efer;
  s.cr0 = g.cr0;
  s.cr2 = g.cr2;
  s.cr3 = g.cr3;
  s.cr4 = g.cr4;
  s.rflags = g.rflags | fl::FIXED1;
  s.rip = g.rip;
  s.gpr[RSP] = g.rsp;
  s.gpr[RAX] = g.rax;
  s.dr[6] = g.dr6;
  s.dr[7] = g.dr7;
  s.cpl = guest_cpl(g);
  // The VMCB's interrupt shadow blocks interrupts for the first guest
  // instruction (APM Table B-1, INTERRUPT_SHADOW).
  s.interrupt_shadow = g.interrupt_shadow ? shadow::STI : 0;
  s.halted = 0;
  cpu.update_mode();
  debug_registers_changed(cpu);
  cpu.next_rip = g.rip;
  cpu.end_block = true;
}

// APM 15.20 "Event Injection": the event is delivered through the guest's
// IDT right after the guest state is loaded, whatever the guest's IF,
// interrupt shadow or NMI blocking; exceptions during its delivery follow
// the usual rules (and their intercepts, with the event as EXITINTINFO). A
// software interrupt (TYPE 4) returns to NRIP (the VMCB's next RIP, which
// the hypervisor sets past the INTn); an exception to the guest's RIP.
void inject_event(Cpu& cpu, uint64_t pa) {
  const uint64_t ev = cpu.mem.read_phys(pa + vmcb::EVENTINJ, 8);
  if (!(ev & eventinj::V)) return;
  const uint8_t vector = uint8_t(ev & eventinj::VECTOR);
  const unsigned type = unsigned((ev & eventinj::TYPE_MASK) >> eventinj::TYPE_SHIFT);
  const uint32_t error = (ev & eventinj::EV) ? uint32_t(ev >> 32) : NO_ERROR_CODE;
  EventType t = EventType::HardwareException;
  uint64_t next = cpu.s.rip;
  switch (type) {
    case eventinj::TYPE_INTR: t = EventType::ExternalInterrupt; break;
    case eventinj::TYPE_NMI:
      t = EventType::Nmi;
      cpu.s.nmi_blocked = 1;
      break;
    case eventinj::TYPE_SOFT_INT:
      t = EventType::SoftwareInterrupt;
      next = cpu.mem.read_phys(pa + vmcb::NRIP, 8);
      break;
    default: break;
  }
  if (cpu.tracer) cpu.tracer->note(cpu, "SVM: EVENTINJ vector " + std::to_string(vector));
  cpu.svm.injecting = true;
  cpu.svm.delivering = EventInDelivery{true, ev & ~eventinj::RESERVED, cpu.s.rip, cpu.s.insn_count};
  try {
    cpu.deliver_event(vector, t, error, next);
  } catch (const GuestException& e) {
    // A software interrupt's delivery faults on the guest's RIP.
    deliver_guest_exception(cpu, e);
  }
  cpu.svm.injecting = false;
  cpu.svm.delivering.valid = false;
}

// APM 15.25.3 - 15.25.5: with NP_ENABLE the guest's guest-physical
// addresses go through the nested tables at N_CR3, walked in the host's
// paging mode as it is now (before the guest's CR0/CR4/EFER are loaded).
// APM 15.25 "Nested Paging" (G_PAT): the guest's PAT is G_PAT while it
// runs (RDMSR/WRMSR of PAT in the guest reach it); the host's waits in the
// host save area at G_PAT's offset (softvt's layout, svm/README.md). With
// no caches in softvt the combined memory type (host PAT over the nested
// entry, G_PAT over the guest entry) has no effect (docs/decisions.md
// "No caches, so memory types have no effect").
void enter_nested(Cpu& cpu, const GuestImage& g) {
  SvmState& st = cpu.svm;
  st.nested = (st.ctl.nested_ctl & NP_ENABLE) != 0;
  if (!st.nested) return;
  enter_nested_paging(cpu, st.ctl.n_cr3);
  save_host_pat(cpu, st.hsave_pa);
  cpu.s.pat = g.g_pat;
}

}  // namespace

void enter_guest(Cpu& cpu, uint64_t pa, const GuestImage& g) {
  SvmState& st = cpu.svm;
  // 1. The host's IF (physical-interrupt masking with V_INTR_MASKING) and
  //    the paging controls its cached translations were made with.
  st.host_if = cpu.s.rflags & fl::IF;
  st.host_paging_key = paging_key(cpu);
  // 2. The controls.
  st.ctl = read_controls(cpu, cpu.mem, pa);
  st.pause_count = st.ctl.pause_filter_count;
  st.last_pause_tsc = cpu.tsc();
  // 3. Nested paging (in the host's mode, before the guest's loads); the
  //    guest state; the TLB in the guest's ASID, TLB_CONTROL applied.
  enter_nested(cpu, g);
  load_guest_state(cpu, g);
  enter_guest_tlb(cpu, st.ctl.asid, uint8_t(cpu.mem.read_phys(pa + vmcb::TLB_CONTROL, 1)));
  // 4. Guest mode, GIF = 1 (APM 15.17: VMRUN sets GIF).
  st.guest_mode = true;
  st.gif = true;
  update_virtual_irq(cpu);
  cpu.vm_switched = true;
  if (cpu.tracer) cpu.tracer->note(cpu, "SVM: VMRUN enters the guest, ASID " + std::to_string(st.ctl.asid));
  // 5. EVENTINJ. The run loop continues where it left RIP: the handler,
  //    or the host after a #VMEXIT during the delivery.
  inject_event(cpu, pa);
  cpu.next_rip = cpu.s.rip;
}

}  // namespace softvt::svm
