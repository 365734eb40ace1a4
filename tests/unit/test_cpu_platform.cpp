// What the PC integration needed from the CPU core: IA32_BIOS_SIGN_ID and
// IA32_PLATFORM_ID, CPUID.01H:EBX[31:24] and 0BH:EDX = the CPU's initial
// APIC ID, and the Cpu::Platform hook through which a machine's local APIC
// owns MSRs and CR8.
#include <catch.hpp>

#include <map>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

constexpr uint64_t LOAD = 0x10000;

struct LongMachine {
  Memory mem{64 << 20};
  Cpu cpu{mem, default_cpu_model()};
  BlockCache blocks{default_cpu_model()};
  explicit LongMachine(const std::string& body) {
    cpu.s = setup_flat(mem, test::assemble_nasm("bits 64\norg 0x10000\n" + body), LOAD, FlatMode::Long64);
    cpu.blocks = &blocks;
    cpu.update_mode();
  }
  StopReason run() { return cpu.run(10000); }
};

// A Platform that owns MSR 0x1b and 0x800 and records CR8 writes.
struct FakePlatform : Cpu::Platform {
  std::map<uint32_t, uint64_t> msrs{{0x1b, 0xfee00900}, {0x800, 0}};
  uint64_t cr8 = 0;
  std::vector<uint32_t> written;
  bool read_msr(uint32_t index, uint64_t& value, bool& ok) override {
    if (!msrs.count(index)) return false;
    value = msrs[index];
    ok = true;
    return true;
  }
  bool write_msr(uint32_t index, uint64_t value, bool& ok) override {
    if (!msrs.count(index)) return false;
    ok = index != 0x800 || value < 16;  // anything else: #GP(0)
    if (ok) msrs[index] = value;
    return true;
  }
  void msr_written(uint32_t index) override { written.push_back(index); }
  uint64_t read_cr8() override { return cr8; }
  void write_cr8(uint64_t v) override { cr8 = v; }
};

}  // namespace

TEST_CASE("IA32_BIOS_SIGN_ID: 0 written, CPUID 1 deposits the model's revision; IA32_PLATFORM_ID reads 0") {
  LongMachine m(R"(
  mov ecx, 0x8b
  xor eax, eax
  xor edx, edx
  wrmsr
  mov eax, 1
  cpuid
  mov ecx, 0x8b
  mov eax, -1
  mov edx, -1
  rdmsr
  mov r8, rax
  mov r9, rdx
  mov ecx, 0x17
  mov eax, -1
  mov edx, -1
  rdmsr
  hlt
)");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.cpu.s.gpr[R8] == 0);
  CHECK(m.cpu.s.gpr[R9] == m.cpu.model.microcode_revision);  // SDM Vol. 3A 10.11.7.1
  CHECK(m.cpu.s.gpr[R9] != 0);
  CHECK(m.cpu.s.gpr[RAX] == 0);
  CHECK(m.cpu.s.gpr[RDX] == 0);
}

TEST_CASE("CPUID.01H:EBX[31:24] and 0BH:EDX are the CPU's initial APIC ID, the other bits the model's") {
  LongMachine m("mov eax, 1\ncpuid\nmov r8, rbx\nmov eax, 0xb\nmov ecx, 1\ncpuid\nhlt\n");
  m.cpu.initial_apic_id = 3;
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK((m.cpu.s.gpr[R8] >> 24) == 3);
  CHECK((m.cpu.s.gpr[R8] & 0xffffff) == (default_cpu_model().cpuid(1, 0).ebx & 0xffffff));
  REQUIRE(default_cpu_model().find_leaf(0xb, 1));  // the default (Intel) model has leaf 0BH
  CHECK(m.cpu.s.gpr[RDX] == 3);
  CHECK(m.cpu.s.gpr[RCX] == default_cpu_model().cpuid(0xb, 1).ecx);
}

TEST_CASE("Cpu::Platform owns its MSRs and CR8; the core keeps the others and reports writes") {
  LongMachine m(R"(
  mov ecx, 0x1b
  rdmsr
  mov r8, rax
  mov ecx, 0x800
  mov eax, 5
  xor edx, edx
  wrmsr
  mov ecx, 0x10          ; IA32_TSC: the core's
  xor eax, eax
  xor edx, edx
  wrmsr
  mov rax, 9
  mov cr8, rax
  mov r9, cr8
  mov ecx, 0x800
  mov eax, 99            ; refused by the platform: #GP(0), no IDT
  wrmsr
  hlt
)");
  FakePlatform p;
  m.cpu.platform = &p;
  REQUIRE(m.run() == StopReason::Shutdown);
  CHECK(m.cpu.s.gpr[R8] == 0xfee00900);
  CHECK(p.msrs[0x800] == 5);
  CHECK(p.written == std::vector<uint32_t>{0x10});
  CHECK(p.cr8 == 9);
  CHECK(m.cpu.s.cr8 == 0);  // CR8 went to the platform
  CHECK(m.cpu.s.gpr[R9] == 9);
}
