// The PC machine (issue 3): RAM, the CPU, the devices on the I/O bus and
// the run loop. The run loop executes the CPU in slices that end at the
// next timer deadline (devices are never polled per instruction); device
// I/O that changes an interrupt line updates cpu.intr_line at once and the
// CPU notices it after that instruction (docs/decisions.md "PC machine").
#pragma once
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/machine/clock.h"
#include "emu/machine/input_log.h"
#include "emu/machine/io_bus.h"
#include "emu/machine/irq.h"

namespace softvt {

class Pic8259Pair;
class Pit8254;
class Uart16550;
class CmosRtc;
class I8042;
class Port92;
class DebugExit;
class PcTestdev;
class FwCfg;
class PciHost;
class LocalApic;
class ApicBus;
class IoApic;
class AcpiPm;
class Hpet;
class FpuErrorLatch;
class LapicWindows;

// Exit statuses of `softvt run --kernel` (README "Running a kernel").
namespace pc_exit {
constexpr int POWER_OFF = 0;      // guest power-off (ACPI)
constexpr int BACKEND_ERROR = 1;  // softvt itself failed
constexpr int HALTED = 4;         // every CPU halted and nothing can wake one
constexpr int TRIPLE_FAULT = 6;   // shutdown (triple fault)
constexpr int RESET = 8;          // the guest asked for a reset (i8042, port 0x92, 0xcf9)
constexpr int LIMIT = 10;         // --max-insns reached
constexpr int INTERRUPTED = 130;  // SIGINT (Ctrl-C)
// isa-debug-exit: (V << 1) | 1, always odd.
}  // namespace pc_exit

struct PcConfig {
  uint64_t ram_bytes = 128ull << 20;
  unsigned cpus = 1;
  ClockSource clock = ClockSource::Instructions;
  // COM1's transmitted bytes (empty: discarded).
  std::function<void(uint8_t)> serial_out;
  // COM1's input: the next received byte, or -1 if none is available now.
  // Polled between slices while the receiver has room (empty: no input).
  std::function<int()> serial_in;
  uint64_t max_insns = ~uint64_t(0);
  Cpu::Tracer* tracer = nullptr;
  // Where COM1's input and the --clock host readings go through (a
  // recording) or come from (a replay); nullptr: straight from the host.
  InputLog* inputs = nullptr;
};

struct PcOutcome {
  int status = 0;
  std::string reason;   // "power-off", "debug-exit", "halted", "triple-fault", "reset", "limit", "interrupted", "error"
  std::string message;  // one line for the user
};

class Pc {
 public:
  // What executes the CPUs' instructions: the interpreter unless an engine
  // is installed (`--accel kvm`: emu/accel/kvm_pc.h). The devices, the
  // clock and the scheduling of the CPUs are the machine's either way
  // (DESIGN.md "Accelerators").
  class Engine {
   public:
    virtual ~Engine() = default;
    // Runs CPU i until the host clock reaches `until_ns` (guest time under
    // --clock host), a device ends the slice (cpu.stop set to Limit) or the
    // CPU stops: Hlt (cpu.s.halted set), Shutdown or Error (cpu.stop_detail
    // says why). The CPU's wait_for_sipi/halted/rflags must be current
    // afterwards (the machine decides from them what to run next).
    virtual StopReason run(unsigned i, uint64_t until_ns) = 0;
    // "interp", "kvm": for messages.
    virtual const char* name() const = 0;
    // What the user should know about the run afterwards ("" if nothing).
    virtual std::string summary() const = 0;
  };

  Pc(const PcConfig& config, const CpuModel& model);
  ~Pc();
  Pc(const Pc&) = delete;
  Pc& operator=(const Pc&) = delete;

  // Runs until power-off, isa-debug-exit, reset, triple fault, a halt
  // nothing can end, --max-insns, or SIGINT (see `interrupt_requested`).
  PcOutcome run();

  // Hooks for devices and the integration of the local APIC / I/O APIC /
  // ACPI: each ends the run at the current instruction boundary.
  void power_off();                              // ACPI PM1 sleep type S5: status 0
  void request_reset(const std::string& source); // the guest pulsed the reset line
  void request_exit(int status, const std::string& reason, const std::string& message);

  // Installs an engine before run(); it needs ClockSource::Host (an engine
  // that does not count instructions cannot derive time from them).
  void set_engine(std::unique_ptr<Engine> engine);
  // Moves the --max-insns limit (the gdb stub runs the machine in pieces:
  // traces/gdb_pc_target.h). A host debugger's stop (StopReason::Debug)
  // ends run() with reason "debug"; run() may be called again to go on.
  void set_max_insns(uint64_t n) { config_.max_insns = n; }
  // Also ends run() (reason "limit") once CPU i has retired `count`
  // instructions: the gdb stub steps one CPU of several. NO_CPU: none.
  static constexpr unsigned NO_CPU = ~0u;
  void set_cpu_insn_limit(unsigned i, uint64_t count) {
    limit_cpu_ = i;
    limit_cpu_count_ = count;
  }
  // Called when CPU i starts or resumes a slice (total_insns() is where):
  // the gdb stub's map of which CPU executes which instruction.
  std::function<void(unsigned i)> on_slice;
  // The CPU that executed last.
  unsigned running_cpu() const { return running_; }
  // Snapshots (emu/machine/pc_state.cpp; traces/gdb_pc_target.cpp): the
  // devices' changing state, the clock's timers, the interrupt lines and
  // the scheduler, as bytes (the CPUs and RAM are emu/snapshot.h's).
  // Restored into the machine they were saved from (the wiring and
  // callbacks are its own); the cache of decoded code starts empty.
  std::vector<uint8_t> save_state();
  void restore_state(const std::vector<uint8_t>& bytes);
  // Whether instruction counts (total_insns, --max-insns) are known.
  bool counts_instructions() const { return !engine_; }
  const Engine* engine() const { return engine_.get(); }

  // Set from a SIGINT handler: the run stops at the end of the current slice.
  static volatile std::sig_atomic_t interrupt_requested;

  Memory& mem() { return *mem_; }
  // CPU i (APIC ID i); CPU 0 is the bootstrap processor.
  Cpu& cpu(unsigned i = 0) { return *cpus_[i].cpu; }
  unsigned cpu_count() const { return unsigned(cpus_.size()); }
  // Instructions retired by all CPUs (what --max-insns counts).
  uint64_t total_insns() const;
  LocalApic& lapic(unsigned i = 0) { return *cpus_[i].apic; }
  IoApic& ioapic() { return *ioapic_; }
  AcpiPm& acpi_pm() { return *pm_; }
  Hpet& hpet() { return *hpet_; }
  // Guest-physical address of the ACPI RSDP (the tables follow it).
  uint64_t acpi_rsdp() const { return ACPI_TABLES_BASE; }
  Clock& clock() { return *clock_; }
  IoBus& io() { return io_; }
  IrqRouter& irq() { return *irq_; }
  Pic8259Pair& pic() { return *pic_; }
  Pit8254& pit() { return *pit_; }
  Uart16550& com1() { return *com1_; }
  CmosRtc& rtc() { return *rtc_; }
  FwCfg& fw_cfg() { return *fw_cfg_; }
  PciHost& pci() { return *pci_; }
  const PcConfig& config() const { return config_; }

  // The master PIC's INTR output: the BSP's LINT0 (virtual-wire ExtINT,
  // as a BIOS leaves it; docs/interrupt-controllers.md).
  std::function<void(bool)> pic_output;

  static constexpr uint64_t SLICE_INSNS = 1000000;      // longest uninterrupted slice (1 ms)
  static constexpr uint64_t HOST_SLICE_INSNS = 20000;   // --clock host: look at the wall clock this often
  // An engine's CPU runs at most this long (host time) per slice, a
  // quantum with several CPUs.
  static constexpr uint64_t ENGINE_SLICE_NS = 5000000, ENGINE_QUANTUM_NS = 1000000;
  // With several CPUs, each runs at most this many instructions before the
  // next runnable one takes over, round-robin in APIC-ID order
  // (docs/decisions.md "SMP").
  static constexpr uint64_t SMP_QUANTUM_INSNS = 10000;
  static constexpr unsigned MAX_CPUS = 255;  // xAPIC IDs 0-254; the MADT has no x2APIC entries
  // The ACPI tables (RSDP first) in the reserved BIOS area, where an OS
  // without boot_params scans for the RSDP (ACPI 6.4 5.2.5.1); clear of the
  // multiboot GDT at 0xf0100 and the IRET stub at 0xfff53.
  static constexpr uint64_t ACPI_TABLES_BASE = 0xf1000;

 private:
  struct CpuSlot {
    std::unique_ptr<Cpu> cpu;
    std::unique_ptr<LocalApic> apic;
    std::unique_ptr<Cpu::Platform> platform;  // its MSRs and CR8 -> the APIC
    Clock::TimerId apic_timer = 0;
    uint64_t tsc_synced_ns = 0;  // guest time up to which its TSC has been advanced
  };
  class ApicPlatform;

  PcOutcome halted_outcome(uint64_t deadline) const;
  uint64_t vmx_timer_wake(unsigned i) const;
  uint64_t next_wake() const;
  void feed_serial_input();
  int64_t host_epoch();
  void create_cpus();
  void wire_interrupt_controllers();
  void wire_acpi();
  void sync_apic_timer(unsigned i);
  void update_apic_windows();  // after an IA32_APIC_BASE write
  void sync_hpet_timer();
  void sync_pm_timer();
  bool runnable(unsigned i) const;
  void catch_up_tsc(unsigned i);
  StopReason run_slice(unsigned i, uint64_t max, bool& budget_limited);
  StopReason run_engine_slice(unsigned i);

  PcConfig config_;
  CpuModel model_;
  std::unique_ptr<Memory> mem_;
  std::vector<CpuSlot> cpus_;
  unsigned running_ = 0;   // the CPU the clock counts (and MMIO reaches)
  unsigned next_rr_ = 0;   // round-robin: the CPU looked at first next time
  std::unique_ptr<BlockCache> blocks_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Clock> clock_;
  IoBus io_;
  std::unique_ptr<Pic8259Pair> pic_;
  std::unique_ptr<IrqRouter> irq_;
  std::unique_ptr<Pit8254> pit_;
  std::unique_ptr<Uart16550> com1_, com2_;
  std::unique_ptr<CmosRtc> rtc_;
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<Port92> port92_;
  std::unique_ptr<DebugExit> debug_exit_;
  std::unique_ptr<PcTestdev> testdev_;
  std::unique_ptr<FwCfg> fw_cfg_;
  std::unique_ptr<PciHost> pci_;
  std::unique_ptr<FpuErrorLatch> fpu_error_;
  std::unique_ptr<LapicWindows> apic_windows_;
  std::unique_ptr<ApicBus> apic_bus_;
  std::unique_ptr<IoApic> ioapic_;
  std::unique_ptr<AcpiPm> pm_;
  std::unique_ptr<Hpet> hpet_;
  Clock::TimerId hpet_timer_ = 0, pm_timer_ = 0;
  std::optional<PcOutcome> exit_;
  bool slice_cut_ = false;  // the current slice was ended early by a device
  // The slice in progress (interpreter only). A run() that ends inside it
  // (--max-insns, a debugger stop) leaves it to the next run(), so where
  // the machine was stopped never changes which CPU executes which
  // instruction (docs/decisions.md "SMP under gdb").
  struct Slice {
    bool active = false;
    unsigned cpu = 0;
    uint64_t end = 0;  // that CPU's steps_taken() where the slice ends
  } slice_;
  unsigned limit_cpu_ = NO_CPU;
  uint64_t limit_cpu_count_ = 0;
  unsigned pick_next_cpu() const;
  template <class Io>
  void state_io(Io& io);
  void drop_decoded_code();
  uint64_t new_slice_length() const;
  void end_slice_if_over(const Cpu& c, StopReason r);
  uint64_t serial_polls_ = 0;  // looks for COM1 input so far (InputLog::serial_input)
  // Between slices (Pc::between_slices): whether the work of the current
  // boundary was done, and whether the TSC of the CPU whose slice ended
  // is still to be synced.
  bool between_slices_done_ = false;
  bool tsc_sync_due_ = false;
  bool between_slices();
};

}  // namespace softvt
