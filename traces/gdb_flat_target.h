// The flat runner (`softvt run --flat`) as a gdb target: one CPU, guest
// RAM and the debug console, with periodic snapshots (emu/snapshot.h) for
// reverse execution.
#pragma once
#include <functional>
#include <memory>

#include "emu/block_cache.h"
#include "emu/snapshot.h"
#include "emu/accel/accel.h"
#include "traces/gdb_stub.h"
#include "traces/gdb_target.h"
#include "traces/trace_gate.h"

namespace softvt::gdb {

class FlatTarget : public Target {
 public:
  using IoWrite = std::function<void(uint16_t port, unsigned size, uint64_t value)>;
  // `max_insns`: the run ends there (--max-insns), as without gdb.
  FlatTarget(Memory& mem, const CpuState& init, const CpuModel& model, IoWrite io_write, Cpu::Tracer* tracer,
             uint64_t max_insns = ~uint64_t(0));

  unsigned cpu_count() const override { return 1; }
  Cpu& cpu(unsigned) override { return *cpu_; }
  uint64_t position() const override { return cpu_->s.insn_count; }
  RunStop resume(uint64_t until) override;
  void set_host_debugger(HostDebugger* host) override;
  std::string reverse_unsupported() const override { return ""; }
  uint64_t history_start() const override { return snaps_.first().position; }
  void seek(uint64_t position) override;
  void state_edited() override;

  const SnapshotStore& snapshots() const { return snaps_; }
  // How the run ended, once it did (for the runner's report).
  StopReason final_stop() const { return end_; }
  const std::string& final_detail() const { return end_detail_; }
  bool diverged() const { return diverged_; }

 private:
  void make_cpu();
  RunStop run_to(uint64_t until);
  RunStop ended_stop() const;
  RunStop diverged_stop() const;
  void stop_at_divergence();
  void note_divergence();
  void rebuild_at(uint64_t position);
  // The tracer sees each instruction and event of the timeline once.
  std::unique_ptr<trace::TraceGate> gate_;

  Memory& mem_;
  const CpuModel& model_;
  IoWrite io_write_;
  Cpu::Tracer* tracer_;
  uint64_t max_insns_;
  HostDebugger* host_ = nullptr;
  std::unique_ptr<BlockCache> blocks_;
  std::unique_ptr<Cpu> cpu_;
  SnapshotStore snaps_;
  // Output happens once: re-executing below the furthest position
  // already reached does not repeat it.
  uint64_t reached_ = 0;
  // A replay that left its recording (softvt replay --gdb): the run goes
  // no further than the instruction where it did.
  bool diverged_ = false;
  uint64_t divergence_position_ = 0;
  std::string divergence_;
  // The end of the run (HLT or shutdown) once reached, and where.
  StopReason end_ = StopReason::None;
  bool at_end_ = false;  // the CPU is in the ended state (not rebuilt before it)
  std::string end_detail_;
  uint64_t end_position_ = 0;
};

// `softvt run --flat ... --gdb ADDRESS [--wait-gdb]`: runs the flat image
// under the stub (run_interp's contract otherwise). Throws
// std::runtime_error when the address cannot be listened on.
// `killed` (if given): whether gdb killed the run before its end.
RunOutcome run_flat_with_gdb(Memory& mem, const CpuState& init, const CpuModel& model, const RunOptions& opt,
                             const StubOptions& gdb, bool* killed = nullptr);

}  // namespace softvt::gdb
