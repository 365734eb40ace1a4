// System instructions: HLT, CPUID, control registers, descriptor tables,
// MSRs (SDM Vol. 2 and Vol. 3A).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

void hlt(Cpu& cpu, const Insn&) {
  if (cpu.s.cpl != 0) cpu.raise_gp0();
  cpu.s.halted = 1;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_HLT, SOFTVT_FIXED(hlt), 0, 0, Feature::Base, 1},
};

}  // namespace

std::span<const InsnRow> rows_system() { return kRows; }

}  // namespace softvt
