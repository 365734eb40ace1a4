// softvt trace show|stats|diff and softvt replay (traces/README.md).
// Exit status: 0 done (diff: identical; replay: retraced exactly), 1 the
// traces differ / the replay diverged, 2 bad input: an option, a trace
// file (named, with the byte offset and the problem) or a changed image.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/cli/commands.h"
#include "emu/cli/options.h"
#include "traces/run_recording.h"
#include "traces/tools.h"

namespace softvt {
namespace {

using trace::TraceError;

int trace_show(ArgReader& a) {
  trace::ShowOptions opt;
  std::string file;
  while (!a.done()) {
    const std::string o = a.next();
    if (o == "--from") opt.from = parse_number(a.value(o), "--from");
    else if (o == "--to") opt.to = parse_number(a.value(o), "--to");
    else if (o == "--cpu") opt.cpu = int64_t(parse_number(a.value(o), "--cpu"));
    else if (o == "--events-only") opt.events_only = true;
    else if (o == "--format") {
      const std::string f = a.value(o);
      if (f != "text" && f != "json") throw UsageError("--format: unknown format '" + f + "' (expected text or json)");
      opt.json = f == "json";
    } else if (o.rfind("--", 0) == 0) throw UsageError("unknown option '" + o + "' for trace show");
    else if (file.empty()) file = o;
    else throw UsageError("trace show takes one trace file (got '" + file + "' and '" + o + "')");
  }
  if (file.empty()) throw UsageError("trace show: missing the trace FILE");
  trace::show_trace(file, opt, stdout);
  return 0;
}

int trace_stats(ArgReader& a) {
  std::string file, svg;
  while (!a.done()) {
    const std::string o = a.next();
    if (o == "--svg") svg = a.value(o);
    else if (o.rfind("--", 0) == 0) throw UsageError("unknown option '" + o + "' for trace stats");
    else if (file.empty()) file = o;
    else throw UsageError("trace stats takes one trace file (got '" + file + "' and '" + o + "')");
  }
  if (file.empty()) throw UsageError("trace stats: missing the trace FILE");
  const trace::TraceStats s = trace::collect_stats(file);
  trace::print_stats(s, stdout);
  if (!svg.empty()) {
    std::FILE* f = std::fopen(svg.c_str(), "w");
    if (!f) throw UsageError("--svg: cannot write '" + svg + "': " + std::strerror(errno));
    const std::string pic = trace::stats_svg(s);
    bool ok = std::fwrite(pic.data(), 1, pic.size(), f) == pic.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw UsageError("--svg: cannot write '" + svg + "'");
  }
  return 0;
}

int trace_diff(ArgReader& a) {
  std::vector<std::string> files;
  while (!a.done()) {
    const std::string o = a.next();
    if (o.rfind("--", 0) == 0) throw UsageError("unknown option '" + o + "' for trace diff");
    files.push_back(o);
  }
  if (files.size() != 2) throw UsageError("trace diff takes two trace files");
  return trace::diff_traces(files[0], files[1], stdout) ? 0 : 1;
}

// The images the recording ran, unchanged: a replay of other code would
// only report a meaningless divergence.
void check_images(const trace::TraceHeader& h) {
  for (const trace::ImageHash& img : h.images) {
    const std::vector<uint8_t> data = read_file(img.path, "image " + img.option, uint64_t(1) << 40);
    const Sha256Digest d = sha256(data.data(), data.size());
    if (d != img.sha256)
      throw UsageError("image '" + img.path + "' (" + img.option + ") has changed since the recording: SHA-256 " +
                       sha256_hex(d) + ", " + std::to_string(data.size()) + " bytes; recorded " +
                       sha256_hex(img.sha256) + ", " + std::to_string(img.size) + " bytes");
  }
}

struct ReplayScope {
  explicit ReplayScope(trace::TraceChecker& c) { trace::set_replay_checker(&c); }
  ~ReplayScope() { trace::set_replay_checker(nullptr); }
};

}  // namespace

int trace_command(int argc, char** argv) {
  if (argc < 3) throw UsageError("expected show, stats or diff");
  const std::string sub = argv[2];
  ArgReader a(argc, argv, 3);
  try {
    if (sub == "show") return trace_show(a);
    if (sub == "stats") return trace_stats(a);
    if (sub == "diff") return trace_diff(a);
  } catch (const TraceError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "softvt trace %s: %s\n", sub.c_str(), e.what());
    return 2;
  }
  throw UsageError("unknown trace command '" + sub + "' (expected show, stats or diff)");
}

int replay_command(int argc, char** argv) {
  ArgReader a(argc, argv, 2);
  std::string file, gdb;
  bool wait_gdb = false;
  while (!a.done()) {
    const std::string o = a.next();
    if (o == "--gdb") {
      gdb = a.value(o);
      continue;
    }
    if (o == "--wait-gdb") {
      wait_gdb = true;
      continue;
    }
    if (o.rfind("--", 0) == 0) throw UsageError("unknown option '" + o + "' for replay");
    if (!file.empty()) throw UsageError("replay takes one trace file");
    file = o;
  }
  if (file.empty()) throw UsageError("missing the trace FILE to replay");
  if (wait_gdb && gdb.empty()) throw UsageError("--wait-gdb needs --gdb tcp:HOST:PORT");
  try {
    const std::vector<uint8_t> data = trace::read_trace_file(file);
    trace::TraceChecker checker(data, file);
    const trace::TraceHeader& h = checker.header();
    check_images(h);
    // The recorded run's command line, without what only named outputs
    // (a damaged header must not make the replay write files).
    std::vector<std::string> args = {"softvt", "run"};
    args.insert(args.end(), h.options.begin(), h.options.end());
    std::vector<char*> raw;
    for (std::string& s : args) raw.push_back(s.data());
    std::vector<std::string> run_args = {"softvt", "run"};
    for (const std::string& o : trace::replayable_options(int(raw.size()), raw.data())) run_args.push_back(o);
    if (h.machine == "pc") run_args.insert(run_args.end(), {"--serial", "none"});
    // Under gdb: the same stub as `run --gdb`, on the re-run machine, its
    // every instruction still checked (traces/README.md "Replay in gdb").
    if (!gdb.empty()) run_args.insert(run_args.end(), {"--gdb", gdb});
    if (wait_gdb) run_args.push_back("--wait-gdb");
    std::vector<char*> run_argv;
    for (std::string& s : run_args) run_argv.push_back(s.data());
    run_argv.push_back(nullptr);
    std::fprintf(stderr, "softvt replay: re-running:");
    for (size_t i = 1; i + 1 < run_argv.size(); ++i) std::fprintf(stderr, " %s", run_argv[i]);
    std::fprintf(stderr, "\n");
    try {
      ReplayScope scope(checker);
      run_command(int(run_argv.size() - 1), run_argv.data());
      checker.check_complete();
    } catch (const trace::ReplayDivergence& d) {
      trace::print_divergence(stdout, d);
      return 1;
    }
    if (checker.stopped_early()) {
      std::printf("replay: stopped by gdb; the %llu records it ran retraced the recording exactly\n",
                  (unsigned long long)checker.records_checked());
      return 0;
    }
    std::printf("replay: the run retraced the recording exactly (%llu records)\n",
                (unsigned long long)checker.records_checked());
    return 0;
  } catch (const TraceError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "softvt replay: %s\n", e.what());
    return 2;
  }
}

}  // namespace softvt
