// The gdb stub driven by the real gdb (Debian package gdb) in batch mode:
// `softvt run --flat PROG --gdb tcp:127.0.0.1:PORT --wait-gdb`, then
// `gdb -batch -ex 'target remote ...' -ex ...`, and the output checked:
// connect, break, continue, step, registers, memory, a watchpoint with its
// old and new values, reverse-stepi and reverse-continue, and the monitor
// commands on the VMX L1 test kernel. Skipped (with the reason) where gdb
// is not installed.
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "tests/unit/gdb_cli_support.h"

using namespace softvt::test;

namespace {

const std::string kProgram = kGuestDir + "/gdb_target_long64.bin";

}  // namespace

TEST_CASE("gdb: connect, break, continue, step, registers and memory", "[gdb][cli]") {
  REQUIRE_GDB();
  Softvt s({"run", "--flat", kProgram, "--debugcon", "stdio"});
  const std::string o = s.gdb({"p/x $rip", "break *0x10010", "continue", "p/x $rip", "p $rax", "stepi",
                               "p/x $rip", "p $rax", "x/2xb 0x10000", "info registers cr0 efer", "p/x $eflags",
                               "x/gx 0x200000000"});
  INFO(o);
  CHECK(contains(o, "$1 = 0x10000"));
  CHECK(contains(o, "Breakpoint 1, 0x0000000000010010"));
  CHECK(contains(o, "$2 = 0x10010"));
  CHECK(contains(o, "$3 = 0"));
  CHECK(contains(o, "$4 = 0x10014"));  // stepi over add rax, 3 (4 bytes)
  CHECK(contains(o, "$5 = 3"));
  CHECK(contains(o, "0x10000:\t0x31\t0xc0"));  // xor eax, eax
  CHECK(std::regex_search(o, std::regex("cr0 +0x80010033")));
  CHECK(std::regex_search(o, std::regex("efer +0xd01")));
  // Unmapped memory: gdb reports an error, softvt goes on.
  CHECK(contains(o, "Cannot access memory at address 0x200000000"));
  // gdb -batch detaches at the end: the run finishes on its own, its
  // output written once.
  CHECK(s.wait_exit() == 0);
  CHECK(s.out() == "ok");
}

TEST_CASE("gdb: a watchpoint stops at the writing instruction with old and new values", "[gdb][cli]") {
  REQUIRE_GDB();
  Softvt s({"run", "--flat", kProgram});
  const std::string o =
      s.gdb({"watch *(long*)0x10100", "continue", "p/x $rip", "continue", "p/x $rip", "x/gx 0x10100"});
  INFO(o);
  CHECK(contains(o, "Hardware watchpoint 1: *(long*)0x10100"));
  CHECK(contains(o, "Old value = 0\nNew value = 3"));
  CHECK(contains(o, "$1 = 0x1001b"));  // after mov [counter], rax
  CHECK(contains(o, "Old value = 3\nNew value = 6"));
  CHECK(contains(o, "$2 = 0x1001b"));
  CHECK(contains(o, "0x10100:\t0x0000000000000006"));
  CHECK(s.wait_exit() == 0);
}

TEST_CASE("gdb: reverse-stepi and reverse-continue rebuild earlier states", "[gdb][cli]") {
  REQUIRE_GDB();
  Softvt s({"run", "--flat", kProgram, "--debugcon", "stdio"});
  const std::string o = s.gdb({"break *0x10010", "continue", "continue", "continue", "p $rax", "reverse-stepi",
                               "p/x $rip", "p $rax", "p $rcx", "reverse-stepi", "p/x $rip", "reverse-continue",
                               "p/x $rip", "p $rax", "x/gx 0x10100", "reverse-continue", "p/x $rip",
                               "reverse-continue", "p/x $rip", "p $rax", "delete", "continue", "p $rax"});
  INFO(o);
  // Third stop at the loop head: two iterations done.
  CHECK(contains(o, "$1 = 6"));
  // One instruction back: the jnz at 0x10020, RAX unchanged, ECX not yet... the dec ran.
  CHECK(contains(o, "$2 = 0x10020"));
  CHECK(contains(o, "$3 = 6"));
  CHECK(contains(o, "$4 = 3"));  // ecx after two decrements
  CHECK(contains(o, "$5 = 0x1001e"));  // dec ecx
  // Back to the previous breakpoint hit: the second loop head.
  CHECK(contains(o, "$6 = 0x10010"));
  CHECK(contains(o, "$7 = 3"));
  CHECK(contains(o, "0x10100:\t0x0000000000000003"));
  // The first hit, then the start of the recording.
  CHECK(contains(o, "$8 = 0x10010"));
  CHECK(contains(o, "No more reverse-execution history."));
  CHECK(contains(o, "$9 = 0x10000"));
  CHECK(contains(o, "$10 = 0"));
  // Forward again to the end: the same result.
  CHECK(contains(o, "$11 = 15"));
  CHECK(s.wait_exit() == 0);
  // The debug console wrote "ok" once, not once per re-execution.
  CHECK(s.out() == "ok");
}


TEST_CASE("gdb: monitor commands in a VMX L1 kernel, and reverse execution across VM exits", "[gdb][cli]") {
  REQUIRE_GDB();
  const uint64_t handler = label_address(kSourceDir + "/tests/guest/vmx_exits_long64.asm", "exit_handler");
  char bp[64];
  std::snprintf(bp, sizeof bp, "break *0x%llx", (unsigned long long)handler);
  Softvt s({"run", "--flat", kGuestDir + "/vmx_exits_long64.bin", "--cpu", "intel"});
  const std::string o = s.gdb({"monitor level", bp, "continue", "monitor last-exit", "monitor level",
                               "monitor failed-check", "monitor vmcs", "continue", "monitor last-exit",
                               "reverse-continue", "monitor last-exit", "monitor walk 0x10000", "kill"});
  INFO(o);
  CHECK(contains(o, "L1\n"));
  // The first exit: CPUID (exit reason 10).
  const size_t first = o.find("VMX: exit reason 10 (");
  REQUIRE(first != std::string::npos);
  CHECK(contains(o, "L1 (VMX root operation)"));
  CHECK(contains(o, "no failed VM entry or VMRUN check"));
  CHECK(std::regex_search(o, std::regex("VM_EXIT_REASON +4402 = 0xa\n")));
  CHECK(std::regex_search(o, std::regex("GUEST_RIP +681e = 0x")));
  // The second exit: VMLAUNCH of a launched VMCS failed (no exit), then HLT (12).
  const size_t second = o.find("VMX: exit reason 12 (", first);
  REQUIRE(second != std::string::npos);
  // Reverse-continue back to the first exit: the VMCS is rebuilt with it.
  CHECK(o.find("VMX: exit reason 10 (", second) != std::string::npos);
  CHECK(contains(o, "-> physical 0x10000 (2-MiB page)"));
}

TEST_CASE("gdb: bad --gdb options are refused with a message", "[gdb][cli]") {
  const auto r1 = shell(kSoftvt + " run --flat " + kProgram + " --gdb tcp:127.0.0.1:notaport");
  CHECK(r1.status == 2);
  CHECK(contains(r1.err, "--gdb: bad port 'notaport'"));
  const auto r2 = shell(kSoftvt + " run --flat " + kProgram + " --wait-gdb");
  CHECK(r2.status == 2);
  CHECK(contains(r2.err, "--wait-gdb needs --gdb"));
  const auto r3 = shell(kSoftvt + " run --flat " + kProgram + " --gdb tcp:1.2.3:99");
  CHECK(r3.status == 2);
  CHECK(contains(r3.err, "bad IPv4 address"));
}

TEST_CASE("gdb: attaching to a machine that is already running stops it where it is", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string prog = "/tmp/softvt_gdb_spin_" + std::to_string(getpid()) + ".bin";
  // An endless loop at 0x10000: inc rax (3 bytes); jmp $-3 (2 bytes).
  {
    std::FILE* f = std::fopen(prog.c_str(), "wb");
    REQUIRE(f);
    const unsigned char code[] = {0x48, 0xff, 0xc0, 0xeb, 0xfb};
    std::fwrite(code, 1, sizeof code, f);
    std::fclose(f);
  }
  Softvt s({"run", "--flat", prog}, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string o = s.gdb({"p $rax > 1000", "p/x $rip", "stepi", "stepi", "p/x $rip", "reverse-stepi",
                               "p/x $rip", "kill"});
  std::remove(prog.c_str());
  INFO(o);
  CHECK(contains(o, "$1 = 1"));  // it ran before gdb came
  CHECK(std::regex_search(o, std::regex("\\$2 = 0x1000[03]")));
  CHECK(std::regex_search(o, std::regex("\\$3 = 0x1000[03]")));
  CHECK(std::regex_search(o, std::regex("\\$4 = 0x1000[03]")));
  CHECK(s.wait_exit() == 0);
}

TEST_CASE("gdb: --trace under gdb records each instruction once, as without gdb", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string base = "/tmp/softvt_gdb_trace_" + std::to_string(getpid());
  const auto plain = shell(kSoftvt + " run --flat " + kProgram + " --trace " + base + ".plain");
  REQUIRE(plain.status == 0);
  {
    Softvt s({"run", "--flat", kProgram, "--trace", base + ".gdb"});
    // Stopped in front of the breakpoint's instruction twice, stepped back over it.
    s.gdb({"break *0x1001e", "continue", "continue", "reverse-stepi", "reverse-stepi", "reverse-continue",
           "delete", "continue"});
    CHECK(s.wait_exit() == 0);
  }
  const std::string a = slurp(base + ".plain"), b = slurp(base + ".gdb");
  std::remove((base + ".plain").c_str());
  std::remove((base + ".gdb").c_str());
  CHECK(a.find("dec ecx") != std::string::npos);
  CHECK(a == b);
}

TEST_CASE("gdb: --gdb needs the interpreter", "[gdb][cli]") {
  const auto r = shell(kSoftvt + " run --flat " + kProgram + " --accel kvm --gdb tcp:127.0.0.1:1");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--gdb: needs --accel interp"));
}

TEST_CASE("gdb: without --wait-gdb and without a debugger the run goes to its end", "[gdb][cli]") {
  const int port = free_port();
  const auto r = shell(kSoftvt + " run --flat " + kProgram + " --debugcon stdio --dump-state - --gdb tcp:127.0.0.1:" +
                       std::to_string(port));
  CHECK(r.status == 0);
  CHECK(contains(r.out, "ok"));
  CHECK(contains(r.out, "\"rax\": \"0xf\""));
}

namespace {

// The addresses gdb prints when it stops ("0x... in ?? ()"), in order.
std::vector<std::string> stop_addresses(const std::string& o) {
  return captures(o, R"((0x[0-9a-f]{16}) in \?\? \(\))");
}

}  // namespace

TEST_CASE("gdb: the PC machine steps backwards by re-executing, its console written once", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string serial = "/tmp/softvt_gdb_serial_" + std::to_string(getpid());
  Softvt s({"run", "--kernel", kernel_path("pc_devices"), "-m", "64", "--serial", "file:" + serial});
  const std::string o = s.gdb({"stepi", "stepi", "stepi", "reverse-stepi", "reverse-stepi", "info threads",
                               "monitor level", "continue"});
  INFO(o);
  const std::vector<std::string> at = stop_addresses(o);
  REQUIRE(at.size() >= 6);
  CHECK(at[1] != at[2]);
  CHECK(at[4] == at[2]);  // one back: where the second stepi stopped
  CHECK(at[5] == at[1]);  // two back
  CHECK(contains(o, "Thread 1 (CPU 0 (L1))"));
  // isa-debug-exit with 0x10: exit status (0x10 << 1) | 1 = 33 = 041.
  CHECK(contains(o, "exited with code 041"));
  CHECK(s.wait_exit() == 33);
  const std::string text = slurp(serial);
  std::remove(serial.c_str());
  size_t oks = 0;
  for (size_t p = text.find("\nok "); p != std::string::npos; p = text.find("\nok ", p + 1)) ++oks;
  CHECK(oks == 19);  // as without gdb (test_kernels.cpp): nothing written twice
}

TEST_CASE("gdb: monitor commands after failed VMRUNs in the SVM L1 kernel", "[gdb][cli]") {
  REQUIRE_GDB();
  Softvt s({"run", "--flat", kGuestDir + "/svm_instructions_long64.bin", "--cpu", "amd"});
  const std::string o = s.gdb({"continue", "monitor level", "monitor last-exit", "monitor failed-check",
                               "monitor vmcb", "monitor vmcs", "kill"});
  INFO(o);
  CHECK(contains(o, "L1 (EFER.SVME = 1"));
  // The kernel ends after VMRUNs that each fail one consistency check:
  // #VMEXIT VMEXIT_INVALID (-1), and the check named.
  CHECK(contains(o, "SVM: #VMEXIT 0xffffffffffffffff (VMEXIT_INVALID)"));
  CHECK(std::regex_search(o, std::regex("SVM: the last VMRUN failed check \"[a-z0-9_]+\"")));
  CHECK(std::regex_search(o, std::regex("VMCB at 0x[0-9a-f]+ \\(the last VMRUN's rAX\\)")));
  CHECK(std::regex_search(o, std::regex("EXITCODE +\\+070 = 0xffffffffffffffff")));
  CHECK(contains(o, "-- state save area --"));
  CHECK(contains(o, "not in VMX operation"));
}
