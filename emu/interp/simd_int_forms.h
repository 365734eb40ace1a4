// The forms shared by the MMX / SSE2 integer groups (emu/interp/simd_int_*.cpp):
// an instruction exists as an MMX form (64-bit MMX registers, "0F xx") and,
// with a 66 prefix, as an SSE2 form on XMM registers (SDM Vol. 1 9.4, 11.4.1).
// A row gates on one feature, so the selector picks the form by the
// destination's register class and the handler of the XMM form raises #UD
// when the model lacks SSE2 (an XMM integer form is always SSE2, even when
// its MMX form is MMX or SSE: SDM Vol. 2 each instruction's "CPUID Feature
// Flag" column).
//
// An operation is a type with `static void apply(SimdVec& d, const SimdVec& s,
// unsigned bytes)`: d holds the destination (and receives the result), s the
// source, `bytes` is 8 (MMX) or 16 (XMM). In the imm8 forms (the shifts by
// an immediate count) s holds the imm8, zero-extended.
#pragma once
#include "emu/interp/simd_operands.h"
#include "emu/interp/table.h"

namespace softvt {
namespace simd_int {

// #UD for an XMM form on a model without SSE2, then the SSE checks.
inline void xmm_enter(Cpu& cpu) {
  if (!cpu.model.has(Feature::Sse2)) cpu.raise_ud();
  sse_enter(cpu);
}

inline unsigned xmm_index(const Insn& in, unsigned i) { return in.op[i].reg - reg::XMM0; }
inline unsigned mmx_index(const Insn& in, unsigned i) { return in.op[i].reg - reg::MM0; }

// Applies f to each lane of type T: d[i] = f(d[i], s[i]).
template <typename T, typename F>
inline void lanes(SimdVec& d, const SimdVec& s, unsigned bytes, F f) {
  for (unsigned i = 0; i < bytes / sizeof(T); ++i) d.set<T>(i, T(f(d.get<T>(i), s.get<T>(i))));
}

// "op mm, mm/m64" (the memory operand has its decoded size: 8, or 4 for
// PUNPCKLxx mm, m32).
template <class Op>
void mmx_binary(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  const SimdVec s = read_simd(cpu, in, 1, Align::None);
  SimdVec d = zero_vec();
  d.set_q(0, read_mmx(cpu, mmx_index(in, 0)));
  Op::apply(d, s, 8);
  write_mmx(cpu, mmx_index(in, 0), d.q(0));
}

// "op xmm, xmm/m128" (a 16-byte memory operand must be aligned).
template <class Op>
void xmm_binary(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  const SimdVec s = read_simd(cpu, in, 1, Align::Require16);
  SimdVec d = read_xmm(cpu, xmm_index(in, 0));
  Op::apply(d, s, 16);
  write_xmm(cpu, xmm_index(in, 0), d);
}

template <class Op>
Handler select_binary(const Insn& in) {
  if (op_is_xmm(in, 0)) return xmm_binary<Op>;
  if (op_is_mmx(in, 0)) return mmx_binary<Op>;
  return nullptr;
}

// An XMM-only operation (PUNPCKLQDQ, PSHUFD's relatives have their own).
template <class Op>
Handler select_xmm_binary(const Insn& in) {
  return op_is_xmm(in, 0) ? xmm_binary<Op> : nullptr;
}

}  // namespace simd_int
}  // namespace softvt

#define SOFTVT_SIMD_BINARY(Op) ::softvt::simd_int::select_binary<Op>
#define SOFTVT_XMM_BINARY(Op) ::softvt::simd_int::select_xmm_binary<Op>
