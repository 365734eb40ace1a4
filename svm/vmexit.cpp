// #VMEXIT (svm/vmexit.h), as the steps of APM Vol. 2 15.6 "#VMEXIT".
#include "svm/vmexit.h"

#include <string>

#include "emu/cpu.h"
#include "svm/controls.h"
#include "svm/exit_text.h"
#include "svm/guest_tlb.h"
#include "svm/host_save.h"
#include "svm/npt.h"
#include "svm/vmcb.h"
#include "svm/vmcb_state.h"
#include "svm/vmrun_checks.h"

namespace softvt::svm {
namespace {

// Step 2: the guest state into the VMCB's state save area: ES, CS, SS, DS
// (with their hidden state), GDTR, IDTR, EFER, CR4, CR3, CR2, CR0, DR7,
// DR6, RFLAGS, RIP, RSP, RAX and CPL. FS, GS, TR, LDTR and the MSRs VMSAVE
// handles are neither saved nor restored: they stay loaded with the
// guest's values until the host runs VMSAVE/VMLOAD (APM 15.5.2, 15.6).
void save_guest_state(Cpu& cpu, uint64_t pa) {
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
  q(vmcb::CR4, s.cr4);
  q(vmcb::CR3, s.cr3);
  q(vmcb::CR2, s.cr2);
  q(vmcb::CR0, s.cr0);
  q(vmcb::DR7, s.dr[7]);
  q(vmcb::DR6, s.dr[6]);
  q(vmcb::RFLAGS, s.rflags);
  q(vmcb::RIP, s.rip);
  q(vmcb::RSP, s.gpr[RSP]);
  q(vmcb::RAX, s.gpr[RAX]);
  mem.write_phys(pa + vmcb::CPL, 1, s.cpl);
}

// The guest instruction bytes at CS:RIP for decode assists (APM "Decode Assists"):
// as many as can be fetched, up to 15; none if the fetch itself faults.
unsigned fetch_guest_insn_bytes(Cpu& cpu, uint8_t (&bytes)[15]) {
  unsigned n = 0;
  // With nested paging the fetch goes through the nested tables too; a
  // fetch they refuse ends the bytes without a second #VMEXIT.
  struct Quiet {
    Npt& npt;
    explicit Quiet(Npt& n) : npt(n) { npt.quiet = true; }
    ~Quiet() { npt.quiet = false; }
  } quiet(cpu.svm.npt);
  try {
    for (; n < 15; ++n) {
      const uint64_t off = cpu.s.rip + n;
      if (cpu.s.mode != Mode::Long64 && off > cpu.s.seg[CS].limit) break;
      const uint64_t lin = cpu.s.mode == Mode::Long64 ? off : ((cpu.s.seg[CS].base + off) & 0xffffffffull);
      const TlbEntry& e = cpu.translate(lin, Acc::Exec, cpu.s.cpl == 3);
      bytes[n] = uint8_t(cpu.mem.read_phys(e.phys | (lin & 0xfff), 1));
    }
  } catch (const GuestException&) {
  } catch (const NestedPagingExit&) {
  }
  return n;
}

// Step 3: the control area: V_TPR and V_IRQ, the interrupt shadow and the
// guest's IF, EXITCODE, EXITINFO1/2, EXITINTINFO, EVENTINJ.V cleared, NRIP.
void write_exit_information(Cpu& cpu, uint64_t pa, const ExitInfo& x) {
  Memory& mem = cpu.mem;
  SvmState& st = cpu.svm;
  const uint64_t vintr_mask = vintr::V_TPR | vintr::V_IRQ | vintr::V_GIF;
  const uint64_t v = mem.read_phys(pa + vmcb::VINTR, 8);
  mem.write_phys(pa + vmcb::VINTR, 8, (v & ~vintr_mask) | (st.ctl.vintr & vintr_mask));
  uint64_t shadow = cpu.s.interrupt_shadow ? int_state::SHADOW : 0;
  if (cpu.s.rflags & fl::IF) shadow |= int_state::GUEST_IF;
  mem.write_phys(pa + vmcb::INTERRUPT_SHADOW, 8, shadow);
  mem.write_phys(pa + vmcb::EXITCODE, 8, x.code);
  mem.write_phys(pa + vmcb::EXITINFO1, 8, x.info1);
  mem.write_phys(pa + vmcb::EXITINFO2, 8, x.info2);
  const EventInDelivery& d = st.delivering;
  const bool in_delivery = d.valid && d.rip == cpu.s.rip && d.insn_count == cpu.s.insn_count;
  mem.write_phys(pa + vmcb::EXITINTINFO, 8, in_delivery ? d.info : 0);
  st.delivering.valid = false;
  // "The processor clears the V bit of EVENTINJ on #VMEXIT" (APM 15.20):
  // an event not delivered is reported in EXITINTINFO instead.
  mem.write_phys(pa + vmcb::EVENTINJ, 8, mem.read_phys(pa + vmcb::EVENTINJ, 8) & ~eventinj::V);
  mem.write_phys(pa + vmcb::NRIP, 8, x.nrip);
  if (x.insn_bytes) {
    uint8_t bytes[15] = {};
    const unsigned n = fetch_guest_insn_bytes(cpu, bytes);
    mem.write_phys(pa + vmcb::INSN_LEN, 1, n);
    for (unsigned i = 0; i < 15; ++i) mem.write_phys(pa + vmcb::INSN_BYTES + i, 1, bytes[i]);
  }
}

// Step 5, for the host: VMRUN "completes" now (APM 15.5.2): with the
// host's TF = 1 a #DB single-step trap follows in the host; RF is cleared
// as after any completed instruction. The guest's pending debug traps and
// single-step state are dropped (the instruction that exited did not
// complete in the guest).
void complete_vmrun_in_host(Cpu& cpu, bool in_handler) {
  cpu.s.rflags &= ~fl::RF;
  cpu.dbg.pending = (cpu.s.rflags & fl::TF) ? dr6::BS : 0;
  cpu.dbg.tf_after = false;
  cpu.s.interrupt_shadow = 0;
  cpu.s.halted = 0;
  cpu.vm_switched = in_handler;
}

// The trace's note names the exit and says its information in words
// (svm/exit_text.h); EXITINTINFO as just written to the VMCB.
void note(Cpu& cpu, const ExitInfo& x, uint64_t pa) {
  if (!cpu.tracer) return;
  const char* name = exit_code_name(x.code);
  const std::string details = exit_details(x.code, x.info1, x.info2, cpu.mem.read_phys(pa + vmcb::EXITINTINFO, 8));
  cpu.tracer->note(cpu, std::string("#VMEXIT: ") + (name ? name : "?") + " (" + std::to_string(x.code) + ")" +
                            (details.empty() ? "" : ": " + details));
  cpu.tracer->vm_exit(cpu, Cpu::Tracer::VmArch::Svm, x.code, x.info1);
}

}  // namespace

void vmexit(Cpu& cpu, const ExitInfo& x) {
  SvmState& st = cpu.svm;
  const uint64_t pa = st.vmcb_pa;
  // 1. GIF = 0 (APM 15.17).
  st.gif = false;
  // 2-3. Guest state and exit information into the VMCB.
  save_guest_state(cpu, pa);
  // With nested paging, the guest's PAT into G_PAT (APM 15.25: the guest's
  // PAT is G_PAT while it runs).
  if (st.nested) cpu.mem.write_phys(pa + vmcb::G_PAT, 8, cpu.s.pat);
  write_exit_information(cpu, pa, x);
  note(cpu, x, pa);
  // 4. Leave guest mode; reload the host state (host_save.cpp: CR0.PE = 1,
  //    CPL 0, DR7 = 400h), the TLB back in the host's context.
  st.guest_mode = false;
  st.v_irq_pending = false;
  st.injecting = false;
  const uint64_t host_rip = load_host_state(cpu, st.hsave_pa);
  if (st.nested) {
    load_host_pat(cpu, st.hsave_pa);
    leave_nested_paging(cpu);
    st.nested = false;
  }
  leave_guest_tlb(cpu);
  // 5. Continue after VMRUN.
  cpu.s.rip = host_rip;
  cpu.next_rip = host_rip;
  complete_vmrun_in_host(cpu, x.in_handler);
}

void vmexit(Cpu& cpu, uint64_t code, uint64_t info1, uint64_t info2) {
  ExitInfo x;
  x.code = code;
  x.info1 = info1;
  x.info2 = info2;
  vmexit(cpu, x);
}

void vmexit_invalid(Cpu& cpu, const VmrunCheck& failed) {
  SvmState& st = cpu.svm;
  Memory& mem = cpu.mem;
  // 1. GIF = 0 (APM 15.17: #VMEXIT clears GIF).
  st.gif = false;
  // 2. EXITCODE and the exit information. All 64 bits of EXITCODE: software
  //    compares VMEXIT_INVALID as a 64-bit -1 (issue 5).
  mem.write_phys(st.vmcb_pa + vmcb::EXITCODE, 8, exit_code::INVALID);
  mem.write_phys(st.vmcb_pa + vmcb::EXITINFO1, 8, 0);
  mem.write_phys(st.vmcb_pa + vmcb::EXITINFO2, 8, 0);
  // 3. Reload the host state (the TLB context never left the host's);
  //    continue after VMRUN.
  cpu.next_rip = load_host_state(cpu, st.hsave_pa);
  leave_guest_tlb(cpu);
  st.failed_check = failed.name;
  if (cpu.tracer) cpu.tracer->vm_entry_failed(cpu, failed.name);
  if (cpu.tracer) cpu.tracer->vm_exit(cpu, Cpu::Tracer::VmArch::Svm, exit_code::INVALID, 0);
  if (cpu.tracer)
    cpu.tracer->note(cpu, std::string("SVM: VMRUN consistency check '") + failed.name + "' failed (" + failed.what +
                              ", " + failed.section + "): #VMEXIT(VMEXIT_INVALID)");
}

}  // namespace softvt::svm
