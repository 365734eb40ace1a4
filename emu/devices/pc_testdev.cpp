#include "emu/devices/pc_testdev.h"

#include <cstring>

#include "emu/machine/io_bus.h"
#include "emu/memory.h"

namespace softvt {

uint64_t PcTestdev::read_register(unsigned byte, unsigned size) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && byte + i < 4; ++i) v |= uint64_t((data_ >> (8 * (byte + i))) & 0xff) << (8 * i);
  return v;
}

void PcTestdev::write_register(unsigned byte, unsigned size, uint64_t v) {
  for (unsigned i = 0; i < size && byte + i < 4; ++i) {
    const unsigned shift = 8 * (byte + i);
    data_ = (data_ & ~(0xffu << shift)) | (uint32_t((v >> (8 * i)) & 0xff) << shift);
  }
}

void PcTestdev::map(IoBus& io, Memory& mem) {
  const IoHandler reg{[this](uint16_t off, unsigned size) -> uint64_t { return read_register(off, size); },
                      [this](uint16_t off, unsigned size, uint64_t v) { write_register(off, size, v); }};
  io.map(0xe0, 4, reg, "pc-testdev-ioport");
  io.map(0xe4, 4, IoHandler{nullptr, [](uint16_t, unsigned, uint64_t) {}}, "pc-testdev-flush-page");
  io.map(0xe8, 4, reg, "pc-testdev-ioport-byte");
  io.map(0x2000, 24,
         IoHandler{nullptr,
                   [this](uint16_t off, unsigned size, uint64_t v) {
                     if (size == 1 && set_irq_) set_irq_(off, v != 0);  // byte accesses only, as QEMU
                   }},
         "pc-testdev-irq-line");
  mem.map_mmio(MMIO_BASE, MMIO_SIZE,
               MmioHandler{[this](uint64_t off, unsigned size) -> uint64_t {
                             uint64_t v = 0;
                             if (off + size <= MMIO_SIZE) std::memcpy(&v, &iomem_[off], size);
                             return v;
                           },
                           [this](uint64_t off, unsigned size, uint64_t v) {
                             if (off + size <= MMIO_SIZE) std::memcpy(&iomem_[off], &v, size);
                           }});
}

}  // namespace softvt
