// Instruction group: atomic. Rows and handlers follow the pattern of alu.cpp.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {

std::span<const InsnRow> rows_atomic() { return {}; }

}  // namespace softvt
