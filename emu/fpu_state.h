// The x87, MMX and SSE state as it lives in CpuState::xsave: the legacy
// region of the XSAVE area is the FXSAVE image (SDM Vol. 1 10.5.1, Table
// 10-2), so FXSAVE/XSAVE are copies (DESIGN.md "State"). Every group that
// touches this state (emu/interp/x87*.cpp, mmx, sse*) goes through these
// accessors, and the availability checks every such instruction starts
// with (SDM Vol. 3A 2.5 CR0.EM/TS/MP, 13.1 CR4.OSFXSR; Vol. 2 "Exceptions"
// tables of the instructions).
#pragma once
#include <cstdint>
#include <cstring>

#include "emu/cpu.h"

namespace softvt {

// Byte offsets in the FXSAVE image / XSAVE legacy region (64-bit format).
namespace fxs {
constexpr size_t FCW = 0, FSW = 2, FTW = 4 /* abridged: 1 = valid, 8 bits */, FOP = 6;
constexpr size_t FIP = 8, FCS = 12, FDP = 16, FDS = 20;
constexpr size_t MXCSR = 24, MXCSR_MASK = 28;
constexpr size_t ST0 = 32;   // ST(i), in stack order, at ST0 + 16*i (80 bits used)
constexpr size_t XMM0 = 160; // XMM i at XMM0 + 16*i
constexpr size_t XSAVE_HEADER = 512;  // XSTATE_BV at +0, XCOMP_BV at +8
}  // namespace fxs

// XCR0 / XSTATE_BV component bits (SDM Vol. 1 13.1).
namespace xstate {
constexpr uint64_t X87 = 1, SSE = 2;
}

// MXCSR bits (SDM Vol. 1 10.2.3). The mask of writable bits is the model's
// MXCSR_MASK; bits outside it #GP on LDMXCSR/FXRSTOR.
namespace mxcsr {
constexpr uint32_t IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32, DAZ = 64;
constexpr uint32_t FLAGS = 0x3f, MASK_SHIFT = 7, MASKS = 0x3f << 7, RC_SHIFT = 13;
constexpr uint32_t RC = 3u << 13, FZ = 1u << 15;
constexpr uint32_t DEFAULT = 0x1f80;
constexpr uint32_t WRITABLE = 0xffff;  // MXCSR_MASK with DAZ (SDM 11.6.6)
}  // namespace mxcsr

inline uint8_t* fx_area(Cpu& cpu) { return cpu.s.xsave; }

template <typename T>
inline T fx_load(const Cpu& cpu, size_t off) {
  T v;
  std::memcpy(&v, cpu.s.xsave + off, sizeof(T));
  return v;
}
template <typename T>
inline void fx_store(Cpu& cpu, size_t off, T v) {
  std::memcpy(cpu.s.xsave + off, &v, sizeof(T));
}

inline uint32_t get_mxcsr(const Cpu& cpu) { return fx_load<uint32_t>(cpu, fxs::MXCSR); }
inline void set_mxcsr(Cpu& cpu, uint32_t v) { fx_store<uint32_t>(cpu, fxs::MXCSR, v); }

// XMM register n (0..15) as 16 bytes in the XSAVE area.
inline uint8_t* xmm_bytes(Cpu& cpu, unsigned n) { return cpu.s.xsave + fxs::XMM0 + 16 * n; }

// MMX register n aliases the low 64 bits (the significand) of physical x87
// register n (SDM Vol. 1 9.2.1); in the FXSAVE image the x87 registers are
// stored in ST(i) order, so MMn lives at slot (n - TOP) & 7.
inline unsigned x87_top(const Cpu& cpu) { return (fx_load<uint16_t>(cpu, fxs::FSW) >> 11) & 7; }
inline uint8_t* x87_slot(Cpu& cpu, unsigned st_index) { return cpu.s.xsave + fxs::ST0 + 16 * (st_index & 7); }
inline uint8_t* mmx_bytes(Cpu& cpu, unsigned n) { return x87_slot(cpu, (n - x87_top(cpu)) & 7); }

// ---- availability checks (raise the architectural exception) ------------
// x87 instructions: #NM if CR0.EM or CR0.TS (SDM Vol. 3A Table 2-2).
inline void check_x87_available(Cpu& cpu) {
  if (cpu.s.cr0 & (cr0::EM | cr0::TS)) cpu.raise(vec::NM);
}
// WAIT/FWAIT: #NM only if CR0.TS and CR0.MP both set.
inline void check_wait_available(Cpu& cpu) {
  if ((cpu.s.cr0 & (cr0::TS | cr0::MP)) == (cr0::TS | cr0::MP)) cpu.raise(vec::NM);
}
// MMX instructions: #UD if CR0.EM; #NM if CR0.TS (SDM Vol. 3A Table 2-2,
// "MMX" rows; Vol. 2 "Exceptions" of each MMX instruction).
inline void check_mmx_available(Cpu& cpu) {
  if (cpu.s.cr0 & cr0::EM) cpu.raise_ud();
  if (cpu.s.cr0 & cr0::TS) cpu.raise(vec::NM);
}
// SSE/SSE2 instructions: #UD if CR0.EM or !CR4.OSFXSR; #NM if CR0.TS
// (SDM Vol. 3A 13.1, Table 2-2).
inline void check_sse_available(Cpu& cpu) {
  if ((cpu.s.cr0 & cr0::EM) || !(cpu.s.cr4 & cr4::OSFXSR)) cpu.raise_ud();
  if (cpu.s.cr0 & cr0::TS) cpu.raise(vec::NM);
}

}  // namespace softvt
