#include "emu/devices/i8042.h"

#include "emu/machine/io_bus.h"

namespace softvt {

namespace {
constexpr uint8_t STAT_OBF = 0x01, STAT_SYS = 0x04, STAT_CMD = 0x08, STAT_UNLOCKED = 0x10, STAT_AUX = 0x20;
constexpr uint8_t CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_KBD_DISABLE = 0x10, CB_AUX_DISABLE = 0x20;
}  // namespace

I8042::I8042(std::function<void()> reset, std::function<void(bool)> irq1, std::function<void(bool)> irq12)
    : reset_(std::move(reset)), irq1_(std::move(irq1)), irq12_(std::move(irq12)) {}

void I8042::queue(uint8_t v, bool aux) {
  out_.push_back(Byte{v, aux});
  update_irqs();
}

void I8042::update_irqs() {
  const bool have = !out_.empty();
  const bool aux = have && out_.front().aux;
  if (irq1_) irq1_(have && !aux && (command_byte_ & CB_KBD_INT));
  if (irq12_) irq12_(have && aux && (command_byte_ & CB_AUX_INT));
}

uint8_t I8042::read_status() {
  uint8_t s = STAT_SYS | STAT_UNLOCKED;
  if (last_was_command_) s |= STAT_CMD;
  if (!out_.empty()) {
    s |= STAT_OBF;
    if (out_.front().aux) s |= STAT_AUX;
  }
  return s;
}

uint8_t I8042::read_data() {
  if (!out_.empty()) {
    last_ = out_.front().value;
    out_.pop_front();
    update_irqs();
  }
  return last_;  // an empty buffer reads the last byte again
}

void I8042::set_output_port(uint8_t v) {
  output_port_ = v;
  if (on_a20) on_a20(a20());
  // Bit 0 is the CPU reset line, active low.
  if (!(v & 1) && reset_) reset_();
}

// Commands 0xDD / 0xDF: output-port bit 1 (the A20 gate) alone.
void I8042::set_a20_bit(bool enabled) {
  output_port_ = enabled ? (output_port_ | 0x02) : (output_port_ & ~0x02);
  if (on_a20) on_a20(enabled);
}

void I8042::keyboard_command(uint8_t v) {
  // Keyboard commands (IBM PC/AT keyboard): every byte is acknowledged
  // (0xFA); reset answers the self-test result, identify the MF2 ID, echo
  // echoes. Commands with a parameter byte acknowledge it too.
  if (keyboard_param_) {
    keyboard_param_ = false;
    queue(0xfa);
    return;
  }
  switch (v) {
    case 0xff: queue(0xfa); queue(0xaa); break;  // reset, self-test passed
    case 0xf2: queue(0xfa); queue(0xab); queue(0x83); break;
    case 0xee: queue(0xee); break;
    case 0xed: case 0xf0: case 0xf3: queue(0xfa); keyboard_param_ = true; break;
    default: queue(0xfa); break;
  }
}

void I8042::write_data(uint8_t v) {
  last_was_command_ = false;
  const uint8_t cmd = pending_;
  pending_ = 0;
  switch (cmd) {
    case 0x60:
      command_byte_ = v;
      update_irqs();
      return;
    case 0xd1: set_output_port(v); return;
    case 0xd2: queue(v); return;        // write keyboard output buffer
    case 0xd3: queue(v, true); return;  // write mouse output buffer
    case 0xd4: queue(0xfa, true); return;  // to the mouse: acknowledged
    default: keyboard_command(v); return;
  }
}

void I8042::write_command(uint8_t v) {
  last_was_command_ = true;
  switch (v) {
    case 0x20: queue(command_byte_); return;
    case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4: pending_ = v; return;
    case 0xa7: command_byte_ |= CB_AUX_DISABLE; return;
    case 0xa8: command_byte_ &= ~CB_AUX_DISABLE; return;
    case 0xa9: queue(0x00); return;  // mouse interface test: no error
    case 0xaa: queue(0x55); return;  // controller self-test passed
    case 0xab: queue(0x00); return;  // keyboard interface test: no error
    case 0xad: command_byte_ |= CB_KBD_DISABLE; return;
    case 0xae: command_byte_ &= ~CB_KBD_DISABLE; return;
    case 0xc0: queue(0x80); return;  // input port: keyboard not inhibited
    case 0xd0: queue(output_port_); return;
    case 0xdd: set_a20_bit(false); return;
    case 0xdf: set_a20_bit(true); return;
    default:
      // 0xF0-0xFF pulse the output port bits whose command bit is 0; bit 0
      // is the reset line (0xFE: the usual reset).
      if (v >= 0xf0 && !(v & 1) && reset_) reset_();
      return;
  }
}

void I8042::map_ports(IoBus& io) {
  io.map(0x60, 1,
         IoHandler{[this](uint16_t, unsigned) -> uint64_t { return read_data(); },
                   [this](uint16_t, unsigned, uint64_t v) { write_data(uint8_t(v)); }},
         "i8042-data");
  io.map(0x64, 1,
         IoHandler{[this](uint16_t, unsigned) -> uint64_t { return read_status(); },
                   [this](uint16_t, unsigned, uint64_t v) { write_command(uint8_t(v)); }},
         "i8042-command");
}

}  // namespace softvt
