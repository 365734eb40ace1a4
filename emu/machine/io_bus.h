// Port I/O dispatch (the CPU's io_read/io_write): each device claims a
// range of ports; an access goes to the device owning its first port, with
// the offset from the range's base. Unclaimed ports read as all ones and
// ignore writes (an ISA bus with nothing answering).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace softvt {

struct IoHandler {
  std::function<uint64_t(uint16_t offset, unsigned size)> read;
  std::function<void(uint16_t offset, unsigned size, uint64_t value)> write;
};

class IoBus {
 public:
  IoBus();
  // Claims ports [first, first + count). Throws std::logic_error if one of
  // them is already claimed (a wiring bug).
  void map(uint16_t first, uint32_t count, IoHandler handler, std::string name);
  uint64_t read(uint16_t port, unsigned size);
  void write(uint16_t port, unsigned size, uint64_t value);
  // The device owning `port`, or "" (diagnostics).
  std::string owner(uint16_t port) const;

 private:
  struct Range {
    uint16_t base;
    IoHandler handler;
    std::string name;
  };
  std::vector<Range> ranges_;
  std::vector<uint16_t> owner_;  // per port: index + 1 into ranges_, 0 = none
};

inline uint64_t all_ones(unsigned size) {
  return size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1;
}

}  // namespace softvt
