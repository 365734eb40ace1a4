// The 8042 keyboard controller at 0x60 (data) / 0x64 (status, command),
// enough for what kernels use it for: the controller's self-tests and
// command byte, a keyboard that acknowledges commands (no keys are ever
// pressed), the output port with the A20 gate (bit 1) and the reset line
// (bit 0), and the pulse command 0xFE that resets the machine.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>

namespace softvt {

class IoBus;

class I8042 {
 public:
  // `reset`: the CPU reset line was pulsed; `irq1`/`irq12`: line levels.
  I8042(std::function<void()> reset, std::function<void(bool)> irq1, std::function<void(bool)> irq12);
  void map_ports(IoBus& io);
  uint8_t read_data();
  uint8_t read_status();
  void write_data(uint8_t v);
  void write_command(uint8_t v);
  bool a20() const { return output_port_ & 0x02; }
  // Drives the CPUs' A20 gate: called with output-port bit 1 whenever
  // software writes the output port or its A20 bit (commands 0xD1, 0xDD,
  // 0xDF; the machine wires it; docs/decisions.md "A20").
  std::function<void(bool enabled)> on_a20;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(out_);
    io(last_);
    io(command_byte_);
    io(output_port_);
    io(pending_);
    io(last_was_command_);
    io(keyboard_param_);
  }

 private:
  void queue(uint8_t v, bool aux = false);
  void update_irqs();
  void set_output_port(uint8_t v);
  void set_a20_bit(bool enabled);
  void keyboard_command(uint8_t v);

  std::function<void()> reset_;
  std::function<void(bool)> irq1_, irq12_;
  struct Byte {
    uint8_t value;
    bool aux;
  };
  std::deque<Byte> out_;
  uint8_t last_ = 0;
  uint8_t command_byte_ = 0x61;   // translate, keyboard interrupt, mouse disabled
  uint8_t output_port_ = 0xcf;    // reset inactive (1), A20 enabled
  uint8_t pending_ = 0;           // a command waiting for its data byte
  bool last_was_command_ = true;  // status bit 3
  bool keyboard_param_ = false;   // the keyboard waits for a command's parameter
};

}  // namespace softvt
