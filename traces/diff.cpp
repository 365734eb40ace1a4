#include <cstring>
#include <deque>

#include "traces/describe.h"
#include "traces/tools.h"

namespace softvt::trace {

namespace {
constexpr size_t CONTEXT = 5, AFTER = 3;

void add(std::string& out, bool differs, const char* what) {
  if (!differs) return;
  out += (out.empty() ? "" : ", ");
  out += what;
}

std::vector<std::string> header_differences(const TraceHeader& a, const TraceHeader& b) {
  std::vector<std::string> d;
  if (a.softvt_version != b.softvt_version) d.push_back("softvt version (" + a.softvt_version + " vs " + b.softvt_version + ")");
  if (a.description != b.description) d.push_back("machine (" + a.description + " vs " + b.description + ")");
  if (a.cpu_model != b.cpu_model) d.push_back("CPU model (" + a.cpu_model + " vs " + b.cpu_model + ")");
  if (a.options != b.options) d.push_back("options");
  bool images = a.images.size() != b.images.size();
  for (size_t i = 0; !images && i < a.images.size(); ++i) images = a.images[i].sha256 != b.images[i].sha256;
  if (images) d.push_back("image files");
  if (a.flags != b.flags) d.push_back("recorded detail");
  return d;
}

// The next record of a kind both traces recorded: register and memory
// detail is compared only when both have it.
bool next_common(TraceDecoder& d, Record& r, uint64_t common_flags) {
  while (d.next(r)) {
    if (r.kind == Kind::Regs && !(common_flags & header_flag::REGS)) continue;
    if (r.kind == Kind::MemWrite && !(common_flags & header_flag::MEM)) continue;
    return true;
  }
  return false;
}

// Reads up to AFTER further records; a damaged tail ends the list quietly
// (the divergence itself was found).
std::vector<Record> following(TraceDecoder& dec) {
  std::vector<Record> v;
  try {
    Record r;
    while (v.size() < AFTER && dec.next(r)) v.push_back(r);
  } catch (const TraceError&) {
  }
  return v;
}

void print_lines(std::FILE* out, const char* title, const std::vector<Record>& rs, RecordPrinter& p) {
  if (rs.empty()) return;
  std::fprintf(out, "%s\n", title);
  for (const Record& r : rs) {
    std::fprintf(out, "    %s\n", p.text(r).c_str());
    p.observe(r);
  }
}

}  // namespace

std::string record_differences(const Record& a, const Record& b) {
  std::string d;
  if (a.kind != b.kind) return std::string("record kind (") + kind_name(a.kind) + " vs " + kind_name(b.kind) + ")";
  add(d, a.cpu != b.cpu, "cpu");
  add(d, a.icount != b.icount, "instruction count");
  switch (a.kind) {
    case Kind::Insn:
      add(d, a.rip != b.rip, "rip");
      add(d, a.phys != b.phys, "physical address");
      add(d, a.len != b.len || std::memcmp(a.bytes, b.bytes, a.len) != 0, "instruction bytes");
      break;
    case Kind::Exception:
    case Kind::Interrupt:
      add(d, a.vector != b.vector, "vector");
      add(d, a.error != b.error, "error code");
      add(d, a.a != b.a, "cr2");
      add(d, a.sub != b.sub, "source");
      break;
    case Kind::VmExit:
      add(d, a.sub != b.sub, "architecture");
      add(d, a.a != b.a, "exit reason");
      add(d, a.b != b.b, "qualification");
      break;
    case Kind::Io:
    case Kind::Mmio:
    case Kind::MemWrite:
      add(d, a.sub != b.sub || a.size != b.size, "size or direction");
      add(d, a.a != b.a, "address");
      add(d, a.b != b.b, "value");
      break;
    case Kind::Regs: {
      for (const RegValue& x : a.regs) {
        bool same = false;
        for (const RegValue& y : b.regs) same |= x == y;
        add(d, !same, reg_name(x.reg));
      }
      for (const RegValue& y : b.regs) {
        bool named = false;
        for (const RegValue& x : a.regs) named |= x.reg == y.reg;
        add(d, !named, reg_name(y.reg));
      }
      break;
    }
    case Kind::SerialIn:
      add(d, a.a != b.a, "poll");
      add(d, a.text != b.text, "bytes");
      break;
    case Kind::HostClock:
      add(d, a.sub != b.sub, "clock");
      add(d, a.a != b.a, "value");
      break;
    case Kind::End:
      add(d, a.sub != b.sub, "stop reason");
      add(d, a.a != b.a, "instructions retired");
      add(d, a.text != b.text, "detail");
      break;
    default:
      add(d, a.sub != b.sub, "kind detail");
      add(d, a.text != b.text, "text");
      break;
  }
  return d.empty() ? "nothing" : d;
}

bool diff_traces(const std::string& fa, const std::string& fb, std::FILE* out) {
  const std::vector<uint8_t> da = read_trace_file(fa), db = read_trace_file(fb);
  TraceDecoder a(da.data(), da.size(), fa), b(db.data(), db.size(), fb);
  for (const std::string& h : header_differences(a.header(), b.header()))
    std::fprintf(out, "note: the headers differ in %s\n", h.c_str());
  const uint64_t common = a.header().flags & b.header().flags;
  RecordPrinter pa, pb;  // each side follows its own modes
  std::deque<Record> recent;
  uint64_t n = 0;
  for (;;) {
    Record ra, rb;
    const bool ha = next_common(a, ra, common), hb = next_common(b, rb, common);
    if (!ha && !hb) {
      std::fprintf(out, "the traces are identical: %llu records\n", (unsigned long long)n);
      return true;
    }
    if (ha && hb && ra.same_as(rb)) {
      pa.observe(ra);
      pb.observe(rb);
      recent.push_back(ra);
      if (recent.size() > CONTEXT) recent.pop_front();
      ++n;
      continue;
    }
    // Only one side can have ended here: after an End record; the other
    // has a record the first lacks.
    const Record& any = ha ? ra : rb;
    std::fprintf(out, "first divergence at record %llu (instruction count %llu, cpu %u):\n", (unsigned long long)n,
                 (unsigned long long)any.icount, any.cpu);
    std::fprintf(out, "  A %s: %s\n", fa.c_str(), ha ? pa.text(ra).c_str() : "(trace ended)");
    std::fprintf(out, "  B %s: %s\n", fb.c_str(), hb ? pb.text(rb).c_str() : "(trace ended)");
    if (ha && hb) std::fprintf(out, "  differs: %s\n", record_differences(ra, rb).c_str());
    std::vector<Record> before(recent.begin(), recent.end());
    // The context records were already observed by pa: print them with A's modes.
    if (!before.empty()) {
      std::fprintf(out, "before it (both):\n");
      for (const Record& r : before) std::fprintf(out, "    %s\n", pa.text(r).c_str());
    }
    if (ha) {
      pa.observe(ra);
      print_lines(out, "after it in A:", following(a), pa);
    }
    if (hb) {
      pb.observe(rb);
      print_lines(out, "after it in B:", following(b), pb);
    }
    return false;
  }
}

void print_divergence(std::FILE* out, const ReplayDivergence& d) {
  const Record& any = d.has_expected ? d.expected : d.actual;
  std::fprintf(out, "replay diverges at instruction count %llu, cpu %u: %s\n", (unsigned long long)any.icount, any.cpu,
               d.what.c_str());
  RecordPrinter p;
  for (size_t cpu = 0; cpu < d.modes.size(); ++cpu)
    if (d.modes[cpu] != 0xff) p.set_mode(uint32_t(cpu), d.modes[cpu]);
  std::fprintf(out, "  recorded: %s\n", d.has_expected ? p.text(d.expected).c_str() : "(the recording ended)");
  std::fprintf(out, "  replayed: %s\n", d.has_actual ? p.text(d.actual).c_str() : "(the replay ended)");
  if (d.has_expected && d.has_actual)
    std::fprintf(out, "  differs: %s\n", record_differences(d.expected, d.actual).c_str());
  if (!d.context.empty()) {
    std::fprintf(out, "before it (both):\n");
    for (const Record& r : d.context) std::fprintf(out, "    %s\n", p.text(r).c_str());
  }
  if (!d.expected_after.empty()) {
    std::fprintf(out, "after it in the recording:\n");
    for (const Record& r : d.expected_after) std::fprintf(out, "    %s\n", p.text(r).c_str());
  }
}

}  // namespace softvt::trace
