#include <algorithm>

#include "traces/describe.h"
#include "traces/tools.h"

namespace softvt::trace {

namespace {
constexpr size_t MAX_TIMELINE_EVENTS = 1u << 20;  // memory guard for huge traces
constexpr size_t MAX_SPANS = 1u << 16;
}  // namespace

TraceStats collect_stats(const std::string& file) {
  const std::vector<uint8_t> data = read_trace_file(file);
  TraceDecoder dec(data.data(), data.size(), file);
  TraceStats s;
  s.header = dec.header();
  std::map<uint32_t, uint64_t> l2_since;  // CPUs in guest mode: since when
  Record r;
  while (dec.next(r)) {
    s.max_icount = std::max(s.max_icount, r.icount);
    const bool in_l2 = l2_since.count(r.cpu);
    switch (r.kind) {
      case Kind::Insn:
        ++s.insn_records;
        ++s.insns_by_cpu[r.cpu];
        ++(in_l2 ? s.l2_insns : s.l1_insns);
        break;
      case Kind::Mode: ++s.mode_changes; break;
      case Kind::Exception: ++s.exceptions[r.vector]; break;
      case Kind::Interrupt: ++s.interrupts[{r.vector, r.sub}]; break;
      case Kind::VmEntry:
        ++s.vm_entries[r.sub];
        if (!in_l2) l2_since[r.cpu] = r.icount;
        break;
      case Kind::VmExit:
        ++s.vm_exits[{r.sub, r.a}];
        if (s.exit_events.size() < MAX_TIMELINE_EVENTS) s.exit_events.push_back({r.icount, r.cpu, r.sub, r.a});
        if (in_l2) {
          if (s.l2_spans.size() < MAX_SPANS) s.l2_spans.push_back({l2_since[r.cpu], r.icount, r.cpu});
          l2_since.erase(r.cpu);
        }
        break;
      case Kind::VmEntryFailed: ++s.failed_checks[r.text]; break;
      case Kind::Io:
        ++s.io;
        ++s.io_ports[uint16_t(r.a)];
        break;
      case Kind::Mmio: ++s.mmio; break;
      case Kind::Note: ++s.notes; break;
      case Kind::MemWrite: ++s.mem_writes; break;
      case Kind::Regs: break;
      case Kind::SerialIn: s.serial_input_bytes += r.text.size(); break;
      case Kind::HostClock: ++s.clock_readings; break;
      case Kind::StopRequest: break;  // the end record's detail says it
      case Kind::End:
        s.ended = true;
        s.stop = r.sub;
        s.retired = r.a;
        s.stop_detail = r.text;
        break;
    }
  }
  for (const auto& [cpu, since] : l2_since)
    if (s.l2_spans.size() < MAX_SPANS) s.l2_spans.push_back({since, s.max_icount, cpu});
  return s;
}

void print_stats(const TraceStats& s, std::FILE* out) {
  const auto pct = [](uint64_t part, uint64_t whole) { return whole ? 100.0 * double(part) / double(whole) : 0.0; };
  std::fprintf(out, "machine: %s\n", s.header.description.c_str());
  std::fprintf(out, "end: %s%s%s\n", stop_name(s.stop), s.stop_detail.empty() ? "" : ": ", s.stop_detail.c_str());
  std::fprintf(out, "instructions retired: %llu\n", (unsigned long long)s.retired);
  std::fprintf(out, "instructions traced: %llu (faulting instructions included)\n",
               (unsigned long long)s.insn_records);
  if (s.insns_by_cpu.size() > 1)
    for (const auto& [cpu, n] : s.insns_by_cpu) std::fprintf(out, "  cpu%u: %llu\n", cpu, (unsigned long long)n);
  std::fprintf(out, "time in L1: %llu instructions (%.1f%%), in L2 (guest mode): %llu (%.1f%%)\n",
               (unsigned long long)s.l1_insns, pct(s.l1_insns, s.insn_records), (unsigned long long)s.l2_insns,
               pct(s.l2_insns, s.insn_records));
  std::fprintf(out, "mode changes: %llu\n", (unsigned long long)s.mode_changes);
  std::fprintf(out, "exceptions by vector:%s\n", s.exceptions.empty() ? " none" : "");
  for (const auto& [v, n] : s.exceptions)
    std::fprintf(out, "  %-4s (%2u): %llu\n", exception_mnemonic(v), v, (unsigned long long)n);
  std::fprintf(out, "interrupts by vector:%s\n", s.interrupts.empty() ? " none" : "");
  for (const auto& [k, n] : s.interrupts)
    std::fprintf(out, "  0x%02x %s: %llu\n", k.first, interrupt_source(k.second), (unsigned long long)n);
  uint64_t entries = 0, exits = 0;
  for (const auto& [k, n] : s.vm_entries) entries += n;
  for (const auto& [k, n] : s.vm_exits) exits += n;
  std::fprintf(out, "VM entries: %llu", (unsigned long long)entries);
  for (const auto& [k, n] : s.vm_entries)
    std::fprintf(out, " %s %llu", k == 0 ? "VMLAUNCH" : k == 1 ? "VMRESUME" : "VMRUN", (unsigned long long)n);
  std::fprintf(out, "\nVM exits by reason: %llu%s\n", (unsigned long long)exits, exits ? "" : " (none)");
  // Most frequent first.
  std::vector<std::pair<std::pair<uint8_t, uint64_t>, uint64_t>> by(s.vm_exits.begin(), s.vm_exits.end());
  std::stable_sort(by.begin(), by.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [k, n] : by)
    std::fprintf(out, "  %-40s %s %-6s %llu\n", vm_exit_name(k.first, k.second).c_str(), k.first ? "svm" : "vmx",
                 hex(k.second).c_str(), (unsigned long long)n);
  std::fprintf(out, "failed VM entries:%s\n", s.failed_checks.empty() ? " none" : "");
  for (const auto& [name, n] : s.failed_checks) std::fprintf(out, "  %s: %llu\n", name.c_str(), (unsigned long long)n);
  std::fprintf(out, "port I/O: %llu accesses", (unsigned long long)s.io);
  for (const auto& [port, n] : s.io_ports) std::fprintf(out, " [0x%x: %llu]", port, (unsigned long long)n);
  std::fprintf(out, "\nMMIO: %llu accesses\n", (unsigned long long)s.mmio);
  if (s.mem_writes) std::fprintf(out, "memory writes: %llu\n", (unsigned long long)s.mem_writes);
  std::fprintf(out, "notes: %llu\n", (unsigned long long)s.notes);
  if (s.serial_input_bytes || s.clock_readings)
    std::fprintf(out, "inputs: %llu bytes of COM1 input, %llu host-clock readings\n",
                 (unsigned long long)s.serial_input_bytes, (unsigned long long)s.clock_readings);
}

}  // namespace softvt::trace
