// The part of the initial CPU state every loader hands over the same way:
// the registers a loader does not set for its entry protocol keep the
// values they have after RESET (SDM Vol. 3A 9.1.1, Table 9-1), and the
// x87/SSE state is as after FNINIT with MXCSR at its reset value (SDM
// Vol. 1 8.1.1, 10.2.3.1). Each loader then sets its mode, segments,
// descriptor tables and registers on top.
#pragma once
#include <cstring>

#include "emu/cpu_state.h"

namespace softvt {

inline CpuState loader_base_state() {
  CpuState s{};
  s.rflags = 0x2;
  s.ldtr = SegReg{0, 0, 0x82, 0xffff, 0, 0};
  s.tr = SegReg{0, 0, 0x8b, 0xffff, 0, 0};
  s.dr[6] = 0xffff0ff0;  // DR6 and DR7 with their fixed bits
  s.dr[7] = 0x400;
  s.pat = 0x0007040600070406ull;
  s.xcr0 = 1;
  s.apic_base = 0xfee00900;
  const uint16_t fcw = 0x37f;
  const uint32_t mxcsr = 0x1f80;
  std::memcpy(s.xsave, &fcw, 2);
  std::memcpy(s.xsave + 24, &mxcsr, 4);
  return s;
}

}  // namespace softvt
