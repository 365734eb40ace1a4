// traces/trace_gate.h.
#include "traces/trace_gate.h"

#include <cstdio>
#include <cstdlib>

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

TraceGate::TraceGate(Cpu::Tracer* out) : out_(out) {
  wants_writes = out->wants_writes;
  marks_[0] = 0;
}

template <typename F>
void TraceGate::forward(F&& call) {
  if (!fresh()) return;
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

}  // namespace softvt::trace
