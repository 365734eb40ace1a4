#include "emu/devices/fpu_error.h"

#include "emu/machine/io_bus.h"

namespace softvt {

void FpuErrorLatch::drive_irq(bool level) {
  if (irq_ == level) return;
  irq_ = level;
  if (cb_.irq13) cb_.irq13(level);
}

void FpuErrorLatch::drive_ignne(bool asserted) {
  if (ignne_ == asserted) return;
  ignne_ = asserted;
  if (cb_.ignne) cb_.ignne(asserted);
}

void FpuErrorLatch::set_ferr(bool asserted) {
  const bool rising = asserted && !ferr_;
  ferr_ = asserted;
  if (rising) drive_irq(true);
  if (!asserted) drive_ignne(false);
}

void FpuErrorLatch::clear_error_latch() {
  drive_irq(false);
  if (ferr_) drive_ignne(true);
}

void FpuErrorLatch::map_ports(IoBus& io) {
  io.map(PORT, 1, IoHandler{nullptr, [this](uint16_t, unsigned, uint64_t) { clear_error_latch(); }},
         "fpu-error");
}

}  // namespace softvt
