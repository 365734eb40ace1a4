// LEB128 writers without loops, for the encoder's hot records
// (traces/format.h, traces/README.md "Byte-level layout"): each writes a
// fixed number of bytes at `o` whatever the length and returns the end
// of the number, so a record can be built with plain stores.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>

namespace softvt::trace::leb {

// Whether the host has BMI2's PDEP (a Zen 3 or later, a Haswell or later).
extern const bool HAS_PDEP;  // traces/format.cpp

// Bits 7k..7k+6 of u into byte k (k < 8): one PDEP where the host has it
// (inline assembly: the build targets baseline x86-64).
[[gnu::always_inline]] inline uint64_t spread_7bit_groups(uint64_t u) {
  if (HAS_PDEP) {
    uint64_t w;
    asm("pdep %2, %1, %0" : "=r"(w) : "r"(u), "r"(uint64_t(0x7f7f7f7f7f7f7f7f)));
    return w;
  }
  uint64_t w = u & 0x7f;
#pragma GCC unroll 7
  for (unsigned k = 1; k < 8; ++k) w |= (u << k) & (uint64_t(0x7f) << (8 * k));
  return w;
}

// The shape of a LEB128 number by the count of leading zeros of its
// significant bits (for a signed number: of the value XOR its sign, plus
// one bit for the sign): its length and the continuation bits of its
// bytes 1-8 and of byte 9.
struct LebShape {
  uint64_t cont;  // bit 7 of each of the first 8 bytes but the last
  uint8_t cont8;  // bit 7 of byte 9 (a 10-byte number)
  uint8_t len;    // 1..10
};
template <unsigned EXTRA_BITS>
constexpr std::array<LebShape, 65> leb_shapes() {
  std::array<LebShape, 65> t{};
  for (unsigned clz = 0; clz <= 64; ++clz) {
    unsigned bits = 64 - clz + EXTRA_BITS;
    const unsigned len = bits <= 7 ? 1 : (bits + 6) / 7;
    uint64_t cont = 0;
    for (unsigned k = 0; k + 1 < len && k < 8; ++k) cont |= uint64_t(0x80) << (8 * k);
    t[clz] = LebShape{cont, uint8_t(len == 10 ? 0x80 : 0), uint8_t(len)};
  }
  return t;
}
inline constexpr std::array<LebShape, 65> SLEB_SHAPE = leb_shapes<1>();
inline constexpr std::array<LebShape, 65> ULEB_SHAPE = leb_shapes<0>();

// put_sleb into a raw buffer (the same bytes), without a loop: one byte
// for -64..63, else the shape from the count of significant bits, the
// 7-bit groups spread into one 64-bit word with their continuation bits,
// and bytes 9 and 10 written unconditionally; writes up to 10 bytes at
// `o` whatever the length.
[[gnu::always_inline]] inline uint8_t* put_sleb_fast(uint8_t* o, int64_t v) {
  const uint64_t u = uint64_t(v);
  // Redundant sign bits become leading zeros; one more bit holds the sign.
  const uint64_t z = u ^ uint64_t(v >> 63);
  if (z < 64) {  // -64..63: one byte (a count delta, most flag changes)
    *o = uint8_t(u & 0x7f);
    return o + 1;
  }
  const LebShape& sh = SLEB_SHAPE[unsigned(__builtin_clzll(z))];
  const uint64_t w = spread_7bit_groups(u) | sh.cont;
  std::memcpy(o, &w, 8);
  o[8] = uint8_t(((u >> 56) & 0x7f) | sh.cont8);
  o[9] = uint8_t(uint64_t(v >> 63) & 0x7f);
  return o + sh.len;
}

// put_uleb into a raw buffer, for a value below 2^56 (a Regs mask),
// without a loop: the same spread; writes 8 bytes at `o` whatever the
// length.
[[gnu::always_inline]] inline uint8_t* put_uleb56_fast(uint8_t* o, uint64_t u) {
  const LebShape& sh = ULEB_SHAPE[unsigned(__builtin_clzll(u | 1))];
  const uint64_t w = spread_7bit_groups(u) | sh.cont;
  std::memcpy(o, &w, 8);
  return o + sh.len;
}

}  // namespace softvt::trace::leb
