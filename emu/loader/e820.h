// One range of the BIOS e820 memory map (ACPI 6 "System Address Map
// Interfaces"), shared by the BIOS state, multiboot, fw_cfg and the Linux
// boot protocol loaders.
#pragma once
#include <cstdint>

namespace softvt {

struct E820Range {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
namespace e820 {
constexpr uint32_t RAM = 1, RESERVED = 2, ACPI = 3, NVS = 4;
}

}  // namespace softvt
