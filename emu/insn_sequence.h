// What Cpu::run (emu/exec.cpp) tells a tracer about the instruction it
// reports to Tracer::insn: the instruction it retired just before, when
// that one ran from the same block and nothing else came between them
// (no event, fault, VM exit or block lookup, no return from Cpu::run).
// The state then differs from the one at the previous Tracer::insn only
// by what that instruction (and the retirement bookkeeping: RIP, RF, the
// count) did, which lets --record-regs compare only the registers it can
// write (traces/reg_writes.h). A side channel rather than a Tracer
// argument or a Cpu member, so that the tracers and every user of
// emu/cpu.h are untouched; a tracer must check `cpu`.
#pragma once

namespace softvt {

class Cpu;
struct Insn;

struct InsnSequence {
  const Cpu* cpu = nullptr;    // the CPU whose run loop set `previous`
  const Insn* previous = nullptr;  // nullptr: anything may have changed
};

// One per thread: a CPU runs in one thread at a time.
// Initial-exec: softvt is one executable (the access is one load from %fs).
inline thread_local InsnSequence insn_sequence [[gnu::tls_model("initial-exec")]];

}  // namespace softvt
