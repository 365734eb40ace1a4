// Every SSE/SSE2 conversion (SDM Vol. 2 CVT*): integer <-> single/double
// (scalar with 32- or 64-bit integers, packed doublewords, MMX operands)
// and single <-> double. Out-of-range and NaN sources give the integer
// indefinite (the host's answer, with IE); the T forms truncate, the others
// round per MXCSR.RC. A form with an MMX register operand first takes a
// pending x87 exception (#MF) and switches the x87 unit to MMX operation
// (TOP = 0, all tags valid); a memory MMX-size operand does neither (SDM
// Vol. 2 CVTPI2PS, CVTPI2PD). The switch happens even when the conversion
// then raises #XM (the host CPU shows TOP = 0 and all tags valid in the
// #XM state); softvt makes it after the memory operand was read.
#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using namespace sse;

// ---- one lane: the host's conversion, its exception flags into `st` ------------

uint32_t lane_si2ss(FpStatus& st, uint64_t v, unsigned bytes) {
  uint32_t f = 0;
  const uint32_t r = ssehost::cvt_si2ss(v, bytes, st.control(), f);
  st.lane(f);
  return r;
}

uint64_t lane_si2sd(FpStatus& st, uint64_t v, unsigned bytes) {
  uint32_t f = 0;
  const uint64_t r = ssehost::cvt_si2sd(v, bytes, st.control(), f);
  st.lane(f);
  return r;
}

uint64_t lane_ss2si(FpStatus& st, uint32_t a, unsigned bytes, bool truncate) {
  uint32_t f = 0;
  const uint64_t r = ssehost::cvt_ss2si(a, bytes, truncate, st.control(), f);
  st.lane(f);
  return r;
}

uint64_t lane_sd2si(FpStatus& st, uint64_t a, unsigned bytes, bool truncate) {
  uint32_t f = 0;
  const uint64_t r = ssehost::cvt_sd2si(a, bytes, truncate, st.control(), f);
  st.lane(f);
  return r;
}

// ---- scalar: integer <-> floating point ------------------------------------

template <bool Double>
void cvtsi2s(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const unsigned bytes = in.op[1].size == 8 ? 8 : 4;
  const uint64_t v = bytes == 8 ? read_operand<8>(cpu, in, 1) : read_operand<4>(cpu, in, 1);
  FpStatus st(cpu);
  Vec r = get_xmm(cpu, d);
  if (Double) r.set64(0, lane_si2sd(st, v, bytes));
  else r.set32(0, lane_si2ss(st, v, bytes));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

template <bool Double, bool Truncate>
void cvts2si(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned bytes = in.op[0].size == 8 ? 8 : 4;
  const uint64_t a = read_scalar(cpu, in, 1, Double ? 8 : 4);
  FpStatus st(cpu);
  const uint64_t r = Double ? lane_sd2si(st, a, bytes, Truncate) : lane_ss2si(st, uint32_t(a), bytes, Truncate);
  st.finish(cpu);
  cpu.set_reg(in.op[0].reg, bytes, r);
}

// ---- single <-> double -----------------------------------------------------

uint64_t lane_ss2sd(FpStatus& st, uint32_t a) {
  uint32_t f = 0;
  const uint64_t r = ssehost::cvt_ss2sd(a, st.control(), f);
  st.lane(f);
  return r;
}

uint32_t lane_sd2ss(FpStatus& st, uint64_t a) {
  uint32_t f = 0;
  const uint32_t r = ssehost::cvt_sd2ss(a, st.control(), f);
  st.lane_arith(f, ssehost::is_denormal_ss(r), [&] { return ssehost::inexact_unbounded_sd2ss(a, st.control()); });
  return r;
}

void cvtss2sd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const uint32_t a = uint32_t(read_scalar(cpu, in, 1, 4));
  FpStatus st(cpu);
  Vec r = get_xmm(cpu, d);
  r.set64(0, lane_ss2sd(st, a));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

void cvtsd2ss(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const uint64_t a = read_scalar(cpu, in, 1, 8);
  FpStatus st(cpu);
  Vec r = get_xmm(cpu, d);
  r.set32(0, lane_sd2ss(st, a));
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

// CVTPS2PD xmm, xmm/m64: the two low singles.
void cvtps2pd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src64_as_vec(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) r.set64(i, lane_ss2sd(st, a.u32(i)));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// CVTPD2PS xmm, xmm/m128: two singles in the low half, the high half zero.
void cvtpd2ps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r{};
  for (unsigned i = 0; i < 2; ++i) r.set32(i, lane_sd2ss(st, a.u64(i)));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// ---- packed doublewords ------------------------------------------------------

void cvtdq2ps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 4; ++i) r.set32(i, lane_si2ss(st, a.u32(i), 4));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

template <bool Truncate>
void cvtps2dq(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 4; ++i) r.set32(i, uint32_t(lane_ss2si(st, a.u32(i), 4, Truncate)));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// CVTDQ2PD xmm, xmm/m64: exact (every int32 is a double).
void cvtdq2pd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src64_as_vec(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) r.set64(i, lane_si2sd(st, a.u32(i), 4));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// CVT(T)PD2DQ xmm, xmm/m128: two doublewords in the low half, the high half zero.
template <bool Truncate>
void cvtpd2dq(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec a = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r{};
  for (unsigned i = 0; i < 2; ++i) r.set32(i, uint32_t(lane_sd2si(st, a.u64(i), 4, Truncate)));
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// ---- MMX operands --------------------------------------------------------------

// The 64-bit MMX-register-or-memory source of CVTPI2PS/CVTPI2PD.
uint64_t read_mm_or_m64(Cpu& cpu, const Insn& in, unsigned i) {
  if (is_mem(in, i)) return cpu.read(in.seg, effective_address(cpu, in), 8);
  return get_mm(cpu, mm_of(in, i));
}

// CVTPI2PS xmm, mm/m64: two singles in the low half; the high half unchanged.
void cvtpi2ps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const bool mmx = is_mm(in, 1);
  if (mmx) check_x87_pending(cpu);
  const uint64_t v = read_mm_or_m64(cpu, in, 1);
  FpStatus st(cpu);
  Vec r = get_xmm(cpu, xmm_of(in, 0));
  for (unsigned i = 0; i < 2; ++i) r.set32(i, lane_si2ss(st, uint32_t(v >> (32 * i)), 4));
  if (mmx) mmx_transition(cpu);
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// CVTPI2PD xmm, mm/m64: exact.
void cvtpi2pd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const bool mmx = is_mm(in, 1);
  if (mmx) check_x87_pending(cpu);
  const uint64_t v = read_mm_or_m64(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) r.set64(i, lane_si2sd(st, uint32_t(v >> (32 * i)), 4));
  if (mmx) mmx_transition(cpu);
  st.finish(cpu);
  set_xmm(cpu, xmm_of(in, 0), r);
}

// CVT(T)PS2PI mm, xmm/m64.
template <bool Truncate>
void cvtps2pi(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  check_x87_pending(cpu);
  const Vec a = read_src64_as_vec(cpu, in, 1);
  FpStatus st(cpu);
  uint64_t r = 0;
  for (unsigned i = 0; i < 2; ++i) r |= uint64_t(uint32_t(lane_ss2si(st, a.u32(i), 4, Truncate))) << (32 * i);
  mmx_transition(cpu);
  st.finish(cpu);
  set_mm(cpu, mm_of(in, 0), r);
}

// CVT(T)PD2PI mm, xmm/m128 (16-byte aligned).
template <bool Truncate>
void cvtpd2pi(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  check_x87_pending(cpu);
  const Vec a = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  uint64_t r = 0;
  for (unsigned i = 0; i < 2; ++i) r |= uint64_t(uint32_t(lane_sd2si(st, a.u64(i), 4, Truncate))) << (32 * i);
  mmx_transition(cpu);
  st.finish(cpu);
  set_mm(cpu, mm_of(in, 0), r);
}

constexpr uint32_t NONE = 0;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_CVTSI2SS, SOFTVT_FIXED(cvtsi2s<false>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTSI2SD, SOFTVT_FIXED(cvtsi2s<true>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTSS2SI, SOFTVT_FIXED((cvts2si<false, false>)), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTTSS2SI, SOFTVT_FIXED((cvts2si<false, true>)), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTSD2SI, SOFTVT_FIXED((cvts2si<true, false>)), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTTSD2SI, SOFTVT_FIXED((cvts2si<true, true>)), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTSS2SD, SOFTVT_FIXED(cvtss2sd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTSD2SS, SOFTVT_FIXED(cvtsd2ss), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPS2PD, SOFTVT_FIXED(cvtps2pd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPD2PS, SOFTVT_FIXED(cvtpd2ps), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTDQ2PS, SOFTVT_FIXED(cvtdq2ps), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPS2DQ, SOFTVT_FIXED(cvtps2dq<false>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTTPS2DQ, SOFTVT_FIXED(cvtps2dq<true>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTDQ2PD, SOFTVT_FIXED(cvtdq2pd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPD2DQ, SOFTVT_FIXED(cvtpd2dq<false>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTTPD2DQ, SOFTVT_FIXED(cvtpd2dq<true>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPI2PS, SOFTVT_FIXED(cvtpi2ps), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTPS2PI, SOFTVT_FIXED(cvtps2pi<false>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTTPS2PI, SOFTVT_FIXED(cvtps2pi<true>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CVTPI2PD, SOFTVT_FIXED(cvtpi2pd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTPD2PI, SOFTVT_FIXED(cvtpd2pi<false>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_CVTTPD2PI, SOFTVT_FIXED(cvtpd2pi<true>), NONE, NONE, Feature::Sse2, 0},
};

}  // namespace

std::span<const InsnRow> rows_sse_convert() { return kRows; }

}  // namespace softvt
