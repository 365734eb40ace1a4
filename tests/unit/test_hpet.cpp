// The HPET (emu/devices/hpet.*) against the IA-PC HPET Specification 1.0a:
// capabilities, the main counter from guest time, one-shot / periodic /
// 32-bit comparators, edge and level interrupts, legacy replacement
// routing; and its ACPI table.
#include <catch.hpp>

#include <cstring>
#include <vector>

#include "emu/devices/hpet.h"
#include "emu/machine/acpi_tables.h"

using namespace softvt;

namespace {

struct Event {
  bool legacy;
  unsigned line;
  bool level;
  bool operator==(const Event& o) const { return legacy == o.legacy && line == o.line && level == o.level; }
};

struct Rig {
  std::vector<Event> events;
  Hpet hpet{{[this](unsigned irq, bool l) { events.push_back({true, irq, l}); },
             [this](unsigned pin, bool l) { events.push_back({false, pin, l}); }}};
  uint64_t rd(uint64_t off, uint64_t now = 0, unsigned size = 8) { return hpet.mmio_read(now, off, size); }
  void wr(uint64_t off, uint64_t v, uint64_t now = 0, unsigned size = 8) { hpet.mmio_write(now, off, size, v); }
  static uint64_t conf(unsigned n) { return Hpet::TIMER_BASE + n * Hpet::TIMER_STRIDE + Hpet::TN_CONF; }
  static uint64_t cmp(unsigned n) { return Hpet::TIMER_BASE + n * Hpet::TIMER_STRIDE + Hpet::TN_CMP; }
};

}  // namespace

TEST_CASE("hpet: capabilities and the main counter (spec 2.3.4, 2.3.7)", "[hpet]") {
  Rig r;
  const uint64_t cap = r.rd(Hpet::GCAP_ID);
  CHECK((cap >> 32) == 10000000);        // 10 ns in femtoseconds
  CHECK(((cap >> 16) & 0xffff) == 0x8086);
  CHECK((cap & (1u << 15)) != 0);        // legacy replacement capable
  CHECK((cap & (1u << 13)) != 0);        // 64-bit counter
  CHECK(((cap >> 8) & 0x1f) == 2);       // three timers
  CHECK((cap & 0xff) == 1);
  CHECK(r.rd(Hpet::GCAP_ID + 4, 0, 4) == 10000000);
  CHECK(r.rd(Hpet::GCAP_ID, 0, 4) == Hpet::capabilities_low());
  // Halted at reset.
  CHECK(r.rd(Hpet::MAIN_COUNTER, 5000) == 0);
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 1000);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 1000) == 0);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 1009) == 0);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 1010) == 1);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 1000 + 10 * 12345) == 12345);
  r.wr(Hpet::GEN_CONF, 0, 2000);  // halt: 100 ticks so far
  CHECK(r.rd(Hpet::MAIN_COUNTER, 9000) == 100);
  r.wr(Hpet::MAIN_COUNTER, 0x123456789ull, 9000);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 9999) == 0x123456789ull);
  r.wr(Hpet::MAIN_COUNTER + 4, 0, 9999, 4);  // high half only
  CHECK(r.rd(Hpet::MAIN_COUNTER, 9999) == 0x23456789ull);
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 10000);
  CHECK(r.rd(Hpet::MAIN_COUNTER, 10020) == 0x23456789ull + 2);
  // Timer capabilities: periodic and 64-bit capable, routes 20-23.
  const uint64_t c0 = r.rd(Rig::conf(0));
  CHECK((c0 & Hpet::TN_PER_INT_CAP) != 0);
  CHECK((c0 & Hpet::TN_SIZE_CAP) != 0);
  CHECK((c0 >> 32) == 0x00f00000);
}

TEST_CASE("hpet: one-shot comparator, edge interrupt on the I/O APIC route", "[hpet]") {
  Rig r;
  r.wr(Rig::conf(2), Hpet::TN_INT_ENB | (21u << 9));
  CHECK(((r.rd(Rig::conf(2)) >> 9) & 0x1f) == 21);
  r.wr(Rig::conf(2), Hpet::TN_INT_ENB | (5u << 9));  // pin 5 is not in the capability: kept
  CHECK(((r.rd(Rig::conf(2)) >> 9) & 0x1f) == 21);
  r.wr(Rig::cmp(2), 500);
  CHECK(r.hpet.next_deadline_ns() == UINT64_MAX);  // halted
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 100);
  CHECK(r.hpet.next_deadline_ns() == 100 + 500 * 10);
  r.hpet.tick(5099);
  CHECK(r.events.empty());
  r.hpet.tick(5100);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0] == Event{false, 21, true});
  CHECK(r.events[1] == Event{false, 21, false});
  CHECK(r.rd(Hpet::GINTR_STA, 5100) == 0);  // edge mode: no status
  CHECK(r.hpet.next_deadline_ns() == UINT64_MAX);  // 64-bit one-shot: once
  CHECK(r.rd(Rig::cmp(2), 6000) == 500);
  // A comparator behind the counter never matches.
  r.wr(Rig::cmp(2), 10, 6000);
  CHECK(r.hpet.next_deadline_ns() == UINT64_MAX);
  // Interrupt disabled: the comparator still matches, nothing is sent.
  r.events.clear();
  r.wr(Rig::conf(2), 21u << 9, 6000);
  r.wr(Rig::cmp(2), 700, 6000);
  r.hpet.tick(100 + 700 * 10);
  CHECK(r.events.empty());
}

TEST_CASE("hpet: periodic mode as Linux programs it (spec 2.3.9.2.2)", "[hpet]") {
  Rig r;
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF | Hpet::LEG_RT_CNF, 0);
  CHECK(r.hpet.legacy_replacement());
  // Linux (arch/x86/kernel/hpet.c): cfg |= ENABLE | PERIODIC | SETVAL |
  // 32BIT; cmp = now + delta; cmp = delta; all with 32-bit accesses.
  r.wr(Rig::conf(0), Hpet::TN_INT_ENB | Hpet::TN_TYPE_PERIODIC | Hpet::TN_VAL_SET | Hpet::TN_32MODE, 1000, 4);
  CHECK((r.rd(Rig::conf(0), 1000) & Hpet::TN_VAL_SET) == 0);  // reads 0
  r.wr(Rig::cmp(0), 100 + 1000, 1000, 4);  // counter is 100 at 1000 ns
  r.wr(Rig::cmp(0), 1000, 1010, 4);        // the period
  CHECK(r.rd(Rig::cmp(0), 1010) == 1100);
  CHECK(r.hpet.next_deadline_ns() == 11000);
  r.hpet.tick(11000);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0] == Event{true, 0, true});  // legacy: timer 0 -> IRQ 0
  CHECK(r.rd(Rig::cmp(0), 11000) == 2100);
  CHECK(r.hpet.next_deadline_ns() == 21000);
  // Late by 2.5 periods: one interrupt, comparator at the next period.
  r.hpet.tick(46000);
  CHECK(r.events.size() == 4);
  CHECK(r.rd(Rig::cmp(0), 46000) == 5100);
  CHECK(r.hpet.next_deadline_ns() == 51000);
  // Timer 1 in legacy mode drives IRQ 8.
  r.events.clear();
  r.wr(Rig::conf(1), Hpet::TN_INT_ENB, 46000);
  r.wr(Rig::cmp(1), 4700, 46000);  // a 64-bit comparator written whole

  r.hpet.tick(47000);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0] == Event{true, 8, true});
}

TEST_CASE("hpet: a 32-bit write to a 64-bit comparator keeps its upper half", "[hpet]") {
  Rig r;
  CHECK(r.rd(Rig::cmp(0)) == ~uint64_t(0));  // reset value
  r.wr(Rig::cmp(0), 0x1234, 0, 4);
  CHECK(r.rd(Rig::cmp(0)) == 0xffffffff00001234ull);
  r.wr(Rig::cmp(0) + 4, 0, 0, 4);
  CHECK(r.rd(Rig::cmp(0)) == 0x1234);
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 0);
  CHECK(r.hpet.next_deadline_ns() == 0x1234 * 10);
}

TEST_CASE("hpet: level-triggered status and line (spec 2.3.6)", "[hpet]") {
  Rig r;
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 0);
  r.wr(Rig::conf(1), Hpet::TN_INT_TYPE_LEVEL | Hpet::TN_INT_ENB | (20u << 9));
  r.wr(Rig::cmp(1), 10);
  r.hpet.tick(100);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0] == Event{false, 20, true});
  CHECK(r.rd(Hpet::GINTR_STA, 100) == 2);
  r.wr(Hpet::GINTR_STA, 1, 110);  // another timer's bit: no effect
  CHECK(r.rd(Hpet::GINTR_STA, 110) == 2);
  r.wr(Hpet::GINTR_STA, 2, 120);  // write 1 to clear: the line drops
  CHECK(r.rd(Hpet::GINTR_STA, 120) == 0);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[1] == Event{false, 20, false});
  // With the interrupt disabled the status is still set; enabling it
  // then asserts the line.
  r.wr(Rig::conf(1), Hpet::TN_INT_TYPE_LEVEL | (20u << 9), 130);
  r.wr(Rig::cmp(1), 20, 130);
  r.hpet.tick(200);
  CHECK(r.rd(Hpet::GINTR_STA, 200) == 2);
  CHECK(r.events.size() == 2);
  r.wr(Rig::conf(1), Hpet::TN_INT_TYPE_LEVEL | Hpet::TN_INT_ENB | (20u << 9), 210);
  REQUIRE(r.events.size() == 3);
  CHECK(r.events[2] == Event{false, 20, true});
}

TEST_CASE("hpet: 32-bit comparator mode (spec 2.3.8 Tn_32MODE_CNF)", "[hpet]") {
  Rig r;
  r.wr(Hpet::MAIN_COUNTER, 0x1fffffff0ull, 0);
  r.wr(Rig::conf(0), Hpet::TN_INT_ENB | Hpet::TN_32MODE | (22u << 9));
  r.wr(Rig::cmp(0), 0xabcd00000005ull);  // upper half ignored
  CHECK(r.rd(Rig::cmp(0)) == 5);
  r.wr(Hpet::GEN_CONF, Hpet::ENABLE_CNF, 0);
  // Low 32 bits 0xfffffff0 -> 5 after the wrap: 0x15 ticks.
  CHECK(r.hpet.next_deadline_ns() == 0x15 * 10);
  r.hpet.tick(0x15 * 10);
  CHECK(r.events.size() == 2);
  // A one-shot 32-bit comparator matches again 2^32 ticks later.
  CHECK(r.hpet.next_deadline_ns() == (0x15 + (uint64_t(1) << 32)) * 10);
}

TEST_CASE("hpet: ACPI HPET table (spec 3.2.4)", "[hpet][acpi]") {
  AcpiConfig cfg;
  cfg.hpet = true;
  cfg.hpet_block_id = Hpet::capabilities_low();
  const AcpiTables t = build_acpi_tables(cfg, 0xe0000);
  REQUIRE(t.hpet != 0);
  const uint8_t* h = t.bytes.data() + (t.hpet - t.base);
  CHECK(std::memcmp(h, "HPET", 4) == 0);
  uint32_t len, id;
  uint64_t addr;
  std::memcpy(&len, h + 4, 4);
  std::memcpy(&id, h + 36, 4);
  std::memcpy(&addr, h + 44, 8);
  CHECK(len == 56);
  CHECK(acpi_checksum(h, len) == 0);
  CHECK(id == Hpet::capabilities_low());
  CHECK(h[40] == 0);  // system memory
  CHECK(addr == 0xfed00000);
  // The XSDT lists it third.
  const uint8_t* x = t.bytes.data() + (t.xsdt - t.base);
  uint64_t third;
  std::memcpy(&len, x + 4, 4);
  std::memcpy(&third, x + 36 + 16, 8);
  CHECK(len == 36 + 3 * 8);
  CHECK(third == t.hpet);
  CHECK(acpi_checksum(x, len) == 0);
  // Without it, no table.
  AcpiConfig plain;
  CHECK(build_acpi_tables(plain, 0xe0000).hpet == 0);
}
