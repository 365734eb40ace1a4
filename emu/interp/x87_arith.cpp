// x87 basic arithmetic (SDM Vol. 1 8.3.5-8.3.7; Vol. 2 FADD/FADDP/FIADD,
// FSUB/FSUBP/FISUB, FSUBR/FSUBRP/FISUBR, FMUL/FMULP/FIMUL, FDIV/FDIVP/
// FIDIV, FDIVR/FDIVRP/FIDIVR, FCHS, FABS, FSQRT, FSCALE, FPREM, FPREM1,
// FRNDINT, FXTRACT). The host FPU computes each result under the guest's
// precision and rounding control (x87_exec.cpp).
#include "emu/interp/table.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

#define X87_COMPUTE(m) {ZYDIS_MNEMONIC_##m, select_x87_compute, 0, 0, Feature::Fpu, 0}
const InsnRow kRows[] = {
    X87_COMPUTE(FADD),   X87_COMPUTE(FADDP),  X87_COMPUTE(FIADD),  X87_COMPUTE(FSUB),
    X87_COMPUTE(FSUBP),  X87_COMPUTE(FISUB),  X87_COMPUTE(FSUBR),  X87_COMPUTE(FSUBRP),
    X87_COMPUTE(FISUBR), X87_COMPUTE(FMUL),   X87_COMPUTE(FMULP),  X87_COMPUTE(FIMUL),
    X87_COMPUTE(FDIV),   X87_COMPUTE(FDIVP),  X87_COMPUTE(FIDIV),  X87_COMPUTE(FDIVR),
    X87_COMPUTE(FDIVRP), X87_COMPUTE(FIDIVR), X87_COMPUTE(FCHS),   X87_COMPUTE(FABS),
    X87_COMPUTE(FSQRT),  X87_COMPUTE(FSCALE), X87_COMPUTE(FPREM),  X87_COMPUTE(FPREM1),
    X87_COMPUTE(FRNDINT), X87_COMPUTE(FXTRACT),
};
#undef X87_COMPUTE

}  // namespace

std::span<const InsnRow> rows_x87_arith() { return kRows; }

}  // namespace softvt
