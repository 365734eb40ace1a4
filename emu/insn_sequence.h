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
// (`carried`). A side channel rather than a Tracer argument or a Cpu
// member, so that the tracers and every user of emu/cpu.h are untouched;
// the run loop writes it only when a tracer is set, and a tracer must
// check `cpu`.
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;
struct Insn;

struct InsnSequence {
  const Cpu* cpu = nullptr;        // the CPU of the current block run
  uint64_t block_run = 0;          // counts the block runs of this thread
  const Insn* first = nullptr;     // the first instruction of the block
  const Insn* carried = nullptr;   // what `first` follows (a copy of the previous block's last), or nullptr
  const Insn* current = nullptr;   // the instruction reported to Tracer::insn
  void start_block(const Cpu* c, const Insn* block_first, const Insn* follows) {
    cpu = c;
    ++block_run;
    first = block_first;
    carried = follows;
  }
};

// One per thread: a CPU runs in one thread at a time. Initial-exec:
// softvt is one executable (the access is one load from %fs).
inline thread_local InsnSequence insn_sequence [[gnu::tls_model("initial-exec")]];

}  // namespace softvt
