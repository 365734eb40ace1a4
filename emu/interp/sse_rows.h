// The SSE/SSE2 groups' rows (emu/interp/sse_*.cpp), joined into one
// rows_sse() span by sse_rows.cpp, and the handlers string.cpp hands the
// SSE2 forms of the mnemonics Zydis shares with string instructions.
#pragma once
#include <span>

#include "emu/interp/table.h"

namespace softvt {

std::span<const InsnRow> rows_sse_arith();
std::span<const InsnRow> rows_sse_compare();
std::span<const InsnRow> rows_sse_convert();
std::span<const InsnRow> rows_sse_logic_shuffle();
std::span<const InsnRow> rows_sse_move();
std::span<const InsnRow> rows_sse_state();

// MOVSD xmm forms (F2 0F 10/11) and CMPSD xmm, xmm/m64, imm8 (F2 0F C2):
// Zydis names them like the string instructions, whose rows (string.cpp)
// call these for a form with operands. They check the SSE2 feature
// themselves, as the shared row carries the string form's feature.
Handler select_sse_movsd(const Insn& in);
Handler select_sse_cmpsd(const Insn& in);

}  // namespace softvt
