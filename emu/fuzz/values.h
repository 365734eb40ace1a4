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

namespace softvt::fuzz {

// ---- x87 / SSE values (special values per SDM Vol. 1 4.8 and 8.2) ----------

// A single-precision bit pattern: +-0, +-inf, QNaN/SNaN with random
// payloads, denormals, the smallest/largest normals, small integers, 1.0,
// or a random normal.
uint32_t float_value(Prng& rng);
// The same classes in double precision.
uint64_t double_value(Prng& rng);
// An 80-bit extended value (little endian, 10 bytes): the classes above
// plus what only the explicit integer bit allows: unnormals, pseudo-
// denormals, pseudo-infinities and pseudo-NaNs (SDM Vol. 1 8.2.2).
void extended_value(Prng& rng, uint8_t out[10]);
// Control words from a biased set: the defaults, each precision and
// rounding control, and sometimes unmasked exceptions.
uint16_t fcw_value(Prng& rng);
uint32_t mxcsr_value(Prng& rng);

}  // namespace softvt::fuzz
