#include "emu/machine/pc.h"

#include <algorithm>
#include <ctime>
#include <stdexcept>


#include "emu/devices/acpi_pm.h"
#include "emu/devices/cmos_rtc.h"
#include "emu/devices/hpet.h"
#include "emu/devices/ioapic.h"
#include "emu/devices/lapic.h"
#include "emu/devices/lapic_windows.h"
#include "emu/devices/debug_exit.h"
#include "emu/devices/fpu_error.h"
#include "emu/devices/fw_cfg.h"
#include "emu/devices/i8042.h"
#include "emu/devices/pc_testdev.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/port92.h"
#include "emu/devices/uart16550.h"
#include "emu/loader/loader_state.h"
#include "vmx/event_exits.h"

namespace softvt {

volatile std::sig_atomic_t Pc::interrupt_requested = 0;

namespace {
constexpr unsigned COM1_IRQ = 4, COM2_IRQ = 3, RTC_IRQ = 8, KBD_IRQ = 1, AUX_IRQ = 12;
}  // namespace

Pc::Pc(const PcConfig& config, const CpuModel& model) : config_(config), model_(model) {
  if (config.cpus == 0 || config.cpus > MAX_CPUS)
    throw std::invalid_argument("a PC has 1 to " + std::to_string(MAX_CPUS) + " CPUs");
  mem_ = std::make_unique<Memory>(config.ram_bytes);
  create_cpus();
  clock_ = std::make_unique<Clock>(&cpu(0).s.insn_count, config.clock);
  // --clock host readings through the input log (recorded or replayed).
  if (config.inputs && config.clock == ClockSource::Host)
    clock_->set_host_source(
        [this] {
          return config_.inputs->host_reading(*cpus_[running_].cpu, HostReading::MonotonicNs,
                                              [this] { return clock_->host_elapsed_ns(); });
        },
        !config.inputs->replaying());
  // A timer armed during a slice for an earlier time than the slice's end
  // ends the slice after the current instruction.
  clock_->on_earlier_deadline = [this] {
    slice_cut_ = true;
    cpus_[running_].cpu->stop = StopReason::Limit;
  };

  pic_output = [this](bool level) { cpu(0).intr_line = level; };
  pic_ = std::make_unique<Pic8259Pair>([this](bool level) { pic_output(level); });
  cpu(0).intr_source = pic_.get();
  irq_ = std::make_unique<IrqRouter>(pic_.get());
  pic_->map_ports(io_);

  // While the HPET's legacy replacement route is on, it drives IRQ0 and
  // IRQ8 and the PIT's and RTC's outputs are cut off (HPET spec 2.3.9.1).
  const auto hpet_owns = [this] { return hpet_ && hpet_->legacy_replacement(); };
  pit_ = std::make_unique<Pit8254>(*clock_, [this, hpet_owns](bool level) {
    if (!hpet_owns()) irq_->set_level(0, level);
  });
  pit_->map_ports(io_);

  com1_ = std::make_unique<Uart16550>([this](bool level) { irq_->set_level(COM1_IRQ, level); }, config.serial_out);
  com1_->map_ports(io_, 0x3f8, "com1");
  com2_ = std::make_unique<Uart16550>([this](bool level) { irq_->set_level(COM2_IRQ, level); }, nullptr);
  com2_->map_ports(io_, 0x2f8, "com2");

  const int64_t epoch = config.clock == ClockSource::Host ? host_epoch() : CmosRtc::DETERMINISTIC_EPOCH;
  rtc_ = std::make_unique<CmosRtc>(*clock_, epoch, [this, hpet_owns](bool level) {
    if (!hpet_owns()) irq_->set_level(RTC_IRQ, level);
  });
  rtc_->set_memory_size(config.ram_bytes, config.cpus);
  rtc_->map_ports(io_);

  const auto reset = [this](const char* source) { return [this, source] { request_reset(source); }; };
  i8042_ = std::make_unique<I8042>(reset("the i8042 reset line"), [this](bool l) { irq_->set_level(KBD_IRQ, l); },
                                   [this](bool l) { irq_->set_level(AUX_IRQ, l); });
  i8042_->map_ports(io_);
  port92_ = std::make_unique<Port92>(reset("port 0x92"));
  port92_->map_ports(io_);
  // Both A20 gates drive every CPU's A20M#; the last one written decides,
  // as on QEMU's PC (docs/decisions.md "A20").
  const auto set_a20 = [this](bool enabled) { for (CpuSlot& slot : cpus_) slot.cpu->set_a20(enabled); };
  i8042_->on_a20 = set_a20;
  port92_->on_a20 = set_a20;

  debug_exit_ = std::make_unique<DebugExit>([this](int status, uint64_t v) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "isa-debug-exit: the guest wrote 0x%llx", (unsigned long long)v);
    request_exit(status, "debug-exit", msg);
  });
  debug_exit_->map_ports(io_);

  testdev_ = std::make_unique<PcTestdev>([this](unsigned line, bool level) { irq_->set_level(line, level); });
  testdev_->map(io_, *mem_);

  fw_cfg_ = std::make_unique<FwCfg>();
  fw_cfg_->map_ports(io_);
  pci_ = std::make_unique<PciHost>(reset("the PCI reset control register (0xcf9)"));
  pci_->map_ports(io_);
  // x87 errors reported the PC way (CR0.NE = 0): the BSP's FERR# -> IRQ 13.
  fpu_error_ = std::make_unique<FpuErrorLatch>(FpuErrorLatch::Callbacks{
      [this](bool level) { irq_->set_level(FpuErrorLatch::IRQ, level); }, [this](bool a) { cpu(0).ignne = a; }});
  fpu_error_->map_ports(io_);
  cpu(0).on_ferr = [this](bool asserted) { fpu_error_->set_ferr(asserted); };

  wire_interrupt_controllers();
  wire_acpi();
}

Pc::~Pc() = default;

void Pc::create_cpus() {
  // The machine's CPUs have a local APIC: CPUID.01H:EDX.APIC[bit 9] says so
  // whatever the model (as QEMU sets it for a machine with an APIC).
  for (CpuidLeaf& l : model_.leaves)
    if (l.leaf == 1) l.edx |= 1u << 9;
  blocks_ = std::make_unique<BlockCache>(model_);
  cpus_.resize(config_.cpus);
  for (unsigned i = 0; i < config_.cpus; ++i) {
    auto c = std::make_unique<Cpu>(*mem_, model_);
    // Every CPU powers on with the registers INIT leaves alone at their
    // reset values (MXCSR, PAT, XCR0, the x87 state...; SDM Vol. 3A
    // Table 9-1); the loader then sets the BSP's entry state, and INIT
    // (wire_interrupt_controllers) the rest of an AP's.
    c->s = loader_base_state();
    c->blocks = blocks_.get();
    c->tracer = config_.tracer;
    c->initial_apic_id = uint8_t(i);
    c->machine_keeps_time = true;  // a halted CPU waits in guest time (next_wake)
    c->io_read = [this](uint16_t port, unsigned size) { return io_.read(port, size); };
    c->io_write = [this](uint16_t port, unsigned size, uint64_t v) { io_.write(port, size, v); };
    cpus_[i].cpu = std::move(c);
  }
  // One cache of decoded code for all CPUs: a write by any of them to
  // decoded code must drop it for all.
  if (config_.cpus > 1)
    for (CpuSlot& slot : cpus_) blocks_->sharing_cpus.push_back(slot.cpu.get());
}

uint64_t Pc::total_insns() const {
  uint64_t n = 0;
  for (const CpuSlot& slot : cpus_) n += slot.cpu->s.insn_count;
  return n;
}

void Pc::request_exit(int status, const std::string& reason, const std::string& message) {
  if (exit_) return;  // the first request wins
  exit_ = PcOutcome{status, reason, message};
  slice_cut_ = true;
  cpus_[running_].cpu->stop = StopReason::Limit;  // end the current slice after this instruction
}

void Pc::power_off() { request_exit(pc_exit::POWER_OFF, "power-off", "the guest powered off"); }

void Pc::request_reset(const std::string& source) {
  // A PC would reboot (QEMU does); softvt ends the run
  // (docs/decisions.md "Reset").
  request_exit(pc_exit::RESET, "reset", "the guest reset the machine through " + source);
}

PcOutcome Pc::halted_outcome(uint64_t deadline) const {
  // A CPU waiting for SIPI can only be started by another one; a halted
  // VMX guest also by a VM exit (its timer, INTR or NMI exiting).
  bool can_wake = false;
  for (const CpuSlot& slot : cpus_) {
    const Cpu& c = *slot.cpu;
    if (!c.wait_for_sipi && ((c.s.rflags & fl::IF) || c.nmi_pending || c.vmx.non_root)) can_wake = true;
  }
  const bool one = cpus_.size() == 1;
  if (!can_wake)
    return PcOutcome{pc_exit::HALTED, "halted",
                     one ? "the CPU halted with interrupts disabled (IF=0): nothing can wake it"
                         : "every CPU halted with interrupts disabled (IF=0): nothing can wake one"};
  if (deadline == Clock::NEVER)
    return PcOutcome{pc_exit::HALTED, "halted",
                     one ? "the CPU halted with no interrupt pending and no timer running"
                         : "every CPU halted with no interrupt pending and no timer running"};
  return PcOutcome{};
}

// The RTC's start under --clock host: the host's wall clock (through the
// input log when there is one).
int64_t Pc::host_epoch() {
  const auto live = [] { return uint64_t(std::time(nullptr)); };
  if (!config_.inputs) return int64_t(live());
  return int64_t(config_.inputs->host_reading(cpu(0), HostReading::WallSeconds, live));
}

void Pc::feed_serial_input() {
  InputLog* log = config_.inputs;
  if (!config_.serial_in && !(log && log->replaying())) return;
  // Every look counts, so that a replay finds the one where the recording
  // received its bytes.
  const uint64_t poll = serial_polls_++;
  const unsigned room = com1_->rx_room();
  if (room == 0) return;
  uint8_t bytes[16];  // at most a full FIFO
  const unsigned want = std::min(room, unsigned(sizeof bytes));
  const unsigned n = log ? log->serial_input(*cpus_[running_].cpu, poll, bytes, want, config_.serial_in)
                         : read_live_bytes(config_.serial_in, bytes, want);
  for (unsigned i = 0; i < n; ++i) com1_->receive(bytes[i]);
}

// A CPU the scheduler may run: started (not waiting for SIPI), and not
// halted unless an event would wake it - an interrupt or NMI its IDT
// takes, or a VM exit of its halted VMX guest (the preemption timer, once
// its TSC reaches the deadline: vmx_timer_wake; INTR, NMI, INIT exiting).
bool Pc::runnable(unsigned i) const {
  const Cpu& c = *cpus_[i].cpu;
  if (c.wait_for_sipi) return false;
  if (!c.s.halted || c.event_deliverable()) return true;
  if (!c.vmx.non_root) return false;
  return vmx_timer_wake(i) <= clock_->now() || vmx::halted_guest_exit_due(c);
}

// Guest time at which the VMX-preemption timer of CPU i's halted VMX guest
// ends its wait with a VM exit (Clock::NEVER: no such timer; SDM Vol. 3C
// 26.5.1, vmx::halted_timer_deadline). The timer counts the CPU's TSC,
// which follows guest time while the CPU does not run (catch_up_tsc): the
// deadline is as far past the time its TSC was last brought up to date as
// the TSC then was from it.
uint64_t Pc::vmx_timer_wake(unsigned i) const {
  const CpuSlot& slot = cpus_[i];
  const Cpu& c = *slot.cpu;
  if (!c.s.halted) return Clock::NEVER;
  const uint64_t deadline = vmx::halted_timer_deadline(c);
  if (deadline == ~uint64_t(0)) return Clock::NEVER;
  const uint64_t tsc = c.tsc();
  return slot.tsc_synced_ns + (deadline > tsc ? deadline - tsc : 0);
}

// The next time something happens without a CPU doing it: a device timer
// or a halted VMX guest's preemption timer.
uint64_t Pc::next_wake() const {
  uint64_t next = clock_->next_deadline();
  for (unsigned i = 0; i < cpus_.size(); ++i) next = std::min(next, vmx_timer_wake(i));
  return next;
}

// The TSC counts guest nanoseconds on every CPU (docs/decisions.md
// "SMP"): the time that passed while CPU i was not executing (other CPUs
// ran, or every CPU was halted) is added to its TSC offset. Called between
// slices only, when no CPU is in the middle of one.
void Pc::catch_up_tsc(unsigned i) {
  CpuSlot& slot = cpus_[i];
  const uint64_t now = clock_->now();
  slot.cpu->s.tsc_offset += now - slot.tsc_synced_ns;
  slot.tsc_synced_ns = now;
}

void Pc::set_engine(std::unique_ptr<Engine> engine) {
  if (config_.clock != ClockSource::Host)
    throw std::invalid_argument(std::string("the ") + engine->name() + " engine needs --clock host");
  engine_ = std::move(engine);
}

// An engine's slice: up to the next timer deadline, at most a slice or a
// quantum of host time.
StopReason Pc::run_engine_slice(unsigned i) {
  running_ = i;
  const uint64_t now = clock_->now();
  const uint64_t slice = cpus_.size() > 1 ? ENGINE_QUANTUM_NS : ENGINE_SLICE_NS;
  const uint64_t deadline = clock_->next_deadline();
  const uint64_t until = deadline < now + slice ? deadline : now + slice;
  slice_cut_ = false;
  return engine_->run(i, until);
}

// A new slice's length: up to the next timer deadline, at most a slice
// (one CPU) or a quantum (several).
uint64_t Pc::new_slice_length() const {
  const Clock& clk = *clock_;
  uint64_t slice = clk.source() == ClockSource::Host ? HOST_SLICE_INSNS
                   : cpus_.size() > 1               ? SMP_QUANTUM_INSNS
                                                    : SLICE_INSNS;
  const uint64_t deadline = next_wake();
  if (clk.source() == ClockSource::Instructions && deadline != Clock::NEVER) {
    const uint64_t now = clk.now();
    const uint64_t to_deadline = deadline > now ? (deadline - now + Clock::NS_PER_INSN - 1) / Clock::NS_PER_INSN : 0;
    if (to_deadline < slice) slice = to_deadline ? to_deadline : 1;
  }
  return slice;
}

// The slice is over when its CPU stopped by itself (HLT, shutdown, an
// error), a device cut it, or the CPU took the slice's steps; not when the
// run was cut from outside (--max-insns, the per-CPU limit, a debugger
// stop). Slices count steps (Cpu::steps_taken: retired instructions and
// steps that retired nothing), which a cut run does not change.
void Pc::end_slice_if_over(const Cpu& c, StopReason r) {
  const bool cut_outside = r == StopReason::Limit || r == StopReason::Debug;
  if (!cut_outside || slice_cut_ || c.steps_taken() >= slice_.end) slice_.active = false;
}

// Runs CPU i for (the rest of) its slice, within --max-insns and the
// per-CPU limit; `budget_limited`: one of those ended the run first.
StopReason Pc::run_slice(unsigned i, uint64_t max, bool& budget_limited) {
  budget_limited = false;
  if (engine_) return run_engine_slice(i);
  Clock& clk = *clock_;
  CpuSlot& slot = cpus_[i];
  Cpu& c = *slot.cpu;
  running_ = i;
  clk.set_counter(&c.s.insn_count);
  // The TSC catches up when a slice starts, and is synced when it ends
  // (tsc_sync_due_): a slice cut from outside and resumed is one stretch
  // of the CPU's time, so the cut reads no clock (under --clock host a
  // reading is an input: it must not depend on where a debugger stopped).
  if (!slice_.active) {
    catch_up_tsc(i);
    slice_ = Slice{true, i, c.steps_taken() + new_slice_length()};
  }
  uint64_t until = c.s.insn_count + (max - total_insns());
  if (i == limit_cpu_ && limit_cpu_count_ < until) until = limit_cpu_count_;
  slice_cut_ = false;
  c.step_limit = slice_.end;
  const StopReason r = c.run(until);
  c.step_limit = ~uint64_t(0);
  end_slice_if_over(c, r);
  if (!slice_.active) tsc_sync_due_ = true;
  budget_limited = r == StopReason::Limit && slice_.active;
  return r;
}

// The work between two slices, done once per slice boundary: the TSC of
// the CPU whose slice ended is synced, a Ctrl-C is taken, the expired
// timers fire and COM1 looks for input. A run() that stops at a boundary
// (--max-insns, the debugger's limits) stops before it and the next run()
// does it, so a run stopped and resumed anywhere does it at the same
// places, in the same order, as a run that never stopped: the inputs it
// takes (host-clock readings, COM1 input, Ctrl-C) keep their place in the
// timeline, which recording, replay and gdb's re-execution rely on
// (emu/machine/input_log.h). Returns false when a Ctrl-C ends the run.
bool Pc::between_slices() {
  if (tsc_sync_due_) {
    cpus_[running_].tsc_synced_ns = clock_->now();
    tsc_sync_due_ = false;
  }
  if (config_.inputs ? config_.inputs->stop_requested(*cpus_[running_].cpu, interrupt_requested != 0)
                     : interrupt_requested != 0)
    return false;
  clock_->fire_expired();
  feed_serial_input();
  return true;
}

// Round-robin over the runnable CPUs, from the one after the last run
// (cpu_count() if none is runnable).
unsigned Pc::pick_next_cpu() const {
  const unsigned n = cpu_count();
  for (unsigned k = 0; k < n; ++k)
    if (runnable((next_rr_ + k) % n)) return (next_rr_ + k) % n;
  return n;
}

PcOutcome Pc::run() {
  Clock& clk = *clock_;
  const uint64_t max = config_.max_insns;
  const unsigned n = cpu_count();
  for (;;) {
    if (exit_) return *exit_;
    // The limits first: a run stopped here leaves the work between slices
    // to the next run() (between_slices).
    if (total_insns() >= max) return PcOutcome{pc_exit::LIMIT, "limit", "--max-insns reached"};
    if (limit_cpu_ < n && cpu(limit_cpu_).s.insn_count >= limit_cpu_count_)
      return PcOutcome{pc_exit::LIMIT, "limit", "the CPU's instruction limit reached"};
    if (!between_slices_done_) {
      between_slices_done_ = true;
      // A Ctrl-C ends the run for good (a debugger that resumes the
      // machine gets the same outcome again).
      if (!between_slices()) exit_ = PcOutcome{pc_exit::INTERRUPTED, "interrupted", "stopped by SIGINT (Ctrl-C)"};
      if (exit_) return *exit_;
    }

    // The slice in progress goes on; else the next runnable CPU.
    const unsigned pick = slice_.active ? slice_.cpu : pick_next_cpu();
    if (pick == n) {
      // Every CPU is halted or waiting for SIPI: let guest time jump to the
      // next timer, or end the run if nothing can ever wake one.
      const uint64_t next = next_wake();
      PcOutcome stuck = halted_outcome(next);
      if (stuck.status) return stuck;
      // No waiting for host time while the input log supplies the clock's
      // readings (a replay; gdb re-executing what it ran before).
      clk.idle_until(next, config_.inputs && config_.inputs->supplies_next() ? 0 : 20);
      between_slices_done_ = false;  // guest time moved on: a new boundary
      continue;
    }
    if (!slice_.active) next_rr_ = (pick + 1) % n;
    if (on_slice) on_slice(pick);
    bool budget_limited = false;
    const StopReason r = run_slice(pick, max, budget_limited);
    if (!slice_.active) between_slices_done_ = false;  // the slice ended: a boundary
    if (exit_) return *exit_;
    Cpu& c = cpu(pick);
    const std::string who = n > 1 ? "CPU " + std::to_string(pick) + ": " : "";
    switch (r) {
      case StopReason::Shutdown:
        return PcOutcome{pc_exit::TRIPLE_FAULT, "triple-fault", "shutdown: " + who + c.stop_detail};
      case StopReason::Error:
        return PcOutcome{pc_exit::BACKEND_ERROR, "error", who + c.stop_detail};
      case StopReason::Debug:
        return PcOutcome{0, "debug", who + "stopped by the debugger"};
      case StopReason::Limit:
        // A slice ended (deadline, a device's request) or --max-insns: the
        // loop's top decides. A slice of steps that retired nothing (a long
        // REP, faults) ends here too and the next slice continues.
        if (budget_limited && total_insns() < max && !slice_cut_ &&
            !(pick == limit_cpu_ && c.s.insn_count >= limit_cpu_count_)) {
          // The remaining budget went to steps that retire nothing.
          return PcOutcome{pc_exit::LIMIT, "limit", "--max-insns reached"};
        }
        break;
      default: break;  // Hlt: the loop's top picks another CPU or idles
    }
  }
}

}  // namespace softvt
