// The PC machine under gdb (traces/gdb_pc_target.h).
#include "traces/gdb_pc_target.h"

#include <algorithm>
#include <cstdio>

namespace softvt::gdb {

PcTarget::PcTarget(std::unique_ptr<Pc>& pc, trace::TraceGate* gate)
    : pc_(pc), gate_(gate), max_insns_(pc->config().max_insns) {
  attach(*pc_);
  snaps_.reset(pc_->mem(), position(), cpu_snapshots(), pc_->save_state());
  if (gate_) gate_->mark(position());
}

std::vector<CpuSnapshot> PcTarget::cpu_snapshots() const {
  std::vector<CpuSnapshot> v;
  for (unsigned i = 0; i < pc_->cpu_count(); ++i) v.push_back(CpuSnapshot::take(pc_->cpu(i)));
  return v;
}

void PcTarget::take_snapshot_if_due() {
  if (!snaps_.due(position())) return;
  snaps_.take(pc_->mem(), position(), cpu_snapshots(), pc_->save_state());
  if (gate_) gate_->mark(position());
}

// The debugger changed registers or memory: the history restarts here.
void PcTarget::state_edited() {
  snaps_.reset(pc_->mem(), position(), cpu_snapshots(), pc_->save_state());
  if (gate_) gate_->restart_history(position());
  reached_ = position();
}

// The machine reports its slices and honours the per-CPU limit.
void PcTarget::attach(Pc& pc) {
  pc.on_slice = [this](unsigned cpu) { note_slice(cpu); };
  pc.set_cpu_insn_limit(limit_cpu_, limit_count_);
}

void PcTarget::note_slice(unsigned cpu) {
  const auto [it, inserted] = schedule_.insert_or_assign(pc_->total_insns(), cpu);
  (void)inserted;
  // Only where the CPU changes (a slice that retired nothing at the same
  // position is replaced by the one after it).
  if (it != schedule_.begin() && std::prev(it)->second == cpu) schedule_.erase(it);
}

std::optional<uint64_t> PcTarget::previous_step(unsigned cpu, uint64_t position) const {
  for (uint64_t p = position; p > history_start();) {
    auto it = schedule_.upper_bound(p - 1);
    if (it == schedule_.begin()) return std::nullopt;
    --it;  // the entry of the instruction at p - 1
    if (it->second == cpu) return p - 1;
    p = it->first;  // that CPU's run began here: look before it
  }
  return std::nullopt;
}

void PcTarget::set_cpu_limit(unsigned cpu, uint64_t count) {
  limit_cpu_ = cpu;
  limit_count_ = count;
  pc_->set_cpu_insn_limit(cpu, count);
}

RunStop PcTarget::diverged_stop() const {
  RunStop r;
  r.kind = RunStop::Diverged;
  r.detail = divergence_;
  return r;
}

void PcTarget::set_host_debugger(HostDebugger* host) {
  host_ = host;
  for (unsigned i = 0; i < pc_->cpu_count(); ++i) pc_->cpu(i).dbg.host = host;
}

RunStop PcTarget::resume(uint64_t until) {
  for (unsigned i = 0; i < pc_->cpu_count(); ++i) pc_->cpu(i).dbg.host_hit = false;
  if (diverged_) {
    if (position() >= divergence_position_) return diverged_stop();
    until = std::min(until, divergence_position_);
  }
  // In pieces that end where a snapshot is due, so snapshots land one
  // interval apart whatever the debugger asks for.
  for (;;) {
    const uint64_t next_snapshot = std::max(snaps_.last().position + snaps_.interval(), position() + 1);
    const uint64_t limit = std::min({until, max_insns_, next_snapshot});
    pc_->set_max_insns(limit);
    try {
      outcome_ = pc_->run();
    } catch (const trace::TraceStopped&) {
      // The replay left its recording: the machine is rebuilt at that
      // instruction count and goes no further.
      diverged_ = true;
      divergence_position_ = position();
      divergence_ = gate_->report();
      seek(divergence_position_);
      return diverged_stop();
    }
    reached_ = std::max(reached_, position());
    if (outcome_.reason != "limit") break;
    take_snapshot_if_due();
    if (position() < limit || limit == until || limit == max_insns_) break;
  }
  RunStop r;
  r.cpu = pc_->running_cpu();
  if (outcome_.reason == "limit" && position() < max_insns_) return r;
  if (outcome_.reason == "debug") {
    r.kind = RunStop::Debug;
    return r;
  }
  r.detail = outcome_.message;
  r.exit_status = outcome_.status;
  if (outcome_.reason == "power-off" || outcome_.reason == "debug-exit" || outcome_.reason == "reset")
    r.kind = RunStop::Exited;
  else if (outcome_.reason == "halted" || outcome_.reason == "limit")
    r.kind = RunStop::Halted;
  else
    r.kind = RunStop::Ended;
  return r;
}

std::string PcTarget::reverse_unsupported() const {
  if (!pc_->counts_instructions()) return "the CPUs run on an engine that counts no instructions (--accel kvm)";
  // Inputs from outside the machine (the host clock, standard input) are
  // fine when the gate keeps them: a re-execution is given the ones the
  // run took (traces/trace_gate.h).
  if (gate_ && pc_->config().inputs == static_cast<InputLog*>(gate_)) return "";
  if (pc_->config().clock != ClockSource::Instructions)
    return "guest time follows the host clock (--clock host), so a re-execution would not retrace the run; "
           "use --clock insns";
  if (pc_->config().serial_in)
    return "COM1 reads standard input (--serial stdio), which a re-execution cannot read again; "
           "use --serial none or --serial file:PATH";
  return "";
}

void PcTarget::seek(uint64_t target) {
  try {
    rebuild_at(target);
  } catch (const trace::TraceStopped&) {
    // Found past the furthest point checked, at the boundary.
    if (!diverged_) {
      diverged_ = true;
      divergence_position_ = position();
      divergence_ = gate_->report();
    }
    try {
      rebuild_at(std::min(target, divergence_position_));
    } catch (const trace::TraceStopped&) {
      // Only inputs at the divergence itself are unknown, and a rebuild
      // stops in front of them; should one be asked for anyway, the state
      // stays where the re-execution got to.
    }
  }
  set_host_debugger(host_);
  pc_->set_cpu_insn_limit(limit_cpu_, limit_count_);
}

void PcTarget::rebuild_at(uint64_t target) {
  const Snapshot& snap = snaps_.at_or_before(target);
  snaps_.restore_ram(snap, pc_->mem());
  for (unsigned i = 0; i < pc_->cpu_count(); ++i) snap.cpus[i].restore(pc_->cpu(i));
  pc_->restore_state(snap.devices);
  for (unsigned i = 0; i < pc_->cpu_count(); ++i) pc_->cpu(i).dbg.host = nullptr;  // no stops while re-executing
  pc_->set_cpu_insn_limit(Pc::NO_CPU, 0);  // re-execution goes to `target` only
  if (gate_) gate_->rewind(snap.position);
  pc_->set_max_insns(target);
  // Re-execution does not stop at breakpoints; it ends at `target` (a
  // slice of steps that retire nothing may end it earlier: go on).
  for (unsigned tries = 0; position() < target && tries < 1000000; ++tries) {
    outcome_ = pc_->run();
    if (outcome_.reason != "limit") break;
  }
}

PcOutcome run_pc_with_gdb(std::unique_ptr<Pc>& pc, const PcFactory& rebuild, const StubOptions& gdb,
                          trace::TraceGate* gate, bool* killed) {
  PcTarget* self = nullptr;
  // The machine is built here with its console gated (output re-executed
  // after a snapshot was restored is not written again).
  std::unique_ptr<Pc> gated = rebuild([&self] { return !self || self->output_allowed(); });
  pc = std::move(gated);
  PcTarget target(pc, gate);
  self = &target;
  Stub stub(target, gdb);
  std::fprintf(stderr, "softvt: gdb stub listening on %s%s\n", gdb.address.c_str(),
               gdb.wait ? " (waiting for gdb before the first instruction)" : "");
  stub.serve();
  if (killed) *killed = stub.killed();
  if (stub.killed()) return PcOutcome{pc_exit::INTERRUPTED, "killed", "killed by gdb"};
  return target.outcome();
}

}  // namespace softvt::gdb
