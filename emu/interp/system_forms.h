// System forms owned by emu/interp/system.cpp that other instruction groups
// reach: the MOV forms with segment, control and debug register operands
// (selected by data_move's MOV selector) and the I/O permission check
// (used by IN/OUT and by the string group's INS/OUTS).
#pragma once
#include <cstdint>

#include "decoder/insn.h"

namespace softvt {

class Cpu;

// MOV Sreg, r/m16 and MOV r/m, Sreg (SDM Vol. 2 MOV); nullptr: #UD.
Handler mov_sreg_handler(const Insn&);
// MOV to/from CR0-CR8 and DR0-DR7 (SDM Vol. 2 "MOV—Move to/from Control
// Registers", "MOV—Move to/from Debug Registers"); nullptr: #UD.
Handler mov_crdr_handler(const Insn&);
// May the current code access `size` bytes of I/O space at `port`? True in
// real mode and when CPL <= IOPL outside virtual-8086 mode; otherwise the
// I/O permission bitmap of the current 32/64-bit TSS decides (SDM 19.5).
// The caller raises #GP(0) when this returns false.
bool io_permitted(Cpu&, uint16_t port, unsigned size);

}  // namespace softvt
