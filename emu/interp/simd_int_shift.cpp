// MMX / SSE2 logic and shifts: PAND, PANDN, POR, PXOR; PSLLW/D/Q,
// PSRLW/D/Q, PSRAW/D with the count in a register, in memory or in an
// imm8; PSLLDQ/PSRLDQ (SDM Vol. 2 each instruction). RFLAGS unchanged.
//
// The count of the register/memory forms is the whole low quadword of the
// source (an XMM source's high quadword is ignored, but a 128-bit memory
// source is read - and must be aligned - in full); an imm8 count is its 8
// bits unsigned. A count above the lane width minus one gives zero for the
// logical shifts and the sign in every bit for the arithmetic ones (SDM
// Vol. 2 PSLLW "IF (COUNT > 15) THEN DEST[64:0] <- 0", PSRAW "IF (COUNT >
// 15) THEN COUNT <- 16").
#include "emu/interp/simd_int_forms.h"

namespace softvt {
namespace {

struct And {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    simd_int::lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a & b; });
  }
};
// PANDN: DEST <- NOT(DEST) AND SRC.
struct AndNot {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    simd_int::lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return ~a & b; });
  }
};
struct Or {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    simd_int::lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a | b; });
  }
};
struct Xor {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    simd_int::lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a ^ b; });
  }
};

enum class ShiftKind { Left, RightLogical, RightArith };

// Every lane of T shifted by the count in s's low quadword.
template <typename T, ShiftKind K>
struct Shift {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    constexpr unsigned bits = sizeof(T) * 8;
    const uint64_t count = s.q(0);
    for (unsigned i = 0; i < n / sizeof(T); ++i) {
      const T v = d.get<T>(i);
      T r;
      if constexpr (K == ShiftKind::RightArith) {
        using S = std::make_signed_t<T>;
        const unsigned c = count > bits - 1 ? bits - 1 : unsigned(count);
        r = T(S(v) >> c);
      } else if (count > bits - 1) {
        r = 0;
      } else if constexpr (K == ShiftKind::Left) {
        r = T(v << count);
      } else {
        r = T(v >> count);
      }
      d.set<T>(i, r);
    }
  }
};

using PsllW = Shift<uint16_t, ShiftKind::Left>;
using PsllD = Shift<uint32_t, ShiftKind::Left>;
using PsllQ = Shift<uint64_t, ShiftKind::Left>;
using PsrlW = Shift<uint16_t, ShiftKind::RightLogical>;
using PsrlD = Shift<uint32_t, ShiftKind::RightLogical>;
using PsrlQ = Shift<uint64_t, ShiftKind::RightLogical>;
using PsraW = Shift<uint16_t, ShiftKind::RightArith>;
using PsraD = Shift<uint32_t, ShiftKind::RightArith>;

// PSLLDQ / PSRLDQ xmm, imm8: whole-register byte shifts; a count above 15
// clears the register.
template <bool Left>
struct ByteShift {
  static void apply(SimdVec& d, const SimdVec& s, unsigned) {
    const uint64_t count = s.q(0);
    SimdVec r = zero_vec();
    for (unsigned i = 0; i < 16; ++i) {
      if (count > 15) break;
      const unsigned c = unsigned(count);
      if (Left && i >= c) r.b[i] = d.b[i - c];
      if (!Left && i + c < 16) r.b[i] = d.b[i + c];
    }
    d = r;
  }
};

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_PAND, SOFTVT_SIMD_BINARY(And), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PANDN, SOFTVT_SIMD_BINARY(AndNot), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_POR, SOFTVT_SIMD_BINARY(Or), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PXOR, SOFTVT_SIMD_BINARY(Xor), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSLLW, SOFTVT_SIMD_BINARY(PsllW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSLLD, SOFTVT_SIMD_BINARY(PsllD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSLLQ, SOFTVT_SIMD_BINARY(PsllQ), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSRLW, SOFTVT_SIMD_BINARY(PsrlW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSRLD, SOFTVT_SIMD_BINARY(PsrlD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSRLQ, SOFTVT_SIMD_BINARY(PsrlQ), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSRAW, SOFTVT_SIMD_BINARY(PsraW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSRAD, SOFTVT_SIMD_BINARY(PsraD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PSLLDQ, SOFTVT_XMM_BINARY(ByteShift<true>), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PSRLDQ, SOFTVT_XMM_BINARY(ByteShift<false>), 0, 0, Feature::Sse2, 0},
};

}  // namespace

std::span<const InsnRow> rows_simd_int_shift() { return kRows; }

}  // namespace softvt
