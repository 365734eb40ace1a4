// Instruction group: bits. Rows and handlers follow the pattern of alu.cpp.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {

std::span<const InsnRow> rows_bits() { return {}; }

}  // namespace softvt
