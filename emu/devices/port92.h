// System control port A (0x92, the "fast A20" port of PS/2 and PIIX
// chipsets).
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class IoBus;

// System control port A at 0x92: bit 1 is the fast A20 gate, bit 0 pulses
// a reset on a 0 -> 1 transition.
class Port92 {
 public:
  explicit Port92(std::function<void()> reset) : reset_(std::move(reset)) {}
  void map_ports(IoBus& io);
  uint8_t read() const { return value_; }
  void write(uint8_t v);
  bool a20() const { return value_ & 0x02; }
  // Drives the CPUs' A20 gate: called with bit 1 on every write (the
  // machine wires it; docs/decisions.md "A20").
  std::function<void(bool enabled)> on_a20;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(value_);
  }

 private:
  std::function<void()> reset_;
  uint8_t value_ = 0x02;  // A20 enabled, as the BIOS leaves it
};

}  // namespace softvt
