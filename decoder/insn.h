// softvt's compact decoded-instruction record. Produced once per
// instruction address by decoder/decoder.cpp and executed many times
// through its pre-resolved handler (DESIGN.md "Dispatch").
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;
struct Insn;
using Handler = void (*)(Cpu&, const Insn&);

// Register operand numbering: 0-15 the GPRs (accessed at the operand's
// size), 16-19 AH, CH, DH, BH; then segment, control and debug registers.
namespace reg {
constexpr uint8_t GPR0 = 0;
constexpr uint8_t AH = 16;  // AH..BH = 16..19
constexpr uint8_t SEG0 = 24;  // ES..GS = 24..29
constexpr uint8_t CR0 = 32;   // CR0..CR15 = 32..47
constexpr uint8_t DR0 = 48;   // DR0..DR15 = 48..63
constexpr uint8_t XMM0 = 64;  // XMM0..XMM31 = 64..95
constexpr uint8_t ST0 = 96;   // ST(0)..ST(7) = 96..103 (relative to TOP)
constexpr uint8_t MM0 = 104;  // MM0..MM7 = 104..111
constexpr uint8_t NONE = 0xff;
constexpr uint8_t RIP = 0xfe;  // base register of RIP-relative addressing
}  // namespace reg

enum class OpKind : uint8_t { None, Reg, Mem, Imm, Ptr };

struct Operand {
  OpKind kind;
  uint8_t size;  // bytes
  uint8_t reg;   // reg:: number for OpKind::Reg
  uint8_t pad;
};

// Prefix bits of Insn::prefixes.
namespace pfx {
constexpr uint8_t LOCK = 1, REP = 2, REPNE = 4, OPSIZE = 8, ADDRSIZE = 16, REX_W = 32;
constexpr uint8_t SEG_OVERRIDE = 64;
}  // namespace pfx

struct Insn {
  Handler handler;     // specialised for this form (operand size, reg/mem)
  uint16_t row;        // index into the instruction table (emu/interp/table.h)
  uint16_t mnemonic;   // ZydisMnemonic, for traces and diagnostics
  uint8_t len;         // instruction length in bytes
  uint8_t opsize;      // effective operand size in bytes (1, 2, 4, 8)
  uint8_t addrsize;    // effective address size in bytes (2, 4, 8)
  uint8_t prefixes;    // pfx:: bits
  uint8_t seg;         // segment of the memory operand (SegIndex)
  uint8_t base;        // reg:: number or reg::NONE / reg::RIP
  uint8_t index;       // reg:: number or reg::NONE
  uint8_t scale;       // 1, 2, 4, 8
  uint8_t nops;        // number of visible operands
  uint8_t mem_op;      // index of the memory operand, or 0xff
  uint8_t ends_block;  // control transfer or state change: the block ends here
  uint8_t far_branch;  // 1: far JMP/CALL/RET (the forms share a mnemonic with
                       // the near ones and differ only in the opcode)
  Operand op[4];
  int64_t disp;        // memory displacement
  uint64_t imm;        // first immediate (sign-extended to 64 bits where signed);
                       // for relative branches the signed displacement
  uint64_t imm2;       // second immediate (ENTER's level, far pointer selector)
};

}  // namespace softvt
