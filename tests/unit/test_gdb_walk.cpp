// `monitor walk` and `monitor walk-gpa` through EPT and nested paging,
// driven by the real gdb in batch mode on the EPT and NPT L1 test kernels:
// stopped at the L2's first instruction of a routine, the walk of a linear
// address lists each guest paging-structure entry with the second-level
// walk of its guest-physical address, then the final guest-physical
// address's walk; every value is checked against the tables the kernel
// builds (tests/guest/vmx_ept_long64.asm build_ept, svm_npt_long64.asm
// build_tables). gdb's memory reads in the L2 go through the second level
// too. Skipped (with the reason) where gdb is not installed.
#include <regex>
#include <string>
#include <vector>

#include "tests/unit/gdb_cli_support.h"

using namespace softvt::test;

TEST_CASE("gdb: monitor walk in a VMX L2 shows each guest entry with its EPT walk", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string src = kSourceDir + "/tests/guest/vmx_ept_long64.asm";
  const uint64_t g_read = label_address(src, "g_read");
  Softvt s({"run", "--flat", kGuestDir + "/vmx_ept_long64.bin", "--cpu", "intel"});
  const std::string o = s.gdb({"break *" + hex_address(g_read), "continue", "monitor level", "monitor walk 0x800000",
                               "monitor walk 0x430000", "monitor walk-gpa 0x430000", "monitor walk-gpa 0x5000000",
                               "x/gx 0x430000", "x/gx 0x800000", "p/x $r12", "kill"});
  INFO(o);
  CHECK(contains(o, "L2 (VMX non-root operation)"));
  // Linear 8 MiB: the flat runner's PML4E/PDPTE (2-MiB pages but for PD0
  // entry 4, which the kernel points at its table at 420000H).
  CHECK(contains(o, "linear 0x800000: paging 4-level\n  through EPT (EPTP 0x20001e, 4-level; the running L2's)\n"));
  // PML4E at guest-physical 1000H (A may be set); EPT: PML4 200000H ->
  // PDPT 201000H -> PD 202000H -> PT0 203000H, entry 1 = 1000H | RWX WB.
  CHECK(std::regex_search(
      o, std::regex("  PML4E  at guest-physical 0x0000001000 = 0x00000000000020[02]7 P RW US\n"
                    "         EPT PML4E at 0x0000200000 = 0x0000000000201007\n"
                    "         EPT PDPTE at 0x0000201000 = 0x0000000000202007\n"
                    "         EPT PDE   at 0x0000202000 = 0x0000000000203007\n"
                    "         EPT PTE   at 0x0000203008 = 0x0000000000001037\n"
                    "         -> host-physical 0x1000 \\(4-KiB page, R W X\\)\n")));
  CHECK(std::regex_search(o, std::regex("  PDPTE  at guest-physical 0x0000002000 = 0x00000000000030[02]7 P RW US\n"
                                        "(.*\n){3}         EPT PTE   at 0x0000203010 = 0x0000000000002037\n")));
  CHECK(std::regex_search(o, std::regex("  PDE    at guest-physical 0x0000003020 = 0x00000000004200[02]3 P RW\n"
                                        "(.*\n){3}         EPT PTE   at 0x0000203018 = 0x0000000000003037\n")));
  // The guest's page table at 420000H lies in the EPT's second 4-KiB
  // table (PD entry 2 -> 204000H).
  CHECK(std::regex_search(o, std::regex("  PTE    at guest-physical 0x0000420000 = 0x00000000008000[0-6]3 P RW\n"
                                        "(.*\n){2}         EPT PDE   at 0x0000202010 = 0x0000000000204007\n"
                                        "         EPT PTE   at 0x0000204100 = 0x0000000000420037\n")));
  // The final guest-physical address: a 2-MiB EPT page (PD entry 4).
  CHECK(contains(o, "  -> guest-physical 0x800000 (4-KiB page)\n"
                    "     EPT PML4E at 0x0000200000 = 0x0000000000201007\n"
                    "     EPT PDPTE at 0x0000201000 = 0x0000000000202007\n"
                    "     EPT PDE   at 0x0000202020 = 0x00000000008000b7\n"
                    "     -> host-physical 0x800000 (2-MiB page, R W X)\n"
                    "  -> physical 0x800000\n"));
  // P_READ (430000H): the kernel cleared its EPT PTE.
  CHECK(contains(o, "     EPT PTE   at 0x0000204180 = 0x0000000000000000\n"
                    "     -> no translation: EPT violation: not present at EPT PTE\n"
                    "  -> no translation: the guest-physical address: EPT violation: not present at EPT PTE\n"));
  CHECK(contains(o, "guest-physical 0x430000: through EPT (EPTP 0x20001e, 4-level; the running L2's)\n"
                    "  EPT PML4E at 0x0000200000 = 0x0000000000201007\n"));
  // Beyond the 64 MiB the EPT maps: PD entry 40 is empty.
  CHECK(contains(o, "  EPT PDE   at 0x0000202140 = 0x0000000000000000\n"
                    "  -> no translation: EPT violation: not present at EPT PDE\n"));
  // gdb reads L2 memory through EPT: the unmapped page is an error, the
  // mapped one reads.
  CHECK(contains(o, "Cannot access memory at address 0x430000"));
  CHECK(std::regex_search(o, std::regex("0x800000:\t0x[0-9a-f]{16}")));
  CHECK(contains(o, "= 0x430000"));  // r12: the routine's argument, P_READ
}

TEST_CASE("gdb: monitor walk in an SVM L2 shows each guest entry with its nested walk", "[gdb][cli]") {
  REQUIRE_GDB();
  const std::string src = kSourceDir + "/tests/guest/svm_npt_long64.asm";
  const uint64_t g_remap = label_address(src, "g_remap");
  Softvt s({"run", "--flat", kGuestDir + "/svm_npt_long64.bin", "--cpu", "amd"});
  const std::string o = s.gdb({"break *" + hex_address(g_remap), "continue", "monitor level", "monitor walk 0x430000",
                               "monitor walk-gpa 0x440000", "x/gx 0x430000", "kill"});
  INFO(o);
  CHECK(contains(o, "L2 (SVM guest mode)"));
  CHECK(contains(o, "linear 0x430000: paging 4-level\n  through NPT (N_CR3 0x300000, 4-level, NXE; the running L2's)\n"));
  // The L2's PML4 at guest-physical 410000H, through the nested tables:
  // PML4 300000H -> PDPT 301000H -> PD 302000H -> (entry 2) PT 303000H.
  CHECK(std::regex_search(
      o, std::regex("  PML4E  at guest-physical 0x0000410000 = 0x00000000004110[02]7 P RW US\n"
                    "         NPT PML4E at 0x0000300000 = 0x00000000003010[02]7\n"
                    "         NPT PDPTE at 0x0000301000 = 0x00000000003020[02]7\n"
                    "         NPT PDE   at 0x0000302010 = 0x00000000003030[02]7\n"
                    "         NPT PTE   at 0x0000303080 = 0x00000000004100[0-6]7\n"
                    "         -> host-physical 0x410000 \\(4-KiB page, RW US\\)\n")));
  // The L2 maps 430000H to 420000H, which the nested tables remap to 700000H.
  CHECK(std::regex_search(o, std::regex("  PTE    at guest-physical 0x0000413180 = 0x00000000004200[0-6]7 P RW US\n")));
  CHECK(std::regex_search(o, std::regex("  -> guest-physical 0x420000 \\(4-KiB page\\)\n(.*\n){3}"
                                        "     NPT PTE   at 0x0000303100 = 0x00000000007000[0-6]7\n"
                                        "     -> host-physical 0x700000 \\(4-KiB page, RW US\\)\n"
                                        "  -> physical 0x700000\n")));
  CHECK(std::regex_search(o, std::regex("guest-physical 0x440000: through NPT .*\n(.*\n){3}"
                                        "  NPT PTE   at 0x0000303200 = 0x0000000000000000\n"
                                        "  -> no translation: nested page fault: not present at nested PTE\n")));
  // gdb's read of linear 430000H in the L2 reaches host-physical 700000H.
  CHECK(contains(o, "0x430000:\t0x000000001234abcd"));
}
