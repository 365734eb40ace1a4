// softvt run --kernel ...: the PC machine (README "Running a kernel").
// Exit status: the guest's (isa-debug-exit: (V << 1) | 1; power-off 0) or
// softvt's (pc_exit:: in emu/machine/pc.h); 2 for bad input, naming it.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include "emu/accel/kvm_pc.h"
#include "emu/cli/commands.h"
#include "emu/cli/cpu_option.h"
#include "emu/cli/options.h"
#include "emu/devices/fw_cfg.h"
#include "emu/loader/bios_state.h"
#include "emu/loader/bzimage.h"
#include "emu/loader/elf.h"
#include "emu/loader/multiboot.h"
#include "emu/machine/pc.h"
#include "traces/run_recording.h"
#include "traces/gdb_pc_target.h"
#include "traces/text_trace.h"
#include "traces/trace_gate.h"
#include "vmx/vmx_operation.h"

namespace softvt {
namespace {

struct MachineConfig {
  std::string kernel;
  std::string initrd;  // comma-separated "PATH [ARGS]" entries, as QEMU's -initrd
  std::string append;
  uint64_t ram_mib = 128;
  uint64_t smp = 1;
  std::string serial = "stdio";
  std::string accel = "interp";
  ClockSource clock = ClockSource::Instructions;
  bool clock_given = false;
  uint64_t max_insns = ~uint64_t(0);
  std::string trace;
  CpuModel cpu = default_cpu_model();  // --cpu MODEL[,+feature,-feature]
  trace::RecordOptions record;         // --record FILE [--record-regs] [--record-mem]
  std::string gdb;        // --gdb tcp:HOST:PORT (traces/gdb_stub.h)
  bool wait_gdb = false;  // --wait-gdb
  bool host_decompress = false;  // --host-decompress (emu/loader/bzimage.h)
};

// KVM counts no instructions: guest time is the host's, and what needs
// instruction counts is refused rather than silently ignored.
void check_kvm_options(MachineConfig& c) {
  if (c.clock_given && c.clock == ClockSource::Instructions)
    throw UsageError("--clock insns: --accel kvm counts no instructions (its guest time is the host's: --clock host)");
  if (c.max_insns != ~uint64_t(0)) throw UsageError("--max-insns: --accel kvm counts no instructions");
  if (!c.trace.empty()) throw UsageError("--trace: --accel kvm cannot trace instructions (use --accel interp)");
  if (!c.record.path.empty()) throw UsageError("--record: --accel kvm cannot record instructions (use --accel interp)");
  c.clock = ClockSource::Host;
  c.cpu = kvm_machine_model(c.cpu);
}

MachineConfig parse(int argc, char** argv) {
  MachineConfig c;
  ArgReader a(argc, argv, 2);
  while (!a.done()) {
    const std::string o = a.next();
    if (o == "--kernel") c.kernel = a.value(o);
    else if (o == "--initrd") c.initrd = a.value(o);
    else if (o == "--append") c.append = a.value(o);
    else if (o == "-m") c.ram_mib = parse_mib(a.value(o), "-m");
    else if (o == "--smp") c.smp = parse_number(a.value(o), "--smp");
    else if (o == "--serial") c.serial = a.value(o);
    else if (o == "--accel") c.accel = a.value(o);
    else if (o == "--clock") {
      const std::string v = a.value(o);
      if (!parse_clock_source(v, c.clock))
        throw UsageError("--clock: unknown clock '" + v + "' (expected insns or host)");
      c.clock_given = true;
    } else if (o == "--max-insns") c.max_insns = parse_number(a.value(o), "--max-insns");
    else if (o == "--trace") c.trace = a.value(o);
    else if (o == "--cpu") c.cpu = parse_cpu_option(a.value(o));
    else if (trace::parse_record_option(o, a, c.record)) continue;
    else if (o == "--gdb") c.gdb = a.value(o);
    else if (o == "--wait-gdb") c.wait_gdb = true;
    else if (o == "--host-decompress") c.host_decompress = true;
    else throw UsageError("unknown option '" + o + "' for run --kernel");
  }
  if (c.kernel.empty()) throw UsageError("missing --kernel FILE");
  if (const std::string bad = gdb::option_problem(c.gdb, c.wait_gdb, c.accel); !bad.empty()) throw UsageError(bad);
  // The stub rebuilds and re-runs the PC to step backwards: a recording
  // would get the re-executed instructions again.
  if (!c.gdb.empty() && !c.record.path.empty())
    throw UsageError("--record: cannot record a PC run under --gdb (record it without --gdb, then replay it)");
  if (c.accel != "interp" && c.accel != "kvm")
    throw UsageError("--accel: unknown accelerator '" + c.accel + "' (expected interp or kvm)");
  if (c.accel == "kvm") check_kvm_options(c);
  if (c.smp == 0) throw UsageError("--smp: at least one CPU is needed");
  if (c.smp > Pc::MAX_CPUS)
    throw UsageError("--smp " + std::to_string(c.smp) + ": at most " + std::to_string(Pc::MAX_CPUS) + " CPUs");
  const uint64_t ram = c.ram_mib << 20;
  if (ram < bios::MIN_RAM) throw UsageError("-m: a PC needs at least 2 MiB of RAM");
  if (ram >= bios::MAX_RAM)
    throw UsageError("-m: at most 3583 MiB for now (RAM above the PCI hole below 4 GiB is not modelled yet)");
  if (c.serial != "stdio" && c.serial != "none" && c.serial.rfind("file:", 0) != 0)
    throw UsageError("--serial: unknown backend '" + c.serial + "' (expected stdio, file:PATH or none)");
  if (c.serial == "file:") throw UsageError("--serial: file: needs a path");
  return c;
}

// COM1's output: standard output, a file, or nowhere.
class SerialSink {
 public:
  explicit SerialSink(const std::string& spec) {
    if (spec == "stdio") {
      f_ = stdout;
    } else if (spec.rfind("file:", 0) == 0) {
      path_ = spec.substr(5);
      f_ = std::fopen(path_.c_str(), "w");
      if (!f_) throw UsageError("--serial: cannot write '" + path_ + "': " + std::strerror(errno));
    }
  }
  ~SerialSink() {
    if (f_ && !path_.empty()) std::fclose(f_);
  }
  void put(uint8_t b) {
    if (!f_) return;
    std::fputc(b, f_);
    // Each line reaches a pipe or the file as the guest ends it, as QEMU's
    // serial output does: a reader such as bench/linux_boot.sh stamps
    // lines, and a user follows a long boot with `tail -f`.
    if (b == '\n') std::fflush(f_);
  }
  bool finish() {
    if (!f_) return true;
    bool ok = std::fflush(f_) == 0 && !std::ferror(f_);
    if (!path_.empty()) {
      ok = std::fclose(f_) == 0 && ok;
      f_ = nullptr;
    }
    return ok;
  }
  const std::string& path() const { return path_; }

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

// COM1's input with --serial stdio: bytes from standard input (a pipe, a
// file or a terminal in its normal line mode), read without blocking.
class SerialSource {
 public:
  int next() {
    if (pos_ < len_) return buf_[pos_++];
    if (eof_) return -1;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return -1;
    const ssize_t n = read(STDIN_FILENO, buf_, sizeof buf_);
    if (n <= 0) {
      eof_ = true;  // end of input (or an error): stop looking
      return -1;
    }
    len_ = size_t(n);
    pos_ = 0;
    return buf_[pos_++];
  }

 private:
  uint8_t buf_[256];
  size_t len_ = 0, pos_ = 0;
  bool eof_ = false;
};

std::vector<MultibootModule> read_modules(const std::string& list, uint64_t max_bytes) {
  std::vector<MultibootModule> mods;
  if (list.empty()) return mods;
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    const std::string entry = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (entry.empty()) throw UsageError("--initrd: empty module name in '" + list + "'");
    // "PATH ARGS": the path ends at the first space; the whole entry is the
    // module's string (as QEMU passes it).
    const std::string path = entry.substr(0, entry.find(' '));
    mods.push_back(MultibootModule{entry, read_file(trace::image_path(path), "--initrd", max_bytes)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return mods;
}

std::vector<uint8_t> e820_bytes(const std::vector<E820Range>& map) {
  std::vector<uint8_t> b;
  for (const E820Range& e : map) {
    uint8_t rec[20];
    std::memcpy(rec, &e.addr, 8);
    std::memcpy(rec + 8, &e.size, 8);
    std::memcpy(rec + 16, &e.type, 4);
    b.insert(b.end(), rec, rec + 20);
  }
  return b;
}

// The items QEMU's PC provides whatever the kernel (hw/nvram/fw_cfg.c,
// hw/i386/fw_cfg.c), for a TCG guest without NUMA nodes.
void machine_fw_cfg(FwCfg& f, uint64_t ram, unsigned cpus, bool amd_ht_hole) {
  namespace k = fw_cfg_key;
  f.add_bytes(k::UUID, std::vector<uint8_t>(16, 0));
  f.add_u64(k::RAM_SIZE, ram);
  f.add_u16(k::NOGRAPHIC, 0);
  f.add_u16(k::NB_CPUS, uint16_t(cpus));
  f.add_u16(k::MAX_CPUS, uint16_t(cpus));
  f.add_u16(k::BOOT_MENU, 0);
  f.add_bytes(k::NUMA, std::vector<uint8_t>((1 + cpus) * 8, 0));
  f.add_u32(k::IRQ0_OVERRIDE, 1);
  f.add_bytes(k::E820_TABLE, std::vector<uint8_t>(4 + 16 * 20, 0));  // no reserved entries
  f.add_file("etc/e820", e820_bytes(qemu_e820_map(ram, amd_ht_hole)));
}

void multiboot_fw_cfg(FwCfg& f, const MultibootLoad& mb) {
  namespace k = fw_cfg_key;
  // What QEMU hands its multiboot option ROM.
  f.add_u32(k::KERNEL_ENTRY, mb.entry);
  f.add_u32(k::KERNEL_ADDR, mb.load_addr);
  f.add_u32(k::KERNEL_SIZE, uint32_t(mb.buffer.size()));
  f.add_bytes(k::KERNEL_DATA, mb.buffer);
  f.add_u32(k::INITRD_ADDR, MULTIBOOT_INFO_ADDR);
  f.add_u32(k::INITRD_SIZE, MULTIBOOT_INFO_SIZE);
  f.add_bytes(k::INITRD_DATA, mb.initial_info);
}

// Linux's initrd: the --initrd files one after another, each starting on a
// 4-byte boundary (the kernel unpacks concatenated cpio archives in turn).
std::vector<uint8_t> linux_initrd(const std::vector<MultibootModule>& files) {
  std::vector<uint8_t> out;
  for (const MultibootModule& f : files) {
    out.resize((out.size() + 3) & ~size_t(3), 0);
    out.insert(out.end(), f.data.begin(), f.data.end());
  }
  return out;
}

// The CPU model of the run (`--cpu`, emu/cli/cpu_option.h).
const CpuModel& machine_cpu_model(const MachineConfig& c) { return c.cpu; }

// CPUID leaf 0 vendor "AuthenticAMD" (EBX = "Auth").
bool is_amd(const CpuModel& m) { return m.cpuid(0, 0).ebx == 0x68747541; }

// What the trace header says of the machine (traces/run_recording.h).
trace::RunDescription record_description(const MachineConfig& c) {
  trace::RunDescription d{"pc", "pc, " + std::to_string(c.ram_mib) + " MiB, " + std::to_string(c.smp) + " CPU(s), clock " +
                                    (c.clock == ClockSource::Instructions ? "insns" : "host"),
                          &c.cpu, {{"--kernel", c.kernel}}};
  d.inputs = c.serial == "stdio" || c.clock == ClockSource::Host;
  for (size_t start = 0; !c.initrd.empty() && start <= c.initrd.size();) {
    const size_t end = std::min(c.initrd.find(',', start), c.initrd.size());
    const std::string entry = c.initrd.substr(start, end - start);
    d.images.push_back({"--initrd", entry.substr(0, entry.find(' '))});
    start = end + 1;
  }
  return d;
}

// How a PC run ended, for the trace's End record.
StopReason record_stop(const PcOutcome& out) {
  if (out.reason == "halted") return StopReason::Hlt;
  if (out.reason == "triple-fault") return StopReason::Shutdown;
  if (out.reason == "limit") return StopReason::Limit;
  if (out.reason == "error") return StopReason::Error;
  return StopReason::None;
}

extern "C" void on_sigint(int) { Pc::interrupt_requested = 1; }

// What a machine is built from: the options, the files they name (read
// once) and where its console goes.
struct MachineInputs {
  const MachineConfig& c;
  const std::vector<uint8_t>& kernel;
  const std::vector<MultibootModule>& modules;
  Cpu::Tracer* tracer = nullptr;
  std::function<void(uint8_t)> serial_out;
  std::function<int()> serial_in;
  InputLog* inputs = nullptr;  // a recording's or a replay's (traces/README.md "Inputs")
};

// The machine of the options, loaded and ready to run. The gdb stub builds
// it again from the same inputs to rebuild an earlier state
// (traces/gdb_pc_target.h).
std::unique_ptr<Pc> build_machine(const MachineInputs& in) {
  const MachineConfig& c = in.c;
  const uint64_t ram = c.ram_mib << 20;
  const std::vector<uint8_t>& kernel = in.kernel;
  const std::vector<MultibootModule>& modules = in.modules;
  PcConfig pc_config;
  pc_config.ram_bytes = ram;
  pc_config.cpus = unsigned(c.smp);
  pc_config.clock = c.clock;
  pc_config.max_insns = c.max_insns;
  pc_config.tracer = in.tracer;
  pc_config.serial_out = in.serial_out;
  pc_config.serial_in = in.serial_in;
  pc_config.inputs = in.inputs;
  std::unique_ptr<Pc> pc;
  try {
    pc = std::make_unique<Pc>(pc_config, machine_cpu_model(c));
  } catch (const std::runtime_error& e) {
    throw UsageError("-m: cannot allocate " + std::to_string(c.ram_mib) + " MiB of guest RAM on this host");
  }
  write_bios_memory(pc->mem());
  init_bios_devices(pc->io());
  const CpuModel& model = pc->cpu().model;
  const bool amd_ht_hole = is_amd(model) && model.phys_addr_bits >= 40;
  machine_fw_cfg(pc->fw_cfg(), ram, unsigned(c.smp), amd_ht_hole);

  const std::string what = "--kernel '" + c.kernel + "'";
  try {
    // A bzImage (setup header magic "HdrS" at 0x202): the Linux boot
    // protocol, entered at its 64-bit entry point (emu/loader/bzimage.h).
    if (kernel.size() >= 0x206 && std::memcmp(kernel.data() + 0x202, "HdrS", 4) == 0) {
      LinuxBoot boot;
      boot.kernel = kernel;
      boot.initrd = linux_initrd(modules);
      boot.cmdline = c.append;
      boot.e820 = bios_e820_map(ram, amd_ht_hole);
      boot.acpi_rsdp = pc->acpi_rsdp();
      boot.host_decompress = c.host_decompress;
      try {
        pc->cpu().s = load_linux(pc->mem(), boot);
      } catch (const BzImageError& e) {
        throw LoadError(e.what());
      }
    } else if (c.host_decompress) {
      throw LoadError("--host-decompress: not a bzImage (no \"HdrS\" setup header at offset 0x202)");
    } else if (find_multiboot_header(kernel)) {
      MultibootLoad mb = load_multiboot(pc->mem(), kernel, c.kernel, c.append, modules, bios_e820_map(ram, amd_ht_hole));
      multiboot_fw_cfg(pc->fw_cfg(), mb);
      pc->cpu().s = mb.state;
    } else if (is_elf(kernel)) {
      const ElfImage elf = parse_elf(kernel);
      if (!elf.is64) throw LoadError("a 32-bit ELF file without a multiboot header (nothing says how to boot it)");
      if (!modules.empty()) throw UsageError("--initrd: modules need a multiboot kernel");
      pc->cpu().s = load_elf64_kernel(pc->mem(), kernel);
    } else {
      throw LoadError("neither a multiboot kernel nor an ELF file (flat binaries run with `softvt run --flat`)");
    }
  } catch (const LoadError& e) {
    throw UsageError(what + ": " + e.what());
  }
  pc->cpu().update_mode();
  // IA32_FEATURE_CONTROL as the BIOS leaves it on every CPU: locked, VMX
  // enabled where the model has VMX (vmx/vmx_operation.h).
  for (unsigned i = 0; i < pc->cpu_count(); ++i)
    pc->cpu(i).s.feature_control = vmx::firmware_feature_control(model);
  return pc;
}

}  // namespace

int run_machine_command(int argc, char** argv) {
  const MachineConfig c = parse(argc, argv);
  const uint64_t ram = c.ram_mib << 20;
  // The kernel's path as given stays what the guest sees (the multiboot
  // command line); a replay reads the file the recording hashed.
  const std::vector<uint8_t> kernel = read_file(trace::image_path(c.kernel), "--kernel", ram);
  const std::vector<MultibootModule> modules = read_modules(c.initrd, ram);
  std::unique_ptr<TextTrace> trace;
  if (!c.trace.empty()) {
    try {
      trace = std::make_unique<TextTrace>(c.trace);
    } catch (const std::exception& e) {
      throw UsageError(std::string("--trace: ") + e.what());
    }
  }
  std::unique_ptr<trace::RunRecording> record = trace::RunRecording::open(c.record, argc, argv, record_description(c));
  SerialSink serial(c.serial);

  SerialSource input;
  Cpu::Tracer* tracer = record ? record->tracer(trace.get()) : trace.get();
  // The recording's input log (a replay's: the recorded inputs).
  InputLog* log = record ? record->inputs() : nullptr;
  // Under gdb the machine is rebuilt and re-executed: the tracer sees each
  // instruction and event once, and the machine each input (COM1's, the
  // host clock's, a replay's recorded ones) as the run first took it
  // (traces/trace_gate.h).
  std::unique_ptr<trace::TraceGate> gate;
  const bool live_inputs = c.serial == "stdio" || c.clock == ClockSource::Host;
  if (!c.gdb.empty() && (tracer || log || live_inputs)) gate = std::make_unique<trace::TraceGate>(tracer, log);
  if (gate && tracer) tracer = gate.get();
  MachineInputs inputs{c, kernel, modules, tracer, [&serial](uint8_t b) { serial.put(b); }, nullptr};
  if (c.serial == "stdio") inputs.serial_in = [&input] { return input.next(); };
  inputs.inputs = gate ? gate.get() : log;
  // Under gdb, run_pc_with_gdb builds the machine (once: building one
  // takes an input, the RTC's start under --clock host).
  std::unique_ptr<Pc> pc;
  if (c.gdb.empty()) {
    pc = build_machine(inputs);
    if (record) record->attach_memory(pc->mem());
  }
  if (c.accel == "kvm") {
    std::string why;
    std::unique_ptr<Pc::Engine> engine = make_kvm_engine(*pc, why);
    if (!engine) {
      std::fprintf(stderr, "softvt: --accel kvm: %s\n", why.c_str());
      return pc_exit::BACKEND_ERROR;
    }
    pc->set_engine(std::move(engine));
  }

  struct sigaction sa {}, old {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  PcOutcome out;
  if (c.gdb.empty()) {
    out = pc->run();
  } else {
    // Under gdb: rebuilt from the same inputs for reverse execution, the
    // console gated so that re-executed output is not written twice.
    const auto rebuild = [&inputs, &record, &gate](std::function<bool()> output_allowed) {
      MachineInputs again = inputs;
      again.serial_out = [&inputs, output_allowed](uint8_t b) {
        if (output_allowed()) inputs.serial_out(b);
      };
      std::unique_ptr<Pc> machine = build_machine(again);
      if (record) record->attach_memory(machine->mem());
      if (gate) gate->gate_memory(machine->mem());
      return machine;
    };
    gdb::StubOptions stub{c.gdb, c.wait_gdb};
    stub.trace_position = trace::replay_position_reporter();
    bool killed = false;
    try {
      out = gdb::run_pc_with_gdb(pc, rebuild, stub, gate.get(), &killed);
    } catch (const UsageError&) {
      throw;  // the machine's options (building it)
    } catch (const std::runtime_error& e) {
      throw UsageError(std::string("--gdb: ") + e.what());
    }
    if (killed && record) record->stopped_early();
  }
  sigaction(SIGINT, &old, nullptr);

  const bool serial_ok = serial.finish();
  if (trace && !trace->flush()) throw UsageError("--trace: cannot write '" + c.trace + "'");
  if (record) record->finish(record_stop(out), pc->total_insns(), out.message);
  if (!serial_ok) throw UsageError("--serial: cannot write '" + serial.path() + "'");
  if (pc->engine() && !pc->engine()->summary().empty())
    std::fprintf(stderr, "softvt: %s: %s\n", pc->engine()->name(), pc->engine()->summary().c_str());
  if (pc->counts_instructions())
    std::fprintf(stderr, "softvt: %s after %llu instructions (exit status %d)\n", out.message.c_str(),
                 (unsigned long long)pc->total_insns(), out.status);
  else
    std::fprintf(stderr, "softvt: %s (exit status %d)\n", out.message.c_str(), out.status);
  return out.status;
}

}  // namespace softvt
