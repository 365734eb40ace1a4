// The ACPI tables of the PC machine (ACPI 6.4 chapter 5): RSDP (revision 2,
// with RSDT and XSDT), FADT (revision 3, 244 bytes: ACPI 2.0 layout with
// the 64-bit X_ fields), FACS, a DSDT holding only \_S5, the MADT (local
// APICs, the I/O APIC, ISA interrupt overrides, LINT1 as NMI) and,
// optionally, the HPET table (IA-PC HPET Specification 1.0a, 3.2.4).
//
// build_acpi_tables() lays them out for a given guest-physical base, RSDP
// first; place_acpi_tables() copies that image into guest RAM. For Linux to
// find the RSDP without boot_params.acpi_rsdp_addr the base must be a
// 16-byte aligned address in the BIOS area 0xe0000-0xfffff (ACPI 6.4
// 5.2.5.1); the machine's e820 map must mark the image reserved.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/memory.h"

namespace softvt {

struct AcpiConfig {
  unsigned cpus = 1;                    // local APIC IDs and ACPI processor UIDs 0..cpus-1 (at most 255)
  uint64_t lapic_address = 0xfee00000;
  uint64_t ioapic_address = 0xfec00000;
  uint8_t ioapic_id = 0;                // QEMU uses 0 too (I/O APIC IDs are their own space on the system bus)
  uint32_t ioapic_gsi_base = 0;
  uint16_t pm_base = 0x600;             // AcpiPm's port base: PM1a_EVT, PM1a_CNT (+4), PM_TMR (+8)
  uint8_t sci_irq = 9;                  // ISA IRQ of the SCI (level, active high)
  uint8_t slp_typ_s5 = 0;               // SLP_TYP of S5 (AcpiPm::SLP_TYP_S5)
  bool hpet = false;                    // add an HPET table (emu/devices/hpet.h)
  uint64_t hpet_address = 0xfed00000;
  uint32_t hpet_block_id = 0;           // Hpet::capabilities_low() when hpet is set
};

// Byte sizes of the fixed tables (for tests and the loader's planning).
namespace acpi {
constexpr unsigned RSDP_LEN = 36, HEADER_LEN = 36, FADT_LEN = 244, FACS_LEN = 64, HPET_LEN = 56;
constexpr uint8_t FADT_REVISION = 3, MADT_REVISION = 1, DSDT_REVISION = 2;
// MADT entry types (ACPI 6.4 Table 5.45).
constexpr uint8_t MADT_LOCAL_APIC = 0, MADT_IO_APIC = 1, MADT_INT_OVERRIDE = 2, MADT_LOCAL_APIC_NMI = 4;
}  // namespace acpi

struct AcpiTables {
  uint64_t base = 0;            // guest-physical address of bytes[0]
  std::vector<uint8_t> bytes;   // the whole image
  // Guest-physical addresses of each table inside the image.
  uint64_t rsdp = 0, facs = 0, dsdt = 0, fadt = 0, madt = 0, hpet = 0, rsdt = 0, xsdt = 0;
};

// Builds the tables for `cfg` at guest-physical `base` (16-byte aligned,
// below 4 GiB). Throws std::invalid_argument for a configuration the tables
// cannot describe (no CPU, more than 255, base misaligned or above 4 GiB).
AcpiTables build_acpi_tables(const AcpiConfig& cfg, uint64_t base);

// Builds the tables and writes them into guest RAM at `base`; returns the
// RSDP's address (= base). Throws std::invalid_argument if they do not fit
// in RAM.
uint64_t place_acpi_tables(Memory& mem, const AcpiConfig& cfg, uint64_t base);

// The 8-bit checksum rule of every ACPI table: all bytes sum to 0 mod 256.
uint8_t acpi_checksum(const uint8_t* data, size_t len);

}  // namespace softvt
