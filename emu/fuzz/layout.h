// Where a generated test case lives in guest memory. The same linear
// addresses are used on every backend: the flat runner's RAM for interp and
// kvm, and host mappings for the native oracle (which maps the code image at
// the load address and each data region zero-filled at its address, so the
// regions are page aligned and start at or above vm.mmap_min_addr).
//
//   0x10000  code: prologue, body, epilogue        (at most 32 KiB)
//   0x18000  stack region, 8 KiB; RSP starts in its middle
//   0x1a000  data area, 512 bytes of random bytes; the data pointer
//            register (RBX/EBX/BX) holds its middle, so every memory
//            operand [ptr + disp] with |disp| <= 256 stays inside
//   0x1a400  x87/SSE state image the prologue loads (FXRSTOR), 512 bytes
//   0x1b000  result area: the epilogue stores GPR i at +8*i, the flags at
//            +128, its FNSTENV image at +0x180 and FXSAVE image at +0x200
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>

#include "emu/loader/flat.h"

namespace softvt::fuzz {

constexpr uint64_t kLoad = 0x10000;
constexpr uint64_t kCodeMax = 0x8000;
constexpr uint64_t kStackBase = 0x18000;
constexpr uint64_t kStackSize = 0x2000;
constexpr uint64_t kStackInit = kStackBase + kStackSize / 2;
// How far the body may move RSP from kStackInit (pushes, ENTER frames):
// leaves room for REP-less pushes of PUSHA and the epilogue's PUSHF.
constexpr int64_t kStackDriftMax = 0x0e00;
constexpr uint64_t kDataPage = 0x1a000;
constexpr uint64_t kDataSize = 512;
constexpr uint64_t kData = kDataPage;
constexpr uint64_t kDataPtr = kData + kDataSize / 2;
constexpr int64_t kDispMax = int64_t(kDataSize / 2);  // [ptr - 256, ptr + 256)
constexpr uint64_t kResultPage = 0x1b000;
constexpr uint64_t kResult = kResultPage;
constexpr uint64_t kResultFlags = kResult + 128;
// The x87/SSE state the prologue loads with FXRSTOR (in the data page,
// after the data area; never an operand) and the FXSAVE image the epilogue
// stores (in the result page): 512 bytes each, 16-byte aligned.
constexpr uint64_t kFpImage = kDataPage + 0x400;
constexpr uint64_t kFpResult = kResult + 0x200;
constexpr uint64_t kFpBytes = 512;
// The epilogue's FNSTENV image (28 bytes, 32-bit layout outside real16):
// the x87 pointers, which this AMD host's FXSAVE stores only while an
// exception is pending.
constexpr uint64_t kFpEnvResult = kResult + 0x180;
constexpr uint64_t kFpEnvBytes = 28;
constexpr uint64_t kResultSize = kFpResult + kFpBytes - kResult;
constexpr uint64_t kRegionPage = 0x1000;
// Guest RAM for the interp and kvm runs (the layout ends below 0x1c000).
constexpr uint64_t kRamBytes = 4ull << 20;

// The data pointer register and the stack pointer: the body may use them as
// operands, but any write to them is undone right after the instruction (the
// value it wrote is first copied to another register so it is still
// compared), because every memory operand and the epilogue depend on them.
constexpr int kPtrGpr = 3;  // RBX
constexpr int kSpGpr = 4;   // RSP

inline ZydisMachineMode machine_mode(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return ZYDIS_MACHINE_MODE_LONG_64;
    case FlatMode::Prot32: return ZYDIS_MACHINE_MODE_LEGACY_32;
    default: return ZYDIS_MACHINE_MODE_REAL_16;
  }
}
inline ZydisStackWidth stack_width(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return ZYDIS_STACK_WIDTH_64;
    case FlatMode::Prot32: return ZYDIS_STACK_WIDTH_32;
    default: return ZYDIS_STACK_WIDTH_16;
  }
}
// Bytes of a GPR that are architecturally visible and compared: 8 in
// 64-bit mode; in legacy modes the upper halves are not observable (SDM
// Vol. 1 3.4.1.1), so only 4.
inline unsigned gpr_bytes(FlatMode m) { return m == FlatMode::Long64 ? 8 : 4; }
inline unsigned gpr_count(FlatMode m) { return m == FlatMode::Long64 ? 16 : 8; }
// Default operand/stack width of the mode (PUSHF/POP in the epilogue).
inline unsigned stack_bytes(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return 8;
    case FlatMode::Prot32: return 4;
    default: return 2;
  }
}
// The offset a linear address has in the mode's segments: real16's
// segments all have base kLoad (the flat runner's contract), the others 0.
inline uint64_t guest_offset(FlatMode m, uint64_t linear) {
  return m == FlatMode::Real16 ? linear - kLoad : linear;
}

}  // namespace softvt::fuzz
