// The PC's two 8259A programmable interrupt controllers (Intel 8259A data
// sheet; PIIX3 data sheet for the ELCR): master at 0x20/0x21, slave at
// 0xa0/0xa1 cascaded on the master's IR2, edge/level control registers at
// 0x4d0/0x4d1. The master's INT output drives the CPU's INTR line and the
// pair answers the interrupt-acknowledge cycle (Cpu::InterruptSource).
#pragma once
#include <cstdint>
#include <functional>

#include "emu/cpu.h"

namespace softvt {

class IoBus;

// One 8259A.
class Pic8259 {
 public:
  Pic8259(uint8_t elcr_mask) : elcr_mask_(elcr_mask) {}

  // CPU accesses: a0 is address line A0 (0 = port 0x20/0xa0, 1 = 0x21/0xa1).
  void write(unsigned a0, uint8_t v);
  uint8_t read(unsigned a0);

  // The level of input IRn. Edge-triggered inputs latch a request in IRR on
  // a rising edge (it stays until acknowledged, even if the line falls
  // again, as QEMU's model does); level-triggered ones follow the line.
  void set_input(unsigned ir, bool level);
  // IR2 of the master carries the slave's INT output: it follows it.
  void set_cascade_input(unsigned ir, bool level);

  // INT: a request unmasked and of higher priority than every level in
  // service.
  bool int_output() const { return highest_request() >= 0; }
  // First INTA pulse: the IR level acknowledged, or -1 when no request is
  // left (the caller then answers the spurious IR7 vector without setting
  // ISR, data sheet "Interrupt Sequence").
  int acknowledge();

  uint8_t vector_base() const { return icw2_ & 0xf8; }
  uint8_t irr() const { return irr_; }
  uint8_t isr() const { return isr_; }
  uint8_t imr() const { return imr_; }
  uint8_t elcr() const { return elcr_; }
  void set_elcr(uint8_t v);
  bool auto_eoi() const { return aeoi_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(irr_);
    io(isr_);
    io(imr_);
    io(lines_);
    io(cascade_);
    io(elcr_);
    io(icw2_);
    io(icw3_);
    io(lowest_);
    io(init_step_);
    io(icw4_needed_);
    io(single_);
    io(ltim_);
    io(aeoi_);
    io(rotate_aeoi_);
    io(sfnm_);
    io(special_mask_);
    io(read_isr_);
    io(poll_);
  }

 private:
  int highest_request() const;
  int highest_in(uint8_t bits) const;  // highest-priority IR in `bits`, -1 if none
  unsigned priority(unsigned ir) const { return (ir - lowest_ - 1) & 7; }  // 0 = highest
  bool level_triggered(unsigned ir) const { return ((elcr_ | (ltim_ ? 0xff : 0)) >> ir) & 1; }
  void icw1(uint8_t v);
  void ocw2(uint8_t v);
  void ocw3(uint8_t v);
  void eoi(int ir, bool rotate);
  uint8_t poll();

  const uint8_t elcr_mask_;
  uint8_t irr_ = 0, isr_ = 0, imr_ = 0;
  uint8_t lines_ = 0;      // current input levels
  uint8_t cascade_ = 0;    // inputs wired to a slave's INT (level-following)
  uint8_t elcr_ = 0;
  uint8_t icw2_ = 0, icw3_ = 0;
  unsigned lowest_ = 7;    // the IR with the lowest priority (rotation)
  unsigned init_step_ = 0; // 0 = operational; 2, 3, 4 = next ICW expected
  bool icw4_needed_ = false, single_ = false, ltim_ = false;
  bool aeoi_ = false, rotate_aeoi_ = false, sfnm_ = false;
  bool special_mask_ = false, read_isr_ = false, poll_ = false;
};

// Master and slave as wired in a PC.
class Pic8259Pair : public Cpu::InterruptSource {
 public:
  // `int_output` receives the master's INT level (the CPU's INTR line, or
  // later the local APIC's LINT0).
  explicit Pic8259Pair(std::function<void(bool)> int_output);

  void map_ports(IoBus& io);
  // ISA IRQ line 0-15 (8-15 on the slave).
  void set_irq(unsigned irq, bool level);
  uint8_t intr_acknowledge() override;
  // Port-level access for tests and the BIOS set-up (port 0x20/0x21/0xa0/0xa1/0x4d0/0x4d1).
  void write_port(uint16_t port, uint8_t v);
  uint8_t read_port(uint16_t port);

  Pic8259& master() { return master_; }
  Pic8259& slave() { return slave_; }
  bool int_output() const { return master_.int_output(); }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    master_.state_io(io);
    slave_.state_io(io);
  }

 private:
  void update();
  Pic8259 master_{0xf8};  // PIIX3: IRQ0-2 are always edge-triggered
  Pic8259 slave_{0xde};   // PIIX3: IRQ8 and IRQ13 are always edge-triggered
  std::function<void(bool)> int_output_;
};

}  // namespace softvt
