// The 8254 programmable interval timer (Intel 8254 data sheet) at ports
// 0x40-0x43, clocked at 1.193182 MHz from the guest clock, with counter 0's
// OUT on ISA IRQ0 and counter 2's gate and OUT on port 0x61 (with the
// speaker enable and the refresh toggle). Counter values are computed from
// guest time when read; a clock timer is armed only at the rising edges of
// counter 0's OUT (the IRQ0 interrupts), so nothing runs per tick.
//
// Timing convention (QEMU's, docs/decisions.md "PIT"): a count is loaded
// into the counting element when it is written and decrements on every
// tick after that (the data sheet loads it on the next CLK pulse, one tick
// later); a new count written while counting restarts the counter.
#pragma once
#include <cstdint>
#include <functional>

#include "emu/machine/clock.h"

namespace softvt {

class IoBus;

class Pit8254 {
 public:
  static constexpr uint64_t HZ = 1193182;
  Pit8254(Clock& clock, std::function<void(bool)> irq0);

  void map_ports(IoBus& io);
  uint8_t read(unsigned counter_port);            // 0-2 counters, 3 control (reads 0xff)
  void write(unsigned port, uint8_t v);           // 0-2 counters, 3 control word
  uint8_t read_port61();
  void write_port61(uint8_t v);
  void set_gate(unsigned counter, bool level);

  bool out(unsigned counter);           // OUT level now
  uint16_t current_count(unsigned counter);  // the counting element now (binary or BCD as programmed)
  uint64_t ticks() const { return ns_to_ticks(clock_.now(), HZ); }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(c_);
    io(port61_);
  }

 private:
  struct Counter {
    uint8_t control = 0;     // the control word's bits 5-0 (RW, mode, BCD)
    unsigned mode = 0;
    unsigned rw = 3;         // 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    uint32_t reload = 0x10000;  // N (count 0 = 65536, or 10000 in BCD)
    uint16_t written = 0;    // the count register as written so far
    bool write_msb = false;  // the next byte written is the MSB (rw 3)
    bool read_msb = false;   // the next byte read is the MSB (rw 3)
    bool loaded = false;     // a count is in the counting element
    bool armed = false;      // counting (modes 1/5: after a gate trigger)
    bool paused = false;     // gate low in modes 0/4
    uint64_t start = 0;      // tick at which counting (re)started
    uint64_t paused_at = 0;  // elapsed ticks when the gate paused it
    bool gate = true;
    bool null_count = true;
    bool count_latched = false, status_latched = false;
    uint16_t latch = 0;
    uint8_t status = 0;
    bool latch_msb = false;
  };
  uint64_t elapsed(const Counter& c) const;      // ticks counted since start
  bool out_at(const Counter& c, uint64_t d) const;
  uint32_t value_at(const Counter& c, uint64_t d) const;  // binary CE value
  uint16_t encode(const Counter& c, uint32_t v) const;    // to BCD if programmed
  uint8_t read_counter(Counter& c);
  void write_counter(unsigned i, uint8_t v);
  void control_word(uint8_t v);
  void latch_count(Counter& c);
  void latch_status(unsigned i);
  void start_counting(unsigned i);
  // Drives IRQ0 from counter 0's OUT (a pulse at a rising edge) and arms
  // the timer for the next rising edge.
  void update_irq0(bool rising_edge);

  Clock& clock_;
  std::function<void(bool)> irq0_;
  Clock::TimerId timer_;
  Counter c_[3];
  uint8_t port61_ = 0;   // bits 0 (gate 2) and 1 (speaker data enable)
};

}  // namespace softvt
