// Arithmetic flag computation, written eagerly after each instruction
// (SDM Vol. 1 3.4.3.1, Appendix A "EFLAGS Cross-Reference"). Undefined
// flags are produced as the helpers document; the instruction table lists
// them so differential tests mask them.
#pragma once
#include <cstdint>

#include "emu/cpu.h"
#include "emu/interp/operands.h"

namespace softvt {

template <unsigned N>
constexpr unsigned kBits = N * 8;

inline uint64_t flag_if(bool cond, uint64_t bit) { return cond ? bit : 0; }

// Replaces the flags in `touched` with `value` (other flags keep theirs).
inline void update_flags(Cpu& cpu, uint64_t touched, uint64_t value) {
  cpu.s.rflags = (cpu.s.rflags & ~touched) | (value & touched);
}

inline uint64_t parity_flag(uint64_t result) {
  return (__builtin_popcount(unsigned(result & 0xff)) & 1) ? 0 : fl::PF;
}

template <unsigned N>
inline uint64_t zs_flags(uint64_t r) {
  r &= size_mask<N>();
  return (r == 0 ? fl::ZF : 0) | ((r & sign_bit<N>()) ? fl::SF : 0) | parity_flag(r);
}

inline void set_arith_flags(Cpu& cpu, uint64_t f) {
  cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | f;
}

// a + b + carry_in = r
template <unsigned N>
inline uint64_t add_flags(uint64_t a, uint64_t b, uint64_t r, uint64_t carry_in) {
  a &= size_mask<N>();
  b &= size_mask<N>();
  r &= size_mask<N>();
  uint64_t f = zs_flags<N>(r);
  if (r < a || (carry_in && r == a)) f |= fl::CF;
  if (((a ^ r) & (b ^ r)) & sign_bit<N>()) f |= fl::OF;
  if ((a ^ b ^ r) & 0x10) f |= fl::AF;
  return f;
}

// a - b - borrow_in = r
template <unsigned N>
inline uint64_t sub_flags(uint64_t a, uint64_t b, uint64_t r, uint64_t borrow_in) {
  a &= size_mask<N>();
  b &= size_mask<N>();
  r &= size_mask<N>();
  uint64_t f = zs_flags<N>(r);
  if (a < b || (borrow_in && a == b)) f |= fl::CF;
  if (((a ^ b) & (a ^ r)) & sign_bit<N>()) f |= fl::OF;
  if ((a ^ b ^ r) & 0x10) f |= fl::AF;
  return f;
}

// AND/OR/XOR/TEST: CF = OF = 0, AF undefined (left 0 here, as current
// Intel and AMD CPUs do).
template <unsigned N>
inline uint64_t logic_flags(uint64_t r) {
  return zs_flags<N>(r);
}

// Condition codes (SDM Vol. 2 Appendix B.1), cc = low 4 bits of the opcode.
inline bool condition(const Cpu& cpu, unsigned cc) {
  const uint64_t f = cpu.s.rflags;
  bool r;
  switch (cc >> 1) {
    case 0: r = f & fl::OF; break;
    case 1: r = f & fl::CF; break;
    case 2: r = f & fl::ZF; break;
    case 3: r = (f & fl::CF) || (f & fl::ZF); break;
    case 4: r = f & fl::SF; break;
    case 5: r = f & fl::PF; break;
    case 6: r = bool(f & fl::SF) != bool(f & fl::OF); break;
    default: r = (f & fl::ZF) || (bool(f & fl::SF) != bool(f & fl::OF)); break;
  }
  return (cc & 1) ? !r : r;
}

}  // namespace softvt
