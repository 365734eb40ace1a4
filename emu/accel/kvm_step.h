// Counting retired instructions from KVM single-step traps (the KVM
// backend's --max-insns). One KVM_EXIT_DEBUG is one step, and a step is
// one retired instruction except in the cases this file sorts out, all
// measured on this host and described in docs/oracles.md:
//  - a REP string instruction traps after every iteration with RIP still
//    on it (SDM Vol. 2 "REP", Vol. 3B 17.3.1.4): it counts once, when RIP
//    moves past it;
//  - some instructions finish without the trap on this host; an execution
//    breakpoint on the fall-through address stops the next one (kvm.cpp).
//    That breakpoint also stops a fault's delivery to a handler that starts
//    exactly there, before the handler's first instruction;
//  - a HLT stepped by KVM retires without halting (KVM reports the trap,
//    not KVM_EXIT_HLT): the counter recognises it so the run stops there;
//  - an OUT or MMIO store may complete at its I/O exit, with no trap;
//  - an instruction that faults does not retire; the exception is
//    delivered and the handler's first instruction retires in the same
//    step (so the step still counts one), and when that first instruction
//    is a HLT it is recognised through the IDT/IVT.
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <vector>

#include "decoder/decoder.h"
#include "emu/cpu.h"

namespace softvt::kvm {

// Guest-linear memory as the vCPU sees it: KVM_TRANSLATE walks the guest's
// own page tables (nothing is written, unlike an emulated walk that sets
// accessed bits), then the bytes come from RAM.
class GuestView {
 public:
  GuestView(int vcpu_fd, Memory& mem) : vcpu_fd_(vcpu_fd), mem_(mem) {}
  // Copies up to `max` bytes at `lin`; returns how many were readable.
  unsigned read(uint64_t lin, uint8_t* buf, unsigned max) const;

 private:
  int vcpu_fd_;
  Memory& mem_;
};

// The linear address of CS:RIP (CS.base + RIP, truncated to 32 bits outside
// 64-bit mode), as KVM reports it in debug exits (kvm_run.debug.arch.pc).
uint64_t linear_rip(const CpuState& s);

// Decodes the instruction at a guest-linear address in `mode`; `bytes`
// (15 bytes) receives what could be read, `nbytes` how many.
bool decode_guest(const GuestView& view, const Decoder& dec, DecodeMode mode, uint64_t lin,
                  ZydisDecodedInstruction& insn, uint8_t* bytes, unsigned& nbytes);

enum class StepKind : uint8_t {
  Retired,       // one instruction retired
  RepIteration,  // a REP string iteration; the instruction has not finished
  Delivered,     // an exception was delivered, its handler not yet started
  Halted,        // the retired instruction was a HLT: the run stops here
};

class StepCounter {
 public:
  StepCounter(const GuestView& view, Memory& mem, const CpuModel& model)
      : view_(view), dec_(model), scratch_(mem, model) {}
  // Call before each step with the state the step starts from (mode, CS
  // and the mode-defining fields must be current).
  void before_step(const CpuState& s);
  // Call at the step's KVM_EXIT_DEBUG with the trap's linear pc, its DR6
  // (kvm_run.debug.arch) and the state after it.
  StepKind after_step(uint64_t pc, uint64_t dr6, const CpuState& s);
  // Whether the pending instruction has completed when the vCPU's linear
  // RIP is `pc` at an I/O or MMIO exit (some KVMs advance RIP past an OUT
  // or an MMIO store before the exit and then deliver no trap for it).
  bool finished_at(uint64_t pc) const;
  // Where an execution breakpoint should stop the vCPU should KVM not trap
  // after the pending instruction: its fall-through address, or 0 when it
  // transfers control or could not be decoded.
  uint64_t breakpoint() const;

 private:
  StepKind after_breakpoint(uint64_t pc, const CpuState& s);
  std::vector<uint64_t> handler_entries(const CpuState& s);
  bool handler_starts_with_hlt_ending_at(uint64_t pc, const CpuState& s);
  bool hlt_spans(uint64_t start, uint64_t pc, DecodeMode mode);
  DecodeMode decode_mode(const CpuState& s);

  // The instruction the step is about to execute.
  struct Pending {
    bool known = false;
    uint64_t start = 0;        // linear
    uint64_t fallthrough = 0;  // linear address of the next instruction
    bool hlt = false;
    bool rep_string = false;
    bool transfers_control = false;
  };
  const GuestView& view_;
  Decoder dec_;
  Cpu scratch_;  // maps CpuState::mode to the decoder's mode (decode_mode_of)
  Pending pending_;
};

}  // namespace softvt::kvm
