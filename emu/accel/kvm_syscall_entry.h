// SYSCALL from guest ring 3 on a host KVM that does not finish it.
//
// This host's KVM (PVM, which runs guest ring-3 code natively in host
// user mode) takes a guest's 64-bit SYSCALL, sets RCX and R11 and
// continues at IA32_LSTAR, but stays in ring 3: CS, SS and CPL are still
// the user's, RFLAGS is not masked with IA32_FMASK. Measured with
// tests/kernels/syscall_user.asm. A guest whose system-call entry sits in
// supervisor pages, as Linux's does, then takes a page fault on fetching
// it (error code: user, instruction fetch) and kills the calling process.
// Neither the SYSCALL nor a code breakpoint or single step in ring 3
// reaches user space on this host, but the page fault's delivery does: it
// lands in the guest's page-fault handler in ring 0, which KVM's emulator
// runs and where an execution breakpoint stops.
//
// SyscallEntryWatch keeps a hardware execution breakpoint
// (KVM_SET_GUEST_DEBUG, DR0) on the guest's 64-bit page-fault handler
// (IDT vector 14). When it stops there on exactly that fault - from
// ring 3, RIP = CR2 = IA32_LSTAR, an instruction fetch - it undoes the
// fault's delivery (RSP back to the frame's) and completes the SYSCALL as
// SDM Vol. 2 SYSCALL specifies: CS and SS from IA32_STAR[47:32] with CPL
// 0, RFLAGS = R11 AND NOT IA32_FMASK, RIP = IA32_LSTAR. Any other page
// fault proceeds: its handler's first instruction runs under a single
// step and the breakpoint is set again. Other #DB exits (the guest's own
// single step, INT1) are delivered to the guest.
//
// Limits, all visible only on such a host: the guest's own debug
// registers are not in effect (api.rst: KVM_GUESTDBG_USE_HW_BP); CR2 keeps
// the LSTAR value the fault wrote; a guest whose entry code is in a user
// page runs it in ring 3 and is not helped; compatibility-mode SYSCALL
// (IA32_CSTAR) and SYSENTER are not watched; a ring-3 jump to the LSTAR
// address would be taken as a SYSCALL. On a host whose KVM runs guests on
// VT-x or AMD-V the fault never happens and the watch only costs two stops
// per guest page fault (the breakpoint, then the step over it).
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <string>

#include "decoder/decoder.h"
#include "emu/accel/kvm_step.h"
#include "emu/accel/kvm_vm.h"

namespace softvt::kvm {

class SyscallEntryWatch {
 public:
  explicit SyscallEntryWatch(const CpuModel& model) : decoder_(model) {}

  // Before each KVM_RUN, with the registers of the last exit (`run`'s
  // sync regs): follows the page-fault handler's address, which the guest
  // changes inside KVM without an exit (LIDT, IDT writes).
  std::string before_run(const Vm& vm, unsigned vcpu, const kvm_run& run, const GuestView& view);

  // A KVM_EXIT_DEBUG; the vCPU may then be resumed. Returns "" or the
  // failing ioctl.
  std::string on_debug_exit(const Vm& vm, unsigned vcpu, const kvm_run& run, const GuestView& view);

  // How many SYSCALLs were completed (for the run's summary).
  uint64_t completed() const { return completed_; }

 private:
  std::string on_handler_entry(const Vm& vm, unsigned vcpu, const GuestView& view);
  std::string complete_syscall(const Vm& vm, unsigned vcpu, kvm_regs& regs, kvm_sregs& sregs,
                               uint64_t user_rsp, const uint64_t (&msrs)[3]);
  std::string arm(const Vm& vm, unsigned vcpu, uint64_t address);
  std::string step_over(const Vm& vm, unsigned vcpu, const GuestView& view);
  static std::string deliver_to_guest(const Vm& vm, unsigned vcpu, uint64_t dr6);

  Decoder decoder_;          // the handler's first instruction's length
  bool stepping_ = false;    // the handler's first instruction is running
  uint64_t handler_ = 0;     // the page-fault handler's linear address
  uint64_t armed_at_ = 0;    // where DR0 is set; 0: no breakpoint
  uint64_t completed_ = 0;
};

}  // namespace softvt::kvm
