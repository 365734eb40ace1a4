// `monitor trace-position` under `softvt replay FILE --gdb`: where the
// replayed machine is in its recording (traces/recorder.h,
// TraceChecker::describe_position).
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "traces/describe.h"
#include "traces/recorder.h"

namespace softvt::trace {

namespace {

std::string line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* fmt, ...) {
  char b[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  return std::string(b) + "\n";
}

}  // namespace

// The record of the CPU's next instruction is the first instruction record
// of that CPU with its count and RIP (a faulting instruction and the first
// of its handler share a count; the RIP tells them apart), else the first
// with a count at or after it.
std::string TraceChecker::describe_position(uint32_t cpu, uint64_t icount, uint64_t rip) const {
  TraceDecoder d(data_.data(), data_.size(), file_);
  RecordPrinter printer;
  Record r;
  uint64_t index = 0, retired = 0, found_index = 0;
  bool found = false, exact = false;
  std::string found_text;
  try {
    while (d.next(r)) {
      printer.observe(r);
      if (r.kind == Kind::End) retired = r.a;
      if (r.kind == Kind::Insn && r.cpu == cpu && !exact && r.icount >= icount &&
          (!found || (r.icount == icount && r.rip == rip))) {
        exact = r.icount == icount && r.rip == rip;
        found = true;
        found_index = index;
        found_text = printer.text(r);
      }
      ++index;
    }
  } catch (const TraceError& e) {
    return std::string("the recording cannot be read: ") + e.what() + "\n";
  }
  std::string out = line("replay of %s: %" PRIu64 " records, %" PRIu64 " instructions retired", file_.c_str(),
                         index, retired);
  out += line("CPU %u at instruction count %" PRIu64 ", RIP 0x%" PRIx64, cpu, icount, rip);
  if (found)
    out += line("its next instruction is record %" PRIu64 "%s: %s", found_index, exact ? "" : " (nearest)",
                found_text.c_str());
  else
    out += line("the recording has no instruction of CPU %u at or after this count", cpu);
  if (const Record* last = last_checked_insn())
    out += line("checked against the recording: %" PRIu64 " records, up to instruction count %" PRIu64, checked_,
                last->icount);
  if (diverged())
    out += line("the replay left the recording at instruction count %" PRIu64 " (record %" PRIu64 ")",
                first_divergence_->has_expected ? first_divergence_->expected.icount : first_divergence_->actual.icount,
                checked_);
  return out;
}

}  // namespace softvt::trace
