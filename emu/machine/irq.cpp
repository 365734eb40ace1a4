#include "emu/machine/irq.h"

#include "emu/devices/pic8259.h"

namespace softvt {

void IrqRouter::set_level(unsigned line, bool level) {
  if (line >= LINES) return;
  const uint32_t m = 1u << line;
  levels_ = level ? (levels_ | m) : (levels_ & ~m);
  if (line < 16 && pic_) pic_->set_irq(line, level);
  if (ioapic) ioapic(line, level);
}

}  // namespace softvt
