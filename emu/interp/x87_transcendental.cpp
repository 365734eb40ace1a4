// x87 transcendental instructions (SDM Vol. 1 8.3.9-8.3.10; Vol. 2 F2XM1,
// FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS). Their results,
// including the implementation-specific last bit and the C2 "operand out
// of range" answer for |x| >= 2^63, are the host FPU's (x87_exec.cpp;
// docs/decisions.md).
#include "emu/interp/table.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

#define X87_COMPUTE(m) {ZYDIS_MNEMONIC_##m, select_x87_compute, 0, 0, Feature::Fpu, 0}
const InsnRow kRows[] = {
    X87_COMPUTE(F2XM1), X87_COMPUTE(FYL2X), X87_COMPUTE(FYL2XP1), X87_COMPUTE(FPTAN),
    X87_COMPUTE(FPATAN), X87_COMPUTE(FSIN), X87_COMPUTE(FCOS),    X87_COMPUTE(FSINCOS),
};
#undef X87_COMPUTE

}  // namespace

std::span<const InsnRow> rows_x87_transcendental() { return kRows; }

}  // namespace softvt
