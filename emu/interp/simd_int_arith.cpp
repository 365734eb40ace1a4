// MMX / SSE2 integer arithmetic: PADD*, PSUB* (wrapping and saturating),
// PMULLW, PMULHW, PMULHUW, PMULUDQ, PMADDWD, PAVGB/W, PMINUB, PMAXUB,
// PMINSW, PMAXSW, PSADBW (SDM Vol. 2, each instruction's "Operation"). None
// changes RFLAGS.
#include <algorithm>
#include <cstdlib>
#include <limits>

#include "emu/interp/simd_int_forms.h"

namespace softvt {
namespace {

using simd_int::lanes;

template <typename T>
T saturate(int64_t v) {
  constexpr int64_t lo = int64_t(std::numeric_limits<T>::min());
  constexpr int64_t hi = int64_t(std::numeric_limits<T>::max());
  return T(std::clamp(v, lo, hi));
}

// Wrapping add/sub on lanes of T.
template <typename T>
struct Add {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return T(a + b); });
  }
};
template <typename T>
struct Sub {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return T(a - b); });
  }
};
// Saturating add/sub: T is the signed or unsigned lane type whose range the
// result is clamped to (SDM Vol. 1 4.6.3 "Saturation").
template <typename T>
struct AddSat {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return saturate<T>(int64_t(a) + int64_t(b)); });
  }
};
template <typename T>
struct SubSat {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return saturate<T>(int64_t(a) - int64_t(b)); });
  }
};

// PMULLW: low 16 bits of the signed product (equal to the unsigned one's).
struct MulLowW {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<uint16_t>(d, s, n, [](uint16_t a, uint16_t b) { return uint16_t(uint32_t(a) * b); });
  }
};
// PMULHW / PMULHUW: high 16 bits of the signed / unsigned 32-bit product.
struct MulHighW {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return int16_t((int32_t(a) * b) >> 16); });
  }
};
struct MulHighUW {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<uint16_t>(d, s, n, [](uint16_t a, uint16_t b) { return uint16_t((uint32_t(a) * b) >> 16); });
  }
};
// PMULUDQ: each quadword = low dword of d * low dword of s, unsigned.
struct MulUDQ {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return uint64_t(uint32_t(a)) * uint32_t(b); });
  }
};
// PMADDWD: each dword = d.w[2i]*s.w[2i] + d.w[2i+1]*s.w[2i+1] (signed), the
// sum taken modulo 2^32: only 0x8000 * 0x8000 twice overflows, giving
// 0x80000000 (SDM Vol. 2 PMADDWD).
struct MaddWD {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    SimdVec r = zero_vec();
    for (unsigned i = 0; i < n / 4; ++i) {
      const int64_t sum = int64_t(d.get<int16_t>(2 * i)) * s.get<int16_t>(2 * i) +
                          int64_t(d.get<int16_t>(2 * i + 1)) * s.get<int16_t>(2 * i + 1);
      r.set<uint32_t>(i, uint32_t(sum));
    }
    d = r;
  }
};
// PAVGB / PAVGW: (a + b + 1) >> 1 without losing the carry.
template <typename T>
struct Avg {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return T((uint32_t(a) + b + 1) >> 1); });
  }
};
template <typename T>
struct Min {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return std::min(a, b); });
  }
};
template <typename T>
struct Max {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    lanes<T>(d, s, n, [](T a, T b) { return std::max(a, b); });
  }
};
// PSADBW: per 64 bits, the sum of |d.b[i] - s.b[i]| in the low word, the
// other three words zero.
struct SadBW {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    SimdVec r = zero_vec();
    for (unsigned q = 0; q < n / 8; ++q) {
      unsigned sum = 0;
      for (unsigned i = 0; i < 8; ++i) sum += unsigned(std::abs(int(d.b[8 * q + i]) - int(s.b[8 * q + i])));
      r.set<uint16_t>(4 * q, uint16_t(sum));
    }
    d = r;
  }
};

// Row features: the MMX form's feature (SSE2 for PADDQ/PSUBQ/PMULUDQ,
// whose MMX forms came with SSE2; SSE for the SSE additions); the XMM forms
// check SSE2 themselves (simd_int_forms.h).
const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_PADDB, SOFTVT_SIMD_BINARY(Add<uint8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDW, SOFTVT_SIMD_BINARY(Add<uint16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDD, SOFTVT_SIMD_BINARY(Add<uint32_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDQ, SOFTVT_SIMD_BINARY(Add<uint64_t>), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PADDSB, SOFTVT_SIMD_BINARY(AddSat<int8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDSW, SOFTVT_SIMD_BINARY(AddSat<int16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDUSB, SOFTVT_SIMD_BINARY(AddSat<uint8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PADDUSW, SOFTVT_SIMD_BINARY(AddSat<uint16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBB, SOFTVT_SIMD_BINARY(Sub<uint8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBW, SOFTVT_SIMD_BINARY(Sub<uint16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBD, SOFTVT_SIMD_BINARY(Sub<uint32_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBQ, SOFTVT_SIMD_BINARY(Sub<uint64_t>), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PSUBSB, SOFTVT_SIMD_BINARY(SubSat<int8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBSW, SOFTVT_SIMD_BINARY(SubSat<int16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBUSB, SOFTVT_SIMD_BINARY(SubSat<uint8_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSUBUSW, SOFTVT_SIMD_BINARY(SubSat<uint16_t>), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PMULLW, SOFTVT_SIMD_BINARY(MulLowW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PMULHW, SOFTVT_SIMD_BINARY(MulHighW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PMULHUW, SOFTVT_SIMD_BINARY(MulHighUW), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMULUDQ, SOFTVT_SIMD_BINARY(MulUDQ), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PMADDWD, SOFTVT_SIMD_BINARY(MaddWD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PAVGB, SOFTVT_SIMD_BINARY(Avg<uint8_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PAVGW, SOFTVT_SIMD_BINARY(Avg<uint16_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMINUB, SOFTVT_SIMD_BINARY(Min<uint8_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMAXUB, SOFTVT_SIMD_BINARY(Max<uint8_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMINSW, SOFTVT_SIMD_BINARY(Min<int16_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMAXSW, SOFTVT_SIMD_BINARY(Max<int16_t>), 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PSADBW, SOFTVT_SIMD_BINARY(SadBW), 0, 0, Feature::Sse, 0},
};

}  // namespace

std::span<const InsnRow> rows_simd_int_arith() { return kRows; }

}  // namespace softvt
