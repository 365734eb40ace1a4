// The High Precision Event Timer (IA-PC HPET Specification 1.0a): a 64-bit
// main counter at 100 MHz (10 ns, as QEMU's) and three comparators, at the
// MMIO window 0xfed00000 (1 KiB of registers).
//
// Time is an argument (guest ns). next_deadline_ns() says when tick() must
// run next; every register access also catches up first.
//
// Interrupt routing (spec 2.3.9.2.2 and 2.3.9.1 "legacy replacement"):
// with GEN_CONF.LEG_RT_CNF set, timer 0 drives ISA IRQ 0 and timer 1 ISA
// IRQ 8 (`legacy_irq`; the machine must then silence the PIT's IRQ 0 and
// the RTC's IRQ 8, see legacy_replacement()); otherwise timer n drives the
// I/O APIC input Tn_INT_ROUTE_CNF (`ioapic_irq`), one of pins 20-23. FSB
// (MSI) delivery is not offered. Edge-triggered timers send a pulse (level
// true then false); level-triggered ones hold the line until software
// clears their GINTR_STA bit.
#pragma once
#include <array>
#include <cstdint>
#include <functional>

namespace softvt {

class Hpet {
 public:
  static constexpr uint64_t DEFAULT_BASE = 0xfed00000;
  static constexpr uint64_t MMIO_SIZE = 0x400;
  static constexpr unsigned TIMERS = 3;
  static constexpr uint32_t PERIOD_FS = 10000000;  // 10 ns per tick
  static constexpr uint64_t NS_PER_TICK = 10;
  static constexpr uint32_t ROUTE_CAP = 0x00f00000;  // I/O APIC inputs 20-23

  // Register offsets (spec Table 2).
  static constexpr uint64_t GCAP_ID = 0x000, GEN_CONF = 0x010, GINTR_STA = 0x020, MAIN_COUNTER = 0x0f0;
  static constexpr uint64_t TIMER_BASE = 0x100, TIMER_STRIDE = 0x20;
  static constexpr uint64_t TN_CONF = 0x0, TN_CMP = 0x8, TN_FSB = 0x10;
  // GEN_CONF bits.
  static constexpr uint64_t ENABLE_CNF = 1, LEG_RT_CNF = 2;
  // Tn_CONF_CAP bits (spec 2.3.8).
  static constexpr uint64_t TN_INT_TYPE_LEVEL = 1u << 1, TN_INT_ENB = 1u << 2, TN_TYPE_PERIODIC = 1u << 3;
  static constexpr uint64_t TN_PER_INT_CAP = 1u << 4, TN_SIZE_CAP = 1u << 5, TN_VAL_SET = 1u << 6;
  static constexpr uint64_t TN_32MODE = 1u << 8, TN_INT_ROUTE_SHIFT = 9, TN_INT_ROUTE = 0x1fu << 9;

  struct Callbacks {
    std::function<void(unsigned isa_irq, bool level)> legacy_irq;
    std::function<void(unsigned ioapic_pin, bool level)> ioapic_irq;
  };

  explicit Hpet(Callbacks cb);
  void reset();

  uint64_t mmio_read(uint64_t now_ns, uint64_t offset, unsigned size);
  void mmio_write(uint64_t now_ns, uint64_t offset, unsigned size, uint64_t value);

  uint64_t next_deadline_ns() const;
  void tick(uint64_t now_ns);

  // The value of GCAP_ID's low 32 bits (the ACPI HPET table's "event timer
  // block ID").
  static uint32_t capabilities_low();
  bool legacy_replacement() const { return gen_conf_ & LEG_RT_CNF; }
  uint64_t counter(uint64_t now_ns) const;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(gen_conf_);
    io(isr_);
    io(counter_base_);
    io(counter_base_ns_);
    io(timers_);
  }

 private:
  struct Timer {
    uint64_t config = 0;
    uint64_t cmp = 0;
    uint64_t period = 0;
    uint64_t target = 0;                // counter value of the next match
    bool armed = false;                 // a match is ahead (target valid)
    uint64_t deadline_ns = UINT64_MAX;  // guest time of that match
    bool line = false;                  // the level this timer drives
  };
  uint64_t read64(uint64_t now_ns, uint64_t reg);
  void write64(uint64_t now_ns, uint64_t reg, uint64_t value, uint64_t mask);
  void write_timer_config(uint64_t now_ns, unsigned n, uint64_t value);
  void rearm(unsigned n, uint64_t now_ns);
  void set_deadline(unsigned n);
  void fire(unsigned n, uint64_t now_ns);
  void drive(unsigned n, bool level);
  uint64_t route_cap() const { return uint64_t(ROUTE_CAP) << 32; }
  bool enabled() const { return gen_conf_ & ENABLE_CNF; }

  Callbacks cb_;
  uint64_t gen_conf_ = 0;
  uint64_t isr_ = 0;             // GINTR_STA
  uint64_t counter_base_ = 0;    // the counter at counter_base_ns_ (or while halted)
  uint64_t counter_base_ns_ = 0;
  std::array<Timer, TIMERS> timers_{};
};

}  // namespace softvt
