#include "emu/fuzz/values.h"

namespace softvt::fuzz {

uint64_t edge_value(Prng& rng, unsigned bytes) {
  const uint64_t mask = width_mask(bytes);
  const uint64_t sign = uint64_t(1) << (8 * bytes - 1);
  uint64_t v;
  switch (rng.below(12)) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = mask; break;                         // -1
    case 3: v = sign; break;                         // most negative
    case 4: v = sign - 1; break;                     // most positive
    case 5: v = sign + rng.below(3); break;          // just past the sign boundary
    case 6: v = rng.below(17); break;                // small positive
    case 7: v = uint64_t(-int64_t(rng.range(1, 16))); break;  // small negative
    case 8: {                                        // a carry out of some byte
      const unsigned byte = unsigned(rng.below(bytes));
      v = (uint64_t(1) << (8 * byte)) - rng.below(2);
      break;
    }
    case 9: v = uint64_t(1) << rng.below(8 * bytes); break;  // one bit
    case 10: v = rng.next() & rng.next() & rng.next(); break;  // sparse bits
    default: v = rng.next(); break;
  }
  return v & mask;
}

uint64_t nonzero_value(Prng& rng, unsigned bytes) {
  for (;;) {
    uint64_t v = edge_value(rng, bytes);
    if (v != 0) return v;
  }
}

uint64_t register_value(Prng& rng) {
  static constexpr unsigned kWidths[] = {1, 2, 4, 8, 8, 8};
  const unsigned bytes = kWidths[rng.below(6)];
  uint64_t v = edge_value(rng, bytes);
  switch (rng.below(3)) {
    case 0: return uint64_t(sign_extend(v, bytes));
    case 1: return v;
    default: return bytes == 8 ? v : (rng.next() & ~width_mask(bytes)) | v;
  }
}

}  // namespace softvt::fuzz

namespace softvt::fuzz {

uint32_t float_value(Prng& rng) {
  const uint32_t sign = uint32_t(rng.below(2)) << 31;
  const uint32_t frac = uint32_t(rng.next()) & 0x7fffff;
  switch (rng.below(11)) {
    case 0: return sign;                                         // +-0
    case 1: return sign | 0x7f800000;                            // +-inf
    case 2: return sign | 0x7fc00000 | (frac & 0x3fffff);        // QNaN
    case 3: return sign | 0x7f800000 | ((frac & 0x3fffff) | 1);  // SNaN
    case 4: return sign | (frac ? frac : 1);                     // denormal
    case 5: return sign | 0x00800000 | (rng.chance(1, 2) ? 0 : frac);  // smallest exponent
    case 6: return sign | 0x7f7fffff;                            // largest normal
    case 7: return sign | 0x3f800000;                            // 1.0
    case 8: {                                                    // a small integer
      const float f = float(rng.range(1, 1000));
      uint32_t b;
      __builtin_memcpy(&b, &f, 4);
      return sign | b;
    }
    case 9: return 0xffc00000;                                   // the real indefinite
    default: return sign | (uint32_t(rng.range(1, 254)) << 23) | frac;
  }
}

uint64_t double_value(Prng& rng) {
  const uint64_t sign = rng.below(2) << 63;
  const uint64_t frac = rng.next() & 0xfffffffffffffull;
  const uint64_t quiet = 0x8000000000000ull;
  switch (rng.below(11)) {
    case 0: return sign;
    case 1: return sign | 0x7ff0000000000000ull;
    case 2: return sign | 0x7ff0000000000000ull | quiet | frac;
    case 3: return sign | 0x7ff0000000000000ull | ((frac & (quiet - 1)) | 1);
    case 4: return sign | (frac ? frac : 1);
    case 5: return sign | 0x0010000000000000ull | (rng.chance(1, 2) ? 0 : frac);
    case 6: return sign | 0x7fefffffffffffffull;
    case 7: return sign | 0x3ff0000000000000ull;
    case 8: {
      const double f = double(rng.range(1, 100000));
      uint64_t b;
      __builtin_memcpy(&b, &f, 8);
      return sign | b;
    }
    case 9: return 0xfff8000000000000ull;
    default: return sign | (rng.range(1, 2046) << 52) | frac;
  }
}

void extended_value(Prng& rng, uint8_t out[10]) {
  const uint64_t j = 1ull << 63;  // the explicit integer bit
  uint64_t mant = rng.next();
  uint16_t se = uint16_t(rng.below(2) << 15);
  switch (rng.below(14)) {
    case 0: mant = 0; break;                                      // +-0
    case 1: se |= 0x7fff; mant = j; break;                        // +-inf
    case 2: se |= 0x7fff; mant |= j | (j >> 1); break;            // QNaN
    case 3: se |= 0x7fff; mant = (mant | j | 1) & ~(j >> 1); break;  // SNaN
    case 4: mant &= ~j; if (!mant) mant = 1; break;               // denormal
    case 5: mant |= j; break;                                     // pseudo-denormal
    case 6: se |= uint16_t(rng.range(1, 0x7ffe)); mant &= ~j; break;  // unnormal
    case 7: se |= 0x7fff; mant = rng.chance(1, 2) ? 0 : mant & ~j; break;  // pseudo-inf/NaN
    case 8: se |= 0x3fff; mant = j; break;                        // 1.0
    case 9: {                                                     // an integer
      const uint64_t v = rng.range(1, 1 << 20);
      const unsigned lz = unsigned(__builtin_clzll(v));
      se |= uint16_t(0x3fff + 63 - lz);
      mant = v << lz;
      break;
    }
    case 10: se = 0xffff; mant = 0xc000000000000000ull; break;    // the real indefinite
    case 11: se |= uint16_t(rng.range(0x3f00, 0x40ff)); mant |= j; break;  // near 1
    default: se |= uint16_t(rng.range(1, 0x7ffe)); mant |= j; break;  // a normal
  }
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(mant >> (8 * i));
  out[8] = uint8_t(se);
  out[9] = uint8_t(se >> 8);
}

uint16_t fcw_value(Prng& rng) {
  // Bit 6 reads as 1 after FNINIT; PC = 1 is reserved (SDM Vol. 1 8.1.5.2).
  static constexpr uint16_t kPc[] = {0x000, 0x200, 0x300, 0x300};
  uint16_t masks = 0x3f;
  if (rng.chance(1, 8)) masks = uint16_t(rng.below(64));
  const uint16_t rc = rng.chance(1, 2) ? 0 : uint16_t(rng.below(4) << 10);
  return uint16_t(0x40 | masks | kPc[rng.below(4)] | rc);
}

uint32_t mxcsr_value(Prng& rng) {
  uint32_t masks = 0x1f80;
  if (rng.chance(1, 8)) masks = uint32_t(rng.below(64)) << 7;
  const uint32_t rc = rng.chance(1, 2) ? 0 : uint32_t(rng.below(4) << 13);
  const uint32_t ftz = rng.chance(1, 4) ? 0x8000 : 0;
  const uint32_t daz = rng.chance(1, 4) ? 0x40 : 0;
  const uint32_t flags = rng.chance(1, 2) ? 0 : uint32_t(rng.below(64));
  return masks | rc | ftz | daz | flags;
}

}  // namespace softvt::fuzz
