// Control transfer: JMP, Jcc, CALL, RET, LOOP, INT, IRET (SDM Vol. 2).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

inline uint64_t ip_mask(unsigned opsize) { return mask_of(opsize); }

void jmp_rel(Cpu& cpu, const Insn& in) {
  cpu.next_rip = (cpu.next_rip + in.imm) & ip_mask(in.opsize);
}

Handler select_jmp(const Insn& in) {
  if (in.op[0].kind == OpKind::Imm) return jmp_rel;
  return nullptr;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_JMP, select_jmp, 0, 0, Feature::Base, 1},
};

}  // namespace

std::span<const InsnRow> rows_control() { return kRows; }

}  // namespace softvt
