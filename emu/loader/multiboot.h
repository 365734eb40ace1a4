// Multiboot (version 0.6.96) kernels loaded the way QEMU's -kernel loads
// them (hw/i386/multiboot.c and its option ROM, facts only): the header
// within the first 8 KiB; an ELF32 image (any code inside: a 32-bit ELF
// holding 64-bit code is normal) or any image with the a.out kludge (flag
// bit 16), including an ELF64 file; entry in 32-bit protected mode with
// paging off, EAX = 0x2BADB002, EBX = the multiboot information.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "emu/cpu_state.h"
#include "emu/loader/bios_state.h"

namespace softvt {

class Memory;

constexpr uint32_t MULTIBOOT_HEADER_MAGIC = 0x1BADB002;
constexpr uint32_t MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002;

// Where QEMU puts the information (MULTIBOOT_STRUCT_ADDR = 0x9000): the
// memory map at 0x9000, the 88-byte information structure at 0x9500.
constexpr uint32_t MULTIBOOT_MMAP_ADDR = 0x9000;
constexpr uint32_t MULTIBOOT_INFO_ADDR = 0x9500;
constexpr uint32_t MULTIBOOT_INFO_SIZE = 88;
// Stack pointer at entry (the specification leaves ESP undefined; this
// lies in free conventional memory below the information).
constexpr uint32_t MULTIBOOT_ENTRY_ESP = 0x9000;

struct MultibootHeader {
  uint32_t offset;  // in the file
  uint32_t flags;
};
std::optional<MultibootHeader> find_multiboot_header(const std::vector<uint8_t>& file);

struct MultibootModule {
  std::string arg;             // "PATH [ARGS]" as given: the module's string
  std::vector<uint8_t> data;   // the file's contents
};

struct MultibootLoad {
  uint32_t entry = 0;
  uint32_t load_addr = 0;               // where the buffer starts
  std::vector<uint8_t> buffer;          // kernel, module table, strings, modules (fw_cfg KERNEL_DATA)
  std::vector<uint8_t> initial_info;    // the 88 bytes QEMU passes as fw_cfg INITRD_DATA
  CpuState state{};                     // the CPU at entry
};

// Loads `kernel` (which must carry a multiboot header) into `mem` and
// writes the information structure and memory map. `kernel_path` starts
// the command line, as QEMU writes it ("PATH CMDLINE"). Throws LoadError.
MultibootLoad load_multiboot(Memory& mem, const std::vector<uint8_t>& kernel, const std::string& kernel_path,
                             const std::string& cmdline, const std::vector<MultibootModule>& modules,
                             const std::vector<E820Range>& memory_map);

// The protected-mode state QEMU's multiboot option ROM leaves: CS = 0x08
// and data segments 0x10 from its GDT (flat 4 GiB), CR0 = PE|ET, IF = 0,
// DF = 0. Also used by the plain-ELF64 loader before it enters long mode.
CpuState multiboot_entry_state(Memory& mem, uint32_t entry);

// A plain ELF64 executable (no multiboot header): loaded at its physical
// addresses and entered in 64-bit mode with the first 4 GiB identity-mapped
// (2 MiB pages, tables at 0x1000-0x6fff), RSP = MULTIBOOT_ENTRY_ESP.
CpuState load_elf64_kernel(Memory& mem, const std::vector<uint8_t>& kernel);

}  // namespace softvt
