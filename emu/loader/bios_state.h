// What a PC BIOS leaves behind when a kernel is loaded directly, without
// firmware running (QEMU's -kernel runs SeaBIOS first; softvt writes the
// result): the real-mode IVT with default handlers, the BIOS data area and
// EBDA, the memory maps, and the PICs and PIT as the BIOS programmed them.
#pragma once
#include <cstdint>
#include <vector>
#include "emu/loader/e820.h"

namespace softvt {

class IoBus;
class Memory;


// Layout of low memory and the firmware areas.
namespace bios {
constexpr uint64_t EBDA_BASE = 0x9fc00;        // 1 KiB extended BIOS data area
constexpr uint64_t ROM_BASE = 0xf0000;         // the BIOS ROM segment (reserved RAM here)
constexpr uint64_t IRET_STUB = 0xfff53;        // F000:FF53, the classic dummy IRET
constexpr uint64_t GDT = 0xf0100;              // the GDT a multiboot kernel is entered with
// The top 128 KiB of RAM are reserved for firmware tables (ACPI), as
// SeaBIOS reserves them under QEMU.
constexpr uint64_t FIRMWARE_AREA_SIZE = 0x20000;
inline uint64_t firmware_area_base(uint64_t ram) { return ram - FIRMWARE_AREA_SIZE; }
// Smallest RAM this layout needs (the firmware area above 1 MiB).
constexpr uint64_t MIN_RAM = 2ull << 20;
// Below this QEMU's i440FX keeps all RAM under 4 GiB without a hole.
constexpr uint64_t MAX_RAM = 0xe0000000ull;
constexpr unsigned BASE_MEMORY_KB = 639;       // INT 12h: 640 KiB less the EBDA
}  // namespace bios

// The map INT 15h E820 returns (SeaBIOS under QEMU for RAM below 3.5 GiB):
// conventional memory, the EBDA, the BIOS ROM, RAM above 1 MiB up to the
// firmware area, the firmware area, and the 256 KiB BIOS flash below 4 GiB.
std::vector<E820Range> bios_e820_map(uint64_t ram_bytes);
// With an AMD CPU model whose MAXPHYADDR reaches 40 bits QEMU also reserves
// the HyperTransport range below 1 TiB (first in its own table, in address
// order in SeaBIOS's).
constexpr uint64_t AMD_HT_START = 0xfd00000000ull, AMD_HT_SIZE = 0x300000000ull;
std::vector<E820Range> bios_e820_map(uint64_t ram_bytes, bool amd_ht_hole);
// QEMU's own table (fw_cfg "etc/e820"): the RAM, before SeaBIOS refines it.
std::vector<E820Range> qemu_e820_map(uint64_t ram_bytes, bool amd_ht_hole);

// IVT (every vector -> F000:FF53, an IRET), the BDA (COM1/COM2 bases,
// equipment word, base memory size, EBDA segment) and the EBDA header.
void write_bios_memory(Memory& mem);
// The PICs initialised with vector bases 0x08/0x70 (timer, keyboard and
// cascade unmasked) and PIT counter 0 in mode 3 with count 65536
// (18.2 Hz), through the same port writes a BIOS makes.
void init_bios_devices(IoBus& io);

}  // namespace softvt
