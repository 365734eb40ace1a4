#include "emu/machine/io_bus.h"

#include <stdexcept>

namespace softvt {

IoBus::IoBus() : owner_(0x10000, 0) {}

void IoBus::map(uint16_t first, uint32_t count, IoHandler handler, std::string name) {
  if (uint32_t(first) + count > 0x10000) throw std::logic_error("I/O range of " + name + " passes port 0xffff");
  for (uint32_t p = first; p < first + count; ++p)
    if (owner_[p]) throw std::logic_error("port claimed twice: " + name + " and " + ranges_[owner_[p] - 1].name);
  ranges_.push_back(Range{first, std::move(handler), std::move(name)});
  for (uint32_t p = first; p < first + count; ++p) owner_[p] = uint16_t(ranges_.size());
}

uint64_t IoBus::read(uint16_t port, unsigned size) {
  const uint16_t i = owner_[port];
  if (!i || !ranges_[i - 1].handler.read) return all_ones(size);
  const Range& r = ranges_[i - 1];
  return r.handler.read(uint16_t(port - r.base), size) & all_ones(size);
}

void IoBus::write(uint16_t port, unsigned size, uint64_t value) {
  const uint16_t i = owner_[port];
  if (!i || !ranges_[i - 1].handler.write) return;
  const Range& r = ranges_[i - 1];
  r.handler.write(uint16_t(port - r.base), size, value & all_ones(size));
}

std::string IoBus::owner(uint16_t port) const {
  return owner_[port] ? ranges_[owner_[port] - 1].name : std::string();
}

}  // namespace softvt
