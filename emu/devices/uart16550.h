// A 16550A UART (National Semiconductor PC16550D data sheet) as on a PC:
// COM1 at 0x3f8 (IRQ4), COM2 at 0x2f8 (IRQ3). Transmission is immediate:
// a byte written to THR goes to the output at once, so THR and the
// transmitter are empty again right after the write (no baud-rate
// pacing; docs/decisions.md "UART"). Received bytes enter through
// receive() (loopback, tests).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>

namespace softvt {

class IoBus;

class Uart16550 {
 public:
  // `irq`: the interrupt line level; `tx`: each transmitted byte.
  Uart16550(std::function<void(bool)> irq, std::function<void(uint8_t)> tx);

  void map_ports(IoBus& io, uint16_t base, const char* name);
  uint8_t read(unsigned reg);
  void write(unsigned reg, uint8_t v);
  // A byte arrives at the receiver (serial input).
  void receive(uint8_t byte);
  bool irq_level() const { return interrupt_id() != 1; }
  // Room in the receiver (FIFO or holding register) for more bytes.
  unsigned rx_room() const { return rx_.size() >= rx_capacity() ? 0 : unsigned(rx_capacity() - rx_.size()); }

  static constexpr uint8_t LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(divisor_);
    io(ier_);
    io(lcr_);
    io(mcr_);
    io(lsr_);
    io(msr_);
    io(scr_);
    io(fcr_);
    io(rx_trigger_);
    io(thr_interrupt_);
    io(rx_);
  }

 private:
  uint8_t interrupt_id() const;  // IIR bits 3-0 (1 = none pending)
  void update_irq();
  void set_msr_inputs(uint8_t inputs);  // MSR bits 7-4, recording the deltas
  void external_msr_inputs();
  bool fifo_enabled() const { return fcr_ & 1; }
  unsigned rx_capacity() const { return fifo_enabled() ? 16 : 1; }

  std::function<void(bool)> irq_;
  std::function<void(uint8_t)> tx_;
  uint16_t divisor_ = 12;  // 9600 baud with the PC's 1.8432 MHz clock
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, lsr_ = LSR_THRE | LSR_TEMT, msr_ = 0, scr_ = 0;
  uint8_t fcr_ = 0;
  unsigned rx_trigger_ = 1;
  bool thr_interrupt_ = false;  // THR-empty interrupt pending
  std::deque<uint8_t> rx_;
};

}  // namespace softvt
