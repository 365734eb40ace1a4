// The tracer of a run under gdb (traces/gdb_target.h). Reverse execution
// rebuilds an earlier state and executes forward again, so the core
// reports instructions and events it reported before; a tracer (--trace,
// or the replay's TraceChecker) must see each of them once, in the order
// of the one timeline, as in a run without gdb.
//
// TraceGate numbers the callbacks of the timeline (its "sequence"). A
// target marks the sequence at each snapshot it takes and rewinds it when
// it restores one; determinism makes the re-executed callbacks the same
// as the first time, so those below the furthest sequence forwarded are
// dropped and the rest are forwarded. (An instruction count alone cannot
// tell them apart: a faulting instruction and the first instruction of
// its handler have the same count.)
//
// A forwarded callback that throws ReplayDivergence (the replay left its
// recording) closes the gate: it forwards nothing more, keeps the
// divergence's report, and throws TraceStopped out of the run.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "emu/cpu.h"
#include "emu/memory.h"

namespace softvt::trace {

// Thrown out of Cpu::run (or Pc::run) when the gate closed.
struct TraceStopped {};

class TraceGate : public Cpu::Tracer {
 public:
  explicit TraceGate(Cpu::Tracer* out);

  // Routes `mem`'s MMIO observer (set by the recorder) through the gate.
  void gate_memory(Memory& mem);
  // A snapshot of the machine was taken at `position`.
  void mark(uint64_t position);
  // The machine was rebuilt from the snapshot taken at `position` (marked
  // before; the start of the history if none was).
  void rewind(uint64_t position);
  // The history restarts at `position` (the debugger edited the state):
  // earlier marks no longer lead here.
  void restart_history(uint64_t position);

  bool closed() const { return closed_; }
  // The divergence that closed the gate, in the replay's words (several lines).
  const std::string& report() const { return report_; }
  // The callbacks of the timeline so far / forwarded so far.
  uint64_t sequence() const { return seq_; }
  uint64_t forwarded() const { return furthest_; }

  void insn(const Cpu& c, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) override;
  void exception(const Cpu& c, const GuestException& e) override;
  void note(const Cpu& c, const std::string& text) override;
  void interrupt(const Cpu& c, uint8_t vector, EventType type) override;
  void vm_entry(const Cpu& c, VmEntryKind k) override;
  void vm_exit(const Cpu& c, VmArch arch, uint64_t reason, uint64_t qualification) override;
  void vm_entry_failed(const Cpu& c, const char* check) override;
  void io(const Cpu& c, uint16_t port, unsigned size, uint64_t value, bool write) override;
  void mem_write(const Cpu& c, uint64_t lin, unsigned size, uint64_t value) override;

 private:
  // Whether the next callback of the timeline is new (and counts it).
  bool fresh() {
    const bool f = !closed_ && seq_ >= furthest_;
    ++seq_;
    if (f) furthest_ = seq_;
    return f;
  }
  template <typename F>
  void forward(F&& call);
  Cpu::Tracer* out_;
  uint64_t seq_ = 0, furthest_ = 0;
  std::map<uint64_t, uint64_t> marks_;  // snapshot position -> sequence
  bool closed_ = false;
  std::string report_;
};

}  // namespace softvt::trace
