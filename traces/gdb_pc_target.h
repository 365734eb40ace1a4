// The PC machine (`softvt run --kernel`) as a gdb target: one thread per
// CPU. Reverse execution restores the nearest snapshot (emu/snapshot.h:
// the CPUs and RAM; Pc::save_state: the devices, the clock, the
// scheduler) and re-executes from there, exact by determinism
// (docs/decisions.md "Reverse execution in gdb"); with several
// CPUs the position is the machine's retired-instruction count, whose
// interleaving the PC's scheduler keeps independent of where the debugger
// stops (docs/decisions.md "SMP under gdb"). Inputs from outside the
// machine (standard input, --clock host, a replay's recorded ones) go
// through the gate, which feeds a re-execution the ones the run took
// (traces/trace_gate.h).
#pragma once
#include <functional>
#include <map>
#include <memory>

#include "emu/machine/pc.h"
#include "emu/snapshot.h"
#include "traces/gdb_stub.h"
#include "traces/gdb_target.h"
#include "traces/trace_gate.h"

namespace softvt::gdb {

// Builds the machine of the run's options; its console output goes
// through only while `output_allowed()` says so.
using PcFactory = std::function<std::unique_ptr<Pc>(std::function<bool()> output_allowed)>;

class PcTarget : public Target {
 public:
  // `gate`: the tracer's gate and the machine's input log (nullptr: no
  // tracer, no inputs), marked at each snapshot and rewound when one is
  // restored.
  PcTarget(std::unique_ptr<Pc>& pc, trace::TraceGate* gate = nullptr);

  unsigned cpu_count() const override { return pc_->cpu_count(); }
  Cpu& cpu(unsigned i) override { return pc_->cpu(i); }
  uint64_t position() const override { return pc_->total_insns(); }
  RunStop resume(uint64_t until) override;
  void set_host_debugger(HostDebugger* host) override;
  std::string reverse_unsupported() const override;
  uint64_t history_start() const override { return snaps_.first().position; }
  void seek(uint64_t position) override;
  void state_edited() override;
  std::optional<uint64_t> previous_step(unsigned cpu, uint64_t position) const override;
  void set_cpu_limit(unsigned cpu, uint64_t count) override;
  const PcOutcome& outcome() const { return outcome_; }
  bool output_allowed() const { return pc_->total_insns() >= reached_; }

 private:
  std::unique_ptr<Pc>& pc_;  // the runner's pointer: it reports on the final machine
  trace::TraceGate* gate_;
  // A replay that left its recording stops at the count where it did.
  bool diverged_ = false;
  uint64_t divergence_position_ = 0;
  std::string divergence_;
  RunStop diverged_stop() const;
  void rebuild_at(uint64_t position);
  void attach(Pc& pc);
  std::vector<CpuSnapshot> cpu_snapshots() const;
  void take_snapshot_if_due();
  SnapshotStore snaps_;
  void note_slice(unsigned cpu);
  HostDebugger* host_ = nullptr;
  // Which CPU executes the instruction at each position: position -> the
  // CPU executing from there on (an entry where the CPU changes). The
  // scheduling is deterministic, so re-execution writes the same entries.
  std::map<uint64_t, unsigned> schedule_;
  unsigned limit_cpu_ = NO_CPU;
  uint64_t limit_count_ = 0;
  uint64_t max_insns_;       // the run's own --max-insns
  uint64_t reached_ = 0;
  PcOutcome outcome_;
};

// `softvt run --kernel ... --gdb ADDRESS [--wait-gdb]`: runs the machine in
// `pc` under the stub; `pc` holds the machine as it ended. Throws
// std::runtime_error when the address cannot be listened on.
// `killed` (if given): whether gdb killed the run.
PcOutcome run_pc_with_gdb(std::unique_ptr<Pc>& pc, const PcFactory& rebuild, const StubOptions& gdb,
                          trace::TraceGate* gate = nullptr, bool* killed = nullptr);

}  // namespace softvt::gdb
