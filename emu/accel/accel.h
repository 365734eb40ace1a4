// The accelerators (DESIGN.md "Accelerators"): each runs the same machine
// (RAM contents + initial CPU state) and reports how it stopped and the
// final architectural state.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "emu/cpu.h"

namespace softvt {

struct RunOutcome {
  StopReason stop = StopReason::None;
  std::string detail;     // why, for "shutdown" and "error"
  CpuState state{};       // final state (valid unless stop == Error)
  // Whether state.insn_count is the number of retired instructions. The
  // KVM backend counts only when it single-steps (a finite max_insns);
  // running freely it reports 0 and false.
  bool insn_count_known = true;
};

struct RunOptions {
  uint64_t max_insns = ~uint64_t(0);
  Cpu::Tracer* tracer = nullptr;   // interp only
  // Port I/O seen by the guest (the debug console on port 0xe9).
  std::function<void(uint16_t port, unsigned size, uint64_t value)> io_write;
  // Wall-clock limit of a KVM run (a guest that never stops must not hang
  // the caller): the run ends with stop == Error, detail "timeout: ...".
  uint64_t timeout_ms = 10000;
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

// ---- native execution oracle (emu/accel/native.cpp) ----------------------
// Runs a long64 flat image directly on the host CPU, as user-level (CPL 3)
// code in a forked child: the image is mapped read/write/execute at `load`,
// each extra region is mapped zero-filled at its address, execution starts
// at `load` with every GPR 0 except RSP = load, and ends at the first HLT
// (which faults at CPL 3) or any other fault, caught in the child.
struct NativeRegion {
  uint64_t addr;  // page aligned, >= 0x10000 (vm.mmap_min_addr)
  uint64_t len;   // page multiple
};
struct NativeOutcome {
  bool ran = false;          // false: the oracle itself could not run it
  std::string detail;        // why not, or which signal ended the run
  bool ended_by_hlt = false; // the run ended at a HLT instruction
  int signal = 0;            // the signal that ended it (SIGSEGV for HLT)
  CpuState state{};          // gpr, rip (after the HLT, as hardware leaves it), rflags
  std::vector<std::vector<uint8_t>> regions;  // final contents of each region
};
NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, uint64_t timeout_ms = 2000);

}  // namespace softvt
