// Reverse execution of the PC machine with two CPUs under the real gdb
// (batch mode) on tests/kernels/apic_smp.elf --smp 2: the BSP starts the
// AP with INIT-SIPI-SIPI and spins (ECX counting down) until the AP
// increments ap_started. The position is the machine's retired-instruction
// count; stepi and reverse-stepi move the selected CPU by one of its own
// instructions, and a state reached again backwards equals the one seen
// forwards on both CPUs (docs/decisions.md "SMP under gdb").
#include <regex>
#include <string>
#include <vector>

#include "tests/unit/gdb_cli_support.h"

using namespace softvt::test;

TEST_CASE("gdb: two CPUs step forwards and backwards, each by its own instructions", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string elf = kernel_path("apic_smp");
  const uint64_t ap_main = symbol_address(elf, "ap_main");
  Softvt s({"run", "--kernel", elf, "--smp", "2", "-m", "64", "--serial", "none"});
  const std::string o = s.gdb({
      "break *" + hex_address(ap_main), "continue", "p/x $pc",        // 0: the AP (thread 2) at ap_main
      "thread 1", "p/x $pc", "p $rcx",                                 // 1, 2: the BSP spinning
      "thread 2", "stepi", "stepi", "stepi", "p/x $pc",                // 3: mov ax / mov ds / mov es
      "reverse-stepi", "p/x $pc",                                      // 4
      "reverse-stepi", "reverse-stepi", "p/x $pc",                     // 5: back at ap_main
      "thread 1", "p/x $pc", "p $rcx",                                 // 6, 7: the BSP as at the stop
      "stepi", "p/x $pc", "reverse-stepi", "p/x $pc", "p $rcx",        // 8, 9, 10: one BSP instruction
      "thread 2", "p/x $pc",                                           // 11: the AP before that BSP instruction
      "delete", "continue"});
  INFO(o);
  const std::vector<std::string> v = printed(o);
  REQUIRE(v.size() == 12);
  CHECK(contains(o, "Thread 2 hit Breakpoint 1"));
  CHECK(v[0] == hex_address(ap_main));
  CHECK(v[1] != hex_address(ap_main));
  // mov ax, 10H (4 bytes), mov ds, ax (2), mov es, ax (2).
  CHECK(v[3] == hex_address(ap_main + 8));
  CHECK(v[4] == hex_address(ap_main + 6));
  CHECK(v[5] == hex_address(ap_main));
  // Back at the breakpoint's position the BSP is exactly as it was there.
  CHECK(v[6] == v[1]);
  CHECK(v[7] == v[2]);
  // A BSP stepi moves the BSP; its reverse-stepi restores it.
  CHECK(v[8] != v[6]);
  CHECK(v[9] == v[6]);
  CHECK(v[10] == v[7]);
  // The AP ran to its HLT in its slice before the BSP's instruction: it
  // stays there (one BSP instruction back is not back to where the AP
  // was when the BSP last stopped).
  CHECK(v[11] == hex_address(symbol_address(elf, "ap_main.idle") + 1));
  // Forwards again to the end: every check of the kernel passes.
  CHECK(contains(o, "exited with code 041"));
  CHECK(s.wait_exit() == 33);
}

TEST_CASE("gdb: reverse-continue with two CPUs finds the AP's write and the breakpoint before it",
          "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string elf = kernel_path("apic_smp");
  const uint64_t ap_main = symbol_address(elf, "ap_main");
  // ap_main.id_ok: mov dword [APIC_SVR], ... (10 bytes), then lock inc dword [ap_started] (7).
  const uint64_t inc = symbol_address(elf, "ap_main.id_ok") + 10;
  const uint64_t started = symbol_address(elf, "ap_started");
  Softvt s({"run", "--kernel", elf, "--smp", "2", "-m", "64", "--serial", "none"});
  const std::string o = s.gdb({
      "break *" + hex_address(ap_main), "watch *(int*)" + hex_address(started), "continue", "continue",
      "p/x $pc",                                                       // 0: after the lock inc
      "x/wx " + hex_address(started), "thread 1", "p/x $pc", "p $rcx", // 1, 2: the BSP then
      "reverse-continue", "p/x $pc",                                   // 3: before the lock inc
      "x/wx " + hex_address(started), "reverse-continue", "p/x $pc",   // 4: the breakpoint at ap_main
      "continue", "p/x $pc", "thread 1", "p/x $pc", "p $rcx",          // 5, 6, 7: the write again
      "delete", "continue"});
  INFO(o);
  const std::vector<std::string> v = printed(o);
  REQUIRE(v.size() == 8);
  CHECK(contains(o, "Old value = 0\nNew value = 1"));
  CHECK(v[0] == hex_address(inc + 7));
  CHECK(v[3] == hex_address(inc));
  CHECK(v[4] == hex_address(ap_main));
  // Forwards again, the AP's write happens where it did, with the BSP
  // exactly where it was then.
  CHECK(v[5] == hex_address(inc + 7));
  CHECK(v[6] == v[1]);
  CHECK(v[7] == v[2]);
  CHECK(contains(o, "exited with code 041"));
  CHECK(s.wait_exit() == 33);
}
