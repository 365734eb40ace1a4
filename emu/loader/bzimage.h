// The Linux x86 boot protocol (Documentation/arch/x86/boot.rst and
// zero-page.rst in the kernel tree): a bzImage is booted through its 64-bit
// entry point, the way a boot loader that runs no kernel real-mode code
// does it. The loader validates the image's setup header, places the
// protected-mode kernel, the initrd and the command line, fills struct
// boot_params (the "zero page") with the e820 map, and builds the CPU state
// the 64-bit protocol requires: long mode, paging with an identity map,
// __BOOT_CS / __BOOT_DS, interrupts off, RSI = &boot_params.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "emu/cpu_state.h"
#include "emu/loader/e820.h"
#include "emu/memory.h"

namespace softvt {

// A problem with the kernel image or the layout: the message names it
// (the caller adds the file name).
struct BzImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};


struct LinuxBoot {
  std::vector<uint8_t> kernel;  // the bzImage file
  std::vector<uint8_t> initrd;  // empty: none
  std::string cmdline;
  std::vector<E820Range> e820;  // the machine's memory map
  uint64_t acpi_rsdp = 0;       // 0: the kernel scans the BIOS area for it
  // --host-decompress: decompress the payload here and enter the vmlinux
  // at its startup_64 (the ELF entry) rather than the compressed kernel's
  // 64-bit entry; the kernel's decompressor, and with it KASLR, never runs.
  bool host_decompress = false;
};

// Where the loader puts its own structures (all in low memory, which Linux
// 6.1 reserves as a whole: "x86/setup: Always reserve the first 1M").
namespace linux_layout {
constexpr uint64_t PAGE_TABLES = 0x9000;   // PML4, PDPT, 4 page directories: 0x9000-0xefff
constexpr uint64_t GDT = 0xf000;           // null, null, __BOOT_CS (0x10), __BOOT_DS (0x18)
constexpr uint64_t BOOT_PARAMS = 0x10000;  // struct boot_params, 4 KiB
constexpr uint64_t CMDLINE = 0x20000;      // up to the header's cmdline_size
constexpr uint64_t STACK_TOP = 0x8000;     // an initial RSP (the kernel sets its own)
}  // namespace linux_layout

// Fields of the setup header the loader reads (offsets in the image and in
// boot_params, where the header is copied at 0x1f1).
struct SetupHeader {
  uint8_t setup_sects;
  uint16_t version;
  uint8_t loadflags;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  uint8_t relocatable;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t payload_offset;  // the compressed kernel, from the protected-mode part's start
  uint32_t payload_length;
};

// Parses and checks the setup header (boot flag 0xAA55, "HdrS", protocol
// 2.12 or later with XLF_KERNEL_64); throws BzImageError naming the problem.
SetupHeader parse_setup_header(const std::vector<uint8_t>& image);

// Loads everything into RAM and returns the CPU state at the 64-bit entry
// (the same state for the compressed kernel and, with host_decompress, for
// the vmlinux, whose head_64.S startup_64 takes the same contract).
// Throws BzImageError if the image is invalid or does not fit.
CpuState load_linux(Memory& mem, const LinuxBoot& boot);

}  // namespace softvt
