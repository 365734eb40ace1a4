// QEMU's isa-debug-exit device as bare-metal test kernels configure it
// (`-device isa-debug-exit,iobase=0xf4,iosize=4`): a write of V to ports
// 0xf4-0xf7 ends the run with exit status (V << 1) | 1 (the process status
// keeps its low 8 bits, as with QEMU).
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class IoBus;

class DebugExit {
 public:
  static constexpr uint16_t PORT = 0xf4;
  static constexpr unsigned SIZE = 4;
  // `exit_run`: ends the run with the given status.
  explicit DebugExit(std::function<void(int status, uint64_t value)> exit_run) : exit_(std::move(exit_run)) {}
  void map_ports(IoBus& io);
  static int status_for(uint64_t value) { return int(((value << 1) | 1) & 0xff); }

 private:
  std::function<void(int, uint64_t)> exit_;
};

}  // namespace softvt
