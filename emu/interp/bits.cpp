// Bit instructions: BT, BTS, BTR, BTC, BSF, BSR, POPCNT, LZCNT, TZCNT and
// the BMI1/BMI2 bit-field instructions ANDN, BEXTR, BLSI, BLSMSK, BLSR,
// BZHI, PDEP, PEXT (SDM Vol. 2, each instruction's "Operation" and "Flags
// Affected" sections).
//
// Undefined flags are produced as this project's oracle, an AMD Zen 4
// host, produces them (tests/unit/test_alu_host.cpp compares them and
// reports differences); the table lists them as undefined all the same.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

template <unsigned N>
uint64_t sf_of(uint64_t r) {
  return flag_if(r & sign_bit<N>(), fl::SF);
}

template <unsigned N>
uint64_t zf_of(uint64_t r) {
  return flag_if((r & size_mask<N>()) == 0, fl::ZF);
}

// ---- BT, BTS, BTR, BTC ---------------------------------------------------

enum class BitOp { Test, Set, Reset, Complement };

template <unsigned N>
constexpr unsigned kLog2Bits = N == 1 ? 3 : N == 2 ? 4 : N == 4 ? 5 : 6;

// Where the selected bit lives: the operand-sized unit at `offset` (memory
// operands) and the bit number within it.
struct BitPlace {
  uint64_t offset;
  unsigned bit;
};

// SDM Vol. 2 BT, "bit-base addressing": an immediate bit offset is taken
// modulo the operand width. A register bit offset selects a bit of a
// register operand modulo the width too, but with a memory operand it is a
// signed offset from the bit base (the operand's address): the unit at
// address + (offset SAR log2(width)) * (width / 8) is accessed, wrapped to
// the address size.
template <unsigned N>
BitPlace bit_place(Cpu& cpu, const Insn& in) {
  const uint64_t bit_offset = read_operand<N>(cpu, in, 1);
  const unsigned bit = unsigned(bit_offset) & (kBits<N> - 1);
  if (!is_mem(in, 0)) return {0, bit};
  uint64_t offset = effective_address(cpu, in);
  if (in.op[1].kind == OpKind::Reg)
    offset = (offset + uint64_t(sext<N>(bit_offset) >> kLog2Bits<N>) * N) & mask_of(in.addrsize);
  return {offset, bit};
}

// BT: CF = the selected bit; ZF unaffected; OF, SF, AF, PF undefined (Zen 4
// leaves them unchanged). BTS/BTR/BTC then set, clear or flip the bit.
template <unsigned N, BitOp Op>
void bit_test(Cpu& cpu, const Insn& in) {
  const BitPlace p = bit_place<N>(cpu, in);
  const bool mem = is_mem(in, 0);
  uint64_t v;
  if (!mem) v = read_operand<N>(cpu, in, 0);
  else if (Op == BitOp::Test) v = cpu.read(in.seg, p.offset, N);
  else v = cpu.read_rmw(in.seg, p.offset, N);
  const uint64_t m = uint64_t(1) << p.bit;
  const bool old_bit = v & m;
  if constexpr (Op != BitOp::Test) {
    if (Op == BitOp::Set) v |= m;
    else if (Op == BitOp::Reset) v &= ~m;
    else v ^= m;
    if (mem) cpu.write(in.seg, p.offset, N, v);
    else write_operand<N>(cpu, in, 0, v);
  }
  cpu.set_flag(fl::CF, old_bit);
}

template <unsigned N> void bt(Cpu& cpu, const Insn& in) { bit_test<N, BitOp::Test>(cpu, in); }
template <unsigned N> void bts(Cpu& cpu, const Insn& in) { bit_test<N, BitOp::Set>(cpu, in); }
template <unsigned N> void btr(Cpu& cpu, const Insn& in) { bit_test<N, BitOp::Reset>(cpu, in); }
template <unsigned N> void btc(Cpu& cpu, const Insn& in) { bit_test<N, BitOp::Complement>(cpu, in); }

// ---- BSF, BSR ------------------------------------------------------------

// A zero source sets ZF and leaves the destination unchanged, register
// upper half included (AMD APM Vol. 3 BSF/BSR; Intel CPUs do the same
// though the SDM calls the destination undefined). CF, OF, SF, AF, PF are
// undefined: Zen 4 clears them except PF, which it sets from the index
// found (from 0 for a zero source).
template <unsigned N, bool Reverse>
void bit_scan(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  if (src == 0) {
    set_arith_flags(cpu, fl::ZF | fl::PF);
    return;
  }
  const unsigned index = Reverse ? 63 - unsigned(__builtin_clzll(src)) : unsigned(__builtin_ctzll(src));
  write_operand<N>(cpu, in, 0, index);
  set_arith_flags(cpu, parity_flag(index));
}

template <unsigned N> void bsf(Cpu& cpu, const Insn& in) { bit_scan<N, false>(cpu, in); }
template <unsigned N> void bsr(Cpu& cpu, const Insn& in) { bit_scan<N, true>(cpu, in); }

// ---- POPCNT, LZCNT, TZCNT ------------------------------------------------

// POPCNT: OF, SF, AF, CF, PF cleared; ZF = (source == 0).
template <unsigned N>
void popcnt(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  write_operand<N>(cpu, in, 0, uint64_t(__builtin_popcountll(src)));
  set_arith_flags(cpu, flag_if(src == 0, fl::ZF));
}

// LZCNT/TZCNT: the count is the width for a zero source; CF = (source ==
// 0), ZF = (result == 0); OF, SF, AF, PF undefined (Zen 4 keeps OF and
// clears the others).
template <unsigned N>
unsigned leading_zeros(uint64_t v) {
  return v == 0 ? kBits<N> : unsigned(__builtin_clzll(v)) - (64 - kBits<N>);
}

template <unsigned N>
unsigned trailing_zeros(uint64_t v) {
  return v == 0 ? kBits<N> : unsigned(__builtin_ctzll(v));
}

template <unsigned N, bool Leading>
void zero_count(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const unsigned r = Leading ? leading_zeros<N>(src) : trailing_zeros<N>(src);
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH & ~fl::OF, flag_if(src == 0, fl::CF) | flag_if(r == 0, fl::ZF));
}

template <unsigned N> void lzcnt(Cpu& cpu, const Insn& in) { zero_count<N, true>(cpu, in); }
template <unsigned N> void tzcnt(Cpu& cpu, const Insn& in) { zero_count<N, false>(cpu, in); }

// ---- BMI1: ANDN, BEXTR, BLSI, BLSMSK, BLSR --------------------------------
// Their PF (and AF) are undefined; Zen 4 sets PF from the result and
// clears AF, except BEXTR, which sets AF.
// VEX operands (Zydis, Intel order): ANDN DEST, SRC1 (vvvv), SRC2 (r/m);
// BEXTR DEST, SRC (r/m), CONTROL (vvvv); BLSx DEST (vvvv), SRC (r/m).

// ANDN: SF, ZF from the result; OF, CF cleared; AF, PF undefined.
template <unsigned N>
void andn(Cpu& cpu, const Insn& in) {
  const uint64_t a = read_operand<N>(cpu, in, 1);
  const uint64_t b = read_operand<N>(cpu, in, 2);
  const uint64_t r = ~a & b & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, sf_of<N>(r) | zf_of<N>(r) | parity_flag(r));
}

// BEXTR: START = CONTROL[7:0], LEN = CONTROL[15:8]; bits beyond the source
// read as 0. ZF from the result; CF, OF cleared; AF, SF, PF undefined.
template <unsigned N>
void bextr(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t ctl = read_operand<N>(cpu, in, 2);
  const unsigned start = unsigned(ctl & 0xff);
  const unsigned len = unsigned((ctl >> 8) & 0xff);
  uint64_t r = start >= kBits<N> ? 0 : src >> start;
  if (len < 64) r &= (uint64_t(1) << len) - 1;
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, zf_of<N>(r) | parity_flag(r) | fl::AF);
}

// BLSI: lowest set bit. ZF, SF from the result; CF = (source != 0); OF
// cleared; AF, PF undefined.
template <unsigned N>
void blsi(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t r = (0 - src) & src & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, sf_of<N>(r) | zf_of<N>(r) | flag_if(src != 0, fl::CF) | parity_flag(r));
}

// BLSMSK: mask up to the lowest set bit. SF from the result; CF = (source
// == 0); ZF, OF cleared; AF, PF undefined.
template <unsigned N>
void blsmsk(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t r = ((src - 1) ^ src) & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, sf_of<N>(r) | flag_if(src == 0, fl::CF) | parity_flag(r));
}

// BLSR: lowest set bit cleared. ZF, SF from the result; CF = (source ==
// 0); OF cleared; AF, PF undefined.
template <unsigned N>
void blsr(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t r = (src - 1) & src & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, sf_of<N>(r) | zf_of<N>(r) | flag_if(src == 0, fl::CF) | parity_flag(r));
}

// ---- BMI2: BZHI, PDEP, PEXT -----------------------------------------------

// BZHI DEST, SRC (r/m), INDEX (vvvv): bits from INDEX[7:0] up cleared;
// CF = (INDEX[7:0] > width - 1); ZF, SF from the result; OF cleared; AF,
// PF undefined.
template <unsigned N>
void bzhi(Cpu& cpu, const Insn& in) {
  uint64_t r = read_operand<N>(cpu, in, 1);
  const unsigned n = unsigned(read_operand<N>(cpu, in, 2) & 0xff);
  if (n < kBits<N>) r &= (uint64_t(1) << n) - 1;
  write_operand<N>(cpu, in, 0, r);
  update_flags(cpu, fl::ARITH, sf_of<N>(r) | zf_of<N>(r) | flag_if(n > kBits<N> - 1, fl::CF) |
                                   parity_flag(r));
}

// PDEP DEST, SRC (vvvv), MASK (r/m): the low bits of SRC deposited at the
// set bits of MASK. PEXT: the bits of SRC at the set bits of MASK packed
// into the low bits. No flags.
template <unsigned N>
void pdep(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  uint64_t mask = read_operand<N>(cpu, in, 2);
  uint64_t r = 0;
  for (uint64_t k = 1; mask != 0; k <<= 1) {
    const uint64_t lowest = mask & (0 - mask);
    if (src & k) r |= lowest;
    mask ^= lowest;
  }
  write_operand<N>(cpu, in, 0, r);
}

template <unsigned N>
void pext(Cpu& cpu, const Insn& in) {
  const uint64_t src = read_operand<N>(cpu, in, 1);
  uint64_t mask = read_operand<N>(cpu, in, 2);
  uint64_t r = 0;
  for (uint64_t k = 1; mask != 0; k <<= 1) {
    const uint64_t lowest = mask & (0 - mask);
    if (src & lowest) r |= k;
    mask ^= lowest;
  }
  write_operand<N>(cpu, in, 0, r);
}

// BTS/BTR/BTC accept LOCK with a memory destination only (SDM Vol. 2 LOCK).
#define SOFTVT_LOCKABLE_WDQ(h)                                   \
  [](const ::softvt::Insn& i) -> ::softvt::Handler {             \
    if ((i.prefixes & pfx::LOCK) && i.op[0].kind != OpKind::Mem) \
      return nullptr;                                            \
    return SOFTVT_SIZED_WDQ(h)(i);                               \
  }

constexpr uint32_t kBtUndef = fl::OF | fl::SF | fl::AF | fl::PF;
constexpr uint32_t kScanUndef = fl::CF | fl::OF | fl::SF | fl::AF | fl::PF;
constexpr uint32_t kCountDef = fl::CF | fl::ZF;
constexpr uint32_t kCountUndef = fl::OF | fl::SF | fl::AF | fl::PF;
constexpr uint32_t kAfPf = fl::AF | fl::PF;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_BT, SOFTVT_SIZED_WDQ(bt), fl::CF, kBtUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BTS, SOFTVT_LOCKABLE_WDQ(bts), fl::CF, kBtUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BTR, SOFTVT_LOCKABLE_WDQ(btr), fl::CF, kBtUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BTC, SOFTVT_LOCKABLE_WDQ(btc), fl::CF, kBtUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BSF, SOFTVT_SIZED_WDQ(bsf), fl::ZF, kScanUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BSR, SOFTVT_SIZED_WDQ(bsr), fl::ZF, kScanUndef, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPCNT, SOFTVT_SIZED_WDQ(popcnt), fl::ARITH, 0, Feature::Popcnt, 0},
    {ZYDIS_MNEMONIC_LZCNT, SOFTVT_SIZED_WDQ(lzcnt), kCountDef, kCountUndef, Feature::Lzcnt, 0},
    {ZYDIS_MNEMONIC_TZCNT, SOFTVT_SIZED_WDQ(tzcnt), kCountDef, kCountUndef, Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_ANDN, SOFTVT_SIZED_DQ(andn), fl::SF | fl::ZF | fl::OF | fl::CF, kAfPf,
     Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_BEXTR, SOFTVT_SIZED_DQ(bextr), fl::ZF | fl::OF | fl::CF,
     fl::AF | fl::SF | fl::PF, Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_BLSI, SOFTVT_SIZED_DQ(blsi), fl::SF | fl::ZF | fl::OF | fl::CF, kAfPf,
     Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_BLSMSK, SOFTVT_SIZED_DQ(blsmsk), fl::SF | fl::ZF | fl::OF | fl::CF, kAfPf,
     Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_BLSR, SOFTVT_SIZED_DQ(blsr), fl::SF | fl::ZF | fl::OF | fl::CF, kAfPf,
     Feature::Bmi1, 0},
    {ZYDIS_MNEMONIC_BZHI, SOFTVT_SIZED_DQ(bzhi), fl::SF | fl::ZF | fl::OF | fl::CF, kAfPf,
     Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_PDEP, SOFTVT_SIZED_DQ(pdep), 0, 0, Feature::Bmi2, 0},
    {ZYDIS_MNEMONIC_PEXT, SOFTVT_SIZED_DQ(pext), 0, 0, Feature::Bmi2, 0},
};

}  // namespace

std::span<const InsnRow> rows_bits() { return kRows; }

}  // namespace softvt
