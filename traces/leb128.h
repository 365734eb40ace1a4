// LEB128 writers without loops, for the encoder's hot records
// (traces/format.h, traces/README.md "Byte-level layout"): each writes a
// fixed number of bytes at `o` whatever the length and returns the end
// of the number, so a record can be built with plain stores.
#pragma once
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

// put_sleb into a raw buffer (the same bytes), without a loop: one byte
// for -64..63, else the length
// from the count of significant bits, the 7-bit groups spread into one
// 64-bit word with their continuation bits, and bytes 9 and 10 written
// unconditionally; writes up to 10 bytes at `o` whatever the length.
[[gnu::always_inline]] inline uint8_t* put_sleb_fast(uint8_t* o, int64_t v) {
  const uint64_t u = uint64_t(v);
  // Redundant sign bits become leading zeros; one more bit holds the sign.
  const uint64_t z = u ^ uint64_t(v >> 63);
  if (z < 64) {  // -64..63: one byte (a count delta, most flag changes)
    *o = uint8_t(u & 0x7f);
    return o + 1;
  }
  const unsigned n = unsigned(71 - __builtin_clzll(z | 1)) / 7;  // 1..10
  uint64_t w = spread_7bit_groups(u);
  // Continuation bits on every byte but the last (within the first 8).
  static constexpr uint64_t CONT[11] = {0,
                                        0,
                                        0x80,
                                        0x8080,
                                        0x808080,
                                        0x80808080,
                                        0x8080808080,
                                        0x808080808080,
                                        0x80808080808080,
                                        0x8080808080808080,
                                        0x8080808080808080};
  w |= CONT[n];
  std::memcpy(o, &w, 8);
  o[8] = uint8_t(((u >> 56) & 0x7f) | (n == 10 ? 0x80 : 0));
  o[9] = uint8_t(uint64_t(v >> 63) & 0x7f);
  return o + n;
}

// put_uleb into a raw buffer, for a value below 2^56 (a Regs mask), without a loop: the
// same spread as put_sleb_fast; writes 8 bytes at `o` whatever the length.
[[gnu::always_inline]] inline uint8_t* put_uleb56_fast(uint8_t* o, uint64_t u) {
  const unsigned n = unsigned(70 - __builtin_clzll(u | 1)) / 7;  // 1..8
  static constexpr uint64_t CONT[9] = {0,          0,           0x80,           0x8080,          0x808080,
                                       0x80808080, 0x8080808080, 0x808080808080, 0x80808080808080};
  const uint64_t w = spread_7bit_groups(u) | CONT[n];
  std::memcpy(o, &w, 8);
  return o + n;
}

}  // namespace softvt::trace::leb
