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
