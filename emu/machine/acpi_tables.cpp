// ACPI table images (ACPI 6.4 chapter 5 "ACPI Software Programming Model").
#include "emu/machine/acpi_tables.h"

#include <cstring>
#include <stdexcept>

namespace softvt {

using namespace acpi;

uint8_t acpi_checksum(const uint8_t* data, size_t len) {
  uint8_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = uint8_t(sum + data[i]);
  return sum;
}

namespace {

constexpr char OEM_ID[] = "SOFTVT";        // 6 bytes
constexpr char OEM_TABLE_ID[] = "SOFTVTPC";  // 8 bytes
constexpr char CREATOR_ID[] = "SVT ";       // 4 bytes

// The image under construction: bytes at absolute guest addresses.
class Image {
 public:
  explicit Image(uint64_t base) : base_(base) {}
  uint64_t here() const { return base_ + bytes_.size(); }
  size_t offset_of(uint64_t addr) const { return size_t(addr - base_); }
  void align(uint64_t a) { while (here() % a) bytes_.push_back(0); }
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void str(const char* s, size_t n) { for (size_t i = 0; i < n; ++i) bytes_.push_back(uint8_t(s[i])); }
  void zeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  void patch32(uint64_t addr, uint32_t v) { std::memcpy(&bytes_[offset_of(addr)], &v, 4); }
  void patch8(uint64_t addr, uint8_t v) { bytes_[offset_of(addr)] = v; }
  const uint8_t* at(uint64_t addr) const { return &bytes_[offset_of(addr)]; }
  std::vector<uint8_t>& bytes() { return bytes_; }

  // Generic Address Structure (ACPI 6.4 5.2.3.2) for a system-I/O block.
  void gas_io(uint8_t bit_width, uint64_t port) {
    u8(1);          // address space: system I/O
    u8(bit_width);
    u8(0);          // bit offset
    u8(0);          // access size: undefined (legacy), as QEMU's FADT
    u64(port);
  }

  // System description table header (ACPI 6.4 5.2.6, Table 5.4); the
  // length and checksum are filled in by end_table().
  uint64_t begin_table(const char sig[4], uint8_t revision) {
    align(8);
    const uint64_t start = here();
    str(sig, 4);
    u32(0);         // length
    u8(revision);
    u8(0);          // checksum
    str(OEM_ID, 6);
    str(OEM_TABLE_ID, 8);
    u32(1);         // OEM revision
    str(CREATOR_ID, 4);
    u32(1);         // creator revision
    return start;
  }
  void end_table(uint64_t start) {
    const uint32_t len = uint32_t(here() - start);
    patch32(start + 4, len);
    patch8(start + 9, uint8_t(-acpi_checksum(at(start), len)));
  }

 private:
  void put(uint64_t v, unsigned n) { for (unsigned i = 0; i < n; ++i) bytes_.push_back(uint8_t(v >> (8 * i))); }
  uint64_t base_;
  std::vector<uint8_t> bytes_;
};

// FACS (ACPI 6.4 5.2.10, Table 5.14): 64 bytes, 64-byte aligned, no checksum.
uint64_t build_facs(Image& im) {
  im.align(64);
  const uint64_t start = im.here();
  im.str("FACS", 4);
  im.u32(FACS_LEN);
  im.u32(0);   // hardware signature
  im.u32(0);   // firmware waking vector
  im.u32(0);   // global lock
  im.u32(0);   // flags: no S4BIOS, no 64-bit wake
  im.u64(0);   // X firmware waking vector
  im.u8(2);    // version
  im.zeros(3);
  im.u32(0);   // OSPM flags
  im.zeros(24);
  return start;
}

// The DSDT's AML (ACPI 6.4 chapter 20): one object,
//   Name (\_S5, Package (0x04) { SLP_TYPa, SLP_TYPb, Zero, Zero })
// telling the OS the PM1_CNT.SLP_TYP value of the soft-off state (7.4.2).
uint64_t build_dsdt(Image& im, const AcpiConfig& cfg) {
  const uint64_t start = im.begin_table("DSDT", DSDT_REVISION);  // revision 2: 64-bit integers
  auto integer = [&](uint8_t v) {
    if (v == 0) { im.u8(0x00); return; }   // ZeroOp
    if (v == 1) { im.u8(0x01); return; }   // OneOp
    im.u8(0x0a);                           // BytePrefix
    im.u8(v);                              //   ByteData
  };
  const unsigned elements_len = (cfg.slp_typ_s5 > 1 ? 2 : 1) * 2 + 2;
  im.u8(0x08);                 // NameOp (20.2.5.1 DefName)
  im.str("\\_S5_", 5);         //   NameString: RootChar '\' + NameSeg "_S5_"
  im.u8(0x12);                 //   PackageOp (20.2.5.4 DefPackage)
  im.u8(uint8_t(2 + elements_len));  // PkgLength (one byte: counts itself, NumElements, elements)
  im.u8(0x04);                 //     NumElements = 4
  integer(cfg.slp_typ_s5);     //     SLP_TYPa
  integer(cfg.slp_typ_s5);     //     SLP_TYPb
  im.u8(0x00);                 //     ZeroOp (reserved)
  im.u8(0x00);                 //     ZeroOp (reserved)
  im.end_table(start);
  return start;
}

// FADT (ACPI 6.4 5.2.9, Table 5.9), revision 3 / 244 bytes.
uint64_t build_fadt(Image& im, const AcpiConfig& cfg, uint64_t facs, uint64_t dsdt) {
  const uint64_t start = im.begin_table("FACP", FADT_REVISION);
  const uint32_t evt = cfg.pm_base, cnt = cfg.pm_base + 4u, tmr = cfg.pm_base + 8u;
  im.u32(uint32_t(facs));   // 36 FIRMWARE_CTRL
  im.u32(uint32_t(dsdt));   // 40 DSDT
  im.u8(0);                 // 44 reserved (INT_MODEL in ACPI 1.0)
  im.u8(0);                 // 45 Preferred_PM_Profile: unspecified
  im.u16(cfg.sci_irq);      // 46 SCI_INT
  im.u32(0);                // 48 SMI_CMD: 0 = always in ACPI mode (no SMI transition)
  im.u8(0);                 // 52 ACPI_ENABLE
  im.u8(0);                 // 53 ACPI_DISABLE
  im.u8(0);                 // 54 S4BIOS_REQ
  im.u8(0);                 // 55 PSTATE_CNT
  im.u32(evt);              // 56 PM1a_EVT_BLK
  im.u32(0);                // 60 PM1b_EVT_BLK
  im.u32(cnt);              // 64 PM1a_CNT_BLK
  im.u32(0);                // 68 PM1b_CNT_BLK
  im.u32(0);                // 72 PM2_CNT_BLK
  im.u32(tmr);              // 76 PM_TMR_BLK
  im.u32(0);                // 80 GPE0_BLK: none
  im.u32(0);                // 84 GPE1_BLK
  im.u8(4);                 // 88 PM1_EVT_LEN
  im.u8(2);                 // 89 PM1_CNT_LEN
  im.u8(0);                 // 90 PM2_CNT_LEN
  im.u8(4);                 // 91 PM_TMR_LEN
  im.u8(0);                 // 92 GPE0_BLK_LEN
  im.u8(0);                 // 93 GPE1_BLK_LEN
  im.u8(0);                 // 94 GPE1_BASE
  im.u8(0);                 // 95 CST_CNT
  im.u16(101);              // 96 P_LVL2_LAT > 100: no C2
  im.u16(1001);             // 98 P_LVL3_LAT > 1000: no C3
  im.u16(0);                // 100 FLUSH_SIZE
  im.u16(0);                // 102 FLUSH_STRIDE
  im.u8(0);                 // 104 DUTY_OFFSET
  im.u8(0);                 // 105 DUTY_WIDTH
  im.u8(0);                 // 106 DAY_ALRM
  im.u8(0);                 // 107 MON_ALRM
  im.u8(0x32);              // 108 CENTURY: CMOS index of the century byte (as QEMU)
  // 109 IAPC_BOOT_ARCH (Table 5.11): LEGACY_DEVICES (ISA devices: PIC,
  // PIT, RTC, UART) and "VGA not present"; no 8042 advertised, so the OS
  // does not probe a keyboard (the i8042 is there for reset and A20).
  im.u16(0x0001 | 0x0004);
  im.u8(0);                 // 111 reserved
  // 112 Flags (Table 5.10): WBINVD (0), PROC_C1 (2), SLP_BUTTON (5: no
  // fixed sleep button); PWR_BUTTON (4) clear: the fixed power button
  // exists (PM1_STS.PWRBTN_STS); TMR_VAL_EXT (8) clear: 24-bit PM timer.
  im.u32((1u << 0) | (1u << 2) | (1u << 5));
  im.zeros(12);             // 116 RESET_REG: none (RESET_REG_SUP clear)
  im.u8(0);                 // 128 RESET_VALUE
  im.u16(0);                // 129 ARM_BOOT_ARCH
  im.u8(0);                 // 131 FADT minor version
  im.u64(0);                // 132 X_FIRMWARE_CTRL: 0, FIRMWARE_CTRL holds the FACS
  im.u64(dsdt);             // 140 X_DSDT
  im.gas_io(32, evt);       // 148 X_PM1a_EVT_BLK
  im.zeros(12);             // 160 X_PM1b_EVT_BLK
  im.gas_io(16, cnt);       // 172 X_PM1a_CNT_BLK
  im.zeros(12);             // 184 X_PM1b_CNT_BLK
  im.zeros(12);             // 196 X_PM2_CNT_BLK
  im.gas_io(32, tmr);       // 208 X_PM_TMR_BLK
  im.zeros(12);             // 220 X_GPE0_BLK
  im.zeros(12);             // 232 X_GPE1_BLK
  im.end_table(start);
  return start;
}

// MADT (ACPI 6.4 5.2.12, Table 5.43).
uint64_t build_madt(Image& im, const AcpiConfig& cfg) {
  const uint64_t start = im.begin_table("APIC", MADT_REVISION);
  im.u32(uint32_t(cfg.lapic_address));  // local interrupt controller address
  im.u32(1);                            // flags: PCAT_COMPAT (dual 8259s present)
  for (unsigned i = 0; i < cfg.cpus; ++i) {
    // Processor Local APIC (5.2.12.2, Table 5.46)
    im.u8(MADT_LOCAL_APIC);
    im.u8(8);
    im.u8(uint8_t(i));   // ACPI processor UID
    im.u8(uint8_t(i));   // APIC ID
    im.u32(1);           // flags: enabled
  }
  // I/O APIC (5.2.12.3, Table 5.48)
  im.u8(MADT_IO_APIC);
  im.u8(12);
  im.u8(cfg.ioapic_id);
  im.u8(0);
  im.u32(uint32_t(cfg.ioapic_address));
  im.u32(cfg.ioapic_gsi_base);
  // Interrupt Source Overrides (5.2.12.5, Table 5.49; flags = MPS INTI
  // flags, Table 5.50): the PIT's IRQ 0 is wired to GSI 2, the SCI is
  // level-triggered active-high (as QEMU's PC).
  auto override_entry = [&](uint8_t irq, uint32_t gsi, uint16_t flags) {
    im.u8(MADT_INT_OVERRIDE);
    im.u8(10);
    im.u8(0);            // bus: ISA
    im.u8(irq);          // source
    im.u32(cfg.ioapic_gsi_base + gsi);
    im.u16(flags);
  };
  override_entry(0, 2, 0x0000);                  // conforms to the bus: edge, active high
  override_entry(cfg.sci_irq, cfg.sci_irq, 0x000d);  // polarity 01 active high, trigger 11 level
  // Local APIC NMI (5.2.12.7, Table 5.53): LINT1 of every processor.
  im.u8(MADT_LOCAL_APIC_NMI);
  im.u8(6);
  im.u8(0xff);           // all processors
  im.u16(0);             // flags: conforms to the bus
  im.u8(1);              // LINT1
  im.end_table(start);
  return start;
}

// HPET description table (IA-PC HPET Specification 1.0a, Table 3).
uint64_t build_hpet(Image& im, const AcpiConfig& cfg) {
  const uint64_t start = im.begin_table("HPET", 1);
  im.u32(cfg.hpet_block_id);  // 36 event timer block ID = GCAP_ID[31:0]
  im.u8(0);                   // 40 base address (GAS): system memory
  im.u8(0);                   //    register bit width (0, as QEMU)
  im.u8(0);                   //    bit offset
  im.u8(0);                   //    access size
  im.u64(cfg.hpet_address);   //    address
  im.u8(0);                   // 52 HPET number
  im.u16(0);                  // 53 main counter minimum clock tick in periodic mode
  im.u8(0);                   // 55 page protection: none given
  im.end_table(start);
  return start;
}

}  // namespace

AcpiTables build_acpi_tables(const AcpiConfig& cfg, uint64_t base) {
  if (cfg.cpus == 0 || cfg.cpus > 255)
    throw std::invalid_argument("ACPI tables: the number of CPUs must be 1..255 (x2APIC entries are not built)");
  if (base % 16) throw std::invalid_argument("ACPI tables: the RSDP address must be 16-byte aligned");
  if (base >= (uint64_t(1) << 32) - 0x10000) throw std::invalid_argument("ACPI tables: the base must lie below 4 GiB");
  Image im(base);
  AcpiTables t;
  t.base = base;
  t.rsdp = im.here();
  im.zeros(RSDP_LEN);  // filled in last
  t.facs = build_facs(im);
  t.dsdt = build_dsdt(im, cfg);
  t.fadt = build_fadt(im, cfg, t.facs, t.dsdt);
  t.madt = build_madt(im, cfg);
  if (cfg.hpet) t.hpet = build_hpet(im, cfg);
  // RSDT (5.2.7) and XSDT (5.2.8): the FADT first, then the MADT (and HPET).
  t.rsdt = im.begin_table("RSDT", 1);
  im.u32(uint32_t(t.fadt));
  im.u32(uint32_t(t.madt));
  if (cfg.hpet) im.u32(uint32_t(t.hpet));
  im.end_table(t.rsdt);
  t.xsdt = im.begin_table("XSDT", 1);
  im.u64(t.fadt);
  im.u64(t.madt);
  if (cfg.hpet) im.u64(t.hpet);
  im.end_table(t.xsdt);

  // RSDP (5.2.5.3, Table 5.3): revision 2; the checksum covers the first
  // 20 bytes (the ACPI 1.0 structure), the extended checksum all 36.
  std::vector<uint8_t>& b = im.bytes();
  uint8_t* r = &b[im.offset_of(t.rsdp)];
  std::memcpy(r, "RSD PTR ", 8);
  std::memcpy(r + 9, OEM_ID, 6);
  r[15] = 2;
  const uint32_t rsdt32 = uint32_t(t.rsdt), len = RSDP_LEN;
  std::memcpy(r + 16, &rsdt32, 4);
  std::memcpy(r + 20, &len, 4);
  std::memcpy(r + 24, &t.xsdt, 8);
  r[8] = uint8_t(-acpi_checksum(r, 20));
  r[32] = uint8_t(-acpi_checksum(r, RSDP_LEN));
  t.bytes = std::move(b);
  return t;
}

uint64_t place_acpi_tables(Memory& mem, const AcpiConfig& cfg, uint64_t base) {
  const AcpiTables t = build_acpi_tables(cfg, base);
  if (base + t.bytes.size() > mem.ram_size())
    throw std::invalid_argument("ACPI tables: the image does not fit in guest RAM at the given base");
  std::memcpy(mem.ram() + base, t.bytes.data(), t.bytes.size());
  return t.rsdp;
}

}  // namespace softvt
