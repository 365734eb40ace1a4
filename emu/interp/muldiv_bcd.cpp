// Instruction group: muldiv_bcd. Rows and handlers follow the pattern of alu.cpp.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {

std::span<const InsnRow> rows_muldiv_bcd() { return {}; }

}  // namespace softvt
