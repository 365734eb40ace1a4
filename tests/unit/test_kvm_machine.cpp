// `softvt run --kernel ... --accel kvm` (emu/accel/kvm_pc.h): the PC
// machine with its CPUs on host KVM. Each project test kernel must print
// the same serial output and end with the same exit status as under the
// interpreter - with one CPU and, for the APIC/SMP kernel, with two and
// four (INIT-SIPI-SIPI, IPIs and timers through softvt's local APICs,
// injected into KVM), and ring-3 SYSCALLs, which this host's KVM leaves
// in ring 3 for softvt to complete (emu/accel/kvm_syscall_entry.h).
// Options that need instruction counts are refused. The main
// (catch_main_kvm.cpp) skips the executable where /dev/kvm is unusable.
#include <catch.hpp>

#include <cstdlib>
#include <string>

#include "tests/unit/cli_support.h"

namespace {

using softvt::test::CliResult;

CliResult run_softvt(const std::string& args) {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  return softvt::test::shell(std::string("timeout 300 ") + exe + " run " + args);
}

std::string kernel(const std::string& name) {
  const char* dir = std::getenv("SOFTVT_KERNEL_DIR");
  REQUIRE(dir);
  return std::string(dir) + "/" + name + ".elf";
}

void same_on_both(const std::string& args) {
  const CliResult interp = run_softvt(args);
  const CliResult kvm = run_softvt(args + " --accel kvm");
  INFO("softvt run " << args << "\ninterp stderr: " << interp.err << "kvm stderr: " << kvm.err);
  // The kernels report through isa-debug-exit: an odd status, never a
  // backend error (1) or bad input (2).
  REQUIRE(interp.status % 2 == 1);
  CHECK(kvm.status == interp.status);
  CHECK(kvm.out == interp.out);
  CHECK(!kvm.out.empty());
}

}  // namespace

TEST_CASE("the test kernels behave the same on KVM as on the interpreter") {
  for (const char* k : {"pc_devices", "long_mode", "elf64_plain", "syscall_user"})
    DYNAMIC_SECTION(k) { same_on_both("--kernel " + kernel(k)); }
  for (const char* n : {"1", "2", "4"})
    DYNAMIC_SECTION("apic_smp --smp " << n) { same_on_both("--kernel " + kernel("apic_smp") + " --smp " + n); }
}

TEST_CASE("the AMD model on KVM") {
  same_on_both("--kernel " + kernel("apic_smp") + " --smp 2 --cpu amd");
}

TEST_CASE("--accel kvm refuses what needs instruction counts") {
  const std::string k = "--kernel " + kernel("long_mode") + " --accel kvm";
  for (const char* opt : {"--max-insns 1000", "--clock insns", "--trace /dev/null"}) {
    const CliResult r = run_softvt(k + " " + opt);
    INFO(opt << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(std::string(opt).substr(0, std::string(opt).find(' '))) != std::string::npos);
    CHECK(r.err.find("--accel kvm") != std::string::npos);
  }
  const CliResult bad = run_softvt("--kernel " + kernel("long_mode") + " --accel jit");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("'jit'") != std::string::npos);
}

TEST_CASE("--accel kvm without a usable KVM device says why") {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  const CliResult r = softvt::test::shell(std::string("SOFTVT_KVM_DEVICE=/nonexistent/kvm ") + exe + " run --kernel " +
                                  kernel("long_mode") + " --accel kvm");
  CHECK(r.status == 1);
  CHECK(r.err.find("--accel kvm: /nonexistent/kvm: No such file or directory") != std::string::npos);
  CHECK(r.out.empty());
}
