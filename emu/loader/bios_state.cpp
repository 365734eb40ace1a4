#include "emu/loader/bios_state.h"

#include <cstring>

#include "emu/machine/io_bus.h"
#include "emu/memory.h"

namespace softvt {

std::vector<E820Range> bios_e820_map(uint64_t ram) {
  return {
      {0, bios::EBDA_BASE, e820::RAM},
      {bios::EBDA_BASE, 0xa0000 - bios::EBDA_BASE, e820::RESERVED},
      {bios::ROM_BASE, 0x100000 - bios::ROM_BASE, e820::RESERVED},
      {0x100000, bios::firmware_area_base(ram) - 0x100000, e820::RAM},
      {bios::firmware_area_base(ram), bios::FIRMWARE_AREA_SIZE, e820::RESERVED},
      {0xfffc0000, 0x40000, e820::RESERVED},
  };
}

std::vector<E820Range> bios_e820_map(uint64_t ram, bool amd_ht_hole) {
  std::vector<E820Range> map = bios_e820_map(ram);
  if (amd_ht_hole) map.push_back(E820Range{AMD_HT_START, AMD_HT_SIZE, e820::RESERVED});
  return map;
}

std::vector<E820Range> qemu_e820_map(uint64_t ram, bool amd_ht_hole) {
  std::vector<E820Range> map;
  if (amd_ht_hole) map.push_back(E820Range{AMD_HT_START, AMD_HT_SIZE, e820::RESERVED});
  map.push_back(E820Range{0, ram, e820::RAM});
  return map;
}

namespace {
void put16(Memory& mem, uint64_t a, uint16_t v) { std::memcpy(mem.ram() + a, &v, 2); }
}  // namespace

void write_bios_memory(Memory& mem) {
  uint8_t* ram = mem.ram();
  // IVT: 256 far pointers F000:FF53.
  for (unsigned v = 0; v < 256; ++v) {
    put16(mem, v * 4, uint16_t(bios::IRET_STUB & 0xffff));
    put16(mem, v * 4 + 2, uint16_t(bios::ROM_BASE >> 4));
  }
  ram[bios::IRET_STUB] = 0xcf;  // IRET
  // BIOS data area (IBM PC/AT BIOS technical reference, "BIOS Data Area").
  put16(mem, 0x400, 0x3f8);                     // COM1
  put16(mem, 0x402, 0x2f8);                     // COM2
  put16(mem, 0x40e, uint16_t(bios::EBDA_BASE >> 4));
  // Equipment word: bit 1 math coprocessor, bits 5-4 = 10 (80x25 colour),
  // bits 11-9 = 2 serial ports.
  put16(mem, 0x410, 0x0422);
  put16(mem, 0x413, bios::BASE_MEMORY_KB);
  ram[bios::EBDA_BASE] = 1;                     // EBDA size in KiB
}

void init_bios_devices(IoBus& io) {
  // ICW1 (edge, cascade, ICW4), ICW2 (vector base), ICW3 (slave on IR2 /
  // slave id 2), ICW4 (8086 mode), then the masks.
  const uint8_t master[] = {0x11, 0x08, 0x04, 0x01};
  const uint8_t slave[] = {0x11, 0x70, 0x02, 0x01};
  io.write(0x20, 1, master[0]);
  for (unsigned i = 1; i < 4; ++i) io.write(0x21, 1, master[i]);
  io.write(0xa0, 1, slave[0]);
  for (unsigned i = 1; i < 4; ++i) io.write(0xa1, 1, slave[i]);
  io.write(0x21, 1, 0xf8);  // IRQ0 timer, IRQ1 keyboard, IRQ2 cascade
  io.write(0xa1, 1, 0xff);
  // SeaBIOS routes the PCI interrupt pins to IRQ10 and IRQ11 and makes
  // them level-triggered in the ELCR.
  io.write(0x4d0, 1, 0x00);
  io.write(0x4d1, 1, 0x0c);
  // PIT counter 0: LSB then MSB, mode 3, binary, count 0 = 65536.
  io.write(0x43, 1, 0x36);
  io.write(0x40, 1, 0x00);
  io.write(0x40, 1, 0x00);
}

}  // namespace softvt
