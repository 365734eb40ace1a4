#include "emu/devices/pic8259.h"

#include "emu/machine/io_bus.h"

namespace softvt {

// ---- one 8259A ------------------------------------------------------------

int Pic8259::highest_in(uint8_t bits) const {
  if (!bits) return -1;
  for (unsigned p = 0; p < 8; ++p) {
    const unsigned ir = (lowest_ + 1 + p) & 7;
    if (bits & (1u << ir)) return int(ir);
  }
  return -1;
}

int Pic8259::highest_request() const {
  if (init_step_) return -1;
  const int req = highest_in(irr_ & ~imr_);
  if (req < 0) return -1;
  uint8_t in_service = isr_;
  // Special mask mode: a masked level in service no longer inhibits the
  // others (data sheet OCW3 "Special Mask Mode").
  if (special_mask_) in_service &= ~imr_;
  // Special fully nested mode: the slave's higher-priority requests pass
  // while its cascade level is in service (data sheet "Special Fully Nested
  // Mode"); the slave's own priority logic orders them.
  if (sfnm_) in_service &= ~cascade_;
  const int busy = highest_in(in_service);
  if (busy >= 0 && priority(unsigned(busy)) <= priority(unsigned(req))) return -1;
  return req;
}

void Pic8259::set_input(unsigned ir, bool level) {
  const uint8_t m = uint8_t(1u << ir);
  if (level_triggered(ir)) {
    irr_ = level ? (irr_ | m) : (irr_ & ~m);
  } else if (level && !(lines_ & m)) {
    irr_ |= m;
  }
  lines_ = level ? (lines_ | m) : (lines_ & ~m);
}

void Pic8259::set_cascade_input(unsigned ir, bool level) {
  const uint8_t m = uint8_t(1u << ir);
  cascade_ |= m;
  irr_ = level ? (irr_ | m) : (irr_ & ~m);
  lines_ = level ? (lines_ | m) : (lines_ & ~m);
}

void Pic8259::set_elcr(uint8_t v) {
  elcr_ = v & elcr_mask_;
  // A level-triggered input's request is the line itself.
  for (unsigned ir = 0; ir < 8; ++ir) {
    const uint8_t m = uint8_t(1u << ir);
    if (level_triggered(ir) && !(cascade_ & m)) irr_ = (lines_ & m) ? (irr_ | m) : (irr_ & ~m);
  }
}

int Pic8259::acknowledge() {
  const int ir = highest_request();
  if (ir < 0) return -1;
  const uint8_t m = uint8_t(1u << ir);
  // An edge request is consumed; a level request stays while the line is
  // high (data sheet "Level Triggered Mode").
  if (!level_triggered(unsigned(ir)) && !(cascade_ & m)) irr_ &= ~m;
  if (aeoi_) {
    // Automatic EOI: ISR is cleared at the end of the last INTA pulse.
    if (rotate_aeoi_) lowest_ = unsigned(ir);
  } else {
    isr_ |= m;
  }
  return ir;
}

void Pic8259::icw1(uint8_t v) {
  // Data sheet "Initialization Command Words": the edge sense circuit is
  // reset, IMR cleared, IR7 gets the lowest priority, special mask mode
  // cleared and the status read set to IRR; ICW4 functions cleared if IC4=0.
  icw4_needed_ = v & 1;
  single_ = v & 2;
  ltim_ = v & 8;
  imr_ = 0;
  isr_ = 0;
  irr_ = 0;
  for (unsigned ir = 0; ir < 8; ++ir) {
    const uint8_t m = uint8_t(1u << ir);
    if ((level_triggered(ir) || (cascade_ & m)) && (lines_ & m)) irr_ |= m;
  }
  lowest_ = 7;
  special_mask_ = false;
  read_isr_ = false;
  poll_ = false;
  aeoi_ = rotate_aeoi_ = sfnm_ = false;
  init_step_ = 2;
}

void Pic8259::eoi(int ir, bool rotate) {
  if (ir < 0) return;
  isr_ &= uint8_t(~(1u << ir));
  if (rotate) lowest_ = unsigned(ir);
}

void Pic8259::ocw2(uint8_t v) {
  const unsigned level = v & 7;
  switch (v >> 5) {
    case 0: rotate_aeoi_ = false; break;                      // clear rotate in AEOI mode
    case 1: eoi(highest_in(isr_), false); break;              // non-specific EOI
    case 2: break;                                            // no operation
    case 3: eoi(int(level), false); break;                    // specific EOI
    case 4: rotate_aeoi_ = true; break;                       // set rotate in AEOI mode
    case 5: eoi(highest_in(isr_), true); break;               // rotate on non-specific EOI
    case 6: lowest_ = level; break;                           // set priority
    case 7: eoi(int(level), true); break;                     // rotate on specific EOI
  }
}

void Pic8259::ocw3(uint8_t v) {
  if (v & 0x04) poll_ = true;
  if (v & 0x02) read_isr_ = v & 1;
  if (v & 0x40) special_mask_ = v & 0x20;
}

uint8_t Pic8259::poll() {
  // Poll command: the read acts as an interrupt acknowledge and returns
  // bit 7 = request present, bits 2-0 = its level (data sheet "The Poll
  // Command").
  poll_ = false;
  const int ir = acknowledge();
  return ir < 0 ? 0 : uint8_t(0x80 | ir);
}

void Pic8259::write(unsigned a0, uint8_t v) {
  if (a0 == 0) {
    if (v & 0x10) icw1(v);
    else if (v & 0x08) ocw3(v);
    else ocw2(v);
    return;
  }
  switch (init_step_) {
    case 0: imr_ = v; return;  // OCW1
    case 2:
      icw2_ = v;
      init_step_ = !single_ ? 3 : icw4_needed_ ? 4 : 0;
      return;
    case 3:
      icw3_ = v;
      init_step_ = icw4_needed_ ? 4 : 0;
      return;
    case 4:
      // ICW4: bit 1 AEOI, bit 4 SFNM (bit 0 uPM: softvt is always in
      // 8086 mode; buffered mode has no effect on a PC).
      aeoi_ = v & 2;
      sfnm_ = v & 0x10;
      init_step_ = 0;
      return;
  }
}

uint8_t Pic8259::read(unsigned a0) {
  if (poll_) return poll();
  if (a0) return imr_;
  return read_isr_ ? isr_ : irr_;
}

// ---- the pair ----------------------------------------------------------------

Pic8259Pair::Pic8259Pair(std::function<void(bool)> int_output) : int_output_(std::move(int_output)) {
  master_.set_cascade_input(2, false);
}

void Pic8259Pair::update() {
  master_.set_cascade_input(2, slave_.int_output());
  if (int_output_) int_output_(master_.int_output());
}

void Pic8259Pair::set_irq(unsigned irq, bool level) {
  if (irq >= 16 || irq == 2) return;  // IRQ2 is the cascade (ISA IRQ2 arrives as IRQ9)
  if (irq < 8) master_.set_input(irq, level);
  else slave_.set_input(irq - 8, level);
  update();
}

uint8_t Pic8259Pair::intr_acknowledge() {
  uint8_t vector;
  const int m = master_.acknowledge();
  if (m < 0) {
    vector = master_.vector_base() | 7;  // spurious IRQ7
  } else if (m == 2) {
    const int s = slave_.acknowledge();
    vector = s < 0 ? uint8_t(slave_.vector_base() | 7) : uint8_t(slave_.vector_base() + s);  // s < 0: spurious IRQ15
  } else {
    vector = uint8_t(master_.vector_base() + m);
  }
  update();
  return vector;
}

void Pic8259Pair::write_port(uint16_t port, uint8_t v) {
  switch (port) {
    case 0x20: case 0x21: master_.write(port & 1, v); break;
    case 0xa0: case 0xa1: slave_.write(port & 1, v); break;
    case 0x4d0: master_.set_elcr(v); break;
    case 0x4d1: slave_.set_elcr(v); break;
    default: return;
  }
  update();
}

uint8_t Pic8259Pair::read_port(uint16_t port) {
  uint8_t v = 0xff;
  switch (port) {
    case 0x20: case 0x21: v = master_.read(port & 1); break;
    case 0xa0: case 0xa1: v = slave_.read(port & 1); break;
    case 0x4d0: return master_.elcr();
    case 0x4d1: return slave_.elcr();
  }
  update();  // a poll read acknowledges
  return v;
}

void Pic8259Pair::map_ports(IoBus& io) {
  const auto handler = [this](uint16_t base) {
    return IoHandler{
        [this, base](uint16_t off, unsigned) -> uint64_t { return read_port(uint16_t(base + off)); },
        [this, base](uint16_t off, unsigned, uint64_t v) { write_port(uint16_t(base + off), uint8_t(v)); }};
  };
  io.map(0x20, 2, handler(0x20), "pic-master");
  io.map(0xa0, 2, handler(0xa0), "pic-slave");
  io.map(0x4d0, 2, handler(0x4d0), "elcr");
}

}  // namespace softvt
