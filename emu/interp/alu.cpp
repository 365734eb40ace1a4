// Integer arithmetic and logic (SDM Vol. 2 ADD, SUB, ...).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

template <unsigned N>
void add(Cpu& cpu, const Insn& in) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  uint64_t b = read_operand<N>(cpu, in, 1);
  uint64_t r = (a + b) & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  set_arith_flags(cpu, add_flags<N>(a, b, r, 0));
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_ADD, SOFTVT_SIZED(add), fl::ARITH, 0, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_alu() { return kRows; }

}  // namespace softvt
