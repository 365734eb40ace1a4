// The PC's APIC side as the machine wires it (emu/machine/pc_interrupts.cpp,
// docs/interrupt-controllers.md): per-CPU local APICs with APs waiting for
// SIPI, the 8259A through the BSP's LINT0, ISA IRQs on the I/O APIC (IRQ0
// on input 2), the ACPI tables in guest memory, and ACPI S5 ending the run
// with status 0.
#include <catch.hpp>

#include <cstring>
#include <string>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/hpet.h"
#include "emu/devices/ioapic.h"
#include "emu/devices/lapic.h"
#include "emu/loader/bios_state.h"
#include "emu/machine/pc.h"

using namespace softvt;

namespace {

PcConfig config(unsigned cpus) {
  PcConfig c;
  c.ram_bytes = 16ull << 20;
  c.cpus = cpus;
  return c;
}

uint32_t u32(Memory& m, uint64_t a) { return uint32_t(m.read_phys(a, 4)); }

}  // namespace

TEST_CASE("every CPU has a local APIC with its index as ID; APs wait for SIPI", "[pc]") {
  Pc pc(config(3), default_cpu_model());
  REQUIRE(pc.cpu_count() == 3);
  for (unsigned i = 0; i < 3; ++i) {
    CHECK(pc.lapic(i).id() == i);
    CHECK(pc.cpu(i).initial_apic_id == i);
    CHECK(pc.cpu(i).wait_for_sipi == (i != 0));
    CHECK(pc.cpu(i).platform != nullptr);
    CHECK(((pc.cpu(i).s.apic_base & apic::base::BSP) != 0) == (i == 0));
  }
  // The machine's CPUs report the APIC in CPUID.01H:EDX[9].
  CHECK((pc.cpu().model.cpuid(1, 0).edx >> 9) & 1);
  // The xAPIC page answers with the running CPU's (the BSP's) registers.
  CHECK((u32(pc.mem(), 0xfee00020) >> 24) == 0);
}

TEST_CASE("the 8259A reaches the BSP through LINT0 in virtual-wire mode", "[pc]") {
  Pc pc(config(1), default_cpu_model());
  init_bios_devices(pc.io());  // PIC vector base 0x08, IRQ0-2 unmasked
  REQUIRE(pc.cpu().intr_source == &pc.lapic());
  // The PIT's first OUT edge already requested IRQ0: take it.
  REQUIRE(pc.cpu().intr_line);
  CHECK(pc.cpu().intr_source->intr_acknowledge() == 0x08);  // ExtINT: the PIC's vector
  pc.io().write(0x20, 1, 0x20);                              // EOI
  CHECK_FALSE(pc.cpu().intr_line);
  pc.irq().pulse(1);
  CHECK(pc.cpu().intr_line);
  CHECK(pc.cpu().intr_source->intr_acknowledge() == 0x09);
}

TEST_CASE("ISA IRQ0 arrives on I/O APIC input 2, IRQ 4 on input 4", "[pc]") {
  Pc pc(config(2), default_cpu_model());
  Memory& m = pc.mem();
  // Redirection entries (82093AA 3.2.4): input 2 -> vector 0x30, input 4 ->
  // vector 0x34, both fixed, physical destination APIC 1, edge.
  const auto set_rte = [&](unsigned pin, uint8_t vector) {
    m.write_phys(IoApic::DEFAULT_BASE + IoApic::IOREGSEL, 4, IoApic::REG_REDTBL + 2 * pin);
    m.write_phys(IoApic::DEFAULT_BASE + IoApic::IOWIN, 4, vector);
    m.write_phys(IoApic::DEFAULT_BASE + IoApic::IOREGSEL, 4, IoApic::REG_REDTBL + 2 * pin + 1);
    m.write_phys(IoApic::DEFAULT_BASE + IoApic::IOWIN, 4, 1u << 24);
  };
  set_rte(2, 0x30);
  set_rte(4, 0x34);
  // APIC 1 takes fixed interrupts once software-enabled (SVR bit 8);
  // after INIT it is not, so enable it through its own registers.
  pc.lapic(1).mmio_write(0, apic::mmio::SVR, 4, 0x1ff);
  pc.irq().raise(0);
  CHECK(pc.lapic(1).irr(0x30));
  CHECK_FALSE(pc.lapic(1).irr(0x32));
  pc.irq().raise(4);
  CHECK(pc.lapic(1).irr(0x34));
  CHECK_FALSE(pc.lapic(0).irr(0x30));
}

TEST_CASE("ACPI tables at 0xf1000: the RSDP, and a MADT listing every CPU", "[pc]") {
  Pc pc(config(4), default_cpu_model());
  Memory& m = pc.mem();
  const uint64_t rsdp = pc.acpi_rsdp();
  CHECK(rsdp == 0xf1000);
  char sig[9] = {};
  for (unsigned i = 0; i < 8; ++i) sig[i] = char(m.read_phys(rsdp + i, 1));
  REQUIRE(std::string(sig) == "RSD PTR ");
  // RSDT (ACPI 6.4 5.2.7): 32-bit pointers after the 36-byte header.
  const uint64_t rsdt = u32(m, rsdp + 16);
  const uint32_t rsdt_len = u32(m, rsdt + 4);
  uint64_t madt = 0;
  for (uint64_t p = rsdt + 36; p < rsdt + rsdt_len; p += 4)
    if (u32(m, u32(m, p)) == 0x43495041) madt = u32(m, p);  // "APIC"
  REQUIRE(madt != 0);
  // MADT entries (Table 5.45) after the 44-byte header: type 0 = local APIC
  // (processor UID, APIC ID, flags with Enabled = bit 0).
  const uint32_t len = u32(m, madt + 4);
  unsigned lapics = 0;
  for (uint64_t p = madt + 44; p < madt + len; p += m.read_phys(p + 1, 1)) {
    if (m.read_phys(p, 1) != 0) continue;
    CHECK(m.read_phys(p + 3, 1) == lapics);  // APIC IDs 0, 1, 2, 3
    CHECK((u32(m, p + 4) & 1) == 1);
    ++lapics;
  }
  CHECK(lapics == 4);
}

TEST_CASE("writing S5 with SLP_EN to PM1a_CNT powers off: run() ends with status 0", "[pc]") {
  Pc pc(config(1), default_cpu_model());
  pc.io().write(AcpiPm::DEFAULT_BASE + AcpiPm::PM1_CNT_OFFSET, 2,
                AcpiPm::SCI_EN | (AcpiPm::SLP_TYP_S5 << AcpiPm::SLP_TYP_SHIFT) | AcpiPm::SLP_EN);
  const PcOutcome out = pc.run();
  CHECK(out.status == pc_exit::POWER_OFF);
  CHECK(out.reason == "power-off");
}

TEST_CASE("the HPET in legacy replacement mode takes IRQ0 from the PIT", "[pc]") {
  Pc pc(config(1), default_cpu_model());
  init_bios_devices(pc.io());  // the PIT runs mode 3 on IRQ0
  Memory& m = pc.mem();
  // Let the PIT raise IRQ0 once: the PIC requests it.
  pc.cpu().s.insn_count += 60000000;
  pc.clock().fire_expired();
  CHECK(pc.cpu().intr_line);
  pc.cpu().intr_source->intr_acknowledge();
  pc.io().write(0x20, 1, 0x20);  // EOI
  // Legacy replacement on (HPET spec 2.3.9.1): PIT edges no longer reach IRQ0.
  m.write_phys(Hpet::DEFAULT_BASE + Hpet::GEN_CONF, 4, Hpet::LEG_RT_CNF);
  REQUIRE(pc.hpet().legacy_replacement());
  pc.cpu().s.insn_count += 60000000;
  pc.clock().fire_expired();
  CHECK_FALSE(pc.cpu().intr_line);
}
