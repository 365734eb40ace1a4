// x87 data transfer (SDM Vol. 1 8.3.3, Vol. 2 FLD, FST/FSTP, FILD,
// FIST/FISTP, FBLD, FBSTP, FXCH, FCMOVcc) and the constant loads (8.3.4,
// Vol. 2 FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/FLDLN2/FLDZ, whose rounding of the
// irrational constants follows RC). Results come from the host FPU
// (x87_exec.cpp); FCMOVcc reads the guest's CF/ZF/PF there.
#include "emu/interp/table.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_FLD, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FILD, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FBLD, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FST, select_x87_store, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FSTP, select_x87_store, 0, 0, Feature::Fpu, 0},
    // FSTP1/FSTP8/FSTP9 (D9 D8+i, DF D0+i, DF D8+i): FSTP ST(i) aliases.
    {ZYDIS_MNEMONIC_FSTPNCE, select_x87_store, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FIST, select_x87_store, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FISTP, select_x87_store, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FBSTP, select_x87_store, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FXCH, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVB, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVE, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVBE, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVU, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVNB, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVNE, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVNBE, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FCMOVNU, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLD1, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDL2T, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDL2E, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDPI, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDLG2, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDLN2, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDZ, select_x87_compute, 0, 0, Feature::Fpu, 0},
};

}  // namespace

std::span<const InsnRow> rows_x87_load_store() { return kRows; }

}  // namespace softvt
