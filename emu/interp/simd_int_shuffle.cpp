// MMX / SSE2 packing, unpacking and shuffles: PACKSSWB, PACKSSDW, PACKUSWB,
// PUNPCKL/H BW/WD/DQ(/QDQ), PSHUFW, PSHUFD, PSHUFHW, PSHUFLW, PEXTRW,
// PINSRW, PMOVMSKB (SDM Vol. 2 each instruction). RFLAGS unchanged.
#include <algorithm>
#include <limits>

#include "emu/interp/simd_int_forms.h"

namespace softvt {
namespace {

using simd_int::mmx_index;
using simd_int::xmm_enter;
using simd_int::xmm_index;

// PACKSSWB / PACKSSDW / PACKUSWB: the lanes of DEST then those of SRC, each
// narrowed from the signed type From to To with saturation.
template <typename From, typename To>
struct Pack {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    constexpr int64_t lo = int64_t(std::numeric_limits<To>::min());
    constexpr int64_t hi = int64_t(std::numeric_limits<To>::max());
    const unsigned count = n / sizeof(From);
    SimdVec r = zero_vec();
    for (unsigned i = 0; i < count; ++i) {
      r.set<To>(i, To(std::clamp<int64_t>(d.get<From>(i), lo, hi)));
      r.set<To>(count + i, To(std::clamp<int64_t>(s.get<From>(i), lo, hi)));
    }
    d = r;
  }
};
using PackSSWB = Pack<int16_t, int8_t>;
using PackSSDW = Pack<int32_t, int16_t>;
using PackUSWB = Pack<int16_t, uint8_t>;

// PUNPCKLxx / PUNPCKHxx: interleave the low (High = false) or high halves of
// DEST and SRC, DEST's lane first.
template <typename T, bool High>
struct Unpack {
  static void apply(SimdVec& d, const SimdVec& s, unsigned n) {
    const unsigned half = unsigned(n / 2 / sizeof(T));
    const unsigned base = High ? half : 0;
    SimdVec r = zero_vec();
    for (unsigned i = 0; i < half; ++i) {
      r.set<T>(2 * i, d.get<T>(base + i));
      r.set<T>(2 * i + 1, s.get<T>(base + i));
    }
    d = r;
  }
};

using UnpackLBW = Unpack<uint8_t, false>;
using UnpackLWD = Unpack<uint16_t, false>;
using UnpackLDQ = Unpack<uint32_t, false>;
using UnpackHBW = Unpack<uint8_t, true>;
using UnpackHWD = Unpack<uint16_t, true>;
using UnpackHDQ = Unpack<uint32_t, true>;
using UnpackLQDQ = Unpack<uint64_t, false>;
using UnpackHQDQ = Unpack<uint64_t, true>;

// The lane an imm8 selects for result lane i: bits 2i+1:2i.
inline unsigned pick(uint64_t imm, unsigned i) { return unsigned(imm >> (2 * i)) & 3; }

// PSHUFW mm, mm/m64, imm8.
void pshufw(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  const SimdVec s = read_simd(cpu, in, 1, Align::None);
  SimdVec r = zero_vec();
  for (unsigned i = 0; i < 4; ++i) r.set<uint16_t>(i, s.get<uint16_t>(pick(in.imm, i)));
  write_mmx(cpu, mmx_index(in, 0), r.q(0));
}

// PSHUFD / PSHUFLW / PSHUFHW xmm, xmm/m128, imm8 (an aligned 128-bit source).
enum class Shuf { D, LW, HW };
template <Shuf K>
void pshuf_xmm(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  const SimdVec s = read_simd(cpu, in, 1, Align::Require16);
  SimdVec r = s;
  for (unsigned i = 0; i < 4; ++i) {
    if constexpr (K == Shuf::D) r.set<uint32_t>(i, s.get<uint32_t>(pick(in.imm, i)));
    if constexpr (K == Shuf::LW) r.set<uint16_t>(i, s.get<uint16_t>(pick(in.imm, i)));
    if constexpr (K == Shuf::HW) r.set<uint16_t>(4 + i, s.get<uint16_t>(4 + pick(in.imm, i)));
  }
  write_xmm(cpu, xmm_index(in, 0), r);
}

Handler select_pshufw(const Insn& in) { return op_is_mmx(in, 0) ? pshufw : nullptr; }
template <Shuf K>
Handler select_pshuf_xmm(const Insn& in) {
  return op_is_xmm(in, 0) ? pshuf_xmm<K> : nullptr;
}

// PEXTRW r32/r64, mm, imm8 / r32/r64, xmm, imm8: the selected word,
// zero-extended into the register.
void pextrw_mmx(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  const uint64_t v = read_mmx(cpu, mmx_index(in, 1));
  cpu.set_reg(in.op[0].reg, 8, (v >> (16 * (in.imm & 3))) & 0xffff);
  mmx_transition(cpu);
}
// Zydis names 66 0F 3A 15 (SSE4.1 PEXTRW r/m16, xmm, imm8) PEXTRW too, and
// its register form has the operands of 66 0F C5: the opcode bytes tell
// them apart. Legacy and REX prefixes are never 0F, so the byte after the
// first 0F is C5 or 3A (read back from CS:RIP, as the fetch did).
bool encoded_in_0f3a_map(Cpu& cpu, const Insn& in) {
  const bool user = cpu.user_access();
  auto byte_at = [&](unsigned i) {
    uint64_t lin = cpu.s.rip + i;
    if (!cpu.in_64bit()) lin = (cpu.s.seg[CS].base + lin) & 0xffffffffull;
    return uint8_t(cpu.read_lin(lin, 1, Acc::Exec, user));
  };
  for (unsigned i = 0; i + 1 < in.len; ++i)
    if (byte_at(i) == 0x0f) return byte_at(i + 1) == 0x3a;
  return false;
}
void pextrw_xmm(Cpu& cpu, const Insn& in) {
  // No CPU model offers SSE4.1: its PEXTRW is an invalid opcode.
  if (encoded_in_0f3a_map(cpu, in)) cpu.raise_ud();
  xmm_enter(cpu);
  const SimdVec v = read_xmm(cpu, xmm_index(in, 1));
  cpu.set_reg(in.op[0].reg, 8, v.get<uint16_t>(in.imm & 7));
}
// The memory-destination PEXTRW (66 0F 3A 15) is SSE4.1, which no model
// offers: #UD (its register form is caught in pextrw_xmm).
Handler select_pextrw(const Insn& in) {
  if (in.op[0].kind != OpKind::Reg || !is_gpr_reg(in.op[0].reg)) return nullptr;
  if (op_is_mmx(in, 1)) return pextrw_mmx;
  if (op_is_xmm(in, 1)) return pextrw_xmm;
  return nullptr;
}

// PINSRW mm, r32/m16, imm8 / xmm, r32/m16, imm8: the low word of the
// source into the selected word.
void pinsrw_mmx(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  const uint16_t w = read_simd(cpu, in, 1, Align::None).get<uint16_t>(0);
  SimdVec d = zero_vec();
  d.set_q(0, read_mmx(cpu, mmx_index(in, 0)));
  d.set<uint16_t>(in.imm & 3, w);
  write_mmx(cpu, mmx_index(in, 0), d.q(0));
}
void pinsrw_xmm(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  const uint16_t w = read_simd(cpu, in, 1, Align::None).get<uint16_t>(0);
  SimdVec d = read_xmm(cpu, xmm_index(in, 0));
  d.set<uint16_t>(in.imm & 7, w);
  write_xmm(cpu, xmm_index(in, 0), d);
}
Handler select_pinsrw(const Insn& in) {
  if (op_is_mmx(in, 0)) return pinsrw_mmx;
  if (op_is_xmm(in, 0)) return pinsrw_xmm;
  return nullptr;
}

// PMOVMSKB reg, mm / reg, xmm: bit i = the sign bit of byte i, the rest of
// the register zero.
uint64_t byte_signs(const SimdVec& v, unsigned n) {
  uint64_t m = 0;
  for (unsigned i = 0; i < n; ++i) m |= uint64_t(v.b[i] >> 7) << i;
  return m;
}
void pmovmskb_mmx(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  SimdVec v = zero_vec();
  v.set_q(0, read_mmx(cpu, mmx_index(in, 1)));
  cpu.set_reg(in.op[0].reg, 8, byte_signs(v, 8));
  mmx_transition(cpu);
}
void pmovmskb_xmm(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  cpu.set_reg(in.op[0].reg, 8, byte_signs(read_xmm(cpu, xmm_index(in, 1)), 16));
}
Handler select_pmovmskb(const Insn& in) {
  if (in.op[0].kind != OpKind::Reg || !is_gpr_reg(in.op[0].reg)) return nullptr;
  if (op_is_mmx(in, 1)) return pmovmskb_mmx;
  if (op_is_xmm(in, 1)) return pmovmskb_xmm;
  return nullptr;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_PACKSSWB, SOFTVT_SIMD_BINARY(PackSSWB), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PACKSSDW, SOFTVT_SIMD_BINARY(PackSSDW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PACKUSWB, SOFTVT_SIMD_BINARY(PackUSWB), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKLBW, SOFTVT_SIMD_BINARY(UnpackLBW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKLWD, SOFTVT_SIMD_BINARY(UnpackLWD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKLDQ, SOFTVT_SIMD_BINARY(UnpackLDQ), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKHBW, SOFTVT_SIMD_BINARY(UnpackHBW), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKHWD, SOFTVT_SIMD_BINARY(UnpackHWD), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKHDQ, SOFTVT_SIMD_BINARY(UnpackHDQ), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_PUNPCKLQDQ, SOFTVT_XMM_BINARY(UnpackLQDQ), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PUNPCKHQDQ, SOFTVT_XMM_BINARY(UnpackHQDQ), 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PSHUFW, select_pshufw, 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PSHUFD, select_pshuf_xmm<Shuf::D>, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PSHUFLW, select_pshuf_xmm<Shuf::LW>, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PSHUFHW, select_pshuf_xmm<Shuf::HW>, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PEXTRW, select_pextrw, 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PINSRW, select_pinsrw, 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PMOVMSKB, select_pmovmskb, 0, 0, Feature::Sse, 0},
};

}  // namespace

std::span<const InsnRow> rows_simd_int_shuffle() { return kRows; }

}  // namespace softvt
