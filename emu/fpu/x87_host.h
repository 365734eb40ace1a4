// Runs one x87 instruction on the host's x87 unit (docs/decisions.md "x87
// and SSE arithmetic": the host FPU computes guest results).
//
// The guest's x87 state (the first 160 bytes of its FXSAVE image: FCW, FSW,
// abridged tag, FOP/FIP/FDP and ST0-ST7) is loaded into the host FPU with
// FXRSTOR, the instruction's own two-byte encoding (escape byte D8-DF and
// ModRM) executes there, and FXSAVE brings the state back. So the result,
// the rounding under the guest's precision and rounding control, C0-C3,
// the exception flags, the masked responses (QNaN indefinite, ...), the
// unmasked responses (destination unchanged for #IA/#Z/#D, the biased
// result of an unmasked overflow or underflow, SDM Vol. 1 8.5), stack
// overflow/underflow (SF, C1) and the pushes and pops are the host's,
// which implements the same architecture.
//
// Host safety: the caller passes a status word with no exception flag set
// (so no unmasked exception is pending and the waiting instruction cannot
// trap on the host); after the instruction the harness stores the state
// with the non-waiting FXSAVE and reinitialises the host FPU (FNINIT, then
// the host's own control word), so an exception the guest instruction left
// pending never reaches host code. Only encodings the SDM defines run
// (is_defined_x87_form): an undefined one would be a host SIGILL.
#pragma once
#include <cstddef>
#include <cstdint>

namespace softvt::x87host {

constexpr size_t STATE_BYTES = 160;  // FCW .. ST7 of the FXSAVE image

// True if `escape modrm` (mod = 3: a register form) is an instruction on
// real hardware (SDM Vol. 2 Appendix A.4.2, Tables, plus the
// aliases every x86 CPU executes: FSTP1/8/9, FXCH4/7, FCOM2, FCOMP3/5,
// FFREEP, and the 8087/287 control NOPs FENI, FDISI, FSETPM). Memory forms
// (mod != 3) are defined for every /reg except D9 /1, DB /4, DB /6, DD /5.
bool is_defined_x87_form(uint8_t escape, uint8_t modrm);

// True if the host may execute the form: a defined one whose memory
// operand (if any) fits the 16-byte buffer `execute` gives it, i.e. not
// FLDENV/FNSTENV/FRSTOR/FNSAVE (D9 /4, D9 /6, DD /4, DD /6), which softvt
// performs itself.
bool host_executable(uint8_t escape, uint8_t modrm);

// Executes `escape modrm` on the host (host_executable must hold; other
// forms are refused and leave `state` unchanged). `state` holds the 160-byte x87 part
// of an FXSAVE image (64-bit layout) and is updated in place; FOP, FIP
// and FDP come back as the host left them (the caller sets the guest's).
// A memory form (mod != 3) addresses `mem` (at least 16 bytes) whatever
// its ModRM said. `rflags`: in, the CF/PF/ZF FCMOVcc reads; out, the host's
// arithmetic flags after the instruction (FCOMI/FUCOMI write them).
void execute(uint8_t* state, uint8_t escape, uint8_t modrm, uint8_t* mem, uint64_t& rflags);

}  // namespace softvt::x87host
