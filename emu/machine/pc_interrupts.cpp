// The PC's APIC side (docs/interrupt-controllers.md "Wiring them into the
// PC machine"): one local APIC per CPU on an APIC bus, the I/O APIC, the
// HPET, the ACPI PM registers and the ACPI tables describing them.
#include <stdexcept>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/hpet.h"
#include "emu/devices/ioapic.h"
#include "emu/devices/lapic.h"
#include "emu/devices/lapic_windows.h"
#include "emu/devices/pic8259.h"
#include "emu/machine/acpi_tables.h"
#include "emu/machine/pc.h"

namespace softvt {

namespace {
constexpr unsigned SCI_IRQ = 9;

bool cpuid_bit(const CpuModel& m, unsigned reg_ecx_bit) { return (m.cpuid(1, 0).ecx >> reg_ecx_bit) & 1; }

// The ISA IRQ -> GSI mapping the MADT states: IRQ0 (the PIT) is wired to
// I/O APIC input 2 (interrupt source override); every other line n to
// input n. ISA IRQ2 is the PICs' cascade and reaches no I/O APIC input.
int isa_to_gsi(unsigned line) {
  if (line == 0) return 2;
  if (line == 2) return -1;
  return int(line);
}
}  // namespace

// CPU i's MSRs and CR8 that belong to its local APIC (SDM 11.4.4, 11.12,
// 11.8.6.1); the rest stay with the core.
class Pc::ApicPlatform final : public Cpu::Platform {
 public:
  ApicPlatform(Pc& pc, unsigned i) : pc_(pc), i_(i) {}
  bool read_msr(uint32_t index, uint64_t& value, bool& ok) override {
    if (!LocalApic::is_apic_msr(index)) return false;
    ok = apic().read_msr(pc_.clock().now(), index, value);
    return true;
  }
  bool write_msr(uint32_t index, uint64_t value, bool& ok) override {
    if (!LocalApic::is_apic_msr(index)) return false;
    ok = apic().write_msr(pc_.clock().now(), index, value);
    pc_.sync_apic_timer(i_);
    if (index == apic::msr::APIC_BASE) pc_.update_apic_windows();
    return true;
  }
  void msr_written(uint32_t index) override {
    constexpr uint32_t IA32_TSC = 0x10, IA32_TSC_ADJUST = 0x3b;
    if (index == IA32_TSC || index == IA32_TSC_ADJUST) {
      apic().tsc_changed(pc_.clock().now());
      pc_.sync_apic_timer(i_);
    }
  }
  uint64_t read_cr8() override { return apic().read_cr8(); }
  void write_cr8(uint64_t value) override { apic().write_cr8(value); }

 private:
  LocalApic& apic() { return pc_.lapic(i_); }
  Pc& pc_;
  unsigned i_;
};

void Pc::update_apic_windows() {
  std::vector<const LocalApic*> apics;
  for (const CpuSlot& slot : cpus_) apics.push_back(slot.apic.get());
  apic_windows_->update(apics);
}

void Pc::sync_apic_timer(unsigned i) { clock_->arm(cpus_[i].apic_timer, cpus_[i].apic->next_deadline_ns()); }
void Pc::sync_hpet_timer() { clock_->arm(hpet_timer_, hpet_->next_deadline_ns()); }
void Pc::sync_pm_timer() { clock_->arm(pm_timer_, pm_->next_deadline_ns(clock_->now())); }

void Pc::wire_interrupt_controllers() {
  apic_bus_ = std::make_unique<ApicBus>();
  // Local APICs: APIC ID i, CPU 0 the BSP; x2APIC and TSC-deadline as
  // CPUID reports them; the TSC counts guest nanoseconds.
  for (unsigned i = 0; i < cpu_count(); ++i) {
    CpuSlot& slot = cpus_[i];
    LocalApic::Config c;
    c.apic_id = i;
    c.bsp = i == 0;
    c.x2apic = cpuid_bit(model_, 21);
    c.tsc_deadline = cpuid_bit(model_, 24);
    c.tsc_hz = 1000000000;
    slot.apic = std::make_unique<LocalApic>(slot.cpu.get(), apic_bus_.get(), c);
    slot.platform = std::make_unique<ApicPlatform>(*this, i);
    slot.cpu->platform = slot.platform.get();
    slot.apic_timer = clock_->add_timer([this, i](uint64_t now) {
      catch_up_tsc(i);  // a TSC-deadline compares against this CPU's TSC
      cpus_[i].apic->tick(now);
      sync_apic_timer(i);
    });
    // Application processors wait for INIT-SIPI-SIPI (SDM 9.4); INIT keeps
    // the power-on values pc.cpp gave them (XCR0, MXCSR, PAT...).
    if (i != 0) slot.cpu->init_signal();
  }
  // The BSP as a BIOS leaves it for a directly loaded kernel: APIC enabled
  // in virtual-wire mode, the 8259A on LINT0 (MP spec 3.6.2.2).
  LocalApic& bsp = lapic(0);
  bsp.set_bios_virtual_wire();
  bsp.set_extint_source(pic_.get());
  pic_output = [this](bool level) { lapic(0).set_lint(0, level); };

  // Each CPU's xAPIC page is at its own IA32_APIC_BASE and reaches the
  // executing CPU's APIC (emu/devices/lapic_windows.h).
  apic_windows_ = std::make_unique<LapicWindows>(
      *mem_, LapicWindows::Hooks{[this]() -> LocalApic& { return lapic(running_); },
                                 [this] { return clock_->now(); }, [this] { sync_apic_timer(running_); }});
  update_apic_windows();

  ioapic_ = std::make_unique<IoApic>([this](const ApicMessage& m) { apic_bus_->send(m, nullptr); });
  apic_bus_->add_eoi_listener([this](uint8_t v) { ioapic_->eoi(v); });
  mem_->map_mmio(IoApic::DEFAULT_BASE, IoApic::MMIO_SIZE,
                 MmioHandler{[this](uint64_t off, unsigned size) { return ioapic_->mmio_read(off, size); },
                             [this](uint64_t off, unsigned size, uint64_t v) { ioapic_->mmio_write(off, size, v); }});
  irq_->ioapic = [this](unsigned line, bool level) {
    const int gsi = isa_to_gsi(line);
    if (gsi >= 0) ioapic_->set_irq(unsigned(gsi), level);
  };

  hpet_ = std::make_unique<Hpet>(Hpet::Callbacks{
      [this](unsigned isa_irq, bool level) { irq_->set_level(isa_irq, level); },
      [this](unsigned pin, bool level) { ioapic_->set_irq(pin, level); }});
  hpet_timer_ = clock_->add_timer([this](uint64_t now) {
    hpet_->tick(now);
    sync_hpet_timer();
  });
  mem_->map_mmio(Hpet::DEFAULT_BASE, Hpet::MMIO_SIZE,
                 MmioHandler{[this](uint64_t off, unsigned size) {
                               const uint64_t v = hpet_->mmio_read(clock_->now(), off, size);
                               sync_hpet_timer();
                               return v;
                             },
                             [this](uint64_t off, unsigned size, uint64_t v) {
                               hpet_->mmio_write(clock_->now(), off, size, v);
                               sync_hpet_timer();
                             }});
}

void Pc::wire_acpi() {
  pm_ = std::make_unique<AcpiPm>(AcpiPm::DEFAULT_BASE,
                                 AcpiPm::Callbacks{[this] { power_off(); },
                                                   [this](bool level) { irq_->set_level(SCI_IRQ, level); }});
  pm_timer_ = clock_->add_timer([this](uint64_t now) {
    pm_->tick(now);
    sync_pm_timer();
  });
  io_.map(AcpiPm::DEFAULT_BASE, AcpiPm::PORT_COUNT,
          IoHandler{[this](uint16_t off, unsigned size) {
                      const uint64_t v = pm_->io_read(clock_->now(), uint16_t(AcpiPm::DEFAULT_BASE + off), size);
                      sync_pm_timer();
                      return v;
                    },
                    [this](uint16_t off, unsigned size, uint64_t v) {
                      pm_->io_write(clock_->now(), uint16_t(AcpiPm::DEFAULT_BASE + off), size, v);
                      sync_pm_timer();
                    }},
          "acpi-pm");

  AcpiConfig a;
  a.cpus = cpu_count();
  a.pm_base = AcpiPm::DEFAULT_BASE;
  a.sci_irq = SCI_IRQ;
  a.slp_typ_s5 = AcpiPm::SLP_TYP_S5;
  a.hpet = true;
  a.hpet_block_id = Hpet::capabilities_low();
  place_acpi_tables(*mem_, a, ACPI_TABLES_BASE);
}

}  // namespace softvt
