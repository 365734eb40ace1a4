// Which general-purpose registers a decoded instruction can write, for
// --record-regs (traces/recorder.cpp): after an instruction that can write
// only its explicit register operands (and RFLAGS), the recorder compares
// those instead of the whole register file. Anything else - an implicit
// writer (CPUID, RDMSR, PUSH, string instructions, SYSCALL...), a segment,
// control or debug register operand, a far branch, an instruction this
// list does not name - answers ALL_REGS, and the recorder compares all.
#pragma once
#include <cstdint>

#include "decoder/insn.h"

namespace softvt::trace {

// Not a GPR mask: every recorded register (GPRs, RFLAGS, system registers)
// may have changed.
constexpr uint32_t ALL_REGS = ~uint32_t(0);

// What the instructions of a mnemonic can write besides RFLAGS.
enum class RegWrites : uint8_t {
  Any,            // unknown or implicit writers: compare everything
  Operands,       // only its register operands
  OperandsRaxRdx, // and RAX, RDX (MUL, IMUL, DIV, IDIV: RDX:RAX implicitly)
  OperandsRax,    // and RAX (CMPXCHG: the accumulator on a mismatch)
};

// Indexed by ZydisMnemonic (Insn::mnemonic); filled once at startup.
extern const RegWrites* const kRegWritesByMnemonic;
extern const unsigned kRegWritesMnemonics;

// Bit r set: GPR r (0-15, RAX..R15) may have been written by `in`, or
// ALL_REGS. A conservative superset: operands read but not written count
// too (a false candidate costs one compare, a missing one a wrong trace).
inline uint32_t gpr_write_candidates(const Insn& in) {
  if (in.mnemonic >= kRegWritesMnemonics || in.far_branch) return ALL_REGS;
  const RegWrites w = kRegWritesByMnemonic[in.mnemonic];
  if (w == RegWrites::Any) return ALL_REGS;
  uint32_t m = w == RegWrites::OperandsRaxRdx ? 0x5u : w == RegWrites::OperandsRax ? 0x1u : 0u;
  for (unsigned k = 0; k < in.nops; ++k) {
    if (in.op[k].kind != OpKind::Reg) continue;
    const unsigned r = in.op[k].reg;
    if (r < 16) m |= 1u << r;
    else if (r < reg::AH + 4) m |= 1u << (r - reg::AH);  // AH..BH are bits 15:8 of RAX..RBX
    else return ALL_REGS;  // a segment, control, debug, vector or unmapped register
  }
  return m;
}

}  // namespace softvt::trace
