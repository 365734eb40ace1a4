// SSE/SSE2 floating-point data moves (SDM Vol. 2 of each): MOVAPS/MOVAPD
// (16-byte aligned), MOVUPS/MOVUPD, MOVSS, MOVSD (xmm forms), the 64-bit
// half moves MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVLHPS/MOVHLPS, MOVMSKPS/MOVMSKPD,
// and the non-temporal stores MOVNTPS/MOVNTPD (aligned) and MOVNTI (a GPR
// store, no SSE state involved). Moves raise no SIMD floating-point
// exception: NaNs, denormals and all bit patterns pass unchanged.
#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using namespace sse;

// MOVAPS/MOVAPD/MOVUPS/MOVUPD/MOVNTPS/MOVNTPD: xmm <- xmm/m128 or m128 <- xmm.
template <bool Aligned>
void mov128(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  if (is_mem(in, 0)) write_m128(cpu, in, get_xmm(cpu, xmm_of(in, 1)), Aligned);
  else set_xmm(cpu, xmm_of(in, 0), read_src128(cpu, in, 1, Aligned));
}

// MOVSS/MOVSD: between registers only the low lane moves; a load zeroes the
// rest of the destination; a store writes the low lane.
template <unsigned Bytes>
void mov_scalar(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  if (is_mem(in, 0)) {
    const Vec s = get_xmm(cpu, xmm_of(in, 1));
    cpu.write(in.seg, effective_address(cpu, in), Bytes, Bytes == 8 ? s.u64(0) : s.u32(0));
    return;
  }
  const unsigned d = xmm_of(in, 0);
  Vec r{};
  if (is_mem(in, 1)) {
    const uint64_t v = cpu.read(in.seg, effective_address(cpu, in), Bytes);
    if (Bytes == 8) r.set64(0, v);
    else r.set32(0, uint32_t(v));
  } else {
    r = get_xmm(cpu, d);
    const Vec s = get_xmm(cpu, xmm_of(in, 1));
    if (Bytes == 8) r.set64(0, s.u64(0));
    else r.set32(0, s.u32(0));
  }
  set_xmm(cpu, d, r);
}

void movsd_xmm(Cpu& cpu, const Insn& in) {
  if (!cpu.model.has(Feature::Sse2)) cpu.raise_ud();
  mov_scalar<8>(cpu, in);
}

// MOVLPS/MOVLPD (Half = 0) and MOVHPS/MOVHPD (Half = 1): xmm half <- m64
// (the other half unchanged) or m64 <- xmm half.
template <unsigned Half>
void mov_half(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  if (is_mem(in, 0)) {
    cpu.write(in.seg, effective_address(cpu, in), 8, get_xmm(cpu, xmm_of(in, 1)).u64(Half));
    return;
  }
  const unsigned d = xmm_of(in, 0);
  const uint64_t v = cpu.read(in.seg, effective_address(cpu, in), 8);
  Vec r = get_xmm(cpu, d);
  r.set64(Half, v);
  set_xmm(cpu, d, r);
}

// MOVLHPS: dest high <- src low. MOVHLPS: dest low <- src high.
template <unsigned DestHalf>
void mov_half_reg(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec s = get_xmm(cpu, xmm_of(in, 1));
  Vec r = get_xmm(cpu, d);
  r.set64(DestHalf, s.u64(1 - DestHalf));
  set_xmm(cpu, d, r);
}

// MOVMSKPS/MOVMSKPD: the lanes' sign bits into the low bits of a GPR, the
// rest zero.
template <unsigned LaneBytes>
void movmsk(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const Vec s = get_xmm(cpu, xmm_of(in, 1));
  uint64_t m = 0;
  for (unsigned i = 0; i < 16 / LaneBytes; ++i) m |= uint64_t(s.b[LaneBytes * (i + 1) - 1] >> 7) << i;
  cpu.set_reg(in.op[0].reg, in.op[0].size == 8 ? 8 : 4, m);
}

// MOVNTI m32/m64, r32/r64: a plain store as far as the architecture shows.
void movnti(Cpu& cpu, const Insn& in) {
  if (in.op[1].size == 8) write_operand<8>(cpu, in, 0, cpu.get_reg(in.op[1].reg, 8));
  else write_operand<4>(cpu, in, 0, cpu.get_reg(in.op[1].reg, 4));
}

constexpr uint32_t NONE = 0;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_MOVAPS, SOFTVT_FIXED(mov128<true>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVAPD, SOFTVT_FIXED(mov128<true>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVUPS, SOFTVT_FIXED(mov128<false>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVUPD, SOFTVT_FIXED(mov128<false>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVNTPS, SOFTVT_FIXED(mov128<true>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVNTPD, SOFTVT_FIXED(mov128<true>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVSS, SOFTVT_FIXED(mov_scalar<4>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVLPS, SOFTVT_FIXED(mov_half<0>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVHPS, SOFTVT_FIXED(mov_half<1>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVLPD, SOFTVT_FIXED(mov_half<0>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVHPD, SOFTVT_FIXED(mov_half<1>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVLHPS, SOFTVT_FIXED(mov_half_reg<1>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVHLPS, SOFTVT_FIXED(mov_half_reg<0>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVMSKPS, SOFTVT_FIXED(movmsk<4>), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MOVMSKPD, SOFTVT_FIXED(movmsk<8>), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVNTI, SOFTVT_FIXED(movnti), NONE, NONE, Feature::Sse2, 0},
};

}  // namespace

Handler select_sse_movsd(const Insn& in) {
  return (is_xmm(in, 0) || is_xmm(in, 1)) ? movsd_xmm : nullptr;
}

std::span<const InsnRow> rows_sse_move() { return kRows; }

}  // namespace softvt
