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

enum class Slot : uint8_t { R8, R16, R32, R64, CL, M8, M16, M32, M64, M128, Imm };

inline bool slot_is_mem(Slot s) { return s >= Slot::M8 && s <= Slot::M128; }
inline bool slot_is_reg(Slot s) { return s <= Slot::CL; }
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
