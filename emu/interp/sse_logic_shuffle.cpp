// SSE/SSE2 floating-point logic and shuffles (SDM Vol. 2 ANDPS, ANDNPS,
// ORPS, XORPS and the PD forms; SHUFPS, SHUFPD; UNPCKLPS, UNPCKHPS,
// UNPCKLPD, UNPCKHPD). Bitwise and lane moves: no SIMD floating-point
// exceptions, MXCSR untouched; the m128 source must be 16-byte aligned.
#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using namespace sse;

enum class Logic { And, AndNot, Or, Xor };

template <Logic L>
void logic(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) {
    const uint64_t x = a.u64(i), y = b.u64(i);
    uint64_t v = 0;
    switch (L) {
      case Logic::And: v = x & y; break;
      case Logic::AndNot: v = ~x & y; break;  // ANDNPS: NOT(dest) AND src
      case Logic::Or: v = x | y; break;
      case Logic::Xor: v = x ^ y; break;
    }
    r.set64(i, v);
  }
  set_xmm(cpu, d, r);
}

// SHUFPS: dest lanes 0-1 from the destination, lanes 2-3 from the source,
// each picked by a 2-bit field of imm8.
void shufps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  const unsigned imm = unsigned(in.imm);
  Vec r;
  r.set32(0, a.u32(imm & 3));
  r.set32(1, a.u32((imm >> 2) & 3));
  r.set32(2, b.u32((imm >> 4) & 3));
  r.set32(3, b.u32((imm >> 6) & 3));
  set_xmm(cpu, d, r);
}

// SHUFPD: imm8 bit 0 picks the destination's quadword, bit 1 the source's.
void shufpd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  Vec r;
  r.set64(0, a.u64(in.imm & 1));
  r.set64(1, b.u64((in.imm >> 1) & 1));
  set_xmm(cpu, d, r);
}

// UNPCKLPS/UNPCKHPS interleave the low/high two singles of both operands.
template <bool High>
void unpckps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  const unsigned base = High ? 2 : 0;
  Vec r;
  r.set32(0, a.u32(base));
  r.set32(1, b.u32(base));
  r.set32(2, a.u32(base + 1));
  r.set32(3, b.u32(base + 1));
  set_xmm(cpu, d, r);
}

template <bool High>
void unpckpd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  Vec r;
  r.set64(0, a.u64(High ? 1 : 0));
  r.set64(1, b.u64(High ? 1 : 0));
  set_xmm(cpu, d, r);
}

constexpr uint32_t NONE = 0;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_ANDPS, SOFTVT_FIXED(logic<Logic::And>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_ANDNPS, SOFTVT_FIXED(logic<Logic::AndNot>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_ORPS, SOFTVT_FIXED(logic<Logic::Or>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_XORPS, SOFTVT_FIXED(logic<Logic::Xor>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_ANDPD, SOFTVT_FIXED(logic<Logic::And>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_ANDNPD, SOFTVT_FIXED(logic<Logic::AndNot>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_ORPD, SOFTVT_FIXED(logic<Logic::Or>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_XORPD, SOFTVT_FIXED(logic<Logic::Xor>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_SHUFPS, SOFTVT_FIXED(shufps), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_SHUFPD, SOFTVT_FIXED(shufpd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_UNPCKLPS, SOFTVT_FIXED(unpckps<false>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_UNPCKHPS, SOFTVT_FIXED(unpckps<true>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_UNPCKLPD, SOFTVT_FIXED(unpckpd<false>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_UNPCKHPD, SOFTVT_FIXED(unpckpd<true>), NONE, NONE, Feature::Sse2, 0},
};

}  // namespace

std::span<const InsnRow> rows_sse_logic_shuffle() { return kRows; }

}  // namespace softvt
