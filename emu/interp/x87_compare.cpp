// x87 comparison and classification (SDM Vol. 1 8.3.8; Vol. 2 FCOM/FCOMP/
// FCOMPP, FUCOM/FUCOMP/FUCOMPP, FICOM/FICOMP, FCOMI/FCOMIP/FUCOMI/FUCOMIP,
// FTST, FXAM). C0/C2/C3 (or ZF/PF/CF for the FCOMI forms, which clear OF,
// SF and AF) come from the host FPU (x87_exec.cpp).
#include "emu/cpu_state.h"
#include "emu/interp/table.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

#define X87_COMPUTE(m) {ZYDIS_MNEMONIC_##m, select_x87_compute, 0, 0, Feature::Fpu, 0}
#define X87_EFLAGS(m) {ZYDIS_MNEMONIC_##m, select_x87_eflags, uint32_t(fl::ARITH), 0, Feature::Fpu, 0}
const InsnRow kRows[] = {
    X87_COMPUTE(FCOM),  X87_COMPUTE(FCOMP), X87_COMPUTE(FCOMPP), X87_COMPUTE(FUCOM),
    X87_COMPUTE(FUCOMP), X87_COMPUTE(FUCOMPP), X87_COMPUTE(FICOM), X87_COMPUTE(FICOMP),
    X87_COMPUTE(FTST),  X87_COMPUTE(FXAM),
    X87_EFLAGS(FCOMI),  X87_EFLAGS(FCOMIP), X87_EFLAGS(FUCOMI), X87_EFLAGS(FUCOMIP),
};
#undef X87_COMPUTE
#undef X87_EFLAGS

}  // namespace

std::span<const InsnRow> rows_x87_compare() { return kRows; }

}  // namespace softvt
