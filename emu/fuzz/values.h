// Random operand values biased towards the edges where arithmetic goes
// wrong: 0, 1, all ones, the sign boundaries, carries out of each byte,
// small positive and negative numbers, sparse bit patterns, and uniformly
// random values.
#pragma once
#include <cstdint>

#include "emu/fuzz/prng.h"

namespace softvt::fuzz {

// A value of `bytes` bytes (1, 2, 4 or 8), zero-extended to 64 bits.
uint64_t edge_value(Prng& rng, unsigned bytes);
// Like edge_value but never 0.
uint64_t nonzero_value(Prng& rng, unsigned bytes);
// A 64-bit register value: an edge value of a random width, sign- or
// zero-extended, sometimes with random upper bits.
uint64_t register_value(Prng& rng);

inline uint64_t width_mask(unsigned bytes) {
  return bytes >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * bytes)) - 1;
}
inline int64_t sign_extend(uint64_t v, unsigned bytes) {
  if (bytes >= 8) return int64_t(v);
  const unsigned shift = 64 - 8 * bytes;
  return int64_t(v << shift) >> shift;
}

}  // namespace softvt::fuzz
