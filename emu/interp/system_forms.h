// Forms of data-movement and string instructions whose semantics belong to
// the system group (emu/interp/system.cpp defines these). data_move.cpp and
// string.cpp call them; until system.cpp provides them, weak defaults in
// those files stand in (a weak definition yields to the strong one at link
// time).
#pragma once
#include <cstdint>

#include "decoder/insn.h"

namespace softvt {

class Cpu;

// MOV to/from a segment register (8C, 8E; SDM Vol. 2 MOV): the handler for
// this decoded form, or nullptr for #UD.
Handler mov_sreg_handler(const Insn& in);
// MOV to/from a control or debug register (0F 20-23; SDM Vol. 2 "MOV—Move
// to/from Control Registers", "MOV—Move to/from Debug Registers").
Handler mov_crdr_handler(const Insn& in);

// The I/O permission check of IN/OUT/INS/OUTS (SDM Vol. 1 19.5): true if
// the access of `size` bytes at `port` is allowed at the current CPL/IOPL
// (or by the TSS I/O permission bitmap). The caller raises #GP(0) when not.
bool io_permitted(Cpu& cpu, uint16_t port, unsigned size);

}  // namespace softvt
