// The local APIC (emu/devices/lapic.*) against SDM Vol. 3A chapter 11:
// register semantics, priorities, acceptance/EOI, the timer in its three
// modes, IPI routing over an ApicBus of several APICs, x2APIC MSRs and
// IA32_APIC_BASE transitions, LINT0 ExtINT, INIT/SIPI.
#include <catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/devices/lapic.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;
using namespace softvt::apic;

namespace {

// One CPU with its local APIC on a bus.
struct Node {
  Memory mem{1 << 20};
  Cpu cpu{mem, default_cpu_model()};
  std::unique_ptr<LocalApic> apic;
  Node(ApicBus* bus, LocalApic::Config cfg) { apic = std::make_unique<LocalApic>(&cpu, bus, cfg); }
  uint32_t rd(uint32_t off, uint64_t now = 0) { return uint32_t(apic->mmio_read(now, off, 4)); }
  void wr(uint32_t off, uint32_t v, uint64_t now = 0) { apic->mmio_write(now, off, 4, v); }
  void enable(uint8_t spurious = 0xff) { wr(mmio::SVR, 0x100 | spurious); }
  uint32_t esr() { wr(mmio::ESR, 0); return rd(mmio::ESR); }
};

LocalApic::Config config(uint32_t id, bool bsp = false) {
  LocalApic::Config c;
  c.apic_id = id;
  c.bsp = bsp;
  return c;
}

// A fixed edge-triggered interrupt message for one APIC (physical).
ApicMessage fixed(uint8_t vector, bool level = false) {
  ApicMessage m;
  m.vector = vector;
  m.level_triggered = level;
  return m;
}

// Puts `vector` into the ISR the way hardware does: accept, acknowledge.
void in_service(Node& n, uint8_t vector) {
  n.apic->receive(fixed(vector));
  REQUIRE(n.apic->intr_acknowledge() == vector);
}

struct FakePic : Cpu::InterruptSource {
  uint8_t vector = 0x08;
  unsigned acks = 0;
  uint8_t intr_acknowledge() override { ++acks; return vector; }
};

}  // namespace

TEST_CASE("lapic: power-up state (SDM 11.4.7.1)", "[lapic]") {
  ApicBus bus;
  Node bsp(&bus, config(0, true));
  Node ap(&bus, config(3));
  CHECK(bsp.apic->apic_base() == 0xfee00900);  // EN | BSP | default base
  CHECK(ap.apic->apic_base() == 0xfee00800);
  CHECK(bsp.cpu.s.apic_base == 0xfee00900);
  CHECK(ap.rd(mmio::ID) == 3u << 24);
  CHECK(ap.rd(mmio::VERSION) == 0x00060014);  // version 0x14, max LVT 6 (CMCI present)
  CHECK(ap.rd(mmio::SVR) == 0xff);
  CHECK(ap.rd(mmio::DFR) == 0xffffffff);
  CHECK(ap.rd(mmio::LDR) == 0);
  CHECK(ap.rd(mmio::TPR) == 0);
  for (uint32_t off : {mmio::LVT_CMCI, mmio::LVT_TIMER, mmio::LVT_THERMAL, mmio::LVT_PERF, mmio::LVT_LINT0,
                       mmio::LVT_LINT1, mmio::LVT_ERROR})
    CHECK(ap.rd(off) == lvt::MASK);
  LocalApic::Config no_cmci = config(1);
  no_cmci.cmci = false;
  Node old(nullptr, no_cmci);
  CHECK(old.rd(mmio::VERSION) == 0x00050014);
  CHECK(old.rd(mmio::LVT_CMCI) == 0);  // not implemented: reads 0, flags an illegal register
  CHECK(old.esr() == esr::ILLEGAL_REGISTER);
}

TEST_CASE("lapic: register read/write semantics", "[lapic]") {
  Node n(nullptr, config(1));
  n.enable();
  n.wr(mmio::TPR, 0xfffffff5);
  CHECK(n.rd(mmio::TPR) == 0xf5);
  n.wr(mmio::LDR, 0x12345678);
  CHECK(n.rd(mmio::LDR) == 0x12000000);
  n.wr(mmio::DFR, 0x0);
  CHECK(n.rd(mmio::DFR) == 0x0fffffff);  // bits 27:0 read as ones
  n.wr(mmio::ID, 0x05ffffff);
  CHECK(n.rd(mmio::ID) == 0x05000000);
  CHECK(n.apic->id() == 5);
  n.wr(mmio::VERSION, 0);
  CHECK(n.rd(mmio::VERSION) == 0x00060014);  // read-only
  n.wr(mmio::SVR, 0xfffffeff);
  CHECK(n.rd(mmio::SVR) == 0x2ff);  // only vector, enable, focus-disable are writable
  n.wr(mmio::ICR_HIGH, 0xffffffff);
  CHECK(n.rd(mmio::ICR_HIGH) == 0xff000000);
  // LVT entries keep only their defined bits (Figure 11-8).
  n.wr(mmio::LVT_LINT0, 0xffffffff);
  CHECK(n.rd(mmio::LVT_LINT0) == (0xff | lvt::MODE | lvt::POLARITY | lvt::LEVEL | lvt::MASK));
  n.wr(mmio::LVT_ERROR, 0xffffffff);
  CHECK(n.rd(mmio::LVT_ERROR) == (0xff | lvt::MASK));
  n.wr(mmio::LVT_TIMER, 0xffffffff);
  CHECK(n.rd(mmio::LVT_TIMER) == (0xff | lvt::MASK | lvt::TIMER_MODE));
  n.wr(mmio::LVT_PERF, 0xffffffff);
  CHECK(n.rd(mmio::LVT_PERF) == (0xff | lvt::MODE | lvt::MASK));
  n.wr(mmio::TIMER_DIVIDE, 0xffffffff);
  CHECK(n.rd(mmio::TIMER_DIVIDE) == 0xb);
  // Only aligned 32-bit writes count; reads of narrower widths see the bytes.
  n.apic->mmio_write(0, mmio::TPR, 1, 0x11);
  n.apic->mmio_write(0, mmio::TPR + 1, 4, 0x11);
  CHECK(n.rd(mmio::TPR) == 0xf5);
  CHECK(n.apic->mmio_read(0, mmio::VERSION + 2, 1) == 0x06);
  CHECK(n.apic->mmio_read(0, mmio::VERSION + 4, 4) == 0);
}

TEST_CASE("lapic: ESR write-then-read protocol and illegal registers (SDM 11.5.3)", "[lapic]") {
  Node n(nullptr, config(0));
  n.enable();
  n.wr(mmio::LVT_ERROR, 0xe0);
  n.rd(0x040);  // reserved offset
  CHECK(n.rd(mmio::ESR) == 0);  // not visible before a write
  CHECK(n.apic->irr(0xe0));    // the error interrupt was signalled
  n.wr(mmio::ESR, 0x1234);      // the value written does not matter
  CHECK(n.rd(mmio::ESR) == esr::ILLEGAL_REGISTER);
  n.wr(mmio::ESR, 0);
  CHECK(n.rd(mmio::ESR) == 0);  // cleared by the next write
  n.apic->receive(fixed(7));   // vectors 0-15 are illegal
  CHECK(!n.apic->irr(7));
  n.wr(0x3f0, 1);  // SELF IPI does not exist in xAPIC mode
  CHECK(n.esr() == (esr::RECEIVE_ILLEGAL_VECTOR | esr::ILLEGAL_REGISTER));
  n.wr(mmio::ICR_LOW, 0x00040003);  // self IPI with vector 3: send illegal vector, not sent
  CHECK(n.esr() == esr::SEND_ILLEGAL_VECTOR);
}

TEST_CASE("lapic: software disable keeps the LVT masked (SDM 11.4.7.2)", "[lapic]") {
  Node n(nullptr, config(0));
  n.wr(mmio::LVT_TIMER, 0x30);
  CHECK(n.rd(mmio::LVT_TIMER) == (0x30 | lvt::MASK));
  n.enable();
  n.wr(mmio::LVT_TIMER, 0x30);
  CHECK(n.rd(mmio::LVT_TIMER) == 0x30);
  n.wr(mmio::SVR, 0xff);
  CHECK(n.rd(mmio::LVT_TIMER) == (0x30 | lvt::MASK));
  // A software-disabled APIC accepts no fixed interrupt but keeps NMI.
  n.apic->receive(fixed(0x40));
  CHECK(!n.apic->irr(0x40));
  ApicMessage nmi;
  nmi.mode = Delivery::Nmi;
  n.apic->receive(nmi);
  CHECK(n.cpu.nmi_pending);
}

TEST_CASE("lapic: PPR from TPR and ISR (SDM 11.8.3.1)", "[lapic]") {
  struct Case { uint8_t tpr; int isrv; uint8_t ppr; };
  const Case cases[] = {
      {0x00, -1, 0x00}, {0x35, -1, 0x35}, {0x35, 0x20, 0x35}, {0x25, 0x41, 0x40},
      {0x45, 0x4f, 0x45}, {0x40, 0x4f, 0x40}, {0x3f, 0x4f, 0x40}, {0xff, 0xfe, 0xff},
  };
  for (const Case& c : cases) {
    Node n(nullptr, config(0));
    n.enable();
    if (c.isrv >= 0) in_service(n, uint8_t(c.isrv));
    n.wr(mmio::TPR, c.tpr);
    INFO("TPR " << int(c.tpr) << " ISRV " << c.isrv);
    CHECK(n.rd(mmio::PPR) == c.ppr);
  }
}

TEST_CASE("lapic: APR (SDM 11.6.2.4)", "[lapic]") {
  Node n(nullptr, config(0));
  n.enable();
  n.wr(mmio::TPR, 0x35);
  CHECK(n.rd(mmio::APR) == 0x35);       // nothing pending or in service
  n.apic->receive(fixed(0x52));        // IRRV class 5 > TPR class 3
  CHECK(n.rd(mmio::APR) == 0x50);
  n.wr(mmio::TPR, 0x65);
  CHECK(n.rd(mmio::APR) == 0x65);
}

TEST_CASE("lapic: IRR -> ISR -> EOI ordering and INTR (SDM 11.8.4)", "[lapic]") {
  Node n(nullptr, config(0));
  n.enable(0x3f);
  n.wr(mmio::TPR, 0x30);
  n.apic->receive(fixed(0x31));
  CHECK(n.apic->irr(0x31));
  CHECK(!n.cpu.intr_line);  // class 3 is not above PPR class 3
  n.wr(mmio::TPR, 0x20);
  CHECK(n.cpu.intr_line);
  CHECK(n.apic->intr_acknowledge() == 0x31);
  CHECK(!n.apic->irr(0x31));
  CHECK(n.apic->isr(0x31));
  CHECK(!n.cpu.intr_line);
  n.apic->receive(fixed(0x32));  // same class as the one in service: waits
  CHECK(!n.cpu.intr_line);
  n.apic->receive(fixed(0x51));  // higher class: nests
  CHECK(n.cpu.intr_line);
  CHECK(n.apic->intr_acknowledge() == 0x51);
  // The same vector can be pending once while in service.
  n.apic->receive(fixed(0x51));
  CHECK(n.apic->irr(0x51));
  CHECK(!n.cpu.intr_line);
  n.wr(mmio::EOI, 0);  // ends 0x51, the highest in service
  CHECK(!n.apic->isr(0x51));
  CHECK(n.apic->isr(0x31));
  CHECK(n.cpu.intr_line);
  CHECK(n.apic->intr_acknowledge() == 0x51);
  n.wr(mmio::EOI, 0);
  n.wr(mmio::EOI, 0);  // ends 0x31
  CHECK(n.cpu.intr_line);
  CHECK(n.apic->intr_acknowledge() == 0x32);
  n.wr(mmio::EOI, 0);
  CHECK(!n.cpu.intr_line);
  // Spurious: the request vanished (TPR raised) between INTR and INTA.
  n.apic->receive(fixed(0x45));
  CHECK(n.cpu.intr_line);
  n.wr(mmio::TPR, 0x50);
  CHECK(n.apic->intr_acknowledge() == 0x3f);
  CHECK(!n.apic->isr(0x45));
  CHECK(n.apic->irr(0x45));
  // CR8 is TPR[7:4].
  n.apic->write_cr8(3);
  CHECK(n.rd(mmio::TPR) == 0x30);
  CHECK(n.apic->read_cr8() == 3);
  CHECK(n.cpu.intr_line);
}

TEST_CASE("lapic: level-triggered EOI broadcast and TMR (SDM 11.8.5)", "[lapic]") {
  ApicBus bus;
  std::vector<uint8_t> eois;
  bus.add_eoi_listener([&](uint8_t v) { eois.push_back(v); });
  Node n(&bus, config(0));
  n.enable();
  n.apic->receive(fixed(0x61, true));
  n.apic->receive(fixed(0x71, false));
  CHECK(n.apic->tmr(0x61));
  CHECK(!n.apic->tmr(0x71));
  CHECK(n.rd(mmio::TMR + 0x30) == (1u << 1));  // TMR bits 96-127
  CHECK(n.rd(mmio::IRR + 0x30) == ((1u << 1) | (1u << 17)));  // 0x61 and 0x71
  CHECK(n.apic->intr_acknowledge() == 0x71);
  n.wr(mmio::EOI, 0);
  CHECK(eois.empty());
  CHECK(n.apic->intr_acknowledge() == 0x61);
  CHECK(n.rd(mmio::ISR + 0x30) == (1u << 1));
  n.wr(mmio::EOI, 0);
  REQUIRE(eois.size() == 1);
  CHECK(eois[0] == 0x61);
}

TEST_CASE("lapic: timer one-shot for every divide value (SDM 11.5.4)", "[lapic][timer]") {
  // Divide configuration (Figure 11-10) -> divisor.
  const std::pair<uint32_t, unsigned> divides[] = {{0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16},
                                                    {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
  for (auto [code, div] : divides) {
    Node n(nullptr, config(0));  // bus clock 1 GHz: one count = div ns
    n.enable();
    n.wr(mmio::TIMER_DIVIDE, code);
    n.wr(mmio::LVT_TIMER, 0x40);  // one-shot, vector 0x40
    const uint64_t t0 = 5000;
    n.wr(mmio::TIMER_INITIAL, 1000, t0);
    INFO("divide " << div);
    CHECK(n.rd(mmio::TIMER_CURRENT, t0) == 1000);
    CHECK(n.rd(mmio::TIMER_CURRENT, t0 + div - 1) == 1000);
    CHECK(n.rd(mmio::TIMER_CURRENT, t0 + div) == 999);
    CHECK(n.rd(mmio::TIMER_CURRENT, t0 + 250 * div) == 750);
    CHECK(n.rd(mmio::TIMER_CURRENT, t0 + 251 * div - 1) == 750);
    CHECK(n.apic->next_deadline_ns() == t0 + 1000 * div);
    n.apic->tick(t0 + 1000 * div - 1);
    CHECK(!n.apic->irr(0x40));
    n.apic->tick(t0 + 1000 * div);
    CHECK(n.apic->irr(0x40));
    CHECK(n.rd(mmio::TIMER_CURRENT, t0 + 1000 * div) == 0);
    CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
    CHECK(n.rd(mmio::TIMER_INITIAL) == 1000);
  }
}

TEST_CASE("lapic: timer periodic, reload and missed periods", "[lapic][timer]") {
  Node n(nullptr, config(0));
  n.enable();
  n.wr(mmio::TIMER_DIVIDE, 0xb);  // divide by 1
  n.wr(mmio::LVT_TIMER, (1u << 17) | 0x41);
  n.wr(mmio::TIMER_INITIAL, 100, 0);
  CHECK(n.apic->next_deadline_ns() == 100);
  n.apic->tick(100);
  CHECK(n.apic->intr_acknowledge() == 0x41);
  n.wr(mmio::EOI, 0);
  CHECK(n.rd(mmio::TIMER_CURRENT, 100) == 100);  // reloaded
  CHECK(n.rd(mmio::TIMER_CURRENT, 130) == 70);
  CHECK(n.apic->next_deadline_ns() == 200);
  // Ticks late by 2.5 periods: one interrupt, the next at the next multiple.
  n.apic->tick(450);
  CHECK(n.apic->irr(0x41));
  CHECK(n.apic->next_deadline_ns() == 500);
  CHECK(n.rd(mmio::TIMER_CURRENT, 450) == 50);
  // Masked: the count still runs, no interrupt.
  n.apic->intr_acknowledge();
  n.wr(mmio::EOI, 0);
  n.wr(mmio::LVT_TIMER, (1u << 17) | lvt::MASK | 0x41, 460);
  n.apic->tick(500);
  CHECK(!n.apic->irr(0x41));
  CHECK(n.rd(mmio::TIMER_CURRENT, 510) == 90);
  // Initial count 0 stops it.
  n.wr(mmio::TIMER_INITIAL, 0, 520);
  CHECK(n.rd(mmio::TIMER_CURRENT, 530) == 0);
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
}

TEST_CASE("lapic: timer divide change keeps the count; bus clock scaling", "[lapic][timer]") {
  LocalApic::Config c = config(0);
  c.bus_hz = 100000000;  // 10 ns per bus clock
  Node n(nullptr, c);
  n.enable();
  n.wr(mmio::LVT_TIMER, 0x42);
  n.wr(mmio::TIMER_DIVIDE, 0x0);  // by 2: 20 ns per count
  n.wr(mmio::TIMER_INITIAL, 50, 1000);
  CHECK(n.apic->next_deadline_ns() == 1000 + 50 * 20);
  CHECK(n.rd(mmio::TIMER_CURRENT, 1000 + 10 * 20) == 40);
  n.wr(mmio::TIMER_DIVIDE, 0x1, 1000 + 10 * 20);  // by 4 from now on: 40 ns per count
  CHECK(n.rd(mmio::TIMER_CURRENT, 1200) == 40);
  CHECK(n.rd(mmio::TIMER_CURRENT, 1240) == 39);
  CHECK(n.apic->next_deadline_ns() == 1200 + 40 * 40);
  // one-shot -> periodic does not restart the count
  n.wr(mmio::LVT_TIMER, (1u << 17) | 0x42, 1240);
  CHECK(n.rd(mmio::TIMER_CURRENT, 1240) == 39);
  n.apic->tick(2800);
  CHECK(n.apic->irr(0x42));
  CHECK(n.rd(mmio::TIMER_CURRENT, 2800) == 50);  // reloads the initial count
}

TEST_CASE("lapic: timer periodic -> one-shot in a later period", "[lapic][timer]") {
  Node n(nullptr, config(0));
  n.enable();
  n.wr(mmio::TIMER_DIVIDE, 0xb);
  n.wr(mmio::LVT_TIMER, (1u << 17) | 0x44);
  n.wr(mmio::TIMER_INITIAL, 100, 0);
  n.apic->tick(100);
  n.apic->intr_acknowledge();
  n.wr(mmio::EOI, 0);
  // In the second period, count 70: switch to one-shot. The count runs
  // on to 0, interrupts once and stays at 0.
  n.wr(mmio::LVT_TIMER, 0x44, 130);
  CHECK(n.rd(mmio::TIMER_CURRENT, 130) == 70);
  CHECK(n.apic->next_deadline_ns() == 200);
  n.apic->tick(200);
  CHECK(n.apic->irr(0x44));
  CHECK(n.rd(mmio::TIMER_CURRENT, 250) == 0);
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
}

TEST_CASE("lapic: TSC-deadline mode (SDM 11.5.4.1)", "[lapic][timer]") {
  LocalApic::Config c = config(0);
  c.tsc_hz = 2000000000;  // 2 TSC ticks per ns
  Node n(nullptr, c);
  n.enable();
  uint64_t v = 1;
  // Outside TSC-deadline mode the MSR reads 0 and ignores writes.
  CHECK(n.apic->write_msr(0, msr::TSC_DEADLINE, 5000));
  CHECK(n.apic->read_msr(0, msr::TSC_DEADLINE, v));
  CHECK(v == 0);
  n.wr(mmio::TIMER_INITIAL, 100, 0);
  n.wr(mmio::LVT_TIMER, (2u << 17) | 0x43, 10);  // into TSC-deadline mode: disarms
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
  n.wr(mmio::TIMER_INITIAL, 100, 10);  // ignored
  CHECK(n.rd(mmio::TIMER_INITIAL) == 100);
  CHECK(n.rd(mmio::TIMER_CURRENT, 20) == 0);
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
  // TSC = insn_count + offset. At 1000 ns the TSC is 2000.
  n.cpu.s.insn_count = 2000;
  CHECK(n.apic->write_msr(1000, msr::TSC_DEADLINE, 3001));
  CHECK(n.apic->read_msr(1000, msr::TSC_DEADLINE, v));
  CHECK(v == 3001);
  CHECK(n.apic->next_deadline_ns() == 1000 + 501);  // ceil(1001 / 2)
  n.cpu.s.insn_count = 3000;
  n.apic->tick(1500);
  CHECK(!n.apic->irr(0x43));
  n.cpu.s.insn_count = 3001;
  n.apic->tick(1501);
  CHECK(n.apic->irr(0x43));
  CHECK(n.apic->read_msr(1501, msr::TSC_DEADLINE, v));
  CHECK(v == 0);  // expiry disarms
  n.apic->intr_acknowledge();
  n.wr(mmio::EOI, 0);
  // A deadline already passed fires at once; 0 disarms.
  CHECK(n.apic->write_msr(1600, msr::TSC_DEADLINE, 10));
  CHECK(n.apic->irr(0x43));
  n.apic->intr_acknowledge();
  n.wr(mmio::EOI, 0);
  CHECK(n.apic->write_msr(1600, msr::TSC_DEADLINE, 1000000));
  CHECK(n.apic->next_deadline_ns() != UINT64_MAX);
  CHECK(n.apic->write_msr(1600, msr::TSC_DEADLINE, 0));
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
  // The guest moves the TSC: the deadline follows it.
  CHECK(n.apic->write_msr(1600, msr::TSC_DEADLINE, 4001));
  CHECK(n.apic->next_deadline_ns() == 1600 + 500);
  n.cpu.s.tsc_offset = 1000;
  n.apic->tsc_changed(1600);
  CHECK(n.apic->irr(0x43));
  // Leaving TSC-deadline mode disarms it.
  n.apic->intr_acknowledge();
  n.wr(mmio::EOI, 0);
  CHECK(n.apic->write_msr(1700, msr::TSC_DEADLINE, 1000000));
  n.wr(mmio::LVT_TIMER, 0x43, 1700);
  CHECK(n.apic->next_deadline_ns() == UINT64_MAX);
  n.wr(mmio::LVT_TIMER, (2u << 17) | 0x43, 1700);
  CHECK(n.apic->read_msr(1700, msr::TSC_DEADLINE, v));
  CHECK(v == 0);
  // Without TSC-deadline support the MSR raises #GP and mode bit 18 is reserved.
  LocalApic::Config nc = config(1);
  nc.tsc_deadline = false;
  Node old(nullptr, nc);
  CHECK(!old.apic->read_msr(0, msr::TSC_DEADLINE, v));
  old.enable();
  old.wr(mmio::LVT_TIMER, (3u << 17) | 0x20);
  CHECK(old.rd(mmio::LVT_TIMER) == ((1u << 17) | 0x20));
}

// ---- IPIs over a bus of four APICs -------------------------------------------------

namespace {
struct Cluster {
  ApicBus bus;
  std::vector<std::unique_ptr<Node>> nodes;
  explicit Cluster(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      nodes.push_back(std::make_unique<Node>(&bus, config(i, i == 0)));
      nodes.back()->enable();
    }
  }
  Node& operator[](unsigned i) { return *nodes[i]; }
  // Which APICs have `vector` pending, as a bit mask.
  unsigned pending(uint8_t vector) {
    unsigned m = 0;
    for (unsigned i = 0; i < nodes.size(); ++i)
      if (nodes[i]->apic->irr(vector)) m |= 1u << i;
    return m;
  }
  void clear(uint8_t vector) {
    for (auto& n : nodes)
      if (n->apic->irr(vector)) { n->apic->intr_acknowledge(); n->wr(mmio::EOI, 0); }
  }
  void ipi(unsigned from, uint32_t low, uint8_t dest) {
    nodes[from]->wr(mmio::ICR_HIGH, uint32_t(dest) << 24);
    nodes[from]->wr(mmio::ICR_LOW, low);
  }
};
}  // namespace

TEST_CASE("lapic: IPI physical, broadcast and shorthands (SDM 11.6.1, 11.6.2.1)", "[lapic][ipi]") {
  Cluster c(4);
  c.ipi(0, 0x50, 2);
  CHECK(c.pending(0x50) == 0b0100);
  CHECK(c[0].rd(mmio::ICR_LOW) == 0x50);  // delivery status idle
  c.clear(0x50);
  c.ipi(1, 0x50, 0xff);  // physical broadcast
  CHECK(c.pending(0x50) == 0b1111);
  c.clear(0x50);
  c.ipi(1, 0x50, 7);  // nobody
  CHECK(c.pending(0x50) == 0);
  c.ipi(1, 0x50 | (1u << 18), 3);  // self
  CHECK(c.pending(0x50) == 0b0010);
  c.clear(0x50);
  c.ipi(1, 0x50 | (2u << 18), 3);  // all including self
  CHECK(c.pending(0x50) == 0b1111);
  c.clear(0x50);
  c.ipi(1, 0x50 | (3u << 18), 3);  // all excluding self
  CHECK(c.pending(0x50) == 0b1101);
  c.clear(0x50);
  // NMI
  c.ipi(0, (4u << 8), 3);
  CHECK(c[3].cpu.nmi_pending);
  CHECK(!c[2].cpu.nmi_pending);
  // Self shorthand with NMI is invalid (Table 11-3): nothing is sent.
  c.ipi(2, (4u << 8) | (1u << 18), 0);
  CHECK(!c[2].cpu.nmi_pending);
  // A hardware-disabled APIC is off the bus.
  REQUIRE(c[3].apic->write_apic_base(0xfee00000));
  c.ipi(0, 0x50 | (3u << 18), 0);
  CHECK(c.pending(0x50) == 0b0110);
}

TEST_CASE("lapic: IPI logical flat and cluster (SDM 11.6.2.2)", "[lapic][ipi]") {
  Cluster c(4);
  // Flat: LDR bit per CPU.
  for (unsigned i = 0; i < 4; ++i) c[i].wr(mmio::LDR, (1u << i) << 24);
  c.ipi(0, 0x60 | lvt::DEST_LOGICAL, 0b1010);
  CHECK(c.pending(0x60) == 0b1010);
  c.clear(0x60);
  // Cluster: clusters 1 and 2, two members each.
  const uint8_t ldr[4] = {0x11, 0x12, 0x21, 0x22};
  for (unsigned i = 0; i < 4; ++i) {
    c[i].wr(mmio::DFR, 0x0fffffff);
    c[i].wr(mmio::LDR, uint32_t(ldr[i]) << 24);
  }
  c.ipi(0, 0x60 | lvt::DEST_LOGICAL, 0x23);  // cluster 2, members 1 and 2
  CHECK(c.pending(0x60) == 0b1100);
  c.clear(0x60);
  c.ipi(0, 0x60 | lvt::DEST_LOGICAL, 0x12);
  CHECK(c.pending(0x60) == 0b0010);
  c.clear(0x60);
  c.ipi(0, 0x60 | lvt::DEST_LOGICAL, 0xff);  // broadcast
  CHECK(c.pending(0x60) == 0b1111);
  c.clear(0x60);
}

TEST_CASE("lapic: lowest-priority delivery and focus (SDM 11.6.2.4)", "[lapic][ipi]") {
  Cluster c(4);
  for (unsigned i = 0; i < 4; ++i) c[i].wr(mmio::LDR, (1u << i) << 24);
  const uint8_t tprs[4] = {0x40, 0x20, 0x30, 0x20};
  for (unsigned i = 0; i < 4; ++i) c[i].wr(mmio::TPR, tprs[i]);
  const uint32_t lowest = (1u << 8) | lvt::DEST_LOGICAL;
  c.ipi(0, lowest | 0x70, 0b1101);  // candidates 0, 2, 3: 3 has the lowest TPR
  CHECK(c.pending(0x70) == 0b1000);
  c.ipi(0, lowest | 0x70, 0b0111);  // candidates 0, 1, 2: 1 has the lowest TPR
  CHECK(c.pending(0x70) == 0b1010);
  c.clear(0x70);
  c.ipi(0, lowest | 0x70, 0b1010);  // equal APR: the lower APIC ID wins
  CHECK(c.pending(0x70) == 0b0010);
  // Focus: an APIC with the vector already pending takes it again.
  c[3].wr(mmio::TPR, 0x10);
  c.ipi(0, lowest | 0x70, 0b1010);
  CHECK(c.pending(0x70) == 0b0010);
  c.clear(0x70);
  // With focus checking disabled, the APR decides, and a pending request
  // raises it: the second message goes to the other APIC.
  c[1].wr(mmio::SVR, 0x3ff);
  c[3].wr(mmio::SVR, 0x3ff);
  c.ipi(0, lowest | 0x70, 0b1010);
  CHECK(c.pending(0x70) == 0b1000);  // APR 0x10 < 0x20
  CHECK(c[3].rd(mmio::APR) == 0x70);
  c.ipi(0, lowest | 0x70, 0b1010);
  CHECK(c.pending(0x70) == 0b1010);
}

TEST_CASE("lapic: INIT and SIPI (SDM 9.4, 11.6.1)", "[lapic][ipi]") {
  Cluster c(2);
  Cpu& ap = c[1].cpu;
  ap.s.rip = 0x1234;
  ap.s.cr0 = 0x80000011;
  ap.s.efer = 0x500;
  ap.s.gpr[RAX] = 7;
  c[1].wr(mmio::TPR, 0x20);
  c[1].wr(mmio::LDR, 0x01000000);
  // INIT level de-assert has no effect on this processor generation.
  c.ipi(0, (5u << 8) | lvt::LEVEL, 1);
  CHECK(!ap.wait_for_sipi);
  CHECK(ap.s.rip == 0x1234);
  c.ipi(0, (5u << 8) | lvt::ICR_ASSERT, 1);
  CHECK(ap.wait_for_sipi);
  CHECK(ap.s.halted);
  CHECK(c[1].rd(mmio::TPR) == 0);  // the APIC is reset except its ID
  CHECK(c[1].rd(mmio::LDR) == 0);
  CHECK(c[1].rd(mmio::SVR) == 0xff);
  CHECK(c[1].rd(mmio::ID) == 1u << 24);
  // Table 9-1 (INIT)
  CHECK(ap.s.rip == 0xfff0);
  CHECK(ap.s.seg[CS].sel == 0xf000);
  CHECK(ap.s.seg[CS].base == 0xffff0000);
  CHECK(ap.s.cr0 == 0x10);
  CHECK(ap.s.efer == 0);
  CHECK(ap.s.gpr[RAX] == 0);
  CHECK(ap.s.gpr[RDX] == default_cpu_model().cpuid(1, 0).eax);
  CHECK(ap.s.rflags == 2);
  CHECK(ap.s.dr[7] == 0x400);
  CHECK(ap.s.idtr.limit == 0xffff);
  CHECK(ap.s.mode == Mode::Real);
  // Waiting for SIPI: no NMI, no INTR.
  c.ipi(0, 4u << 8, 1);
  CHECK(!ap.nmi_pending);
  // SIPI vector 0x9a: CS = 0x9a00, base 0x9a000, IP 0.
  c.ipi(0, (6u << 8) | 0x9a, 1);
  CHECK(!ap.wait_for_sipi);
  CHECK(!ap.s.halted);
  CHECK(ap.s.seg[CS].sel == 0x9a00);
  CHECK(ap.s.seg[CS].base == 0x9a000);
  CHECK(ap.s.rip == 0);
  // A second SIPI is ignored.
  c.ipi(0, (6u << 8) | 0x10, 1);
  CHECK(ap.s.seg[CS].sel == 0x9a00);
  // INIT to the BSP restarts it at the reset vector without waiting.
  c.ipi(1, (5u << 8) | lvt::ICR_ASSERT, 0);
  CHECK(!c[0].cpu.wait_for_sipi);
  CHECK(c[0].cpu.s.rip == 0xfff0);
  CHECK(!c[0].cpu.s.halted);
}

// ---- x2APIC ----------------------------------------------------------------------------

TEST_CASE("lapic: IA32_APIC_BASE transitions (SDM 11.12.5, Figure 11-27)", "[lapic][x2apic]") {
  const uint64_t B = 0xfee00000, EN = base::EN, X = base::EXTD;
  struct Case { uint64_t from; uint64_t to; bool legal; };
  const Case cases[] = {
      {B | EN, B | EN | X, true},       // xAPIC -> x2APIC
      {B | EN | X, B | EN, false},      // x2APIC -> xAPIC
      {B | EN | X, B, true},            // x2APIC -> disabled
      {B, B | EN | X, false},           // disabled -> x2APIC
      {B, B | EN, true},                // disabled -> xAPIC
      {B | EN, B, true},                // xAPIC -> disabled
      {B | EN, B | X, false},           // invalid state
      {B | EN, B | EN | 1, false},      // reserved bit 0
      {B | EN, B | EN | (1u << 9), false},
      {B | EN, (1ull << 40) | EN, false},  // beyond MAXPHYADDR (40)
      {B | EN, 0xfed00000 | EN, true},  // relocation
  };
  for (const Case& c : cases) {
    Node n(nullptr, config(2));
    if (c.from != (B | EN)) REQUIRE(n.apic->write_apic_base(c.from));
    INFO("from " << std::hex << c.from << " to " << c.to);
    CHECK(n.apic->write_apic_base(c.to) == c.legal);
    CHECK(n.apic->apic_base() == (c.legal ? c.to : c.from));
    CHECK(n.cpu.s.apic_base == n.apic->apic_base());
  }
  LocalApic::Config nx = config(0);
  nx.x2apic = false;
  Node n(nullptr, nx);
  CHECK(!n.apic->write_apic_base(B | EN | X));  // EXTD reserved without x2APIC
}

TEST_CASE("lapic: x2APIC MSR interface (SDM 11.12.1)", "[lapic][x2apic]") {
  ApicBus bus;
  Node a(&bus, config(0x23));
  Node b(&bus, config(0x21));
  uint64_t v = 0;
  // In xAPIC mode the x2APIC MSRs raise #GP.
  CHECK(!a.apic->read_msr(0, 0x802, v));
  a.wr(mmio::TPR, 0x10);
  REQUIRE(a.apic->write_apic_base(0xfee00000 | base::EN | base::EXTD));
  REQUIRE(b.apic->write_apic_base(0xfee00000 | base::EN | base::EXTD));
  CHECK(a.apic->mmio_read(0, mmio::ID, 4) == 0xffffffff);  // MMIO is gone
  CHECK(a.apic->read_msr(0, 0x808, v));
  CHECK(v == 0x10);  // TPR survives the switch
  CHECK(a.apic->read_msr(0, 0x802, v));
  CHECK(v == 0x23);  // 32-bit x2APIC ID
  CHECK(a.apic->read_msr(0, 0x80d, v));
  CHECK(v == ((0x2u << 16) | (1u << 3)));  // cluster ID[19:4], bit ID[3:0]
  CHECK(!a.apic->write_msr(0, 0x80d, 0));  // LDR read-only
  CHECK(!a.apic->write_msr(0, 0x802, 0));  // ID read-only
  CHECK(!a.apic->write_msr(0, 0x803, 0));  // version read-only
  CHECK(!a.apic->read_msr(0, 0x80e, v));   // no DFR
  CHECK(!a.apic->read_msr(0, 0x809, v));   // no APR
  CHECK(!a.apic->read_msr(0, 0x831, v));   // no ICR high
  CHECK(!a.apic->read_msr(0, 0x80b, v));   // EOI is write-only
  CHECK(!a.apic->read_msr(0, 0x83f, v));   // SELF IPI is write-only
  CHECK(!a.apic->write_msr(0, 0x80b, 1));  // only 0 may be written to EOI
  CHECK(a.apic->write_msr(0, 0x80b, 0));
  CHECK(!a.apic->write_msr(0, 0x828, 1));  // ESR: only 0
  CHECK(a.apic->write_msr(0, 0x828, 0));
  CHECK(!a.apic->write_msr(0, 0x808, 0x100));           // TPR reserved bits
  CHECK(!a.apic->write_msr(0, 0x808, 1ull << 32));      // upper half reserved
  CHECK(!a.apic->write_msr(0, 0x80f, 0x1000 | 0x1ff));  // SVR bit 12 (no EOI suppression)
  CHECK(a.apic->write_msr(0, 0x80f, 0x1ff));
  CHECK(!a.apic->write_msr(0, 0x835, 1u << 20));        // LVT LINT0 reserved bit
  CHECK(!a.apic->write_msr(0, 0x83e, 0x4));             // divide bit 2 reserved
  CHECK(!a.apic->write_msr(0, 0x8ff, 0));               // no register there
  CHECK(b.apic->write_msr(0, 0x80f, 0x1ff));
  // ICR: one 64-bit MSR with a 32-bit destination.
  CHECK(!a.apic->write_msr(0, 0x830, (uint64_t(0x21) << 32) | (1u << 12) | 0x55));  // reserved bit 12
  CHECK(a.apic->write_msr(0, 0x830, (uint64_t(0x21) << 32) | 0x55));
  CHECK(b.apic->irr(0x55));
  CHECK(a.apic->read_msr(0, 0x830, v));
  CHECK(v == ((uint64_t(0x21) << 32) | 0x55));
  // Logical x2APIC: cluster 2, member bits 1 and 3.
  CHECK(a.apic->write_msr(0, 0x830, (uint64_t(0x2000a) << 32) | lvt::DEST_LOGICAL | 0x56));
  CHECK(a.apic->irr(0x56));
  CHECK(b.apic->irr(0x56));
  // Broadcast 0xffffffff.
  CHECK(a.apic->write_msr(0, 0x830, (uint64_t(0xffffffff) << 32) | 0x57));
  CHECK(a.apic->irr(0x57));
  CHECK(b.apic->irr(0x57));
  // SELF IPI
  CHECK(!a.apic->write_msr(0, 0x83f, 0x158));
  CHECK(a.apic->write_msr(0, 0x83f, 0x58));
  CHECK(a.apic->irr(0x58));
  CHECK(!b.apic->irr(0x58));
  // IRR through MSRs: vectors 0x55-0x58 are in IRR word 2 (bits 21-24).
  CHECK(a.apic->read_msr(0, 0x822, v));
  CHECK(v == ((1u << 22) | (1u << 23) | (1u << 24)));
  // x2APIC -> disabled -> xAPIC: everything reset.
  CHECK(a.apic->write_apic_base(0xfee00000));
  CHECK(a.apic->write_apic_base(0xfee00000 | base::EN));
  CHECK(a.rd(mmio::ID) == 0x23u << 24);
  CHECK(a.rd(mmio::TPR) == 0);
  CHECK(a.rd(mmio::IRR + 0x20) == 0);
  CHECK(a.rd(mmio::SVR) == 0xff);
}

// ---- LINT pins ---------------------------------------------------------------------------

TEST_CASE("lapic: LINT0 ExtINT virtual wire and LINT1 NMI", "[lapic]") {
  Node n(nullptr, config(0, true));
  FakePic pic;
  pic.vector = 0x0b;
  n.apic->set_extint_source(&pic);
  // Power-up: LINT0 masked, the PIC's INTR goes nowhere.
  n.apic->set_lint(0, true);
  CHECK(!n.cpu.intr_line);
  n.apic->set_bios_virtual_wire();
  CHECK(n.rd(mmio::LVT_LINT0) == 0x700);
  CHECK(n.rd(mmio::LVT_LINT1) == 0x400);
  CHECK(n.cpu.intr_line);
  // APIC interrupts above the PPR are looked at first.
  n.apic->receive(fixed(0x80));
  CHECK(n.apic->intr_acknowledge() == 0x80);
  CHECK(pic.acks == 0);
  CHECK(n.apic->intr_acknowledge() == 0x0b);
  CHECK(pic.acks == 1);
  CHECK(!n.apic->isr(0x0b));
  n.apic->set_lint(0, false);
  CHECK(!n.cpu.intr_line);
  n.apic->set_lint(1, true);
  CHECK(n.cpu.nmi_pending);
  // Hardware-disabled: LINT0 is INTR, LINT1 is NMI, straight through.
  n.cpu.nmi_pending = false;
  n.apic->set_lint(1, false);
  REQUIRE(n.apic->write_apic_base(0xfee00000));
  n.apic->set_lint(0, true);
  CHECK(n.cpu.intr_line);
  CHECK(n.apic->intr_acknowledge() == 0x0b);
  n.apic->set_lint(1, true);
  CHECK(n.cpu.nmi_pending);
}

TEST_CASE("lapic: level-triggered fixed LINT input with remote IRR", "[lapic]") {
  Node n(nullptr, config(0));
  n.enable();
  n.wr(mmio::LVT_LINT0, lvt::LEVEL | 0x90);
  n.apic->set_lint(0, true);
  CHECK(n.apic->irr(0x90));
  CHECK(n.rd(mmio::LVT_LINT0) & lvt::REMOTE_IRR);
  CHECK(n.apic->intr_acknowledge() == 0x90);
  n.wr(mmio::EOI, 0);  // still high: asks again
  CHECK(n.apic->irr(0x90));
  CHECK(n.apic->intr_acknowledge() == 0x90);
  n.apic->set_lint(0, false);
  n.wr(mmio::EOI, 0);
  CHECK(!n.apic->irr(0x90));
  CHECK(!(n.rd(mmio::LVT_LINT0) & lvt::REMOTE_IRR));
}

TEST_CASE("lapic: an interrupt taken by the CPU through the run loop", "[lapic]") {
  // Real mode: IVT entry 0x40 -> 0000:2000. The timer's interrupt is
  // delivered by the CPU's event logic (emu/events.cpp) through the
  // LAPIC's acknowledge cycle.
  Node n(nullptr, config(0, true));
  const uint32_t ivt = 0x2000;
  std::memcpy(n.mem.ram() + 4 * 0x40, &ivt, 4);
  n.cpu.init_signal();  // BSP: runs from the reset vector; point it at 0x1000
  n.cpu.s.seg[CS].sel = 0;
  n.cpu.s.seg[CS].base = 0;
  n.cpu.s.rip = 0x1000;
  n.cpu.update_mode();
  n.enable();
  n.wr(mmio::LVT_TIMER, 0x40);
  n.wr(mmio::TIMER_DIVIDE, 0xb);
  n.wr(mmio::TIMER_INITIAL, 10, 0);
  n.apic->tick(10);
  CHECK(n.cpu.intr_line);
  CHECK(n.cpu.event_deliverable() == false);  // IF = 0 until STI runs
  n.cpu.s.rflags |= fl::IF;
  REQUIRE(n.cpu.take_pending_event());
  CHECK(n.apic->isr(0x40));
  CHECK(n.cpu.s.rip == 0x2000);
  CHECK(!n.cpu.intr_line);
}

// ---- end to end: guest code programs the APIC through its MMIO page -----------------

TEST_CASE("lapic: a prot32 guest takes periodic timer interrupts at their deadlines", "[lapic][guest]") {
  // Guest time = retired instructions + time skipped while halted (1 ns
  // per instruction). The handler samples the current count first thing:
  // taken at the exact expiry, the reloaded count is the full period.
  const std::string src = R"(
bits 32
org 0x10000
  lidt [idtr]
  mov dword [0xfee000f0], 0x1ff     ; SVR: enabled, spurious 0xff
  mov dword [0xfee003e0], 0xb       ; divide by 1
  mov dword [0xfee00320], 0x20040   ; periodic, vector 0x40
  mov dword [0xfee00380], 1000      ; initial count
  sti
idle:
  hlt
  cmp dword [count], 5
  jb idle
  cli
  mov dword [0xfee00380], 0         ; stop the timer
  mov eax, [0xfee00100 + 0x40]      ; ISR bits 64-95: nothing in service
  hlt
handler:
  mov eax, [0xfee00390]             ; current count
  mov ebx, [count]
  mov [samples + ebx*4], eax
  inc dword [count]
  mov dword [0xfee000b0], 0         ; EOI
  iret
align 8
idt:
  times 0x40 dq 0
  dw (handler - $$ + 0x10000) & 0xffff
  dw 0x18
  db 0, 0x8e
  dw (handler - $$ + 0x10000) >> 16
idt_end:
idtr:
  dw idt_end - idt - 1
  dd idt - $$ + 0x10000
count: dd 0
samples: times 8 dd 0
)";
  const std::vector<uint8_t> image = test::assemble_nasm(src);
  Memory mem(16 << 20);
  Cpu cpu(mem, default_cpu_model());
  BlockCache blocks(default_cpu_model());
  cpu.s = setup_flat(mem, image, 0x10000, FlatMode::Prot32);
  cpu.blocks = &blocks;
  cpu.update_mode();
  LocalApic apic(&cpu, nullptr, config(0, true));
  uint64_t idle_ns = 0;
  auto now = [&] { return cpu.s.insn_count + idle_ns; };
  mem.map_mmio(0xfee00000, 0x1000, MmioHandler{
      [&](uint64_t off, unsigned size) { return apic.mmio_read(now(), off, size); },
      [&](uint64_t off, unsigned size, uint64_t v) { apic.mmio_write(now(), off, size, v); }});
  // The machine's loop in miniature: run to the next deadline, tick.
  StopReason r = StopReason::None;
  for (int step = 0; step < 100; ++step) {
    const uint64_t deadline = apic.next_deadline_ns();
    if (deadline <= now()) {
      apic.tick(now());
      continue;
    }
    const uint64_t limit = deadline == UINT64_MAX ? cpu.s.insn_count + 100000 : cpu.s.insn_count + (deadline - now());
    r = cpu.run(limit);
    if (r == StopReason::Hlt && !cpu.intr_line) {
      const uint64_t next = apic.next_deadline_ns();
      if (next == UINT64_MAX) break;         // halted for good
      if (next > now()) idle_ns += next - now();  // time passes while halted
    }
  }
  REQUIRE(r == StopReason::Hlt);
  uint32_t count, sample[5];
  std::memcpy(&count, mem.ram() + 0x10000 + image.size() - 36, 4);
  std::memcpy(sample, mem.ram() + 0x10000 + image.size() - 32, sizeof sample);
  CHECK(count == 5);
  for (uint32_t s : sample) CHECK(s == 1000);
  CHECK(cpu.s.gpr[RAX] == 0);
  CHECK(apic.next_deadline_ns() == UINT64_MAX);
  CHECK(!apic.irr(0x40));
}

TEST_CASE("lapic: a BSP guest starts an AP with INIT and SIPI", "[lapic][guest]") {
  // The BSP (prot32) sends INIT assert, INIT de-assert and a SIPI with
  // vector 8, the way Linux does; the AP wakes in real mode at 0800:0000
  // and stores a marker. Two CPUs, one memory, the MMIO page routed to the
  // APIC of the CPU that is running.
  const std::vector<uint8_t> bsp_code = test::assemble_nasm(R"(
bits 32
org 0x10000
  mov dword [0xfee00310], 1 << 24   ; destination APIC ID 1
  mov dword [0xfee00300], 0xc500    ; INIT, level, assert
  mov dword [0xfee00300], 0x8500    ; INIT, level, de-assert
  mov dword [0xfee00300], 0x0608    ; SIPI, vector 8
  hlt
)");
  const std::vector<uint8_t> ap_code = test::assemble_nasm(R"(
bits 16
  mov ax, cs
  mov [0x100], ax
  mov word [0x102], 0x1234
  hlt
)");
  Memory mem(16 << 20);
  const CpuModel& model = default_cpu_model();
  Cpu bsp(mem, model), ap(mem, model);
  BlockCache bsp_blocks(model), ap_blocks(model);
  bsp.s = setup_flat(mem, bsp_code, 0x10000, FlatMode::Prot32);
  bsp.blocks = &bsp_blocks;
  ap.blocks = &ap_blocks;
  bsp.update_mode();
  std::memcpy(mem.ram() + 0x8000, ap_code.data(), ap_code.size());
  ApicBus bus;
  LocalApic bsp_apic(&bsp, &bus, config(0, true)), ap_apic(&ap, &bus, config(1));
  ap.init_signal();  // at power-up an AP waits for SIPI
  REQUIRE(ap.wait_for_sipi);
  LocalApic* current = &bsp_apic;
  mem.map_mmio(0xfee00000, 0x1000, MmioHandler{
      [&](uint64_t off, unsigned size) { return current->mmio_read(0, off, size); },
      [&](uint64_t off, unsigned size, uint64_t v) { current->mmio_write(0, off, size, v); }});
  for (int round = 0; round < 20; ++round) {
    bool ran = false;
    for (auto [cpu, apic] : {std::pair{&bsp, &bsp_apic}, std::pair{&ap, &ap_apic}}) {
      if (cpu->wait_for_sipi || cpu->s.halted) continue;
      current = apic;
      cpu->run(cpu->s.insn_count + 2);  // small quanta interleave the two
      ran = true;
    }
    if (!ran) break;
  }
  CHECK(bsp.s.halted);
  CHECK(ap.s.halted);
  CHECK(!ap.wait_for_sipi);
  uint16_t cs, marker;
  std::memcpy(&cs, mem.ram() + 0x100, 2);
  std::memcpy(&marker, mem.ram() + 0x102, 2);
  CHECK(cs == 0x0800);
  CHECK(marker == 0x1234);
}
