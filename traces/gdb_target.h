// What the gdb stub debugs: a machine it can run forward, stop, and (where
// the run is deterministic) rebuild at an earlier instruction count. The
// flat runner (traces/gdb_flat_target.h) and the PC machine
// (traces/gdb_pc_target.h) implement it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "emu/cpu.h"

namespace softvt::gdb {

// How a forward run ended.
struct RunStop {
  enum Kind : uint8_t {
    Limit,   // reached the requested position (or a slice of steps that retire nothing)
    Debug,   // a host breakpoint or watchpoint (emu/debug.h HostDebugger)
    Halted,  // the machine cannot go on: HLT with nothing to wake it (flat runner)
    Ended,   // the machine cannot go on: shutdown (triple fault), a backend error
    Exited,  // the guest ended the machine: power-off, exit device (exit_status)
    Diverged,  // a replay (softvt replay --gdb) left its recording: it goes no further
  } kind = Limit;
  unsigned cpu = 0;       // the CPU that stopped (Debug) or ran last
  std::string detail;     // for Halted/Ended/Diverged: why, in words
  int exit_status = 0;    // for Exited
};

class Target {
 public:
  virtual ~Target() = default;
  virtual unsigned cpu_count() const = 0;
  virtual Cpu& cpu(unsigned i) = 0;
  // Instructions retired by the whole machine: the clock reverse
  // execution counts in.
  virtual uint64_t position() const = 0;
  // Runs forward until position() reaches `until`, a host debugger stop,
  // or the machine's end. May stop earlier (a slice of steps that retired
  // nothing), returning Limit: the caller asks again.
  virtual RunStop resume(uint64_t until) = 0;
  // The host debugger every CPU reports to (nullptr: none).
  virtual void set_host_debugger(HostDebugger* host) = 0;

  // ---- reverse execution --------------------------------------------------
  // "" when the machine can be rebuilt at earlier positions; otherwise why
  // not (a clear message for the user).
  virtual std::string reverse_unsupported() const = 0;
  // The first position that can be rebuilt (the start of the recording).
  virtual uint64_t history_start() const = 0;
  // Rebuilds the machine's state at `position` (history_start() <= position
  // <= the furthest position reached), executing without host stops.
  virtual void seek(uint64_t position) = 0;
  // The debugger changed guest state (registers, memory): what was
  // recorded before no longer leads here, so the history restarts now.
  virtual void state_edited() = 0;

  // ---- several CPUs -------------------------------------------------------
  // The position just before the last instruction CPU `cpu` executed
  // before `position` (reverse-stepi of that CPU), if the history holds
  // one. With one CPU: position - 1.
  virtual std::optional<uint64_t> previous_step(unsigned cpu, uint64_t position) const {
    (void)cpu;
    if (position <= history_start()) return std::nullopt;
    return position - 1;
  }
  // resume() also stops once CPU `cpu` has retired `count` instructions
  // (stepi of one CPU while the others run as scheduled); NO_CPU: no such
  // stop. A machine with one CPU steps with resume(position() + 1).
  static constexpr unsigned NO_CPU = ~0u;
  virtual void set_cpu_limit(unsigned cpu, uint64_t count) {
    (void)cpu;
    (void)count;
  }
};

}  // namespace softvt::gdb
