// Multiply, divide and decimal adjust: MUL, IMUL (one, two and three
// operands), DIV, IDIV, MULX, ADCX, ADOX, DAA, DAS, AAA, AAS, AAM, AAD
// (SDM Vol. 2, each instruction's "Operation" and "Flags Affected"
// sections).
//
// Undefined flags are produced as this project's oracle, an AMD Zen 4
// host, produces them where that is simple (tests/unit/test_alu_host.cpp
// compares them and reports differences); the table lists them as
// undefined all the same.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using u128 = unsigned __int128;
using i128 = __int128;

// ---- the implicit accumulator pair ---------------------------------------

// The double-width value AX (8-bit forms) or DX:AX, EDX:EAX, RDX:RAX.
template <unsigned N>
u128 read_acc_pair(const Cpu& cpu) {
  if constexpr (N == 1) return cpu.get_reg(RAX, 2);
  else return (u128(cpu.get_reg(RDX, N)) << kBits<N>) | cpu.get_reg(RAX, N);
}

// Writes the low and high halves of a product or a quotient/remainder pair:
// AL/AH for 8-bit forms, otherwise (E/R)AX and (E/R)DX (32-bit writes
// zero-extend, SDM Vol. 1 3.4.1.1).
template <unsigned N>
void write_acc_halves(Cpu& cpu, uint64_t low, uint64_t high) {
  if constexpr (N == 1) {
    cpu.set_reg(RAX, 2, (low & 0xff) | ((high & 0xff) << 8));
  } else {
    cpu.set_reg(RAX, N, low);
    cpu.set_reg(RDX, N, high);
  }
}

// ---- MUL, IMUL -----------------------------------------------------------

// MUL, IMUL: CF = OF = overflow (high half needed). SF, ZF, AF, PF are
// undefined; Zen 4 leaves them unchanged.
void set_mul_flags(Cpu& cpu, bool overflow) {
  update_flags(cpu, fl::CF | fl::OF, flag_if(overflow, fl::CF | fl::OF));
}

template <unsigned N>
void mul(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 0);
  const u128 p = u128(cpu.get_reg(RAX, N)) * src;
  const uint64_t low = uint64_t(p) & size_mask<N>();
  const uint64_t high = uint64_t(p >> kBits<N>) & size_mask<N>();
  write_acc_halves<N>(cpu, low, high);
  set_mul_flags(cpu, high != 0);
}

// IMUL: CF = OF = (the full signed product differs from the sign-extended
// truncated one).
template <unsigned N>
i128 signed_product(uint64_t a, uint64_t b) {
  return i128(sext<N>(a)) * i128(sext<N>(b));
}

template <unsigned N>
bool product_overflows(i128 p) {
  return p != i128(sext<N>(uint64_t(p) & size_mask<N>()));
}

template <unsigned N>
void imul_one(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 0);
  const i128 p = signed_product<N>(cpu.get_reg(RAX, N), src);
  const uint64_t low = uint64_t(p) & size_mask<N>();
  const uint64_t high = uint64_t(u128(p) >> kBits<N>) & size_mask<N>();
  write_acc_halves<N>(cpu, low, high);
  set_mul_flags(cpu, product_overflows<N>(p));
}

// IMUL DEST, SRC and IMUL DEST, SRC1, SRC2/imm: the product truncated to
// the destination.
template <unsigned N, unsigned First>
void imul_truncating(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, First);
  const uint64_t b = read_operand<N>(cpu, in, First + 1);
  const i128 p = signed_product<N>(a, b);
  const uint64_t low = uint64_t(p) & size_mask<N>();
  write_operand<N>(cpu, in, 0, low);
  set_mul_flags(cpu, product_overflows<N>(p));
}

template <unsigned N> void imul_two(Cpu& cpu, const Insn& in) { imul_truncating<N, 0>(cpu, in); }
template <unsigned N> void imul_three(Cpu& cpu, const Insn& in) { imul_truncating<N, 1>(cpu, in); }

Handler select_imul(const Insn& in) {
  switch (in.nops) {
    case 1: return SOFTVT_SIZED(imul_one)(in);
    case 2: return SOFTVT_SIZED_WDQ(imul_two)(in);
    case 3: return SOFTVT_SIZED_WDQ(imul_three)(in);
    default: return nullptr;
  }
}

// ---- DIV, IDIV -----------------------------------------------------------

// #DE for a zero divisor and for a quotient that does not fit the
// destination (SDM Vol. 2 DIV, IDIV); nothing is written then. All six
// arithmetic flags are undefined; Zen 4 keeps CF and OF, sets AF and
// clears SF, ZF and PF.
void set_div_flags(Cpu& cpu) { update_flags(cpu, fl::SF | fl::ZF | fl::AF | fl::PF, fl::AF); }

template <unsigned N>
void div(Cpu& cpu, const Insn& in) {
  const uint64_t d = read_operand<N>(cpu, in, 0);
  if (d == 0) cpu.raise(vec::DE);
  const u128 dividend = read_acc_pair<N>(cpu);
  const u128 q = dividend / d;
  if (q > size_mask<N>()) cpu.raise(vec::DE);
  write_acc_halves<N>(cpu, uint64_t(q), uint64_t(dividend % d));
  set_div_flags(cpu);
}

template <unsigned N>
i128 signed_acc_pair(const Cpu& cpu) {
  const u128 v = read_acc_pair<N>(cpu);
  constexpr unsigned shift = 128 - 2 * kBits<N>;
  if constexpr (shift == 0) return i128(v);
  else return i128(v << shift) >> shift;
}

// The quotient is truncated toward zero and the remainder takes the sign
// of the dividend, as C's / and %.
template <unsigned N>
void idiv(Cpu& cpu, const Insn& in) {
  const int64_t d = sext<N>(read_operand<N>(cpu, in, 0));
  if (d == 0) cpu.raise(vec::DE);
  const i128 dividend = signed_acc_pair<N>(cpu);
  // The one quotient that does not fit even 128 bits: -2^127 / -1.
  if (d == -1 && dividend == i128(u128(1) << 127)) cpu.raise(vec::DE);
  const i128 q = dividend / d;
  const i128 limit = i128(1) << (kBits<N> - 1);
  if (q >= limit || q < -limit) cpu.raise(vec::DE);
  write_acc_halves<N>(cpu, uint64_t(q) & size_mask<N>(), uint64_t(dividend % d) & size_mask<N>());
  set_div_flags(cpu);
}

// ---- BMI2 MULX, ADX ADCX/ADOX --------------------------------------------

// MULX DEST_HI, DEST_LO (vvvv), SRC: (E/R)DX * SRC, no flags. When both
// destinations are the same register it receives the high half (SDM Vol. 2
// MULX), so the low half is written first.
template <unsigned N>
void mulx(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 2);
  const u128 p = u128(cpu.get_reg(RDX, N)) * src;
  write_operand<N>(cpu, in, 1, uint64_t(p) & size_mask<N>());
  write_operand<N>(cpu, in, 0, uint64_t(p >> kBits<N>) & size_mask<N>());
}

// ADCX uses CF and ADOX uses OF as carry in and carry out; no other flag
// changes (SDM Vol. 2 ADCX, ADOX).
template <unsigned N, uint64_t CarryFlag>
void add_with_carry_flag(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 0);
  const uint64_t b = read_operand<N>(cpu, in, 1);
  const u128 sum = u128(a) + b + cpu.flag(CarryFlag);
  write_operand<N>(cpu, in, 0, uint64_t(sum) & size_mask<N>());
  cpu.set_flag(CarryFlag, (sum >> kBits<N>) != 0);
}

template <unsigned N> void adcx(Cpu& cpu, const Insn& in) { add_with_carry_flag<N, fl::CF>(cpu, in); }
template <unsigned N> void adox(Cpu& cpu, const Insn& in) { add_with_carry_flag<N, fl::OF>(cpu, in); }

// ---- decimal adjust (not in 64-bit mode: Zydis decodes them as invalid
// there, which gives #UD) ----------------------------------------------------

uint64_t al_of(const Cpu& cpu) { return cpu.s.gpr[RAX] & 0xff; }
uint64_t ah_of(const Cpu& cpu) { return (cpu.s.gpr[RAX] >> 8) & 0xff; }
void set_al(Cpu& cpu, uint64_t v) { cpu.set_reg(RAX, 1, v); }
void set_ax(Cpu& cpu, uint64_t v) { cpu.set_reg(RAX, 2, v); }

bool low_nibble_adjust(const Cpu& cpu) { return (al_of(cpu) & 0xf) > 9 || cpu.flag(fl::AF); }

// DAA (SDM Vol. 2 DAA "Operation"): CF and AF as computed, SF, ZF, PF from
// AL. OF is undefined; Zen 4 sets it as the overflow of the byte addition
// old AL + (the adjustment, 0, 6, 60H or 66H) that DAA performed.
void daa(Cpu& cpu, const Insn&) {
  const uint64_t old_al = al_of(cpu);
  const bool old_cf = cpu.flag(fl::CF);
  uint64_t al = old_al;
  bool cf = false, af = false;
  if (low_nibble_adjust(cpu)) {
    cf = old_cf || al + 6 > 0xff;
    al = (al + 6) & 0xff;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = (al + 0x60) & 0xff;
    cf = true;
  } else {
    cf = false;
  }
  set_al(cpu, al);
  const uint64_t adjustment = (al - old_al) & 0xff;
  const bool of = ((old_al ^ al) & (adjustment ^ al)) & 0x80;
  set_arith_flags(cpu, zs_flags<1>(al) | flag_if(cf, fl::CF) | flag_if(af, fl::AF) | flag_if(of, fl::OF));
}

// DAS (SDM Vol. 2 DAS "Operation"). Unlike DAA the second step has no
// ELSE: CF keeps the borrow of the first step. OF (undefined): Zen 4 gives
// the overflow of old AL - adjustment.
void das(Cpu& cpu, const Insn&) {
  const uint64_t old_al = al_of(cpu);
  const bool old_cf = cpu.flag(fl::CF);
  uint64_t al = old_al;
  bool cf = false, af = false;
  if (low_nibble_adjust(cpu)) {
    cf = old_cf || al < 6;
    al = (al - 6) & 0xff;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = (al - 0x60) & 0xff;
    cf = true;
  }
  set_al(cpu, al);
  const uint64_t adjustment = (old_al - al) & 0xff;
  const bool of = ((old_al ^ adjustment) & (old_al ^ al)) & 0x80;
  set_arith_flags(cpu, zs_flags<1>(al) | flag_if(cf, fl::CF) | flag_if(af, fl::AF) | flag_if(of, fl::OF));
}

// AAA/AAS: AF = CF = whether the adjustment happened. SDM Vol. 2 AAA:
// AX <- AX + 106H (the carry out of AL reaches AH); AAS: AX <- AX - 6,
// AH <- AH - 1, i.e. AX - 106H; then AL <- AL AND 0FH. OF, SF, ZF and PF
// are undefined; Zen 4 sets them as the 16-bit ADD/SUB AX, 106H would
// (from the unmasked sum), or from the unchanged AX with OF = 0 when there
// is no adjustment.
template <bool Subtract>
void ascii_adjust(Cpu& cpu) {
  const bool adjust = low_nibble_adjust(cpu);
  const uint64_t ax = cpu.get_reg(RAX, 2);
  uint64_t f = zs_flags<2>(ax);
  uint64_t r = ax;
  if (adjust) {
    r = (Subtract ? ax - 0x106 : ax + 0x106) & 0xffff;
    f = (Subtract ? sub_flags<2>(ax, 0x106, r, 0) : add_flags<2>(ax, 0x106, r, 0)) & (fl::SF | fl::ZF | fl::PF | fl::OF);
    f |= fl::CF | fl::AF;
  }
  set_ax(cpu, r & 0xff0f);
  set_arith_flags(cpu, f);
}

void aaa(Cpu& cpu, const Insn&) { ascii_adjust<false>(cpu); }
void aas(Cpu& cpu, const Insn&) { ascii_adjust<true>(cpu); }

// AAM imm8: AH <- AL / imm8, AL <- AL MOD imm8; imm8 = 0 is #DE. SF, ZF,
// PF from AL; OF, AF, CF undefined (Zen 4 clears them).
void aam(Cpu& cpu, const Insn& in) {
  const uint64_t base = in.imm & 0xff;
  if (base == 0) cpu.raise(vec::DE);
  const uint64_t al = al_of(cpu);
  set_ax(cpu, ((al / base) << 8) | (al % base));
  set_arith_flags(cpu, zs_flags<1>(al % base));
}

// AAD imm8: AL <- (AL + AH * imm8) AND FFH, AH <- 0. SF, ZF, PF from AL;
// OF, AF, CF undefined: Zen 4 sets all six as the byte addition
// AL + (AH * imm8 AND FFH) would.
void aad(Cpu& cpu, const Insn& in) {
  const uint64_t al = al_of(cpu);
  const uint64_t addend = (ah_of(cpu) * (in.imm & 0xff)) & 0xff;
  const uint64_t r = (al + addend) & 0xff;
  set_ax(cpu, r);
  set_arith_flags(cpu, add_flags<1>(al, addend, r, 0));
}

constexpr uint32_t kMulDef = fl::CF | fl::OF;
constexpr uint32_t kMulUndef = fl::SF | fl::ZF | fl::AF | fl::PF;
constexpr uint32_t kSzp = fl::SF | fl::ZF | fl::PF;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_MUL, SOFTVT_SIZED(mul), kMulDef, kMulUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_IMUL, select_imul, kMulDef, kMulUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_DIV, SOFTVT_SIZED(div), 0, fl::ARITH, Feature::Base, 0},
    {ZYDIS_MNEMONIC_IDIV, SOFTVT_SIZED(idiv), 0, fl::ARITH, Feature::Base, 0},
    // VEX-encoded and ADX forms exist with 32- and 64-bit operands only.
    {ZYDIS_MNEMONIC_MULX, SOFTVT_SIZED_DQ(mulx), 0, 0, Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_ADCX, SOFTVT_SIZED_DQ(adcx), fl::CF, 0, Feature::Adx, 0},
    {ZYDIS_MNEMONIC_ADOX, SOFTVT_SIZED_DQ(adox), fl::OF, 0, Feature::Adx, 0},
    {ZYDIS_MNEMONIC_DAA, SOFTVT_FIXED(daa), fl::CF | fl::AF | kSzp, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_DAS, SOFTVT_FIXED(das), fl::CF | fl::AF | kSzp, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_AAA, SOFTVT_FIXED(aaa), fl::CF | fl::AF, fl::OF | kSzp, Feature::Base, 0},
    {ZYDIS_MNEMONIC_AAS, SOFTVT_FIXED(aas), fl::CF | fl::AF, fl::OF | kSzp, Feature::Base, 0},
    {ZYDIS_MNEMONIC_AAM, SOFTVT_FIXED(aam), kSzp, fl::OF | fl::AF | fl::CF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_AAD, SOFTVT_FIXED(aad), kSzp, fl::OF | fl::AF | fl::CF, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_muldiv_bcd() { return kRows; }

}  // namespace softvt
