// What the PC integration needed from the CPU core: SYSCALL/SYSRET
// (emu/interp/syscall.cpp, SDM Vol. 2B), IA32_BIOS_SIGN_ID and
// IA32_PLATFORM_ID, CPUID.01H:EBX[31:24] = the initial APIC ID, and the
// Cpu::Platform hook through which a machine's local APIC owns MSRs and CR8.
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

// STAR: SYSCALL CS = 0x08 (SS 0x10); SYSRET base 0x10: 64-bit CS 0x23,
// SS 0x1b. LSTAR = `kernel`, FMASK = TF | IF | DF | AC.
const char* kMsrSetup = R"(
  mov ecx, 0xc0000081
  xor eax, eax
  mov edx, 0x00100008
  wrmsr
  mov ecx, 0xc0000082
  mov rax, kernel
  xor edx, edx
  wrmsr
  mov ecx, 0xc0000084
  mov eax, 0x40700
  xor edx, edx
  wrmsr
)";

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

TEST_CASE("SYSRET to 64-bit ring 3 and SYSCALL back (SDM Vol. 2B SYSCALL, SYSRET)") {
  LongMachine m(std::string(kMsrSetup) + R"(
  mov rcx, user
  mov r11, 0x40ed5       ; AC OF DF IF SF ZF AF PF CF
  mov rsp, 0x30000
  o64 sysret
user:
  mov rbx, rsp
  syscall
after_syscall:
kernel:
  hlt
)");
  REQUIRE(m.run() == StopReason::Hlt);
  const CpuState& s = m.cpu.s;
  // SYSCALL: RCX = the address after it, R11 = RFLAGS in ring 3 (the
  // SYSRET image masked with 3C7FD7H, bit 1 set).
  CHECK(s.gpr[R11] == ((0x40ed5 & 0x3c7fd7) | 2));
  CHECK(s.rip > s.gpr[RCX]);  // halted at `kernel`, after the SYSCALL
  CHECK(s.cpl == 0);
  CHECK(s.seg[CS].sel == 0x08);
  CHECK((s.seg[CS].attr & ar::L));
  CHECK(s.seg[CS].dpl() == 0);
  CHECK(s.seg[SS].sel == 0x10);
  CHECK(s.seg[SS].dpl() == 0);
  // FMASK cleared TF, IF, DF and AC; the rest stays.
  CHECK((s.rflags & (fl::TF | fl::IF | fl::DF | fl::AC)) == 0);
  CHECK((s.rflags & 0xd5) == 0xd5);
  CHECK(s.gpr[RBX] == 0x30000);  // ring 3 ran with the stack SYSRET left
}

TEST_CASE("SYSRET without REX.W returns to compatibility mode with CS = STAR[63:48] | 3") {
  LongMachine m(std::string(kMsrSetup) + R"(
  mov rcx, 0x1234567800000000 + user32
  mov r11, 0x2
  sysret
user32:
  hlt                     ; #GP(0) at CPL 3: no IDT -> shutdown
kernel:
)");
  REQUIRE(m.run() == StopReason::Shutdown);
  const CpuState& s = m.cpu.s;
  CHECK(s.seg[CS].sel == 0x13);
  CHECK((s.seg[CS].attr & ar::DB));
  CHECK(!(s.seg[CS].attr & ar::L));
  CHECK(s.seg[SS].sel == 0x1b);
  CHECK(s.cpl == 3);
  CHECK(s.rip < 0x100000000ull);  // RIP = ECX, zero-extended
}

TEST_CASE("SYSCALL is #UD with EFER.SCE = 0; SYSRET is #GP(0) at CPL 3 and with a non-canonical RCX") {
  SECTION("SCE clear") {
    LongMachine m("syscall\nhlt\n");
    m.cpu.s.efer &= ~efer::SCE;
    REQUIRE(m.run() == StopReason::Shutdown);  // #UD, no IDT
    CHECK(m.cpu.s.rip == LOAD);
  }
  SECTION("non-canonical RCX") {
    LongMachine m("mov rcx, 0x0000800000000000\no64 sysret\nhlt\n");
    REQUIRE(m.run() == StopReason::Shutdown);
    CHECK(m.cpu.s.cpl == 0);          // nothing committed
    CHECK(m.cpu.s.seg[CS].sel == 0x08);
  }
}

TEST_CASE("IA32_BIOS_SIGN_ID reads 0 and accepts writes; IA32_PLATFORM_ID reads 0") {
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
  CHECK(m.cpu.s.gpr[R9] == 0);
  CHECK(m.cpu.s.gpr[RAX] == 0);
  CHECK(m.cpu.s.gpr[RDX] == 0);
}

TEST_CASE("CPUID.01H:EBX[31:24] is the CPU's initial APIC ID, the other bits the model's") {
  LongMachine m("mov eax, 1\ncpuid\nhlt\n");
  m.cpu.initial_apic_id = 3;
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK((m.cpu.s.gpr[RBX] >> 24) == 3);
  CHECK((m.cpu.s.gpr[RBX] & 0xffffff) == (default_cpu_model().cpuid(1, 0).ebx & 0xffffff));
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
