#include "emu/devices/port92.h"

#include "emu/machine/io_bus.h"

namespace softvt {

void Port92::write(uint8_t v) {
  const bool pulse = (v & 1) && !(value_ & 1);
  value_ = v & 0x03;
  if (on_a20) on_a20(a20());
  if (pulse && reset_) reset_();
}

void Port92::map_ports(IoBus& io) {
  io.map(0x92, 1,
         IoHandler{[this](uint16_t, unsigned) -> uint64_t { return read(); },
                   [this](uint16_t, unsigned, uint64_t v) { write(uint8_t(v)); }},
         "port92");
}

}  // namespace softvt
