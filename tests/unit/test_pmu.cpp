// The architectural PMU of the intel model (emu/pmu.h) against SDM Vol. 3B
// "Performance Monitoring" (architectural performance monitoring version
// 2) and SDM Vol. 2 CPUID leaf 0AH / RDPMC: the leaf, the MSRs' reserved
// bits and read-only status, fixed counter 0 counting retired instructions
// by CPL, its overflow, RDPMC's privilege and counter checks; and the amd
// model's legacy counters (AMD APM Vol. 2 13.2): PERF_CTL0-3/PERF_CTR0-3,
// event C0h by EN/OS/USR/HG_ONLY, RDPMC ECX 0-3.
#include <catch.hpp>

#include <string>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "emu/memory.h"
#include "emu/pmu.h"
#include "tests/unit/flat_run_support.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

struct PmuCpu {
  Memory mem{16 << 20};
  Cpu cpu;
  explicit PmuCpu(const CpuModel& m = default_cpu_model()) : cpu(mem, m) {}
  bool write(uint32_t index, uint64_t v) {
    bool ok = false;
    REQUIRE(pmu::write_msr(cpu, index, v, ok));
    return ok;
  }
  uint64_t read(uint32_t index) {
    bool ok = false;
    uint64_t v = 0;
    REQUIRE(pmu::read_msr(cpu, index, v, ok));
    REQUIRE(ok);
    return v;
  }
};

}  // namespace

TEST_CASE("PMU: CPUID.0AH of the intel model: version 2, no GP counters, one 48-bit fixed counter") {
  const CpuidLeaf l = default_cpu_model().cpuid(0xa, 0);
  CHECK((l.eax & 0xff) == 2);           // version
  CHECK(((l.eax >> 8) & 0xff) == 0);    // general-purpose counters
  CHECK(((l.eax >> 24) & 0xff) == 7);   // EBX vector length
  CHECK(l.ebx == 0x7f);                 // no event available on a GP counter
  CHECK((l.edx & 0x1f) == 1);           // fixed-function counters
  CHECK(((l.edx >> 5) & 0xff) == 48);   // their width
  CHECK(pmu::model_has_pmu(default_cpu_model()));
  CHECK(pmu::global_ctrl_valid_bits(default_cpu_model()) == uint64_t(1) << 32);
}

TEST_CASE("PMU: the AMD model has no architectural PMU (leaf 0AH zero, the Intel MSRs and counter #GP)") {
  const CpuModel& amd = *find_cpu_model("amd");
  const CpuidLeaf l = amd.cpuid(0xa, 0);
  CHECK(l.eax == 0);
  CHECK(l.edx == 0);
  CHECK(!pmu::model_has_pmu(amd));
  CHECK(pmu::global_ctrl_valid_bits(amd) == 0);
  PmuCpu p(amd);
  for (uint32_t index : {pmu::msr::FIXED_CTR0, pmu::msr::FIXED_CTR_CTRL, pmu::msr::GLOBAL_STATUS,
                         pmu::msr::GLOBAL_CTRL, pmu::msr::GLOBAL_OVF_CTRL}) {
    INFO(index);
    bool ok = true;
    uint64_t v = 0;
    CHECK(pmu::read_msr(p.cpu, index, v, ok));
    CHECK(!ok);
    CHECK(!p.write(index, 0));
  }
  // RDPMC of fixed counter 0: #GP on the AMD model (ECX names no AMD
  // counter; the flat runner's IDT limit 0 turns the exception into a
  // shutdown); on the intel model it reads the counter.
  const std::string body = "mov ecx, 0x40000000\n rdpmc\n hlt\n";
  CHECK(test::json_exit(test::run_flat(body, "amd").out) == "shutdown");
  const test::CliResult r = test::run_flat(body, "intel");
  CHECK(test::json_exit(r.out) == "hlt");
  CHECK(test::json_value(r.out, "rax") == 0);
}

TEST_CASE("PMU: reserved bits are #GP, IA32_PERF_GLOBAL_STATUS is read-only, OVF_CTRL clears it") {
  PmuCpu p;
  CHECK(!p.write(pmu::msr::GLOBAL_CTRL, 1));                    // PMC0
  CHECK(!p.write(pmu::msr::GLOBAL_CTRL, uint64_t(1) << 33));    // fixed counter 1
  CHECK(p.write(pmu::msr::GLOBAL_CTRL, uint64_t(1) << 32));
  CHECK(p.read(pmu::msr::GLOBAL_CTRL) == uint64_t(1) << 32);
  CHECK(!p.write(pmu::msr::FIXED_CTR_CTRL, 4));                 // AnyThread: version 3
  CHECK(!p.write(pmu::msr::FIXED_CTR_CTRL, 0x30));              // counter 1's enables
  CHECK(p.write(pmu::msr::FIXED_CTR_CTRL, 0xb));
  CHECK(!p.write(pmu::msr::FIXED_CTR0, uint64_t(1) << 48));
  CHECK(p.write(pmu::msr::FIXED_CTR0, pmu::FIXED_MASK));
  CHECK(!p.write(pmu::msr::GLOBAL_STATUS, 0));
  CHECK(!p.write(pmu::msr::GLOBAL_OVF_CTRL, 1));
  CHECK(!p.write(pmu::msr::GLOBAL_OVF_CTRL, uint64_t(1) << 33));
  p.cpu.s.perf_global_status = uint64_t(1) << 32;
  CHECK(p.write(pmu::msr::GLOBAL_OVF_CTRL, pmu::FIXED0 | pmu::OVF_BUFFER | pmu::COND_CHGD));
  CHECK(p.read(pmu::msr::GLOBAL_STATUS) == 0);
  CHECK(p.read(pmu::msr::GLOBAL_OVF_CTRL) == 0);
}

TEST_CASE("PMU: fixed counter 0 counts retired instructions at the enabled CPLs; 2^48 wraps with overflow") {
  PmuCpu p;
  CpuState& s = p.cpu.s;
  s.perf_global_ctrl = pmu::FIXED0;
  const auto retire_at = [&](uint8_t cpl) {
    s.cpl = cpl;
    pmu::retire_instruction(s, false);
  };
  s.fixed_ctr_ctrl = pmu::CTRL_OS;
  retire_at(0);
  retire_at(3);
  retire_at(1);
  CHECK(s.fixed_ctr0 == 1);
  s.fixed_ctr_ctrl = pmu::CTRL_USR;
  retire_at(0);
  retire_at(3);
  retire_at(1);
  CHECK(s.fixed_ctr0 == 3);
  s.fixed_ctr_ctrl = pmu::CTRL_OS | pmu::CTRL_USR;
  retire_at(0);
  CHECK(s.fixed_ctr0 == 4);
  s.perf_global_ctrl = 0;  // the global enable is ANDed with the per-counter one
  retire_at(0);
  CHECK(s.fixed_ctr0 == 4);
  s.perf_global_ctrl = pmu::FIXED0;
  s.fixed_ctr0 = pmu::FIXED_MASK;
  retire_at(0);
  CHECK(s.fixed_ctr0 == 0);
  CHECK(s.perf_global_status == pmu::FIXED0);
}

TEST_CASE("PMU: over a run, fixed counter 0 (all rings) advances with the retired-instruction count") {
  Memory mem{16 << 20};
  Cpu cpu{mem, default_cpu_model()};
  BlockCache blocks{default_cpu_model()};
  const std::string src = "bits 64\norg 0x10000\nloop:\n inc rax\n dec rbx\n jmp loop\n";
  cpu.s = setup_flat(mem, test::assemble_nasm(src), 0x10000, FlatMode::Long64);
  cpu.blocks = &blocks;
  cpu.update_mode();
  cpu.s.perf_global_ctrl = pmu::FIXED0;
  cpu.s.fixed_ctr_ctrl = pmu::CTRL_OS | pmu::CTRL_USR;
  cpu.s.fixed_ctr0 = 100;
  const uint64_t before = cpu.s.insn_count;
  REQUIRE(cpu.run(before + 1000) == StopReason::Limit);
  CHECK(cpu.s.insn_count - before == 1000);
  CHECK(cpu.s.fixed_ctr0 == 1100);
  // USR only: a CPL-0 run counts nothing.
  cpu.s.fixed_ctr_ctrl = pmu::CTRL_USR;
  REQUIRE(cpu.run(cpu.s.insn_count + 500) == StopReason::Limit);
  CHECK(cpu.s.fixed_ctr0 == 1100);
}

TEST_CASE("PMU: RDPMC at CPL 3 needs CR4.PCE; ECX must name fixed counter 0") {
  PmuCpu p;
  uint64_t v = 0;
  p.cpu.s.fixed_ctr0 = 0x123456789abcull;
  CHECK(pmu::read_counter(p.cpu, pmu::RDPMC_FIXED0, v));
  CHECK(v == 0x123456789abcull);
  CHECK(!pmu::read_counter(p.cpu, 0, v));
  CHECK(!pmu::read_counter(p.cpu, 0x40000001, v));
  CHECK(!pmu::read_counter(p.cpu, 0xc0000000, v));
  // The privilege rule runs in the instruction (tests/guest/vmx_shadow_long64.asm
  // checks #GP at CPL 3 with CR4.PCE = 0 and the read with PCE = 1).
}

TEST_CASE("PMU, amd model: PERF_CTL0-3 and PERF_CTR0-3, their reserved bits, #GP on the intel model") {
  PmuCpu p(*find_cpu_model("amd"));
  CHECK(pmu::model_has_amd_counters(p.cpu.model));
  CHECK(pmu::model_has_rdpmc(p.cpu.model));
  for (unsigned n = 0; n < 4; ++n) {
    INFO(n);
    // HG_ONLY, EN, OS, USR, unit mask C0h, event C0h + n
    CHECK(p.write(pmu::amd::PERF_CTL0 + n, 0x3000043c0c0ull + n));
    CHECK(p.read(pmu::amd::PERF_CTL0 + n) == 0x3000043c0c0ull + n);
    CHECK(p.write(pmu::amd::PERF_CTR0 + n, (uint64_t(1) << 48) | (0x1000 + n)));  // bits 63:48 dropped
    CHECK(p.read(pmu::amd::PERF_CTR0 + n) == 0x1000 + n);
  }
  CHECK(!p.write(pmu::amd::PERF_CTL0, uint64_t(1) << 21));   // reserved bit 21
  CHECK(!p.write(pmu::amd::PERF_CTL0, uint64_t(1) << 36));   // reserved 39:36
  CHECK(!p.write(pmu::amd::PERF_CTL0, uint64_t(1) << 42));   // reserved 63:42
  CHECK(!p.write(pmu::amd::PERF_CTL0, uint64_t(1) << 63));
  CHECK(p.read(pmu::amd::PERF_CTL0) == 0x3000043c0c0ull);
  // The MSRs after PERF_CTR3 are not counters here (no PerfCtrExtCore).
  bool ok = true;
  uint64_t v = 0;
  CHECK(!pmu::read_msr(p.cpu, pmu::amd::PERF_CTR0 + 4, v, ok));
  PmuCpu intel;
  CHECK(!intel.write(pmu::amd::PERF_CTL0, 0));
  CHECK(pmu::read_msr(intel.cpu, pmu::amd::PERF_CTR0, v, ok));
  CHECK(!ok);
  // RDPMC: ECX 0-3.
  CHECK(pmu::read_counter(p.cpu, 3, v));
  CHECK(v == 0x1003);
  CHECK(!pmu::read_counter(p.cpu, 4, v));
  CHECK(!pmu::read_counter(p.cpu, pmu::RDPMC_FIXED0, v));
}

TEST_CASE("PMU, amd model: event C0h counts retired instructions per EN, OS, USR and HG_ONLY") {
  PmuCpu p(*find_cpu_model("amd"));
  CpuState& s = p.cpu.s;
  const uint64_t c0 = pmu::amd::EVENT_RETIRED_INSTRUCTIONS;
  REQUIRE(p.write(pmu::amd::PERF_CTL0, pmu::amd::EN | pmu::amd::OS | c0));
  REQUIRE(p.write(pmu::amd::PERF_CTL0 + 1, pmu::amd::EN | pmu::amd::USR | c0));
  REQUIRE(p.write(pmu::amd::PERF_CTL0 + 2, pmu::amd::EN | pmu::amd::OS | pmu::amd::USR | 0xc1));  // another event
  REQUIRE(p.write(pmu::amd::PERF_CTL0 + 3, pmu::amd::OS | pmu::amd::USR | c0));  // EN = 0
  const auto retire_at = [&](uint8_t cpl, bool guest = false) {
    s.cpl = cpl;
    pmu::retire_instruction(s, guest);
  };
  retire_at(0);
  retire_at(0);
  retire_at(3);
  retire_at(1);
  retire_at(3);
  CHECK(s.perf_ctr[0] == 2);
  CHECK(s.perf_ctr[1] == 3);
  CHECK(s.perf_ctr[2] == 0);
  CHECK(s.perf_ctr[3] == 0);
  // HG_ONLY applies with EFER.SVME = 1: host only (bit 41), guest only (40).
  REQUIRE(p.write(pmu::amd::PERF_CTL0, pmu::amd::EN | pmu::amd::OS | pmu::amd::HOST_ONLY | c0));
  REQUIRE(p.write(pmu::amd::PERF_CTL0 + 1, pmu::amd::EN | pmu::amd::OS | pmu::amd::GUEST_ONLY | c0));
  retire_at(0, true);
  CHECK(s.perf_ctr[0] == 3);  // SVME = 0: both count
  CHECK(s.perf_ctr[1] == 4);
  s.efer |= efer::SVME;
  retire_at(0, true);
  retire_at(0, false);
  retire_at(0, false);
  CHECK(s.perf_ctr[0] == 5);
  CHECK(s.perf_ctr[1] == 5);
  // Disabled: nothing counts (and the run loop's test says so).
  for (unsigned n = 0; n < 4; ++n) REQUIRE(p.write(pmu::amd::PERF_CTL0 + n, 0));
  CHECK(s.amd_counting == 0);
  retire_at(0);
  CHECK(s.perf_ctr[0] == 5);
  // The 48-bit counter wraps.
  REQUIRE(p.write(pmu::amd::PERF_CTR0, pmu::amd::CTR_MASK));
  REQUIRE(p.write(pmu::amd::PERF_CTL0, pmu::amd::EN | pmu::amd::OS | c0));
  retire_at(0);
  CHECK(s.perf_ctr[0] == 0);
}

TEST_CASE("PMU, amd model: RDPMC reads PERF_CTRn; the difference of two reads counts the instructions between") {
  const std::string body =
      "mov ecx, 0xc0010000\n mov eax, 0x4300c0\n xor edx, edx\n wrmsr\n"  // EN, OS, USR, event C0h
      " xor ecx, ecx\n rdpmc\n mov r8d, eax\n nop\n nop\n nop\n rdpmc\n sub eax, r8d\n hlt\n";
  const test::CliResult r = test::run_flat(body, "amd");
  CHECK(test::json_exit(r.out) == "hlt");
  CHECK(test::json_value(r.out, "rax") == 5);  // RDPMC, MOV, three NOPs
  // ECX = 4: #GP (shutdown without an IDT).
  CHECK(test::json_exit(test::run_flat("mov ecx, 4\n rdpmc\n hlt\n", "amd").out) == "shutdown");
}
