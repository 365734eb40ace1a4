#include "emu/memory.h"

#include <sys/mman.h>

#include <stdexcept>

namespace softvt {

namespace {
// An inaccessible page on each side of RAM: a host access that strays
// outside guest RAM (a bug: guest accesses beyond it are open bus) faults
// at once instead of reading or corrupting a neighbouring mapping.
constexpr uint64_t GUARD = 0x1000;

uint64_t mapping_size(uint64_t ram_bytes) { return ((ram_bytes + 0xfff) & ~uint64_t(0xfff)) + 2 * GUARD; }
}  // namespace

Memory::Memory(uint64_t ram_bytes) : ram_size_(ram_bytes) {
  // Anonymous mapping: zero-filled, pages materialise on first touch.
  void* p = mmap(nullptr, mapping_size(ram_bytes), PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot allocate guest RAM");
  ram_ = static_cast<uint8_t*>(p) + GUARD;
  if (ram_bytes && mprotect(ram_, ram_bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(p, mapping_size(ram_bytes));
    throw std::runtime_error("cannot allocate guest RAM");
  }
  code_pages_.assign((ram_bytes + 0xfff) >> 12, 0);
}

Memory::~Memory() { munmap(ram_ - GUARD, mapping_size(ram_size_)); }

const Memory::MmioRange* Memory::find_mmio(uint64_t phys, uint64_t& base) const {
  auto it = mmio_.upper_bound(phys);
  if (it == mmio_.begin()) return nullptr;
  --it;
  if (phys - it->first >= it->second.size) return nullptr;
  base = it->first;
  return &it->second;
}

uint64_t Memory::read_phys(uint64_t phys, unsigned size) {
  if (phys + size <= ram_size_) {
    uint64_t v = 0;
    std::memcpy(&v, ram_ + phys, size);
    return v;
  }
  uint64_t base;
  if (const MmioRange* r = find_mmio(phys, base)) {
    const uint64_t v = r->h.read(phys - base, size);
    if (on_mmio) on_mmio(phys, size, v, false);
    return v;
  }
  // Unclaimed physical addresses read as all ones, like an open bus.
  return size == 8 ? ~uint64_t(0) : ((uint64_t(1) << (size * 8)) - 1);
}

void Memory::write_phys(uint64_t phys, unsigned size, uint64_t value) {
  if (phys + size <= ram_size_) {
    if (is_code_page(phys) && on_code_write) on_code_write(phys, size);
    std::memcpy(ram_ + phys, &value, size);
    return;
  }
  uint64_t base;
  if (const MmioRange* r = find_mmio(phys, base)) {
    if (on_mmio) on_mmio(phys, size, value, true);
    r->h.write(phys - base, size, value);
  }
  // Writes to unclaimed addresses are dropped.
}

void Memory::map_mmio(uint64_t base, uint64_t size, MmioHandler h) {
  mmio_[base] = MmioRange{size, std::move(h)};
}

void Memory::unmap_mmio(uint64_t base) { mmio_.erase(base); }

bool Memory::mmio_overlaps(uint64_t base, uint64_t size) const {
  // The last range starting below the end, if it reaches past `base`.
  auto it = mmio_.lower_bound(base + size);
  if (it == mmio_.begin()) return false;
  --it;
  return it->first + it->second.size > base;
}

}  // namespace softvt
