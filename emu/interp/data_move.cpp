// Data movement: MOV and friends (SDM Vol. 2 MOV, MOVZX, ...).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

template <unsigned N>
void mov(Cpu& cpu, const Insn& in) {
  write_operand<N>(cpu, in, 0, read_operand<N>(cpu, in, 1));
}

void nop(Cpu&, const Insn&) {}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_MOV, SOFTVT_SIZED(mov), 0, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_NOP, SOFTVT_FIXED(nop), 0, 0, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_data_move() { return kRows; }

}  // namespace softvt
