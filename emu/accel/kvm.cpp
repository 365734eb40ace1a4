// The host-KVM backend: runs the same machine (guest RAM + initial CpuState)
// on /dev/kvm as the real-CPU oracle for differential testing (DESIGN.md
// "Accelerators"). The KVM API used here is Documentation/virt/kvm/api.rst
// of the Linux kernel; docs/oracles.md records what this host's KVM can run.
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "decoder/decoder.h"
#include "emu/accel/accel.h"
#include "emu/accel/kvm_state.h"
#include "emu/accel/kvm_step.h"
#include "emu/accel/kvm_transfer.h"
#include "emu/accel/kvm_vm.h"
#include "emu/block_cache.h"

namespace softvt {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

class KvmRun {
 public:
  KvmRun(kvm::Vm& vm, Memory& mem, const CpuState& init, const CpuModel& model,
         const RunOptions& opt)
      : vm_(vm), run_(vm.run()), mem_(mem), init_(init), model_(model), opt_(opt),
        stepping_(opt.max_insns != ~uint64_t(0)), view_(vm.vcpu_fd(), mem), decoder_(model),
        steps_(view_, mem, model), scratch_(mem, model) {}

  RunOutcome run() {
    out_.state = init_;
    out_.insn_count_known = stepping_;
    if (!fail(load_state()) && !fail(watchdog_.arm(run_, opt_.timeout_ms))) {
      cur_ = init_;
      loop();
    }
    if (out_.stop != StopReason::Error) fail(read_state(out_.state));
    // Without single-stepping nothing counts instructions: the count is
    // unknown, reported as 0 with insn_count_known = false.
    out_.state.insn_count = stepping_ ? init_.insn_count + counted_ : 0;
    return out_;
  }

 private:
  // Records an error (if `err` is not empty); returns whether it did.
  bool fail(const std::string& err) {
    if (err.empty()) return false;
    stop(StopReason::Error, err);
    return true;
  }
  void stop(StopReason r, const std::string& detail = "") {
    out_.stop = r;
    out_.detail = detail;
  }

  // ---- state in ------------------------------------------------------------
  std::string load_state() {
    std::vector<kvm_cpuid_entry2> cpuid;
    std::string e = kvm::guest_cpuid_for(vm_, model_, -1, cpuid);
    if (e.empty()) e = kvm::set_cpuid(vm_, 0, cpuid);
    if (e.empty()) e = kvm::set_registers(vm_, 0, init_);
    if (e.empty()) e = kvm::set_fpu_and_msrs(vm_, 0, init_);
    return e;
  }

  // Single-stepping (KVM_GUESTDBG_SINGLESTEP) plus a hardware execution
  // breakpoint (DR0, R/W = 00, len 1: SDM 17.2.4) on the fall-through
  // address of the instruction about to run. This host's KVM finishes some
  // instructions (LFENCE, MFENCE, SFENCE, RDRAND, RDSEED, SWAPGS) without
  // the single-step trap; the breakpoint then stops the vCPU before the
  // next instruction, so a step is still exactly one instruction.
  std::string arm_step(uint64_t breakpoint) { return kvm::set_guest_debug(vm_, 0, true, breakpoint); }

  // ---- state out -----------------------------------------------------------
  std::string read_state(CpuState& s) {
    const std::string e = kvm::get_state(vm_, 0, s);
    if (e.empty()) derive_mode(s);
    return e;
  }

  // The registers KVM copied into kvm_run at this exit (KVM_CAP_SYNC_REGS),
  // which saves two ioctls per single step.
  void sync_state(CpuState& s) {
    kvm::from_kvm_regs(run_->s.regs.regs, s);
    kvm::from_kvm_sregs(run_->s.regs.sregs, s);
    derive_mode(s);
  }

  // Mode, CPL and the default sizes follow from the registers exactly as in
  // the interpreter (Cpu::update_mode); CPL is SS.DPL in protected mode
  // (SDM Vol. 3A 5.7: a stack segment is loaded only with DPL = CPL).
  void derive_mode(CpuState& s) {
    CpuState& t = scratch_.s;
    t.cr0 = s.cr0;
    t.efer = s.efer;
    t.rflags = s.rflags;
    t.seg[CS] = s.seg[CS];
    t.seg[SS] = s.seg[SS];
    t.cpl = s.cpl;  // SS.DPL (from_kvm_sregs)
    scratch_.update_mode();
    s.mode = t.mode;
    s.cpl = t.cpl;
    s.code_size = t.code_size;
    s.stack_size = t.stack_size;
  }

  // ---- the run loop ----------------------------------------------------------
  void loop() {
    bool step_starts = true;  // the next entry begins a new instruction
    while (out_.stop == StopReason::None) {
      if (stepping_ && init_.insn_count + counted_ >= opt_.max_insns) {
        stop(StopReason::Limit);
        break;
      }
      if (stepping_ && step_starts) {
        steps_.before_step(cur_);
        if (fail(arm_step(steps_.breakpoint()))) break;
      }
      run_->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
      if (ioctl(vm_.vcpu_fd(), KVM_RUN, 0) < 0) {
        if (errno == EINTR && !watchdog_.fired()) continue;
        if (errno == EINTR)
          stop(StopReason::Error, "timeout: the guest ran for more than " +
                                      std::to_string(opt_.timeout_ms) + " ms" + site());
        else stop(StopReason::Error, kvm::sys_error("KVM_RUN") + site());
        break;
      }
      on_exit();
      step_starts = run_->exit_reason == KVM_EXIT_DEBUG || (stepping_ && io_finished_insn());
    }
  }

  void on_exit() {
    switch (run_->exit_reason) {
      case KVM_EXIT_HLT:
        // KVM leaves RIP after the HLT, as hardware does (SDM Vol. 2 HLT);
        // HLT retires and counts like in the interpreter.
        if (stepping_) ++counted_;
        stop(StopReason::Hlt);
        break;
      case KVM_EXIT_SHUTDOWN:
        stop(StopReason::Shutdown, "triple fault (KVM_EXIT_SHUTDOWN)");
        break;
      case KVM_EXIT_DEBUG:
        on_step();
        break;
      case KVM_EXIT_IO:
        on_io();
        break;
      case KVM_EXIT_MMIO:
        kvm::serve_mmio(*run_, mem_);
        break;
      case KVM_EXIT_INTR:
      case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;
      case KVM_EXIT_INTERNAL_ERROR:
        stop(StopReason::Error, internal_error_detail());
        break;
      case KVM_EXIT_FAIL_ENTRY:
        stop(StopReason::Error, "VM entry failed: hardware entry failure reason " +
                                    hex(run_->fail_entry.hardware_entry_failure_reason) + site());
        break;
      default:
        stop(StopReason::Error,
             "unexpected KVM exit reason " + std::to_string(run_->exit_reason) + site());
        break;
    }
  }

  // An I/O or MMIO exit comes in the middle of an instruction. Where KVM
  // has already moved RIP past it (this host does so for OUT and MMIO
  // writes), no single-step trap follows for it: it retired here and the
  // next entry starts a new step. Otherwise the trap comes after the next
  // entry completes it.
  bool io_finished_insn() {
    if (run_->exit_reason != KVM_EXIT_IO && run_->exit_reason != KVM_EXIT_MMIO) return false;
    sync_state(cur_);
    if (!steps_.finished_at(kvm::linear_rip(cur_))) return false;
    ++counted_;
    return true;
  }

  // A single-step trap: see kvm_step.h for what a step is.
  void on_step() {
    sync_state(cur_);
    switch (steps_.after_step(run_->debug.arch.pc, run_->debug.arch.dr6, cur_)) {
      case kvm::StepKind::RepIteration:
      case kvm::StepKind::Delivered:
        break;
      case kvm::StepKind::Retired:
        ++counted_;
        break;
      case kvm::StepKind::Halted:
        ++counted_;
        stop(StopReason::Hlt);
        break;
    }
  }

  // Port I/O: writes go to the RunOptions callback (the interpreter hands
  // every OUT to it too); reads of unclaimed ports return all ones.
  void on_io() {
    kvm::serve_io(*run_, [this](uint16_t port, unsigned size, uint64_t v) {
                    if (opt_.io_write) opt_.io_write(port, size, v);
                  },
                  [](uint16_t, unsigned size) { return size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1; });
  }


  // ---- error details -----------------------------------------------------------
  std::string internal_error_detail() {
    const auto& in = run_->internal;
    std::string d = std::string("KVM internal error: ") + kvm::internal_error_name(in.suberror) +
                    " (suberror " + std::to_string(in.suberror) + ")";
    const auto& ef = run_->emulation_failure;
    if (in.suberror == KVM_INTERNAL_ERROR_EMULATION && ef.ndata >= 3 &&
        (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
      return d + site(ef.insn_bytes, std::min<unsigned>(ef.insn_size, 15));
    return d + site();
  }

  // " at CS:RIP (linear L), bytes .. (mnemonic)" for error details; the
  // bytes come from `known` when KVM supplied them, else from guest memory.
  std::string site(const uint8_t* known = nullptr, unsigned known_len = 0) {
    CpuState s = out_.state;
    if (!read_state(s).empty()) return "";
    char b[96];
    const uint64_t lin = kvm::linear_rip(s);
    std::snprintf(b, sizeof b, " at %04x:%llx (linear %llx)", s.seg[CS].sel,
                  (unsigned long long)s.rip, (unsigned long long)lin);
    std::string d = b;
    uint8_t bytes[15];
    unsigned n = 0;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    scratch_.s.mode = s.mode;
    const DecodeMode mode = decode_mode_of(scratch_);
    if (known) {
      // KVM's own copy of the bytes it failed on.
      n = known_len;
      std::memcpy(bytes, known, n);
    } else {
      n = view_.read(lin, bytes, sizeof bytes);
    }
    const bool ok = n > 0 && ZYAN_SUCCESS(decoder_.decode_raw(bytes, n, mode, insn, ops));
    if (ok) n = insn.length;
    if (n == 0) return d;
    d += ", bytes";
    for (unsigned i = 0; i < n; ++i) {
      std::snprintf(b, sizeof b, " %02x", bytes[i]);
      d += b;
    }
    if (ok) d += std::string(" (") + ZydisMnemonicGetString(insn.mnemonic) + ")";
    return d;
  }

  kvm::Vm& vm_;
  kvm_run* run_;
  Memory& mem_;
  const CpuState& init_;
  const CpuModel& model_;
  const RunOptions& opt_;
  const bool stepping_;
  kvm::GuestView view_;
  Decoder decoder_;
  kvm::StepCounter steps_;
  Cpu scratch_;      // derives mode/CPL from registers (Cpu::update_mode)
  kvm::Watchdog watchdog_;
  RunOutcome out_;
  CpuState cur_{};   // the state at the last exit (while single-stepping)
  uint64_t counted_ = 0;
};

}  // namespace

std::string kvm_unavailable_reason() {
  kvm::Vm vm;
  return vm.create();
}

RunOutcome run_kvm(Memory& mem, const CpuState& init, const CpuModel& model,
                   const RunOptions& opt) {
  kvm::Vm vm;
  std::string err = vm.create();
  if (err.empty()) err = vm.map_ram(mem);
  if (!err.empty()) {
    RunOutcome o;
    o.stop = StopReason::Error;
    o.detail = "KVM set-up failed: " + err;
    return o;
  }
  return KvmRun(vm, mem, init, model, opt).run();
}

}  // namespace softvt
