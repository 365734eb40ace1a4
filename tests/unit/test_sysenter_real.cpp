// SYSENTER and SYSEXIT in real-address mode raise #GP(0) (SDM Vol. 2
// SYSENTER: "IF CR0.PE = 0 OR IA32_SYSENTER_CS[15:2] = 0 THEN #GP(0)",
// SYSEXIT likewise; AMD APM Vol. 3 SYSENTER/SYSEXIT: #GP in real mode),
// not #UD: the decoder must recognize 0F 34 / 0F 35 there.
#include <catch.hpp>

#include "decoder/decoder.h"
#include "tests/unit/test_flat_machine.h"

using namespace softvt;
using test::FlatMachine;

namespace {

constexpr uint16_t UD_HANDLER = 0x10, GP_HANDLER = 0x20, INSN = 0x60;

// The #UD and #GP handlers record which one ran (at DS:0x800) and the
// pushed IP (DS:0x802); real mode pushes no error code.
std::string program(const std::string& insn) {
  return "bits 16\norg 0\n jmp start\n"
         " times 0x10-($-$$) nop\n"
         " mov word [0x800], 6\n pop word [0x802]\n hlt\n"
         " times 0x20-($-$$) nop\n"
         " mov word [0x800], 13\n pop word [0x802]\n hlt\n"
         " times 0x30-($-$$) nop\n"
         "start:\n mov ax, cs\n mov ds, ax\n mov ss, ax\n mov sp, 0xf000\n"
         " mov ecx, 0x174\n mov eax, 0x08\n xor edx, edx\n wrmsr\n"  // a usable SYSENTER_CS
         " times 0x60-($-$$) nop\n " + insn + "\n hlt\n";
}

}  // namespace

TEST_CASE("SYSENTER and SYSEXIT decode in real mode", "[sysenter]") {
  Decoder d(default_cpu_model());
  for (uint8_t op : {0x34, 0x35}) {
    const uint8_t bytes[] = {0x0f, op, 0x90, 0x90};
    Insn in;
    REQUIRE(d.decode(bytes, sizeof bytes, DecodeMode::Real16, in) == DecodeStatus::Ok);
    CHECK(in.mnemonic == (op == 0x34 ? ZYDIS_MNEMONIC_SYSENTER : ZYDIS_MNEMONIC_SYSEXIT));
    CHECK(in.len == 2);
  }
}

TEST_CASE("SYSENTER and SYSEXIT in real mode: #GP(0) on both vendors, even with SYSENTER_CS set", "[sysenter]") {
  for (const char* cpu : {"intel", "amd"})
    for (const char* insn : {"sysenter", "sysexit"}) {
      INFO(cpu << " " << insn);
      FlatMachine m(FlatMode::Real16, program(insn), cpu);
      m.real_vector(6, UD_HANDLER);
      m.real_vector(13, GP_HANDLER);
      REQUIRE(m.cpu.run(100) == StopReason::Hlt);
      const uint64_t ds = FlatMachine::LOAD;
      CHECK(m.u16(ds + 0x800) == 13);
      CHECK(m.u16(ds + 0x802) == INSN);  // a fault: the IP of the instruction
    }
}

TEST_CASE("LAR stays #UD in real mode (SDM Vol. 2 LAR: not recognized in real-address mode)", "[sysenter]") {
  FlatMachine m(FlatMode::Real16, program("lar ax, bx"));
  m.real_vector(6, UD_HANDLER);
  m.real_vector(13, GP_HANDLER);
  REQUIRE(m.cpu.run(100) == StopReason::Hlt);
  CHECK(m.u16(FlatMachine::LOAD + 0x800) == 6);
  CHECK(m.u16(FlatMachine::LOAD + 0x802) == INSN);
}
