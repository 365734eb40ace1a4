#include "emu/machine/pc.h"

#include <ctime>

#include "emu/devices/cmos_rtc.h"
#include "emu/devices/debug_exit.h"
#include "emu/devices/fw_cfg.h"
#include "emu/devices/i8042.h"
#include "emu/devices/pc_testdev.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/port92.h"
#include "emu/devices/uart16550.h"

namespace softvt {

volatile std::sig_atomic_t Pc::interrupt_requested = 0;

namespace {
constexpr unsigned COM1_IRQ = 4, COM2_IRQ = 3, RTC_IRQ = 8, KBD_IRQ = 1, AUX_IRQ = 12;
}  // namespace

Pc::Pc(const PcConfig& config, const CpuModel& model) : config_(config), model_(model) {
  mem_ = std::make_unique<Memory>(config.ram_bytes);
  cpu_ = std::make_unique<Cpu>(*mem_, model_);
  blocks_ = std::make_unique<BlockCache>(model_);
  cpu_->blocks = blocks_.get();
  cpu_->tracer = config.tracer;
  clock_ = std::make_unique<Clock>(&cpu_->s.insn_count, config.clock);
  // A timer armed during a slice for an earlier time than the slice's end
  // ends the slice after the current instruction.
  clock_->on_earlier_deadline = [this] {
    slice_cut_ = true;
    cpu_->stop = StopReason::Limit;
  };

  cpu_->io_read = [this](uint16_t port, unsigned size) { return io_.read(port, size); };
  cpu_->io_write = [this](uint16_t port, unsigned size, uint64_t v) { io_.write(port, size, v); };

  pic_output = [this](bool level) { cpu_->intr_line = level; };
  pic_ = std::make_unique<Pic8259Pair>([this](bool level) { pic_output(level); });
  cpu_->intr_source = pic_.get();
  irq_ = std::make_unique<IrqRouter>(pic_.get());
  pic_->map_ports(io_);

  pit_ = std::make_unique<Pit8254>(*clock_, [this](bool level) { irq_->set_level(0, level); });
  pit_->map_ports(io_);

  com1_ = std::make_unique<Uart16550>([this](bool level) { irq_->set_level(COM1_IRQ, level); }, config.serial_out);
  com1_->map_ports(io_, 0x3f8, "com1");
  com2_ = std::make_unique<Uart16550>([this](bool level) { irq_->set_level(COM2_IRQ, level); }, nullptr);
  com2_->map_ports(io_, 0x2f8, "com2");

  const int64_t epoch = config.clock == ClockSource::Host ? int64_t(std::time(nullptr)) : CmosRtc::DETERMINISTIC_EPOCH;
  rtc_ = std::make_unique<CmosRtc>(*clock_, epoch, [this](bool level) { irq_->set_level(RTC_IRQ, level); });
  rtc_->set_memory_size(config.ram_bytes, config.cpus);
  rtc_->map_ports(io_);

  const auto reset = [this](const char* source) { return [this, source] { request_reset(source); }; };
  i8042_ = std::make_unique<I8042>(reset("the i8042 reset line"), [this](bool l) { irq_->set_level(KBD_IRQ, l); },
                                   [this](bool l) { irq_->set_level(AUX_IRQ, l); });
  i8042_->map_ports(io_);
  port92_ = std::make_unique<Port92>(reset("port 0x92"));
  port92_->map_ports(io_);

  debug_exit_ = std::make_unique<DebugExit>([this](int status, uint64_t v) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "isa-debug-exit: the guest wrote 0x%llx (exit status %d)", (unsigned long long)v,
                  status);
    request_exit(status, "debug-exit", msg);
  });
  debug_exit_->map_ports(io_);

  testdev_ = std::make_unique<PcTestdev>([this](unsigned line, bool level) { irq_->set_level(line, level); });
  testdev_->map(io_, *mem_);

  fw_cfg_ = std::make_unique<FwCfg>();
  fw_cfg_->map_ports(io_);
  pci_ = std::make_unique<PciHost>(reset("the PCI reset control register (0xcf9)"));
  pci_->map_ports(io_);
}

Pc::~Pc() = default;

void Pc::request_exit(int status, const std::string& reason, const std::string& message) {
  if (exit_) return;  // the first request wins
  exit_ = PcOutcome{status, reason, message};
  slice_cut_ = true;
  cpu_->stop = StopReason::Limit;  // end the current slice after this instruction
}

void Pc::power_off() { request_exit(pc_exit::POWER_OFF, "power-off", "the guest powered off"); }

void Pc::request_reset(const std::string& source) {
  // A PC would reboot (QEMU does); softvt ends the run
  // (docs/decisions.md "Reset").
  request_exit(pc_exit::RESET, "reset", "the guest reset the machine through " + source);
}

PcOutcome Pc::halted_outcome(uint64_t deadline) {
  const Cpu& c = *cpu_;
  if (!(c.s.rflags & fl::IF) && !c.nmi_pending)
    return PcOutcome{pc_exit::HALTED, "halted",
                     "the CPU halted with interrupts disabled (IF=0): nothing can wake it"};
  if (deadline == Clock::NEVER)
    return PcOutcome{pc_exit::HALTED, "halted", "the CPU halted with no interrupt pending and no timer running"};
  return PcOutcome{};
}

void Pc::feed_serial_input() {
  if (!config_.serial_in || com1_->rx_room() == 0) return;
  for (unsigned room = com1_->rx_room(); room; --room) {
    const int b = config_.serial_in();
    if (b < 0) return;
    com1_->receive(uint8_t(b));
  }
}

PcOutcome Pc::run() {
  Cpu& c = *cpu_;
  Clock& clk = *clock_;
  const uint64_t max = config_.max_insns;
  for (;;) {
    if (interrupt_requested)
      return PcOutcome{pc_exit::INTERRUPTED, "interrupted", "stopped by SIGINT (Ctrl-C)"};
    clk.fire_expired();
    feed_serial_input();
    if (exit_) return *exit_;
    if (c.s.insn_count >= max) return PcOutcome{pc_exit::LIMIT, "limit", "--max-insns reached"};

    const uint64_t deadline = clk.next_deadline();
    uint64_t slice = clk.source() == ClockSource::Host ? HOST_SLICE_INSNS : SLICE_INSNS;
    if (clk.source() == ClockSource::Instructions && deadline != Clock::NEVER) {
      const uint64_t now = clk.now();
      const uint64_t to_deadline = (deadline - now + Clock::NS_PER_INSN - 1) / Clock::NS_PER_INSN;
      if (to_deadline < slice) slice = to_deadline ? to_deadline : 1;
    }
    const uint64_t limit = max - c.s.insn_count < slice ? max : c.s.insn_count + slice;
    slice_cut_ = false;
    const StopReason r = c.run(limit);
    if (exit_) return *exit_;
    switch (r) {
      case StopReason::Hlt: {
        // The slice may have armed timers: look again.
        const uint64_t next = clk.next_deadline();
        PcOutcome stuck = halted_outcome(next);
        if (stuck.status) return stuck;
        // Nothing to do until the next timer: let guest time jump there.
        const uint64_t before = clk.skipped();
        clk.idle_until(next);
        c.s.tsc_offset += clk.skipped() - before;  // the TSC keeps counting guest nanoseconds
        break;
      }
      case StopReason::Shutdown:
        return PcOutcome{pc_exit::TRIPLE_FAULT, "triple-fault", "shutdown: " + c.stop_detail};
      case StopReason::Error:
        return PcOutcome{pc_exit::BACKEND_ERROR, "error", c.stop_detail};
      case StopReason::Limit:
        // A slice ended (deadline, a device's request) or --max-insns: the
        // loop's top decides. A slice of steps that retired nothing (a long
        // REP, faults) ends here too and the next slice continues.
        if (limit == max && c.s.insn_count < max && !slice_cut_) {
          // The remaining budget went to steps that retire nothing.
          return PcOutcome{pc_exit::LIMIT, "limit", "--max-insns reached"};
        }
        break;
      default: break;
    }
  }
}

}  // namespace softvt
