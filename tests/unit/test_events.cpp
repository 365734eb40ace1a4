// Events taken between instructions (emu/events.cpp): the INTR line with
// RFLAGS.IF and the STI / MOV SS shadows, NMI and its blocking until IRET,
// and a halted CPU woken by an interrupt (SDM 6.3, 6.7.1, 6.8.3, 6.9).
#include <catch.hpp>

#include <cstring>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

constexpr uint64_t LOAD = 0x10000;

// A controller that answers one fixed vector and drops its request on
// acknowledge, as an edge-triggered 8259A input does.
struct OneShot : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  uint8_t vector = 0x20;
  unsigned acks = 0;
  uint8_t intr_acknowledge() override {
    ++acks;
    cpu->intr_line = false;
    return vector;
  }
};

// Real-mode program whose IVT entries 0x20 and 2 (NMI) point at `handler`
// (segment LOAD >> 4).
struct RealMachine {
  Memory mem{16 << 20};
  Cpu cpu{mem, default_cpu_model()};
  BlockCache blocks{default_cpu_model()};
  OneShot source;

  explicit RealMachine(const std::string& body) {
    const std::string src = "bits 16\norg 0\n" + body;
    cpu.s = setup_flat(mem, test::assemble_nasm(src), LOAD, FlatMode::Real16);
    cpu.s.idtr = DescTable{0, 0x3ff, 0};
    cpu.blocks = &blocks;
    cpu.update_mode();
    source.cpu = &cpu;
    cpu.intr_source = &source;
  }
  uint16_t word(uint64_t addr) {
    uint16_t v;
    std::memcpy(&v, mem.ram() + addr, 2);
    return v;
  }
  void set_vector(uint8_t v, uint16_t offset) {
    const uint32_t entry = offset | (uint32_t(LOAD >> 4) << 16);
    std::memcpy(mem.ram() + 4 * v, &entry, 4);
  }
};

// The handler records SI and DI at the moment of the interrupt and counts
// its entries at LOAD+0x800 (DS = LOAD >> 4).
const char* kHandler =
    "handler:\n inc word [0x800]\n mov [0x802], si\n mov [0x804], di\n iret\n";

}  // namespace

TEST_CASE("INTR waits for IF and for the instruction after STI", "[events]") {
  RealMachine m(std::string("start:\n mov cx, 20\nspin: inc bx\n loop spin\n sti\n inc si\n inc di\n hlt\n") +
                kHandler);
  // The handler follows the program: its offset is the program's length.
  const uint16_t handler = uint16_t(test::assemble_nasm("bits 16\nstart:\n mov cx, 20\nspin: inc bx\n loop spin\n sti\n inc si\n inc di\n hlt\n").size());
  m.set_vector(0x20, handler);
  m.cpu.intr_line = true;  // requested from the start, while IF = 0
  REQUIRE(m.cpu.run(1000) == StopReason::Hlt);
  CHECK(m.source.acks == 1);
  CHECK(m.word(LOAD + 0x800) == 1);
  // Taken after the instruction following STI (SI incremented), not before
  // INC DI (SDM Vol. 2 STI).
  CHECK(m.word(LOAD + 0x802) == 1);
  CHECK(m.word(LOAD + 0x804) == 0);
  CHECK(m.cpu.s.gpr[RBX] == 20);  // the loop ran with IF = 0, uninterrupted
}

TEST_CASE("A halted CPU wakes for INTR and returns after HLT", "[events]") {
  const std::string prog = "start:\n sti\n hlt\n inc di\n hlt\n";
  RealMachine m(prog + kHandler);
  m.set_vector(0x20, uint16_t(test::assemble_nasm("bits 16\n" + prog).size()));
  REQUIRE(m.cpu.run(1000) == StopReason::Hlt);
  CHECK(m.source.acks == 0);
  m.cpu.intr_line = true;
  REQUIRE(m.cpu.run(1000) == StopReason::Hlt);
  CHECK(m.source.acks == 1);
  CHECK(m.word(LOAD + 0x800) == 1);
  CHECK(m.word(LOAD + 0x804) == 0);   // interrupted before INC DI ...
  CHECK(m.cpu.s.gpr[RDI] == 1);       // ... which ran after IRET
}

TEST_CASE("NMI ignores IF, stays blocked until IRET, and MOV SS delays it", "[events]") {
  // The handler counts its entries; the test latches a second NMI while
  // the first handler runs.
  const std::string prog = "start:\n mov ax, ss\n mov ss, ax\n inc si\n nop\n nop\n hlt\n";
  RealMachine m(prog + "handler:\n inc word [0x800]\n mov [0x802], si\n mov ax, [0x800]\n mov [0x806], ax\n iret\n");
  m.set_vector(2, uint16_t(test::assemble_nasm("bits 16\n" + prog).size()));
  // Run to just after MOV SS (2 instructions), then latch an NMI: the MOV SS
  // shadow holds it for one more instruction (INC SI).
  REQUIRE(m.cpu.run(2) == StopReason::Limit);
  m.cpu.nmi_pending = true;
  REQUIRE(m.cpu.run(4) == StopReason::Limit);  // INC SI, then into the handler
  CHECK(m.cpu.s.nmi_blocked == 1);
  CHECK(m.word(LOAD + 0x800) == 0);
  m.cpu.nmi_pending = true;  // a second NMI while the first is being handled
  // Three handler instructions later it is still latched, not taken.
  REQUIRE(m.cpu.run(m.cpu.s.insn_count + 3) == StopReason::Limit);
  CHECK(m.word(LOAD + 0x800) == 1);
  CHECK(m.cpu.nmi_pending);
  REQUIRE(m.cpu.run(1000) == StopReason::Hlt);
  // Two entries, the second only after the first handler's IRET: each saw
  // the count 1 then 2 at its own [0x806] store.
  CHECK(m.word(LOAD + 0x800) == 2);
  CHECK(m.word(LOAD + 0x802) == 1);  // SI was incremented before the first NMI
  CHECK(m.cpu.s.nmi_blocked == 0);
  CHECK(!m.cpu.nmi_pending);
}
