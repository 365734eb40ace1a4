// Which general-purpose registers a decoded instruction can write, for
// --record-regs (traces/recorder.cpp): after an instruction that can write
// only its explicit register operands (and RFLAGS), the recorder compares
// those instead of the whole register file. Anything else - an implicit
// writer (CPUID, RDMSR, PUSH, string instructions, SYSCALL...), a segment,
// control or debug register operand, a far branch, an instruction this
// list does not name - answers ALL_REGS, and the recorder compares all.
#pragma once
#include <Zydis/Zydis.h>

#include <array>
#include <cstdint>

#include "decoder/insn.h"

namespace softvt::trace {

// Not a GPR mask: every recorded register (GPRs, RFLAGS, system registers)
// may have changed.
constexpr uint32_t ALL_REGS = ~uint32_t(0);

// Indexed by ZydisMnemonic (Insn::mnemonic): the GPRs its instructions
// write besides their register operands (RDX:RAX of MUL...), or ALL_REGS
// for a mnemonic not known to write only those (traces/reg_writes.cpp).
extern const std::array<uint32_t, ZYDIS_MNEMONIC_MAX_VALUE + 1> kImplicitGprWrites;
// Indexed by a reg:: number: its GPR bit (AH..BH: RAX..RBX), ALL_REGS for
// any other register (segment, control, debug, vector, unmapped).
extern const std::array<uint32_t, 256> kRegOperandGprs;

// Bit r set: GPR r (0-15, RAX..R15) may have been written by `in`, or
// ALL_REGS. A conservative superset: operands read but not written count
// too (a false candidate costs one compare, a missing one a wrong trace).
// ALL_REGS has every bit set, so ORing it in keeps the answer ALL_REGS.
inline uint32_t gpr_write_candidates(const Insn& in) {
  if (in.mnemonic >= kImplicitGprWrites.size() || in.far_branch) return ALL_REGS;
  uint32_t m = kImplicitGprWrites[in.mnemonic];
  for (unsigned k = 0; k < in.nops && k < 4; ++k)
    if (in.op[k].kind == OpKind::Reg) m |= kRegOperandGprs[in.op[k].reg];
  return m;
}

}  // namespace softvt::trace
