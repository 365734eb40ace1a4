#include "emu/devices/debug_exit.h"

#include "emu/machine/io_bus.h"

namespace softvt {

void DebugExit::map_ports(IoBus& io) {
  // Reads answer nothing (all ones), as QEMU's write-only region does.
  io.map(PORT, SIZE,
         IoHandler{nullptr, [this](uint16_t, unsigned, uint64_t v) { exit_(status_for(v), v); }},
         "isa-debug-exit");
}

}  // namespace softvt
