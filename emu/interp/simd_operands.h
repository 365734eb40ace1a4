// Operand access for the MMX and SSE instruction groups (emu/interp/simd_*.cpp
// and the SSE floating-point groups): register and memory operands of 4, 8
// and 16 bytes, the 16-byte alignment rule of legacy-SSE memory operands,
// the checks every MMX/SSE instruction starts with, and the x87 state change
// an MMX instruction makes.
//
// Order of events in a handler (so that a fault leaves the state as the SDM
// says, docs/decisions.md "Faults are C++ exceptions"):
//   1. mmx_enter() / sse_enter(): #UD, #NM (and #MF for MMX) before anything
//      else (SDM Vol. 3A Table 2-2, 12.5, 13.1 Table 13-1, and the
//      "Exceptions" section of each instruction in Vol. 2);
//   2. reads of the operands (memory faults: the alignment #GP(0), #GP/#SS
//      for limits, #PF);
//   3. a memory destination is written last, as the only state change
//      (simd_write_at checks every page before it stores a byte);
//   4. commit: write the destination register; an instruction that names an
//      MMX register then calls mmx_transition() (or write_mmx, which does).
#pragma once
#include <cstdint>
#include <cstring>

#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/fpu/x87_state.h"
#include "emu/fpu_state.h"
#include "emu/interp/operands.h"

namespace softvt {

// A SIMD value of up to 16 bytes, lanes little-endian as in the registers.
// The bytes past an operand's size are zero.
struct SimdVec {
  alignas(16) uint8_t b[16];

  template <typename T>
  T get(unsigned lane) const {
    T v;
    std::memcpy(&v, b + lane * sizeof(T), sizeof(T));
    return v;
  }
  template <typename T>
  void set(unsigned lane, T v) {
    std::memcpy(b + lane * sizeof(T), &v, sizeof(T));
  }
  uint64_t q(unsigned i) const { return get<uint64_t>(i); }
  void set_q(unsigned i, uint64_t v) { set<uint64_t>(i, v); }
};

inline SimdVec zero_vec() {
  SimdVec v;
  std::memset(v.b, 0, sizeof v.b);
  return v;
}

// ---- register classes (decoder/insn.h reg:: numbers) ---------------------
inline bool is_xmm_reg(uint8_t r) { return r >= reg::XMM0 && r < reg::XMM0 + 16; }
inline bool is_mmx_reg(uint8_t r) { return r >= reg::MM0 && r < reg::MM0 + 8; }
inline bool is_gpr_reg(uint8_t r) { return r < 16; }
// Operand i is an XMM / MMX register.
inline bool op_is_xmm(const Insn& in, unsigned i) {
  return in.op[i].kind == OpKind::Reg && is_xmm_reg(in.op[i].reg);
}
inline bool op_is_mmx(const Insn& in, unsigned i) {
  return in.op[i].kind == OpKind::Reg && is_mmx_reg(in.op[i].reg);
}

// ---- the checks an instruction starts with -------------------------------
// A pending unmasked x87 exception - an exception flag of FSW set whose FCW
// mask bit is clear (SDM Vol. 1 8.1.3.3, 8.6) - is reported as #MF before an
// MMX instruction executes (SDM Vol. 3A 12.5.1; Vol. 2 "Exceptions" of each
// MMX instruction: "#MF If there is a pending x87 FPU exception"), the rule the
// waiting x87 instructions follow, including the FERR#/IGNNE# freeze with
// CR0.NE clear (emu/fpu/x87_state.h check_pending; SDM Vol. 1 8.7.2 lists
// MMX instructions among those that freeze).
inline void mmx_check_pending_x87(Cpu& cpu) { x87::check_pending(cpu); }

// An instruction that names an MMX register (the MMX instructions, their SSE
// additions such as PAVGB mm, and MOVQ2DQ/MOVDQ2Q after their SSE check):
// #UD if CR0.EM, #NM if CR0.TS, then #MF for a pending x87 exception. The
// MMX-register forms of the SSE additions do not depend on CR4.OSFXSR: the
// SDM's exception tables for legacy SIMD instructions on MMX registers
// (Vol. 3, "Architecture Compatibility", exception conditions of legacy SIMD
// instructions operating on MMX registers) list #UD for CR0.EM only; the
// OSFXSR rule of Vol. 3A 13.1 is for instructions on XMM registers.
inline void mmx_enter(Cpu& cpu) {
  check_mmx_available(cpu);
  mmx_check_pending_x87(cpu);
}
// An SSE/SSE2 instruction on XMM registers: #UD if CR0.EM or !CR4.OSFXSR,
// #NM if CR0.TS (SDM Vol. 3A 13.1 Table 13-1).
inline void sse_enter(Cpu& cpu) { check_sse_available(cpu); }

// The x87 state after any MMX instruction other than EMMS: TOP = 0 and every
// register tagged valid (abridged tag byte 0xff); the other x87 fields keep
// their values (SDM Vol. 1 9.5.1; Vol. 3A 12.2, "Effects of MMX Instructions
// on x87 FPU State"). The registers keep their contents by physical number:
// the FXSAVE image holds them in stack order (slot i = ST(i) = physical
// (TOP + i) mod 8), so a TOP that was not 0 rotates the slots until slot i
// is physical register i.
inline void mmx_transition(Cpu& cpu) {
  const unsigned top = x87_top(cpu);
  if (top != 0) {
    uint8_t phys[8][16];
    for (unsigned st = 0; st < 8; ++st) std::memcpy(phys[(top + st) & 7], x87_slot(cpu, st), 16);
    for (unsigned n = 0; n < 8; ++n) std::memcpy(x87_slot(cpu, n), phys[n], 16);
    const uint16_t fsw = fx_load<uint16_t>(cpu, fxs::FSW);
    fx_store<uint16_t>(cpu, fxs::FSW, uint16_t(fsw & ~(7u << 11)));
  }
  fx_store<uint8_t>(cpu, fxs::FTW, 0xff);
}
// EMMS: every register tagged empty and TOP = 0 (SDM Vol. 1 Table 9-1,
// "Effects of MMX Instructions on x87 FPU State": EMMS row, TOP 000B; the
// host CPU agrees - found by the differential fuzzer), registers kept by
// physical number as for the other MMX instructions.
inline void mmx_empty_tags(Cpu& cpu) {
  mmx_transition(cpu);
  fx_store<uint8_t>(cpu, fxs::FTW, 0x00);
}

// ---- registers -----------------------------------------------------------
// MMn, n = 0..7: the significand of physical x87 register n (emu/fpu_state.h
// mmx_bytes).
inline uint64_t read_mmx(Cpu& cpu, unsigned n) {
  uint64_t v;
  std::memcpy(&v, mmx_bytes(cpu, n & 7), 8);
  return v;
}
// Writes MMn and makes the MMX transition: the x87 register's bits 64-79
// (sign and exponent) become all ones (SDM Vol. 1 9.5.1: "When an MMX
// instruction writes a value into an MMX register, ... bits 64 through 79
// ... are set to all 1s").
inline void write_mmx(Cpu& cpu, unsigned n, uint64_t v) {
  mmx_transition(cpu);
  uint8_t* p = mmx_bytes(cpu, n & 7);  // TOP is 0 now: physical register n
  std::memcpy(p, &v, 8);
  p[8] = 0xff;
  p[9] = 0xff;
}
inline SimdVec read_xmm(Cpu& cpu, unsigned n) {
  SimdVec v;
  std::memcpy(v.b, xmm_bytes(cpu, n & 15), 16);
  return v;
}
inline void write_xmm(Cpu& cpu, unsigned n, const SimdVec& v) { std::memcpy(xmm_bytes(cpu, n & 15), v.b, 16); }
inline void write_xmm_low64(Cpu& cpu, unsigned n, uint64_t lo) {
  SimdVec v = zero_vec();
  v.set_q(0, lo);
  write_xmm(cpu, n, v);  // zero-extended to 128 bits
}

// ---- memory --------------------------------------------------------------
// Legacy-SSE memory operands of 16 bytes must be 16-byte aligned except in
// the instructions that say otherwise (MOVDQU, MOVUPS, MOVUPD, LDDQU,
// MASKMOVDQU's implicit operand): #GP(0) (SDM Vol. 1 11.4.1 / 11.6.7 ... "a
// general-protection exception (#GP) ... if a 128-bit memory operand is not
// aligned on a 16-byte boundary"; Vol. 2 "Exceptions" of each instruction,
// "#GP(0) If a memory operand is not aligned on a 16-byte boundary,
// regardless of segment"). The alignment is that of the linear address, and
// its #GP(0) comes before the segment checks: the reference host (Zen 4)
// answers a misaligned operand beyond the SS limit with #GP(0), not #SS(0)
// (tests/unit/test_simd_int.cpp, real16 cases).
enum class Align : uint8_t { None, Require16 };

// segment base + offset without any check (the linear address the
// alignment rule looks at; linear() does the checks).
inline uint64_t unchecked_linear(const Cpu& cpu, uint8_t seg, uint64_t offset) {
  if (cpu.in_64bit()) return offset + ((seg == FS || seg == GS) ? cpu.s.seg[seg].base : 0);
  return (cpu.s.seg[seg].base + offset) & 0xffffffffull;
}

// Linear address of the instruction's memory operand for an access of
// `size` bytes, with the alignment rule and the segment checks.
inline uint64_t simd_linear(Cpu& cpu, const Insn& in, uint64_t offset, unsigned size, Acc acc, Align align) {
  if (align == Align::Require16 && size == 16 && (unchecked_linear(cpu, in.seg, offset) & 15)) cpu.raise_gp0();
  return cpu.linear(in.seg, offset, size, acc);
}

// The linear address of the second 8-byte half of a 16-byte access (32-bit
// linear addresses wrap at 4 GiB outside 64-bit mode).
inline uint64_t simd_next8(const Cpu& cpu, uint64_t lin) {
  return cpu.in_64bit() ? lin + 8 : (lin + 8) & 0xffffffffull;
}

// Reads `size` (4, 8 or 16) bytes at segment offset `offset`.
inline SimdVec simd_read_at(Cpu& cpu, const Insn& in, uint64_t offset, unsigned size, Align align) {
  SimdVec v = zero_vec();
  const uint64_t lin = simd_linear(cpu, in, offset, size, Acc::Read, align);
  const bool user = cpu.user_access();
  if (size <= 8) {
    v.set_q(0, cpu.read_lin(lin, size, Acc::Read, user));
  } else {
    v.set_q(0, cpu.read_lin(lin, 8, Acc::Read, user));
    v.set_q(1, cpu.read_lin(simd_next8(cpu, lin), 8, Acc::Read, user));
  }
  return v;
}

// Writes the low `size` bytes of v at segment offset `offset`; every page
// is checked for writing before the first byte changes.
inline void simd_write_at(Cpu& cpu, const Insn& in, uint64_t offset, unsigned size, const SimdVec& v, Align align) {
  const uint64_t lin = simd_linear(cpu, in, offset, size, Acc::Write, align);
  const bool user = cpu.user_access();
  if (size <= 8) {
    cpu.write_lin(lin, size, v.q(0), user);
    return;
  }
  const uint64_t hi = simd_next8(cpu, lin);
  cpu.probe_write_lin(lin, 8, user);
  cpu.probe_write_lin(hi, 8, user);
  cpu.write_lin(lin, 8, v.q(0), user);
  cpu.write_lin(hi, 8, v.q(1), user);
}

// Operand i as a SIMD value: an XMM or MMX register, a GPR (zero-extended),
// or memory of the operand's decoded size. `align` applies to 16-byte
// memory operands only.
inline SimdVec read_simd(Cpu& cpu, const Insn& in, unsigned i, Align align) {
  const Operand& o = in.op[i];
  if (o.kind == OpKind::Mem) return simd_read_at(cpu, in, effective_address(cpu, in), o.size, align);
  SimdVec v = zero_vec();
  if (o.kind == OpKind::Reg) {
    if (is_xmm_reg(o.reg)) return read_xmm(cpu, o.reg - reg::XMM0);
    if (is_mmx_reg(o.reg)) v.set_q(0, read_mmx(cpu, o.reg - reg::MM0));
    else v.set_q(0, cpu.get_reg(o.reg, o.size));
  } else if (o.kind == OpKind::Imm) {
    v.set_q(0, in.imm & mask_of(o.size));  // imm8 counts and selectors
  }
  return v;
}

// Writes operand i. A memory operand receives its decoded size; an XMM
// register all 16 bytes of v; an MMX register the low 8 (with the MMX
// transition); a GPR the operand's size (a 32-bit write zero-extends).
inline void write_simd(Cpu& cpu, const Insn& in, unsigned i, const SimdVec& v, Align align) {
  const Operand& o = in.op[i];
  if (o.kind == OpKind::Mem) {
    simd_write_at(cpu, in, effective_address(cpu, in), o.size, v, align);
  } else if (is_xmm_reg(o.reg)) {
    write_xmm(cpu, o.reg - reg::XMM0, v);
  } else if (is_mmx_reg(o.reg)) {
    write_mmx(cpu, o.reg - reg::MM0, v.q(0));
  } else {
    cpu.set_reg(o.reg, o.size, v.q(0));
  }
}

}  // namespace softvt
