#include "emu/loader/elf.h"

#include <cstring>

namespace softvt {

namespace {

template <typename T>
T get(const std::vector<uint8_t>& f, uint64_t off) {
  T v;
  std::memcpy(&v, f.data() + off, sizeof v);
  return v;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

}  // namespace

uint64_t ElfImage::low() const {
  uint64_t l = ~uint64_t(0);
  for (const ElfSegment& s : load) l = std::min(l, s.paddr);
  return l;
}

uint64_t ElfImage::high() const {
  uint64_t h = 0;
  for (const ElfSegment& s : load) h = std::max(h, s.paddr + s.memsz);
  return h;
}

bool is_elf(const std::vector<uint8_t>& f) {
  return f.size() >= 4 && f[0] == 0x7f && f[1] == 'E' && f[2] == 'L' && f[3] == 'F';
}

ElfImage parse_elf(const std::vector<uint8_t>& f) {
  if (!is_elf(f)) throw LoadError("not an ELF file");
  if (f.size() < 52) throw LoadError("truncated ELF header");
  const uint8_t cls = f[4];
  if (cls != 1 && cls != 2) throw LoadError("ELF class " + std::to_string(cls) + " is neither 32- nor 64-bit");
  if (f[5] != 1) throw LoadError("not a little-endian ELF file");
  ElfImage img;
  img.is64 = cls == 2;
  if (img.is64 && f.size() < 64) throw LoadError("truncated ELF header");
  const uint16_t type = get<uint16_t>(f, 16);
  img.machine = get<uint16_t>(f, 18);
  if (type != 2) throw LoadError("ELF type " + std::to_string(type) + " is not an executable (ET_EXEC)");
  if (img.machine != EM_386 && img.machine != EM_X86_64)
    throw LoadError("ELF machine " + std::to_string(img.machine) + " is not x86");
  uint64_t phoff;
  uint16_t phentsize, phnum;
  if (img.is64) {
    img.entry = get<uint64_t>(f, 24);
    phoff = get<uint64_t>(f, 32);
    phentsize = get<uint16_t>(f, 54);
    phnum = get<uint16_t>(f, 56);
  } else {
    img.entry = get<uint32_t>(f, 24);
    phoff = get<uint32_t>(f, 28);
    phentsize = get<uint16_t>(f, 42);
    phnum = get<uint16_t>(f, 44);
  }
  const uint64_t min_entsize = img.is64 ? 56 : 32;
  if (phnum == 0) throw LoadError("ELF file has no program headers");
  if (phentsize < min_entsize) throw LoadError("ELF program header size " + std::to_string(phentsize) + " is too small");
  if (phoff > f.size() || uint64_t(phnum) * phentsize > f.size() - phoff)
    throw LoadError("ELF program headers (" + std::to_string(phnum) + " at offset " + hex(phoff) +
                    ") lie beyond the end of the file (" + std::to_string(f.size()) + " bytes)");
  for (unsigned i = 0; i < phnum; ++i) {
    const uint64_t ph = phoff + uint64_t(i) * phentsize;
    if (get<uint32_t>(f, ph) != 1) continue;  // PT_LOAD only
    ElfSegment s;
    if (img.is64) {
      s.offset = get<uint64_t>(f, ph + 8);
      s.vaddr = get<uint64_t>(f, ph + 16);
      s.paddr = get<uint64_t>(f, ph + 24);
      s.filesz = get<uint64_t>(f, ph + 32);
      s.memsz = get<uint64_t>(f, ph + 40);
    } else {
      s.offset = get<uint32_t>(f, ph + 4);
      s.vaddr = get<uint32_t>(f, ph + 8);
      s.paddr = get<uint32_t>(f, ph + 12);
      s.filesz = get<uint32_t>(f, ph + 16);
      s.memsz = get<uint32_t>(f, ph + 20);
    }
    const std::string which = "ELF segment " + std::to_string(i);
    if (s.filesz > s.memsz) throw LoadError(which + ": file size exceeds memory size");
    if (s.offset > f.size() || s.filesz > f.size() - s.offset)
      throw LoadError(which + ": its " + std::to_string(s.filesz) + " bytes at offset " + hex(s.offset) +
                      " lie beyond the end of the file (" + std::to_string(f.size()) + " bytes; truncated?)");
    if (s.paddr + s.memsz < s.paddr) throw LoadError(which + ": address range wraps around");
    if (s.memsz) img.load.push_back(s);
  }
  if (img.load.empty()) throw LoadError("ELF file has no loadable segment");
  return img;
}

}  // namespace softvt
