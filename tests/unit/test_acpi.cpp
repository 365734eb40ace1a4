// The ACPI tables (emu/machine/acpi_tables.*) parsed back the way an OS
// reads them (ACPI 6.4 chapter 5), cross-checked with ACPICA's iasl -d
// where the acpica-tools package is installed; and the ACPI PM device
// (emu/devices/acpi_pm.*: PM1 event/control registers, PM timer).
#include <catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/hpet.h"
#include "emu/machine/acpi_tables.h"

using namespace softvt;

namespace {

// Little-endian field readers over guest memory.
struct View {
  const uint8_t* ram;
  uint8_t u8(uint64_t a) const { return ram[a]; }
  uint16_t u16(uint64_t a) const { uint16_t v; std::memcpy(&v, ram + a, 2); return v; }
  uint32_t u32(uint64_t a) const { uint32_t v; std::memcpy(&v, ram + a, 4); return v; }
  uint64_t u64(uint64_t a) const { uint64_t v; std::memcpy(&v, ram + a, 8); return v; }
  std::string str(uint64_t a, size_t n) const { return std::string(reinterpret_cast<const char*>(ram + a), n); }
  uint8_t sum(uint64_t a, size_t n) const { return acpi_checksum(ram + a, n); }
};

// The BIOS-area RSDP search an OS does without firmware help (ACPI 6.4
// 5.2.5.1): "RSD PTR " on a 16-byte boundary with a valid checksum.
uint64_t find_rsdp(const View& v) {
  for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
    if (v.str(a, 8) == "RSD PTR " && v.sum(a, 20) == 0) return a;
  return 0;
}

// Checks a table's header and returns its length.
uint32_t check_table(const View& v, uint64_t addr, const char* sig, uint8_t revision) {
  INFO("table " << sig);
  CHECK(v.str(addr, 4) == sig);
  const uint32_t len = v.u32(addr + 4);
  CHECK(len >= 36);
  CHECK(v.u8(addr + 8) == revision);
  CHECK(v.sum(addr, len) == 0);
  CHECK(v.str(addr + 10, 6) == "SOFTVT");
  return len;
}

struct Placed {
  Memory mem{2 << 20};
  AcpiConfig cfg;
  uint64_t rsdp;
  explicit Placed(unsigned cpus) {
    cfg.cpus = cpus;
    rsdp = place_acpi_tables(mem, cfg, 0xf0000);
  }
  View view() const { return View{mem.ram()}; }
};

}  // namespace

TEST_CASE("acpi: RSDP, RSDT, XSDT", "[acpi]") {
  Placed p(4);
  const View v = p.view();
  REQUIRE(find_rsdp(v) == p.rsdp);
  CHECK(p.rsdp == 0xf0000);
  CHECK(v.u8(p.rsdp + 15) == 2);                 // revision 2 (ACPI 2.0+)
  CHECK(v.u32(p.rsdp + 20) == 36);               // length
  CHECK(v.sum(p.rsdp, 36) == 0);                 // extended checksum
  const uint64_t rsdt = v.u32(p.rsdp + 16), xsdt = v.u64(p.rsdp + 24);
  CHECK(check_table(v, rsdt, "RSDT", 1) == 36 + 2 * 4);
  CHECK(check_table(v, xsdt, "XSDT", 1) == 36 + 2 * 8);
  CHECK(xsdt % 8 == 0);
  // Both list the FADT and the MADT, in the same order.
  for (unsigned i = 0; i < 2; ++i) CHECK(v.u32(rsdt + 36 + 4 * i) == v.u64(xsdt + 36 + 8 * i));
  CHECK(v.str(v.u64(xsdt + 36), 4) == "FACP");
  CHECK(v.str(v.u64(xsdt + 44), 4) == "APIC");
}

TEST_CASE("acpi: FADT, FACS and the DSDT's \\_S5", "[acpi]") {
  Placed p(1);
  const View v = p.view();
  const uint64_t fadt = v.u64(v.u64(p.rsdp + 24) + 36);
  CHECK(check_table(v, fadt, "FACP", 3) == 244);
  const uint64_t facs = v.u32(fadt + 36), dsdt = v.u32(fadt + 40);
  CHECK(v.u64(fadt + 140) == dsdt);              // X_DSDT
  CHECK(v.u64(fadt + 132) == 0);                 // X_FIRMWARE_CTRL unused
  CHECK(v.u16(fadt + 46) == 9);                  // SCI_INT
  CHECK(v.u32(fadt + 48) == 0);                  // SMI_CMD: always ACPI mode
  CHECK(v.u32(fadt + 56) == 0x600);              // PM1a_EVT_BLK
  CHECK(v.u32(fadt + 64) == 0x604);              // PM1a_CNT_BLK
  CHECK(v.u32(fadt + 76) == 0x608);              // PM_TMR_BLK
  CHECK(v.u8(fadt + 88) == 4);                   // PM1_EVT_LEN
  CHECK(v.u8(fadt + 89) == 2);                   // PM1_CNT_LEN
  CHECK(v.u8(fadt + 91) == 4);                   // PM_TMR_LEN
  CHECK(v.u32(fadt + 80) == 0);                  // no GPE0 block
  CHECK((v.u32(fadt + 112) & (1u << 8)) == 0);   // TMR_VAL_EXT: 24-bit timer
  CHECK((v.u32(fadt + 112) & (1u << 4)) == 0);   // fixed power button present
  CHECK(v.u8(fadt + 108) == 0x32);               // CENTURY
  // X_ blocks: system I/O generic addresses matching the 32-bit ones.
  const struct { unsigned off; uint8_t width; uint64_t port; } gas[] = {
      {148, 32, 0x600}, {172, 16, 0x604}, {208, 32, 0x608}};
  for (auto g : gas) {
    CHECK(v.u8(fadt + g.off) == 1);
    CHECK(v.u8(fadt + g.off + 1) == g.width);
    CHECK(v.u64(fadt + g.off + 4) == g.port);
  }
  // FACS: 64 bytes, 64-byte aligned (ACPI 6.4 5.2.10).
  CHECK(v.str(facs, 4) == "FACS");
  CHECK(v.u32(facs + 4) == 64);
  CHECK(facs % 64 == 0);
  // DSDT: Name (\_S5, Package (4) {Zero, Zero, Zero, Zero}) in AML.
  const uint32_t dlen = check_table(v, dsdt, "DSDT", 2);
  const uint8_t aml[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
  REQUIRE(dlen == 36 + sizeof aml);
  CHECK(std::memcmp(v.ram + dsdt + 36, aml, sizeof aml) == 0);
  // The SLP_TYP the AML names is the one the PM device powers off on.
  CHECK(aml[9] == AcpiPm::SLP_TYP_S5);
}

TEST_CASE("acpi: \\_S5 with a non-zero sleep type uses BytePrefix", "[acpi]") {
  AcpiConfig cfg;
  cfg.slp_typ_s5 = 5;
  const AcpiTables t = build_acpi_tables(cfg, 0xe0000);
  const uint8_t* d = t.bytes.data() + (t.dsdt - t.base) + 36;
  const uint8_t aml[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
  CHECK(std::memcmp(d, aml, sizeof aml) == 0);
  CHECK(acpi_checksum(t.bytes.data() + (t.dsdt - t.base), 36 + sizeof aml) == 0);
}

TEST_CASE("acpi: MADT entries", "[acpi]") {
  Placed p(3);
  const View v = p.view();
  const uint64_t madt = v.u64(v.u64(p.rsdp + 24) + 44);
  const uint32_t len = check_table(v, madt, "APIC", 1);
  CHECK(v.u32(madt + 36) == 0xfee00000);
  CHECK(v.u32(madt + 40) == 1);  // PCAT_COMPAT
  unsigned cpus = 0, ioapics = 0, nmis = 0;
  bool irq0 = false, sci = false;
  for (uint64_t e = madt + 44; e < madt + len;) {
    const uint8_t type = v.u8(e), elen = v.u8(e + 1);
    REQUIRE(elen >= 2);
    switch (type) {
      case 0:
        CHECK(elen == 8);
        CHECK(v.u8(e + 2) == cpus);  // UID
        CHECK(v.u8(e + 3) == cpus);  // APIC ID
        CHECK(v.u32(e + 4) == 1);    // enabled
        ++cpus;
        break;
      case 1:
        CHECK(elen == 12);
        CHECK(v.u32(e + 4) == 0xfec00000);
        CHECK(v.u32(e + 8) == 0);
        ++ioapics;
        break;
      case 2:
        CHECK(elen == 10);
        CHECK(v.u8(e + 2) == 0);  // ISA
        if (v.u8(e + 3) == 0) {
          irq0 = v.u32(e + 4) == 2 && v.u16(e + 8) == 0;
        } else if (v.u8(e + 3) == 9) {
          sci = v.u32(e + 4) == 9 && v.u16(e + 8) == 0x000d;  // level, active high
        }
        break;
      case 4:
        CHECK(elen == 6);
        CHECK(v.u8(e + 2) == 0xff);
        CHECK(v.u8(e + 5) == 1);  // LINT1
        ++nmis;
        break;
      default: FAIL("unexpected MADT entry type " << int(type));
    }
    e += elen;
  }
  CHECK(cpus == 3);
  CHECK(ioapics == 1);
  CHECK(nmis == 1);
  CHECK(irq0);
  CHECK(sci);
}

TEST_CASE("acpi: bad configurations are refused", "[acpi]") {
  AcpiConfig cfg;
  cfg.cpus = 0;
  CHECK_THROWS_AS(build_acpi_tables(cfg, 0xe0000), std::invalid_argument);
  cfg.cpus = 256;
  CHECK_THROWS_AS(build_acpi_tables(cfg, 0xe0000), std::invalid_argument);
  cfg.cpus = 1;
  CHECK_THROWS_AS(build_acpi_tables(cfg, 0xe0008), std::invalid_argument);
  Memory small(0xf0000 + 0x100);
  CHECK_THROWS_AS(place_acpi_tables(small, cfg, 0xf0000), std::invalid_argument);
}

// ACPICA's disassembler as an independent parser: every table must
// disassemble, and the text must show what was built.
TEST_CASE("acpi: iasl -d disassembles every table", "[acpi][iasl]") {
  if (std::system("command -v iasl >/dev/null 2>&1") != 0) {
    WARN("skipped: iasl not installed (Debian package acpica-tools; scripts/install-deps.sh)");
    return;
  }
  AcpiConfig cfg;
  cfg.cpus = 2;
  cfg.hpet = true;
  cfg.hpet_block_id = Hpet::capabilities_low();
  const AcpiTables t = build_acpi_tables(cfg, 0xe0000);
  char dir[] = "/tmp/softvt_acpi_XXXXXX";
  REQUIRE(mkdtemp(dir));
  auto hex = [](uint64_t v, int digits) {
    char b[32];
    std::snprintf(b, sizeof b, "%0*llX", digits, (unsigned long long)v);
    return std::string(b);
  };
  struct Table { const char* name; uint64_t addr; std::vector<std::string> expect; };
  const Table tables[] = {
      {"dsdt", t.dsdt, {"Name (\\_S5, Package (0x04)", "Zero, \n Zero, \n Zero, \n Zero\n"}},
      {"facp", t.fadt, {"PM1A Event Block Address : 00000600", "PM1A Control Block Address : 00000604",
                        "PM Timer Block Address : 00000608", "SCI Interrupt : 0009",
                        "DSDT Address : " + hex(t.dsdt, 8), "FACS Address : " + hex(t.facs, 8),
                        "SMI Command Port : 00000000", "32-bit PM Timer (V1) : 0"}},
      {"apic", t.madt, {"Local Apic Address : FEE00000", "Local Apic ID : 01", "Address : FEC00000",
                        "Source : 00\n Interrupt : 00000002", "Source : 09\n Interrupt : 00000009\n Flags (decoded below) : 000D",
                        "Interrupt Input LINT : 01"}},
      {"xsdt", t.xsdt, {"ACPI Table Address 0 : " + hex(t.fadt, 16), "ACPI Table Address 1 : " + hex(t.madt, 16),
                        "ACPI Table Address 2 : " + hex(t.hpet, 16)}},
      {"facs", t.facs, {"Length : 00000040"}},
      {"hpet", t.hpet, {"Hardware Block ID : 8086A201", "Space ID : 00 [SystemMemory]",
                        "Address : 00000000FED00000"}},
  };
  for (const Table& tb : tables) {
    const uint8_t* p = t.bytes.data() + (tb.addr - t.base);
    uint32_t len;
    std::memcpy(&len, p + 4, 4);
    const std::string bin = std::string(dir) + "/" + tb.name + ".dat";
    std::ofstream(bin, std::ios::binary).write(reinterpret_cast<const char*>(p), len);
    const std::string cmd = "cd " + std::string(dir) + " && iasl -d " + tb.name + ".dat > " + tb.name + ".log 2>&1";
    INFO("table " << tb.name);
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream dsl(std::string(dir) + "/" + tb.name + ".dsl");
    std::stringstream ss;
    ss << dsl.rdbuf();
    std::string text = ss.str();
    // Drop the "[offset]" column and collapse runs of spaces, so the checks
    // do not depend on the layout.
    std::string norm, line;
    std::istringstream lines(text);
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] == '[' && line.find(']') != std::string::npos) line.erase(0, line.find(']') + 1);
      for (char c : line)
        if (!(c == ' ' && !norm.empty() && norm.back() == ' ')) norm += c;
      norm += '\n';
    }
    for (const std::string& e : tb.expect) {
      INFO("expecting: " << e);
      CHECK(norm.find(e) != std::string::npos);
    }
    CHECK(norm.find("Invalid checksum") == std::string::npos);
    CHECK(norm.find("Incorrect checksum") == std::string::npos);
  }
  std::system(("rm -rf " + std::string(dir)).c_str());
}

// ---- the ACPI PM device -----------------------------------------------------------

TEST_CASE("acpi_pm: PM timer at 3.579545 MHz, 24 bits (ACPI 6.4 4.8.3.3)", "[acpi_pm]") {
  AcpiPm pm(0x600, {});
  CHECK(pm.io_read(0, 0x608, 4) == 0);
  CHECK(pm.io_read(1000000000, 0x608, 4) == (3579545 & 0xffffff));
  CHECK(pm.io_read(279, 0x608, 4) == 0);    // 279 ns < one tick (279.37 ns)
  CHECK(pm.io_read(280, 0x608, 4) == 1);
  // Wraps at 2^24 ticks (about 4.687 s).
  const uint64_t wrap_ns = (uint64_t(1) << 24) * 1000000000ull / 3579545 + 1;
  CHECK(pm.io_read(wrap_ns, 0x608, 4) == 0);
  CHECK(pm.io_read(wrap_ns, 0x60a, 2) == 0);  // high bytes: 0 (24-bit)
  CHECK(pm.io_read(1000000000, 0x608, 1) == (3579545 & 0xff));
}

TEST_CASE("acpi_pm: PM1 status/enable, TMR_STS and the SCI", "[acpi_pm]") {
  std::vector<bool> sci;
  AcpiPm pm(0x600, {nullptr, [&](bool l) { sci.push_back(l); }});
  CHECK(pm.io_read(0, 0x604, 2) == AcpiPm::SCI_EN);  // in ACPI mode from reset
  const uint64_t toggle_ns = ((uint64_t(1) << 23) * 1000000000ull + 3579544) / 3579545;
  CHECK((pm.io_read(toggle_ns - 1, 0x600, 2) & AcpiPm::TMR_STS) == 0);
  CHECK(pm.io_read(toggle_ns, 0x600, 2) & AcpiPm::TMR_STS);
  CHECK(pm.next_deadline_ns(0) == UINT64_MAX);  // TMR_EN clear
  pm.io_write(toggle_ns, 0x600, 2, AcpiPm::TMR_STS);  // write 1 to clear
  CHECK((pm.io_read(toggle_ns, 0x600, 2) & AcpiPm::TMR_STS) == 0);
  pm.io_write(toggle_ns, 0x602, 2, AcpiPm::TMR_EN | 0x8000);
  CHECK(pm.io_read(toggle_ns, 0x602, 2) == AcpiPm::TMR_EN);
  CHECK(pm.next_deadline_ns(toggle_ns) == 2 * toggle_ns - 1);  // next bit-23 toggle
  CHECK(sci.empty());
  pm.tick(pm.next_deadline_ns(toggle_ns));
  REQUIRE(sci.size() == 1);
  CHECK(sci[0]);
  pm.io_write(2 * toggle_ns, 0x600, 2, 0x0001);
  REQUIRE(sci.size() == 2);
  CHECK(!sci[1]);
  // Power button: status, and an SCI when enabled; byte-wide accesses.
  pm.press_power_button(2 * toggle_ns);
  CHECK(pm.io_read(2 * toggle_ns, 0x601, 1) == 0x01);
  CHECK(sci.size() == 2);
  pm.io_write(2 * toggle_ns, 0x603, 1, 0x01);  // PWRBTN_EN
  CHECK(sci.size() == 3);
  pm.io_write(2 * toggle_ns, 0x600, 4, uint64_t(AcpiPm::PWRBTN_STS) | (uint64_t(AcpiPm::TMR_EN) << 16));
  CHECK(sci.size() == 4);
  CHECK(!pm.sci_level());
  CHECK(pm.io_read(2 * toggle_ns, 0x602, 2) == AcpiPm::TMR_EN);
  // SCI_EN clear: no SCI.
  pm.io_write(2 * toggle_ns, 0x604, 2, 0);
  pm.press_power_button(2 * toggle_ns);
  CHECK(sci.size() == 4);
}

TEST_CASE("acpi_pm: SLP_EN with the S5 sleep type powers off", "[acpi_pm]") {
  unsigned offs = 0;
  AcpiPm pm(0x600, {[&] { ++offs; }, nullptr});
  pm.io_write(0, 0x604, 2, AcpiPm::SCI_EN | (3u << AcpiPm::SLP_TYP_SHIFT) | AcpiPm::SLP_EN);  // S3-like
  CHECK(offs == 0);
  CHECK(pm.io_read(0, 0x604, 2) == (AcpiPm::SCI_EN | (3u << AcpiPm::SLP_TYP_SHIFT)));  // SLP_EN reads 0
  pm.io_write(0, 0x604, 2, AcpiPm::SCI_EN | (AcpiPm::SLP_TYP_S5 << AcpiPm::SLP_TYP_SHIFT));
  CHECK(offs == 0);  // the type alone does nothing
  pm.io_write(0, 0x605, 1, (AcpiPm::SLP_TYP_S5 << AcpiPm::SLP_TYP_SHIFT | AcpiPm::SLP_EN) >> 8);
  CHECK(offs == 1);
  CHECK(pm.handles_port(0x600));
  CHECK(pm.handles_port(0x60b));
  CHECK(!pm.handles_port(0x60c));
  CHECK(!pm.handles_port(0x5ff));
}
