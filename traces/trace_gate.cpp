// traces/trace_gate.h.
#include "traces/trace_gate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "traces/recorder.h"
#include "traces/tools.h"

namespace softvt::trace {

namespace {

// The replay's divergence report (print_divergence) as text.
std::string divergence_text(const ReplayDivergence& d) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  if (!f) return d.what + "\n";
  print_divergence(f, d);
  std::fclose(f);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

}  // namespace

TraceGate::TraceGate(Cpu::Tracer* out, InputLog* inputs) : inputs_(inputs), out_(out) {
  wants_writes = out && out->wants_writes;
  marks_[0] = 0;
}

template <typename F>
void TraceGate::forward(F&& call) {
  if (!fresh() || !out_) return;
  try {
    call();
  } catch (const ReplayDivergence& d) {
    closed_ = true;
    report_ = divergence_text(d);
    throw TraceStopped{};
  }
}

void TraceGate::gate_memory(Memory& mem) {
  if (!mem.on_mmio) return;
  mem.on_mmio = [this, inner = mem.on_mmio](uint64_t phys, unsigned size, uint64_t value, bool write) {
    forward([&] { inner(phys, size, value, write); });
  };
}

void TraceGate::mark(uint64_t position) { marks_[position] = seq_; }

void TraceGate::rewind(uint64_t position) {
  const auto it = marks_.find(position);
  seq_ = it != marks_.end() ? it->second : marks_.begin()->second;
}

void TraceGate::restart_history(uint64_t position) {
  marks_.clear();
  marks_[position] = seq_;
  taken_.erase(taken_.lower_bound(seq_), taken_.end());
  inputs_end_ = seq_;
}

void TraceGate::insn(const Cpu& c, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) {
  forward([&] { out_->insn(c, rip, phys, bytes, len); });
}
void TraceGate::exception(const Cpu& c, const GuestException& e) {
  forward([&] { out_->exception(c, e); });
}
void TraceGate::note(const Cpu& c, const std::string& text) {
  forward([&] { out_->note(c, text); });
}
void TraceGate::interrupt(const Cpu& c, uint8_t vector, EventType type) {
  forward([&] { out_->interrupt(c, vector, type); });
}
void TraceGate::vm_entry(const Cpu& c, VmEntryKind k) {
  forward([&] { out_->vm_entry(c, k); });
}
void TraceGate::vm_exit(const Cpu& c, VmArch arch, uint64_t reason, uint64_t qualification) {
  forward([&] { out_->vm_exit(c, arch, reason, qualification); });
}
void TraceGate::vm_entry_failed(const Cpu& c, const char* check) {
  forward([&] { out_->vm_entry_failed(c, check); });
}
void TraceGate::io(const Cpu& c, uint16_t port, unsigned size, uint64_t value, bool write) {
  forward([&] { out_->io(c, port, size, value, write); });
}
void TraceGate::mem_write(const Cpu& c, uint64_t lin, unsigned size, uint64_t value) {
  forward([&] { out_->mem_write(c, lin, size, value); });
}

// ---- inputs ------------------------------------------------------------------

namespace {

std::string describe(uint8_t kind, uint8_t sub, uint32_t cpu, uint64_t icount) {
  static const char* const kinds[] = {"a host-clock reading", "a look for COM1 input", "a check for Ctrl-C"};
  return std::string(kinds[kind]) + (kind == 0 ? (sub ? " (wall clock)" : " (monotonic)") : "") + " on CPU " +
         std::to_string(cpu) + " at instruction count " + std::to_string(icount);
}

}  // namespace

TraceGate::TakenInput TraceGate::where(const Cpu& c, InputKind kind) {
  TakenInput in;
  in.kind = kind;
  in.cpu = c.initial_apic_id;
  in.icount = c.s.insn_count;
  return in;
}

const TraceGate::TakenInput* TraceGate::replayed(const TakenInput& want) {
  const uint64_t n = seq_++;
  if (n >= inputs_end_) {
    // A new input: the timeline goes on past everything known.
    if (closed_) throw TraceStopped{};
    if (seq_ > furthest_) furthest_ = seq_;
    return nullptr;
  }
  const auto it = taken_.find(n);
  const TakenInput* old = it == taken_.end() ? nullptr : &it->second;
  if (!old || old->kind != want.kind || old->cpu != want.cpu || old->icount != want.icount ||
      (want.kind == InputKind::HostReading && old->sub != want.sub) ||
      (want.kind == InputKind::Serial && old->value != want.value)) {
    const std::string first = old ? describe(uint8_t(old->kind), old->sub, old->cpu, old->icount)
                                  : std::string("no input");
    throw std::runtime_error("re-executing the run took " +
                             describe(uint8_t(want.kind), want.sub, want.cpu, want.icount) + " where the run took " +
                             first + " (input " + std::to_string(n) +
                             " of the timeline): the re-execution is not exact, reverse execution cannot go on");
  }
  return old;
}

void TraceGate::keep(uint64_t seq, TakenInput in) {
  taken_[seq] = std::move(in);
  inputs_end_ = seq + 1;
}

// A new input from the gate's source; a divergence from the recording
// closes the gate as a tracer callback's does.
template <typename F>
auto TraceGate::from_source(F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const ReplayDivergence& d) {
    closed_ = true;
    report_ = divergence_text(d);
    throw TraceStopped{};
  }
}

uint64_t TraceGate::host_reading(const Cpu& running, HostReading kind, const std::function<uint64_t()>& live) {
  TakenInput in = where(running, InputKind::HostReading);
  in.sub = uint8_t(kind);
  const uint64_t n = seq_;
  if (const TakenInput* old = replayed(in)) return old->value;
  in.value = inputs_ ? from_source([&] { return inputs_->host_reading(running, kind, live); }) : live();
  const uint64_t value = in.value;
  keep(n, std::move(in));
  return value;
}

unsigned TraceGate::serial_input(const Cpu& running, uint64_t poll, uint8_t* out, unsigned room,
                                 const std::function<int()>& live) {
  TakenInput in = where(running, InputKind::Serial);
  in.value = poll;
  const uint64_t n = seq_;
  if (const TakenInput* old = replayed(in)) {
    const unsigned got = unsigned(std::min<size_t>(old->bytes.size(), room));
    std::memcpy(out, old->bytes.data(), got);
    return got;
  }
  const unsigned got = inputs_ ? from_source([&] { return inputs_->serial_input(running, poll, out, room, live); })
                               : read_live_bytes(live, out, room);
  in.bytes.assign(reinterpret_cast<const char*>(out), got);
  keep(n, std::move(in));
  return got;
}

bool TraceGate::stop_requested(const Cpu& running, bool live) {
  TakenInput in = where(running, InputKind::Stop);
  const uint64_t n = seq_;
  if (const TakenInput* old = replayed(in)) return old->value != 0;
  in.value = inputs_ ? from_source([&] { return inputs_->stop_requested(running, live); }) : live;
  const bool stop = in.value != 0;
  keep(n, std::move(in));
  return stop;
}

}  // namespace softvt::trace
