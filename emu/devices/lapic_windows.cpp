#include "emu/devices/lapic_windows.h"

#include "emu/devices/lapic.h"
#include "emu/machine/io_bus.h"
#include "emu/memory.h"

namespace softvt {

namespace {
constexpr uint64_t PAGE = 0x1000;
}

void LapicWindows::map_window(uint64_t base) {
  mem_.map_mmio(base, PAGE,
                MmioHandler{[this, base](uint64_t off, unsigned size) -> uint64_t {
                              LocalApic& a = hooks_.executing();
                              if (a.apic_base_address() != base) return all_ones(size);
                              return a.mmio_read(hooks_.now_ns(), off, size);
                            },
                            [this, base](uint64_t off, unsigned size, uint64_t v) {
                              LocalApic& a = hooks_.executing();
                              if (a.apic_base_address() != base) return;
                              a.mmio_write(hooks_.now_ns(), off, size, v);
                              if (hooks_.after_write) hooks_.after_write();
                            }});
  mapped_.insert(base);
}

void LapicWindows::update(const std::vector<const LocalApic*>& apics) {
  std::set<uint64_t> wanted;
  for (const LocalApic* a : apics) wanted.insert(a->apic_base_address());
  for (auto it = mapped_.begin(); it != mapped_.end();) {
    if (wanted.count(*it)) {
      ++it;
      continue;
    }
    mem_.unmap_mmio(*it);
    it = mapped_.erase(it);
  }
  for (uint64_t base : wanted) {
    if (mapped_.count(base)) continue;
    if (base < mem_.ram_size() || mem_.mmio_overlaps(base, PAGE)) continue;  // see the header
    map_window(base);
  }
}

}  // namespace softvt
