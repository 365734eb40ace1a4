// MMX / SSE2 integer comparisons: PCMPEQB/W/D and PCMPGTB/W/D (signed)
// set each lane to all ones where the relation holds, else to zero (SDM
// Vol. 2 PCMPEQB/PCMPEQW/PCMPEQD, PCMPGTB/PCMPGTW/PCMPGTD). RFLAGS unchanged.
#include "emu/interp/simd_int_forms.h"

namespace softvt {
namespace {

using simd_int::lanes;

template <typename T>
struct Equal {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return a == b ? T(~T(0)) : T(0); });
  }
};
// T is the signed lane type: the comparison is signed.
template <typename T>
struct Greater {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return a > b ? T(-1) : T(0); });
  }
};

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_PCMPEQB, SOFTVT_SIMD_BINARY(Equal<uint8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PCMPEQW, SOFTVT_SIMD_BINARY(Equal<uint16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PCMPEQD, SOFTVT_SIMD_BINARY(Equal<uint32_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PCMPGTB, SOFTVT_SIMD_BINARY(Greater<int8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PCMPGTW, SOFTVT_SIMD_BINARY(Greater<int16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PCMPGTD, SOFTVT_SIMD_BINARY(Greater<int32_t>), 0, 0, Feature::Mmx, 0},
};

}  // namespace

std::span<const InsnRow> rows_simd_int_compare() { return kRows; }

}  // namespace softvt
