#include "emu/devices/pci_host.h"

#include <cstring>

#include "emu/machine/io_bus.h"

namespace softvt {

namespace {
void put16(std::array<uint8_t, 256>& s, unsigned off, uint16_t v) { std::memcpy(&s[off], &v, 2); }

void header(std::array<uint8_t, 256>& s, uint16_t vendor, uint16_t device, uint8_t revision, uint32_t class_code,
            uint8_t header_type) {
  put16(s, 0x00, vendor);
  put16(s, 0x02, device);
  put16(s, 0x06, 0x0200);  // status: medium DEVSEL timing
  s[0x08] = revision;
  s[0x09] = uint8_t(class_code);
  s[0x0a] = uint8_t(class_code >> 8);
  s[0x0b] = uint8_t(class_code >> 16);
  s[0x0e] = header_type;
}

// Bytes a configuration write may change: command, cache line size,
// latency timer, interrupt line, and the device-specific area (0x40-0xff).
bool writable(unsigned reg) {
  return reg == 0x04 || reg == 0x05 || reg == 0x0c || reg == 0x0d || reg == 0x3c || reg >= 0x40;
}
}  // namespace

PciHost::PciHost(std::function<void()> reset) : reset_(std::move(reset)) {
  header(host_, 0x8086, 0x1237, 0x02, 0x060000, 0x00);  // host bridge
  header(isa_, 0x8086, 0x7000, 0x00, 0x060100, 0x80);   // ISA bridge, multi-function
  put16(host_, 0x04, 0x0006);  // memory space and bus master enabled
  put16(isa_, 0x04, 0x0007);
}

PciHost::Space* PciHost::function(unsigned bus, unsigned dev, unsigned fn) {
  if (bus != 0 || fn != 0) return nullptr;
  return dev == 0 ? &host_ : dev == 1 ? &isa_ : nullptr;
}
const PciHost::Space* PciHost::function(unsigned bus, unsigned dev, unsigned fn) const {
  return const_cast<PciHost*>(this)->function(bus, dev, fn);
}

uint32_t PciHost::config_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size) const {
  const Space* s = function(bus, dev, fn);
  if (!s) return uint32_t(all_ones(size));
  uint32_t v = 0;
  for (unsigned i = 0; i < size && reg + i < 256; ++i) v |= uint32_t((*s)[reg + i]) << (8 * i);
  return v;
}

void PciHost::config_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint32_t v) {
  Space* s = function(bus, dev, fn);
  if (!s) return;
  for (unsigned i = 0; i < size && reg + i < 256; ++i)
    if (writable(reg + i)) (*s)[reg + i] = uint8_t(v >> (8 * i));
}

uint64_t PciHost::data_read(unsigned byte, unsigned size) {
  if (!(address_ & 0x80000000u)) return all_ones(size);
  return config_read((address_ >> 16) & 0xff, (address_ >> 11) & 0x1f, (address_ >> 8) & 7,
                     (address_ & 0xfc) + byte, size);
}

void PciHost::data_write(unsigned byte, unsigned size, uint64_t v) {
  if (!(address_ & 0x80000000u)) return;
  config_write((address_ >> 16) & 0xff, (address_ >> 11) & 0x1f, (address_ >> 8) & 7, (address_ & 0xfc) + byte,
               size, uint32_t(v));
}

void PciHost::map_ports(IoBus& io) {
  io.map(0xcf8, 8,
         IoHandler{[this](uint16_t off, unsigned size) -> uint64_t {
                     if (off == 0 && size == 4) return address_;
                     if (off == 1 && size == 1) return reset_control_;
                     if (off >= 4) return data_read(off - 4u, size);
                     return all_ones(size);
                   },
                   [this](uint16_t off, unsigned size, uint64_t v) {
                     if (off == 0 && size == 4) {
                       // Bits 1-0 of CONFIG_ADDRESS are read-only 0.
                       address_ = uint32_t(v) & 0x80fffffcu;
                     } else if (off == 1 && size == 1) {
                       const bool reset = (v & 0x04) && !(reset_control_ & 0x04);
                       reset_control_ = uint8_t(v & 0x0a);
                       if (reset && reset_) reset_();
                     } else if (off >= 4) {
                       data_write(off - 4u, size, v);
                     }
                   }},
         "pci-host");
}

}  // namespace softvt
