// Shifts and rotates: SAL/SHL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD
// (SDM Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD") and the
// flagless BMI2 forms SARX, SHLX, SHRX, RORX.
//
// Common rules (SDM Vol. 2, the instructions' "Operation" sections):
// - the count is masked to 5 bits, or 6 bits with a 64-bit operand;
// - a masked count of 0 affects no flag (the destination is still written
//   back, unchanged; a 32-bit register destination is therefore
//   zero-extended, as on hardware);
// - OF is defined only for a masked count of 1;
// - for SHL/SHR/SAR, AF is undefined whenever the count is not 0.
//
// Table convention: flags_def lists every flag the SDM defines for some
// count; flags_undef lists every flag it leaves undefined for some count
// (so a differential test masks OF of shifts by more than one, as the
// fuzzer must).
//
// Undefined results and flags are produced as this project's oracle, an
// AMD Zen 4 host, produces them (tests/unit/test_alu_host.cpp compares
// them and reports differences).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

// SDM: "The count is masked to 5 bits (or 6 bits if in 64-bit mode and
// REX.W is used)" - i.e. 6 bits exactly for 64-bit operands.
template <unsigned N>
constexpr unsigned kCountMask = N == 8 ? 63 : 31;

template <unsigned N>
unsigned masked_count(Cpu& cpu, const Insn& in, unsigned op) {
  return unsigned(read_operand<1>(cpu, in, op)) & kCountMask<N>;
}

template <unsigned N>
uint64_t msb(uint64_t v) {
  return (v >> (kBits<N> - 1)) & 1;
}

struct Shifted {
  uint64_t value;
  uint64_t flags;  // CF, OF, SF, ZF, PF, AF as they end up
};

// ---- SHL/SAL, SHR, SAR (count 1..63 already masked, never 0) -------------
// AF is undefined for a non-zero count; Zen 4 sets it.

// CF = the last bit shifted out: bit (W - count) of the source. For an 8-
// or 16-bit operand the count can exceed the width; the bit shifted out
// last then lies beyond the operand and is 0 (SDM: CF undefined for a count
// >= width; Zen 4 agrees with this). OF = MSB(result) XOR CF (defined for
// count 1; Zen 4 uses the same formula for larger counts).
template <unsigned N>
Shifted shl_value(uint64_t a, unsigned c) {
  const uint64_t r = (a << c) & size_mask<N>();
  const uint64_t cf = c <= kBits<N> ? (a >> (kBits<N> - c)) & 1 : 0;
  const uint64_t f = zs_flags<N>(r) | fl::AF | flag_if(cf, fl::CF) | flag_if(msb<N>(r) ^ cf, fl::OF);
  return {r, f};
}

// CF = bit (count - 1) of the source; OF = MSB(original) for count 1. For
// larger counts (OF undefined) Zen 4 gives the MSB of the value before the
// last 1-bit step, which is 0.
template <unsigned N>
Shifted shr_value(uint64_t a, unsigned c) {
  const uint64_t r = a >> c;
  const uint64_t cf = c <= kBits<N> ? (a >> (c - 1)) & 1 : 0;
  const uint64_t f = zs_flags<N>(r) | fl::AF | flag_if(cf, fl::CF) | flag_if(c == 1 && msb<N>(a), fl::OF);
  return {r, f};
}

// SAR fills with the sign: every bit beyond the operand is the sign bit.
// OF = 0 (defined for count 1).
template <unsigned N>
Shifted sar_value(uint64_t a, unsigned c) {
  const int64_t sa = sext<N>(a);
  const uint64_t r = uint64_t(sa >> c) & size_mask<N>();
  const uint64_t cf = uint64_t(sa >> (c - 1)) & 1;
  return {r, zs_flags<N>(r) | fl::AF | flag_if(cf, fl::CF)};
}

template <unsigned N, Shifted (*Compute)(uint64_t, unsigned)>
void shift(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_dest<N>(cpu, in, 0);
  const unsigned c = masked_count<N>(cpu, in, 1);
  if (c == 0) {
    write_operand<N>(cpu, in, 0, a);
    return;
  }
  const Shifted s = Compute(a, c);
  write_operand<N>(cpu, in, 0, s.value);
  update_flags(cpu, fl::ARITH, s.flags);
}

template <unsigned N> void shl(Cpu& cpu, const Insn& in) { shift<N, shl_value<N>>(cpu, in); }
template <unsigned N> void shr(Cpu& cpu, const Insn& in) { shift<N, shr_value<N>>(cpu, in); }
template <unsigned N> void sar(Cpu& cpu, const Insn& in) { shift<N, sar_value<N>>(cpu, in); }

// ---- ROL, ROR: only CF and OF are affected ------------------------------

template <unsigned N>
uint64_t rotl(uint64_t a, unsigned t) {
  if (t == 0) return a;
  return ((a << t) | (a >> (kBits<N> - t))) & size_mask<N>();
}

template <unsigned N>
uint64_t rotr(uint64_t a, unsigned t) {
  if (t == 0) return a;
  return ((a >> t) | (a << (kBits<N> - t))) & size_mask<N>();
}

// ROL: tempCOUNT = count MOD width; CF = LSB(result); OF = MSB(result)
// XOR CF (defined for count 1). The flags change whenever the masked count
// is not 0, even when the rotation is a whole turn.
template <unsigned N>
Shifted rol_value(uint64_t a, unsigned c, uint64_t) {
  const uint64_t r = rotl<N>(a, c % kBits<N>);
  const uint64_t cf = r & 1;
  return {r, flag_if(cf, fl::CF) | flag_if(msb<N>(r) ^ cf, fl::OF)};
}

// ROR: CF = MSB(result); OF = MSB(result) XOR MSB-1(result).
template <unsigned N>
Shifted ror_value(uint64_t a, unsigned c, uint64_t) {
  const uint64_t r = rotr<N>(a, c % kBits<N>);
  const uint64_t cf = msb<N>(r);
  return {r, flag_if(cf, fl::CF) | flag_if(cf ^ ((r >> (kBits<N> - 2)) & 1), fl::OF)};
}

// ---- RCL, RCR: rotate the (width + 1)-bit value CF:DEST -----------------

// SDM: tempCOUNT = (COUNT AND countMASK) MOD 9 for 8-bit and MOD 17 for
// 16-bit operands; 32- and 64-bit operands use the masked count as is.
template <unsigned N>
unsigned rc_count(unsigned c) {
  if constexpr (N == 1) return c % 9;
  else if constexpr (N == 2) return c % 17;
  else return c;
}

using u128 = unsigned __int128;

template <unsigned N>
u128 rc_mask() {
  return (u128(1) << (kBits<N> + 1)) - 1;
}

// RCL: CF = the bit rotated out of the top; OF = MSB(result) XOR CF.
template <unsigned N>
Shifted rcl_value(uint64_t a, unsigned c, uint64_t cf_in) {
  const unsigned t = rc_count<N>(c);
  const u128 v = (u128(cf_in) << kBits<N>) | a;
  const u128 r = t == 0 ? v : ((v << t) | (v >> (kBits<N> + 1 - t))) & rc_mask<N>();
  const uint64_t res = uint64_t(r) & size_mask<N>();
  const uint64_t cf = uint64_t(r >> kBits<N>) & 1;
  return {res, flag_if(cf, fl::CF) | flag_if(msb<N>(res) ^ cf, fl::OF)};
}

// RCR: CF = the bit rotated out of the bottom; OF = MSB(result) XOR
// MSB-1(result), which for count 1 is the SDM's MSB(DEST) XOR CF taken
// before the rotation.
template <unsigned N>
Shifted rcr_value(uint64_t a, unsigned c, uint64_t cf_in) {
  const unsigned t = rc_count<N>(c);
  const u128 v = (u128(cf_in) << kBits<N>) | a;
  const u128 r = t == 0 ? v : ((v >> t) | (v << (kBits<N> + 1 - t))) & rc_mask<N>();
  const uint64_t res = uint64_t(r) & size_mask<N>();
  const uint64_t cf = uint64_t(r >> kBits<N>) & 1;
  const uint64_t of = msb<N>(res) ^ ((res >> (kBits<N> - 2)) & 1);
  return {res, flag_if(cf, fl::CF) | flag_if(of, fl::OF)};
}

template <unsigned N, Shifted (*Compute)(uint64_t, unsigned, uint64_t)>
void rotate(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_dest<N>(cpu, in, 0);
  const unsigned c = masked_count<N>(cpu, in, 1);
  if (c == 0) {
    write_operand<N>(cpu, in, 0, a);
    return;
  }
  const Shifted s = Compute(a, c, cpu.flag(fl::CF));
  write_operand<N>(cpu, in, 0, s.value);
  update_flags(cpu, fl::CF | fl::OF, s.flags);
}

template <unsigned N> void rol(Cpu& cpu, const Insn& in) { rotate<N, rol_value<N>>(cpu, in); }
template <unsigned N> void ror(Cpu& cpu, const Insn& in) { rotate<N, ror_value<N>>(cpu, in); }
template <unsigned N> void rcl(Cpu& cpu, const Insn& in) { rotate<N, rcl_value<N>>(cpu, in); }
template <unsigned N> void rcr(Cpu& cpu, const Insn& in) { rotate<N, rcr_value<N>>(cpu, in); }

// ---- SHLD, SHRD ----------------------------------------------------------

// SHLD/SHRD with a 16-bit operand can get a count of 17..31, whose result
// and flags are undefined (SDM Vol. 2 SHLD, SHRD). Zen 4 then rotates SRC
// by (count - 16) - left for SHLD, right for SHRD - into DEST, with CF = 0,
// SF, ZF, PF from the result, and OF = 0 (SHLD) or MSB XOR MSB-1 of the
// result (SHRD). AF (undefined for every count) is set.
template <unsigned N>
bool beyond_width(unsigned c) {
  return c > kBits<N>;
}

// SHLD DEST, SRC, count: DEST:SRC shifted left, DEST takes the high half.
// CF = the last bit shifted out of DEST; OF = sign change for count 1.
// Larger counts (OF undefined): Zen 4 gives MSB(result) XOR CF, except for
// a 16-bit shift by exactly 16, where OF = CF.
template <unsigned N>
Shifted shld_value(uint64_t a, uint64_t b, unsigned c) {
  constexpr unsigned W = kBits<N>;
  if (beyond_width<N>(c)) {
    const uint64_t r = rotl<N>(b, c - W);
    return {r, zs_flags<N>(r) | fl::AF};
  }
  const u128 v = (u128(a) << W) | b;
  const uint64_t r = uint64_t(v << c >> W) & size_mask<N>();
  const uint64_t cf = uint64_t(v << (c - 1) >> (2 * W - 1)) & 1;
  const uint64_t of = c == W ? cf : msb<N>(r) ^ cf;
  return {r, zs_flags<N>(r) | fl::AF | flag_if(cf, fl::CF) | flag_if(of, fl::OF)};
}

// SHRD DEST, SRC, count: SRC:DEST shifted right, DEST takes the low half.
// CF = the last bit shifted out of DEST; OF = sign change for count 1,
// which equals MSB XOR MSB-1 of the result; Zen 4 uses that for every
// count.
template <unsigned N>
Shifted shrd_value(uint64_t a, uint64_t b, unsigned c) {
  constexpr unsigned W = kBits<N>;
  uint64_t r, cf = 0;
  if (beyond_width<N>(c)) {
    r = rotr<N>(b, c - W);
  } else {
    const u128 v = (u128(b) << W) | a;
    r = uint64_t(v >> c) & size_mask<N>();
    cf = uint64_t(v >> (c - 1)) & 1;
  }
  const uint64_t of = msb<N>(r) ^ ((r >> (W - 2)) & 1);
  return {r, zs_flags<N>(r) | fl::AF | flag_if(cf, fl::CF) | flag_if(of, fl::OF)};
}

template <unsigned N, Shifted (*Compute)(uint64_t, uint64_t, unsigned)>
void double_shift(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_dest<N>(cpu, in, 0);
  const uint64_t b = read_operand<N>(cpu, in, 1);
  const unsigned c = masked_count<N>(cpu, in, 2);
  if (c == 0) {
    write_operand<N>(cpu, in, 0, a);
    return;
  }
  const Shifted s = Compute(a, b, c);
  write_operand<N>(cpu, in, 0, s.value);
  update_flags(cpu, fl::ARITH, s.flags);
}

template <unsigned N> void shld(Cpu& cpu, const Insn& in) { double_shift<N, shld_value<N>>(cpu, in); }
template <unsigned N> void shrd(Cpu& cpu, const Insn& in) { double_shift<N, shrd_value<N>>(cpu, in); }

// ---- BMI2: SHLX, SHRX, SARX (count in VEX.vvvv), RORX (immediate) -------
// Operands (Zydis, Intel order): DEST, SRC (r/m), COUNT. No flags.

template <unsigned N>
void shlx(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 1);
  const unsigned c = unsigned(read_operand<N>(cpu, in, 2)) & kCountMask<N>;
  write_operand<N>(cpu, in, 0, (a << c) & size_mask<N>());
}

template <unsigned N>
void shrx(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 1);
  const unsigned c = unsigned(read_operand<N>(cpu, in, 2)) & kCountMask<N>;
  write_operand<N>(cpu, in, 0, a >> c);
}

template <unsigned N>
void sarx(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 1);
  const unsigned c = unsigned(read_operand<N>(cpu, in, 2)) & kCountMask<N>;
  write_operand<N>(cpu, in, 0, uint64_t(sext<N>(a) >> c) & size_mask<N>());
}

template <unsigned N>
void rorx(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 1);
  const unsigned c = unsigned(in.imm) & kCountMask<N>;
  write_operand<N>(cpu, in, 0, rotr<N>(a, c));
}

constexpr uint32_t kShiftDef = fl::CF | fl::OF | fl::SF | fl::ZF | fl::PF;
constexpr uint32_t kShiftUndef = fl::OF | fl::AF | fl::CF;  // CF: SHL/SHR 8/16-bit, count > width
constexpr uint32_t kDoubleUndef = fl::ARITH;                // count > width: all undefined

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_SHL, SOFTVT_SIZED(shl), kShiftDef, kShiftUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SHR, SOFTVT_SIZED(shr), kShiftDef, kShiftUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SAR, SOFTVT_SIZED(sar), kShiftDef, fl::OF | fl::AF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ROL, SOFTVT_SIZED(rol), fl::CF | fl::OF, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ROR, SOFTVT_SIZED(ror), fl::CF | fl::OF, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_RCL, SOFTVT_SIZED(rcl), fl::CF | fl::OF, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_RCR, SOFTVT_SIZED(rcr), fl::CF | fl::OF, fl::OF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SHLD, SOFTVT_SIZED_WDQ(shld), kShiftDef, kDoubleUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SHRD, SOFTVT_SIZED_WDQ(shrd), kShiftDef, kDoubleUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SHLX, SOFTVT_SIZED_DQ(shlx), 0, 0, Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_SHRX, SOFTVT_SIZED_DQ(shrx), 0, 0, Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_SARX, SOFTVT_SIZED_DQ(sarx), 0, 0, Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_RORX, SOFTVT_SIZED_DQ(rorx), 0, 0, Feature::Bmi2, 0},
};

}  // namespace

std::span<const InsnRow> rows_shift_rotate() { return kRows; }

}  // namespace softvt
