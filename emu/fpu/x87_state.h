// The x87 state machine around the host-computed results (SDM Vol. 1
// chapter 8): status/control/tag words, the pending-exception (#MF) rule,
// the last-instruction pointers (FIP/FCS, FDP/FDS, FOP), the environment
// image of FSTENV/FLDENV/FSAVE/FRSTOR, and guest-memory block transfers
// for x87 operands. The state itself lives in the FXSAVE image of
// CpuState::xsave (emu/fpu_state.h).
#pragma once
#include <cstdint>

#include "decoder/insn.h"
#include "emu/cpu.h"
#include "emu/fpu_state.h"

namespace softvt::x87 {

// FSW bits (SDM Vol. 1 8.1.3, Figure 8-4).
namespace sw {
constexpr uint16_t IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20, SF = 0x40, ES = 0x80;
constexpr uint16_t C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
constexpr uint16_t TOP = 0x3800, TOP_SHIFT = 11;
constexpr uint16_t EXCEPTIONS = 0x3f;            // IE..PE; the FCW masks have the same bits
constexpr uint16_t STICKY = EXCEPTIONS | SF;     // cleared only by FNCLEX/FNINIT/loads
constexpr uint16_t SUMMARY = ES | B;
}  // namespace sw

// FCW after FNINIT (SDM Vol. 2 FINIT/FNINIT, Operation).
constexpr uint16_t FCW_INIT = 0x037f;

inline uint16_t fcw(const Cpu& cpu) { return fx_load<uint16_t>(cpu, fxs::FCW); }
inline uint16_t fsw(const Cpu& cpu) { return fx_load<uint16_t>(cpu, fxs::FSW); }
inline void set_fcw(Cpu& cpu, uint16_t v) { fx_store<uint16_t>(cpu, fxs::FCW, v); }
inline void set_fsw(Cpu& cpu, uint16_t v) { fx_store<uint16_t>(cpu, fxs::FSW, v); }

// ES and B follow the exception flags that are set and not masked (SDM
// Vol. 1 8.1.3.3: "ES is set if any unmasked exception bit is set"; B
// mirrors ES for 8087 compatibility).
uint16_t with_summary(uint16_t fsw, uint16_t fcw);

// An unmasked exception flag is set: the next waiting x87 instruction
// reports it (SDM Vol. 1 8.6) instead of executing.
bool exception_pending(const Cpu& cpu);
// The check every waiting x87 instruction (WAIT, and MMX instructions)
// makes after its #NM check when an unmasked exception is pending: with
// CR0.NE = 1, #MF (a fault: RIP stays on this instruction). With CR0.NE = 0
// (SDM Vol. 1 8.7.2, Vol. 3A 2.5 CR0.NE): ignored while IGNNE# is asserted;
// otherwise FERR# is asserted (Cpu::on_ferr; a PC turns it into IRQ 13)
// and the CPU freezes before the instruction (Cpu::freeze_before_instruction)
// until an interrupt; it executes again after the handler returns. With no
// exception pending, FERR# is deasserted.
void check_pending(Cpu& cpu);
// FERR# goes inactive once no unmasked exception is pending any more
// (FNCLEX, FNINIT; the other ways to clear one reach check_pending first).
void release_ferr_if_clear(Cpu& cpu);

// The 16-bit tag word FSTENV/FSAVE store, from the abridged tag and the
// register contents (SDM Vol. 1 8.1.7, 10.5.1.1 "FXSAVE ... abridged"):
// 11 empty, 01 zero, 10 special (NaN, infinity, denormal, pseudo-denormal,
// unnormal, pseudo-NaN/infinity), 00 valid.
uint16_t full_tag_word(const Cpu& cpu);
// The abridged tag an FLDENV/FRSTOR tag word loads: 1 = not empty.
uint8_t abridged_tag(uint16_t full);

// ---- the last non-control instruction ----------------------------------
// The instruction's escape (D8-DF) and ModRM bytes, read back from the
// instruction at CS:RIP (the decoded record does not keep them).
struct Opcode {
  uint8_t escape, modrm;
  uint16_t fop() const { return uint16_t(((escape & 7) << 8) | modrm); }
};
Opcode fetch_opcode(Cpu& cpu, const Insn& in);

// Records FOP, FIP (with FCS) and, for a memory operand, FDP (with FDS) as
// SDM Vol. 1 8.1.8-8.1.9 define them for a non-control instruction: in
// 64-bit mode FIP/FDP are 64-bit offsets (the FXSAVE64 image); in other
// protected modes 32-bit offsets with their selectors (the 32-bit FXSAVE
// image); in real and virtual-8086 mode linear addresses (AMD APM Vol. 1
// 6.2.5). An instruction without a memory operand leaves FDP/FDS as they
// were (the reference host keeps them). Two CPUID.(EAX=7,ECX=0):EBX bits
// of the CPU model change this (SDM Vol. 1 8.1.8): bit 6, FDP is updated
// only by an instruction that raised an unmasked exception
// (`unmasked_exception`); bit 13, FCS and FDS are deprecated and read 0.
void record_instruction(Cpu& cpu, const Insn& in, Opcode op, bool has_memory, uint64_t ea,
                        bool unmasked_exception);

// ---- environment (FSTENV/FLDENV/FSAVE/FRSTOR) --------------------------
struct Env {
  uint16_t fcw, fsw, ftw;  // ftw: the full 16-bit tag word
  uint16_t fop;
  uint64_t fip, fdp;
  uint16_t fcs, fds;
};
Env read_env(const Cpu& cpu);
void write_env(Cpu& cpu, const Env& e);
// Sets TOP, keeping every physical register's contents: the image holds
// the registers in stack order (ST(i) at slot i), so they rotate.
void set_top(Cpu& cpu, unsigned top);

// FNINIT's state (SDM Vol. 2 FINIT): FCW 037FH, FSW 0, all tags empty,
// FIP/FDP/FOP and their selectors 0. The registers keep their contents.
void reinitialize(Cpu& cpu);

// ---- guest memory blocks -----------------------------------------------
// Reads n bytes at seg:ea after the segment check of the whole operand;
// every page is touched before the caller changes any state.
void read_block(Cpu& cpu, uint8_t seg, uint64_t ea, unsigned n, uint8_t* out);
// Checks that all n bytes at seg:ea can be written (faults first), and
// returns the linear address for write_block_lin.
uint64_t probe_block(Cpu& cpu, uint8_t seg, uint64_t ea, unsigned n);
void write_block_lin(Cpu& cpu, uint64_t lin, unsigned n, const uint8_t* in);

}  // namespace softvt::x87
