// VMCS shadowing, TSC scaling and IA32_PERF_GLOBAL_CTRL loading (vmx/
// shadow_vmcs.cpp, vmx/instructions.cpp, vmx/nonroot.cpp guest_tsc,
// vmx/entry.cpp, vmx/exit.cpp): VMPTRLD's shadow-VMCS indicator rule on
// models with and without "VMCS shadowing" (SDM Vol. 3C 31.3 VMPTRLD), the
// VMCS link pointer check against the current-VMCS pointer (28.3.1.5), the
// TSC-scaling arithmetic (27.3: a 128-bit product shifted right 48), and
// the L1 test kernel tests/guest/vmx_shadow_long64.asm.
#include <catch.hpp>

#include <cstdio>
#include <string>

#include "emu/cpu.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/flat_run_support.h"
#include "vmx/controls.h"
#include "vmx/entry_checks.h"
#include "vmx/nonroot.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx_valid_vmcs.h"

using namespace softvt;
using namespace softvt::vmx;
namespace F = softvt::vmx::field;

namespace {

// VMXON, VMPTRLD of the ordinary VMCS at 101000H, then VMPTRLD of 102000H
// whose first dword is `rev_expr`; RBX = the arithmetic flags, RCX = the
// VM-instruction error, RDX = VMPTRST.
std::string vmptrld_second(const std::string& rev_expr) {
  return std::string(test::kVmxOn) +
         "vmptrld [0x90008]\n"
         "mov ecx, 0x480\n rdmsr\n" + rev_expr + "\n mov [0x102000], eax\n"
         "mov qword [0x90010], 0x102000\n"
         "vmptrld [0x90010]\n"
         "pushfq\n pop rbx\n and ebx, 0x8d5\n"
         "mov eax, 0x4400\n vmread rcx, rax\n"
         "vmptrst [0x90018]\n mov rdx, [0x90018]\n hlt\n";
}

}  // namespace

TEST_CASE("VMPTRLD: a shadow VMCS (indicator 1) needs the VMCS-shadowing capability (SDM 31.3)") {
  const std::string shadow = vmptrld_second("or eax, 0x80000000");
  const test::CliResult with = test::run_flat(shadow, "intel");
  CHECK(test::json_exit(with.out) == "hlt");
  CHECK(test::json_value(with.out, "rbx") == 0);         // VMsucceed
  CHECK(test::json_value(with.out, "rdx") == 0x102000);  // current
  const test::CliResult without = test::run_flat(shadow, "intel,-vmx-shadow-vmcs");
  CHECK(test::json_exit(without.out) == "hlt");
  CHECK(test::json_value(without.out, "rbx") == 0x40);    // VMfailValid
  CHECK(test::json_value(without.out, "rcx") == 11);      // incorrect VMCS revision identifier
  CHECK(test::json_value(without.out, "rdx") == 0x101000);
  // An ordinary VMCS loads on both; a wrong revision with the indicator
  // fails on both.
  const test::CliResult ordinary = test::run_flat(vmptrld_second(""), "intel,-vmx-shadow-vmcs");
  CHECK(test::json_value(ordinary.out, "rbx") == 0);
  const test::CliResult wrong = test::run_flat(vmptrld_second("xor eax, 0x80000001"), "intel");
  CHECK(test::json_value(wrong.out, "rbx") == 0x40);
  CHECK(test::json_value(wrong.out, "rcx") == 11);
}

TEST_CASE("VM entry: the VMCS link pointer must not be the current-VMCS pointer (SDM 28.3.1.5)") {
  test::Vmcs x;
  constexpr uint64_t CURRENT = 0x200000, OTHER = 0x201000;
  x.v.current_vmcs = CURRENT;
  x.mem.write_phys(CURRENT, 4, x.model.vmx.revision);
  x.mem.write_phys(OTHER, 4, x.model.vmx.revision);
  x.set(F::VMCS_LINK_POINTER, OTHER);
  CHECK(x.first_failure() == nullptr);  // a valid ordinary VMCS, shadowing off
  x.set(F::VMCS_LINK_POINTER, CURRENT);
  REQUIRE(x.first_failure());
  CHECK(std::string(x.first_failure()->name) == "VMCS link pointer");
  CHECK(outcome_of(*x.first_failure()).qualification == 4);
}

TEST_CASE("VM entry: with VMCS shadowing the link pointer names a shadow VMCS (indicator = the control)") {
  test::Vmcs x;
  constexpr uint64_t SHADOW = 0x202000;
  x.v.current_vmcs = 0x200000;
  x.secondary(proc2::SHADOW_VMCS);
  x.set(F::VMREAD_BITMAP, 0x203000);
  x.set(F::VMWRITE_BITMAP, 0x204000);
  x.mem.write_phys(SHADOW, 4, x.model.vmx.revision | 0x80000000u);
  x.set(F::VMCS_LINK_POINTER, SHADOW);
  CHECK(x.first_failure() == nullptr);
  x.set(F::VMCS_LINK_POINTER, ~uint64_t(0));  // none: allowed with shadowing too
  CHECK(x.first_failure() == nullptr);
  x.mem.write_phys(SHADOW, 4, x.model.vmx.revision);  // an ordinary VMCS
  x.set(F::VMCS_LINK_POINTER, SHADOW);
  REQUIRE(x.first_failure());
  CHECK(std::string(x.first_failure()->name) == "VMCS link pointer");
}

TEST_CASE("TSC scaling: ((TSC * multiplier) >> 48) + offset, a 128-bit product (SDM 27.3)") {
  test::Vmcs x;
  Cpu cpu{x.mem, x.model};
  cpu.vmx.controls.proc = proc::TSC_OFFSETTING;
  cpu.vmx.controls.proc2 = proc2::TSC_SCALING;
  cpu.vmx.controls.tsc_offset = 7;
  const auto scaled = [&](uint64_t tsc, uint64_t multiplier) {
    write_field(cpu.vmx, F::TSC_MULTIPLIER, multiplier);
    return guest_tsc(cpu, tsc);
  };
  CHECK(scaled(1000, uint64_t(1) << 48) == 1007);
  CHECK(scaled(1000, uint64_t(3) << 47) == 1507);                // 1.5
  CHECK(scaled(1001, uint64_t(1) << 47) == 507);                 // 0.5, truncated
  CHECK(scaled(~uint64_t(0), uint64_t(1) << 48) == 6);           // no bits lost: 2^64 - 1 + 7
  CHECK(scaled(uint64_t(1) << 63, uint64_t(1) << 49) == 7);      // 2^64: the low 64 bits
  CHECK(scaled(0x123456789abcdefull, 0x1234567890ull) ==
        uint64_t(((unsigned __int128)0x123456789abcdefull * 0x1234567890ull) >> 48) + 7);
  // Without "use TSC offsetting" neither the multiplier nor the offset applies.
  cpu.vmx.controls.proc = 0;
  CHECK(scaled(1000, uint64_t(3) << 47) == 1000);
  // Without "use TSC scaling": the offset only.
  cpu.vmx.controls.proc = proc::TSC_OFFSETTING;
  cpu.vmx.controls.proc2 = 0;
  CHECK(scaled(1000, uint64_t(3) << 47) == 1007);
}

namespace {
struct KernelRun {
  test::CliResult r;
  std::string json;
};
KernelRun run_kernel(const std::string& cpu) {
  const std::string bin = test::env_path("SOFTVT_GUEST_DIR") + "/vmx_shadow_long64.bin";
  const std::string state = test::flat_tmp_path("shadow_state.json");
  KernelRun k;
  k.r = test::shell(test::env_path("SOFTVT") + " run --flat " + bin + " --cpu " + cpu +
                    " --debugcon stdio --dump-state " + state);
  k.json = test::slurp(state);
  std::remove(state.c_str());
  return k;
}
}  // namespace

TEST_CASE("L1 test kernel: with IA32_VMX_MISC[29], the L2's VMWRITE of a read-only field reaches the shadow") {
  // The same kernel on a model that allows VMWRITE to VM-exit information
  // fields: exactly its three checks of the read-only rule fail.
  const KernelRun k = run_kernel("intel,vmx-vmwrite-vmexit-fields");
  INFO(k.r.out << k.r.err);
  CHECK(test::json_exit(k.json) == "hlt");
  CHECK(test::json_value(k.json, "rax") == 3);
  CHECK(k.r.out.find("FAIL L2 VMWRITE of a read-only field: VMfailValid\n") != std::string::npos);
  CHECK(k.r.out.find("FAIL L2 VMWRITE of a read-only field: error 13 in the current VMCS\n") != std::string::npos);
  CHECK(k.r.out.find("FAIL the shadow's read-only field is unchanged\n") != std::string::npos);
}

TEST_CASE("L1 test kernel: VMCS shadowing, TSC scaling, the PMU and IA32_PERF_GLOBAL_CTRL loading") {
  const KernelRun k = run_kernel("intel");
  const test::CliResult& r = k.r;
  const std::string& json = k.json;
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("vmx_shadow: done") != std::string::npos);
  CHECK(test::json_exit(json) == "hlt");
  CHECK(test::json_value(json, "rax") == 0);    // failed checks
  CHECK(test::json_value(json, "rbx") == 107);  // passed checks: all of them ran
}
