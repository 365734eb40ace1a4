// Shared pieces of the SSE/SSE2 floating-point handlers (sse_*.cpp): XMM
// register and 128-bit memory operand access with the legacy-SSE alignment
// rule, and FpStatus, which applies the guest's MXCSR exception rules to
// the per-lane flags the host SSE unit reported (emu/fpu/sse_host.h).
// Private to the sse_* files; the MMX/SSE integer group has its own
// operand helpers (the lead unifies them).
#pragma once
#include <cstdint>
#include <cstring>

#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/fpu/sse_host.h"
#include "emu/fpu_state.h"
#include "emu/interp/operands.h"
#include "emu/interp/simd_operands.h"

namespace softvt::sse {

// A 128-bit value as lanes.
struct Vec {
  uint8_t b[16];
  uint32_t u32(unsigned i) const { uint32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
  uint64_t u64(unsigned i) const { uint64_t v; std::memcpy(&v, b + 8 * i, 8); return v; }
  void set32(unsigned i, uint32_t v) { std::memcpy(b + 4 * i, &v, 4); }
  void set64(unsigned i, uint64_t v) { std::memcpy(b + 8 * i, &v, 8); }
};

inline unsigned xmm_of(const Insn& in, unsigned i) { return unsigned(in.op[i].reg - reg::XMM0) & 15; }
inline unsigned mm_of(const Insn& in, unsigned i) { return unsigned(in.op[i].reg - reg::MM0) & 7; }
inline bool is_xmm(const Insn& in, unsigned i) {
  return in.op[i].kind == OpKind::Reg && in.op[i].reg >= reg::XMM0 && in.op[i].reg < reg::XMM0 + 32;
}
inline bool is_mm(const Insn& in, unsigned i) {
  return in.op[i].kind == OpKind::Reg && in.op[i].reg >= reg::MM0 && in.op[i].reg < reg::MM0 + 8;
}

inline Vec get_xmm(Cpu& cpu, unsigned n) {
  Vec v;
  std::memcpy(v.b, xmm_bytes(cpu, n), 16);
  return v;
}
inline void set_xmm(Cpu& cpu, unsigned n, const Vec& v) { std::memcpy(xmm_bytes(cpu, n), v.b, 16); }

// ---- memory ---------------------------------------------------------------

// Linear address of the instruction's memory operand covering `size`
// bytes (segment limit and canonical checks), and, when `align` is nonzero,
// the legacy-SSE alignment rule: a misaligned operand raises #GP(0) in
// every segment (SDM Vol. 2 MOVAPS "Exceptions": #GP(0) if a memory operand
// is not aligned on a 16-byte boundary, regardless of segment).
inline uint64_t mem_linear(Cpu& cpu, const Insn& in, unsigned size, Acc acc, unsigned align) {
  const uint64_t lin = cpu.linear(in.seg, effective_address(cpu, in), size, acc);
  if (align && (lin & (align - 1))) cpu.raise_gp0();
  return lin;
}

// The linear address `k` bytes further, wrapping at 4 GiB outside IA-32e
// mode as the hardware's linear address does.
inline uint64_t lin_plus(const Cpu& cpu, uint64_t lin, uint64_t k) {
  const uint64_t n = lin + k;
  return (cpu.s.efer & efer::LMA) ? n : (n & 0xffffffffull);
}

inline Vec read_m128(Cpu& cpu, const Insn& in, bool aligned) {
  const uint64_t lin = mem_linear(cpu, in, 16, Acc::Read, aligned ? 16 : 0);
  Vec v;
  v.set64(0, cpu.read_lin(lin, 8, Acc::Read, cpu.user_access()));
  v.set64(1, cpu.read_lin(lin_plus(cpu, lin, 8), 8, Acc::Read, cpu.user_access()));
  return v;
}

// Both halves are checked for writing before either is written, so a
// fault leaves memory unchanged.
inline void write_m128(Cpu& cpu, const Insn& in, const Vec& v, bool aligned) {
  const uint64_t lin = mem_linear(cpu, in, 16, Acc::Write, aligned ? 16 : 0);
  const uint64_t hi = lin_plus(cpu, lin, 8);
  cpu.probe_write_lin(lin, 8, cpu.user_access());
  cpu.probe_write_lin(hi, 8, cpu.user_access());
  cpu.write_lin(lin, 8, v.u64(0), cpu.user_access());
  cpu.write_lin(hi, 8, v.u64(1), cpu.user_access());
}

// A 128-bit source operand: an XMM register or an m128 that must be
// 16-byte aligned (all legacy-SSE packed operands except MOVUPS/MOVUPD).
inline Vec read_src128(Cpu& cpu, const Insn& in, unsigned i, bool aligned = true) {
  if (is_mem(in, i)) return read_m128(cpu, in, aligned);
  return get_xmm(cpu, xmm_of(in, i));
}

// A scalar source of `bytes` (4 or 8): the low lane of an XMM register or
// an unaligned memory operand of that size.
inline uint64_t read_scalar(Cpu& cpu, const Insn& in, unsigned i, unsigned bytes) {
  if (is_mem(in, i)) return cpu.read(in.seg, effective_address(cpu, in), bytes);
  const Vec v = get_xmm(cpu, xmm_of(in, i));
  return bytes == 8 ? v.u64(0) : v.u32(0);
}

// A 64-bit source that is an XMM register's low half or an m64 (the
// CVTPS2PD/CVTDQ2PD/CVTPS2PI forms).
inline Vec read_src64_as_vec(Cpu& cpu, const Insn& in, unsigned i) {
  Vec v{};
  v.set64(0, read_scalar(cpu, in, i, 8));
  return v;
}

// ---- SIMD floating-point exceptions ---------------------------------------

// #XM when CR4.OSXMMEXCPT is set, #UD otherwise (SDM Vol. 1 11.5.4, Vol. 3A
// 2.5 CR4.OSXMMEXCPT).
[[noreturn]] inline void raise_simd_fp(Cpu& cpu) {
  if (cpu.s.cr4 & cr4::OSXMMEXCPT) cpu.raise(vec::XM);
  cpu.raise_ud();
}

// Collects the lanes of one instruction and decides, before anything is
// written, whether it completes or raises #XM (SDM Vol. 1 11.5.1, 11.5.3):
//  1. pre-computation exceptions (IE, DE, ZE) of every lane are checked
//     first; if any of them is unmasked, the flags of all pre-computation
//     exceptions (masked or not) are set, #XM is raised, and no
//     post-computation exception is reported;
//  2. otherwise, if any post-computation exception (OE, UE, PE) is
//     unmasked, the pre-computation flags and the post-computation flags
//     are set and #XM is raised; an unmasked overflow or underflow reports
//     PE only if rounding with an unbounded exponent was inexact
//     (11.5.2.4, 11.5.2.5), and an unmasked underflow is a tiny result
//     whether exact or not;
//  3. otherwise every lane's flags are ORed into MXCSR and the results are
//     committed.
// The host ran every lane masked (sse_host.h control_for), so masked lanes
// already carry the masked responses.
class FpStatus {
 public:
  explicit FpStatus(const Cpu& cpu) : mx_(get_mxcsr(cpu)), ctl_(ssehost::control_for(mx_)) {}
  uint32_t control() const { return ctl_; }
  uint32_t guest_mxcsr() const { return mx_; }

  // A lane whose operation cannot overflow or underflow.
  void lane(uint32_t flags) { add(flags, flags & kPost); }

  // A lane of ADD/SUB/MUL/DIV: overflow/underflow follow the unmasked
  // rules when their masks are clear. `result_denormal` is whether the
  // masked host result was a nonzero denormal (an exact tiny result).
  template <typename InexactFn>
  void lane_arith(uint32_t flags, bool result_denormal, InexactFn inexact_unbounded) {
    uint32_t post = flags & kPost;
    const bool tiny = (flags & mxcsr::UE) || result_denormal;
    if (unmasked(mxcsr::UE) && tiny) post = mxcsr::UE | (inexact_unbounded() ? mxcsr::PE : 0);
    else if (unmasked(mxcsr::OE) && (flags & mxcsr::OE))
      post = mxcsr::OE | (inexact_unbounded() ? mxcsr::PE : 0);
    add(flags, post);
  }

  // Raises #XM/#UD for an unmasked exception (setting the flags the
  // manual defines); otherwise records the flags. Call after every memory
  // access that can fault and before writing any result.
  void finish(Cpu& cpu) const {
    const uint32_t unm = ~(mx_ >> mxcsr::MASK_SHIFT) & mxcsr::FLAGS;
    if (pre_ & unm) {
      set_mxcsr(cpu, mx_ | pre_);
      raise_simd_fp(cpu);
    }
    if (post_ & unm) {
      set_mxcsr(cpu, mx_ | pre_ | post_);
      raise_simd_fp(cpu);
    }
    set_mxcsr(cpu, mx_ | all_);
  }

 private:
  static constexpr uint32_t kPre = mxcsr::IE | mxcsr::DE | mxcsr::ZE;
  static constexpr uint32_t kPost = mxcsr::OE | mxcsr::UE | mxcsr::PE;
  bool unmasked(uint32_t flag) const { return !(mx_ & (flag << mxcsr::MASK_SHIFT)); }
  void add(uint32_t flags, uint32_t post) {
    pre_ |= flags & kPre;
    post_ |= post;
    all_ |= flags;
  }
  uint32_t mx_, ctl_;
  uint32_t pre_ = 0, post_ = 0, all_ = 0;
};

// The x87-to-MMX transition of the instructions with an MMX register
// operand (SDM Vol. 2 CVTPI2PS etc.; Vol. 1 9.5) is softvt::mmx_transition
// (emu/interp/simd_operands.h): TOP = 0 and every register tagged valid,
// the registers keeping their physical numbers. (A copy here that cleared
// TOP alone renamed the registers - found by the differential fuzzer.)

// A pending unmasked x87 exception (FSW.ES) is taken as #MF before an
// instruction with an MMX register operand (SDM Vol. 2 CVTPI2PS
// "Exceptions": #MF if there is a pending x87 FPU exception).
inline void check_x87_pending(Cpu& cpu) {
  if (fx_load<uint16_t>(cpu, fxs::FSW) & 0x80) cpu.raise(vec::MF);
}

// MMX register n after the transition (TOP = 0: MMn is ST(n)); a write
// sets bits 64-79 of the x87 register to all ones (SDM Vol. 1 9.5.1).
inline uint64_t get_mm(Cpu& cpu, unsigned n) {
  uint64_t v;
  std::memcpy(&v, mmx_bytes(cpu, n), 8);
  return v;
}
inline void set_mm(Cpu& cpu, unsigned n, uint64_t v) {
  uint8_t* p = mmx_bytes(cpu, n);
  std::memcpy(p, &v, 8);
  p[8] = p[9] = 0xff;
}

}  // namespace softvt::sse
