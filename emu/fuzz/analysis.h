// Safety analysis of one encoded candidate instruction, from Zydis's full
// decoding (visible and hidden operands): the generator only keeps
// instructions whose every effect stays inside what the backends compare.
//   - registers written: general-purpose registers and RFLAGS only (RIP for
//     forward branches); a write to the data pointer RBX or an explicit
//     write to RSP is allowed because the generator restores them right
//     after; an implicit RSP update must be a stack operation whose amount
//     is known in advance (emu/fuzz/constraints.h computes ENTER/LEAVE);
//   - memory operands: based on the data pointer (XLAT adds AL) or on RIP,
//     with every accessed byte inside the data area (the access size is
//     Zydis's, which may differ from the size the form was requested
//     with); hidden ones on RSP for the stack operations, on RSI/RDI for
//     string operations (set up by fixups), or on RBP for LEAVE.
#pragma once
#include <cstdint>
#include <string>

#include "emu/fuzz/encoding.h"

namespace softvt::fuzz {

struct Analysis {
  std::string reject;           // non-empty: why the candidate is unusable
  bool writes_ptr = false;      // writes (part of) RBX
  bool writes_sp = false;       // a visible operand writes (part of) RSP
  bool implicit_stack = false;  // a hidden operand updates RSP
};

// `addr`: the instruction's linear address (for RIP-relative operands).
Analysis analyze(const Decoded& d, FlatMode mode, uint64_t addr, bool forward_branch);

// The RSP change of PUSH, POP, PUSHA(D), POPA(D), PUSHF(D/Q) and CALL;
// false for anything else (ENTER and LEAVE are handled by their rules).
bool implicit_stack_delta(const Decoded& d, int64_t& delta);

}  // namespace softvt::fuzz
