// Atomic read-modify-write instructions (SDM Vol. 2): XADD, CMPXCHG,
// CMPXCHG8B, CMPXCHG16B.
//
// LOCK: the interpreter runs one CPU on one host thread, so every locked
// access is trivially atomic. Which forms accept LOCK (a memory destination)
// is decided by the decoder: Zydis rejects LOCK on register destinations
// and on instructions that cannot be locked, which softvt executes as #UD
// (SDM Vol. 2 LOCK).
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

// SDM XADD: TEMP := SRC + DEST; SRC := DEST; DEST := TEMP; flags as ADD.
// With both operands the same register the destination write comes last,
// so the register holds the sum. A memory destination is written before
// the source register, so a fault leaves the register unchanged.
template <unsigned N>
void xadd(Cpu& cpu, const Insn& in) {
  const uint64_t dest = read_dest<N>(cpu, in, 0);
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t sum = (dest + src) & size_mask<N>();
  if (is_mem(in, 0)) {
    write_operand<N>(cpu, in, 0, sum);
    write_operand<N>(cpu, in, 1, dest);
  } else {
    write_operand<N>(cpu, in, 1, dest);
    write_operand<N>(cpu, in, 0, sum);
  }
  set_arith_flags(cpu, add_flags<N>(dest, src, sum, 0));
}

// SDM CMPXCHG: flags as CMP rAX, DEST. Equal: DEST := SRC. Not equal:
// rAX := DEST, and a memory destination receives a write cycle with its
// own value ("the destination operand receives a write cycle without
// regard to the result of the comparison"). A register destination is not
// written when the comparison fails, so a 32-bit one keeps bits 63:32 (as
// on hardware: checked on the host, AMD Zen 4, and documented for Intel
// cores); on success rAX is not written and keeps its upper bits.
template <unsigned N>
void cmpxchg(Cpu& cpu, const Insn& in) {
  const uint64_t dest = read_dest<N>(cpu, in, 0);
  const uint64_t src = read_operand<N>(cpu, in, 1);
  const uint64_t acc = cpu.get_reg(RAX, N);
  if (acc == dest) {
    write_operand<N>(cpu, in, 0, src);
  } else {
    if (is_mem(in, 0)) write_operand<N>(cpu, in, 0, dest);
    cpu.set_reg(RAX, N, dest);
  }
  set_arith_flags(cpu, sub_flags<N>(acc, dest, acc - dest, 0));
}

// SDM CMPXCHG8B/16B: only ZF is written; CF, PF, AF, SF, OF keep their value.
void set_zf(Cpu& cpu, bool v) { cpu.set_flag(fl::ZF, v); }

// EDX:EAX == m64 ? m64 := ECX:EBX, ZF = 1 : EDX:EAX := m64, ZF = 0; the
// memory operand is written in both cases.
void cmpxchg8b(Cpu& cpu, const Insn& in) {
  const uint64_t off = effective_address(cpu, in);
  const uint64_t old = cpu.read_rmw(in.seg, off, 8);
  const uint64_t expected = (cpu.get_reg(RDX, 4) << 32) | cpu.get_reg(RAX, 4);
  if (old == expected) {
    cpu.write(in.seg, off, 8, (cpu.get_reg(RCX, 4) << 32) | cpu.get_reg(RBX, 4));
    set_zf(cpu, true);
  } else {
    cpu.write(in.seg, off, 8, old);
    cpu.set_reg(RDX, 4, old >> 32);
    cpu.set_reg(RAX, 4, old & 0xffffffff);
    set_zf(cpu, false);
  }
}

// The 16-byte access of CMPXCHG16B: one linear address, 16-byte aligned or
// #GP(0) (SDM CMPXCHG16B: "#GP(0) If the memory operand ... is not aligned
// on a 16-byte boundary"), probed for writing as a whole before it is read,
// so any #PF comes before any change. An aligned 16-byte access never
// crosses a page.
struct Lin16 {
  uint64_t lin;
  bool user;
};

Lin16 locate16(Cpu& cpu, const Insn& in) {
  const uint64_t lin = cpu.linear(in.seg, effective_address(cpu, in), 16, Acc::Write);
  if (lin & 15) cpu.raise_gp0();
  const bool user = cpu.user_access();
  cpu.probe_write_lin(lin, 16, user);
  return {lin, user};
}

// RDX:RAX == m128 ? m128 := RCX:RBX, ZF = 1 : RDX:RAX := m128, ZF = 0; the
// memory operand is written in both cases.
void cmpxchg16b(Cpu& cpu, const Insn& in) {
  const Lin16 m = locate16(cpu, in);
  const uint64_t lo = cpu.read_lin(m.lin, 8, Acc::Read, m.user);
  const uint64_t hi = cpu.read_lin(m.lin + 8, 8, Acc::Read, m.user);
  const bool equal = lo == cpu.s.gpr[RAX] && hi == cpu.s.gpr[RDX];
  cpu.write_lin(m.lin, 8, equal ? cpu.s.gpr[RBX] : lo, m.user);
  cpu.write_lin(m.lin + 8, 8, equal ? cpu.s.gpr[RCX] : hi, m.user);
  if (!equal) {
    cpu.s.gpr[RAX] = lo;
    cpu.s.gpr[RDX] = hi;
  }
  set_zf(cpu, equal);
}

// CMPXCHG8B/16B exist only with a memory operand (the decoder rejects the
// register forms; this keeps the handlers safe on their own).
Handler select_cmpxchg8b(const Insn& in) { return in.mem_op == 0 ? cmpxchg8b : nullptr; }
Handler select_cmpxchg16b(const Insn& in) { return in.mem_op == 0 ? cmpxchg16b : nullptr; }

constexpr uint32_t NONE = 0;
constexpr uint32_t ARITH = uint32_t(fl::ARITH);
constexpr uint32_t ZF = uint32_t(fl::ZF);

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_XADD, SOFTVT_SIZED(xadd), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPXCHG, SOFTVT_SIZED(cmpxchg), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPXCHG8B, select_cmpxchg8b, ZF, NONE, Feature::Cx8, 0},
    {ZYDIS_MNEMONIC_CMPXCHG16B, select_cmpxchg16b, ZF, NONE, Feature::Cx16, 0},
};

}  // namespace

std::span<const InsnRow> rows_atomic() { return kRows; }

}  // namespace softvt
