// Guest physical memory: RAM as one host mapping, MMIO through a range
// map (DESIGN.md "Memory"), and the record of which RAM pages hold
// decoded code so that writes to them invalidate the decoded blocks.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

namespace softvt {

struct MmioHandler {
  std::function<uint64_t(uint64_t offset, unsigned size)> read;
  std::function<void(uint64_t offset, unsigned size, uint64_t value)> write;
};

class Memory {
 public:
  explicit Memory(uint64_t ram_bytes);
  ~Memory();
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;

  uint64_t ram_size() const { return ram_size_; }
  uint8_t* ram() { return ram_; }
  const uint8_t* ram() const { return ram_; }

  // Host pointer to the RAM page holding `phys`, or nullptr (MMIO/unmapped).
  uint8_t* ram_page(uint64_t phys) {
    return phys < ram_size_ ? ram_ + (phys & ~uint64_t(0xfff)) : nullptr;
  }

  // Slow-path physical accesses of 1..8 bytes that do not cross a page.
  uint64_t read_phys(uint64_t phys, unsigned size);
  void write_phys(uint64_t phys, unsigned size, uint64_t value);

  void map_mmio(uint64_t base, uint64_t size, MmioHandler h);
  // Removes the range mapped at exactly `base` (if any).
  void unmap_mmio(uint64_t base);
  // Whether a mapped MMIO range overlaps [base, base + size).
  bool mmio_overlaps(uint64_t base, uint64_t size) const;

  // Code-page tracking (self-modifying code, DESIGN.md "Decoding").
  bool is_code_page(uint64_t phys) const {
    uint64_t p = phys >> 12;
    return p < code_pages_.size() && code_pages_[p];
  }
  void set_code_page(uint64_t phys, bool v) {
    uint64_t p = phys >> 12;
    if (p < code_pages_.size()) code_pages_[p] = v;
  }
  // Called for a write to a page holding decoded code, before the write.
  std::function<void(uint64_t phys, unsigned size)> on_code_write;
  // Observer of accesses that reach an MMIO range (--record; traces/).
  std::function<void(uint64_t phys, unsigned size, uint64_t value, bool write)> on_mmio;

 private:
  struct MmioRange {
    uint64_t size;
    MmioHandler h;
  };
  const MmioRange* find_mmio(uint64_t phys, uint64_t& base) const;

  uint8_t* ram_ = nullptr;
  uint64_t ram_size_ = 0;
  std::vector<uint8_t> code_pages_;
  std::map<uint64_t, MmioRange> mmio_;
};

}  // namespace softvt
