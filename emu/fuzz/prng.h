// The fuzzer's pseudo-random number generator. Cases must be reproducible
// from their seed on any machine and with any standard library, so this
// uses fixed, published algorithms and never <random>'s distributions
// (whose results are implementation-defined):
//   - splitmix64 (Steele, Lea, Flood 2014) expands the 64-bit seed into the
//     generator state;
//   - xoshiro256** 1.0 (Blackman, Vigna 2018) produces the stream.
// Ranges are drawn by rejection sampling, so they are exactly uniform.
#pragma once
#include <cstdint>
#include <cstddef>

namespace softvt::fuzz {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Prng {
 public:
  explicit Prng(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& w : s_) w = splitmix64(sm);
  }
  // A generator in a given state (tests check the reference outputs).
  static Prng from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
    Prng p(0);
    p.s_[0] = s0, p.s_[1] = s1, p.s_[2] = s2, p.s_[3] = s3;
    return p;
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) {
    const uint64_t limit = ~uint64_t(0) - (~uint64_t(0) % n);  // multiple of n
    uint64_t v;
    do v = next();
    while (v >= limit);
    return v % n;
  }
  // Uniform in [lo, hi] (inclusive, signed).
  int64_t range(int64_t lo, int64_t hi) {
    return lo + int64_t(below(uint64_t(hi - lo) + 1));
  }
  // True with probability num/den.
  bool chance(uint64_t num, uint64_t den) { return below(den) < num; }

  template <typename C>
  auto& pick(C& c) {
    return c[size_t(below(c.size()))];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace softvt::fuzz
