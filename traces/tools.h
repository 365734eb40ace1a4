// The trace tools behind `softvt trace show|stats|diff` and `softvt
// replay` (emu/cli/trace_command.cpp). Each reads whole trace files and
// throws TraceError (naming the file, offset and problem) for a bad one,
// after writing out what it could read before the problem.
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "traces/format.h"
#include "traces/recorder.h"

namespace softvt::trace {

// ---- show ------------------------------------------------------------------
struct ShowOptions {
  uint64_t from = 0;
  uint64_t to = ~uint64_t(0);
  int64_t cpu = -1;  // -1: every CPU
  bool events_only = false;
  bool json = false;
};
void show_trace(const std::string& file, const ShowOptions& opt, std::FILE* out);

// ---- stats -----------------------------------------------------------------
struct TraceStats {
  TraceHeader header;
  bool ended = false;
  uint8_t stop = 0;
  std::string stop_detail;
  uint64_t retired = 0;        // the End record's count of retired instructions
  uint64_t insn_records = 0;   // instructions traced (a faulting one too)
  std::map<uint32_t, uint64_t> insns_by_cpu;
  uint64_t l1_insns = 0, l2_insns = 0;  // outside / inside VMX non-root or SVM guest mode
  uint64_t max_icount = 0;
  std::map<uint8_t, uint64_t> exceptions;                        // by vector
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> interrupts;    // by (vector, source)
  std::map<std::pair<uint8_t, uint64_t>, uint64_t> vm_exits;     // by (arch, reason)
  std::map<uint8_t, uint64_t> vm_entries;                        // by VmEntryKind
  std::map<std::string, uint64_t> failed_checks;
  std::map<uint16_t, uint64_t> io_ports;
  uint64_t io = 0, mmio = 0, mode_changes = 0, notes = 0, mem_writes = 0;
  uint64_t serial_input_bytes = 0, clock_readings = 0;  // recorded inputs
  struct Exit {
    uint64_t icount;
    uint32_t cpu;
    uint8_t arch;
    uint64_t reason;
  };
  std::vector<Exit> exit_events;  // in order (for the timeline)
  struct Span {
    uint64_t from, to;
    uint32_t cpu;
  };
  std::vector<Span> l2_spans;     // guest-mode intervals, by instruction count
};
TraceStats collect_stats(const std::string& file);
void print_stats(const TraceStats& s, std::FILE* out);
// A timeline of VM exits by reason (a lane each, guest-mode spans shaded)
// and a histogram of their counts; exceptions and interrupts stand in when
// the run made no VM exits.
std::string stats_svg(const TraceStats& s);

// ---- diff and replay ---------------------------------------------------------
// Compares two traces record by record; prints the first divergence with
// context. Returns true if they are identical.
bool diff_traces(const std::string& a, const std::string& b, std::FILE* out);
// What differs between two records, in words ("rip, bytes").
std::string record_differences(const Record& a, const Record& b);
void print_divergence(std::FILE* out, const ReplayDivergence& d);

}  // namespace softvt::trace
