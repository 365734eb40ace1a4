// SSE/SSE2 floating-point arithmetic: ADD, SUB, MUL, DIV, SQRT, MIN, MAX in
// the PS/SS/PD/SD forms, and RCPPS/RCPSS/RSQRTPS/RSQRTSS (SDM Vol. 2 of
// each). Each lane runs on the host SSE unit (emu/fpu/sse_host.h); the
// guest's exception rules are applied by FpStatus before anything is
// written. Scalar forms leave the destination's upper lanes unchanged.
#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using namespace sse;
using ssehost::Arith;

// ADD, SUB, MUL and DIV can overflow and underflow; SQRT, MIN, MAX, RCP and
// RSQRT cannot (SDM Vol. 1 11.5.2.4/11.5.2.5 list the instructions).
constexpr bool can_overflow(Arith op) {
  return op == Arith::Add || op == Arith::Sub || op == Arith::Mul || op == Arith::Div;
}

template <Arith Op>
uint32_t lane_ss(FpStatus& st, uint32_t a, uint32_t b) {
  uint32_t f = 0;
  const uint32_t r = ssehost::arith_ss(Op, a, b, st.control(), f);
  if constexpr (can_overflow(Op))
    st.lane_arith(f, ssehost::is_denormal_ss(r),
                  [&] { return ssehost::inexact_unbounded_ss(Op, a, b, st.control()); });
  else
    st.lane(f);
  return r;
}

template <Arith Op>
uint64_t lane_sd(FpStatus& st, uint64_t a, uint64_t b) {
  uint32_t f = 0;
  const uint64_t r = ssehost::arith_sd(Op, a, b, st.control(), f);
  if constexpr (can_overflow(Op))
    st.lane_arith(f, ssehost::is_denormal_sd(r),
                  [&] { return ssehost::inexact_unbounded_sd(Op, a, b, st.control()); });
  else
    st.lane(f);
  return r;
}

template <Arith Op>
void op_ps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 4; ++i) r.set32(i, lane_ss<Op>(st, a.u32(i), b.u32(i)));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

template <Arith Op>
void op_pd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) r.set64(i, lane_sd<Op>(st, a.u64(i), b.u64(i)));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

template <Arith Op>
void op_ss(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  Vec r = get_xmm(cpu, d);
  const uint32_t b = uint32_t(read_scalar(cpu, in, 1, 4));
  FpStatus st(cpu);
  r.set32(0, lane_ss<Op>(st, r.u32(0), b));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

template <Arith Op>
void op_sd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  Vec r = get_xmm(cpu, d);
  const uint64_t b = read_scalar(cpu, in, 1, 8);
  FpStatus st(cpu);
  r.set64(0, lane_sd<Op>(st, r.u64(0), b));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

constexpr uint32_t NONE = 0;

#define SOFTVT_SSE_ARITH_ROWS(NAME, OP)                                                           \
  {ZYDIS_MNEMONIC_##NAME##PS, SOFTVT_FIXED(op_ps<Arith::OP>), NONE, NONE, Feature::Sse, 0},       \
      {ZYDIS_MNEMONIC_##NAME##SS, SOFTVT_FIXED(op_ss<Arith::OP>), NONE, NONE, Feature::Sse, 0},   \
      {ZYDIS_MNEMONIC_##NAME##PD, SOFTVT_FIXED(op_pd<Arith::OP>), NONE, NONE, Feature::Sse2, 0},  \
      {ZYDIS_MNEMONIC_##NAME##SD, SOFTVT_FIXED(op_sd<Arith::OP>), NONE, NONE, Feature::Sse2, 0}

const InsnRow kRows[] = {
    SOFTVT_SSE_ARITH_ROWS(ADD, Add),
    SOFTVT_SSE_ARITH_ROWS(SUB, Sub),
    SOFTVT_SSE_ARITH_ROWS(MUL, Mul),
    SOFTVT_SSE_ARITH_ROWS(DIV, Div),
    SOFTVT_SSE_ARITH_ROWS(MIN, Min),
    SOFTVT_SSE_ARITH_ROWS(MAX, Max),
    SOFTVT_SSE_ARITH_ROWS(SQRT, Sqrt),
    {ZYDIS_MNEMONIC_RCPPS, SOFTVT_FIXED(op_ps<Arith::Rcp>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_RCPSS, SOFTVT_FIXED(op_ss<Arith::Rcp>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_RSQRTPS, SOFTVT_FIXED(op_ps<Arith::Rsqrt>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_RSQRTSS, SOFTVT_FIXED(op_ss<Arith::Rsqrt>), NONE, NONE, Feature::Sse, 0},
};
#undef SOFTVT_SSE_ARITH_ROWS

}  // namespace

std::span<const InsnRow> rows_sse_arith() { return kRows; }

}  // namespace softvt
