// The accelerators (DESIGN.md "Accelerators"): each runs the same machine
// (RAM contents + initial CPU state) and reports how it stopped and the
// final architectural state.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/loader/flat.h"

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

// Host /dev/kvm (emu/accel/kvm.cpp, docs/oracles.md): the same machine
// with the CPU model's CPUID (masked by what KVM supports). A finite
// max_insns single-steps and counts retired instructions exactly (slow);
// otherwise the guest runs freely and the count is unknown. Returns stop ==
// Error with the reason when /dev/kvm is missing or unusable
// (kvm_unavailable_reason() says why), when KVM cannot run an instruction
// (its internal errors: never reported as a result) and at the timeout.
RunOutcome run_kvm(Memory& mem, const CpuState& init, const CpuModel& model,
                   const RunOptions& opt);
// Empty when /dev/kvm can run guests; otherwise why not.
std::string kvm_unavailable_reason();

// ---- native execution oracle (emu/accel/native.cpp, docs/oracles.md) -----
// Runs a flat image directly on the host CPU, as user-level (CPL 3) code in
// a forked child: the image is mapped read/write/execute at `load`, each
// extra region is mapped zero-filled at its address, and execution starts
// in the requested mode and ends at the first HLT (which faults at CPL 3)
// or any other fault, caught in the child. The modes, each as close to the
// flat runner's (emu/loader/flat.h) as a user process gets:
//  - long64: 64-bit code; RIP = load, RSP = load.
//  - prot32: 32-bit code in compatibility mode, entered by a far jump to
//    Linux's 32-bit user code segment (GDT selector 0x23); DS, ES, FS, GS
//    and SS hold the flat user data segment 0x2b (base 0, 4 GiB). EIP =
//    load, ESP = load. The image and the regions must lie below 4 GiB.
//  - real16: 16-bit code through 16-bit LDT segments made with
//    modify_ldt(): CS = 0x07 (code, base = load, limit 0xFFFF, D = 0) and
//    DS, ES, FS, GS, SS = 0x0f (data, the same base and limit, B = 0), so
//    offsets address the same linear bytes as real mode with every segment
//    = load >> 4; IP = 0, SP = 0xFFF0. `load` must lie below 4 GiB.
// What differs from the flat runner in every mode (callers exclude it):
// CPL 3 with IOPL 0 (privileged and IOPL-sensitive instructions fault),
// protected-mode selectors and descriptors (segment loads, far transfers,
// LAR/LSL, ...), CS is never writable, IF = 1, and exceptions end the run.
// Initial state:
//  - every GPR 0 except RSP (above): pushes go *below* the initial stack
//    pointer, so a snippet that uses the stack needs a region there (or
//    must set RSP itself);
//  - RFLAGS = 0x202: the interpreter's 0x2 plus IF, which CPL-3 code cannot
//    clear; the final RFLAGS is the image the kernel saved at the fault,
//    which also has RF set (SDM 17.3.1.1). IF and RF differ from a
//    flat-runner state: callers compare the arithmetic flags;
//  - x87 after FNINIT (FCW 0x37f), MXCSR 0x1f80, XMM0-15 zero.
// The child runs under seccomp strict mode: a system call other than
// read/write/exit kills it (reported as ran = false).
struct NativeRegion {
  uint64_t addr;  // page aligned, >= vm.mmap_min_addr
  uint64_t len;   // page multiple
};
struct NativeOptions {
  FlatMode mode = FlatMode::Long64;
  uint64_t timeout_ms = 2000;  // wall-clock limit: ran = false, "timeout: ..."
};
struct NativeOutcome {
  bool ran = false;          // false: the oracle itself could not run it
  std::string detail;        // why not, or which signal ended the run
  bool ended_by_hlt = false; // the run ended at a HLT instruction
  int signal = 0;            // the signal that ended it (SIGSEGV for HLT)
  int vector = -1;           // the exception vector the kernel reports (trapno)
  uint64_t error_code = 0;   // its error code (0 for vectors without one)
  uint64_t fault_addr = 0;   // siginfo si_addr (the #PF address for SIGSEGV)
  // gpr (all 64 bits as the CPU left them; only the low 32 are
  // architectural in prot32/real16), rip (the offset in CS: after the HLT,
  // as hardware leaves it; at the faulting instruction for faults; after
  // INT3 for SIGTRAP), rflags, the six segment selectors (seg[i].sel, as
  // loaded when the run ended), mode (Long64, Compat32 or Compat16), cpl 3,
  // and the FXSAVE image (x87, MXCSR, XMM0-15) in xsave[0..512).
  CpuState state{};
  std::vector<std::vector<uint8_t>> regions;  // final contents of each region
  std::vector<uint8_t> image;  // final contents of the image's pages
};
NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, const NativeOptions& opt);
// The long64 form.
NativeOutcome run_native(const std::vector<uint8_t>& image, uint64_t load,
                         const std::vector<NativeRegion>& regions, uint64_t timeout_ms = 2000);
// Empty when the native oracle can run code in `mode` on this host
// (real16 needs modify_ldt(), which a kernel may lack); otherwise why not.
std::string native_unavailable_reason(FlatMode mode);

}  // namespace softvt
