// The I/O APIC (emu/devices/ioapic.*) against the 82093AA datasheet:
// register window, redirection entries, edge and level triggering with
// remote IRR and the local APICs' EOI broadcast, masks and destinations.
#include <catch.hpp>

#include <memory>
#include <vector>

#include "emu/cpu.h"
#include "emu/devices/ioapic.h"
#include "emu/devices/lapic.h"

using namespace softvt;
using namespace softvt::apic;

namespace {

struct Node {
  Memory mem{1 << 20};
  Cpu cpu{mem, default_cpu_model()};
  std::unique_ptr<LocalApic> apic;
  Node(ApicBus& bus, uint32_t id) {
    LocalApic::Config c;
    c.apic_id = id;
    apic = std::make_unique<LocalApic>(&cpu, &bus, c);
    apic->mmio_write(0, mmio::SVR, 4, 0x1ff);
  }
  void eoi() { apic->mmio_write(0, mmio::EOI, 4, 0); }
};

// Two CPUs and an I/O APIC wired as the PC machine wires them.
struct System {
  ApicBus bus;
  Node cpu0{bus, 0}, cpu1{bus, 1};
  std::vector<ApicMessage> sent;
  IoApic io{[this](const ApicMessage& m) { sent.push_back(m); bus.send(m, nullptr); }};
  System() { bus.add_eoi_listener([this](uint8_t v) { io.eoi(v); }); }
  uint32_t read(uint32_t index) {
    io.mmio_write(IoApic::IOREGSEL, 4, index);
    return uint32_t(io.mmio_read(IoApic::IOWIN, 4));
  }
  void write(uint32_t index, uint32_t v) {
    io.mmio_write(IoApic::IOREGSEL, 4, index);
    io.mmio_write(IoApic::IOWIN, 4, v);
  }
  void route(unsigned pin, uint64_t entry) {
    write(0x10 + 2 * pin + 1, uint32_t(entry >> 32));
    write(0x10 + 2 * pin, uint32_t(entry));
  }
};

constexpr uint64_t LEVEL = 1u << 15, MASKED = 1u << 16, REMOTE_IRR = 1u << 14, LOGICAL = 1u << 11;
constexpr uint64_t POLARITY_LOW = 1u << 13;
uint64_t dest(uint8_t d) { return uint64_t(d) << 56; }

}  // namespace

TEST_CASE("ioapic: identification registers and reset state", "[ioapic]") {
  System s;
  CHECK(s.read(0x01) == 0x00170020);  // version 0x20, max redirection entry 23
  CHECK(s.read(0x00) == 0);
  s.write(0x00, 0xffffffff);
  CHECK(s.read(0x00) == 0x0f000000);  // ID bits 27:24
  CHECK(s.read(0x02) == 0x0f000000);  // arbitration ID follows the ID
  s.write(0x01, 0);
  CHECK(s.read(0x01) == 0x00170020);  // read-only
  CHECK(s.io.mmio_read(IoApic::IOREGSEL, 4) == 0x01);
  for (unsigned pin = 0; pin < IoApic::PINS; ++pin) {
    CHECK(s.read(0x10 + 2 * pin) == MASKED);
    CHECK(s.read(0x11 + 2 * pin) == 0);
  }
  CHECK(s.read(0x10 + 2 * 24) == 0);  // beyond the table
  // Writable bits of an entry; delivery status and remote IRR are read-only.
  s.write(0x10, 0xffffffff);
  CHECK(s.read(0x10) == (0xffffffffu & ~uint32_t(1u << 12) & ~uint32_t(REMOTE_IRR) & 0x1ffff));
  s.write(0x11, 0xffffffff);
  CHECK(s.read(0x11) == 0xff000000);
}

TEST_CASE("ioapic: edge-triggered delivery", "[ioapic]") {
  System s;
  s.route(4, 0x34 | dest(1));
  s.io.set_irq(4, true);
  CHECK(s.cpu1.apic->irr(0x34));
  CHECK(!s.cpu0.apic->irr(0x34));
  REQUIRE(s.sent.size() == 1);
  CHECK(!s.sent[0].level_triggered);
  s.io.set_irq(4, true);  // no new edge
  CHECK(s.sent.size() == 1);
  s.io.set_irq(4, false);
  s.io.set_irq(4, true);
  CHECK(s.sent.size() == 2);
  CHECK((s.io.redirection(4) & REMOTE_IRR) == 0);
  // An edge on a masked pin is lost, also after unmasking.
  s.io.set_irq(4, false);
  s.route(4, 0x34 | dest(1) | MASKED);
  s.io.set_irq(4, true);
  s.route(4, 0x34 | dest(1));
  CHECK(s.sent.size() == 2);
}

TEST_CASE("ioapic: level-triggered, remote IRR and EOI re-assert", "[ioapic]") {
  System s;
  s.route(9, 0x49 | LEVEL | dest(0));
  s.io.set_irq(9, true);
  REQUIRE(s.sent.size() == 1);
  CHECK(s.sent[0].level_triggered);
  CHECK(s.io.redirection(9) & REMOTE_IRR);
  CHECK(s.cpu0.apic->tmr(0x49));
  s.io.set_irq(9, true);  // still asserted: nothing new until the EOI
  CHECK(s.sent.size() == 1);
  CHECK(s.cpu0.apic->intr_acknowledge() == 0x49);
  s.cpu0.eoi();  // the LAPIC broadcasts the EOI; the line is still high
  CHECK(s.sent.size() == 2);
  CHECK(s.io.redirection(9) & REMOTE_IRR);
  CHECK(s.cpu0.apic->intr_acknowledge() == 0x49);
  s.io.set_irq(9, false);
  s.cpu0.eoi();
  CHECK(s.sent.size() == 2);
  CHECK((s.io.redirection(9) & REMOTE_IRR) == 0);
  // An EOI for another vector leaves remote IRR alone.
  s.io.set_irq(9, true);
  CHECK(s.sent.size() == 3);
  s.io.eoi(0x50);
  CHECK(s.io.redirection(9) & REMOTE_IRR);
  // The version-0x20 EOI register works like the broadcast.
  s.io.set_irq(9, false);
  s.io.mmio_write(IoApic::EOI_REG, 4, 0x49);
  CHECK((s.io.redirection(9) & REMOTE_IRR) == 0);
  // A masked level input is delivered when unmasked while asserted.
  s.route(9, 0x49 | LEVEL | dest(0) | MASKED);
  s.io.set_irq(9, true);
  CHECK(s.sent.size() == 3);
  s.route(9, 0x49 | LEVEL | dest(0));
  CHECK(s.sent.size() == 4);
  // Switching the entry to edge clears remote IRR.
  s.route(9, 0x49 | dest(0));
  CHECK((s.io.redirection(9) & REMOTE_IRR) == 0);
  // Polarity is stored; the input is the source's logical assertion.
  s.route(10, 0x4a | POLARITY_LOW | LEVEL | dest(1));
  CHECK(s.io.redirection(10) & POLARITY_LOW);
  s.io.set_irq(10, true);
  CHECK(s.cpu1.apic->irr(0x4a));
}

TEST_CASE("ioapic: destinations and delivery modes", "[ioapic]") {
  System s;
  // Logical flat: LDR bits 1 (cpu0) and 2 (cpu1).
  s.cpu0.apic->mmio_write(0, mmio::LDR, 4, 0x01000000);
  s.cpu1.apic->mmio_write(0, mmio::LDR, 4, 0x02000000);
  s.route(1, 0x51 | LOGICAL | dest(0x03));
  s.io.set_irq(1, true);
  CHECK(s.cpu0.apic->irr(0x51));
  CHECK(s.cpu1.apic->irr(0x51));
  // Lowest priority among both: both have 0x51 pending (APR 0x50); cpu0's
  // TPR 0x60 puts its APR above cpu1's.
  s.cpu0.apic->mmio_write(0, mmio::TPR, 4, 0x60);
  s.route(2, 0x52 | (1u << 8) | LOGICAL | dest(0x03));
  s.io.set_irq(2, true);
  CHECK(!s.cpu0.apic->irr(0x52));
  CHECK(s.cpu1.apic->irr(0x52));
  // NMI
  s.route(3, (4u << 8) | dest(1));
  s.io.set_irq(3, true);
  CHECK(s.cpu1.cpu.nmi_pending);
  CHECK(!s.cpu0.cpu.nmi_pending);
  // ExtINT: the LAPIC asks the PIC for the vector.
  struct Pic : Cpu::InterruptSource {
    uint8_t intr_acknowledge() override { return 0x20; }
  } pic;
  s.cpu0.apic->set_extint_source(&pic);
  s.route(5, (7u << 8) | dest(0));
  s.cpu0.apic->mmio_write(0, mmio::TPR, 4, 0xf0);  // ExtINT bypasses the priority logic
  s.io.set_irq(5, true);
  CHECK(s.cpu0.cpu.intr_line);
  CHECK(s.cpu0.apic->intr_acknowledge() == 0x20);
  CHECK(!s.cpu0.cpu.intr_line);
  // Physical broadcast 0xff.
  s.route(6, 0x56 | dest(0xff));
  s.io.set_irq(6, true);
  CHECK(s.cpu0.apic->irr(0x56));
  CHECK(s.cpu1.apic->irr(0x56));
  // NMI is edge-sensitive even with the level bit set: one NMI per rising
  // edge, no remote IRR.
  s.cpu1.cpu.nmi_pending = false;
  s.route(7, (4u << 8) | LEVEL | dest(1));
  s.io.set_irq(7, true);
  CHECK(s.cpu1.cpu.nmi_pending);
  s.cpu1.cpu.nmi_pending = false;
  s.io.set_irq(7, true);
  CHECK(!s.cpu1.cpu.nmi_pending);
  CHECK((s.io.redirection(7) & REMOTE_IRR) == 0);
  s.io.set_irq(7, false);
  s.io.set_irq(7, true);
  CHECK(s.cpu1.cpu.nmi_pending);
  // Out-of-range pins are ignored.
  s.io.set_irq(24, true);
  s.io.set_irq(1000, true);
}
