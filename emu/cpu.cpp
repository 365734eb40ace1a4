// Cpu basics: construction, registers, mode derivation, raising faults.
#include "emu/cpu.h"

#include "decoder/insn.h"
#include "svm/intercepts.h"
#include "vmx/nonroot.h"

namespace softvt {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Hlt: return "hlt";
    case StopReason::Shutdown: return "shutdown";
    case StopReason::Limit: return "limit";
    case StopReason::Error: return "error";
    case StopReason::Debug: return "debug";
    default: return "none";
  }
}

Cpu::Cpu(Memory& m, const CpuModel& mdl) : mem(m), model(mdl) {
  flush_tlb();
  s.rflags = fl::FIXED1;
  update_mode();
}

void Cpu::update_mode() {
  const SegReg& cs = s.seg[CS];
  if (!(s.cr0 & cr0::PE)) {
    s.mode = Mode::Real;
  } else if (s.rflags & fl::VM) {
    s.mode = Mode::V86;
  } else if (s.efer & efer::LMA) {
    if (cs.attr & ar::L) s.mode = Mode::Long64;
    else s.mode = (cs.attr & ar::DB) ? Mode::Compat32 : Mode::Compat16;
  } else {
    s.mode = (cs.attr & ar::DB) ? Mode::Prot32 : Mode::Prot16;
  }
  switch (s.mode) {
    case Mode::Long64: s.code_size = 8; break;
    case Mode::Prot32:
    case Mode::Compat32: s.code_size = 4; break;
    case Mode::Real:
      // Real mode honours CS.D of the hidden part ("unreal" 32-bit code is
      // not architecturally reachable, CS loads in real mode keep D).
      s.code_size = (cs.attr & ar::DB) ? 4 : 2;
      break;
    default: s.code_size = 2; break;
  }
  if (s.mode == Mode::Long64) s.stack_size = 8;
  else s.stack_size = (s.seg[SS].attr & ar::DB) ? 4 : 2;
  if (s.mode == Mode::Real) s.cpl = 0;
  else if (s.mode == Mode::V86) s.cpl = 3;
}

uint64_t Cpu::get_reg(uint8_t r, unsigned size) const {
  if (r < 16) {
    uint64_t v = s.gpr[r];
    switch (size) {
      case 1: return v & 0xff;
      case 2: return v & 0xffff;
      case 4: return v & 0xffffffff;
      default: return v;
    }
  }
  if (r >= reg::AH && r < reg::AH + 4) return (s.gpr[r - reg::AH] >> 8) & 0xff;
  if (r >= reg::SEG0 && r < reg::SEG0 + 6) return s.seg[r - reg::SEG0].sel;
  return 0;
}

void Cpu::set_reg(uint8_t r, unsigned size, uint64_t v) {
  if (r < 16) {
    uint64_t& g = s.gpr[r];
    switch (size) {
      case 1: g = (g & ~0xffull) | (v & 0xff); break;
      case 2: g = (g & ~0xffffull) | (v & 0xffff); break;
      case 4: g = v & 0xffffffff; break;  // 32-bit writes zero-extend (SDM Vol. 1 3.4.1.1)
      default: g = v; break;
    }
    return;
  }
  if (r >= reg::AH && r < reg::AH + 4) {
    uint64_t& g = s.gpr[r - reg::AH];
    g = (g & ~0xff00ull) | ((v & 0xff) << 8);
  }
}

void Cpu::raise(uint8_t vector, uint32_t error_code) {
  throw GuestException{vector, error_code, 0};
}

void Cpu::freeze_before_instruction() { throw InstructionFrozen{}; }

void Cpu::raise_pf(uint64_t lin, uint32_t error_code) {
  throw GuestException{vec::PF, error_code, lin};
}

void Cpu::shutdown(const std::string& why) {
  // A triple fault in VMX non-root operation is a VM exit (SDM Vol. 3C
  // 27.2, exit reason 2), not a shutdown.
  if (vmx.non_root) {
    if (tracer) tracer->note(*this, "triple fault in VMX non-root operation: " + why);
    return vmx::triple_fault_exit(*this);
  }
  // In an SVM guest: #VMEXIT(SHUTDOWN) if intercepted (APM 15.12).
  if (svm.guest_mode && svm::intercept_shutdown(*this)) return;
  stop = StopReason::Shutdown;
  stop_detail = why;
  if (tracer) tracer->note(*this, "shutdown: " + why);
}

}  // namespace softvt
