// What Cpu::run (emu/exec.cpp) tells a tracer about the instruction it
// reports to Tracer::insn, so that --record-regs can compare only the
// registers the instruction before it can have written
// (traces/reg_writes.h). The run loop executes a block's instructions in
// a row: within one run of a block (from its lookup to the loop leaving
// it), an instruction reported right after the one before it in the
// block followed it with nothing between (anything else - an event, a
// fault, a VM exit, an unfinished REP, a stop - ends the block's run).
// The first instruction of a block follows the last of the previous
// block when that one ran to its end and the loop went straight on
// (`carried`). A member of the Cpu (Cpu::insn_sequence) rather than a
// Tracer::insn argument, so that tracers which do not need it are
// untouched; the run loop writes it only when a tracer is set.
#pragma once
#include <atomic>
#include <cstdint>

namespace softvt {

struct Insn;

struct InsnSequence {
  // Numbers the CPU's block runs while traced. Each InsnSequence numbers
  // from its own base, 2^40 apart, so that no two CPUs - nor two CPU
  // objects in turn, as gdb's flat target makes a fresh one for each
  // restored snapshot while its tracer lives on - share a number: a
  // tracer that remembers (block run, instruction) from one can never
  // match the other's.
  uint64_t block_run = next_base();
  const Insn* first = nullptr;     // the first instruction of the block
  const Insn* carried = nullptr;   // what `first` follows (a copy of the previous block's last), or nullptr
  const Insn* current = nullptr;   // the instruction reported to Tracer::insn
  void start_block(const Insn* block_first, const Insn* follows) {
    ++block_run;
    first = block_first;
    carried = follows;
  }

 private:
  static uint64_t next_base() {
    static std::atomic<uint64_t> sequences{0};
    return (sequences.fetch_add(1, std::memory_order_relaxed) + 1) << 40;
  }
};

}  // namespace softvt
