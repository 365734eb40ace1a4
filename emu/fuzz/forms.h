// Operand forms of an instruction, discovered from the Zydis encoder: for
// each mnemonic and mode, every combination of up to three operand slots
// (general-purpose registers of each size, CL, memory operands of each size
// based on the data pointer, immediates), with the LOCK/REP prefixes and
// operand-size hints the encoder accepts for it. The generator picks among
// these, so it needs no per-instruction operand knowledge: whatever the
// instruction table implements is exercised in every form Zydis can encode.
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <vector>

#include "emu/loader/flat.h"

namespace softvt::fuzz {

// ST0 is the fixed top-of-stack operand (FADD ST0, ST(i)); STi any x87
// stack register; MM and XMM the MMX and SSE registers. M80 is an
// extended-precision or packed-BCD operand; M14/M28 and M94/M108 the x87
// environment and state images of 16- and 32-bit operand size (SDM Vol. 1
// 8.1.10); M512 the FXSAVE image.
enum class Slot : uint8_t {
  R8, R16, R32, R64, CL, ST0, STi, MM, XMM,
  M8, M16, M32, M64, M128, M80, M14, M28, M94, M108, M512,
  Imm
};

inline bool slot_is_mem(Slot s) { return s >= Slot::M8 && s <= Slot::M512; }
inline bool slot_is_reg(Slot s) { return s <= Slot::XMM; }
// Memory operands only single-operand x87/FXSAVE forms take.
inline bool slot_is_big_mem(Slot s) { return s >= Slot::M80 && s <= Slot::M512; }
inline bool slot_is_x87(Slot s) { return s == Slot::ST0 || s == Slot::STi; }
// Operand size in bytes of a register or memory slot (0 for Imm).
unsigned slot_bytes(Slot s);

struct Form {
  uint8_t count = 0;                 // number of operands
  Slot slot[3] = {};
  ZydisInstructionAttributes prefixes = 0;  // LOCK / REP / REPE / REPNE
  ZydisOperandSizeHint size_hint = ZYDIS_OPERAND_SIZE_HINT_NONE;
};

struct FormSet {
  std::vector<Form> forms;
  // Zydis's classification of the mnemonic (from its first form), used by
  // the exclusion rules: category and whether it is CPL0-only.
  ZydisInstructionCategory category = ZYDIS_CATEGORY_INVALID;
  bool privileged = false;
};

// The forms of `m` in `mode` (cached; no forms when none encodes).
const FormSet& forms_of(ZydisMnemonic m, FlatMode mode);

}  // namespace softvt::fuzz
