// Robustness: whatever a guest does, softvt answers architecturally and
// never crashes, hangs past its instruction budget or touches host memory
// outside guest RAM (DESIGN.md "Errors and bad input").
//
// - REP string instructions with huge counts and exceptions that never let
//   an instruction retire: bounded by the run's instruction limit, a REP
//   still retiring once (docs/decisions.md "REP string instructions and
//   the instruction limit").
// - Regressions found by the chaos runs.
#include <catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <initializer_list>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/loader/flat.h"
#include "traces/text_trace.h"

using namespace softvt;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t SMALL_RAM = 2ull << 20;

std::vector<uint8_t> assemble(const std::string& src) {
  char dir[] = "/tmp/softvt_chaos_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string d = dir, in = d + "/t.asm", out = d + "/t.bin", err = d + "/err";
  std::ofstream(in) << src;
  const int rc = std::system(("nasm -Werror -f bin -o " + out + " " + in + " 2>" + err).c_str());
  std::ifstream ef(err);
  const std::string errors((std::istreambuf_iterator<char>(ef)), {});
  std::ifstream bf(out, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(bf)), {});
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
  rmdir(dir);
  INFO("nasm failed on:\n" << src << "\n" << errors);
  REQUIRE(rc == 0);
  return bytes;
}

// Counts how often each address is reported as an executed instruction.
struct InsnCounter : Cpu::Tracer {
  std::vector<uint64_t> rips;
  std::vector<GuestException> exceptions;
  void insn(const Cpu&, uint64_t rip, uint64_t, const uint8_t*, unsigned) override { rips.push_back(rip); }
  void exception(const Cpu&, const GuestException& e) override { exceptions.push_back(e); }
  void note(const Cpu&, const std::string&) override {}
  size_t times(uint64_t rip) const { return size_t(std::count(rips.begin(), rips.end(), rip)); }
};

// A long64 flat guest in a 2 MiB RAM: the identity map covers 4 GiB, so
// everything from 2 MiB to 4 GiB is mapped but not RAM (open bus).
struct SmallGuest {
  Memory mem{SMALL_RAM};
  CpuState init{};
  RunOutcome out;
  InsnCounter trace;

  explicit SmallGuest(const std::string& body, FlatMode m = FlatMode::Long64) {
    const std::string head = m == FlatMode::Long64 ? "bits 64\norg 0x10000\n" : "bits 32\norg 0x10000\n";
    init = setup_flat(mem, assemble(head + body), LOAD, m);
  }
  const CpuState& run(uint64_t max_insns) {
    RunOptions opt;
    opt.max_insns = max_insns;
    opt.tracer = &trace;
    // A hang is the failure this file looks for: end the test process
    // instead of the whole suite's timeout.
    alarm(60);
    out = run_interp(mem, init, default_cpu_model(), opt);
    alarm(0);
    return out.state;
  }
  uint64_t peek(uint64_t phys) const {
    uint64_t v;
    std::memcpy(&v, mem.ram() + phys, 8);
    return v;
  }
};

}  // namespace

// ---- REP string instructions: bounded steps -----------------------------------

TEST_CASE("REP STOSQ with RCX = 2^63 stops at the instruction limit, between iterations") {
  // 512 Mi iterations before the #PF at 4 GiB: without steps of bounded
  // length this one instruction would run for minutes, whatever --max-insns.
  SmallGuest g(R"(
    mov rax, 0x1122334455667788
    mov rcx, 0x8000000000000000
    mov edi, 0x100000
  rep_at:
    rep stosq
    hlt
  )");
  const uint64_t rep_at = LOAD + 25;  // 10 + 10 + 5 bytes of MOVs before it
  const CpuState& s = g.run(6);
  REQUIRE(g.out.stop == StopReason::Limit);
  // Three instructions retired; the REP did not, and was interrupted after
  // as many steps as the limit had left: 6 - 3 = 3 steps of 4096 elements.
  CHECK(s.insn_count == 3);
  CHECK(s.rip == rep_at);
  CHECK(s.gpr[RCX] == 0x8000000000000000ull - 3 * 4096);
  CHECK(s.gpr[RDI] == 0x100000 + 3 * 4096 * 8);
  CHECK(g.peek(0x100000) == 0x1122334455667788ull);
  CHECK(g.peek(0x100000 + 3 * 4096 * 8 - 8) == 0x1122334455667788ull);
  CHECK(g.peek(0x100000 + 3 * 4096 * 8) == 0);
  // The trace shows the interrupted instruction once.
  CHECK(g.trace.times(rep_at) == 1);
}

TEST_CASE("A REP instruction that needs many steps retires once and is traced once") {
  SmallGuest g(R"(
    mov eax, 0x5a
    mov ecx, 100000            ; 25 steps of 4096 bytes
    mov edi, 0x100000
  rep_at:
    rep stosb
    mov ecx, 10000
    mov esi, 0x100000
    mov edi, 0x180000
    rep movsb
    hlt
  )");
  const CpuState& s = g.run(~uint64_t(0));
  REQUIRE(g.out.stop == StopReason::Hlt);
  CHECK(s.insn_count == 9);  // each REP counts once, HLT included
  CHECK(s.gpr[RCX] == 0);
  CHECK(s.gpr[RDI] == 0x180000 + 10000);
  CHECK(g.mem.ram()[0x100000 + 99999] == 0x5a);
  CHECK(g.mem.ram()[0x100000 + 100000] == 0);
  CHECK(g.mem.ram()[0x180000 + 9999] == 0x5a);
  CHECK(g.trace.times(LOAD + 15) == 1);  // rep stosb after 5 + 5 + 5 bytes
}

TEST_CASE("REPE CMPSB stops at the first difference even past a step boundary") {
  SmallGuest g(R"(
    mov byte [0x101388], 1     ; 0x100000 + 5000 differs from 0x140000 + 5000
    mov ecx, 10000
    mov esi, 0x100000
    mov edi, 0x140000
    repe cmpsb
    hlt
  )");
  const CpuState& s = g.run(~uint64_t(0));
  REQUIRE(g.out.stop == StopReason::Hlt);
  // 5001 comparisons: the last one unequal (SDM REPE: ZF = 0 ends it).
  CHECK(s.gpr[RCX] == 10000 - 5001);
  CHECK(s.gpr[RSI] == 0x100000 + 5001);
  CHECK(s.gpr[RDI] == 0x140000 + 5001);
  CHECK((s.rflags & fl::ZF) == 0);
  CHECK(s.insn_count == 6);
}

TEST_CASE("A fault in a later step leaves the progress of the earlier ones") {
  SmallGuest g(R"(
    mov ecx, 10000
    mov rdi, 0xffffec78        ; 5000 bytes below 4 GiB, where the map ends
    rep stosb
    hlt
  )");
  const CpuState& s = g.run(~uint64_t(0));
  // The #PF at 4 GiB has no handler (IDT limit 0): shutdown, with the
  // registers of the interrupted instruction.
  REQUIRE(g.out.stop == StopReason::Shutdown);
  REQUIRE(!g.trace.exceptions.empty());
  CHECK(g.trace.exceptions.front().vector == 14);
  CHECK(g.trace.exceptions.front().cr2 == 0x100000000ull);
  CHECK(s.gpr[RCX] == 5000);
  CHECK(s.gpr[RDI] == 0x100000000ull);
  CHECK(s.insn_count == 2);
}

TEST_CASE("REP LODSD with a 32-bit count of 2^32 - 1 in prot32 is interrupted at the limit") {
  // Reads from open bus above 2 MiB: the element loop, not the page fast path.
  SmallGuest g(R"(
    mov ecx, 0xffffffff
    mov esi, 0x200000
    rep lodsd
    hlt
  )", FlatMode::Prot32);
  const CpuState& s = g.run(1000);
  REQUIRE(g.out.stop == StopReason::Limit);
  CHECK(s.insn_count == 2);
  CHECK(s.gpr[RCX] == 0xffffffffull - 998 * 4096);
  CHECK(s.gpr[RSI] == 0x200000 + 998 * 4096 * 4);
  CHECK(s.gpr[RAX] == 0xffffffffull);
}

TEST_CASE("A handler that faults before retiring anything cannot outlast the limit") {
  // #UD's gate leads to the UD2 itself, on an IST stack that every
  // delivery starts afresh: hardware would deliver #UD forever.
  SmallGuest g(R"(
    mov eax, 1
    ud2
  )");
  const uint64_t ud2_at = LOAD + 5;
  const uint64_t idt = 0x8000, tss = 0x9000, ist1 = 0x80000;
  const uint64_t gate = (ud2_at & 0xffff) | (uint64_t(0x08) << 16) | (uint64_t(1) << 32) |
                        (uint64_t(0x8e) << 40) | (((ud2_at >> 16) & 0xffff) << 48);
  std::memcpy(g.mem.ram() + idt + 16 * 6, &gate, 8);
  std::memcpy(g.mem.ram() + tss + 0x24, &ist1, 8);
  g.init.idtr = DescTable{idt, 0xfff, 0};
  g.init.tr = SegReg{0x40, 0, 0x8b, 0x67, 0, tss};
  const CpuState& s = g.run(100);
  REQUIRE(g.out.stop == StopReason::Limit);
  CHECK(s.insn_count == 1);
  CHECK(g.trace.exceptions.size() == 99);  // the limit counts each delivery
  CHECK(s.rip == ud2_at);
  CHECK(s.gpr[RSP] == ist1 - 40);
}

// ---- regressions found by the chaos runs --------------------------------------

TEST_CASE("IRET to virtual-8086 mode loads no reserved EFLAGS bits") {
  // prot32 seed 1199: an IRETD at CPL 0 popped 0x1ea376f7 and left bits
  // 22-28 set in EFLAGS, which no x86 processor can hold (SDM Vol. 1 3.4.3).
  SmallGuest g(R"(
    push dword 0               ; GS, FS, DS, ES
    push dword 0
    push dword 0
    push dword 0
    push dword 0x2000          ; SS
    push dword 0xfff0          ; ESP
    push dword 0xffc2b22a      ; VM, IOPL 3, IF, and reserved bits 3, 5, 15, 22-31
    push dword 0x1000          ; CS
    push dword 0               ; EIP
    iretd
  )", FlatMode::Prot32);
  const CpuState& s = g.run(10);
  REQUIRE(g.out.stop == StopReason::Limit);
  CHECK(s.insn_count == 10);
  CHECK(s.mode == Mode::V86);
  CHECK(s.rflags == 0x23202);
  CHECK(s.seg[CS].base == 0x10000);
  CHECK(s.gpr[RSP] == 0xfff0);
}
