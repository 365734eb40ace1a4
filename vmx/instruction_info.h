// The parts of the VM-exit instruction-information field that several
// exits share (SDM Vol. 3C 28.2.5, Tables 28-8 .. 28-14): the address
// size, the scaling, the segment, index and base registers of a memory
// operand, and the displacement that is the exit qualification of an
// instruction with a memory operand.
#pragma once
#include <cstdint>

#include "decoder/insn.h"

namespace softvt::vmx {

// Address size: 0 = 16-bit, 1 = 32-bit, 2 = 64-bit.
inline uint32_t address_size_code(unsigned bytes) { return bytes == 2 ? 0 : bytes == 4 ? 1 : 2; }
inline uint32_t scale_code(unsigned scale) { return scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0; }

// The memory-operand part: scaling (1:0), address size (9:7), segment
// (17:15), index (21:18, invalid bit 22), base (26:23, invalid bit 27).
// RIP-relative addressing has no base register: base invalid.
inline uint32_t memory_operand_info(const Insn& in) {
  uint32_t v = scale_code(in.scale) | (address_size_code(in.addrsize) << 7) | (uint32_t(in.seg & 7) << 15);
  if (in.index < 16) v |= uint32_t(in.index) << 18;
  else v |= 1u << 22;
  if (in.base < 16) v |= uint32_t(in.base) << 23;
  else v |= 1u << 27;
  return v;
}

// The displacement, the exit qualification of instructions with a memory
// operand (SDM 28.2.1), sign-extended.
inline uint64_t displacement(const Insn& in) { return uint64_t(in.disp); }

inline bool operand_is_memory(const Insn& in, unsigned i) { return in.op[i].kind == OpKind::Mem; }

}  // namespace softvt::vmx
