// Debug registers and the debug exception #DB (SDM Vol. 3B chapter 17
// "Debug, Branch Profile, TSC, and Intel Resource Director Technology
// Features", Vol. 3A 6.8.3 and 6.9): instruction, data and I/O breakpoints
// from DR0-DR3/DR7, single-step (RFLAGS.TF), the task-switch trap (TSS T
// bit), general detect (DR7.GD), and the delivery of the debug traps at the
// instruction boundary. Implemented in emu/debug.cpp.
//
// Cost when unused: the run loop tests one bool per instruction for
// instruction breakpoints; data breakpoints cost nothing on the TLB fast
// path, because a page holding an enabled data breakpoint is entered in the
// software TLB without its host pointer, so only accesses to such pages
// (and accesses that already take the slow path) compare addresses.
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;

// DR6 and DR7 bits (SDM 17.2.3, 17.2.4).
namespace dr6 {
constexpr uint64_t B_MASK = 0xf;  // B0-B3: breakpoint condition detected
constexpr uint64_t BD = 1u << 13, BS = 1u << 14, BT = 1u << 15;
// Bits that read as 1 (4-11, 16-31: no RTM, no bus-lock detection).
constexpr uint64_t FIXED1 = 0xffff0ff0;
constexpr uint64_t WRITABLE = B_MASK | BD | BS | BT;
}  // namespace dr6
// DebugUnit::pending: a #DB pending from VM entry's "enabled breakpoint".
constexpr uint64_t PENDING_ENABLED_BP = 1u << 12;
namespace dr7 {
constexpr uint64_t L_BITS = 0x55;     // L0-L3 (local enables)
constexpr uint64_t LE = 1u << 8, GE = 1u << 9, GD = 1u << 13;
constexpr uint64_t FIXED1 = 1u << 10;
constexpr uint64_t READ_AS_ZERO = (1u << 11) | (1u << 12) | (1u << 14) | (1u << 15);
inline bool enabled(uint64_t v, unsigned n) { return (v >> (2 * n)) & 3; }
inline unsigned rw(uint64_t v, unsigned n) { return unsigned(v >> (16 + 4 * n)) & 3; }
inline unsigned len_code(uint64_t v, unsigned n) { return unsigned(v >> (18 + 4 * n)) & 3; }
}  // namespace dr7

// The host debugger (the gdb stub, traces/gdb_stub.h): breakpoints and
// watchpoints of the person debugging the guest. The guest cannot see them
// (no debug register, no #DB, no INT3 written into its memory). They ride
// on the same armed flags as the guest's breakpoints, so they cost nothing
// while no debugger has any set.
struct HostDebugger {
  virtual ~HostDebugger() = default;
  virtual bool has_breakpoints() const = 0;
  virtual bool has_watchpoints() const = 0;
  // Stop before executing the instruction at the current CS:RIP?
  virtual bool stop_before(const Cpu& cpu) = 0;
  // Does the 4-KiB linear page holding `lin` hold a watched byte?
  virtual bool page_watched(uint64_t lin) const = 0;
  // A data access by the current instruction: true if it hits a watchpoint
  // (the run stops after the instruction completes).
  virtual bool data_access(const Cpu& cpu, uint64_t lin, unsigned size, bool write) = 0;
};

// Thrown before an instruction executes when the host debugger wants to
// stop there; the run loop ends with StopReason::Debug, nothing executed.
struct HostBreakpointStop {};

// State derived from the debug registers plus the debug conditions seen by
// the current instruction. Not architectural beyond what DR6 and the
// "pending debug exceptions" of SDM 24.4.2 describe.
struct DebugUnit {
  // Enabled breakpoints by kind, recomputed whenever DR0-DR3, DR7 or
  // CR4.DE change (debug_registers_changed).
  bool insn_armed = false;  // R/W = 00
  bool data_armed = false;  // R/W = 01 or 11
  bool io_armed = false;    // R/W = 10 with CR4.DE = 1
  // Trap-class conditions detected and not yet delivered, as DR6 bits
  // (B0-B3, BS, BT). Delivered at the next instruction boundary that is
  // not inside a MOV SS / POP SS shadow (SDM 6.8.3). Bit 12
  // (PENDING_ENABLED_BP) is no DR6 bit: a VM entry's "enabled breakpoint"
  // (SDM Vol. 3C 25.4.2 Table 25-4) makes a #DB pending even with B3-B0
  // clear; it is never reported in DR6 or an exit qualification.
  uint64_t pending = 0;
  // Set by a data or I/O breakpoint match; a REP string instruction
  // clears it before an iteration and stops after one that set it, so the
  // trap follows that iteration (SDM 17.3.1.2).
  bool hit = false;
  // The current instruction delivered an event through the IDT or switched
  // tasks while TF was set: its single-step trap depends on the TF it left
  // (cleared by the delivery), not on the TF it started with.
  bool tf_after = false;
  // The host debugger, if one is attached, and whether the current
  // instruction hit one of its watchpoints (cpu.stop is then Debug).
  HostDebugger* host = nullptr;
  bool host_hit = false;
};

// Recomputes DebugUnit's armed flags after DR0-DR3, DR7 or CR4.DE changed
// and drops cached translations whose data-breakpoint status may differ.
void debug_registers_changed(Cpu& cpu);

// Does the 4-KiB linear page holding `lin` contain an enabled data
// breakpoint? (The TLB keeps such pages off its fast path.)
bool debug_page_watched(const Cpu& cpu, uint64_t lin);

// A data access of `size` bytes at linear `lin` (called on the slow path
// while data breakpoints are armed): records matching B0-B3 as pending.
void debug_data_access(Cpu& cpu, uint64_t lin, unsigned size, bool write);

// An I/O access (IN, OUT, INS, OUTS) that passed its permission check.
void debug_io_access(Cpu& cpu, uint16_t port, unsigned size);

// Instruction breakpoints at CS:RIP (SDM 17.3.1.1): raises a fault-class
// #DB before the instruction executes when an enabled one matches.
void debug_check_instruction(Cpu& cpu);

// Delivers the pending debug traps as one #DB (SDM 17.3.1.2-17.3.1.5).
void debug_deliver_trap(Cpu& cpu);

// MOV to/from a debug register with DR7.GD set: the general-detect fault
// (SDM 17.3.1.3) - DR6.BD set, GD cleared, #DB with RIP at the MOV.
[[noreturn]] void debug_general_detect(Cpu& cpu);

// Records that the current instruction transferred control through the
// IDT or a task switch (see DebugUnit::tf_after).
void debug_note_control_transfer(Cpu& cpu, uint64_t rflags_before);

}  // namespace softvt
