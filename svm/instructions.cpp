// The SVM instructions (AMD APM Vol. 3 chapter 4 "System Instruction
// Reference": VMRUN, VMLOAD, VMSAVE, STGI, CLGI, VMMCALL, INVLPGA, SKINIT;
// Vol. 2 chapter 15). Each handler is the APM's "Operation" pseudocode as
// numbered steps; "IF (intercepted) #VMEXIT" is svm/intercepts.h.
#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "emu/interp/table.h"
#include "emu/nested_paging.h"
#include "svm/controls.h"
#include "svm/gif.h"
#include "svm/guest_entry.h"
#include "svm/guest_tlb.h"
#include "svm/host_save.h"
#include "svm/intercepts.h"
#include "svm/npt.h"
#include "svm/vmcb.h"
#include "svm/vmcb_state.h"
#include "svm/vmexit.h"
#include "svm/vmrun_checks.h"

namespace softvt {
namespace {

using namespace svm;

// "IF ((MSR_EFER.SVME == 0) || (!PROTECTED_MODE)) EXCEPTION [#UD]": the
// instructions are recognised only in protected mode, not in real or
// virtual-8086 mode (the exception tables of APM Vol. 3 VMRUN etc.).
bool svm_disabled_or_not_protected(const Cpu& cpu) {
  return !(cpu.s.efer & efer::SVME) || !(cpu.s.cr0 & cr0::PE) || (cpu.s.rflags & fl::VM);
}

// The physical address in rAX (its width is the effective address size,
// APM Vol. 3 VMRUN "The portion of rAX used to form the address is
// determined by the effective address size").
uint64_t rax_address(const Cpu& cpu, const Insn& in) { return cpu.get_reg(RAX, in.addrsize); }

// A VMCB address: 4-Kbyte aligned and below the physical-address width
// ("rAX contains an unsupported physical address": #GP(0)).
bool supported_vmcb_address(const Cpu& cpu, uint64_t pa) {
  return (pa & 0xfff) == 0 && (pa >> cpu.model.phys_addr_bits) == 0;
}

// Steps 1-3 of VMRUN, VMLOAD and VMSAVE: #UD, #GP(0) for CPL != 0, #GP(0)
// for an unsupported address. Returns the VMCB's physical address.
uint64_t vmcb_instruction_checks(Cpu& cpu, const Insn& in) {
  if (svm_disabled_or_not_protected(cpu)) cpu.raise_ud();
  if (cpu.s.cpl != 0) cpu.raise_gp0();
  const uint64_t pa = rax_address(cpu, in);
  if (!supported_vmcb_address(cpu, pa)) cpu.raise_gp0();
  return pa;
}

// ---- VMLOAD / VMSAVE (APM Vol. 3 "VMLOAD", "VMSAVE"; Vol. 2 15.5.2) ----------------
// Exactly: FS, GS, TR, LDTR (with their hidden state), KernelGsBase, STAR,
// LSTAR, CSTAR, SFMASK, SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP.

// Virtual VMLOAD/VMSAVE (APM Vol. 2 "Nested Virtualization", "VMSAVE and VMLOAD
// Virtualization"; CPUID 8000000AH:EDX[15]): in a guest with nested paging
// and VIRT_EXT bit 1 an unintercepted VMLOAD/VMSAVE's rAX is a
// guest-physical address, translated through the nested tables (the
// 4-Kbyte aligned page at once; a failure is #VMEXIT(NPF) on the final
// address, a write for VMSAVE). Without nested paging the bit is ignored
// and, as without it, rAX is a system-physical address.
uint64_t vmcb_system_address(Cpu& cpu, uint64_t pa, Acc acc) {
  const SvmState& st = cpu.svm;
  if (!st.guest_mode || !st.nested || !(st.ctl.virt_ext & V_VMSAVE_VMLOAD) || !model_has(cpu.model, "v-vmsave-vmload"))
    return pa;
  return cpu.nested_paging->translate(cpu, pa, NestedAccess{acc, NestedKind::Final, 0, false}).hpa;
}

void vmload(Cpu& cpu, const Insn& in) {
  // 1-3. #UD / #GP(0) (vmcb_instruction_checks). 4. The VMLOAD intercept.
  //    5. With virtual VMLOAD, rAX through the nested tables.
  uint64_t pa = vmcb_instruction_checks(cpu, in);
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Vmload)) return;
  pa = vmcb_system_address(cpu, pa, Acc::Read);
  Memory& mem = cpu.mem;
  CpuState& s = cpu.s;
  // 6. Load the state from the VMCB at rAX.
  s.seg[FS] = read_vmcb_segment(mem, pa + vmcb::FS);
  s.seg[GS] = read_vmcb_segment(mem, pa + vmcb::GS);
  s.tr = read_vmcb_segment(mem, pa + vmcb::TR);
  s.ldtr = read_vmcb_segment(mem, pa + vmcb::LDTR);
  s.kernel_gs_base = mem.read_phys(pa + vmcb::KERNEL_GS_BASE, 8);
  s.star = mem.read_phys(pa + vmcb::STAR, 8);
  s.lstar = mem.read_phys(pa + vmcb::LSTAR, 8);
  s.cstar = mem.read_phys(pa + vmcb::CSTAR, 8);
  s.sfmask = mem.read_phys(pa + vmcb::SFMASK, 8);
  s.sysenter_cs = mem.read_phys(pa + vmcb::SYSENTER_CS, 8);
  s.sysenter_esp = mem.read_phys(pa + vmcb::SYSENTER_ESP, 8);
  s.sysenter_eip = mem.read_phys(pa + vmcb::SYSENTER_EIP, 8);
}

void vmsave(Cpu& cpu, const Insn& in) {
  // 1-3. #UD / #GP(0). 4. The VMSAVE intercept. 5. With virtual VMSAVE,
  //    rAX through the nested tables.
  uint64_t pa = vmcb_instruction_checks(cpu, in);
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Vmsave)) return;
  pa = vmcb_system_address(cpu, pa, Acc::Write);
  Memory& mem = cpu.mem;
  const CpuState& s = cpu.s;
  // 6. Store the state to the VMCB at rAX.
  write_vmcb_segment(mem, pa + vmcb::FS, s.seg[FS]);
  write_vmcb_segment(mem, pa + vmcb::GS, s.seg[GS]);
  write_vmcb_segment(mem, pa + vmcb::TR, s.tr);
  write_vmcb_segment(mem, pa + vmcb::LDTR, s.ldtr);
  mem.write_phys(pa + vmcb::KERNEL_GS_BASE, 8, s.kernel_gs_base);
  mem.write_phys(pa + vmcb::STAR, 8, s.star);
  mem.write_phys(pa + vmcb::LSTAR, 8, s.lstar);
  mem.write_phys(pa + vmcb::CSTAR, 8, s.cstar);
  mem.write_phys(pa + vmcb::SFMASK, 8, s.sfmask);
  mem.write_phys(pa + vmcb::SYSENTER_CS, 8, s.sysenter_cs);
  mem.write_phys(pa + vmcb::SYSENTER_ESP, 8, s.sysenter_esp);
  mem.write_phys(pa + vmcb::SYSENTER_EIP, 8, s.sysenter_eip);
}

// ---- VMRUN (APM Vol. 3 "VMRUN"; Vol. 2 15.5 "VMRUN Instruction") -------------------

// Segment bases that are merely non-canonical are canonicalised, not a
// failure (APM 15.5.1: "the processor canonicalizes ... segment bases").
uint64_t canonical(const Cpu& cpu, uint64_t v) {
  const unsigned shift = 64 - cpu.model.lin_addr_bits;
  return uint64_t(int64_t(v << shift) >> shift);
}

void canonicalise_bases(const Cpu& cpu, GuestImage& g) {
  for (SegReg* r : {&g.es, &g.cs, &g.ss, &g.ds}) r->base = canonical(cpu, r->base);
}

void vmrun(Cpu& cpu, const Insn& in) {
  // 1-3. #UD (SVME = 0, real or virtual-8086 mode), #GP(0) (CPL != 0),
  //      #GP(0) (rAX not 4-Kbyte aligned or beyond the physical-address
  //      width). 4. The VMRUN intercept (always set in a guest's VMCB: the
  //      consistency checks require it).
  const uint64_t pa = vmcb_instruction_checks(cpu, in);
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Vmrun)) return;
  // 5. Remember the VMCB address for the #VMEXIT.
  cpu.svm.vmcb_pa = pa;
  cpu.svm.failed_check = nullptr;
  cpu.svm.host_paging_key = paging_key(cpu);
  // 6. Save the host state to the host save area at VM_HSAVE_PA, RIP =
  //    the instruction after VMRUN.
  save_host_state(cpu, cpu.svm.hsave_pa, cpu.next_rip);
  // 7. Load the control information and the guest state from the VMCB
  //    (as images: nothing of the guest is committed before the checks).
  ControlImage c = read_control_image(cpu.mem, pa);
  c.host_cr0 = cpu.s.cr0;
  GuestImage g = read_guest_image(cpu.mem, pa);
  canonicalise_bases(cpu, g);
  // 8. The consistency checks (svm/vmrun_checks.cpp), in table order: the
  //    first failure is #VMEXIT(VMEXIT_INVALID), the host state reloaded.
  if (const VmrunCheck* failed = first_failing_check(cpu.model, c, g)) return vmexit_invalid(cpu, *failed);
  // 9. Commit the guest state, TLB_CONTROL, GIF = 1, EVENTINJ
  //    (svm/guest_entry.cpp); the run loop continues in the guest.
  enter_guest(cpu, pa, g);
  if (cpu.tracer) cpu.tracer->vm_entry(cpu, Cpu::Tracer::VmEntryKind::Vmrun);
}

// ---- STGI / CLGI (APM Vol. 3 "STGI", "CLGI"; Vol. 2 15.17) --------------------------

// "IF ((MSR_EFER.SVME == 0) && !(CPUID 8000_0001.ECX[SKINIT])) ||
// (!PROTECTED_MODE)) #UD": softvt reports no SKINIT, so SVME = 0 is #UD.
void gif_instruction_checks(Cpu& cpu) {
  if (svm_disabled_or_not_protected(cpu)) cpu.raise_ud();
  if (cpu.s.cpl != 0) cpu.raise_gp0();
}

// In a guest with V_GIF_ENABLE (vGIF, APM "Virtual GIF") STGI
// and CLGI set and clear V_GIF instead of GIF.
bool set_virtual_gif(Cpu& cpu, bool gif) {
  SvmState& st = cpu.svm;
  if (!st.guest_mode || !(st.ctl.vintr & vintr::V_GIF_ENABLE)) return false;
  st.ctl.vintr = gif ? (st.ctl.vintr | vintr::V_GIF) : (st.ctl.vintr & ~vintr::V_GIF);
  return true;
}

void stgi(Cpu& cpu, const Insn&) {
  // 1-2. #UD / #GP(0). 3. The STGI intercept. 4. GIF (or V_GIF) = 1.
  gif_instruction_checks(cpu);
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Stgi)) return;
  if (!set_virtual_gif(cpu, true)) set_gif(cpu, true);
}

void clgi(Cpu& cpu, const Insn&) {
  // 1-2. #UD / #GP(0). 3. The CLGI intercept. 4. GIF (or V_GIF) = 0.
  gif_instruction_checks(cpu);
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Clgi)) return;
  if (!set_virtual_gif(cpu, false)) set_gif(cpu, false);
}

// ---- INVLPGA (APM Vol. 3 "INVLPGA") ----------------------------------------------

void invlpga(Cpu& cpu, const Insn& in) {
  // 1. #UD: SVME = 0 or not in protected mode. 2. #GP(0): CPL != 0.
  if (svm_disabled_or_not_protected(cpu)) cpu.raise_ud();
  if (cpu.s.cpl != 0) cpu.raise_gp0();
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Invlpga)) return;
  // 3. The INVLPGA intercept. 4. Invalidate the TLB mapping of the
  //    virtual page in rAX (effective address size) for the ASID in ECX.
  //    The ASID is part of the TLB's virtualization context (svm/
  //    guest_tlb.h: every nested-root tag of it; ASID 0 is the host's).
  invalidate_asid_page(cpu, uint32_t(cpu.s.gpr[RCX]), rax_address(cpu, in));
}

// ---- VMMCALL (APM Vol. 3 "VMMCALL") ----------------------------------------------
// "If the VMMCALL instruction is not intercepted, the instruction raises a
// #UD exception": outside a guest it always is #UD. It is usable at any CPL.
void vmmcall(Cpu& cpu, const Insn&) {
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Vmmcall)) return;
  cpu.raise_ud();
}

// ---- RSM ---------------------------------------------------------------------------
// softvt has no SMM, so RSM is always #UD (APM Vol. 3 RSM: "#UD ... not in
// SMM"); in a guest the RSM intercept comes first (it is checked before the
// instruction's exceptions, as Linux's nested SVM emulation has it).
void rsm(Cpu& cpu, const Insn&) {
  if (cpu.svm.guest_mode && intercept_instruction(cpu, Intercept::Rsm)) return;
  cpu.raise_ud();
}

// ---- rows ----------------------------------------------------------------------------

// SKINIT is not modelled (CPUID 80000001H:ECX.SKINIT = 0): #UD.
Handler select_skinit(const Insn&) { return nullptr; }

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_VMRUN, SOFTVT_FIXED(vmrun), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_VMLOAD, SOFTVT_FIXED(vmload), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMSAVE, SOFTVT_FIXED(vmsave), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STGI, SOFTVT_FIXED(stgi), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_CLGI, SOFTVT_FIXED(clgi), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_VMMCALL, SOFTVT_FIXED(vmmcall), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INVLPGA, SOFTVT_FIXED(invlpga), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SKINIT, select_skinit, 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_RSM, SOFTVT_FIXED(rsm), 0, 0, Feature::Base, 1},
};

}  // namespace

std::span<const InsnRow> rows_svm() { return kRows; }

}  // namespace softvt
