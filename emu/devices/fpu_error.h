// The PC's x87 error logic between the processor's FERR# and IGNNE# pins,
// ISA IRQ 13 and port F0H, for x87 errors reported the PC way (CR0.NE = 0,
// SDM Vol. 1 8.7.2 and Appendix D.2; the same function as the PC/AT's
// coprocessor-error latch, as later chipsets keep it, e.g. Intel's ICH
// "coprocessor error" logic):
// - FERR# going active raises IRQ 13, which stays raised until a write to
//   port F0H (so each FERR# assertion after such a write is a new edge);
// - a write to port F0H (any value) lowers IRQ 13 and, while FERR# is
//   active, asserts IGNNE#, so the handler's own x87 instructions (and the
//   one the processor froze at) run without the pending error stopping
//   them;
// - FERR# going inactive (the error cleared by FNCLEX, FNINIT, ...)
//   deasserts IGNNE#.
// Reads of port F0H answer nothing (all ones).
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class IoBus;

class FpuErrorLatch {
 public:
  static constexpr uint16_t PORT = 0xf0;
  static constexpr unsigned IRQ = 13;
  struct Callbacks {
    std::function<void(bool level)> irq13;  // ISA IRQ 13
    std::function<void(bool asserted)> ignne;  // the processor's IGNNE# input
  };
  explicit FpuErrorLatch(Callbacks cb) : cb_(std::move(cb)) {}

  // The processor's FERR# output changed.
  void set_ferr(bool asserted);
  // A write to port F0H.
  void clear_error_latch();
  void map_ports(IoBus& io);

  bool irq13() const { return irq_; }
  bool ignne() const { return ignne_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(ferr_);
    io(irq_);
    io(ignne_);
  }

 private:
  void drive_irq(bool level);
  void drive_ignne(bool asserted);

  Callbacks cb_;
  bool ferr_ = false, irq_ = false, ignne_ = false;
};

}  // namespace softvt
