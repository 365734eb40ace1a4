#include "emu/devices/uart16550.h"

#include "emu/machine/io_bus.h"

namespace softvt {

namespace {
// Register offsets and bits (PC16550D data sheet Table II).
constexpr uint8_t LCR_DLAB = 0x80;
constexpr uint8_t IER_RDA = 1, IER_THRE = 2, IER_RLS = 4, IER_MS = 8;
constexpr uint8_t MCR_LOOP = 0x10;
constexpr uint8_t LSR_ERRORS = 0x1e;  // OE, PE, FE, BI
// Without a terminal attached softvt reports DCD, DSR and CTS asserted, as
// QEMU's serial port does.
constexpr uint8_t MSR_EXTERNAL = 0xb0;
}  // namespace

Uart16550::Uart16550(std::function<void(bool)> irq, std::function<void(uint8_t)> tx)
    : irq_(std::move(irq)), tx_(std::move(tx)) {
  msr_ = MSR_EXTERNAL;
}

uint8_t Uart16550::interrupt_id() const {
  // Priority order of the data sheet's Table IV.
  if ((ier_ & IER_RLS) && (lsr_ & LSR_ERRORS)) return 0x6;
  if ((ier_ & IER_RDA) && !rx_.empty()) {
    // Below the FIFO trigger level the 16550A reports a character timeout
    // after four character times; softvt, which has no character timing,
    // reports it at once (docs/decisions.md "UART").
    return (!fifo_enabled() || rx_.size() >= rx_trigger_) ? 0x4 : 0xc;
  }
  if ((ier_ & IER_THRE) && thr_interrupt_) return 0x2;
  if ((ier_ & IER_MS) && (msr_ & 0x0f)) return 0x0;
  return 0x1;
}

void Uart16550::update_irq() {
  if (irq_) irq_(irq_level());
}

void Uart16550::set_msr_inputs(uint8_t inputs) {
  const uint8_t old = msr_;
  uint8_t delta = 0;
  if ((old ^ inputs) & 0x10) delta |= 0x01;               // DCTS
  if ((old ^ inputs) & 0x20) delta |= 0x02;               // DDSR
  if ((old & 0x40) && !(inputs & 0x40)) delta |= 0x04;    // TERI: RI trailing edge
  if ((old ^ inputs) & 0x80) delta |= 0x08;               // DDCD
  msr_ = uint8_t((inputs & 0xf0) | (old & 0x0f) | delta);
}

void Uart16550::external_msr_inputs() {
  if (mcr_ & MCR_LOOP) {
    // Loopback: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2 (data sheet MCR bit 4).
    const uint8_t in = uint8_t(((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5) | ((mcr_ & 0x04) << 4) |
                               ((mcr_ & 0x08) << 4));
    set_msr_inputs(in);
  } else {
    set_msr_inputs(MSR_EXTERNAL);
  }
}

void Uart16550::receive(uint8_t byte) {
  if (rx_.size() >= rx_capacity()) {
    lsr_ |= LSR_OE;  // overrun: the new character is lost
  } else {
    rx_.push_back(byte);
  }
  lsr_ |= LSR_DR;
  update_irq();
}

uint8_t Uart16550::read(unsigned reg) {
  uint8_t v = 0xff;
  switch (reg & 7) {
    case 0:
      if (lcr_ & LCR_DLAB) return uint8_t(divisor_);
      v = 0;
      if (!rx_.empty()) {
        v = rx_.front();
        rx_.pop_front();
      }
      if (rx_.empty()) lsr_ &= ~LSR_DR;
      break;
    case 1:
      if (lcr_ & LCR_DLAB) return uint8_t(divisor_ >> 8);
      return ier_;
    case 2: {
      const uint8_t id = interrupt_id();
      v = uint8_t(id | (fifo_enabled() ? 0xc0 : 0));
      // Reading IIR while it reports THR empty clears that interrupt.
      if (id == 0x2) thr_interrupt_ = false;
      break;
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5:
      v = lsr_;
      if (fifo_enabled() && (lsr_ & LSR_ERRORS)) v |= 0x80;
      lsr_ &= ~LSR_ERRORS;  // reading LSR clears the error bits
      break;
    case 6:
      v = msr_;
      msr_ &= 0xf0;  // reading MSR clears the delta bits
      break;
    case 7: return scr_;
  }
  update_irq();
  return v;
}

void Uart16550::write(unsigned reg, uint8_t v) {
  switch (reg & 7) {
    case 0:
      if (lcr_ & LCR_DLAB) {
        divisor_ = uint16_t((divisor_ & 0xff00) | v);
        return;
      }
      if (mcr_ & MCR_LOOP) receive(v);
      else if (tx_) tx_(v);
      // Sent at once: THR and the shift register are empty again, which
      // raises the THR-empty interrupt anew.
      lsr_ |= LSR_THRE | LSR_TEMT;
      thr_interrupt_ = true;
      break;
    case 1:
      if (lcr_ & LCR_DLAB) {
        divisor_ = uint16_t((divisor_ & 0x00ff) | (v << 8));
        return;
      }
      // Enabling the THR-empty interrupt while THR is empty raises it.
      if ((v & IER_THRE) && !(ier_ & IER_THRE) && (lsr_ & LSR_THRE)) thr_interrupt_ = true;
      ier_ = v & 0x0f;
      break;
    case 2: {
      const bool was_enabled = fifo_enabled();
      fcr_ = v & 0xc9;
      // Changing the FIFO enable clears both FIFOs; bits 1/2 clear them.
      if (was_enabled != fifo_enabled() || (v & 0x02)) {
        rx_.clear();
        lsr_ &= ~LSR_DR;
      }
      static constexpr unsigned TRIGGER[4] = {1, 4, 8, 14};
      rx_trigger_ = TRIGGER[v >> 6];
      break;
    }
    case 3: lcr_ = v; return;
    case 4:
      mcr_ = v & 0x1f;
      external_msr_inputs();
      break;
    case 5: return;  // LSR is read-only (factory test)
    case 6: return;
    case 7: scr_ = v; return;
  }
  update_irq();
}

void Uart16550::map_ports(IoBus& io, uint16_t base, const char* name) {
  io.map(base, 8,
         IoHandler{[this](uint16_t off, unsigned) -> uint64_t { return read(off); },
                   [this](uint16_t off, unsigned, uint64_t v) { write(off, uint8_t(v)); }},
         name);
}

}  // namespace softvt
