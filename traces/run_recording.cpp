#include "traces/run_recording.h"

#include <climits>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <set>

#include "softvt_version.h"

namespace softvt::trace {

namespace {

TraceChecker* g_replay = nullptr;

// Output-only options of `softvt run` and whether they take a value.
const std::set<std::string> OUTPUT_WITH_VALUE = {"--record", "--trace", "--dump-state", "--dump-mem",
                                                 "--debugcon", "--serial", "--gdb"};
const std::set<std::string> OUTPUT_FLAGS = {"--record-regs", "--record-mem", "--wait-gdb"};

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf)) return buf;
  return path;
}

std::string model_description(const CpuModel& m) {
  char b[160];
  std::snprintf(b, sizeof b, "%s (%s), features 0x%llx, MAXPHYADDR %u, linear %u", m.name.c_str(),
                m.amd() ? "AMD" : "Intel", (unsigned long long)m.features, m.phys_addr_bits, m.lin_addr_bits);
  return b;
}

ImageHash hash_image(const std::string& option, const std::string& path) {
  ImageHash h;
  h.option = option;
  h.path = absolute(path);
  const std::vector<uint8_t> data = read_file(path, option, uint64_t(1) << 40);
  h.size = data.size();
  h.sha256 = sha256(data.data(), data.size());
  return h;
}

}  // namespace

bool parse_record_option(const std::string& o, ArgReader& a, RecordOptions& r) {
  if (o == "--record") r.path = a.value(o);
  else if (o == "--record-regs") r.regs = true;
  else if (o == "--record-mem") r.mem = true;
  else return false;
  return true;
}

std::vector<std::string> replayable_options(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 2; i < argc; ++i) {
    const std::string o = argv[i];
    if (OUTPUT_FLAGS.count(o)) continue;
    if (OUTPUT_WITH_VALUE.count(o)) {
      ++i;
      continue;
    }
    out.push_back(o);
  }
  return out;
}

namespace {

// The path of each entry of an --initrd list ("PATH ARGS,PATH2").
std::vector<std::string> initrd_paths(const std::string& list) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= list.size();) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string entry = list.substr(start, end - start);
    out.push_back(entry.substr(0, entry.find(' ')));
    start = end + 1;
  }
  return out;
}

// For a replay: each image path the recorded options name (as the user
// gave it, which the guest may see: a multiboot command line starts with
// the kernel's path) -> the absolute path the recording hashed.
std::map<std::string, std::string> recorded_image_paths(const TraceHeader& h) {
  std::map<std::string, std::vector<std::string>> given;  // by option, in order
  for (size_t i = 0; i + 1 < h.options.size(); ++i) {
    const std::string& o = h.options[i];
    if (o == "--flat" || o == "--kernel") given[o].push_back(h.options[++i]);
    else if (o == "--initrd")
      for (const std::string& p : initrd_paths(h.options[++i])) given[o].push_back(p);
  }
  std::map<std::string, std::string> out;
  std::map<std::string, size_t> next;
  for (const ImageHash& img : h.images) {
    const std::vector<std::string>& names = given[img.option];
    const size_t k = next[img.option]++;
    if (k < names.size()) out[names[k]] = img.path;
  }
  return out;
}

std::map<std::string, std::string> g_image_paths;

}  // namespace

void set_replay_checker(TraceChecker* checker) {
  g_replay = checker;
  g_image_paths = checker ? recorded_image_paths(checker->header()) : std::map<std::string, std::string>{};
}
TraceChecker* replay_checker() { return g_replay; }

std::string image_path(const std::string& path) {
  const auto it = g_image_paths.find(path);
  return it == g_image_paths.end() ? path : it->second;
}

std::function<std::string(const Cpu&, uint64_t)> replay_position_reporter() {
  if (!g_replay) return nullptr;
  TraceChecker* checker = g_replay;
  // The count is the CPU's own (the recording's records carry it); the
  // machine's position is the sum over CPUs.
  return [checker](const Cpu& cpu, uint64_t) {
    return checker->describe_position(cpu.initial_apic_id, cpu.s.insn_count, cpu.s.rip);
  };
}

std::unique_ptr<RunRecording> RunRecording::open(const RecordOptions& opt, int argc, char** argv,
                                                 const RunDescription& d) {
  if ((opt.regs || opt.mem) && opt.path.empty() && !g_replay)
    throw UsageError("--record-regs/--record-mem need --record FILE");
  if (opt.path.empty() && !g_replay) return nullptr;
  std::unique_ptr<RunRecording> r(new RunRecording);
  if (g_replay) {
    r->rec_ = g_replay;
    return r;
  }
  TraceHeader h;
  h.softvt_version = SOFTVT_VERSION;
  h.machine = d.machine;
  h.description = d.description;
  h.cpu_model = d.model ? model_description(*d.model) : "";
  h.flags = (opt.regs ? header_flag::REGS : 0) | (opt.mem ? header_flag::MEM : 0) |
            (d.inputs ? header_flag::INPUTS : 0);
  h.options = replayable_options(argc, argv);
  for (const auto& [option, path] : d.images) h.images.push_back(hash_image(option, path));
  r->path_ = opt.path;
  try {
    r->writer_ = std::make_unique<TraceWriter>(opt.path, h);
  } catch (const std::exception& e) {
    throw UsageError(std::string("--record: ") + e.what());
  }
  r->rec_ = r->writer_.get();
  return r;
}

RunRecording::~RunRecording() = default;

Cpu::Tracer* RunRecording::tracer(Cpu::Tracer* text) {
  if (!text) return rec_;
  tee_ = std::make_unique<TeeTracer>(*text, *rec_);
  return tee_.get();
}

void RunRecording::attach_memory(Memory& mem) { rec_->attach_memory(mem); }

void RunRecording::stopped_early() {
  if (!writer_ && g_replay) g_replay->stop_early();
}

void RunRecording::finish(StopReason stop, uint64_t total_insns, const std::string& detail) {
  rec_->end(stop, total_insns, detail);
  if (writer_ && !writer_->finish()) throw UsageError("--record: cannot write '" + path_ + "'");
}

}  // namespace softvt::trace
