// The flat runner under gdb (traces/gdb_flat_target.h).
#include "traces/gdb_flat_target.h"

#include <algorithm>
#include <cstdio>

namespace softvt::gdb {

FlatTarget::FlatTarget(Memory& mem, const CpuState& init, const CpuModel& model, IoWrite io_write,
                       Cpu::Tracer* tracer, uint64_t max_insns)
    : mem_(mem), model_(model), io_write_(std::move(io_write)), tracer_(tracer), max_insns_(max_insns) {
  if (tracer) {
    gate_ = std::make_unique<trace::TraceGate>(tracer);
    gate_->gate_memory(mem_);
  }
  make_cpu();
  cpu_->s = init;
  cpu_->update_mode();
  snaps_.reset(mem_, position(), {CpuSnapshot::take(*cpu_)});
  if (gate_) gate_->restart_history(position());
}

// A fresh CPU and block cache: what a restored snapshot starts from (the
// TLB and the decoded blocks are caches of state the snapshot holds).
void FlatTarget::make_cpu() {
  mem_.on_code_write = nullptr;
  cpu_.reset();
  blocks_ = std::make_unique<BlockCache>(model_);
  cpu_ = std::make_unique<Cpu>(mem_, model_);
  cpu_->blocks = blocks_.get();
  cpu_->tracer = gate_.get();
  if (io_write_)
    cpu_->io_write = [this](uint16_t port, unsigned size, uint64_t v) {
      // Output the run produced already is not produced again.
      if (cpu_->s.insn_count >= reached_) io_write_(port, size, v);
    };
  cpu_->dbg.host = host_;
}

void FlatTarget::set_host_debugger(HostDebugger* host) {
  host_ = host;
  cpu_->dbg.host = host;
}

RunStop FlatTarget::ended_stop() const {
  RunStop r;
  r.kind = end_ == StopReason::Hlt || end_ == StopReason::Limit ? RunStop::Halted : RunStop::Ended;
  r.detail = end_ == StopReason::Hlt ? std::string("the guest executed HLT") : end_detail_;
  return r;
}

RunStop FlatTarget::diverged_stop() const {
  RunStop r;
  r.kind = RunStop::Diverged;
  r.detail = divergence_;
  return r;
}

// The replay's tracer closed its gate: the state is rebuilt at the
// boundary of the instruction (or event) whose record differs, where the
// run stops from now on.
void FlatTarget::stop_at_divergence() {
  note_divergence();
  seek(divergence_position_);
}

void FlatTarget::note_divergence() {
  if (diverged_) return;
  diverged_ = true;
  divergence_position_ = position();
  divergence_ = gate_->report();
}

RunStop FlatTarget::resume(uint64_t until) {
  if (diverged_ && position() >= divergence_position_) return diverged_stop();
  if (at_end_) return ended_stop();
  cpu_->dbg.host_hit = false;
  return run_to(until);
}

// Runs in pieces that end where a snapshot is due, so snapshots land one
// interval apart whatever the debugger asks for.
RunStop FlatTarget::run_to(uint64_t until) {
  until = std::min(until, max_insns_);
  if (diverged_) until = std::min(until, divergence_position_);
  for (;;) {
    if (diverged_ && position() >= divergence_position_) return diverged_stop();
    if (position() >= max_insns_) {
      end_ = StopReason::Limit;
      end_detail_ = "--max-insns reached";
      end_position_ = position();
      at_end_ = true;
      return ended_stop();
    }
    const Snapshot& last = snaps_.at_or_before(~uint64_t(0));
    const uint64_t next_snapshot = std::max(last.position + snaps_.interval(), position() + 1);
    const uint64_t limit = std::min(until, next_snapshot);
    StopReason r;
    try {
      r = cpu_->run(limit);
    } catch (const trace::TraceStopped&) {
      stop_at_divergence();
      return diverged_stop();
    }
    reached_ = std::max(reached_, position());
    if (snaps_.due(position())) {
      snaps_.take(mem_, position(), {CpuSnapshot::take(*cpu_)});
      if (gate_) gate_->mark(position());
    }
    RunStop out;
    switch (r) {
      case StopReason::Debug: out.kind = RunStop::Debug; return out;
      case StopReason::Hlt:
      case StopReason::Shutdown:
      case StopReason::Error:
        end_ = r;
        end_detail_ = r == StopReason::Hlt ? "" : cpu_->stop_detail;
        end_position_ = position();
        at_end_ = true;
        return ended_stop();
      default: break;
    }
    if (position() >= until || position() < limit) return out;  // done, or steps that retired nothing
  }
}

void FlatTarget::seek(uint64_t target) {
  try {
    rebuild_at(target);
  } catch (const trace::TraceStopped&) {
    // Re-execution went past the furthest point checked (events at the
    // boundary) and found the divergence there: rebuild again, with the
    // gate closed, no further than it.
    note_divergence();
    rebuild_at(std::min(target, divergence_position_));
  }
  cpu_->dbg.host = host_;
}

void FlatTarget::rebuild_at(uint64_t target) {
  const Snapshot& snap = snaps_.at_or_before(target);
  snaps_.restore_ram(snap, mem_);
  make_cpu();
  snap.cpus[0].restore(*cpu_);
  if (gate_) gate_->rewind(snap.position);
  at_end_ = false;
  cpu_->dbg.host = nullptr;  // re-execution does not stop at breakpoints
  // Determinism brings the run back to `target`; a bounded number of
  // attempts guards against a slice of steps that retire nothing.
  for (unsigned tries = 0; position() < target && tries < 1000000; ++tries) {
    const StopReason r = cpu_->run(target);
    if (r != StopReason::Limit) {
      end_ = r;
      end_position_ = position();
      at_end_ = true;
      break;
    }
  }
}

void FlatTarget::state_edited() {
  snaps_.reset(mem_, position(), {CpuSnapshot::take(*cpu_)});
  if (gate_) gate_->restart_history(position());
  reached_ = position();
}

}  // namespace softvt::gdb

namespace softvt::gdb {

RunOutcome run_flat_with_gdb(Memory& mem, const CpuState& init, const CpuModel& model, const RunOptions& opt,
                             const StubOptions& gdb, bool* killed) {
  FlatTarget target(mem, init, model, opt.io_write, opt.tracer, opt.max_insns);
  Stub stub(target, gdb);
  std::fprintf(stderr, "softvt: gdb stub listening on %s%s\n", gdb.address.c_str(),
               gdb.wait ? " (waiting for gdb before the first instruction)" : "");
  const RunStop end = stub.serve();
  RunOutcome out;
  out.state = target.cpu(0).s;
  if (killed) *killed = stub.killed();
  if (stub.killed()) {
    out.stop = StopReason::Limit;
    out.detail = "killed by gdb";
  } else {
    out.stop = target.final_stop() == StopReason::None ? StopReason::Limit : target.final_stop();
    out.detail = target.final_detail();
  }
  return out;
}

}  // namespace softvt::gdb
