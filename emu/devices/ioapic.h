// The I/O APIC (Intel 82093AA datasheet, with the version-0x20 EOI register
// of the ICH/PCH I/O APICs that QEMU's default model also reports): 24
// redirection entries reached through IOREGSEL (offset 0x00) and IOWIN
// (offset 0x10) of its MMIO window (default 0xfec00000).
//
// Inputs: set_irq(line, asserted) for each of the 24 input pins; eoi(vector)
// for the EOI broadcast of the local APICs (connect it with
// ApicBus::add_eoi_listener). Output: ApicMessages handed to `deliver`
// (normally ApicBus::send with sender nullptr).
//
// Pin polarity: set_irq takes the logical assertion of the source, as QEMU
// and KVM model it; the polarity bit (13) is stored and read back but the
// board is assumed to present every source with the polarity the OS
// programmed (the ACPI MADT overrides say which).
#pragma once
#include <array>
#include <cstdint>
#include <functional>

#include "emu/devices/lapic.h"

namespace softvt {

class IoApic {
 public:
  static constexpr unsigned PINS = 24;
  static constexpr uint64_t DEFAULT_BASE = 0xfec00000;
  static constexpr uint64_t MMIO_SIZE = 0x1000;
  // Register window offsets and indirect register indexes (82093AA 3.0, 3.2).
  static constexpr uint64_t IOREGSEL = 0x00, IOWIN = 0x10, EOI_REG = 0x40;
  static constexpr uint32_t REG_ID = 0x00, REG_VERSION = 0x01, REG_ARB = 0x02, REG_REDTBL = 0x10;
  // Version register: version 0x20, maximum redirection entry 23 (bits 23:16).
  static constexpr uint32_t VERSION = 0x20 | ((PINS - 1) << 16);

  explicit IoApic(std::function<void(const ApicMessage&)> deliver);

  void reset();  // every entry masked, ID 0 (82093AA 3.2.4)

  uint64_t mmio_read(uint64_t offset, unsigned size);
  void mmio_write(uint64_t offset, unsigned size, uint64_t value);

  void set_irq(unsigned line, bool asserted);
  void eoi(uint8_t vector);

  // For tests and the machine's debugging.
  uint64_t redirection(unsigned pin) const { return rte_[pin]; }
  uint32_t id() const { return id_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(select_);
    io(id_);
    io(rte_);
    io(level_);
  }

 private:
  uint32_t read_register(uint32_t index) const;
  void write_register(uint32_t index, uint32_t value);
  void service(unsigned pin);

  std::function<void(const ApicMessage&)> deliver_;
  uint32_t select_ = 0;
  uint32_t id_ = 0;  // bits 27:24
  std::array<uint64_t, PINS> rte_{};
  std::array<bool, PINS> level_{};
};

}  // namespace softvt
