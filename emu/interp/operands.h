// Operand access for handlers: effective addresses (SDM Vol. 2 2.1.5 and
// Table 2-1 for 16-bit forms), register/memory/immediate reads and writes.
#pragma once
#include <cstdint>

#include "decoder/insn.h"
#include "emu/cpu.h"

namespace softvt {

template <unsigned N>
constexpr uint64_t size_mask() {
  if constexpr (N == 8) return ~uint64_t(0);
  else return (uint64_t(1) << (N * 8)) - 1;
}
inline uint64_t mask_of(unsigned n) { return n >= 8 ? ~uint64_t(0) : (uint64_t(1) << (n * 8)) - 1; }

template <unsigned N>
constexpr uint64_t sign_bit() { return uint64_t(1) << (N * 8 - 1); }

template <unsigned N>
inline int64_t sext(uint64_t v) {
  if constexpr (N == 8) return int64_t(v);
  else return int64_t(v << (64 - N * 8)) >> (64 - N * 8);
}

// Effective address (offset within the segment), wrapped to the address size.
inline uint64_t effective_address(const Cpu& cpu, const Insn& in) {
  uint64_t a = uint64_t(in.disp);
  if (in.base == reg::RIP) a += cpu.next_rip;
  else if (in.base != reg::NONE) a += cpu.s.gpr[in.base];
  if (in.index != reg::NONE) a += cpu.s.gpr[in.index] * in.scale;
  return a & mask_of(in.addrsize);
}

template <unsigned N>
inline uint64_t read_operand(Cpu& cpu, const Insn& in, unsigned i) {
  const Operand& o = in.op[i];
  switch (o.kind) {
    case OpKind::Reg: return cpu.get_reg(o.reg, N);
    case OpKind::Mem: return cpu.read(in.seg, effective_address(cpu, in), N);
    default: return in.imm & size_mask<N>();
  }
}

template <unsigned N>
inline void write_operand(Cpu& cpu, const Insn& in, unsigned i, uint64_t v) {
  const Operand& o = in.op[i];
  if (o.kind == OpKind::Reg) cpu.set_reg(o.reg, N, v);
  else cpu.write(in.seg, effective_address(cpu, in), N, v);
}

// Read of a destination that will be written back: a memory operand is
// checked for writing first, so the #PF/#GP of the write comes first.
template <unsigned N>
inline uint64_t read_dest(Cpu& cpu, const Insn& in, unsigned i) {
  const Operand& o = in.op[i];
  if (o.kind == OpKind::Mem) return cpu.read_rmw(in.seg, effective_address(cpu, in), N);
  return read_operand<N>(cpu, in, i);
}

inline bool is_mem(const Insn& in, unsigned i) { return in.op[i].kind == OpKind::Mem; }

}  // namespace softvt
