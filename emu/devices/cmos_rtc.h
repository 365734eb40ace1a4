// The MC146818A-compatible RTC and CMOS memory at ports 0x70 (index; bit 7
// masks NMI) and 0x71 (data): the time from the guest clock (under
// deterministic time counted from a fixed epoch, 2026-01-01 00:00:00 UTC;
// with --clock host from the host's time at power-on), status registers
// A-D, periodic, alarm and update-ended interrupts on IRQ8, and the memory
// size bytes as QEMU's PC fills them (0x15-0x18, 0x30-0x31, 0x34-0x35,
// 0x5b-0x5d) plus the CPU count at 0x5f.
#pragma once
#include <cstdint>
#include <functional>

#include "emu/machine/clock.h"

namespace softvt {

class IoBus;

class CmosRtc {
 public:
  static constexpr int64_t DETERMINISTIC_EPOCH = 1767225600;  // 2026-01-01 00:00:00 UTC

  // `epoch`: Unix time at guest time 0; `irq8`: the IRQ8 line level.
  CmosRtc(Clock& clock, int64_t epoch, std::function<void(bool)> irq8);
  void map_ports(IoBus& io);
  // The CMOS bytes describing `ram_bytes` of RAM (and `cpus` CPUs).
  void set_memory_size(uint64_t ram_bytes, unsigned cpus);

  void write_index(uint8_t v) { index_ = v & 0x7f; nmi_masked_ = v & 0x80; }
  uint8_t read_data();
  void write_data(uint8_t v);
  bool nmi_masked() const { return nmi_masked_; }
  uint8_t byte(unsigned index) const { return cmos_[index & 0x7f]; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(offset_);
    io(cmos_);
    io(index_);
    io(nmi_masked_);
    io(last_periodic_ns_);
  }

 private:
  int64_t unix_time() const;          // the RTC's current time (seconds)
  uint64_t ns_in_second() const;
  void store_time(int64_t t);         // sets the time (writing the registers)
  uint8_t time_register(unsigned index) const;
  uint8_t to_bcd(unsigned v) const;   // per register B's DM bit
  unsigned from_bcd(uint8_t v) const;
  uint64_t periodic_ns() const;       // 0 = off
  void reschedule();
  void on_timer(bool periodic);  // a periodic or an update-ended event
  void update_irq();
  bool alarm_matches(int64_t t) const;

  Clock& clock_;
  std::function<void(bool)> irq8_;
  Clock::TimerId periodic_timer_, update_timer_;
  int64_t offset_;                 // unix time = offset_ + guest seconds
  uint8_t cmos_[128] = {};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  uint64_t last_periodic_ns_ = 0;  // guest time of the last periodic flag (PF computed lazily)
};

}  // namespace softvt
