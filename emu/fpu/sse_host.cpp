// Host execution of single SSE/SSE2 floating-point operations (see
// sse_host.h). Each operation is one inline-assembly block that saves the
// host MXCSR, loads the guest-derived control word, runs the instruction,
// reads the flags and restores the host MXCSR, so the compiler cannot move
// the arithmetic outside the bracket.
#include "emu/fpu/sse_host.h"

#include <immintrin.h>

#include <bit>
#include <cstring>

namespace softvt::ssehost {
namespace {

constexpr uint32_t kFlags = 0x3f;
constexpr uint32_t kMasks = 0x3f << 7;
constexpr uint32_t kRc = 3u << 13;
constexpr uint32_t kDaz = 1u << 6;
constexpr uint32_t kFz = 1u << 15;
constexpr uint32_t kUm = 1u << 11;

__m128i vss(uint32_t v) { return _mm_cvtsi32_si128(int(v)); }
__m128i vsd(uint64_t v) { return _mm_cvtsi64_si128((long long)v); }
uint32_t lo32(__m128i v) { return uint32_t(_mm_cvtsi128_si32(v)); }
uint64_t lo64(__m128i v) { return uint64_t(_mm_cvtsi128_si64(v)); }

// "INSN b, a" in AT&T order = Intel "INSN a, b": a := a op b.
#define SOFTVT_SSE_BINOP(fname, insn)                                              \
  __m128i fname(__m128i a, __m128i b, uint32_t ctl, uint32_t& flags) {             \
    uint32_t saved, st;                                                            \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\t" insn " %[b], %[a]\n\t"   \
                 "stmxcsr %[st]\n\tldmxcsr %[saved]"                               \
                 : [a] "+x"(a), [saved] "=m"(saved), [st] "=m"(st)                 \
                 : [b] "x"(b), [ctl] "m"(ctl));                                    \
    flags = st & kFlags;                                                           \
    return a;                                                                      \
  }

SOFTVT_SSE_BINOP(h_addss, "addss")
SOFTVT_SSE_BINOP(h_subss, "subss")
SOFTVT_SSE_BINOP(h_mulss, "mulss")
SOFTVT_SSE_BINOP(h_divss, "divss")
SOFTVT_SSE_BINOP(h_minss, "minss")
SOFTVT_SSE_BINOP(h_maxss, "maxss")
SOFTVT_SSE_BINOP(h_sqrtss, "sqrtss")
SOFTVT_SSE_BINOP(h_rcpss, "rcpss")
SOFTVT_SSE_BINOP(h_rsqrtss, "rsqrtss")
SOFTVT_SSE_BINOP(h_addsd, "addsd")
SOFTVT_SSE_BINOP(h_subsd, "subsd")
SOFTVT_SSE_BINOP(h_mulsd, "mulsd")
SOFTVT_SSE_BINOP(h_divsd, "divsd")
SOFTVT_SSE_BINOP(h_minsd, "minsd")
SOFTVT_SSE_BINOP(h_maxsd, "maxsd")
SOFTVT_SSE_BINOP(h_sqrtsd, "sqrtsd")
SOFTVT_SSE_BINOP(h_cvtss2sd, "cvtss2sd")
SOFTVT_SSE_BINOP(h_cvtsd2ss, "cvtsd2ss")
#undef SOFTVT_SSE_BINOP

template <unsigned P>
__m128i h_cmpss(__m128i a, __m128i b, uint32_t ctl, uint32_t& flags) {
  uint32_t saved, st;
  asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\tcmpss %[p], %[b], %[a]\n\t"
               "stmxcsr %[st]\n\tldmxcsr %[saved]"
               : [a] "+x"(a), [saved] "=m"(saved), [st] "=m"(st)
               : [b] "x"(b), [ctl] "m"(ctl), [p] "i"(P));
  flags = st & kFlags;
  return a;
}
template <unsigned P>
__m128i h_cmpsd(__m128i a, __m128i b, uint32_t ctl, uint32_t& flags) {
  uint32_t saved, st;
  asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\tcmpsd %[p], %[b], %[a]\n\t"
               "stmxcsr %[st]\n\tldmxcsr %[saved]"
               : [a] "+x"(a), [saved] "=m"(saved), [st] "=m"(st)
               : [b] "x"(b), [ctl] "m"(ctl), [p] "i"(P));
  flags = st & kFlags;
  return a;
}

using CmpFn = __m128i (*)(__m128i, __m128i, uint32_t, uint32_t&);
constexpr CmpFn kCmpSs[8] = {h_cmpss<0>, h_cmpss<1>, h_cmpss<2>, h_cmpss<3>,
                             h_cmpss<4>, h_cmpss<5>, h_cmpss<6>, h_cmpss<7>};
constexpr CmpFn kCmpSd[8] = {h_cmpsd<0>, h_cmpsd<1>, h_cmpsd<2>, h_cmpsd<3>,
                             h_cmpsd<4>, h_cmpsd<5>, h_cmpsd<6>, h_cmpsd<7>};

#define SOFTVT_SSE_COMI(fname, insn)                                                  \
  uint32_t fname(__m128i a, __m128i b, uint32_t ctl, uint32_t& flags) {               \
    uint32_t saved, st;                                                               \
    uint8_t z, p, c;                                                                  \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\t" insn " %[b], %[a]\n\t"      \
                 "setz %[z]\n\tsetp %[p]\n\tsetc %[c]\n\t"                            \
                 "stmxcsr %[st]\n\tldmxcsr %[saved]"                                  \
                 : [z] "=q"(z), [p] "=q"(p), [c] "=q"(c), [saved] "=m"(saved),        \
                   [st] "=m"(st)                                                      \
                 : [a] "x"(a), [b] "x"(b), [ctl] "m"(ctl)                             \
                 : "cc");                                                             \
    flags = st & kFlags;                                                              \
    return (z ? 0x40u : 0u) | (p ? 0x4u : 0u) | (c ? 0x1u : 0u);                      \
  }
SOFTVT_SSE_COMI(h_comiss, "comiss")
SOFTVT_SSE_COMI(h_ucomiss, "ucomiss")
SOFTVT_SSE_COMI(h_comisd, "comisd")
SOFTVT_SSE_COMI(h_ucomisd, "ucomisd")
#undef SOFTVT_SSE_COMI

// Float to integer: the register operand's width picks the form.
#define SOFTVT_SSE_TOINT(fname, insn, mod)                                         \
  uint64_t fname(__m128i a, uint32_t ctl, uint32_t& flags) {                       \
    uint32_t saved, st;                                                            \
    uint64_t r = 0;                                                                \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\t" insn " %[a], %" mod "[r]\n\t" \
                 "stmxcsr %[st]\n\tldmxcsr %[saved]"                               \
                 : [r] "+r"(r), [saved] "=m"(saved), [st] "=m"(st)                 \
                 : [a] "x"(a), [ctl] "m"(ctl));                                    \
    flags = st & kFlags;                                                           \
    return r;                                                                      \
  }
SOFTVT_SSE_TOINT(h_cvtss2si32, "cvtss2si", "k")
SOFTVT_SSE_TOINT(h_cvtss2si64, "cvtss2si", "q")
SOFTVT_SSE_TOINT(h_cvttss2si32, "cvttss2si", "k")
SOFTVT_SSE_TOINT(h_cvttss2si64, "cvttss2si", "q")
SOFTVT_SSE_TOINT(h_cvtsd2si32, "cvtsd2si", "k")
SOFTVT_SSE_TOINT(h_cvtsd2si64, "cvtsd2si", "q")
SOFTVT_SSE_TOINT(h_cvttsd2si32, "cvttsd2si", "k")
SOFTVT_SSE_TOINT(h_cvttsd2si64, "cvttsd2si", "q")
#undef SOFTVT_SSE_TOINT

#define SOFTVT_SSE_FROMINT(fname, insn, mod)                                       \
  __m128i fname(uint64_t v, uint32_t ctl, uint32_t& flags) {                       \
    uint32_t saved, st;                                                            \
    __m128i a = _mm_setzero_si128();                                               \
    asm volatile("stmxcsr %[saved]\n\tldmxcsr %[ctl]\n\t" insn " %" mod "[v], %[a]\n\t" \
                 "stmxcsr %[st]\n\tldmxcsr %[saved]"                               \
                 : [a] "+x"(a), [saved] "=m"(saved), [st] "=m"(st)                 \
                 : [v] "r"(v), [ctl] "m"(ctl));                                    \
    flags = st & kFlags;                                                           \
    return a;                                                                      \
  }
SOFTVT_SSE_FROMINT(h_cvtsi2ss32, "cvtsi2ssl", "k")
SOFTVT_SSE_FROMINT(h_cvtsi2ss64, "cvtsi2ssq", "q")
SOFTVT_SSE_FROMINT(h_cvtsi2sd32, "cvtsi2sdl", "k")
SOFTVT_SSE_FROMINT(h_cvtsi2sd64, "cvtsi2sdq", "q")
#undef SOFTVT_SSE_FROMINT

using BinFn = __m128i (*)(__m128i, __m128i, uint32_t, uint32_t&);

BinFn pick_ss(Arith op) {
  switch (op) {
    case Arith::Add: return h_addss;
    case Arith::Sub: return h_subss;
    case Arith::Mul: return h_mulss;
    case Arith::Div: return h_divss;
    case Arith::Min: return h_minss;
    case Arith::Max: return h_maxss;
    case Arith::Sqrt: return h_sqrtss;
    case Arith::Rcp: return h_rcpss;
    default: return h_rsqrtss;
  }
}

BinFn pick_sd(Arith op) {
  switch (op) {
    case Arith::Add: return h_addsd;
    case Arith::Sub: return h_subsd;
    case Arith::Mul: return h_mulsd;
    case Arith::Div: return h_divsd;
    case Arith::Min: return h_minsd;
    case Arith::Max: return h_maxsd;
    default: return h_sqrtsd;  // SSE2 has no RCPSD/RSQRTSD
  }
}

// ---- exactness with an unbounded exponent ----------------------------------

// Number of significant bits of a significand (from its highest to its
// lowest set bit).
unsigned significant_bits(uint64_t m) {
  if (m == 0) return 0;
  return unsigned(std::bit_width(m)) - unsigned(std::countr_zero(m));
}

// The significand of a finite double, hidden bit included.
uint64_t double_significand(uint64_t d) {
  const uint64_t frac = d & 0xfffffffffffffull;
  return ((d >> 52) & 0x7ff) ? (frac | (1ull << 52)) : frac;
}

// DAZ treats denormal operands as zero of the same sign (SDM 10.2.3.4).
uint32_t daz_ss(uint32_t v, uint32_t ctl) {
  return (ctl & kDaz) && is_denormal_ss(v) ? (v & 0x80000000u) : v;
}
uint64_t daz_sd(uint64_t v, uint32_t ctl) {
  return (ctl & kDaz) && is_denormal_sd(v) ? (v & 0x8000000000000000ull) : v;
}

uint64_t widen(uint32_t f) {
  double d = double(std::bit_cast<float>(f));  // exact
  return std::bit_cast<uint64_t>(d);
}

// a op b on the host x87 in extended precision (64-bit significand, 15-bit
// exponent: every product, quotient or sum of doubles lies in its normal
// range). Returns the 64-bit significand and whether the x87 rounded.
struct Extended {
  uint64_t significand;
  bool rounded;
};
Extended x87_op(Arith op, double a, double b) {
  uint16_t saved_cw, sw;
  const uint16_t cw = 0x37f;  // all masked, 64-bit precision, nearest
  unsigned char out[10];
  switch (op) {
    case Arith::Add:
      asm volatile("fnstcw %[s]\n\tfldcw %[cw]\n\tfnclex\n\tfldl %[a]\n\tfaddl %[b]\n\t"
                   "fstpt %[o]\n\tfnstsw %[sw]\n\tfldcw %[s]"
                   : [s] "=m"(saved_cw), [o] "=m"(out), [sw] "=m"(sw)
                   : [cw] "m"(cw), [a] "m"(a), [b] "m"(b));
      break;
    case Arith::Sub:
      asm volatile("fnstcw %[s]\n\tfldcw %[cw]\n\tfnclex\n\tfldl %[a]\n\tfsubl %[b]\n\t"
                   "fstpt %[o]\n\tfnstsw %[sw]\n\tfldcw %[s]"
                   : [s] "=m"(saved_cw), [o] "=m"(out), [sw] "=m"(sw)
                   : [cw] "m"(cw), [a] "m"(a), [b] "m"(b));
      break;
    case Arith::Mul:
      asm volatile("fnstcw %[s]\n\tfldcw %[cw]\n\tfnclex\n\tfldl %[a]\n\tfmull %[b]\n\t"
                   "fstpt %[o]\n\tfnstsw %[sw]\n\tfldcw %[s]"
                   : [s] "=m"(saved_cw), [o] "=m"(out), [sw] "=m"(sw)
                   : [cw] "m"(cw), [a] "m"(a), [b] "m"(b));
      break;
    default:
      asm volatile("fnstcw %[s]\n\tfldcw %[cw]\n\tfnclex\n\tfldl %[a]\n\tfdivl %[b]\n\t"
                   "fstpt %[o]\n\tfnstsw %[sw]\n\tfldcw %[s]"
                   : [s] "=m"(saved_cw), [o] "=m"(out), [sw] "=m"(sw)
                   : [cw] "m"(cw), [a] "m"(a), [b] "m"(b));
      break;
  }
  Extended e;
  std::memcpy(&e.significand, out, 8);
  e.rounded = sw & 0x20;  // PE
  return e;
}

}  // namespace

uint32_t control_for(uint32_t guest_mxcsr) {
  uint32_t c = (guest_mxcsr & (kRc | kDaz)) | kMasks;
  if ((guest_mxcsr & kFz) && (guest_mxcsr & kUm)) c |= kFz;
  return c;
}

uint32_t arith_ss(Arith op, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags) {
  return lo32(pick_ss(op)(vss(a), vss(b), ctl, flags));
}
uint64_t arith_sd(Arith op, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags) {
  return lo64(pick_sd(op)(vsd(a), vsd(b), ctl, flags));
}

uint32_t cmp_ss(unsigned pred, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags) {
  return lo32(kCmpSs[pred & 7](vss(a), vss(b), ctl, flags));
}
uint64_t cmp_sd(unsigned pred, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags) {
  return lo64(kCmpSd[pred & 7](vsd(a), vsd(b), ctl, flags));
}

uint32_t comi_ss(bool unordered_quiet, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags) {
  return unordered_quiet ? h_ucomiss(vss(a), vss(b), ctl, flags) : h_comiss(vss(a), vss(b), ctl, flags);
}
uint32_t comi_sd(bool unordered_quiet, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags) {
  return unordered_quiet ? h_ucomisd(vsd(a), vsd(b), ctl, flags) : h_comisd(vsd(a), vsd(b), ctl, flags);
}

uint64_t cvt_ss2si(uint32_t a, unsigned bytes, bool truncate, uint32_t ctl, uint32_t& flags) {
  if (bytes == 8) return truncate ? h_cvttss2si64(vss(a), ctl, flags) : h_cvtss2si64(vss(a), ctl, flags);
  return uint32_t(truncate ? h_cvttss2si32(vss(a), ctl, flags) : h_cvtss2si32(vss(a), ctl, flags));
}
uint64_t cvt_sd2si(uint64_t a, unsigned bytes, bool truncate, uint32_t ctl, uint32_t& flags) {
  if (bytes == 8) return truncate ? h_cvttsd2si64(vsd(a), ctl, flags) : h_cvtsd2si64(vsd(a), ctl, flags);
  return uint32_t(truncate ? h_cvttsd2si32(vsd(a), ctl, flags) : h_cvtsd2si32(vsd(a), ctl, flags));
}
uint32_t cvt_si2ss(uint64_t v, unsigned bytes, uint32_t ctl, uint32_t& flags) {
  return lo32(bytes == 8 ? h_cvtsi2ss64(v, ctl, flags) : h_cvtsi2ss32(v & 0xffffffffu, ctl, flags));
}
uint64_t cvt_si2sd(uint64_t v, unsigned bytes, uint32_t ctl, uint32_t& flags) {
  return lo64(bytes == 8 ? h_cvtsi2sd64(v, ctl, flags) : h_cvtsi2sd32(v & 0xffffffffu, ctl, flags));
}
uint64_t cvt_ss2sd(uint32_t a, uint32_t ctl, uint32_t& flags) {
  return lo64(h_cvtss2sd(_mm_setzero_si128(), vss(a), ctl, flags));
}
uint32_t cvt_sd2ss(uint64_t a, uint32_t ctl, uint32_t& flags) {
  return lo32(h_cvtsd2ss(_mm_setzero_si128(), vsd(a), ctl, flags));
}

bool inexact_unbounded_ss(Arith op, uint32_t a, uint32_t b, uint32_t ctl) {
  // In double every such result is a normal number; the exact result fits
  // a single's 24-bit significand iff the double op was exact and kept no
  // more than 24 significant bits.
  uint32_t fl = 0;
  const uint64_t r = arith_sd(op, widen(daz_ss(a, ctl)), widen(daz_ss(b, ctl)), kMasks, fl);
  return (fl & 0x20) || significant_bits(double_significand(r)) > 24;
}

bool inexact_unbounded_sd(Arith op, uint64_t a, uint64_t b, uint32_t ctl) {
  const Extended e = x87_op(op, std::bit_cast<double>(daz_sd(a, ctl)), std::bit_cast<double>(daz_sd(b, ctl)));
  return e.rounded || significant_bits(e.significand) > 53;
}

bool inexact_unbounded_sd2ss(uint64_t a, uint32_t ctl) {
  return significant_bits(double_significand(daz_sd(a, ctl))) > 24;
}

}  // namespace softvt::ssehost
