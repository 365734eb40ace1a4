// The xAPIC MMIO page follows each CPU's IA32_APIC_BASE (SDM 11.4.1,
// 11.4.5 "Relocating the Local APIC Registers": "individual processors in
// an MP system [may] map their APIC registers to different locations"):
// emu/devices/lapic_windows.h and its wiring in the PC.
#include <catch.hpp>

#include <memory>
#include <set>
#include <vector>

#include "emu/cpu.h"
#include "emu/devices/lapic.h"
#include "emu/devices/lapic_windows.h"
#include "emu/machine/pc.h"

using namespace softvt;

namespace {

constexpr uint64_t DEFAULT = 0xfee00000, MOVED = 0xfe800000, ELSEWHERE = 0xfe900000;
constexpr uint32_t ID_REG = 0x20;  // APIC ID register: ID in bits 31:24
constexpr uint64_t EN = apic::base::EN, BSP = apic::base::BSP;

// Two CPUs on one bus sharing `mem`; `executing` picks whose access it is.
struct TwoApics {
  Memory mem{16 << 20};
  Cpu cpu0{mem, default_cpu_model()}, cpu1{mem, default_cpu_model()};
  ApicBus bus;
  std::unique_ptr<LocalApic> apic[2];
  unsigned executing = 0;
  LapicWindows windows{mem, {[this]() -> LocalApic& { return *apic[executing]; }, [] { return uint64_t(0); },
                             nullptr}};
  TwoApics() {
    for (unsigned i = 0; i < 2; ++i) {
      LocalApic::Config c;
      c.apic_id = i;
      c.bsp = i == 0;
      apic[i] = std::make_unique<LocalApic>(i == 0 ? &cpu0 : &cpu1, &bus, c);
    }
    update();
  }
  void update() { windows.update({apic[0].get(), apic[1].get()}); }
  bool move(unsigned i, uint64_t base) {
    const bool ok = apic[i]->write_msr(0, apic::msr::APIC_BASE, base | EN | (i == 0 ? BSP : 0));
    update();
    return ok;
  }
  uint32_t read_id(unsigned cpu, uint64_t base) {
    executing = cpu;
    return uint32_t(mem.read_phys(base + ID_REG, 4));
  }
};

}  // namespace

TEST_CASE("a CPU that moves its APIC base finds its APIC at the new base, and only there", "[lapic_windows]") {
  TwoApics t;
  CHECK(t.read_id(0, DEFAULT) == 0u << 24);
  CHECK(t.read_id(1, DEFAULT) == 1u << 24);
  REQUIRE(t.move(0, MOVED));
  CHECK(t.read_id(0, MOVED) == 0u << 24);
  CHECK(t.read_id(0, DEFAULT) == 0xffffffffu);  // CPU 0's APIC is no longer there
  CHECK(t.read_id(1, DEFAULT) == 1u << 24);     // CPU 1's still is
  CHECK(t.read_id(1, MOVED) == 0xffffffffu);
  // Writes reach the APIC at its new base only: the TPR (offset 0x80).
  t.executing = 0;
  t.mem.write_phys(MOVED + 0x80, 4, 0x30);
  CHECK(t.apic[0]->mmio_read(0, 0x80, 4) == 0x30);
  t.mem.write_phys(DEFAULT + 0x80, 4, 0x50);
  CHECK(t.apic[0]->mmio_read(0, 0x80, 4) == 0x30);
}

TEST_CASE("a window nobody uses is unmapped; moving back maps it again", "[lapic_windows]") {
  TwoApics t;
  REQUIRE(t.move(0, MOVED));
  REQUIRE(t.move(1, ELSEWHERE));
  CHECK(t.windows.bases() == std::set<uint64_t>{MOVED, ELSEWHERE});
  CHECK(t.read_id(1, ELSEWHERE) == 1u << 24);
  CHECK(t.read_id(0, DEFAULT) == 0xffffffffu);
  // Moving around never leaves more than one window per CPU.
  for (uint64_t b = 0xfd000000; b < 0xfd000000 + 64 * 0x1000; b += 0x1000) REQUIRE(t.move(0, b));
  CHECK(t.windows.bases().size() == 2);
  REQUIRE(t.move(0, DEFAULT));
  REQUIRE(t.move(1, DEFAULT));
  CHECK(t.windows.bases() == std::set<uint64_t>{DEFAULT});
  CHECK(t.read_id(0, DEFAULT) == 0u << 24);
  CHECK(t.read_id(1, DEFAULT) == 1u << 24);
}

TEST_CASE("no window over RAM or over another device's MMIO range (not modelled)", "[lapic_windows]") {
  TwoApics t;
  t.mem.map_mmio(0xfec00000, 0x1000, MmioHandler{[](uint64_t, unsigned) { return uint64_t(0x1234); },
                                                 [](uint64_t, unsigned, uint64_t) {}});
  REQUIRE(t.move(0, 0xfec00000));
  CHECK(t.read_id(0, 0xfec00000) == 0x1234);  // the device keeps answering
  REQUIRE(t.move(0, 0x100000));               // inside the 16 MiB of RAM
  CHECK(t.read_id(0, 0x100000) == 0);         // RAM (zeroed) stays visible
  CHECK(t.windows.bases() == std::set<uint64_t>{DEFAULT});
}

TEST_CASE("the PC moves the BSP's xAPIC page on a WRMSR to IA32_APIC_BASE", "[lapic_windows]") {
  PcConfig c;
  c.ram_bytes = 16ull << 20;
  Pc pc(c, default_cpu_model());
  Cpu& bsp = pc.cpu();
  CHECK(pc.mem().read_phys(DEFAULT + ID_REG, 4) == 0);  // APIC ID 0
  bool ok = false;
  REQUIRE(bsp.platform->write_msr(apic::msr::APIC_BASE, MOVED | EN | BSP, ok));
  REQUIRE(ok);
  pc.mem().write_phys(MOVED + 0x80, 4, 0x20);  // TPR through the new page
  CHECK(pc.lapic().mmio_read(0, 0x80, 4) == 0x20);
  CHECK(pc.mem().read_phys(DEFAULT + ID_REG, 4) == 0xffffffffu);
}
