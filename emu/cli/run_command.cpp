// softvt run --flat ...: the flat-binary runner (README, "The flat-binary
// runner"). Exit 0 when the run ended by HLT, shutdown or the instruction
// limit; 2 for bad input; 3 when the KVM backend is unavailable; 1 when the
// backend failed to run the guest.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "emu/accel/accel.h"
#include "emu/cli/commands.h"
#include "emu/cli/cpu_option.h"
#include "emu/cli/options.h"
#include "emu/cli/state_json.h"
#include "emu/loader/flat.h"
#include "traces/run_recording.h"
#include "traces/gdb_flat_target.h"
#include "traces/text_trace.h"
#include "vmx/vmx_operation.h"

namespace softvt {
namespace {

struct RunConfig {
  std::string flat;
  uint64_t load = FLAT_DEFAULT_LOAD;
  FlatMode mode = FlatMode::Long64;
  std::string accel = "interp";
  uint64_t ram_mib = 64;
  uint64_t max_insns = ~uint64_t(0);
  std::string dump_state;
  std::optional<MemRange> dump_mem;
  std::string trace;
  std::string debugcon;
  CpuModel cpu = default_cpu_model();  // --cpu
  trace::RecordOptions record;         // --record FILE [--record-regs] [--record-mem]
  std::string gdb;        // --gdb tcp:HOST:PORT (traces/gdb_stub.h)
  bool wait_gdb = false;  // --wait-gdb
};

RunConfig parse(int argc, char** argv) {
  RunConfig c;
  ArgReader a(argc, argv, 2);
  while (!a.done()) {
    std::string o = a.next();
    if (o == "--flat") c.flat = a.value(o);
    else if (o == "--load") c.load = parse_number(a.value(o), "--load");
    else if (o == "--mode") {
      std::string m = a.value(o);
      if (!parse_flat_mode(m, c.mode))
        throw UsageError("--mode: unknown mode '" + m + "' (expected long64, prot32 or real16)");
    } else if (o == "--accel") {
      c.accel = a.value(o);
      if (c.accel != "interp" && c.accel != "kvm")
        throw UsageError("--accel: unknown accelerator '" + c.accel + "' (expected interp or kvm)");
    } else if (o == "-m") c.ram_mib = parse_mib(a.value(o), "-m");
    else if (o == "--max-insns") c.max_insns = parse_number(a.value(o), "--max-insns");
    else if (o == "--dump-state") c.dump_state = a.value(o);
    else if (o == "--dump-mem") {
      std::string v = a.value(o);
      size_t colon = v.find(':');
      if (colon == std::string::npos) throw UsageError("--dump-mem: expected ADDR:LEN, got '" + v + "'");
      c.dump_mem = MemRange{parse_number(v.substr(0, colon), "--dump-mem address"),
                            parse_number(v.substr(colon + 1), "--dump-mem length")};
    } else if (o == "--trace") c.trace = a.value(o);
    else if (o == "--debugcon") c.debugcon = a.value(o);
    else if (o == "--cpu") c.cpu = parse_cpu_option(a.value(o));
    else if (trace::parse_record_option(o, a, c.record)) continue;
    else if (o == "--gdb") c.gdb = a.value(o);
    else if (o == "--wait-gdb") c.wait_gdb = true;
    else throw UsageError("unknown option '" + o + "'");
  }
  if (c.flat.empty()) throw UsageError("missing --flat FILE (the image to run)");
  if (const std::string bad = gdb::option_problem(c.gdb, c.wait_gdb, c.accel); !bad.empty()) throw UsageError(bad);
  // gdb can write registers and memory and re-executes to step backwards:
  // a recording of that would not replay.
  if (!c.gdb.empty() && !c.record.path.empty())
    throw UsageError("--record: cannot record a run under --gdb (record it without --gdb, then replay it)");
  if (!c.trace.empty() && c.accel != "interp")
    throw UsageError("--trace needs --accel interp (KVM does not report each instruction)");
  if (!c.record.path.empty() && c.accel != "interp") throw UsageError("--record needs --accel interp");
  return c;
}

// An output file named by an option: opened before the run, so a path
// that cannot be written is reported before any work; write errors (a full
// disk) are reported when it is closed.
class OutputFile {
 public:
  // `stream`: the standard stream `path` names, or nullptr for a file.
  OutputFile(std::string option, const std::string& path, std::FILE* stream)
      : option_(std::move(option)), path_(path), f_(stream) {
    if (f_) return;
    f_ = std::fopen(path.c_str(), "w");
    if (!f_) throw UsageError(option_ + ": cannot write '" + path + "': " + std::strerror(errno));
    owned_ = true;
  }
  ~OutputFile() {
    if (owned_ && f_) std::fclose(f_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  std::FILE* get() const { return f_; }
  // Flushes and closes; throws UsageError naming the option if any write failed.
  void finish() {
    errno = 0;
    bool ok = std::fflush(f_) == 0 && !std::ferror(f_);
    if (owned_) {
      ok = std::fclose(f_) == 0 && ok;
      f_ = nullptr;
    }
    const int err = errno ? errno : EIO;
    if (!ok) throw UsageError(option_ + ": cannot write '" + path_ + "': " + std::strerror(err));
  }

 private:
  std::string option_, path_;
  std::FILE* f_ = nullptr;
  bool owned_ = false;
};

std::unique_ptr<Memory> allocate_ram(uint64_t mib) {
  try {
    return std::make_unique<Memory>(mib << 20);
  } catch (const std::exception&) {
    throw UsageError("-m: cannot allocate " + std::to_string(mib) + " MiB of guest RAM on this host");
  }
}

}  // namespace

int run_command(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "--kernel")) return run_machine_command(argc, argv);
  RunConfig c = parse(argc, argv);
  const uint64_t ram = c.ram_mib << 20;
  std::vector<uint8_t> image = read_file(trace::image_path(c.flat), "--flat", ram);
  std::string problem = check_flat_layout(c.load, image.size(), c.mode, ram);
  if (!problem.empty()) throw UsageError("--flat '" + c.flat + "': " + problem);
  if (c.dump_mem && (c.dump_mem->addr > ram || c.dump_mem->len > ram - c.dump_mem->addr))
    throw UsageError("--dump-mem: range lies outside RAM");

  std::unique_ptr<OutputFile> dump_state, debugcon;
  if (!c.dump_state.empty())
    dump_state = std::make_unique<OutputFile>("--dump-state", c.dump_state,
                                              c.dump_state == "-" ? stdout : nullptr);
  if (!c.debugcon.empty())
    debugcon = std::make_unique<OutputFile>(
        "--debugcon", c.debugcon,
        c.debugcon == "stdio" ? stdout : c.debugcon == "stderr" ? stderr : nullptr);
  std::unique_ptr<TextTrace> trace;
  if (!c.trace.empty()) {
    try {
      trace = std::make_unique<TextTrace>(c.trace);
    } catch (const std::exception& e) {
      throw UsageError(std::string("--trace: ") + e.what());
    }
  }

  std::unique_ptr<trace::RunRecording> record = trace::RunRecording::open(
      c.record, argc, argv,
      {"flat", std::string("flat ") + flat_mode_name(c.mode) + ", " + std::to_string(c.ram_mib) + " MiB", &c.cpu,
       {{"--flat", c.flat}}});

  std::unique_ptr<Memory> mem = allocate_ram(c.ram_mib);
  CpuState init = setup_flat(*mem, image, c.load, c.mode);
  // IA32_FEATURE_CONTROL as firmware leaves it: locked, VMX enabled where
  // the model has VMX (vmx/vmx_operation.h, vmx/README.md).
  init.feature_control = vmx::firmware_feature_control(c.cpu);
  const CpuModel& model = c.cpu;
  RunOptions opt;
  opt.max_insns = c.max_insns;
  opt.tracer = record ? record->tracer(trace.get()) : trace.get();
  if (record) record->attach_memory(*mem);
  if (debugcon)
    opt.io_write = [f = debugcon->get()](uint16_t port, unsigned, uint64_t v) {
      if (port == 0xe9) std::fputc(int(v & 0xff), f);
    };

  RunOutcome out;
  if (c.accel == "kvm") {
    std::string why = kvm_unavailable_reason();
    if (!why.empty()) {
      std::fprintf(stderr, "softvt run: --accel kvm: %s\n", why.c_str());
      return 3;
    }
    out = run_kvm(*mem, init, model, opt);
  } else if (!c.gdb.empty()) {
    bool killed = false;
    gdb::StubOptions stub{c.gdb, c.wait_gdb};
    stub.trace_position = trace::replay_position_reporter();
    try {
      out = gdb::run_flat_with_gdb(*mem, init, model, opt, stub, &killed);
    } catch (const std::runtime_error& e) {
      throw UsageError(std::string("--gdb: ") + e.what());
    }
    if (killed && record) record->stopped_early();
  } else {
    out = run_interp(*mem, init, model, opt);
  }
  if (debugcon) debugcon->finish();
  if (trace && !trace->flush()) throw UsageError("--trace: cannot write '" + c.trace + "'");
  if (record) record->finish(out.stop, out.state.insn_count, out.detail);
  if (dump_state) {
    write_state_json(dump_state->get(), out, *mem, c.dump_mem);
    dump_state->finish();
  }
  if (out.stop == StopReason::Error) {
    std::fprintf(stderr, "softvt run: %s backend error: %s\n", c.accel.c_str(), out.detail.c_str());
    return 1;
  }
  return 0;
}

}  // namespace softvt
