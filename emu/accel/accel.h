// The accelerators (DESIGN.md "Accelerators"): each runs the same machine
// (RAM contents + initial CPU state) and reports how it stopped and the
// final architectural state.
#pragma once
#include <cstdint>
#include <string>

#include "emu/cpu.h"

namespace softvt {

struct RunOutcome {
  StopReason stop = StopReason::None;
  std::string detail;     // why, for "shutdown" and "error"
  CpuState state{};       // final state (valid unless stop == Error)
};

struct RunOptions {
  uint64_t max_insns = ~uint64_t(0);
  Cpu::Tracer* tracer = nullptr;   // interp only
  // Port I/O seen by the guest (the debug console on port 0xe9).
  std::function<void(uint16_t port, unsigned size, uint64_t value)> io_write;
};

// The reference interpreter.
RunOutcome run_interp(Memory& mem, const CpuState& init, const CpuModel& model,
                      const RunOptions& opt);

// Host /dev/kvm (emu/accel/kvm.cpp). Returns stop == Error with the reason
// when /dev/kvm is missing or unusable (kvm_unavailable_reason() says why).
RunOutcome run_kvm(Memory& mem, const CpuState& init, const CpuModel& model,
                   const RunOptions& opt);
// Empty when /dev/kvm can run guests; otherwise why not.
std::string kvm_unavailable_reason();

}  // namespace softvt
