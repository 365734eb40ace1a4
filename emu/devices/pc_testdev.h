// QEMU's pc-testdev (hw/misc/pc-testdev.c, facts only) as bare-metal test
// kernels use it:
//  - 0xe0-0xe3: a 32-bit register; an access of N bytes at 0xe0 + k reads
//    or writes its bytes k..k+N-1 (bytes beyond the register are dropped);
//  - 0xe4-0xe7: "flush page": a 32-bit write names a guest-physical page
//    that QEMU unmaps and remaps on the host to make KVM fault on it again;
//    its contents stay, so for the guest it has no visible effect, and
//    softvt accepts and ignores it;
//  - 0xe8-0xeb: the same register, byte-wise;
//  - 0x2000 + n (n = 0..23): a byte write sets interrupt line n to
//    (value != 0); lines 0-15 are the ISA IRQs (PIC and I/O APIC), 16-23
//    reach only the I/O APIC (QEMU itself asserts on them);
//  - 0xff000000: 64 KiB of RAM-like MMIO.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace softvt {

class IoBus;
class Memory;

class PcTestdev {
 public:
  static constexpr uint64_t MMIO_BASE = 0xff000000, MMIO_SIZE = 0x10000;
  explicit PcTestdev(std::function<void(unsigned line, bool level)> set_irq)
      : set_irq_(std::move(set_irq)), iomem_(MMIO_SIZE, 0) {}
  void map(IoBus& io, Memory& mem);

  uint64_t read_register(unsigned byte, unsigned size) const;
  void write_register(unsigned byte, unsigned size, uint64_t v);
  uint32_t echo() const { return data_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(data_);
    io(iomem_);
  }

 private:
  std::function<void(unsigned, bool)> set_irq_;
  uint32_t data_ = 0;
  std::vector<uint8_t> iomem_;
};

}  // namespace softvt
