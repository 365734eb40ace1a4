// The host side of x87 execution (see x87_host.h): a table of two-byte
// instruction stubs, one per (escape, ModRM) form with the memory forms
// rewritten to address [rdi], and the harness that runs one of them
// between FXRSTOR64 and FXSAVE64.
#include "emu/fpu/x87_host.h"

#include <cstring>

namespace softvt::x87host {

// Stub k = 72 * (escape - 0xD8) + (mod == 3 ? 8 + (modrm & 63) : reg): the
// bytes "escape, modrm', RET, INT3" where a memory form's modrm' is
// mod = 00, rm = 111 ([rdi] in 64-bit mode, no SIB or displacement).
extern "C" const uint8_t softvt_x87_stubs[];
// softvt_x87_run(state512, mem, stub, &rflags).
extern "C" void softvt_x87_run(uint8_t* fx, uint8_t* mem, const uint8_t* stub, uint64_t* rflags);

asm(R"(
  .text
  .balign 16
  .globl softvt_x87_stubs
  .type softvt_x87_stubs, @object
softvt_x87_stubs:
  .irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf
    .irp reg, 0, 1, 2, 3, 4, 5, 6, 7
      .byte \esc, (\reg << 3) | 7, 0xc3, 0xcc
    .endr
    .irp m, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf
      .byte \esc, \m, 0xc3, 0xcc
    .endr
    .irp m, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf
      .byte \esc, \m, 0xc3, 0xcc
    .endr
    .irp m, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef
      .byte \esc, \m, 0xc3, 0xcc
    .endr
    .irp m, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff
      .byte \esc, \m, 0xc3, 0xcc
    .endr
  .endr
  .size softvt_x87_stubs, . - softvt_x87_stubs

  .globl softvt_x87_run
  .type softvt_x87_run, @function
softvt_x87_run:
  .intel_syntax noprefix
  push rbx
  push rbp
  sub rsp, 8
  fnstcw [rsp]
  mov rbx, rdi
  mov rbp, rcx
  stmxcsr [rbx + 24]
  fxrstor64 [rbx]
  pushfq
  mov rax, [rbp]
  and rax, 0x8d5
  and qword ptr [rsp], -0x8d6
  or [rsp], rax
  popfq
  mov rdi, rsi
  call rdx
  pushfq
  pop qword ptr [rbp]
  fxsave64 [rbx]
  fninit
  fldcw [rsp]
  add rsp, 8
  pop rbp
  pop rbx
  ret
  .att_syntax prefix
  .size softvt_x87_run, . - softvt_x87_run
)");

namespace {

// Register forms (mod = 3) per escape byte, as 64-bit masks over ModRM
// 0xC0-0xFF (bit i = ModRM 0xC0 + i).
constexpr uint64_t range(unsigned lo, unsigned hi) {
  uint64_t m = 0;
  for (unsigned i = lo; i <= hi; ++i) m |= uint64_t(1) << (i - 0xc0);
  return m;
}
constexpr uint64_t kRegisterForms[8] = {
    range(0xc0, 0xff),                                        // D8: arithmetic, FCOM, FCOMP
    range(0xc0, 0xd0) | range(0xd8, 0xdf) | range(0xe0, 0xe1) // D9: FLD, FXCH, FNOP, FSTP1, FCHS, FABS
        | range(0xe4, 0xe5) | range(0xe8, 0xee) | range(0xf0, 0xff),  // FTST FXAM, constants, F2XM1..FCOS
    range(0xc0, 0xdf) | range(0xe9, 0xe9),                    // DA: FCMOVcc, FUCOMPP
    range(0xc0, 0xdf) | range(0xe0, 0xe4) | range(0xe8, 0xf7),  // DB: FCMOVNcc, FNCLEX.., FUCOMI, FCOMI
    range(0xc0, 0xff),                                        // DC: arithmetic, FCOM2, FCOMP3
    range(0xc0, 0xef),                                        // DD: FFREE, FXCH4, FST, FSTP, FUCOM(P)
    range(0xc0, 0xd7) | range(0xd9, 0xd9) | range(0xe0, 0xff),  // DE: ..P forms, FCOMP5, FCOMPP
    range(0xc0, 0xe0) | range(0xe8, 0xf7),                    // DF: FFREEP, FXCH7, FSTP8/9, FNSTSW AX, FUCOMIP, FCOMIP
};

}  // namespace

bool is_defined_x87_form(uint8_t escape, uint8_t modrm) {
  if (escape < 0xd8) return false;
  const unsigned e = escape - 0xd8;
  if (modrm >= 0xc0) return (kRegisterForms[e] >> (modrm - 0xc0)) & 1;
  const unsigned reg = (modrm >> 3) & 7;
  return !((e == 1 && reg == 1) || (e == 3 && (reg == 4 || reg == 6)) || (e == 5 && reg == 5));
}

bool host_executable(uint8_t escape, uint8_t modrm) {
  if (!is_defined_x87_form(escape, modrm)) return false;
  if (modrm >= 0xc0) return true;
  const unsigned reg = (modrm >> 3) & 7;
  return !((escape == 0xd9 || escape == 0xdd) && (reg == 4 || reg == 6));
}

void execute(uint8_t* state, uint8_t escape, uint8_t modrm, uint8_t* mem, uint64_t& rflags) {
  if (!host_executable(escape, modrm)) return;
  alignas(16) uint8_t fx[512] = {};
  std::memcpy(fx, state, STATE_BYTES);
  const unsigned e = escape - 0xd8;
  const unsigned k = 72 * e + (modrm >= 0xc0 ? 8 + (modrm & 63) : (modrm >> 3) & 7);
  softvt_x87_run(fx, mem, softvt_x87_stubs + 4 * k, &rflags);
  std::memcpy(state, fx, STATE_BYTES);
}

}  // namespace softvt::x87host
