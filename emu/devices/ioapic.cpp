// I/O APIC register file and interrupt routing (82093AA datasheet sections
// 3.0-3.2: IOREGSEL/IOWIN, IOAPICID, IOAPICVER, IOAPICARB, IOREDTBL).
#include "emu/devices/ioapic.h"

namespace softvt {

namespace {
// Redirection-table entry bits (82093AA 3.2.4).
constexpr uint64_t RTE_VECTOR = 0xff, RTE_MODE_SHIFT = 8, RTE_DEST_LOGICAL = 1u << 11;
constexpr uint64_t RTE_DELIVERY_STATUS = 1u << 12, RTE_POLARITY = 1u << 13;
constexpr uint64_t RTE_REMOTE_IRR = 1u << 14, RTE_LEVEL = 1u << 15, RTE_MASK = 1u << 16;
constexpr unsigned RTE_DEST_SHIFT = 56;
// Software writes vector, delivery mode, destination mode, polarity,
// trigger mode, mask and the destination; delivery status and remote IRR
// are read-only.
constexpr uint64_t RTE_WRITABLE = RTE_VECTOR | (7u << RTE_MODE_SHIFT) | RTE_DEST_LOGICAL |
                                  RTE_POLARITY | RTE_LEVEL | RTE_MASK | (uint64_t(0xff) << RTE_DEST_SHIFT);
// Level-triggered fixed and lowest-priority entries take part in the
// remote-IRR / EOI protocol and are delivered while their input is
// asserted. NMI, SMI, INIT and ExtINT are edge-sensitive whatever the
// trigger-mode bit says (82093AA 3.2.4, delivery mode field), as are
// edge-triggered entries: they are sent on a rising edge only.
bool uses_eoi_protocol(uint64_t e) {
  const unsigned mode = unsigned(e >> RTE_MODE_SHIFT) & 7;
  return (e & RTE_LEVEL) && (mode == unsigned(apic::Delivery::Fixed) || mode == unsigned(apic::Delivery::LowestPriority));
}
}  // namespace

IoApic::IoApic(std::function<void(const ApicMessage&)> deliver) : deliver_(std::move(deliver)) { reset(); }

void IoApic::reset() {
  select_ = 0;
  id_ = 0;
  rte_.fill(RTE_MASK);
  level_.fill(false);
}

uint32_t IoApic::read_register(uint32_t index) const {
  switch (index) {
    case REG_ID: return id_;
    case REG_VERSION: return VERSION;
    // The arbitration ID is loaded from the APIC ID whenever that is
    // written (82093AA 3.2.3).
    case REG_ARB: return id_;
    default:
      if (index >= REG_REDTBL && index < REG_REDTBL + 2 * PINS) {
        const uint64_t e = rte_[(index - REG_REDTBL) / 2];
        return (index & 1) ? uint32_t(e >> 32) : uint32_t(e);
      }
      return 0;  // unimplemented index
  }
}

void IoApic::write_register(uint32_t index, uint32_t value) {
  if (index == REG_ID) {
    id_ = value & 0x0f000000;  // 82093AA: ID in bits 27:24
    return;
  }
  if (index < REG_REDTBL || index >= REG_REDTBL + 2 * PINS) return;  // read-only or unimplemented
  const unsigned pin = (index - REG_REDTBL) / 2;
  uint64_t& e = rte_[pin];
  const uint64_t shifted = (index & 1) ? uint64_t(value) << 32 : uint64_t(value);
  const uint64_t half = (index & 1) ? ~uint64_t(0xffffffff) : uint64_t(0xffffffff);
  const uint64_t keep = (e & ~(RTE_WRITABLE & half));
  e = keep | (shifted & RTE_WRITABLE & half);
  // Remote IRR is meaningless outside the EOI protocol: it clears when the
  // entry becomes edge-triggered (as KVM and QEMU do).
  if (!uses_eoi_protocol(e)) e &= ~RTE_REMOTE_IRR;
  // An unmasked level-triggered input that is asserted is delivered (an
  // edge that came while masked is lost).
  if (uses_eoi_protocol(e)) service(pin);
}

uint64_t IoApic::mmio_read(uint64_t offset, unsigned size) {
  switch (offset & ~uint64_t(3)) {
    case IOREGSEL: return select_;
    case IOWIN: return read_register(select_) >> (8 * (offset & 3));
    default: return 0;
  }
}

void IoApic::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  switch (offset) {
    case IOREGSEL: select_ = uint32_t(value) & 0xff; return;
    case IOWIN: if (size == 4) write_register(select_, uint32_t(value)); return;
    case EOI_REG: if (size == 4) eoi(uint8_t(value)); return;  // version 0x20: directed EOI
    default: return;
  }
}

// Sends the interrupt of `pin` if its entry is unmasked and (level
// triggered) not already awaiting an EOI.
void IoApic::service(unsigned pin) {
  uint64_t& e = rte_[pin];
  if (!level_[pin] || (e & RTE_MASK)) return;
  const bool level = uses_eoi_protocol(e);
  if (level && (e & RTE_REMOTE_IRR)) return;
  ApicMessage m;
  m.vector = uint8_t(e & RTE_VECTOR);
  m.mode = apic::Delivery((e >> RTE_MODE_SHIFT) & 7);
  m.logical = e & RTE_DEST_LOGICAL;
  m.level_triggered = e & RTE_LEVEL;
  m.dest = uint32_t(e >> RTE_DEST_SHIFT);
  // Remote IRR is set when a level-triggered interrupt is accepted by a
  // local APIC, cleared by its EOI (82093AA 3.2.4 bit 14).
  if (level) e |= RTE_REMOTE_IRR;
  if (deliver_) deliver_(m);
}

void IoApic::set_irq(unsigned line, bool asserted) {
  if (line >= PINS) return;
  const bool rising = asserted && !level_[line];
  level_[line] = asserted;
  // Edge-sensitive: only the rising edge counts, and an edge on a masked
  // pin is lost (82093AA 3.2.4 bit 16). Level: delivered while high.
  if (uses_eoi_protocol(rte_[line])) service(line);
  else if (rising) service(line);
}

void IoApic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < PINS; ++pin) {
    uint64_t& e = rte_[pin];
    if (uses_eoi_protocol(e) && (e & RTE_REMOTE_IRR) && uint8_t(e & RTE_VECTOR) == vector) {
      e &= ~RTE_REMOTE_IRR;
      service(pin);  // still asserted: the interrupt is sent again
    }
  }
}

}  // namespace softvt
