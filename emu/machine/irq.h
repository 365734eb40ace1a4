// ISA interrupt lines (IRQ0-15) as devices drive them. Each line goes to
// the 8259A pair and, once the I/O APIC is wired (the `ioapic` hook), to
// the I/O APIC too, as on a PC where both see the ISA lines. Lines 16-23
// exist only on the I/O APIC (pc-testdev can drive them).
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class Pic8259Pair;

class IrqRouter {
 public:
  static constexpr unsigned LINES = 24;
  explicit IrqRouter(Pic8259Pair* pic) : pic_(pic) {}

  void set_level(unsigned line, bool level);
  void raise(unsigned line) { set_level(line, true); }
  void lower(unsigned line) { set_level(line, false); }
  // A rising and a falling edge (an edge-triggered request).
  void pulse(unsigned line) { raise(line); lower(line); }
  bool level(unsigned line) const { return line < LINES && ((levels_ >> line) & 1); }

  // The I/O APIC's input: (ISA line, level) for every change. The ISA line
  // -> GSI mapping (IRQ0 -> GSI 2 and the MADT's overrides) is the I/O
  // APIC side's business.
  std::function<void(unsigned line, bool level)> ioapic;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(levels_);
  }

 private:
  Pic8259Pair* pic_;
  uint32_t levels_ = 0;
};

}  // namespace softvt
