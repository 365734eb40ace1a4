// Completing a guest SYSCALL the host KVM left in ring 3 (see
// kvm_syscall_entry.h).
#include "emu/accel/kvm_syscall_entry.h"

#include <sys/ioctl.h>

#include <cstring>

namespace softvt::kvm {
namespace {

constexpr uint32_t MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_FMASK = 0xc0000084;
constexpr uint64_t EFER_LMA = 1u << 10;
constexpr unsigned PAGE_FAULT_VECTOR = 14, GATE_SIZE = 16;
// #PF error code (SDM Vol. 3A 4.7): U/S = the access was in user mode.
// (I/D, the fetch bit, is only reported with EFER.NXE or CR4.SMEP set;
// RIP = CR2 identifies the fetch instead.)
constexpr uint64_t PF_USER = 1u << 2;
// DR6 (SDM 17.2.3): B0 = breakpoint 0 matched.
constexpr uint64_t DR6_B0 = 1;
constexpr uint64_t RFLAGS_FIXED1 = 1u << 1, RFLAGS_RF = 1u << 16, RFLAGS_VM = 1u << 17;

// Reads the MSRs `index[0..N)` into `value`.
template <size_t N>
std::string read_msrs(const Vm& vm, unsigned vcpu, const uint32_t (&index)[N], uint64_t (&value)[N]) {
  List<kvm_msr_entry> list(N);
  for (size_t i = 0; i < N; ++i) list.put(i, kvm_msr_entry{index[i], 0, 0});
  const int n = ioctl(vm.vcpu_fd(vcpu), IOCTL_GET_MSRS, list.data());
  if (n < 0) return sys_error("KVM_GET_MSRS");
  if (size_t(n) < N) return "KVM_GET_MSRS: KVM does not return MSR " + std::to_string(index[n]);
  for (size_t i = 0; i < N; ++i) value[i] = list.get(i).data;
  return "";
}

// The handler address of a present 64-bit interrupt or trap gate of the
// IDT (SDM Vol. 3A 6.14.1, Figure 6-8), or 0.
uint64_t gate_handler(const kvm_sregs& sregs, const GuestView& view, unsigned vector) {
  if (!(sregs.efer & EFER_LMA) || sregs.idt.limit < vector * GATE_SIZE + GATE_SIZE - 1) return 0;
  uint8_t g[GATE_SIZE];
  if (view.read(sregs.idt.base + vector * GATE_SIZE, g, GATE_SIZE) != GATE_SIZE) return 0;
  const unsigned type = g[5] & 0xf;
  if (!(g[5] & 0x80) || (type != 0xe && type != 0xf)) return 0;
  uint16_t low, mid;
  uint32_t high;
  std::memcpy(&low, g, 2);
  std::memcpy(&mid, g + 6, 2);
  std::memcpy(&high, g + 8, 4);
  return uint64_t(low) | uint64_t(mid) << 16 | uint64_t(high) << 32;
}

// The flat segments SYSCALL loads (SDM Vol. 2 SYSCALL, "Operation"): base
// 0, limit 4 GiB with G = 1, P = 1, S = 1, DPL 0.
kvm_segment flat_segment(uint16_t selector, uint8_t type) {
  kvm_segment s{};
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.s = 1;
  s.g = 1;
  return s;
}

// The 64-bit mode exception frame with an error code (SDM Vol. 3A 6.14.2,
// Figure 6-9), from the stack pointer up.
struct FaultFrame {
  uint64_t error_code, rip, cs, rflags, rsp, ss;
};

}  // namespace

std::string SyscallEntryWatch::before_run(const Vm& vm, unsigned vcpu, const kvm_run& run,
                                          const GuestView& view) {
  // A step whose trap never came (the vCPU left the handler's first
  // instruction through an exit of another kind) is over as well.
  if (stepping_ && run.s.regs.regs.rip == handler_) return "";
  stepping_ = false;
  handler_ = gate_handler(run.s.regs.sregs, view, PAGE_FAULT_VECTOR);
  return handler_ == armed_at_ ? "" : arm(vm, vcpu, handler_);
}

std::string SyscallEntryWatch::on_debug_exit(const Vm& vm, unsigned vcpu, const kvm_run& run,
                                             const GuestView& view) {
  if (stepping_) {
    // The handler's first instruction ran (single-step trap or the
    // fall-through breakpoint): watch its entry again.
    stepping_ = false;
    return arm(vm, vcpu, handler_);
  }
  if (armed_at_ && (run.debug.arch.dr6 & DR6_B0) && run.debug.arch.pc == armed_at_)
    return on_handler_entry(vm, vcpu, view);
  return deliver_to_guest(vm, vcpu, run.debug.arch.dr6);
}

// The vCPU is about to run the page-fault handler's first instruction.
std::string SyscallEntryWatch::on_handler_entry(const Vm& vm, unsigned vcpu, const GuestView& view) {
  kvm_regs regs{};
  kvm_sregs sregs{};
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS"); !e.empty()) return e;
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS"); !e.empty()) return e;
  const uint32_t index[3] = {MSR_STAR, MSR_LSTAR, MSR_FMASK};
  uint64_t msrs[3];
  if (std::string e = read_msrs(vm, vcpu, index, msrs); !e.empty()) return e;
  FaultFrame f{};
  const bool framed = view.read(regs.rsp, reinterpret_cast<uint8_t*>(&f), sizeof f) == sizeof f;
  const uint64_t lstar = msrs[1];
  if (framed && (f.cs & 3) == 3 && f.rip == lstar && sregs.cr2 == lstar && (f.error_code & PF_USER))
    return complete_syscall(vm, vcpu, regs, sregs, f.rsp, msrs);
  return step_over(vm, vcpu, view);
}

// SDM Vol. 2 SYSCALL, 64-bit mode: CS.selector = IA32_STAR[47:32] AND
// FFFCH, a 64-bit code segment (type 1011B, L = 1); SS.selector =
// IA32_STAR[47:32] + 8, a read/write data segment (type 0011B, B = 1);
// CPL 0; RFLAGS = the RFLAGS saved in R11 AND NOT IA32_FMASK; RIP =
// IA32_LSTAR. RCX and R11 are as the host's SYSCALL left them; RSP is the
// caller's (SYSCALL does not switch stacks; the fault's delivery did).
std::string SyscallEntryWatch::complete_syscall(const Vm& vm, unsigned vcpu, kvm_regs& regs, kvm_sregs& sregs,
                                                uint64_t user_rsp, const uint64_t (&msrs)[3]) {
  const uint16_t selector = uint16_t(msrs[0] >> 32) & 0xfffc;
  sregs.cs = flat_segment(selector, 0xb);
  sregs.cs.l = 1;
  sregs.ss = flat_segment(uint16_t(selector + 8), 0x3);
  sregs.ss.db = 1;
  regs.rip = msrs[1];
  regs.rsp = user_rsp;
  regs.rflags = (regs.r11 & ~msrs[2] & ~(RFLAGS_RF | RFLAGS_VM)) | RFLAGS_FIXED1;
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS"); !e.empty()) return e;
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS"); !e.empty()) return e;
  ++completed_;
  return "";
}

// Resuming at the breakpoint would stop there again, so the handler's
// first instruction runs under a single step, with the breakpoint moved to
// its fall-through address: this host's KVM completes some instructions
// without the single-step trap (emu/accel/kvm_step.h).
std::string SyscallEntryWatch::step_over(const Vm& vm, unsigned vcpu, const GuestView& view) {
  ZydisDecodedInstruction insn;
  uint8_t bytes[15];
  unsigned n = 0;
  const bool decoded = decode_guest(view, decoder_, DecodeMode::Long64, handler_, insn, bytes, n);
  stepping_ = true;
  armed_at_ = 0;
  return set_guest_debug(vm, vcpu, true, decoded ? handler_ + insn.length : 0);
}

// A #DB raised by the guest itself, delivered as the CPU would have: DR6
// holds the cause (SDM 17.2.3), then the exception (vector 1, no error
// code) is injected.
std::string SyscallEntryWatch::deliver_to_guest(const Vm& vm, unsigned vcpu, uint64_t dr6) {
  kvm_debugregs regs{};
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_GET_DEBUGREGS, &regs, "KVM_GET_DEBUGREGS"); !e.empty()) return e;
  regs.dr6 = dr6;
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_SET_DEBUGREGS, &regs, "KVM_SET_DEBUGREGS"); !e.empty()) return e;
  kvm_vcpu_events ev{};
  if (std::string e = vcpu_ioctl(vm, vcpu, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS"); !e.empty()) return e;
  ev.flags = 0;
  ev.exception.injected = 1;
  ev.exception.nr = 1;
  ev.exception.has_error_code = 0;
  return vcpu_ioctl(vm, vcpu, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
}

// A breakpoint on `address`, or none when it is 0.
std::string SyscallEntryWatch::arm(const Vm& vm, unsigned vcpu, uint64_t address) {
  armed_at_ = address;
  return set_guest_debug(vm, vcpu, false, address);
}

}  // namespace softvt::kvm
