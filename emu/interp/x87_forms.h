// The handler shapes the x87 group files (emu/interp/x87_*.cpp) select:
// forms whose result the host FPU computes (x87_exec.cpp) and the memory
// transfer kind of each. Every x87 row's feature is Feature::Fpu.
#pragma once
#include "decoder/insn.h"

namespace softvt {

// A host-executed form: #NM check, pending-exception (#MF) check, the
// memory operand read (Load) or checked for writing (Store) before any
// state changes, the instruction on the host FPU, the store (unless an
// unmasked #I/#D/#Z/#O/#U suppressed it, SDM Vol. 1 8.5), then FIP/FDP/FOP.
// Selectors: register forms and memory sources.
Handler select_x87_compute(const Insn&);
// Memory destinations (FST/FSTP/FIST/FISTP/FBSTP m); register forms as
// select_x87_compute.
Handler select_x87_store(const Insn&);
// FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF from the comparison, OF, SF, AF
// cleared (SDM Vol. 2 FCOMI).
Handler select_x87_eflags(const Insn&);
// FLDCW: a control instruction (FIP/FDP/FOP unchanged), computed by the
// host so the reserved control-word bits read back as hardware has them.
Handler select_x87_load_control(const Insn&);

}  // namespace softvt
