// What `softvt run` needs to record a run (--record FILE, --record-regs,
// --record-mem) and what `softvt replay` needs to check one: the runners
// (emu/cli/run_command.cpp, run_machine.cpp) open a RunRecording, use its
// tracer, and finish it with how the run ended. While a replay is active
// (set_replay_checker) the same calls check the run against the recording
// instead of writing one.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu/cli/options.h"
#include "emu/cpu.h"
#include "traces/recorder.h"

namespace softvt::trace {

struct RecordOptions {
  std::string path;
  bool regs = false;
  bool mem = false;
};

// Consumes `o` (and its value) if it is a recording option.
bool parse_record_option(const std::string& o, ArgReader& a, RecordOptions& r);

// What a run reads and is: for the header.
struct RunDescription {
  std::string machine;      // "flat" or "pc"
  std::string description;  // one line
  const CpuModel* model = nullptr;
  std::vector<std::pair<std::string, std::string>> images;  // (option, path) of each image file read
  // The run may take inputs from outside (COM1 from standard input, --clock
  // host): header_flag::INPUTS, and the machine's InputLog is inputs().
  bool inputs = false;
};

class RunRecording {
 public:
  // nullptr if the run neither records nor is being replayed. `argc/argv`:
  // the whole command line (argv[1] = "run"). Throws UsageError naming
  // --record if the file cannot be written.
  static std::unique_ptr<RunRecording> open(const RecordOptions& opt, int argc, char** argv, const RunDescription& d);
  ~RunRecording();
  // The tracer to install: the recording's, or both it and `text` (--trace).
  Cpu::Tracer* tracer(Cpu::Tracer* text);
  void attach_memory(Memory& mem);
  // The machine's input log (PcConfig::inputs): the recording notes the
  // inputs, a replay supplies them.
  InputLog* inputs() { return rec_; }
  // Ends the recording (the End record); throws UsageError if it could not
  // be written.
  void finish(StopReason stop, uint64_t total_insns, const std::string& detail);
  // The debugger killed the run (softvt replay --gdb): a replay checks
  // what ran and not the recording's end.
  void stopped_early();

 private:
  RunRecording() = default;
  std::string path_;
  std::unique_ptr<TraceWriter> writer_;
  RecordingTracer* rec_ = nullptr;  // writer_ or the active replay checker
  std::unique_ptr<TeeTracer> tee_;
};

// Options that only name outputs (files, consoles, debugger): a replay
// drops them. Returns the arguments after "run" without them (image paths
// as given: see image_path).
std::vector<std::string> replayable_options(int argc, char** argv);

// In a replay, the file an image path of the recorded options names: the
// absolute path the recording hashed (the options keep the paths as the
// user gave them, since the guest may see them). Otherwise `path`.
std::string image_path(const std::string& path);

// Makes RunRecording::open check runs against `checker` (nullptr: off),
// and image_path() resolve its recording's image paths.
void set_replay_checker(TraceChecker* checker);
// The active replay's checker (nullptr: none).
TraceChecker* replay_checker();
// For `monitor trace-position` under `softvt replay --gdb`: where a CPU at
// an instruction count is in the recording (empty when nothing is replayed).
std::function<std::string(const Cpu& cpu, uint64_t position)> replay_position_reporter();

}  // namespace softvt::trace
