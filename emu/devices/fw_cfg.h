// QEMU's firmware configuration device on I/O ports 0x510 (selector,
// 16-bit write) and 0x511 (data, byte reads) - the traditional interface
// only: FW_CFG_ID reads 1 (no DMA). Keys and formats follow QEMU's
// include/standard-headers/linux/qemu_fw_cfg.h and hw/nvram/fw_cfg.c
// (facts only): integers are little-endian; the file directory (key 0x19)
// is big-endian: a u32 count, then per file u32 size, u16 select, u16
// reserved, char name[56], sorted by name, with selectors from 0x20.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace softvt {

class IoBus;

namespace fw_cfg_key {
constexpr uint16_t SIGNATURE = 0x00, ID = 0x01, UUID = 0x02, RAM_SIZE = 0x03, NOGRAPHIC = 0x04;
constexpr uint16_t NB_CPUS = 0x05, MACHINE_ID = 0x06, KERNEL_ADDR = 0x07, KERNEL_SIZE = 0x08;
constexpr uint16_t KERNEL_CMDLINE = 0x09, INITRD_ADDR = 0x0a, INITRD_SIZE = 0x0b, BOOT_DEVICE = 0x0c;
constexpr uint16_t NUMA = 0x0d, BOOT_MENU = 0x0e, MAX_CPUS = 0x0f, KERNEL_ENTRY = 0x10;
constexpr uint16_t KERNEL_DATA = 0x11, INITRD_DATA = 0x12, CMDLINE_ADDR = 0x13, CMDLINE_SIZE = 0x14;
constexpr uint16_t CMDLINE_DATA = 0x15, SETUP_ADDR = 0x16, SETUP_SIZE = 0x17, SETUP_DATA = 0x18;
constexpr uint16_t FILE_DIR = 0x19, FILE_FIRST = 0x20;
constexpr uint16_t WRITE_CHANNEL = 0x4000, ARCH_LOCAL = 0x8000;
// x86 arch-local keys (QEMU hw/i386/fw_cfg.h).
constexpr uint16_t ACPI_TABLES = 0x8000, SMBIOS_ENTRIES = 0x8001, IRQ0_OVERRIDE = 0x8002;
constexpr uint16_t E820_TABLE = 0x8003, HPET = 0x8004;
}  // namespace fw_cfg_key

class FwCfg {
 public:
  static constexpr uint16_t PORT = 0x510;
  FwCfg();  // with the signature and the ID

  void add_bytes(uint16_t key, std::vector<uint8_t> data);
  void add_u16(uint16_t key, uint16_t v);
  void add_u32(uint16_t key, uint32_t v);
  void add_u64(uint16_t key, uint64_t v);
  void add_string(uint16_t key, const std::string& s);  // with its NUL
  // A named file in the directory (selectors are reassigned by name order).
  void add_file(const std::string& name, std::vector<uint8_t> data);
  // The selector of a file, or 0xffff.
  uint16_t file_key(const std::string& name) const;

  void map_ports(IoBus& io);
  void select(uint16_t key);
  uint8_t read_byte();

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(current_);
    io(offset_);
  }

 private:
  void rebuild_directory();
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, std::vector<uint8_t>> files_;
  const std::vector<uint8_t>* current_ = nullptr;
  uint64_t offset_ = 0;
};

}  // namespace softvt
