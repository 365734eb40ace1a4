// VMX events, timers and the remaining instruction exits (vmx/event_exits.h,
// vmx/instruction_exits.cpp): the L1 test kernel
// tests/guest/vmx_events_long64.asm run through `softvt run --flat` (no
// interrupt source) and in-process with an event source on ports
// E0H-E8H that drives the CPU's INTR line, NMI, INIT and SIPI - the
// interrupt-acknowledge cycle counted - plus edge cases driven directly.
#include <catch.hpp>

#include "tests/unit/flat_run_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/loader/bios_state.h"
#include "emu/loader/flat.h"
#include "emu/machine/pc.h"
#include "tests/unit/cli_support.h"
#include "tests/unit/nasm_support.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"
#include "vmx/event_exits.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmx_operation.h"

using namespace softvt;
using namespace softvt::test;

namespace {
using softvt::test::env_path;
using softvt::test::json_value;

// Passed checks of the kernel: without an event source (the flat runner)
// and with one (the harness below). Every check counts; failures print.
constexpr uint64_t kChecksWithoutSource = 183;
constexpr uint64_t kChecksWithSource = 234;

std::vector<uint8_t> read_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// The event source of the kernel's header: OUT E8H = vector, OUT E0H =
// 1/0 INTR asserted/dropped, OUT E6H INTR asserted, OUT E1H NMI, OUT E2H INIT, OUT E7H = k:
// action k when the CPU next halts (1 INTR, 2 NMI, 4 SIPI with the
// vector); IN E0H = 5AH (present), IN E5H = acknowledge cycles so far.
struct EventSource : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  uint8_t vector = 0;
  unsigned acks = 0;
  unsigned at_halt = 0;
  uint8_t intr_acknowledge() override {
    ++acks;
    cpu->intr_line = false;  // edge-like: the request is taken
    return vector;
  }
  void act(unsigned k) {
    switch (k) {
      case 1: cpu->intr_line = true; break;
      case 2: cpu->nmi_pending = true; break;
      case 3: cpu->init_signal(); break;
      case 4: cpu->startup_signal(vector); break;
      default: break;
    }
  }
  void out(uint16_t port, uint8_t v) {
    switch (port) {
      case 0xe0: cpu->intr_line = v & 1; break;
      case 0xe6: act(1); break;
      case 0xe1: act(2); break;
      case 0xe2: act(3); break;
      case 0xe7: at_halt = v; break;
      case 0xe8: vector = v; break;
      default: break;
    }
  }
};

struct Harness {
  CpuModel model = parse_cpu_option("intel");
  Memory mem{64 << 20};
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  EventSource source;
  std::string console;

  explicit Harness(const std::vector<uint8_t>& image) {
    cpu.s = setup_flat(mem, image, 0x10000, FlatMode::Long64);
    cpu.s.feature_control = vmx::firmware_feature_control(model);
    cpu.blocks = &blocks;
    cpu.update_mode();
    source.cpu = &cpu;
    cpu.intr_source = &source;
    cpu.io_write = [this](uint16_t port, unsigned, uint64_t v) {
      if (port == 0xe9) console += char(v & 0xff);
      else source.out(port, uint8_t(v));
    };
    cpu.io_read = [this](uint16_t port, unsigned) -> uint64_t {
      if (port == 0xe0) return 0x5a;
      if (port == 0xe5) return source.acks;
      return ~uint64_t(0);
    };
  }
  // Runs to the final HLT, acting for the kernel whenever it waits for an
  // event it asked for.
  StopReason run() {
    for (;;) {
      const StopReason r = cpu.run(20'000'000);
      if (r != StopReason::Hlt || !source.at_halt) return r;
      const unsigned k = source.at_halt;
      source.at_halt = 0;
      source.act(k);
    }
  }
};

}  // namespace

TEST_CASE("L1 kernel: VMX events and instruction exits (flat runner, no event source)") {
  const std::string bin = env_path("SOFTVT_GUEST_DIR") + "/vmx_events_long64.bin";
  const std::string json_path = "/tmp/softvt_vmx_events_" + std::to_string(getpid()) + ".json";
  const CliResult r = shell(env_path("SOFTVT") + " run --flat " + bin + " --debugcon stdio --dump-state " +
                            json_path);
  const std::string json = slurp(json_path);
  std::remove(json_path.c_str());
  INFO(r.out << r.err << json);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("vmx_events: done") != std::string::npos);
  CHECK(json.find("\"hlt\"") != std::string::npos);
  CHECK(json_value(json, "rax") == 0);                     // failed checks
  CHECK(json_value(json, "rbx") == kChecksWithoutSource);  // passed checks: all of them ran
}

TEST_CASE("L1 kernel: with an event source - external interrupts, NMIs, INIT, SIPI") {
  Harness h(read_image(env_path("SOFTVT_GUEST_DIR") + "/vmx_events_long64.bin"));
  const StopReason r = h.run();
  INFO(h.console << h.cpu.stop_detail);
  REQUIRE(r == StopReason::Hlt);
  CHECK(h.console.find("FAIL") == std::string::npos);
  CHECK(h.console.find("vmx_events: done") != std::string::npos);
  CHECK(h.cpu.s.gpr[RAX] == 0);                   // failed checks
  CHECK(h.cpu.s.gpr[RBX] == kChecksWithSource);   // passed checks: all of them ran
  // The exit with "acknowledge interrupt on exit" and the guest's own three deliveries.
  CHECK(h.source.acks == 4);
}

// ---- edge cases driven directly ------------------------------------------------------

namespace {

struct Bare {
  CpuModel model = parse_cpu_option("intel");
  Memory mem{16 << 20};
  Cpu cpu{mem, model};
};

}  // namespace

TEST_CASE("INIT in VMX root operation is blocked and stays latched; outside VMX operation it resets") {
  Bare b;
  b.cpu.s.rip = 0x1234;
  b.cpu.s.apic_base = 1u << 8;  // the BSP
  b.cpu.vmx.in_vmx_operation = true;
  b.cpu.init_signal();
  CHECK(b.cpu.vmx.init_pending);
  CHECK(b.cpu.s.rip == 0x1234);  // SDM 24.8: no INIT while in VMX root operation
  b.cpu.vmx.in_vmx_operation = false;
  b.cpu.vmx.init_pending = false;
  b.cpu.init_signal();
  CHECK(b.cpu.s.rip == 0xfff0);
  CHECK_FALSE(b.cpu.vmx.init_pending);
}

TEST_CASE("An INIT blocked in VMX root operation is taken right after VMXOFF") {
  // VMXON, an INIT from the source (blocked: SDM 24.8), VMXOFF: the INIT
  // resets the CPU at the boundary after VMXOFF (an AP: it then waits for
  // SIPI), before the MOV after VMXOFF; VMXOFF itself retired.
  Harness h(assemble_nasm(R"(
    bits 64
    org 0x10000
    mov ecx, 0x480
    rdmsr
    mov [0x100000], eax
    mov rax, cr4
    or rax, 0x2000
    mov cr4, rax
    vmxon [rel region]
    out 0xe2, al
    mov r15, 0x1234
    vmxoff
    mov rax, 0x5678
    hlt
    region: dq 0x100000
  )"));
  h.cpu.s.apic_base &= ~uint64_t(1u << 8);  // an AP
  REQUIRE(h.run() == StopReason::Hlt);
  CHECK_FALSE(h.cpu.vmx.in_vmx_operation);
  CHECK_FALSE(h.cpu.vmx.init_pending);
  CHECK(h.cpu.wait_for_sipi);
  CHECK(h.cpu.s.gpr[R15] == 0);  // cleared by the INIT, which came after the MOV
  CHECK(h.cpu.s.gpr[RAX] == 0);  // the MOV after VMXOFF never ran
  CHECK(h.cpu.s.rip == 0xfff0);
  CHECK(h.cpu.s.seg[CS].sel == 0xf000);
  CHECK(h.cpu.s.insn_count == 10);  // VMXOFF retired
}

TEST_CASE("PC machine: a halted VMX guest waits for its preemption timer in guest time") {
  // tests/guest/vmx_pc_timer_long64.asm on the PC with the PIT ticking
  // every 54.9 ms (the BIOS set-up, IRQ0 requested at power-on): the
  // machine idles the halted L2 to the next deadline - the PIT's or the
  // preemption timer's (SDM Vol. 3C 26.5.1) - and the TSC the timer counts
  // follows guest time.
  PcConfig config;
  config.ram_bytes = 64ull << 20;
  Pc pc(config, parse_cpu_option("intel"));
  init_bios_devices(pc.io());
  Cpu& c = pc.cpu();
  const uint64_t apic_base = c.s.apic_base;
  c.s = setup_flat(pc.mem(), read_image(env_path("SOFTVT_GUEST_DIR") + "/vmx_pc_timer_long64.bin"), 0x10000,
                   FlatMode::Long64);
  c.s.apic_base = apic_base;
  c.s.feature_control = vmx::firmware_feature_control(c.model);
  c.update_mode();
  const PcOutcome o = pc.run();
  INFO(o.reason << ": " << o.message);
  CHECK(o.reason == "halted");                         // the L1's final HLT with IF = 0
  CHECK(c.s.gpr[RDX] == vmx::exit_reason::EXTERNAL_INTERRUPT);  // IRQ0 pending since power-on
  CHECK(c.s.gpr[RAX] == vmx::exit_reason::EXTERNAL_INTERRUPT);  // the next tick before a 201-ms timer
  CHECK(c.s.gpr[RBX] == vmx::exit_reason::PREEMPTION_TIMER);    // IF = 0: only the timer wakes it
  // The third wait: 2^16 counts of TSC bit 5, within one count.
  CHECK(c.s.gpr[RCX] >= (0x10000ull - 1) << 5);
  CHECK(c.s.gpr[RCX] < (0x10000ull + 64) << 5);
  // Guest time passed while the L2 waited: the PIT tick, then the timer.
  CHECK(pc.clock().now() >= 54'900'000 + (0x10000ull << 5) - 64);
}

TEST_CASE("SIPI to a VMX guest: discarded unless the guest waits for SIPI") {
  Bare b;
  b.cpu.vmx.in_vmx_operation = true;
  b.cpu.vmx.non_root = true;
  for (uint32_t state : {vmx::activity::ACTIVE, vmx::activity::HLT, vmx::activity::SHUTDOWN}) {
    b.cpu.vmx.events.activity = state;
    CHECK_FALSE(b.cpu.startup_signal(0x10));  // SDM 28.7.2: these states discard SIPIs
    CHECK_FALSE(b.cpu.vmx.sipi_pending);
  }
  b.cpu.vmx.events.activity = vmx::activity::WAIT_SIPI;
  CHECK(b.cpu.startup_signal(0x10));
  CHECK(b.cpu.vmx.sipi_pending);
  CHECK(b.cpu.vmx.sipi_vector == 0x10);
  CHECK(b.cpu.vmx.events.boundary_checks);
}

TEST_CASE("Shutdown blocks external interrupts, wait-for-SIPI every event through the guest's IDT") {
  Bare b;
  b.cpu.vmx.non_root = true;
  b.cpu.s.rflags = fl::FIXED1 | fl::IF;
  b.cpu.intr_line = true;
  b.cpu.vmx.events.activity = vmx::activity::HLT;
  CHECK(b.cpu.event_deliverable());  // HLT is woken by an interrupt
  b.cpu.vmx.events.activity = vmx::activity::SHUTDOWN;
  CHECK_FALSE(b.cpu.event_deliverable());  // SDM 28.7.2: shutdown blocks external interrupts
  b.cpu.nmi_pending = true;
  CHECK(b.cpu.event_deliverable());  // but not NMIs
  b.cpu.vmx.events.activity = vmx::activity::WAIT_SIPI;
  CHECK_FALSE(b.cpu.event_deliverable());  // wait-for-SIPI blocks both
}

TEST_CASE("--cpu switches still narrow the event controls") {
  const CpuModel m = parse_cpu_option("intel,-vmx-preemption-timer,-vmx-vnmi,-vmx-mtf,-vmx-ple,-vmx-desc-exit");
  uint64_t pin = 0, proc = 0, proc2 = 0;
  REQUIRE(vmx::read_vmx_capability_msr(m, vmx::msr::TRUE_PINBASED_CTLS, pin));
  REQUIRE(vmx::read_vmx_capability_msr(m, vmx::msr::TRUE_PROCBASED_CTLS, proc));
  REQUIRE(vmx::read_vmx_capability_msr(m, vmx::msr::PROCBASED_CTLS2, proc2));
  CHECK(((pin >> 32) & (vmx::pin::PREEMPTION_TIMER | vmx::pin::VIRTUAL_NMIS)) == 0);
  CHECK(((pin >> 32) & (vmx::pin::EXT_INTR_EXITING | vmx::pin::NMI_EXITING)) ==
        (vmx::pin::EXT_INTR_EXITING | vmx::pin::NMI_EXITING));
  CHECK(((proc >> 32) & vmx::proc::MTF) == 0);
  CHECK(((proc >> 32) & vmx::proc::NMI_WINDOW) == vmx::proc::NMI_WINDOW);
  CHECK(((proc2 >> 32) & (vmx::proc2::PLE | vmx::proc2::DESC_EXITING)) == 0);
  const CpuModel full = parse_cpu_option("intel");
  REQUIRE(vmx::read_vmx_capability_msr(full, vmx::msr::TRUE_PINBASED_CTLS, pin));
  CHECK(((pin >> 32) & 0x69) == 0x69);  // every pin-based control is offered
}
