// INIT and SIPI (SDM Vol. 3A 9.1.1 "Processor State After Reset", Table 9-1,
// and 9.4 "Multiple-Processor (MP) Initialization").
#include "emu/cpu.h"
#include "svm/gif.h"
#include "vmx/event_exits.h"

namespace softvt {

namespace {
// Segment attributes of Table 9-1 ("Present, R/W, Accessed"): a data
// segment type 3, a code segment execute/read accessed (type 0xb).
constexpr uint32_t DATA_AR = ar::P | ar::S | 0x3;
constexpr uint32_t CODE_AR = ar::P | ar::S | 0xb;
// LDTR: present, type 2 (LDT); TR: present, busy 32-bit TSS (type 0xb) as
// KVM loads it at reset.
constexpr uint32_t LDTR_AR = ar::P | 0x2;
constexpr uint32_t TR_AR = ar::P | 0xb;

SegReg segment(uint16_t sel, uint64_t base, uint32_t attr) {
  SegReg r{};
  r.sel = sel;
  r.base = base;
  r.limit = 0xffff;
  r.attr = attr;
  return r;
}
}  // namespace

void Cpu::init_signal() {
  // SVM: GIF = 0 holds INIT pending until STGI (APM 15.17, svm/gif.cpp).
  if (svm::hold_init(*this)) return;
  // VMX: INIT is blocked in root operation and exits from the guest
  // (SDM Vol. 3C 24.8, 27.2; vmx/event_exits.h).
  if (vmx.in_vmx_operation && vmx::intercept_init(*this)) return;
  svm::reset_on_init(*this);
  // Table 9-1, column INIT.
  for (uint64_t& g : s.gpr) g = 0;
  s.gpr[RDX] = model.cpuid(1, 0).eax;  // EDX = the processor signature
  s.rip = 0xfff0;
  s.rflags = fl::FIXED1;
  s.cr0 = (s.cr0 & (cr0::CD | cr0::NW)) | cr0::ET;  // CD and NW unchanged on INIT
  s.cr2 = s.cr3 = s.cr4 = 0;
  s.cr8 = 0;
  s.efer = 0;
  for (unsigned i = 0; i < 6; ++i) s.seg[i] = segment(0, 0, DATA_AR);
  s.seg[CS] = segment(0xf000, 0xffff0000, CODE_AR);
  s.ldtr = segment(0, 0, LDTR_AR);
  s.tr = segment(0, 0, TR_AR);
  s.gdtr = DescTable{0, 0xffff, 0};
  s.idtr = DescTable{0, 0xffff, 0};
  for (unsigned i = 0; i < 4; ++i) s.dr[i] = 0;
  s.dr[6] = 0xffff0ff0;
  s.dr[7] = 0x400;
  s.interrupt_shadow = 0;
  s.nmi_blocked = 0;
  nmi_pending = false;
  intr_line = false;
  // SDM 9.4.1: after INIT an AP waits for a SIPI; the BSP starts at the
  // reset vector.
  wait_for_sipi = !(s.apic_base & (1u << 8));
  s.halted = wait_for_sipi ? 1 : 0;
  update_mode();
  flush_tlb();
  end_block = true;
  resuming_rep = false;  // no REP string instruction goes on after INIT
  ++init_sipi_epoch;
}

bool Cpu::startup_signal(uint8_t vector) {
  // A SIPI to a VMX guest: an exit from wait-for-SIPI, else discarded.
  if (vmx.non_root) return vmx::intercept_sipi(*this, vector);
  if (!wait_for_sipi) return false;
  wait_for_sipi = false;
  s.halted = 0;
  s.seg[CS] = segment(uint16_t(vector) << 8, uint64_t(vector) << 12, CODE_AR);
  s.rip = 0;
  update_mode();
  end_block = true;
  ++init_sipi_epoch;
  return true;
}

}  // namespace softvt
