// One SSE/SSE2 floating-point operation executed on the host's SSE unit
// (docs/decisions.md "x87 and SSE arithmetic"): the host MXCSR is loaded
// with the guest's rounding control, DAZ and FTZ and with every exception
// masked, the one host instruction runs, and the status flags it raised
// come back to the caller, which applies the guest's unmasked-exception
// rules (emu/interp/sse_common.h). Values travel as raw bit patterns.
//
// Each function is scalar: a packed guest instruction runs one call per
// lane, so the caller sees each lane's flags (SDM Vol. 1 11.5.1 orders
// exceptions by lane and by pre-/post-computation class).
#pragma once
#include <cstdint>

namespace softvt::ssehost {

// The host MXCSR for a guest operation: the guest's RC and DAZ, all six
// exceptions masked, flags clear, and FZ only when the guest has FZ set
// *and* underflow masked (SDM Vol. 1 10.2.3.3: flush-to-zero is in effect
// only with UM = 1; with UM = 0 a tiny result must stay visible so the
// caller can raise #U).
uint32_t control_for(uint32_t guest_mxcsr);

enum class Arith : uint8_t { Add, Sub, Mul, Div, Min, Max, Sqrt, Rcp, Rsqrt };

// a op b (Sqrt/Rcp/Rsqrt use b only, like the instructions' source).
// `flags` receives the MXCSR flag bits (bits 0-5) the host raised.
uint32_t arith_ss(Arith op, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags);
uint64_t arith_sd(Arith op, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags);

// CMPSS/CMPSD with predicate 0-7: all ones or zero.
uint32_t cmp_ss(unsigned pred, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags);
uint64_t cmp_sd(unsigned pred, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags);

// COMISS/UCOMISS/COMISD/UCOMISD: the ZF, PF and CF bits (RFLAGS layout)
// the host set.
uint32_t comi_ss(bool unordered_quiet, uint32_t a, uint32_t b, uint32_t ctl, uint32_t& flags);
uint32_t comi_sd(bool unordered_quiet, uint64_t a, uint64_t b, uint32_t ctl, uint32_t& flags);

// Floating point to signed integer of `bytes` (4 or 8), rounding per RC or
// truncating; out-of-range and NaN give the integer indefinite.
uint64_t cvt_ss2si(uint32_t a, unsigned bytes, bool truncate, uint32_t ctl, uint32_t& flags);
uint64_t cvt_sd2si(uint64_t a, unsigned bytes, bool truncate, uint32_t ctl, uint32_t& flags);
// Signed integer (32 or 64 bits, per `bytes`) to floating point.
uint32_t cvt_si2ss(uint64_t v, unsigned bytes, uint32_t ctl, uint32_t& flags);
uint64_t cvt_si2sd(uint64_t v, unsigned bytes, uint32_t ctl, uint32_t& flags);
uint64_t cvt_ss2sd(uint32_t a, uint32_t ctl, uint32_t& flags);
uint32_t cvt_sd2ss(uint64_t a, uint32_t ctl, uint32_t& flags);

// Whether a op b, rounded to the destination's precision with an
// unbounded exponent, is inexact: the PE flag an *unmasked* overflow or
// underflow reports (SDM Vol. 1 11.5.2.4/11.5.2.5: the destination is left
// unchanged and PE is set only if the rounding lost accuracy). Computed in
// a wider format (double for single operands, x87 extended for double
// operands) where the exact result's representability can be read off the
// significand. Only Add/Sub/Mul/Div can overflow or underflow.
bool inexact_unbounded_ss(Arith op, uint32_t a, uint32_t b, uint32_t ctl);
bool inexact_unbounded_sd(Arith op, uint64_t a, uint64_t b, uint32_t ctl);
// The same for CVTSD2SS of `a`.
bool inexact_unbounded_sd2ss(uint64_t a, uint32_t ctl);

// Bit-pattern classification used by the callers.
inline bool is_denormal_ss(uint32_t v) { return (v & 0x7f800000u) == 0 && (v & 0x7fffffu) != 0; }
inline bool is_denormal_sd(uint64_t v) {
  return (v & 0x7ff0000000000000ull) == 0 && (v & 0xfffffffffffffull) != 0;
}

}  // namespace softvt::ssehost
