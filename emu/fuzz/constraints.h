// Per-instruction rules that keep a random instruction inside the
// comparable space: no fault by design, no result the SDM leaves undefined,
// every memory access inside the data area or the stack. A rule may change
// an immediate or a displacement of the request, prepend setup fixups (MOVs
// of chosen values into operands), fix the instruction's RSP change, or
// reject the operand choice. The rules, by mnemonic:
//   DIV, IDIV     divisor set to a non-zero value and the dividend chosen so
//                 the quotient fits (no #DE); divisor registers that overlap
//                 the dividend (rAX, rDX, AL/AH) are rejected
//   BSF, BSR      source set non-zero (the destination is undefined for 0,
//                 SDM Vol. 2 BSF/BSR)
//   SHLD, SHRD    16-bit forms: masked count at most 16 (larger counts leave
//                 the result undefined)
//   BT, BTS, BTR, BTC  memory bit base with a register bit offset: the
//                 offset set so the accessed bytes stay in the data area
//   BSWAP         16-bit operand rejected (result undefined)
//   AAM           immediate 0 replaced (#DE)
//   CMPXCHG16B    memory operand aligned to 16 (#GP otherwise)
//   SSE m128      aligned to 16 255 times in 256 (#GP otherwise)
//   FLDCW, FLDENV, FRSTOR  control word from the biased set (#MF otherwise)
//   PEXTRW        with the native oracle: not the SSE4.1 memory form
//   MOVSD, CMPSD  with the KVM oracle: the string forms only (no x87/MMX/
//                 XMM register operand in any KVM case)
//   LDMXCSR       source set to a valid MXCSR value (reserved bits #GP)
//   ENTER         frame size <= 64 and nesting level <= 3, RBP set into the
//                 stack when the level copies frame pointers
//   LEAVE         RBP set into the stack near RSP
//   NOP           only the documented encodings 90 and 0F 1F /0 (the other
//                 hint-NOP opcodes are vendor-specific)
//   CMPXCHG       with the KVM oracle in long64: no 32-bit register
//                 destination (KVM's instruction emulator zero-extends it
//                 when the comparison fails; the CPU leaves it unchanged)
//   string ops    RSI/RDI set into the data area, RCX <= 8 with a REP prefix
//   any           with the native oracle in real16: no memory write through
//                 a CS override (real mode allows it; the oracle's 16-bit
//                 code segment is not writable)
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emu/fuzz/encoding.h"
#include "emu/fuzz/exclusions.h"
#include "emu/fuzz/prng.h"

namespace softvt::fuzz {

// MOV `target`, `value` (of `size` bytes) before the instruction.
struct Fixup {
  ZydisEncoderOperand target;
  unsigned size;
  uint64_t value;
};

struct RuleContext {
  Prng& rng;
  FlatMode mode;
  uint64_t sp;      // RSP register value before the instruction
  Oracles oracles;  // some forms are excluded only for one oracle
};

struct RuleResult {
  std::string reject;              // non-empty: choose other operands
  std::vector<Fixup> setup;
  bool changed_request = false;    // the caller must re-encode
  bool has_stack_delta = false;    // the rule computed the RSP change
  int64_t stack_delta = 0;
};

// `d` decodes `req` as it was encoded; the rule may modify `req`.
RuleResult apply_rules(ZydisEncoderRequest& req, const Decoded& d, RuleContext& ctx);

// The fixup that sets general-purpose register `num` (0-15) at `size`.
Fixup set_gpr(int num, unsigned size, uint64_t value);

}  // namespace softvt::fuzz
