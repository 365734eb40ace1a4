// Device-level tests of the PC machine against the data sheets (Intel
// 8259A, 8254, NS PC16550D, MC146818A) and QEMU's conventions (fw_cfg,
// pc-testdev), driving each device through its registers with a clock the
// test advances.
#include <catch.hpp>

#include <cstring>
#include <vector>

#include "emu/devices/cmos_rtc.h"
#include "emu/devices/fw_cfg.h"
#include "emu/devices/pc_testdev.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/uart16550.h"
#include "emu/loader/bios_state.h"
#include "emu/machine/clock.h"
#include "emu/machine/io_bus.h"
#include "emu/machine/pc.h"
#include "emu/machine/irq.h"

using namespace softvt;

namespace {

// A PIC pair initialised like a PC BIOS: master base 0x08, slave 0x70.
struct Pics {
  bool intr = false;
  Pic8259Pair pic{[this](bool level) { intr = level; }};
  explicit Pics(uint8_t icw4 = 0x01, uint8_t master_base = 0x20, uint8_t slave_base = 0x28) {
    pic.write_port(0x20, 0x11);
    pic.write_port(0x21, master_base);
    pic.write_port(0x21, 0x04);
    pic.write_port(0x21, icw4);
    pic.write_port(0xa0, 0x11);
    pic.write_port(0xa1, slave_base);
    pic.write_port(0xa1, 0x02);
    pic.write_port(0xa1, icw4);
  }
  void eoi(uint16_t port = 0x20) { pic.write_port(port, 0x20); }
};

}  // namespace

// ---- 8259A ---------------------------------------------------------------------

TEST_CASE("PIC: fixed priority, ISR nesting and non-specific EOI", "[pic]") {
  Pics p;
  p.pic.set_irq(3, true);
  p.pic.set_irq(1, true);
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x21);  // IR1 before IR3
  CHECK(p.pic.master().isr() == 0x02);
  CHECK(p.pic.master().irr() == 0x08);      // edge request consumed, IR3 still requested
  CHECK_FALSE(p.intr);                      // IR3 is below IR1 in service
  p.pic.set_irq(0, true);                   // a higher level preempts
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x20);
  CHECK(p.pic.master().isr() == 0x03);
  p.eoi();                                  // clears the highest in service: IR0
  CHECK(p.pic.master().isr() == 0x02);
  CHECK_FALSE(p.intr);
  p.eoi();
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x23);
}

TEST_CASE("PIC: masking, specific EOI, reading IRR/ISR via OCW3", "[pic]") {
  Pics p;
  p.pic.write_port(0x21, 0x10);  // mask IR4
  p.pic.set_irq(4, true);
  CHECK_FALSE(p.intr);
  CHECK(p.pic.read_port(0x20) == 0x10);  // IRR holds the masked request
  CHECK(p.pic.read_port(0x21) == 0x10);  // IMR
  p.pic.write_port(0x21, 0x00);
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x24);
  p.pic.write_port(0x20, 0x0b);          // OCW3: read ISR
  CHECK(p.pic.read_port(0x20) == 0x10);
  p.pic.write_port(0x20, 0x63);          // specific EOI for IR3: IR4 stays in service
  CHECK(p.pic.read_port(0x20) == 0x10);
  p.pic.write_port(0x20, 0x64);          // specific EOI for IR4
  CHECK(p.pic.read_port(0x20) == 0x00);
  p.pic.write_port(0x20, 0x0a);          // back to IRR
  CHECK(p.pic.read_port(0x20) == 0x00);
}

TEST_CASE("PIC: spurious IRQ7 and IRQ15", "[pic]") {
  Pics p;
  // Nothing requested: the master answers its IR7 vector without setting ISR.
  CHECK(p.pic.intr_acknowledge() == 0x27);
  CHECK(p.pic.master().isr() == 0);
  // A level-triggered slave request that goes away before the acknowledge:
  // the master acknowledges the cascade, the slave answers IR7 (IRQ15).
  p.pic.write_port(0x4d1, 0x04);  // IRQ10 level-triggered
  p.pic.set_irq(10, true);
  CHECK(p.intr);
  p.pic.master().set_cascade_input(2, true);  // the master latched the slave's INT...
  p.pic.slave().set_input(2, false);           // ...then the line dropped
  CHECK(p.pic.intr_acknowledge() == 0x2f);
  CHECK(p.pic.slave().isr() == 0);
  CHECK(p.pic.master().isr() == 0x04);  // the master's cascade level is in service
}

TEST_CASE("PIC: cascade, slave priority and EOI to both", "[pic]") {
  Pics p;
  p.pic.set_irq(12, true);
  p.pic.set_irq(9, true);
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x29);  // IR1 of the slave first
  CHECK(p.pic.master().isr() == 0x04);
  CHECK(p.pic.slave().isr() == 0x02);
  CHECK_FALSE(p.intr);  // the master's IR2 is in service (no special fully nested mode)
  p.eoi(0xa0);
  p.eoi(0x20);
  CHECK(p.intr);
  CHECK(p.pic.intr_acknowledge() == 0x2c);
}

TEST_CASE("PIC: level-triggered lines (ELCR) stay requested while high", "[pic]") {
  Pics p;
  p.pic.write_port(0x4d0, 0xff);
  CHECK(p.pic.read_port(0x4d0) == 0xf8);  // IRQ0-2 cannot be level-triggered
  p.pic.write_port(0x4d1, 0xff);
  CHECK(p.pic.read_port(0x4d1) == 0xde);  // nor IRQ8 and IRQ13
  p.pic.set_irq(5, true);
  CHECK(p.pic.intr_acknowledge() == 0x25);
  p.eoi();
  CHECK(p.intr);                           // still high: requested again
  p.pic.set_irq(5, false);
  CHECK_FALSE(p.intr);
  // An edge-triggered line (IRQ1 always is): one request per rising edge.
  p.pic.set_irq(1, true);
  CHECK(p.pic.intr_acknowledge() == 0x21);
  p.eoi();
  CHECK_FALSE(p.intr);
}

TEST_CASE("PIC: automatic EOI, rotation, poll mode", "[pic]") {
  SECTION("AEOI leaves ISR clear") {
    Pics p(0x03);
    p.pic.set_irq(6, true);
    CHECK(p.pic.intr_acknowledge() == 0x26);
    CHECK(p.pic.master().isr() == 0);
  }
  SECTION("rotate on non-specific EOI makes the serviced level the lowest") {
    Pics p;
    p.pic.set_irq(2 + 1, true);
    CHECK(p.pic.intr_acknowledge() == 0x23);
    p.pic.write_port(0x20, 0xa0);  // rotate on non-specific EOI: IR3 lowest, IR4 highest
    p.pic.set_irq(1, true);
    p.pic.set_irq(5, true);
    CHECK(p.pic.intr_acknowledge() == 0x25);
  }
  SECTION("set priority") {
    Pics p;
    p.pic.write_port(0x20, 0xc5);  // IR5 lowest: IR6 highest
    p.pic.set_irq(0, true);
    p.pic.set_irq(7, true);
    CHECK(p.pic.intr_acknowledge() == 0x27);
  }
  SECTION("poll command acknowledges and reports the level") {
    Pics p;
    p.pic.write_port(0x21, 0xff);  // polled systems mask INT
    p.pic.set_irq(6, true);
    p.pic.write_port(0x20, 0x0c);  // OCW3 poll
    CHECK(p.pic.read_port(0x20) == 0x00);  // masked: nothing to report
    p.pic.write_port(0x21, 0x00);
    p.pic.write_port(0x20, 0x0c);
    CHECK(p.pic.read_port(0x20) == 0x86);
    CHECK(p.pic.master().isr() == 0x40);
  }
  SECTION("ICW1 clears IMR and the edge latch") {
    Pics p;
    p.pic.write_port(0x21, 0x55);
    p.pic.set_irq(4, true);
    // Re-initialise the master through ICW1.
    p.pic.write_port(0x20, 0x11);
    p.pic.write_port(0x21, 0x40);
    p.pic.write_port(0x21, 0x04);
    p.pic.write_port(0x21, 0x01);
    CHECK(p.pic.read_port(0x21) == 0x00);
    CHECK_FALSE(p.intr);  // IR4 is still high but needs a new rising edge
    p.pic.set_irq(4, false);
    p.pic.set_irq(4, true);
    CHECK(p.pic.intr_acknowledge() == 0x44);
  }
}

// ---- 8254 ------------------------------------------------------------------------

namespace {
struct PitRig {
  uint64_t insns = 0;
  Clock clock{&insns};
  std::vector<std::pair<uint64_t, bool>> edges;  // (time, level) of IRQ0 changes
  Pit8254 pit{clock, [this](bool l) {
                if (edges.empty() || edges.back().second != l) edges.push_back({clock.now(), l});
              }};
  // Advance to PIT tick `t` (guest ns = the first ns of that tick), firing timers.
  void to_tick(uint64_t t) {
    while (true) {
      const uint64_t target = ticks_to_ns(t, Pit8254::HZ);
      const uint64_t d = clock.next_deadline();
      if (d <= target) {
        insns = d;
        clock.fire_expired();
      } else {
        insns = target;
        clock.fire_expired();
        return;
      }
    }
  }
  uint16_t latched(unsigned ch) {
    pit.write(3, uint8_t(ch << 6));
    uint16_t v = pit.read(ch);
    return uint16_t(v | pit.read(ch) << 8);
  }
  void load(unsigned ch, uint8_t control, uint16_t count) {
    pit.write(3, control);
    pit.write(ch, uint8_t(count));
    pit.write(ch, uint8_t(count >> 8));
  }
};
}  // namespace

TEST_CASE("PIT mode 2: count, period and IRQ0 edges", "[pit]") {
  PitRig r;
  r.to_tick(100);
  r.load(0, 0x34, 1000);  // counter 0, LSB/MSB, mode 2
  CHECK(r.latched(0) == 1000);
  r.to_tick(100 + 250);
  CHECK(r.latched(0) == 750);
  r.to_tick(100 + 999);
  CHECK(r.latched(0) == 1);
  CHECK_FALSE(r.pit.out(0));  // low while the count is 1
  r.to_tick(100 + 1000);
  CHECK(r.latched(0) == 1000);  // reloaded
  CHECK(r.pit.out(0));
  r.to_tick(100 + 3000);
  // IRQ0: high at the load, then a rising edge (a pulse) at each reload.
  std::vector<uint64_t> rises;
  for (auto& [t, level] : r.edges)
    if (level) rises.push_back(ns_to_ticks(t, Pit8254::HZ));
  REQUIRE(rises.size() == 4);
  CHECK(rises[1] == 1100);
  CHECK(rises[2] == 2100);
  CHECK(rises[3] == 3100);
}

TEST_CASE("PIT mode 3: square wave halves and counting by two", "[pit]") {
  PitRig r;
  r.load(0, 0x36, 100);
  r.to_tick(10);
  CHECK(r.latched(0) == 80);  // decrements by two
  CHECK(r.pit.out(0));
  r.to_tick(50);
  CHECK_FALSE(r.pit.out(0));  // second half
  r.to_tick(100);
  CHECK(r.pit.out(0));
  r.to_tick(1000);
  unsigned rises = 0;
  for (auto& [t, level] : r.edges) rises += level;
  CHECK(rises == 11);  // high at the mode set, then a rising edge every 100 ticks
}

TEST_CASE("PIT mode 0: OUT rises at terminal count; the count wraps", "[pit]") {
  PitRig r;
  r.load(0, 0x30, 500);
  CHECK_FALSE(r.pit.out(0));
  r.to_tick(499);
  CHECK_FALSE(r.pit.out(0));
  r.to_tick(500);
  CHECK(r.pit.out(0));
  r.to_tick(501);
  CHECK(r.latched(0) == 0xffff);
}

TEST_CASE("PIT: read-back status, LSB-only access, BCD", "[pit]") {
  PitRig r;
  r.pit.write(3, 0x94);  // counter 2, LSB only, mode 2
  r.pit.write(3, 0xe8);  // read-back: status of counter 2 (count not latched)
  CHECK(r.pit.read(2) == (0x40 | 0x80 | 0x14));  // null count, OUT high, RW=01 mode 2
  r.pit.write(2, 50);
  r.pit.write_port61(0x01);  // gate 2 high: counting starts
  r.to_tick(20);
  CHECK(r.pit.read(2) == 30);
  r.load(1, 0x71, 0x1000);   // counter 1, LSB/MSB, mode 0, BCD 1000
  r.to_tick(20 + 1);
  CHECK(r.latched(1) == 0x0999);
}

TEST_CASE("PIT counter 2 gate and OUT on port 0x61", "[pit]") {
  PitRig r;
  r.load(2, 0xb0, 100);  // counter 2, mode 0
  r.pit.write_port61(0x00);  // gate low: counting suspended
  r.to_tick(200);
  CHECK((r.pit.read_port61() & 0x20) == 0);
  r.pit.write_port61(0x03);  // gate high, speaker enabled
  CHECK((r.pit.read_port61() & 0x03) == 0x03);
  r.to_tick(200 + 99);
  CHECK((r.pit.read_port61() & 0x20) == 0);
  r.to_tick(200 + 100);
  CHECK((r.pit.read_port61() & 0x20) == 0x20);
}

// ---- 16550A --------------------------------------------------------------------

TEST_CASE("UART: registers, divisor latch, THR-empty interrupt", "[uart]") {
  bool irq = false;
  std::string sent;
  Uart16550 u([&](bool l) { irq = l; }, [&](uint8_t b) { sent += char(b); });
  CHECK(u.read(2) == 0x01);  // IIR: nothing pending
  CHECK(u.read(5) == 0x60);  // LSR: THR and transmitter empty
  u.write(3, 0x80);          // DLAB
  u.write(0, 0x01);
  u.write(1, 0x00);
  CHECK(u.read(0) == 0x01);
  u.write(3, 0x03);          // 8N1
  CHECK(u.read(3) == 0x03);
  u.write(7, 0x5a);
  CHECK(u.read(7) == 0x5a);
  u.write(1, 0x02);          // enabling ETBEI with THR empty interrupts at once
  CHECK(irq);
  CHECK(u.read(2) == 0x02);  // THR empty; reading IIR clears it
  CHECK_FALSE(irq);
  CHECK(u.read(2) == 0x01);
  u.write(0, 'h');
  CHECK(sent == "h");
  CHECK(irq);                // empty again after the transmission
  u.write(1, 0x00);
  CHECK_FALSE(irq);
}

TEST_CASE("UART: loopback, receive interrupt, FIFO trigger level, overrun", "[uart]") {
  bool irq = false;
  std::string sent;
  Uart16550 u([&](bool l) { irq = l; }, [&](uint8_t b) { sent += char(b); });
  u.write(4, 0x10 | 0x0b);   // loopback with DTR, RTS, OUT2
  CHECK((u.read(6) & 0xf0) == 0xb0);  // CTS=RTS, DSR=DTR, DCD=OUT2
  u.write(1, 0x01);          // receive interrupt
  u.write(0, 'x');
  CHECK(sent.empty());       // looped back, not sent
  CHECK(irq);
  CHECK(u.read(2) == 0x04);
  CHECK((u.read(5) & 0x01) == 0x01);
  CHECK(u.read(0) == 'x');
  CHECK_FALSE(irq);
  CHECK((u.read(5) & 0x01) == 0);
  u.write(2, 0x81 | 0x06);   // FIFOs on and cleared, trigger level 8
  CHECK((u.read(2) & 0xc0) == 0xc0);
  for (char c : std::string("abc")) u.write(0, uint8_t(c));
  CHECK(u.read(2) == 0xcc);  // below the trigger level: character timeout
  for (char c : std::string("defgh")) u.write(0, uint8_t(c));
  CHECK(u.read(2) == 0xc4);  // trigger level reached
  for (int i = 0; i < 10; ++i) u.write(0, 'z');  // 18 > 16: overrun
  CHECK((u.read(5) & 0x02) == 0x02);
  CHECK((u.read(5) & 0x02) == 0);  // reading LSR clears OE
  CHECK(u.read(0) == 'a');
}

// ---- CMOS / RTC -------------------------------------------------------------------

TEST_CASE("CMOS: memory size bytes as QEMU fills them", "[cmos]") {
  uint64_t insns = 0;
  Clock clock(&insns);
  CmosRtc rtc(clock, CmosRtc::DETERMINISTIC_EPOCH, nullptr);
  rtc.set_memory_size(64ull << 20, 1);
  CHECK(rtc.byte(0x15) == 0x80);
  CHECK(rtc.byte(0x16) == 0x02);                       // 640 KiB
  CHECK((rtc.byte(0x17) | rtc.byte(0x18) << 8) == 64512);  // 63 MiB in KiB
  CHECK((rtc.byte(0x30) | rtc.byte(0x31) << 8) == 64512);
  CHECK((rtc.byte(0x34) | rtc.byte(0x35) << 8) == 768);    // 48 MiB in 64 KiB
  CHECK(rtc.byte(0x5b) == 0);
  rtc.set_memory_size(3ull << 30, 4);
  CHECK((rtc.byte(0x17) | rtc.byte(0x18) << 8) == 65535);  // capped
  CHECK((rtc.byte(0x34) | rtc.byte(0x35) << 8) == (3072 - 16) * 16);
  CHECK(rtc.byte(0x5f) == 3);
}

TEST_CASE("RTC: time from the guest clock, BCD and binary, periodic interrupt", "[cmos]") {
  uint64_t insns = 0;
  Clock clock(&insns);
  bool irq = false;
  CmosRtc rtc(clock, CmosRtc::DETERMINISTIC_EPOCH, [&](bool l) { irq = l; });
  const auto reg = [&](uint8_t i) {
    rtc.write_index(i);
    return rtc.read_data();
  };
  // 2026-01-01 00:00:00 (a Thursday), BCD.
  CHECK(reg(9) == 0x26);
  CHECK(reg(8) == 0x01);
  CHECK(reg(7) == 0x01);
  CHECK(reg(6) == 5);
  CHECK(reg(0x32) == 0x20);
  insns = 3723ull * 1000000000;  // 1 h 2 min 3 s later
  CHECK(reg(4) == 0x01);
  CHECK(reg(2) == 0x02);
  CHECK(reg(0) == 0x03);
  rtc.write_index(11);
  rtc.write_data(0x06);  // binary, 24 h
  CHECK(reg(0) == 3);
  CHECK(reg(0x0d) == 0x80);  // valid RAM and time
  // UIP during the last 244 us of a second.
  insns = 3724ull * 1000000000 - 100000;
  CHECK((reg(10) & 0x80) == 0x80);
  // Periodic interrupt at 1024 Hz (rate 6).
  rtc.write_index(11);
  rtc.write_data(0x46);
  CHECK_FALSE(irq);
  insns = clock.next_deadline();
  clock.fire_expired();
  CHECK(irq);
  CHECK((reg(12) & 0xc0) == 0xc0);  // IRQF and PF, cleared by the read
  CHECK_FALSE(irq);
  CHECK(reg(12) == 0);
  // Setting the time.
  rtc.write_index(4);
  rtc.write_data(23);
  CHECK(reg(4) == 23);
  rtc.write_index(0x80 | 0x0f);  // bit 7 masks NMI
  CHECK(rtc.nmi_masked());
}

// ---- fw_cfg ------------------------------------------------------------------------

namespace {
std::vector<uint8_t> fw_read(FwCfg& f, uint16_t key, size_t n) {
  f.select(key);
  std::vector<uint8_t> v;
  for (size_t i = 0; i < n; ++i) v.push_back(f.read_byte());
  return v;
}
}  // namespace

TEST_CASE("fw_cfg: signature, id, integers, past-the-end reads, ports", "[fw_cfg]") {
  FwCfg f;
  f.add_u16(fw_cfg_key::NB_CPUS, 1);
  f.add_u64(fw_cfg_key::RAM_SIZE, 0x08000000);
  CHECK(fw_read(f, 0x00, 6) == std::vector<uint8_t>{'Q', 'E', 'M', 'U', 0, 0});
  CHECK(fw_read(f, 0x01, 4) == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(fw_read(f, 0x05, 2) == std::vector<uint8_t>{1, 0});
  CHECK(fw_read(f, 0x03, 8) == std::vector<uint8_t>{0, 0, 0, 8, 0, 0, 0, 0});
  CHECK(fw_read(f, 0x1234, 2) == std::vector<uint8_t>{0, 0});  // no such item
  IoBus io;
  f.map_ports(io);
  io.write(0x510, 2, 0x0000);
  CHECK(io.read(0x511, 1) == 'Q');
  CHECK(io.read(0x510, 1) == 'E');  // a byte read of either port reads data
  io.write(0x510, 1, 0x01);         // a byte write does not select
  CHECK(io.read(0x511, 1) == 'M');
}

TEST_CASE("fw_cfg: the file directory and etc/e820 byte for byte", "[fw_cfg]") {
  FwCfg f;
  std::vector<uint8_t> e820;
  for (const E820Range& e : qemu_e820_map(128ull << 20, false)) {
    uint8_t rec[20];
    std::memcpy(rec, &e.addr, 8);
    std::memcpy(rec + 8, &e.size, 8);
    std::memcpy(rec + 16, &e.type, 4);
    e820.insert(e820.end(), rec, rec + 20);
  }
  f.add_file("etc/e820", e820);
  f.add_file("bootorder", {'x'});
  const std::vector<uint8_t> dir = fw_read(f, 0x19, 4 + 2 * 64);
  CHECK(std::vector<uint8_t>(dir.begin(), dir.begin() + 4) == std::vector<uint8_t>{0, 0, 0, 2});
  // Sorted by name: bootorder (0x20), etc/e820 (0x21); sizes and selectors big-endian.
  CHECK(std::vector<uint8_t>(dir.begin() + 4, dir.begin() + 12) == std::vector<uint8_t>{0, 0, 0, 1, 0, 0x20, 0, 0});
  CHECK(std::string(reinterpret_cast<const char*>(&dir[12])) == "bootorder");
  CHECK(std::vector<uint8_t>(dir.begin() + 68, dir.begin() + 76) == std::vector<uint8_t>{0, 0, 0, 20, 0, 0x21, 0, 0});
  CHECK(std::string(reinterpret_cast<const char*>(&dir[76])) == "etc/e820");
  CHECK(fw_read(f, 0x21, 20) == std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 1, 0, 0, 0});
  CHECK(f.file_key("etc/e820") == 0x21);
}

// ---- pc-testdev, PCI, clock ---------------------------------------------------------------

TEST_CASE("pc-testdev: echo register by bytes and words, IRQ lines", "[testdev]") {
  std::vector<std::pair<unsigned, bool>> lines;
  PcTestdev t([&](unsigned l, bool v) { lines.push_back({l, v}); });
  t.write_register(0, 4, 0x12345678);
  CHECK(t.read_register(0, 4) == 0x12345678);
  CHECK(t.read_register(2, 2) == 0x1234);
  t.write_register(1, 1, 0xab);
  CHECK(t.echo() == 0x1234ab78);
  t.write_register(3, 4, 0xffffffff);  // bytes beyond the register are dropped
  CHECK(t.echo() == 0xff34ab78);
  IoBus io;
  Memory mem(1 << 20);
  t.map(io, mem);
  io.write(0x2005, 1, 7);
  io.write(0x2005, 2, 0);  // only byte writes drive a line
  io.write(0x2017, 1, 0);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == std::make_pair(5u, true));
  CHECK(lines[1] == std::make_pair(23u, false));
  mem.write_phys(PcTestdev::MMIO_BASE + 8, 4, 0xdeadbeef);
  CHECK(mem.read_phys(PcTestdev::MMIO_BASE + 8, 4) == 0xdeadbeef);
}

TEST_CASE("PCI configuration mechanism #1: host bridge, ISA bridge, empty slots", "[pci]") {
  bool reset = false;
  PciHost pci([&] { reset = true; });
  IoBus io;
  pci.map_ports(io);
  io.write(0xcf8, 4, 0x80000000);
  CHECK(io.read(0xcfc, 4) == 0x12378086);
  CHECK(io.read(0xcfe, 2) == 0x1237);
  CHECK(io.read(0xcf8, 4) == 0x80000000);
  io.write(0xcf8, 4, 0x80000808);  // 00:01.0 class/revision
  CHECK(io.read(0xcfc, 4) == 0x06010000);
  io.write(0xcf8, 4, 0x8000080c);
  CHECK(io.read(0xcfe, 1) == 0x80);  // multi-function header
  io.write(0xcf8, 4, 0x80001000);  // 00:02.0: empty
  CHECK(io.read(0xcfc, 4) == 0xffffffff);
  io.write(0xcf8, 4, 0x80000000);
  io.write(0xcfc, 4, 0);  // vendor/device are read-only
  CHECK(io.read(0xcfc, 4) == 0x12378086);
  CHECK_FALSE(reset);
  io.write(0xcf9, 1, 0x06);
  CHECK(reset);
}

TEST_CASE("clock: instruction time, timer order, time skipped while halted", "[clock]") {
  uint64_t insns = 0;
  Clock c(&insns);
  std::vector<int> fired;
  const Clock::TimerId a = c.add_timer([&](uint64_t) { fired.push_back(1); });
  const Clock::TimerId b = c.add_timer([&](uint64_t) { fired.push_back(2); });
  c.arm(b, 500);
  c.arm(a, 700);
  CHECK(c.next_deadline() == 500);
  insns = 499;
  CHECK(c.fire_expired() == 0);
  c.idle_until(800);  // halted: time jumps
  CHECK(c.now() == 800);
  CHECK(c.skipped() == 301);
  CHECK(c.fire_expired() == 2);
  CHECK(fired == std::vector<int>{2, 1});
  CHECK(c.next_deadline() == Clock::NEVER);
  CHECK(ns_to_ticks(1000000000, Pit8254::HZ) == Pit8254::HZ);
  CHECK(ns_to_ticks(ticks_to_ns(12345, Pit8254::HZ), Pit8254::HZ) == 12345);
  CHECK(ns_to_ticks(ticks_to_ns(12345, Pit8254::HZ) - 1, Pit8254::HZ) == 12344);
}

TEST_CASE("PIT mode 4: OUT low for one tick at terminal count; IRQ0 rises after it", "[pit]") {
  PitRig r;
  r.load(0, 0x38, 10);  // counter 0, LSB/MSB, mode 4
  r.to_tick(9);
  CHECK(r.pit.out(0));
  r.to_tick(10);
  CHECK_FALSE(r.pit.out(0));
  r.to_tick(11);
  CHECK(r.pit.out(0));
  r.to_tick(100);
  // High at the load; then the strobe's rising edge at tick 11, as a pulse.
  REQUIRE(r.edges.size() == 3);
  CHECK(ns_to_ticks(r.edges[1].first, Pit8254::HZ) == 11);
  CHECK_FALSE(r.edges[1].second);
  CHECK(ns_to_ticks(r.edges[2].first, Pit8254::HZ) == 11);
  CHECK(r.edges[2].second);
}

TEST_CASE("PIT modes 1 and 5 start at a gate trigger (counter 2)", "[pit]") {
  PitRig r;
  r.load(2, 0xb2, 5);  // counter 2, mode 1: one-shot
  r.to_tick(50);
  CHECK((r.pit.read_port61() & 0x20) == 0x20);  // OUT high until triggered
  r.pit.write_port61(0x01);                      // gate rising edge
  r.to_tick(54);
  CHECK((r.pit.read_port61() & 0x20) == 0);      // low during the count
  r.to_tick(55);
  CHECK((r.pit.read_port61() & 0x20) == 0x20);   // high at terminal count
  r.pit.write_port61(0x00);
  r.load(2, 0xba, 5);  // mode 5: hardware-triggered strobe
  r.to_tick(60);
  r.pit.write_port61(0x01);
  r.to_tick(64);
  CHECK((r.pit.read_port61() & 0x20) == 0x20);
  r.to_tick(65);
  CHECK((r.pit.read_port61() & 0x20) == 0);      // the one-tick strobe
  r.to_tick(66);
  CHECK((r.pit.read_port61() & 0x20) == 0x20);
}

TEST_CASE("the whole PC survives random port I/O and timer storms", "[machine]") {
  PcConfig cfg;
  cfg.ram_bytes = 4ull << 20;
  Pc pc(cfg, default_cpu_model());
  init_bios_devices(pc.io());
  uint64_t x = 0x9e3779b97f4a7c15ull;
  const auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  // Ports with devices behind them, and some without.
  const uint16_t ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
                            0x60, 0x64, 0x92, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x2f8,
                            0xe0, 0xe3, 0xe4, 0xe8, 0xeb, 0x2000, 0x2017, 0x510, 0x511, 0xcf8, 0xcf9, 0xcfc,
                            0xcff, 0x1234, 0xffff};
  for (int i = 0; i < 200000; ++i) {
    const uint64_t r = next();
    const uint16_t port = ports[r % (sizeof ports / sizeof ports[0])];
    const unsigned size = 1u << ((r >> 8) % 3);
    if ((r >> 16) & 1) pc.io().write(port, size, next());
    else pc.io().read(port, size);
    // Let guest time pass so the timers the writes armed fire.
    pc.cpu().s.insn_count += (r >> 20) % 5000;
    pc.clock().fire_expired();
    if (pc.cpu().intr_line && (r >> 40) % 3 == 0) pc.pic().intr_acknowledge();
  }
  CHECK(pc.clock().now() > 0);
}

TEST_CASE("RTC: update-ended and alarm interrupts once per second", "[cmos]") {
  uint64_t insns = 0;
  Clock clock(&insns);
  bool irq = false;
  CmosRtc rtc(clock, CmosRtc::DETERMINISTIC_EPOCH, [&](bool l) { irq = l; });
  const auto set = [&](uint8_t i, uint8_t v) {
    rtc.write_index(i);
    rtc.write_data(v);
  };
  const auto get = [&](uint8_t i) {
    rtc.write_index(i);
    return rtc.read_data();
  };
  set(11, 0x12);  // UIE, 24 h, BCD
  insns = 500000000;
  clock.fire_expired();
  CHECK_FALSE(irq);
  CHECK(clock.next_deadline() == 1000000000);
  insns = clock.next_deadline();
  clock.fire_expired();
  CHECK(irq);
  CHECK(get(12) == 0xd0);  // IRQF | UF, and PF: set by every period even with PIE off
  CHECK_FALSE(irq);
  // Alarm at hh:mm:05 with hours and minutes "don't care".
  set(11, 0x22);  // AIE only
  set(1, 0x05);
  set(3, 0xc0);
  set(5, 0xff);
  for (int s = 2; s <= 6; ++s) {
    insns = clock.next_deadline();
    clock.fire_expired();
    const uint8_t c = get(12);
    INFO("second " << s);
    CHECK(bool(c & 0x20) == (s == 5));  // AF at second 5 only
    CHECK(bool(c & 0x80) == (s == 5));  // IRQF only with an enabled flag
  }
}

TEST_CASE("ISA IRQ lines reach the PIC and the I/O APIC hook; lines 16-23 only the hook", "[irq]") {
  Pics p;
  IrqRouter irq(&p.pic);
  std::vector<std::pair<unsigned, bool>> seen;
  irq.ioapic = [&](unsigned line, bool level) { seen.push_back({line, level}); };
  irq.raise(4);
  CHECK(p.pic.master().irr() == 0x10);
  CHECK(irq.level(4));
  irq.lower(4);
  CHECK_FALSE(irq.level(4));
  irq.raise(20);
  CHECK(irq.level(20));
  CHECK(p.pic.master().irr() == 0x10);  // unchanged: no PIC input there
  CHECK(p.pic.slave().irr() == 0);
  irq.raise(24);                        // no such line: ignored
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::make_pair(4u, true));
  CHECK(seen[1] == std::make_pair(4u, false));
  CHECK(seen[2] == std::make_pair(20u, true));
}
