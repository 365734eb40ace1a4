// `softvt demo`: the built-in guests run to their end and the VMX part
// shows what issue 4 asks of it: an L2 with exits of several kinds, one
// VMfail and one failed VM entry, each with its check's name.
#include <catch.hpp>
#include <cstdlib>
#include <string>

#include "cli_support.h"

using softvt::test::CliResult;
using softvt::test::shell;

namespace {
CliResult demo(const std::string& args) { return shell(std::string(std::getenv("SOFTVT")) + " demo" + args); }
bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("demo on the intel model: mode switches, then an L1 hypervisor with an L2", "[demo]") {
  CliResult r = demo("");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(has(r.out, "CPUID vendor: GenuineIntel"));
  CHECK(has(r.out, "now in 64-bit long mode"));
  // The exits the L2 takes, named by softvt and seen by the L1 (SDM Appendix C numbers).
  for (const char* exit : {"VM exit: CPUID (10)", "VM exit: I/O instruction (30)", "VM exit: RDMSR (31)",
                           "VM exit: HLT (12)", "VM exit: RDTSC (16)", "VM exit: VMCALL (18)"})
    CHECK(has(r.out, exit));
  for (const char* reason : {"basic reason 10", "basic reason 30", "basic reason 31", "basic reason 12",
                             "basic reason 16", "basic reason 18"})
    CHECK(has(r.out, reason));
  // The VMfail: a control check, VMfailValid(7) (SDM 28.2.1.1).
  CHECK(has(r.out, "failed check: CR3-target count above IA32_VMX_MISC[24:16] [SDM 28.2.1.1"));
  CHECK(has(r.out, "VMfailValid, VM-instruction error 7"));
  // The failed entry: a guest-state check, exit reason 33 with bit 31 (SDM 28.3.1.4).
  CHECK(has(r.out, "failed check: guest RFLAGS: reserved bits [SDM 28.3.1.4"));
  CHECK(has(r.out, "VM-entry failure: exit reason 80000021H, qualification 0"));
  CHECK(has(r.out, "summary: 6 VM entries, 7 VM exits"));
  CHECK(has(r.out, "2 failed VM entries"));
}

TEST_CASE("demo on the amd model: an L1 hypervisor on SVM with an L2", "[demo]") {
  CliResult r = demo(" --cpu amd");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(has(r.out, "CPUID vendor: AuthenticAMD"));
  CHECK_FALSE(has(r.out, "VMX"));
  // The intercepted instructions, named by softvt and seen by the L1 (APM Appendix C codes).
  for (const char* exit : {"#VMEXIT: VMEXIT_CPUID (114)", "#VMEXIT: VMEXIT_IOIO (123)", "#VMEXIT: VMEXIT_MSR (124)",
                           "#VMEXIT: VMEXIT_HLT (120)", "#VMEXIT: VMEXIT_RDTSC (110)", "#VMEXIT: VMEXIT_VMMCALL (129)"})
    CHECK(has(r.out, exit));
  for (const char* code : {"exit code 0000000000000072H", "exit code 000000000000007bH", "exit code 000000000000007cH",
                           "exit code 0000000000000078H", "exit code 000000000000006eH", "exit code 0000000000000081H"})
    CHECK(has(r.out, code));
  // VMRUN with ASID 0: VMEXIT_INVALID as the full 64-bit -1 (APM 15.5.1), naming the check.
  CHECK(has(r.out, "VMRUN failed its checks: #VMEXIT, exit code ffffffffffffffffH"));
  CHECK(has(r.out, "failed check: asid_zero [APM Vol. 2 15.5.1]"));
  CHECK(has(r.out, "summary: 6 VM entries, 7 VM exits"));
}

TEST_CASE("demo without VMX or SVM: no part 2", "[demo]") {
  CliResult novmx = demo(" --cpu intel,-vmx");
  CHECK(novmx.status == 0);
  CHECK_FALSE(has(novmx.out, "part 2"));
  CliResult nosvm = demo(" --cpu amd,-svm");
  CHECK(nosvm.status == 0);
  CHECK_FALSE(has(nosvm.out, "part 2"));
}

TEST_CASE("demo rejects unknown options and models by name", "[demo]") {
  CliResult r = demo(" --cpu pentium");
  CHECK(r.status == 2);
  CHECK(has(r.err, "pentium"));
  CliResult o = demo(" --fast");
  CHECK(o.status == 2);
  CHECK(has(o.err, "--fast"));
}
