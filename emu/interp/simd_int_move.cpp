// MMX / SSE2 integer data moves: EMMS, MOVD, MOVQ (every form), MOVDQA,
// MOVDQU, MOVNTDQ, MOVNTQ, MASKMOVQ, MASKMOVDQU, MOVQ2DQ, MOVDQ2Q (SDM
// Vol. 2 each instruction). RFLAGS unchanged. Non-temporal hints have no
// architectural effect on a single interpreter thread; the stores are plain
// stores with the instructions' alignment rules.
#include "emu/interp/simd_int_forms.h"

namespace softvt {
namespace {

using simd_int::mmx_index;
using simd_int::xmm_enter;
using simd_int::xmm_index;

// EMMS: every x87 tag empty (SDM Vol. 2 EMMS; its exceptions are the MMX
// ones, #MF for a pending x87 exception included).
void emms(Cpu& cpu, const Insn&) {
  mmx_enter(cpu);
  mmx_empty_tags(cpu);
}

// MOVD / MOVQ between MMX, XMM, general registers and memory. The form
// follows from the operand kinds: MOVQ's encodings 0F 6E/7E with REX.W,
// 0F 6F/7F, F3 0F 7E and 66 0F D6 differ only in which operands they allow,
// and any two with the same operand kinds move the same bits. A value
// written to an XMM register is zero-extended to 128 bits; a 32-bit value
// written to an MMX register to 64. N is the size moved (4 or 8).
template <unsigned N>
void mov_dq_mmx(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  const SimdVec v = read_simd(cpu, in, 1, Align::None);
  uint64_t value = v.q(0);
  if constexpr (N == 4) value &= 0xffffffffu;
  if (op_is_mmx(in, 0)) {
    write_mmx(cpu, mmx_index(in, 0), value);
  } else {
    SimdVec out = zero_vec();
    out.set_q(0, value);
    write_simd(cpu, in, 0, out, Align::None);  // GPR or memory: N bytes
    mmx_transition(cpu);
  }
}
template <unsigned N>
void mov_dq_xmm(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  const SimdVec v = read_simd(cpu, in, 1, Align::None);
  uint64_t value = v.q(0);
  if constexpr (N == 4) value &= 0xffffffffu;
  if (op_is_xmm(in, 0)) {
    write_xmm_low64(cpu, xmm_index(in, 0), value);
  } else {
    SimdVec out = zero_vec();
    out.set_q(0, value);
    write_simd(cpu, in, 0, out, Align::None);
  }
}
template <unsigned N>
Handler select_mov_dq(const Insn& in) {
  const bool mmx = op_is_mmx(in, 0) || op_is_mmx(in, 1);
  const bool xmm = op_is_xmm(in, 0) || op_is_xmm(in, 1);
  if (mmx == xmm) return nullptr;  // MOVQ2DQ/MOVDQ2Q have their own mnemonics
  return mmx ? mov_dq_mmx<N> : mov_dq_xmm<N>;
}

// MOVDQA / MOVDQU / MOVNTDQ: 128 bits between XMM registers and memory.
template <Align A>
void mov_dqa(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  const SimdVec v = read_simd(cpu, in, 1, A);
  write_simd(cpu, in, 0, v, A);
}
template <Align A>
Handler select_mov_dqa(const Insn& in) {
  return op_is_xmm(in, 0) || op_is_xmm(in, 1) ? mov_dqa<A> : nullptr;
}
// MOVNTDQ m128, xmm: the register form is not encodable (SDM Vol. 2 MOVNTDQ).
Handler select_movntdq(const Insn& in) {
  return is_mem(in, 0) && op_is_xmm(in, 1) ? mov_dqa<Align::Require16> : nullptr;
}
// MOVNTQ m64, mm.
void movntq(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  SimdVec v = zero_vec();
  v.set_q(0, read_mmx(cpu, mmx_index(in, 1)));
  write_simd(cpu, in, 0, v, Align::None);
  mmx_transition(cpu);
}
Handler select_movntq(const Insn& in) {
  return is_mem(in, 0) && op_is_mmx(in, 1) ? movntq : nullptr;
}

// MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2: the bytes of the first
// register whose mask byte (second register) has its sign bit set are
// stored at DS:rDI (segment override allowed; rDI at the address size);
// the others are left alone. The whole N-byte destination is checked for
// writing before any byte is stored, whatever the mask (the SDM lets an
// implementation signal faults even for an all-zero mask), and has no
// alignment requirement (SDM Vol. 2 MASKMOVQ, MASKMOVDQU).
template <unsigned N>
void masked_store(Cpu& cpu, const Insn& in, const SimdVec& data, const SimdVec& mask) {
  const uint64_t off = cpu.s.gpr[RDI] & mask_of(in.addrsize);
  const uint64_t lin = cpu.linear(in.seg, off, N, Acc::Write);
  const bool user = cpu.user_access();
  cpu.probe_write_lin(lin, N, user);
  for (unsigned i = 0; i < N; ++i) {
    if (!(mask.b[i] & 0x80)) continue;
    uint64_t a = lin + i;
    if (!cpu.in_64bit()) a &= 0xffffffffull;
    cpu.write_lin(a, 1, data.b[i], user);
  }
}
void maskmovq(Cpu& cpu, const Insn& in) {
  mmx_enter(cpu);
  SimdVec data = zero_vec(), mask = zero_vec();
  data.set_q(0, read_mmx(cpu, mmx_index(in, 0)));
  mask.set_q(0, read_mmx(cpu, mmx_index(in, 1)));
  masked_store<8>(cpu, in, data, mask);
  mmx_transition(cpu);
}
void maskmovdqu(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  masked_store<16>(cpu, in, read_xmm(cpu, xmm_index(in, 0)), read_xmm(cpu, xmm_index(in, 1)));
}
Handler select_maskmovq(const Insn& in) {
  return op_is_mmx(in, 0) && op_is_mmx(in, 1) ? maskmovq : nullptr;
}
Handler select_maskmovdqu(const Insn& in) {
  return op_is_xmm(in, 0) && op_is_xmm(in, 1) ? maskmovdqu : nullptr;
}

// MOVQ2DQ xmm, mm: zero-extended into the XMM register; MOVDQ2Q mm, xmm:
// the low quadword. Both are SSE2 instructions (#UD for CR4.OSFXSR = 0) that
// also make the MMX transition and report a pending x87 exception (SDM
// Vol. 2 MOVQ2DQ, MOVDQ2Q "Exceptions").
void movq2dq(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  mmx_check_pending_x87(cpu);
  write_xmm_low64(cpu, xmm_index(in, 0), read_mmx(cpu, mmx_index(in, 1)));
  mmx_transition(cpu);
}
void movdq2q(Cpu& cpu, const Insn& in) {
  xmm_enter(cpu);
  mmx_check_pending_x87(cpu);
  write_mmx(cpu, mmx_index(in, 0), read_xmm(cpu, xmm_index(in, 1)).q(0));
}
Handler select_movq2dq(const Insn& in) {
  return op_is_xmm(in, 0) && op_is_mmx(in, 1) ? movq2dq : nullptr;
}
Handler select_movdq2q(const Insn& in) {
  return op_is_mmx(in, 0) && op_is_xmm(in, 1) ? movdq2q : nullptr;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_EMMS, SOFTVT_FIXED(emms), 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_MOVD, select_mov_dq<4>, 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_MOVQ, select_mov_dq<8>, 0, 0, Feature::Mmx, 0},
    {ZYDIS_MNEMONIC_MOVDQA, select_mov_dqa<Align::Require16>, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVDQU, select_mov_dqa<Align::None>, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVNTDQ, select_movntdq, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVNTQ, select_movntq, 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MASKMOVQ, select_maskmovq, 0, 0, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_MASKMOVDQU, select_maskmovdqu, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVQ2DQ, select_movq2dq, 0, 0, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MOVDQ2Q, select_movdq2q, 0, 0, Feature::Sse2, 0},
};

}  // namespace

std::span<const InsnRow> rows_simd_int_move() { return kRows; }

}  // namespace softvt
