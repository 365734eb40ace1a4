// Robustness: whatever a guest does, softvt answers architecturally and
// never crashes, hangs past its instruction budget or touches host memory
// outside guest RAM (DESIGN.md "Errors and bad input").
//
// - REP string instructions with huge counts and exceptions that never let
//   an instruction retire: bounded by the run's instruction limit, a REP
//   still retiring once (docs/decisions.md "REP string instructions and
//   the instruction limit").
// - Chaos runs: seeded random machine code (biased toward prefixes, 0F
//   escapes, far transfers, segment and descriptor-table loads, control and
//   debug registers, INT/IRET, REP strings, stack and memory accesses at
//   the edges of RAM and of the 4 GiB space, self-modifying stores) with
//   random descriptor tables, IDTs and page tables in a small RAM, in each
//   flat mode. Each run must end in HLT, shutdown or the limit, with no C++
//   exception escaping and a final state that is consistent; every 16th
//   case runs twice more, to the same final state (determinism). A sanitizer
//   build (meson -Db_sanitize=address,undefined) runs the same cases under
//   ASan/UBSan.
// - Regressions found by the chaos runs.
#include <catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/loader/flat.h"
#include "traces/text_trace.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t SMALL_RAM = 2ull << 20;

// How long one run may take before the test calls it a hang. The slowest
// chaos case takes about 8 s (a loop over REP instructions of millions of
// iterations, each retiring once); a sanitizer build is several times
// slower.
#ifdef __SANITIZE_ADDRESS__
constexpr unsigned WATCHDOG_S = 600;
#else
constexpr unsigned WATCHDOG_S = 60;
#endif

std::vector<uint8_t> assemble(const std::string& src) {
  return test::assemble_nasm(src, test::NasmWarnings::AreErrors);
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
    alarm(WATCHDOG_S);
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

// ---- guest RAM's host mapping -------------------------------------------------

// Reads host byte `p` in a child process; true if that read faulted.
bool host_read_faults(const volatile uint8_t* p) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGSEGV, SIG_DFL);
    (void)*p;
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  // Killed by SIGSEGV, or (in a sanitizer build) ended by its report.
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_CASE("Guest RAM has an inaccessible page on each side in the host") {
  // A host access past guest RAM is a softvt bug; the guard pages make it
  // fault at once, so the chaos runs see it instead of a silent read of a
  // neighbouring mapping.
  Memory mem(SMALL_RAM);
  CHECK_FALSE(host_read_faults(mem.ram()));
  CHECK_FALSE(host_read_faults(mem.ram() + SMALL_RAM - 1));
  CHECK(host_read_faults(mem.ram() + SMALL_RAM));
  CHECK(host_read_faults(mem.ram() - 1));
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

// ---- chaos runs ----------------------------------------------------------------

namespace {

// Where the generator puts things (all inside the 2 MiB RAM unless a value
// says otherwise). Code at LOAD; in real16 DS = LOAD >> 4, so the data
// area is addressed there with 16-bit offsets from LOAD.
constexpr uint64_t CODE_MAX = 0x1800;
constexpr uint64_t DATA = LOAD + 0x2000;      // random bytes, far pointers
constexpr uint64_t PSEUDO = LOAD + 0x3000;    // LGDT/LIDT operands, 16 bytes each
constexpr uint64_t ALT_GDT = LOAD + 0x4000;   // a second, random GDT
constexpr uint64_t LDT_AT = LOAD + 0x5000;
constexpr uint64_t IDT_AT = 0x8000;           // long64 16-byte gates, prot32 8-byte
constexpr uint64_t TSS_AT = 0x9000;
constexpr uint64_t PT_AT = 0xa000;            // extra page tables (long64 PTEs, prot32 maps)
constexpr unsigned PSEUDO_COUNT = 16;
constexpr unsigned FARPTR_COUNT = 16;         // at DATA, 16 bytes each

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t next() { return g(); }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T, size_t N>
  T pick(const T (&a)[N]) { return a[below(N)]; }
  template <class T>
  T one_of(std::initializer_list<T> l) { return *(l.begin() + below(l.size())); }
};

// Addresses and values at the edges: of pages, of the 2 MiB RAM, of the
// 16- and 32-bit spaces, of the canonical range, of signed ranges.
uint64_t edge_value(Rng& r) {
  static const uint64_t edges[] = {
      0, 1, 2, 4, 8, 0x7f, 0x80, 0xff, 0xffd, 0xffe, 0xfff, 0x1000, 0x7ffe, 0x8000, 0xfff0,
      0xfffc, 0xfffe, 0xffff, 0x10000, LOAD + 0x40, DATA, IDT_AT, TSS_AT, SMALL_RAM - 1,
      SMALL_RAM - 2, SMALL_RAM - 4, SMALL_RAM - 8, SMALL_RAM - 0x10, SMALL_RAM - 0x1000,
      SMALL_RAM, SMALL_RAM + 0xffe, 0x7ffffffe, 0x80000000, 0xfffff000, 0xfffffff0, 0xfffffffc,
      0xfffffffe, 0xffffffff, 0x100000000ull, 0x7ffffffffffeull, 0x7ffffffffff8ull,
      0x800000000000ull, 0xffff800000000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
      0xfffffffffffffff8ull, 0xfffffffffffffffeull, ~uint64_t(0)};
  switch (r.below(8)) {
    case 0: return r.next();
    case 1: return r.below(0x100);
    case 2: return r.pick(edges) + r.below(16) - 8;
    default: return r.pick(edges);
  }
}

// Selectors: null, the contract's, their RPL/TI variants, anything.
uint16_t selector(Rng& r) {
  static const uint16_t sels[] = {0, 3, 8, 0xb, 0x10, 0x13, 0x18, 0x1b, 0x20, 0x23, 0x28,
                                  0x2b, 0x30, 0x38, 0x40, 0x48, 0x50, 0x58, 0x60, 0x68,
                                  0x0c, 0x0f, 0x14, 0x1c, 0xfff8, 0xffff};
  if (r.chance(15)) return uint16_t(r.next());
  return r.pick(sels);
}

// ---- descriptors ------------------------------------------------------------------

uint64_t seg_desc(uint64_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (uint64_t(limit) & 0xffff) | ((base & 0xffffff) << 16) | (uint64_t(access) << 40) |
         (uint64_t((limit >> 16) & 0xf) << 48) | (uint64_t(flags & 0xf) << 52) |
         (((base >> 24) & 0xff) << 56);
}

uint64_t gate_lo(uint16_t sel, uint64_t off, uint8_t type, uint8_t dpl, uint8_t ist_or_params,
                 bool present) {
  return (off & 0xffff) | (uint64_t(sel) << 16) | (uint64_t(ist_or_params) << 32) |
         (uint64_t(type | (dpl << 5) | (present ? 0x80 : 0)) << 40) |
         (((off >> 16) & 0xffff) << 48);
}

// The generated code: its length and where its items start.
struct CodeMap {
  uint64_t len;
  const std::vector<uint32_t>* starts;  // offsets of the items
};

// A code address for handler entries and far targets: mostly the start of
// an item (so what was generated as a unit runs as one), sometimes any
// byte of the code, sometimes anywhere.
uint64_t code_target(Rng& r, const CodeMap& code) {
  if (r.chance(10)) return edge_value(r);
  if (code.starts && !code.starts->empty() && r.chance(80))
    return LOAD + (*code.starts)[r.below(code.starts->size())];
  return LOAD + r.below(code.len);
}

// One GDT/LDT slot (8 bytes; system descriptors in long mode take two).
void random_descriptor(Rng& r, const CodeMap& code, uint64_t out[2]) {
  out[1] = r.chance(50) ? 0 : r.next();  // upper half of a 16-byte descriptor
  const uint8_t dpl = uint8_t(r.below(4));
  const uint64_t base = r.chance(60) ? 0 : edge_value(r);
  const uint32_t limit = r.chance(50) ? 0xfffff : uint32_t(edge_value(r));
  const uint8_t gran = r.chance(60) ? 0x8 : 0;
  switch (r.below(10)) {
    case 0: out[0] = r.next(); return;
    case 1: case 2:  // code: 64-bit, 32-bit, 16-bit, conforming or not
      out[0] = seg_desc(base, limit, uint8_t(0x98 | (dpl << 5) | r.below(8)),
                        uint8_t(gran | r.one_of<uint8_t>({0x2, 0x4, 0x0, 0x6})));
      return;
    case 3: case 4:  // data: expand-up/down, read-only/writable, 16/32-bit
      out[0] = seg_desc(base, limit, uint8_t(0x90 | (dpl << 5) | r.below(8)),
                        uint8_t(gran | (r.chance(70) ? 0x4 : 0)));
      if (r.chance(10)) out[0] &= ~(uint64_t(0x80) << 40);  // not present
      return;
    case 5: {  // call gate into the code
      const uint64_t off = code_target(r, code);
      out[0] = gate_lo(r.one_of<uint16_t>({0x08, 0x18, 0x0b, 0x1b, 0x20}), off,
                       r.chance(80) ? 0xc : 0x4, dpl, uint8_t(r.below(32)), !r.chance(10));
      out[1] = off >> 32;
      return;
    }
    case 6: {  // TSS (available or busy, 16/32/64-bit) at TSS_AT or elsewhere
      const uint64_t tb = r.chance(70) ? TSS_AT : edge_value(r);
      out[0] = seg_desc(tb, r.chance(70) ? 0x67 + uint32_t(r.below(0x2000)) : uint32_t(r.next()),
                        uint8_t(0x80 | (dpl << 5) | r.one_of<uint8_t>({0x9, 0xb, 0x1, 0x3})),
                        0);
      out[1] = tb >> 32;
      return;
    }
    case 7: {  // LDT
      const uint64_t lb = r.chance(70) ? LDT_AT : edge_value(r);
      out[0] = seg_desc(lb, uint32_t(r.below(0x400)), uint8_t(0x82 | (dpl << 5)), 0);
      out[1] = lb >> 32;
      return;
    }
    case 8:  // task gate, interrupt/trap gates (invalid in the GDT for far transfers)
      out[0] = gate_lo(selector(r), code_target(r, code),
                       r.one_of<uint8_t>({0x5, 0xe, 0xf, 0x6, 0x7}), dpl, 0, true);
      return;
    default: out[0] = 0; return;
  }
}

void put64(Memory& mem, uint64_t at, uint64_t v) {
  if (at + 8 <= mem.ram_size()) std::memcpy(mem.ram() + at, &v, 8);
}

void fill_random(Rng& r, Memory& mem, uint64_t at, uint64_t len) {
  for (uint64_t i = 0; i < len && at + i < mem.ram_size(); ++i) mem.ram()[at + i] = uint8_t(r.next());
}

// ---- the machine around the code ----------------------------------------------------

// GDT slots 4.. at 0x500 (the contract's four stay, so handlers have a code
// segment), a second random GDT, an LDT, pseudo-descriptors for LGDT/LIDT
// and far pointers for indirect far transfers.
void random_tables(Rng& r, Memory& mem, CpuState& s, const CodeMap& code, FlatMode mode) {
  const unsigned extra = unsigned(r.below(28));
  uint64_t d[2];
  for (unsigned i = 0; i < extra; ++i) {
    random_descriptor(r, code, d);
    put64(mem, FLAT_GDT_BASE + 32 + 8 * i, d[0]);
    if (r.chance(30) && i + 1 < extra) put64(mem, FLAT_GDT_BASE + 32 + 8 * ++i, d[1]);
  }
  // Often, user segments at 0x20-0x38 (64-bit, 32-bit and 16-bit code,
  // data; DPL 3) so IRET/RETF/call gates reach CPL 3.
  const bool user_segments = r.chance(80);
  if (user_segments) {
    static const uint64_t user[] = {0x00affb000000ffffull, 0x00cff3000000ffffull,
                                    0x00cffb000000ffffull, 0x0000fb000000ffffull};
    for (unsigned i = 0; i < 4; ++i) put64(mem, FLAT_GDT_BASE + 32 + 8 * i, user[i]);
  }
  switch (r.below(4)) {
    case 0:  // the contract's limit (31), or up to the user segments
      if (user_segments) s.gdtr.limit = 63;
      break;
    case 1: s.gdtr.limit = uint32_t(32 + 8 * std::max(extra, 4u) - 1); break;
    case 2: s.gdtr.limit = 0xffff; break;  // runs into the page tables
    default: s.gdtr.limit = uint32_t(r.below(0x10000)); break;
  }
  for (unsigned i = 0; i < 64; ++i) {
    random_descriptor(r, code, d);
    put64(mem, ALT_GDT + 8 * i, d[0]);
    random_descriptor(r, code, d);
    put64(mem, LDT_AT + 8 * i, d[0]);
  }
  std::memcpy(mem.ram() + ALT_GDT, mem.ram() + FLAT_GDT_BASE, 32);
  static const uint64_t table_bases[] = {FLAT_GDT_BASE, ALT_GDT, LDT_AT, IDT_AT, 0,
                                         SMALL_RAM - 8, SMALL_RAM, 0xfffffff0, 0xffffffff};
  for (unsigned i = 0; i < PSEUDO_COUNT; ++i) {
    const uint64_t at = PSEUDO + 16 * i;
    const uint16_t limit = uint16_t(r.chance(50) ? r.one_of<uint16_t>({31, 0x1ff, 0xfff, 0x3ff, 0, 0xffff})
                                                 : r.next());
    const uint64_t base = r.chance(70) ? r.pick(table_bases) : edge_value(r);
    std::memcpy(mem.ram() + at, &limit, 2);
    std::memcpy(mem.ram() + at + 2, &base, 8);
  }
  for (unsigned i = 0; i < FARPTR_COUNT; ++i) {
    // m16:16, m16:32 and m16:64 read the selector after 2, 4 or 8 bytes of
    // offset: put a selector at each place.
    const uint64_t at = DATA + 16 * i;
    const uint64_t off = code_target(r, code);
    std::memcpy(mem.ram() + at, &off, 8);
    const uint16_t sel = selector(r);
    for (unsigned o : {2u, 4u, 8u}) std::memcpy(mem.ram() + at + o, &sel, 2);
    if (r.chance(50)) std::memcpy(mem.ram() + at + 4, &off, 4);  // plausible m16:32 offset
  }
  fill_random(r, mem, DATA + 16 * FARPTR_COUNT, 0x400);
  // LDTR: usable sometimes, at the random LDT.
  if (mode != FlatMode::Real16 && r.chance(40))
    s.ldtr = SegReg{0x28, 0, 0x82, uint32_t(r.below(0x200)), 0, LDT_AT};
}

// An IDT (or IVT) whose gates mostly lead back into the code, so a run goes
// on after its faults; some are broken in every way a gate can be. A TSS
// with stacks for privilege changes and IST, mostly in RAM. `tidy` is the
// percentage of gates and stacks made plausible: low, the first faults end
// the run in a triple fault; high, it goes on through many handlers.
void random_idt(Rng& r, Memory& mem, CpuState& s, const CodeMap& code, FlatMode mode, unsigned tidy) {
  if (mode == FlatMode::Real16) {
    for (unsigned v = 0; v < 256; ++v) {
      const uint32_t off = uint32_t(code_target(r, code) - LOAD) & 0xffff;
      const uint32_t entry = r.chance(tidy) ? (off | (uint32_t(LOAD >> 4) << 16)) : uint32_t(r.next());
      std::memcpy(mem.ram() + 4 * v, &entry, 4);
    }
    s.idtr = DescTable{0, uint32_t(r.chance(tidy) ? 0x3ff : r.below(0x400)), 0};
    return;
  }
  const bool long64 = mode == FlatMode::Long64;
  const unsigned size = long64 ? 16 : 8;
  for (unsigned v = 0; v < 256; ++v) {
    const uint64_t off = code_target(r, code);
    uint64_t lo, hi = off >> 32;
    // The #DF gate is kept valid in tidy runs: their runs go on after a
    // broken stack instead of ending in a triple fault.
    const bool keep = v == vec::DF && r.chance(tidy);
    if (keep || r.chance(tidy)) {
      const uint16_t cs = keep || r.chance(tidy) ? (long64 ? 0x08 : 0x18) : selector(r);
      const uint8_t type = keep || r.chance(tidy) ? (r.chance(50) ? 0xe : 0xf) : uint8_t(r.below(16));
      const uint8_t dpl = r.chance(70) ? 3 : uint8_t(r.below(3));
      // #DF on an IST stack (as operating systems do) lets a run survive
      // a stack pointer that broke the other deliveries.
      uint8_t ist = long64 && r.chance(20) ? uint8_t(1 + r.below(7)) : 0;
      if (long64 && v == vec::DF && r.chance(tidy)) ist = 1;
      lo = gate_lo(cs, off, type, dpl, ist, keep || !r.chance((100 - tidy) / 3));
    } else {
      lo = r.next();
      hi = r.next();
    }
    put64(mem, IDT_AT + size * v, lo);
    if (long64) put64(mem, IDT_AT + size * v + 8, hi);
  }
  s.idtr = DescTable{IDT_AT, uint32_t(r.chance(tidy) ? 256 * size - 1 : r.below(256 * size)), 0};
  // TSS: RSP0-2 / IST1-7 (64-bit) or SS0:ESP0.. (32-bit), I/O map base.
  for (unsigned i = 0; i < 13; ++i)
    put64(mem, TSS_AT + 4 + 8 * i, r.chance(tidy) ? 0x70000 + 0x1000 * r.below(16) : edge_value(r) & ~uint64_t(7));
  if (!long64) {
    for (unsigned i = 0; i < 3; ++i) {
      const uint32_t esp = uint32_t(r.chance(tidy) ? 0x70000 + 0x1000 * i : edge_value(r));
      const uint32_t ss = r.chance(tidy) ? 0x10 : selector(r);
      std::memcpy(mem.ram() + TSS_AT + 4 + 8 * i, &esp, 4);
      std::memcpy(mem.ram() + TSS_AT + 8 + 8 * i, &ss, 4);
    }
  }
  const uint16_t iomap = uint16_t(r.chance(50) ? 0x68 : r.next());
  std::memcpy(mem.ram() + TSS_AT + 0x66, &iomap, 2);
  fill_random(r, mem, TSS_AT + 0x68, 0x2000);
  if (r.chance(std::max(tidy, 70u))) {
    const uint8_t type = r.chance(tidy) ? 0xb : r.one_of<uint8_t>({0x3, 0x9, 0x1});
    s.tr = SegReg{0x40, 0, uint32_t(0x80 | type), uint32_t(r.chance(70) ? 0x2067 : r.below(0x3000)), 0,
                  TSS_AT};
  }
}

// long64: break a few paging-structure entries (reserved bits, beyond RAM,
// not present, 4 KiB tables of random PTEs, PS in the PML4E).
void random_page_tables(Rng& r, Memory& mem) {
  const unsigned n = unsigned(r.below(6));
  for (unsigned i = 0; i < n; ++i) {
    uint64_t at;
    switch (r.below(4)) {
      case 0: at = FLAT_PML4 + 8 * r.below(512); break;
      case 1: at = 0x2000 + 8 * r.below(8); break;
      default: at = 0x3000 + 8 * r.below(4 * 512); break;  // the PDEs
    }
    uint64_t v;
    switch (r.below(5)) {
      case 0: v = r.next(); break;
      case 1: v = (PT_AT + 0x1000 * r.below(4)) | 0x7 | (r.chance(30) ? (1ull << 63) : 0); break;
      case 2: v = (edge_value(r) & ~uint64_t(0xfff)) | 0x87; break;
      case 3: v = 0; break;
      default: v = (r.below(8) << 21) | 0x87 | (r.chance(50) ? 0x100 : 0); break;
    }
    put64(mem, at, v);
  }
  for (unsigned i = 0; i < 4 * 512; ++i) {
    const uint64_t pte = r.chance(80) ? ((r.below(0x300) << 12) | 0x7 | (r.next() & 0x60))
                                      : r.next();
    put64(mem, PT_AT + 8 * i, pte);
  }
}

// prot32: tables for the guest to turn paging on with (mode_switch): a
// 32-bit page directory of 4 MiB pages at PT_AT and a PAE PDPT at
// PT_AT + 0x1000 over four directories of 2 MiB pages (up to LOAD), both
// identity maps of 4 GiB, with a few entries broken.
void prot32_page_tables(Rng& r, Memory& mem) {
  for (uint64_t i = 0; i < 1024; ++i) {
    const uint32_t pde = uint32_t((i << 22) | 0x87);
    std::memcpy(mem.ram() + PT_AT + 4 * i, &pde, 4);
  }
  for (uint64_t i = 0; i < 4; ++i) put64(mem, PT_AT + 0x1000 + 8 * i, (PT_AT + 0x2000 + 0x1000 * i) | 1);
  for (uint64_t i = 0; i < 4 * 512; ++i) put64(mem, PT_AT + 0x2000 + 8 * i, (i << 21) | 0x87);
  const unsigned broken = unsigned(r.below(8));
  for (unsigned i = 0; i < broken; ++i) {
    const uint64_t at = PT_AT + (r.chance(30) ? 0x1000 + 8 * r.below(4) : 8 * r.below(0x1000 / 8 * 6));
    put64(mem, at, r.chance(50) ? r.next() : (edge_value(r) & ~uint64_t(0xfff)) | 0x7);
  }
}

// Initial registers and flags; the segment state comes from the code's
// prologue (segment loads are what the guest would do).
void random_registers(Rng& r, CpuState& s, FlatMode mode) {
  for (unsigned i = 0; i < 16; ++i)
    if (i != RSP || r.chance(30)) s.gpr[i] = edge_value(r);
  if (mode == FlatMode::Real16) s.gpr[RSP] &= 0xffff;
  static const uint64_t flag_bits[] = {fl::CF, fl::PF, fl::AF, fl::ZF, fl::SF, fl::DF,
                                       fl::OF, fl::IF, fl::AC, fl::NT, fl::ID, fl::TF,
                                       uint64_t(1) << 12, uint64_t(1) << 13};
  for (uint64_t b : flag_bits)
    if (r.chance(20)) s.rflags |= b;
}

// ---- the code ---------------------------------------------------------------------

struct CodeGen {
  Rng& r;
  FlatMode mode;
  std::vector<uint8_t> out;
  std::vector<uint32_t> starts;  // where each item begins

  unsigned bits() const { return mode == FlatMode::Long64 ? 64 : mode == FlatMode::Prot32 ? 32 : 16; }
  void b(uint64_t v) { out.push_back(uint8_t(v)); }
  void le(uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b(v >> (8 * i));
  }
  // An address operand for `abs` in the data/code area: ModRM byte with
  // `reg` and the absolute displacement (DS-relative in real16).
  void abs_modrm(unsigned reg, uint64_t abs) {
    switch (bits()) {
      case 64: b(0x04 | (reg << 3)); b(0x25); le(abs, 4); break;
      case 32: b(0x05 | (reg << 3)); le(abs, 4); break;
      default: b(0x06 | (reg << 3)); le(abs - LOAD, 2); break;
    }
  }
  // MOV reg, imm at the full register width of the mode.
  void mov_imm(unsigned reg, uint64_t v) {
    switch (bits()) {
      case 64: b(0x48 | (reg >> 3)); b(0xb8 + (reg & 7)); le(v, 8); break;
      case 32: b(0xb8 + (reg & 7)); le(v, 4); break;
      default:
        if (r.chance(30)) { b(0x66); b(0xb8 + (reg & 7)); le(v, 4); }
        else { b(0xb8 + (reg & 7)); le(v, 2); }
        break;
    }
  }
  void rex_w() {
    if (bits() == 64 && r.chance(50)) b(0x48);
  }
  void random_prefixes(unsigned max) {
    static const uint8_t p[] = {0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65};
    const unsigned n = unsigned(r.below(max + 1));
    for (unsigned i = 0; i < n; ++i) b(r.pick(p));
    if (bits() == 64 && r.chance(30)) b(0x40 | r.below(16));
  }
  void modrm_any() {
    const uint8_t m = uint8_t(r.next());
    b(m);
    // SIB and displacement bytes as the ModRM needs (whatever the mode, a
    // few extra random bytes do no harm: they are the next instruction).
    if ((m & 0xc0) != 0xc0 && (m & 7) == 4) b(r.next());
    if ((m & 0xc0) == 0x40) b(r.next());
    if ((m & 0xc0) == 0x80 || ((m & 0xc0) == 0 && (m & 7) == 5)) le(r.next(), 4);
  }

  void segment_load() {
    mov_imm(0, selector(r));
    const unsigned sreg = unsigned(r.below(6));
    b(0x8e); b(0xc0 | (sreg << 3));
  }
  void control_register() {
    mov_imm(0, r.chance(50) ? edge_value(r) : r.next());
    static const unsigned crs[] = {0, 0, 3, 4, 4, 2, 8};
    const unsigned cr = r.pick(crs);
    if (cr == 8) b(0x44);
    b(0x0f); b(r.chance(85) ? 0x22 : 0x20); b(0xc0 | ((cr & 7) << 3));
  }
  void flip_cr_bits() {
    // mov eax, crN; xor eax, imm32; mov crN, eax: a plausible change (PE,
    // PG, PAE, WP, LA57...) instead of a random value.
    static const unsigned crs[] = {0, 3, 4};
    const unsigned cr = r.pick(crs);
    b(0x0f); b(0x20); b(0xc0 | (cr << 3));
    if (bits() == 16) b(0x66);
    b(0x35); le(uint64_t(1) << r.below(32), 4);
    b(0x0f); b(0x22); b(0xc0 | (cr << 3));
  }
  void debug_register() {
    mov_imm(0, edge_value(r));
    b(0x0f); b(r.chance(60) ? 0x23 : 0x21); b(0xc0 | (r.below(8) << 3));
  }
  void msr() {
    static const uint32_t msrs[] = {0xc0000080, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000084,
                                    0xc0000100, 0xc0000101, 0xc0000102, 0x10, 0x1b, 0x277,
                                    0x174, 0x175, 0x176, 0x3a, 0xc0000103, 0x12345678};
    if (bits() == 16) b(0x66);
    b(0xb9); le(r.pick(msrs), 4);
    mov_imm(0, edge_value(r));
    mov_imm(2, r.chance(70) ? 0 : edge_value(r));
    b(0x0f); b(r.chance(70) ? 0x30 : 0x32);
  }
  void descriptor_table_load() {
    // LGDT/LIDT/SGDT/SIDT [pseudo], LLDT/LTR/VERR/VERW/LAR/LSL of a selector.
    if (r.chance(60)) {
      if (bits() != 64 && r.chance(30)) b(0x66);
      b(0x0f); b(0x01);
      abs_modrm(unsigned(r.one_of<uint8_t>({2, 3, 2, 3, 0, 1})), PSEUDO + 16 * r.below(PSEUDO_COUNT));
      return;
    }
    mov_imm(0, selector(r));
    if (r.chance(70)) { b(0x0f); b(0x00); b(0xc0 | (r.below(6) << 3)); }
    else { b(0x0f); b(r.chance(50) ? 0x02 : 0x03); b(0xc0 | (1 << 3)); }
  }
  void far_transfer() {
    switch (r.below(5)) {
      case 0:  // JMP/CALL ptr16:16/32 (not in 64-bit mode: #UD)
        if (r.chance(20)) b(0x66);
        b(r.chance(50) ? 0xea : 0x9a);
        le(r.below(CODE_MAX) + (bits() == 16 ? 0 : LOAD), bits() == 16 ? 2 : 4);
        le(selector(r), 2);
        break;
      case 1: case 2:  // JMP/CALL m16:16/32/64
        if (r.chance(30)) b(0x66);
        rex_w();
        b(0xff);
        abs_modrm(r.chance(50) ? 5 : 3, DATA + 16 * r.below(FARPTR_COUNT));
        break;
      case 3:  // RETF [imm16] with a pushed far pointer
        push_imm(selector(r));
        push_imm(code_target(r, CodeMap{CODE_MAX, &starts}));
        rex_w();
        if (r.chance(30)) { b(0xca); le(r.below(16) * 2, 2); }
        else b(0xcb);
        break;
      default:  // IRET with a pushed frame
        iret_frame();
        break;
    }
  }
  void push_imm(uint64_t v) {
    if (bits() == 64) {
      mov_imm(3, v);
      b(0x53);
    } else {
      if (bits() == 16 && r.chance(30)) b(0x66);
      b(0x68); le(v, bits() == 16 ? 2 : 4);
    }
  }
  // IRET frames: to CPL 3 through the user segments random_tables often
  // provides, to virtual-8086 mode (not in long mode), or anything.
  void iret_frame() {
    static const uint64_t flags[] = {0x2, 0x202, 0x3002, 0x20002, 0x23202, 0x4002, 0x10002};
    const unsigned kind = unsigned(r.below(10));
    const bool user = kind < 4, v86 = bits() != 64 && (kind == 4 || kind == 5);
    if (v86) {
      for (int i = 0; i < 4; ++i) push_imm(r.chance(50) ? LOAD >> 4 : edge_value(r) & 0xffff);  // GS..ES
      push_imm(r.chance(50) ? 0x2000 : edge_value(r) & 0xffff);  // SS
      push_imm(r.chance(50) ? 0xfff0 : edge_value(r));           // ESP
      push_imm(r.chance(50) ? 0x23202 : 0x20002 | (r.next() & 0x3fffd5));
      push_imm(r.chance(70) ? LOAD >> 4 : selector(r));           // CS
      push_imm(r.below(CODE_MAX));                                // IP
    } else {
      if (bits() == 64 || user || r.chance(40)) {
        push_imm(user ? 0x2b : selector(r));                      // SS
        push_imm(edge_value(r));                                  // RSP
      }
      push_imm(r.chance(70) ? r.pick(flags) : r.next());
      push_imm(user ? r.one_of<uint16_t>({0x23, 0x33, 0x3b}) : selector(r));
      push_imm(code_target(r, CodeMap{CODE_MAX, &starts}));
    }
    if (bits() == 64 && r.chance(70)) b(0x48);
    if (bits() == 16 && (v86 || r.chance(20))) b(0x66);
    b(0xcf);
  }
  void interrupt() {
    switch (r.below(4)) {
      case 0: b(0xcc); break;
      case 1: b(0xce); break;
      case 2: b(0xf1); break;
      default: b(0xcd); b(r.chance(50) ? r.below(32) : r.next()); break;
    }
  }
  void string_op() {
    static const uint8_t ops[] = {0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
                                  0x6c, 0x6d, 0x6e, 0x6f};
    // Counts: small, or too large to finish (the run interrupts those at
    // its limit). Middle-sized ones, which finish after millions of
    // iterations, come only from other items: a loop over one of them
    // costs seconds (each retires as one instruction).
    static const uint64_t huge[] = {0x8000000000000000ull, ~uint64_t(0), 0xffffffff, 0x80000000,
                                    0xfffffff0, 0x7fffffff};
    if (r.chance(70)) mov_imm(1, r.chance(60) ? r.below(0x3000) : r.chance(80) ? r.pick(huge) : r.next());
    if (r.chance(50)) mov_imm(6, edge_value(r));
    if (r.chance(50)) mov_imm(7, edge_value(r));
    if (r.chance(20)) b(r.chance(50) ? 0xfd : 0xfc);  // STD / CLD
    if (r.chance(20)) b(r.one_of<uint8_t>({0x66, 0x67, 0x26, 0x64, 0x2e}));
    if (r.chance(80)) b(r.chance(70) ? 0xf3 : 0xf2);
    rex_w();
    b(r.pick(ops));
  }
  void stack_op() {
    if (r.chance(30)) mov_imm(4, edge_value(r));
    static const uint8_t ops[] = {0x50, 0x58, 0x60, 0x61, 0x9c, 0x9d, 0xc8, 0xc9, 0x68, 0x6a,
                                  0x8f, 0xe8, 0xc3, 0xc2, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x06, 0x07};
    const uint8_t op = r.pick(ops);
    if (r.chance(20)) b(0x66);
    switch (op) {
      case 0xc8: b(op); le(r.below(0x10000), 2); b(r.next()); break;
      case 0x68: b(op); le(r.next(), bits() == 16 ? 2 : 4); break;
      case 0x6a: b(op); b(r.next()); break;
      case 0x8f: b(op); b(0x00 | r.below(8)); break;
      case 0xe8: b(op); le(r.below(64), bits() == 16 ? 2 : 4); break;
      case 0xc2: b(op); le(r.next(), 2); break;
      case 0x50: case 0x58: b(op + r.below(8)); break;
      default: b(op); break;
    }
  }
  void memory_access() {
    // A base register at an edge, then a random access through it.
    const unsigned base = unsigned(r.one_of<uint8_t>({3, 5, 6, 7}));
    mov_imm(base, edge_value(r) + (r.chance(50) ? 0 : LOAD));
    static const uint8_t ops[] = {0x88, 0x89, 0x8a, 0x8b, 0x01, 0x03, 0x87, 0x86, 0xff, 0xf7,
                                  0x80, 0xc6, 0xc7, 0x8c, 0x8e, 0xd1, 0x0f};
    random_prefixes(2);
    const uint8_t op = r.pick(ops);
    b(op);
    if (op == 0x0f) b(r.one_of<uint8_t>({0xb0, 0xb1, 0xc7, 0xc1, 0xab, 0xb3, 0xba, 0x01, 0x00}));
    // mod = 00 or 01 with rm = base (16-bit forms pick whatever [x] that is).
    const uint8_t mod = r.chance(50) ? 0x40 : 0x00;
    b(mod | (r.below(8) << 3) | (base == 5 && mod == 0 ? 6 : base));
    if (mod == 0x40) b(r.next());
    if (r.chance(50)) le(r.next(), 4);  // an immediate, or the next instruction's bytes
  }
  void self_modify() {
    // MOV byte [code + k], imm8 just ahead of or behind the store, or a
    // short REP STOSB over code.
    const uint64_t target = LOAD + (out.size() + r.below(64) - 16) % CODE_MAX;
    if (r.chance(70)) {
      b(0xc6);
      abs_modrm(0, target);
      b(r.chance(50) ? 0x90 : r.next());
    } else {
      mov_imm(7, bits() == 16 ? target - LOAD : target);
      mov_imm(1, r.below(32));
      b(0xf3); b(0xaa);
    }
  }
  void mode_switch() {
    switch (bits()) {
      case 16:  // to protected mode: set PE, far jump to the 32-bit code selector
        b(0x0f); b(0x20); b(0xc0);
        b(0x0c); b(0x01);
        b(0x0f); b(0x22); b(0xc0);
        if (r.chance(60)) { b(0x66); b(0xea); le(LOAD + out.size() + 6, 4); le(0x18, 2); }
        break;
      case 32: {  // paging on: 32-bit with PSE or PAE, at prot32_page_tables' maps
        const bool pae = r.chance(50);
        const uint64_t cr3 = r.chance(80) ? PT_AT + (pae ? 0x1000 : 0) : edge_value(r) & ~uint64_t(0xfff);
        mov_imm(0, cr3);
        b(0x0f); b(0x22); b(0xd8);
        b(0x0f); b(0x20); b(0xe0); b(0x0d); le(pae ? 0x20 : 0x10, 4); b(0x0f); b(0x22); b(0xe0);
        b(0x0f); b(0x20); b(0xc0); b(0x0d); le(0x80000001, 4); b(0x0f); b(0x22); b(0xc0);
        break;
      }
      default:  // to compatibility mode and maybe back
        b(0xff); abs_modrm(r.chance(50) ? 5 : 3, DATA + 16 * r.below(FARPTR_COUNT));
        break;
    }
  }
  void jump() {
    switch (r.below(4)) {
      case 0: b(0xeb); b(r.next()); break;
      case 1: b(0x70 + r.below(16)); b(r.next()); break;
      case 2: b(0xe2 + r.below(2)); b(r.next()); break;  // LOOP, JCXZ
      default: b(0xe9); le(int32_t(r.below(512)) - 256, bits() == 16 ? 2 : 4); break;
    }
  }
  void escape_0f() {
    random_prefixes(3);
    b(0x0f);
    static const uint8_t ops[] = {0x00, 0x01, 0x01, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x31,
                                  0x34, 0x35, 0xa2, 0xa0, 0xa1, 0xa8, 0xa9, 0xb2, 0xb4, 0xb5,
                                  0xc7, 0x0d, 0x18, 0x1f, 0xae, 0x38, 0x3a};
    b(r.chance(70) ? r.pick(ops) : r.next());
    modrm_any();
  }
  void random_bytes() {
    const unsigned n = 1 + unsigned(r.below(8));
    for (unsigned i = 0; i < n; ++i) b(r.next());
  }
  void prefix_soup() {
    random_prefixes(r.chance(10) ? 16 : 4);
    static const uint8_t ops[] = {0x90, 0x8d, 0x63, 0xd4, 0xd5, 0xf6, 0xf7, 0xc4, 0xc5, 0x62,
                                  0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0xfa, 0xfb,
                                  0x9b, 0xd6, 0xf4, 0x8c, 0x8e, 0xc8, 0x27, 0x2f, 0x37, 0x3f};
    b(r.pick(ops));
    modrm_any();
  }

  // A quarter of the programs favour privilege changes (IRET, far
  // transfers, INT n, segment loads), whose paths random code rarely
  // reaches otherwise.
  bool privileged_profile = false;

  void item() {
    if (privileged_profile && r.chance(50)) {
      switch (r.below(4)) {
        case 0: iret_frame(); break;
        case 1: far_transfer(); break;
        case 2: interrupt(); break;
        default: segment_load(); break;
      }
      return;
    }
    switch (r.below(20)) {
      case 0: case 1: segment_load(); break;
      case 2: control_register(); break;
      case 3: flip_cr_bits(); break;
      case 4: debug_register(); break;
      case 5: msr(); break;
      case 6: descriptor_table_load(); break;
      case 7: case 8: far_transfer(); break;
      case 9: interrupt(); break;
      case 10: case 11: string_op(); break;
      case 12: stack_op(); break;
      case 13: memory_access(); break;
      case 14: self_modify(); break;
      case 15: if (r.chance(30)) mode_switch(); else jump(); break;
      case 16: escape_0f(); break;
      case 17: random_bytes(); break;
      case 18: prefix_soup(); break;
      default: mov_imm(unsigned(r.below(bits() == 64 ? 16 : 8)), edge_value(r)); break;
    }
  }

  std::vector<uint8_t> program() {
    privileged_profile = r.chance(25);
    // Prologue: segment registers and the stack pointer first, so later
    // code runs with them (the initial state is the contract's).
    const unsigned pro = unsigned(r.below(6));
    for (unsigned i = 0; i < pro; ++i) segment_load();
    if (r.chance(30)) mov_imm(4, edge_value(r));
    const uint64_t target = 64 + r.below(CODE_MAX - 64 - 64);
    while (out.size() < target) {
      starts.push_back(uint32_t(out.size()));
      item();
    }
    if (out.size() > CODE_MAX) out.resize(CODE_MAX);
    while (!starts.empty() && starts.back() >= out.size()) starts.pop_back();
    return out;
  }
};

// ---- the checks ----------------------------------------------------------------------

Mode expected_mode(const CpuState& s) {
  if (!(s.cr0 & cr0::PE)) return Mode::Real;
  if (s.rflags & fl::VM) return Mode::V86;
  const uint32_t cs = s.seg[CS].attr;
  if (s.efer & efer::LMA) {
    if (cs & ar::L) return Mode::Long64;
    return (cs & ar::DB) ? Mode::Compat32 : Mode::Compat16;
  }
  return (cs & ar::DB) ? Mode::Prot32 : Mode::Prot16;
}

// Returns what is inconsistent in a final state ("" if nothing).
std::string insane(const RunOutcome& o, uint64_t max_insns) {
  const CpuState& s = o.state;
  std::string why;
  auto need = [&](bool ok, const char* what) {
    if (!ok) why += std::string(what) + "; ";
  };
  need(o.stop == StopReason::Hlt || o.stop == StopReason::Shutdown || o.stop == StopReason::Limit,
       "the run ended neither in hlt, shutdown nor limit");
  need(s.insn_count <= max_insns, "more instructions retired than the limit");
  need(s.cpl <= 3, "CPL above 3");
  need(s.mode == expected_mode(s), "mode disagrees with CR0.PE/RFLAGS.VM/EFER.LMA/CS");
  need(s.mode != Mode::Real || s.cpl == 0, "CPL != 0 in real mode");
  need(s.mode != Mode::V86 || s.cpl == 3, "CPL != 3 in virtual-8086 mode");
  const unsigned code = s.mode == Mode::Long64 ? 8
                        : (s.mode == Mode::Real || s.mode == Mode::V86)
                            ? ((s.seg[CS].attr & ar::DB) && s.mode == Mode::Real ? 4 : 2)
                            : ((s.seg[CS].attr & ar::DB) ? 4 : 2);
  need(s.code_size == code, "code size disagrees with the mode and CS.D");
  const unsigned stack = s.mode == Mode::Long64 ? 8 : ((s.seg[SS].attr & ar::DB) ? 4 : 2);
  need(s.stack_size == stack, "stack size disagrees with the mode and SS.B");
  need(!(s.efer & efer::LMA) || ((s.cr0 & cr0::PG) && (s.cr4 & cr4::PAE) && (s.efer & efer::LME)),
       "EFER.LMA without CR0.PG, CR4.PAE and EFER.LME");
  need(!((s.cr0 & cr0::PG) && (s.efer & efer::LME)) || (s.efer & efer::LMA),
       "CR0.PG and EFER.LME without EFER.LMA");
  need(!(s.cr0 & cr0::PG) || (s.cr0 & cr0::PE), "CR0.PG without CR0.PE");
  need(s.cr0 & cr0::ET, "CR0.ET clear");
  need((s.cr0 >> 32) == 0, "CR0 bits 63:32 set");
  need(s.rflags & fl::FIXED1, "RFLAGS bit 1 clear");
  need((s.rflags & ~uint64_t(0x3f7fd7)) == 0, "reserved RFLAGS bits set");
  need(s.code_size == 8 || s.rip <= 0xffffffffull, "RIP beyond 32 bits outside 64-bit mode");
  need(s.gdtr.limit <= 0xffff && s.idtr.limit <= 0xffff, "a descriptor-table limit above 0xffff");
  need(s.halted == (o.stop == StopReason::Hlt), "halted flag disagrees with the stop reason");
  return why;
}

bool same_segment(const SegReg& a, const SegReg& b) {
  return a.sel == b.sel && a.attr == b.attr && a.limit == b.limit && a.base == b.base;
}

bool same_state(const CpuState& a, const CpuState& b) {
  bool same = std::equal(a.gpr, a.gpr + 16, b.gpr) && a.rip == b.rip && a.rflags == b.rflags &&
              a.cr0 == b.cr0 && a.cr2 == b.cr2 && a.cr3 == b.cr3 && a.cr4 == b.cr4 &&
              a.efer == b.efer && a.insn_count == b.insn_count && a.cpl == b.cpl &&
              a.mode == b.mode && a.gdtr.base == b.gdtr.base && a.gdtr.limit == b.gdtr.limit &&
              a.idtr.base == b.idtr.base && a.idtr.limit == b.idtr.limit &&
              same_segment(a.ldtr, b.ldtr) && same_segment(a.tr, b.tr);
  for (int i = 0; i < 6; ++i) same = same && same_segment(a.seg[i], b.seg[i]);
  return same;
}

struct ChaosStats {
  uint64_t runs = 0, hlt = 0, shutdown = 0, limit = 0, insns = 0, exceptions = 0;
  uint64_t paging = 0;           // final states with CR0.PG
  uint64_t user = 0, v86 = 0;    // runs that executed at CPL 3, in virtual-8086 mode
  uint64_t modes[7] = {};
};

struct ExceptionCount : Cpu::Tracer {
  uint64_t n = 0;
  bool user = false, v86 = false;  // an instruction ran at CPL 3 / in virtual-8086 mode
  void insn(const Cpu& c, uint64_t, uint64_t, const uint8_t*, unsigned) override {
    user |= c.s.cpl == 3;
    v86 |= c.s.mode == Mode::V86;
  }
  void exception(const Cpu&, const GuestException&) override { ++n; }
  void note(const Cpu&, const std::string&) override {}
};

struct ChaosCase {
  Memory mem{SMALL_RAM};
  CpuState init{};
  std::vector<uint8_t> code;
};

void build_case(ChaosCase& c, FlatMode mode, uint64_t seed) {
  Rng r(seed * 3 + uint64_t(mode));
  CodeGen gen{r, mode, {}, {}};
  c.code = gen.program();
  const CodeMap code{c.code.size(), &gen.starts};
  c.init = setup_flat(c.mem, c.code, LOAD, mode);
  random_tables(r, c.mem, c.init, code, mode);
  random_idt(r, c.mem, c.init, code, mode, r.one_of<unsigned>({60, 85, 97}));
  if (mode == FlatMode::Long64 && r.chance(40)) random_page_tables(r, c.mem);
  if (mode == FlatMode::Prot32) prot32_page_tables(r, c.mem);
  random_registers(r, c.init, mode);
}

std::string hex_bytes(const std::vector<uint8_t>& v, size_t max) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < v.size() && i < max; ++i) {
    std::snprintf(b, sizeof b, "%02x", v[i]);
    s += b;
  }
  return s;
}

// One run; returns "" or what went wrong.
std::string chaos_run(FlatMode mode, uint64_t seed, uint64_t max_insns, ChaosStats& st,
                      CpuState* final_state = nullptr) {
  ChaosCase c;
  build_case(c, mode, seed);
  ExceptionCount ex;
  RunOptions opt;
  opt.max_insns = max_insns;
  opt.tracer = &ex;
  // SOFTVT_CHAOS_TRACE=FILE: a text trace of the case (with SOFTVT_CHAOS_SEED
  // and SOFTVT_CHAOS_RUNS=1 to look at one failure).
  std::unique_ptr<TextTrace> trace;
  if (const char* path = std::getenv("SOFTVT_CHAOS_TRACE")) {
    trace = std::make_unique<TextTrace>(path);
    opt.tracer = trace.get();
  }
  RunOutcome o;
  try {
    o = run_interp(c.mem, c.init, default_cpu_model(), opt);
  } catch (const GuestException& e) {
    return "a GuestException (vector " + std::to_string(e.vector) + ") escaped run_interp";
  } catch (const std::exception& e) {
    return std::string("a C++ exception escaped run_interp: ") + e.what();
  } catch (...) {
    return "an unknown C++ exception escaped run_interp";
  }
  ++st.runs;
  st.insns += o.state.insn_count;
  st.exceptions += ex.n;
  if (o.stop == StopReason::Hlt) ++st.hlt;
  if (o.stop == StopReason::Shutdown) ++st.shutdown;
  if (o.stop == StopReason::Limit) ++st.limit;
  ++st.modes[unsigned(o.state.mode)];
  if (o.state.cr0 & cr0::PG) ++st.paging;
  st.user += ex.user;
  st.v86 += ex.v86;
  if (final_state) *final_state = o.state;
  const std::string why = insane(o, max_insns);
  if (!why.empty()) return why + "(stop " + stop_reason_name(o.stop) + ": " + o.detail + ")";
  return "";
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

// A run that hangs ends the process from SIGALRM: say which case it was.
volatile uint64_t g_current_seed = 0;
volatile int g_current_mode = 0;

void on_hang(int) {
  char msg[96];
  const int n = std::snprintf(msg, sizeof msg, "chaos: mode %s seed %llu ran for %u s\n",
                              flat_mode_name(FlatMode(g_current_mode)),
                              (unsigned long long)g_current_seed, WATCHDOG_S);
  if (n > 0) (void)!write(2, msg, size_t(n));
  _exit(1);
}

void chaos_campaign(FlatMode mode, uint64_t default_runs) {
  // SOFTVT_CHAOS_RUNS / SOFTVT_CHAOS_SEED widen a campaign or replay one
  // case (the failing seed is printed).
  const uint64_t runs = env_number("SOFTVT_CHAOS_RUNS", default_runs);
  const uint64_t first = env_number("SOFTVT_CHAOS_SEED", 1);
  constexpr uint64_t MAX_INSNS = 1500;
  ChaosStats st;
  double slowest_ms = 0;
  uint64_t slowest_seed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::signal(SIGALRM, on_hang);
  g_current_mode = int(mode);
  for (uint64_t seed = first; seed < first + runs; ++seed) {
    g_current_seed = seed;
    alarm(WATCHDOG_S);
    const auto start = std::chrono::steady_clock::now();
    const std::string why = chaos_run(mode, seed, MAX_INSNS, st);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (ms > slowest_ms) {
      slowest_ms = ms;
      slowest_seed = seed;
    }
    alarm(0);
    if (!why.empty()) {
      ChaosCase c;
      build_case(c, mode, seed);
      FAIL_CHECK("mode " << flat_mode_name(mode) << " seed " << seed << ": " << why
                         << "\n  code: " << hex_bytes(c.code, 256) << "...");
    }
    // Determinism: every 16th case again, to the same final state.
    if (seed % 16 == 0) {
      ChaosStats again;
      CpuState a{}, b{};
      chaos_run(mode, seed, MAX_INSNS, again, &a);
      chaos_run(mode, seed, MAX_INSNS, again, &b);
      INFO("mode " << flat_mode_name(mode) << " seed " << seed);
      CHECK(same_state(a, b));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("chaos %s: %llu runs in %.1f s: %llu hlt, %llu shutdown, %llu limit; "
              "%llu instructions retired, %llu exceptions; final modes real/v86/p16/p32/c16/c32/64:",
              flat_mode_name(mode), (unsigned long long)st.runs, secs, (unsigned long long)st.hlt,
              (unsigned long long)st.shutdown, (unsigned long long)st.limit,
              (unsigned long long)st.insns, (unsigned long long)st.exceptions);
  for (uint64_t m : st.modes) std::printf(" %llu", (unsigned long long)m);
  std::printf("; paging at the end %llu; ran at CPL 3 %llu, in V86 %llu; slowest: seed %llu, %.0f ms\n",
              (unsigned long long)st.paging, (unsigned long long)st.user, (unsigned long long)st.v86,
              (unsigned long long)slowest_seed, slowest_ms);
  CHECK(st.runs == runs);
}

}  // namespace

// Sized for about 35 s on one core of this project's 2-core host (real16
// runs are the cheapest); SOFTVT_CHAOS_RUNS widens a campaign.
TEST_CASE("chaos: random machine code in long64") { chaos_campaign(FlatMode::Long64, 2500); }
TEST_CASE("chaos: random machine code in prot32") { chaos_campaign(FlatMode::Prot32, 1500); }
TEST_CASE("chaos: random machine code in real16") { chaos_campaign(FlatMode::Real16, 3000); }
