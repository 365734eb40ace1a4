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
//
// The gate is also the machine's input log under gdb (emu/machine/
// input_log.h): each input the machine takes (a host-clock reading, a
// look for COM1 input, a check for Ctrl-C) is a callback of the timeline
// too, numbered with the others. A new one comes from the gate's source
// (the host: standard input, the host clock, SIGINT; or a replay's
// TraceChecker, which gives the recording's) and is kept with its number;
// a re-execution is given the kept one, so it sees what the first run saw
// and never reads the host again for it. The machine takes its inputs at
// places that do not depend on where the debugger stopped it (Pc::run),
// so the numbers match; each kept input also holds its CPU and
// instruction count, which a re-execution must meet (else it stops with
// an error naming both: the re-execution is not deterministic).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "emu/cpu.h"
#include "emu/machine/input_log.h"
#include "emu/memory.h"

namespace softvt::trace {

// Thrown out of Cpu::run (or Pc::run) when the gate closed.
struct TraceStopped {};

class TraceGate : public Cpu::Tracer, public InputLog {
 public:
  // `out`: the tracer of the timeline (nullptr: none; the gate then only
  // keeps the inputs and is not installed as the machine's tracer).
  // `inputs`: where new inputs come from (a replay's checker); nullptr:
  // the host, through the `live` functions the machine passes.
  explicit TraceGate(Cpu::Tracer* out, InputLog* inputs = nullptr);

  // Routes `mem`'s MMIO observer (set by the recorder) through the gate.
  void gate_memory(Memory& mem);
  // A snapshot of the machine was taken at `position`.
  void mark(uint64_t position);
  // The machine was rebuilt from the snapshot taken at `position` (marked
  // before; the start of the history if none was).
  void rewind(uint64_t position);
  // The history restarts at `position` (the debugger edited the state):
  // earlier marks no longer lead here, and the inputs taken after it
  // belong to a future that no longer follows (the next ones are new).
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

  // The machine's inputs (emu/machine/input_log.h).
  bool replaying() const override { return inputs_ && inputs_->replaying(); }
  bool supplies_next() const override { return replaying() || seq_ < inputs_end_; }
  uint64_t host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) override;
  unsigned serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                        const std::function<int()>& live) override;
  bool stop_requested(const Cpu& running, bool live) override;

 private:
  // An input the timeline took, by its sequence number.
  enum class InputKind : uint8_t { HostReading, Serial, Stop };
  struct TakenInput {
    InputKind kind;
    uint8_t sub = 0;        // HostReading: which clock
    uint32_t cpu = 0;       // where: the running CPU and its instruction count
    uint64_t icount = 0;
    uint64_t value = 0;     // the reading; for COM1 the look's number; for Ctrl-C 1 if it stopped the run
    std::string bytes;      // COM1's input (none: the look found nothing)
  };
  // Counts the next input of the timeline: the one kept for its number if
  // the timeline took it before (it must be `want`'s kind, CPU and count:
  // else std::runtime_error), nullptr if it is new (TraceStopped if the
  // gate is closed).
  const TakenInput* replayed(const TakenInput& want);
  // Keeps a new input under its sequence number.
  void keep(uint64_t seq, TakenInput in);
  template <typename F>
  auto from_source(F&& call) -> decltype(call());
  static TakenInput where(const Cpu& c, InputKind kind);
  InputLog* inputs_;
  std::map<uint64_t, TakenInput> taken_;
  // One past the last input kept: the inputs numbered below it were taken
  // before (a re-execution is given them); an edit by the debugger sets it
  // back to where the history restarts.
  uint64_t inputs_end_ = 0;

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
