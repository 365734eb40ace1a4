// The microcode revision each CPU model reports: Intel's IA32_BIOS_SIGN_ID
// protocol (SDM Vol. 3A 10.11.7.1: WRMSR 0 to 8BH, CPUID leaf 1, RDMSR 8BH
// reads the update signature in EDX) and AMD's patch level in MSR 8BH[31:0]
// (AMD PPR MSR0000_008B "Patch Level"; Linux's early_init_amd reads it there).
#include <catch.hpp>

#include "tests/unit/test_flat_machine.h"

using namespace softvt;
using test::FlatMachine;

namespace {

// Linux 6.1 keeps the TSC-deadline timer of a family 6 model 55H stepping 4
// CPU only from this microcode revision on (arch/x86/kernel/apic/apic.c,
// deadline_match, SKYLAKE_X stepping 4); with a lower one it prints
// "TSC_DEADLINE disabled due to Errata" and uses the APIC's one-shot mode.
constexpr uint32_t LINUX_SKX_DEADLINE_MIN_REV = 0x02000014;

// R8 = MSR 8BH read before CPUID (after writing 0), R9 = after CPUID 1,
// R10 = after a CPUID with another leaf on a fresh 0.
const char* kProtocol =
    "bits 64\n"
    " mov ecx, 0x8b\n xor eax, eax\n xor edx, edx\n wrmsr\n"
    " rdmsr\n shl rdx, 32\n or rax, rdx\n mov r8, rax\n"
    " mov eax, 1\n cpuid\n mov ecx, 0x8b\n rdmsr\n shl rdx, 32\n or rax, rdx\n mov r9, rax\n"
    " mov ecx, 0x8b\n xor eax, eax\n xor edx, edx\n wrmsr\n"
    " xor eax, eax\n cpuid\n mov ecx, 0x8b\n rdmsr\n shl rdx, 32\n or rax, rdx\n mov r10, rax\n"
    " hlt\n";

}  // namespace

TEST_CASE("Intel: CPUID leaf 1 deposits the update signature in IA32_BIOS_SIGN_ID[63:32]", "[microcode]") {
  FlatMachine m(FlatMode::Long64, kProtocol, "intel");
  REQUIRE(m.cpu.run(1000) == StopReason::Hlt);
  const uint32_t rev = m.model.microcode_revision;
  CHECK(rev != 0);
  CHECK(m.cpu.s.gpr[R8] == 0);                    // the 0 software wrote
  CHECK(m.cpu.s.gpr[R9] == uint64_t(rev) << 32);  // EDX = revision, EAX = 0
  CHECK(m.cpu.s.gpr[R10] == 0);                   // only leaf 1 deposits it
}

TEST_CASE("Intel model: Linux's TSC-deadline erratum check passes", "[microcode]") {
  const CpuModel m = parse_cpu_option("intel");
  const uint32_t signature = m.cpuid(1, 0).eax;
  REQUIRE(signature == 0x00050654);  // family 6, model 55H, stepping 4: in Linux's table
  CHECK((m.cpuid(1, 0).ecx >> 24) & 1);  // TSC-deadline reported
  CHECK(m.microcode_revision >= LINUX_SKX_DEADLINE_MIN_REV);
}

TEST_CASE("AMD: MSR 8BH reads the patch level in bits 31:0 and is read-only", "[microcode]") {
  FlatMachine r(FlatMode::Long64, "bits 64\n mov ecx, 0x8b\n rdmsr\n mov r8, rax\n mov r9, rdx\n hlt\n", "amd");
  REQUIRE(r.cpu.run(100) == StopReason::Hlt);
  CHECK(r.model.microcode_revision != 0);
  CHECK(r.cpu.s.gpr[R8] == r.model.microcode_revision);
  CHECK(r.cpu.s.gpr[R9] == 0);
  // WRMSR to it is #GP(0): with the flat runner's empty IDT, a shutdown
  // with RIP on the WRMSR.
  FlatMachine w(FlatMode::Long64, "bits 64\n mov ecx, 0x8b\n xor eax, eax\n xor edx, edx\n wrmsr\n hlt\n", "amd");
  CHECK(w.cpu.run(100) == StopReason::Shutdown);
  CHECK(w.cpu.s.rip == FlatMachine::LOAD + 9);
}
