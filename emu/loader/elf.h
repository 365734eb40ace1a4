// ELF parsing for the kernel loaders (multiboot, plain ELF64): only what
// loading needs, with every offset and size checked against the file, so
// a malformed image is a LoadError naming what is wrong, never a read
// outside the file (ELF: System V gABI, "ELF Header" and "Program Header").
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace softvt {

// A kernel image the loaders cannot use (the CLI reports it with exit 2).
struct LoadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr uint16_t EM_386 = 3, EM_X86_64 = 62;

struct ElfSegment {
  uint64_t paddr, vaddr;
  uint64_t offset, filesz, memsz;
};

struct ElfImage {
  bool is64 = false;
  uint16_t machine = 0;
  uint64_t entry = 0;
  std::vector<ElfSegment> load;  // PT_LOAD segments with memsz > 0, in file order
  uint64_t low() const;   // lowest paddr of a segment
  uint64_t high() const;  // end of the highest segment (paddr + memsz)
};

bool is_elf(const std::vector<uint8_t>& file);
// Throws LoadError for a truncated or inconsistent ELF file, or one that is
// not a little-endian x86 executable.
ElfImage parse_elf(const std::vector<uint8_t>& file);

}  // namespace softvt
