// A PCI host bridge with configuration mechanism #1 (PCI Local Bus
// Specification 3.0 section 3.2.2.3.2): CONFIG_ADDRESS at 0xcf8 (32-bit
// accesses only), CONFIG_DATA at 0xcfc-0xcff. Bus 0 holds the host bridge
// 00:00.0 (8086:1237, like the i440FX) and the ISA bridge 00:01.0
// (8086:7000, like the PIIX3); every other function reads 0xffffffff.
// Port 0xcf9 is the PIIX3 reset control register: setting bit 2 (RST_CPU)
// resets the machine.
#pragma once
#include <array>
#include <cstdint>
#include <functional>

namespace softvt {

class IoBus;

class PciHost {
 public:
  explicit PciHost(std::function<void()> reset);
  void map_ports(IoBus& io);

  uint32_t config_address() const { return address_; }
  // A configuration read/write of `size` bytes at register `reg` of
  // bus/device/function, as CONFIG_DATA accesses perform them.
  uint32_t config_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size) const;
  void config_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint32_t v);

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(address_);
    io(reset_control_);
    io(host_);
    io(isa_);
  }

 private:
  using Space = std::array<uint8_t, 256>;
  Space* function(unsigned bus, unsigned dev, unsigned fn);
  const Space* function(unsigned bus, unsigned dev, unsigned fn) const;
  uint64_t data_read(unsigned byte, unsigned size);
  void data_write(unsigned byte, unsigned size, uint64_t v);

  std::function<void()> reset_;
  uint32_t address_ = 0;
  uint8_t reset_control_ = 0;
  Space host_{}, isa_{};
};

}  // namespace softvt
