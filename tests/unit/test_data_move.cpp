// The data-movement, stack, string and atomic instruction groups
// (emu/interp/data_move.cpp, stack.cpp, string.cpp, atomic.cpp) checked
// against the SDM with small flat images run through run_interp, and, for
// user-level instructions, against the host CPU executing the same machine
// code natively (the strongest oracle).
#include <sys/mman.h>
#include <unistd.h>

#include <catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t ARITH = fl::ARITH;

// ---- assembling ------------------------------------------------------------

std::vector<uint8_t> assemble(const std::string& src) {
  return test::assemble_nasm(src, test::NasmWarnings::AreErrors);
}

// ---- running a flat guest --------------------------------------------------

struct Seen {
  uint8_t vector;
  uint32_t error;
  uint64_t rip;
};

struct ExceptionLog : Cpu::Tracer {
  std::vector<Seen> seen;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu& c, const GuestException& e) override {
    seen.push_back({e.vector, e.error_code, c.s.rip});
  }
  void note(const Cpu&, const std::string&) override {}
};

struct PortWrite {
  uint16_t port;
  unsigned size;
  uint64_t value;
};

std::string header(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return "bits 64\norg 0x10000\n";
    case FlatMode::Prot32: return "bits 32\norg 0x10000\n";
    default: return "bits 16\norg 0\n";
  }
}

struct Guest {
  Memory mem{64ull << 20};
  CpuState init{};
  CpuModel model = default_cpu_model();
  RunOutcome out;
  ExceptionLog log;
  std::vector<PortWrite> port_writes;

  Guest(FlatMode m, const std::string& body) {
    init = setup_flat(mem, assemble(header(m) + body), LOAD, m);
  }

  const CpuState& run(uint64_t max_insns = 1000000) {
    RunOptions opt;
    opt.max_insns = max_insns;
    opt.tracer = &log;
    opt.io_write = [this](uint16_t p, unsigned s, uint64_t v) { port_writes.push_back({p, s, v}); };
    out = run_interp(mem, init, model, opt);
    return out.state;
  }

  uint64_t r(Gpr g) const { return out.state.gpr[g]; }
  uint64_t peek(uint64_t phys, unsigned n) const {
    uint64_t v = 0;
    std::memcpy(&v, mem.ram() + phys, n);
    return v;
  }
  void poke(uint64_t phys, uint64_t v, unsigned n) { std::memcpy(mem.ram() + phys, &v, n); }
  bool halted() const { return out.stop == StopReason::Hlt; }
  // The first exception raised (later ones are its failed delivery).
  const Seen& first_exception() const {
    REQUIRE(!log.seen.empty());
    return log.seen.front();
  }
};

// Runs at CPL 3 in long64 (the flat page tables are user-accessible).
void make_user(CpuState& s) {
  s.cpl = 3;
  s.seg[CS].sel |= 3;
  s.seg[CS].attr |= 3u << ar::DPL_SHIFT;
  s.seg[SS].sel |= 3;
  s.seg[SS].attr |= 3u << ar::DPL_SHIFT;
}

// ---- the native oracle -------------------------------------------------------
// The same machine code runs in the guest and natively on the host. A test
// describes one record's code with `{R}` standing for the address of its
// record (the code addresses nothing else); the records are processed by
// unrolled copies, so the kernel uses only instructions of the groups under
// test plus MOV/LEA. R12 holds the buffer base. The guest version ends in
// HLT; the host version is a SysV function `void f(void* buf)` preserving the
// callee-saved registers and leaving DF clear.

struct NativeFunction {
  void* page = MAP_FAILED;
  size_t len = 0;
  explicit NativeFunction(const std::vector<uint8_t>& code) {
    len = (code.size() + 4095) & ~size_t(4095);
    page = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    std::memcpy(page, code.data(), code.size());
    REQUIRE(mprotect(page, len, PROT_READ | PROT_EXEC) == 0);
  }
  ~NativeFunction() { munmap(page, len); }
  void operator()(void* buf) const { reinterpret_cast<void (*)(void*)>(page)(buf); }
};

constexpr uint64_t ORACLE_BUF = 0x200000;

struct OracleResult {
  std::vector<uint8_t> guest, host;
  uint64_t guest_base = ORACLE_BUF, host_base = 0;
};

std::string substitute_record(std::string code, const std::string& addr) {
  for (size_t p; (p = code.find("{R}")) != std::string::npos;) code.replace(p, 3, addr);
  return code;
}

OracleResult run_on_guest_and_host(const std::string& per_record, size_t record_size,
                                   const std::vector<uint8_t>& records) {
  const size_t n = records.size() / record_size;
  std::string body = "mov r12, rdi\n";
  for (size_t i = 0; i < n; ++i)
    body += substitute_record(per_record, "r12+" + std::to_string(i * record_size));
  OracleResult r;
  Guest g(FlatMode::Long64, body + "\nhlt\n");
  REQUIRE(ORACLE_BUF + records.size() <= g.mem.ram_size());
  std::memcpy(g.mem.ram() + ORACLE_BUF, records.data(), records.size());
  g.init.gpr[RDI] = ORACLE_BUF;
  g.run(100000000);
  INFO("guest run: " << stop_reason_name(g.out.stop) << " " << g.out.detail);
  REQUIRE(g.halted());
  r.guest.assign(g.mem.ram() + ORACLE_BUF, g.mem.ram() + ORACLE_BUF + records.size());

  const std::string host_src = "bits 64\npush rbx\npush rbp\npush r12\npush r13\npush r14\npush r15\n" +
                               body + "\ncld\npop r15\npop r14\npop r13\npop r12\npop rbp\npop rbx\nret\n";
  NativeFunction fn(assemble(host_src));
  r.host = records;
  r.host_base = reinterpret_cast<uint64_t>(r.host.data());
  fn(r.host.data());
  return r;
}

uint64_t u64_at(const std::vector<uint8_t>& b, size_t off) {
  uint64_t v;
  std::memcpy(&v, b.data() + off, 8);
  return v;
}
void put_u64(std::vector<uint8_t>& b, size_t off, uint64_t v) { std::memcpy(b.data() + off, &v, 8); }

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
  return buf;
}

const char* const kCc[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                             "s", "ns", "p", "np", "l", "ge", "le", "g"};

}  // namespace

// =============================================================================
// MOV and extensions
// =============================================================================

TEST_CASE("MOV: register widths, immediates, memory and moffs (long64)") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0x1111111111111111
    mov eax, 0x22222222          ; 32-bit write zero-extends
    mov rbx, 0x3333333333333333
    mov bx, 0x4444               ; 16-bit write keeps 63:16
    mov rcx, 0x5555555555555555
    mov cl, 0x66
    mov ch, 0x77                 ; AH..BH encodings
    mov rdx, -5                  ; C7 /0 imm32 sign-extended to 64
    mov qword [0x30000], rdx
    mov r8, [0x30000]
    mov dword [0x30008], 0x89abcdef
    mov r9d, [0x30008]
    mov al, [qword 0x30008]      ; A0 moffs64
    mov [qword 0x30010], rax     ; A3 moffs64
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x222222ef);
  CHECK(g.r(RBX) == 0x3333333333334444);
  CHECK(g.r(RCX) == 0x5555555555557766);
  CHECK(g.r(RDX) == uint64_t(-5));
  CHECK(g.r(R8) == uint64_t(-5));
  CHECK(g.r(R9) == 0x89abcdef);
  CHECK(g.peek(0x30010, 8) == 0x222222ef);
}

TEST_CASE("MOVZX, MOVSX, MOVSXD at every operand/source size") {
  Guest g(FlatMode::Long64, R"(
    mov qword [0x30000], 0x80
    mov qword [0x30008], 0x8001
    mov dword [0x30010], 0x80000002
    mov rax, -1
    movzx eax, byte [0x30000]         ; 0x80, upper cleared
    mov rbx, -1
    movsx rbx, byte [0x30000]         ; sign-extended to 64
    mov rcx, -1
    movsx cx, byte [0x30000]          ; 16-bit destination keeps 63:16
    mov rdx, -1
    movzx dx, byte [0x30000]
    mov rsi, -1
    movsx esi, word [0x30008]
    mov rdi, -1
    movzx rdi, word [0x30008]
    mov r8, 0
    movsxd r8, dword [0x30010]
    mov r9, -1
    db 0x44, 0x63, 0x0c, 0x25         ; movsxd r9d, dword [0x30010]:
    dd 0x30010                        ; no REX.W, a 32-bit move
    mov r10, 0x5555555555555555
    db 0x66, 0x44, 0x63, 0x14, 0x25   ; movsxd r10w, word [0x30008]
    dd 0x30008
    mov r11, 0x1234
    movsx r11, r11b                   ; register source
    mov r14, rax
    mov eax, 0x8000
    movsx ebp, ah                     ; AH..BH sources
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == 0xffffffffffffff80);
  CHECK(g.r(RCX) == 0xffffffffffffff80);
  CHECK(g.r(RDX) == 0xffffffffffff0080);
  CHECK(g.r(RSI) == 0xffff8001);
  CHECK(g.r(RDI) == 0x8001);
  CHECK(g.r(R8) == 0xffffffff80000002);
  CHECK(g.r(R9) == 0x80000002);
  CHECK(g.r(R10) == 0x5555555555558001);
  CHECK(g.r(R11) == 0x34);
  CHECK(g.r(R14) == 0x80);
  CHECK(g.r(RBP) == 0xffffff80);
}

TEST_CASE("XCHG: register pairs, memory, and the NOP encodings") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0xffffffff00000001
    xchg eax, eax                   ; 87 C0: a 32-bit write, clears 63:32
    mov rbx, 0xffffffff00000002
    xchg ebx, ebx
    mov rcx, 0xffffffff00000003
    mov rdx, rcx
    xchg rax, rdx                   ; rax <-> rdx
    nop                             ; 90: a true NOP, nothing changes
    mov r8, 0xaaaaaaaaaaaaaaaa
    db 0x41, 0x90                   ; xchg r8d, eax
    mov r11, 0x1122334455667788
    mov [0x30000], r11
    mov r9, 0x99
    xchg [0x30000], r9b
    mov r10, 0xffff
    lock xchg [0x30002], r10w
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == 2);
  CHECK(g.r(RDX) == 1);
  CHECK(g.r(RAX) == 0xaaaaaaaa);  // r8d, zero-extended
  CHECK(g.r(R8) == 3);            // eax of 0xffffffff00000003, zero-extended
  CHECK(g.r(R9) == 0x88);
  CHECK(g.r(R10) == 0x5566);
  CHECK(g.peek(0x30000, 8) == 0x11223344ffff7799);
}

TEST_CASE("BSWAP at 16, 32 and 64 bits matches the host CPU") {
  // Record: [0] value; results at 8..32.
  const std::string code = R"(
    mov rax, [{R}]
    bswap rax
    mov [{R}+8], rax
    mov rax, [{R}]
    bswap eax
    mov [{R}+16], rax
    mov rax, [{R}]
    db 0x66, 0x0f, 0xc8        ; bswap ax (result undefined by the SDM)
    mov [{R}+24], rax
    mov r9, [{R}]
    db 0x66, 0x41, 0x0f, 0xc9  ; bswap r9w
    mov [{R}+32], r9
  )";
  std::mt19937_64 rng(7);
  const unsigned n = 32;
  std::vector<uint8_t> recs(40 * n);
  for (unsigned i = 0; i < n; ++i) put_u64(recs, 40 * i, rng());
  OracleResult o = run_on_guest_and_host(code, 40, recs);
  CHECK(o.guest == o.host);
  // And the documented facts themselves.
  CHECK(u64_at(o.guest, 8) == __builtin_bswap64(u64_at(recs, 0)));
  CHECK(u64_at(o.guest, 16) == __builtin_bswap32(uint32_t(u64_at(recs, 0))));
  CHECK(u64_at(o.guest, 24) == (u64_at(recs, 0) & ~0xffffull));
}

TEST_CASE("MOVBE loads and stores byte-swapped at 16, 32 and 64 bits") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0x0102030405060708
    mov [0x30000], rax
    mov rax, -1
    movbe ax, [0x30000]
    mov rbx, -1
    movbe ebx, [0x30000]
    movbe rcx, [0x30000]
    mov rdx, 0x1122334455667788
    movbe [0x30010], rdx
    movbe [0x30018], edx
    movbe [0x30020], dx
    hlt
  )");
  g.poke(0x30018, ~0ull, 8);
  g.poke(0x30020, ~0ull, 8);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0xffffffffffff0807);
  CHECK(g.r(RBX) == 0x08070605);
  CHECK(g.r(RCX) == 0x0807060504030201);
  CHECK(g.peek(0x30010, 8) == 0x8877665544332211);
  CHECK(g.peek(0x30018, 8) == 0xffffffff88776655);
  CHECK(g.peek(0x30020, 8) == 0xffffffffffff8877);
}

TEST_CASE("MOVBE is #UD when the CPU model lacks it") {
  Guest g(FlatMode::Long64, "movbe eax, [0x30000]\nhlt\n");
  g.model.features &= ~(1ull << unsigned(Feature::Movbe));
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.first_exception().vector == vec::UD);
  CHECK(g.first_exception().rip == LOAD);
}

// =============================================================================
// CMOVcc and SETcc against the host
// =============================================================================

TEST_CASE("CMOVcc and SETcc: all 16 conditions on every flag combination match the host") {
  // Record: [0] flags, [8] source, [16] destination; results at 32 + 32*cc:
  // cmov r32, r32 / cmov r64, m64 / cmov r16, r16 / setcc al.
  constexpr size_t RS = 544;
  std::ostringstream k;
  for (unsigned cc = 0; cc < 16; ++cc) {
    const unsigned o = 32 + 32 * cc;
    k << "mov rax, [{R}+16]\nmov rbx, [{R}+8]\npush qword [{R}]\npopfq\n"
      << "cmov" << kCc[cc] << " eax, ebx\nmov [{R}+" << o << "], rax\n"
      << "mov rax, [{R}+16]\npush qword [{R}]\npopfq\n"
      << "cmov" << kCc[cc] << " rax, [{R}+8]\nmov [{R}+" << o + 8 << "], rax\n"
      << "mov rax, [{R}+16]\npush qword [{R}]\npopfq\n"
      << "cmov" << kCc[cc] << " ax, bx\nmov [{R}+" << o + 16 << "], rax\n"
      << "mov rax, [{R}+16]\npush qword [{R}]\npopfq\n"
      << "set" << kCc[cc] << " al\nmov [{R}+" << o + 24 << "], rax\n";
  }
  std::mt19937_64 rng(11);
  const uint64_t flag_bits[5] = {fl::CF, fl::PF, fl::ZF, fl::SF, fl::OF};
  const unsigned n = 32;  // every combination of the five condition flags
  std::vector<uint8_t> recs(RS * n);
  for (unsigned i = 0; i < n; ++i) {
    uint64_t f = fl::FIXED1;
    for (unsigned b = 0; b < 5; ++b)
      if (i & (1u << b)) f |= flag_bits[b];
    put_u64(recs, RS * i, f);
    put_u64(recs, RS * i + 8, rng());
    put_u64(recs, RS * i + 16, rng());
  }
  OracleResult o = run_on_guest_and_host(k.str(), RS, recs);
  for (unsigned i = 0; i < n; ++i)
    for (unsigned cc = 0; cc < 16; ++cc)
      for (unsigned j = 0; j < 4; ++j) {
        const size_t off = RS * i + 32 + 32 * cc + 8 * j;
        INFO("record " << i << " cc " << kCc[cc] << " form " << j);
        CHECK(hex(u64_at(o.guest, off)) == hex(u64_at(o.host, off)));
      }
}

TEST_CASE("CMOV: a false 32-bit CMOV still clears 63:32; the memory source is read even when false") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0xffffffff12345678
    mov ecx, 0
    push 0x42
    popfq                        ; ZF = 1
    cmovnz eax, ecx              ; false: eax kept, 63:32 cleared
    mov rbx, 0xffffffff12345678
    cmovnz rbx, rcx              ; false, 64-bit: unchanged
    mov rdx, 0x0000800000000000  ; non-canonical
    cmovnz esi, [rdx]            ; false, but the read faults: #GP(0)
    hlt
  )");
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.r(RAX) == 0x12345678);
  CHECK(g.r(RBX) == 0xffffffff12345678);
  CHECK(g.first_exception().vector == vec::GP);
  CHECK(g.first_exception().error == 0);
}

TEST_CASE("SETcc writes one byte to memory") {
  Guest g(FlatMode::Prot32, R"(
    mov dword [0x30000], 0xffffffff
    stc
    setc byte [0x30000]
    setnc byte [0x30001]
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0x30000, 4) == 0xffff0001);
}

// =============================================================================
// LEA
// =============================================================================

TEST_CASE("LEA: address computed at the address size, then sized to the operand") {
  Guest g(FlatMode::Long64, R"(
    mov rbx, 0x00000001fffffff0
    mov rsi, 0x20
    lea rax, [rbx+rsi*2]         ; 64/64
    lea ecx, [rbx+rsi*2]         ; 64-bit address truncated to 32
    lea dx, [rbx+rsi*2-0x10000]  ; truncated to 16, 63:16 of rdx kept
    lea r8, [ebx+esi*2]          ; 67h: 32-bit address, zero-extended
    lea r9d, [ebx+0x100]         ; 32-bit address wraps
    lea r10, [rel here]          ; RIP-relative
  here:
    mov r12, here
    mov r11, -1
    lea r11w, [ebx+esi]          ; 16-bit operand of a 32-bit address
    hlt
  )");
  g.init.gpr[RDX] = 0xaaaaaaaaaaaaaaaa;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x0000000200000030);
  CHECK(g.r(RCX) == 0x00000030);
  CHECK(g.r(RDX) == 0xaaaaaaaaaaaa0030);
  CHECK(g.r(R8) == 0x30);
  CHECK(g.r(R9) == 0xf0);
  CHECK(g.r(R10) == g.r(R12));
  CHECK(g.r(R11) == 0xffffffffffff0010);
}

TEST_CASE("LEA with 16-bit addressing wraps at 64 KiB (real16)") {
  Guest g(FlatMode::Real16, R"(
    mov bx, 0xfff0
    mov si, 0x20
    lea ax, [bx+si+5]            ; 0x10015 wraps to 0x0015
    lea ecx, [bx+si+5]           ; 32-bit operand: zero-extended 16-bit address
    lea dx, [ebx+esi+5]          ; 32-bit address truncated to 16
    lea edi, [ebx+esi+5]         ; 32-bit address: no wrap at 64 KiB
    hlt
  )");
  g.init.gpr[RCX] = 0xffffffff;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x15);
  CHECK(g.r(RCX) == 0x15);
  CHECK(g.r(RDX) == 0x15);
  CHECK(g.r(RDI) == 0x10015);
}

// =============================================================================
// Accumulator extensions, XLAT, LAHF/SAHF, NOPs, flag instructions
// =============================================================================

TEST_CASE("CBW/CWDE/CDQE and CWD/CDQ/CQO") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0x1111111111111180
    cbw                           ; ax = 0xff80, 63:16 kept
    mov rbx, rax
    mov rax, 0x1111111111118000
    cwde                          ; eax = 0xffff8000, 63:32 cleared
    mov rcx, rax
    mov rax, 0x0000000080000000
    cdqe
    mov rsi, rax
    mov rdx, 0x2222222222222222
    mov rax, 0x8000
    cwd                           ; dx = 0xffff, 63:16 kept
    mov rdi, rdx
    mov rax, 0x7fffffff
    cdq                           ; edx = 0
    mov r8, rdx
    mov rax, -2
    cqo
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == 0x111111111111ff80);
  CHECK(g.r(RCX) == 0xffff8000);
  CHECK(g.r(RSI) == 0xffffffff80000000);
  CHECK(g.r(RDI) == 0x222222222222ffff);
  CHECK(g.r(R8) == 0);
  CHECK(g.r(RDX) == ~0ull);
}

TEST_CASE("XLAT: DS:[rBX + AL] with the address size, and a segment override (real16)") {
  Guest g(FlatMode::Real16, R"(
    jmp start
    times 0x40 db 0             ; data: DS:0x0010 is poked below
  start:
    mov bx, 0x8000
    mov al, 0x10
    xlatb                       ; DS:0x8010
    mov cl, al
    mov al, 0x10
    es xlatb                    ; ES:0x8010
    mov dl, al
    mov bx, 0xfff0
    mov al, 0x20
    xlatb                       ; 0xfff0 + 0x20 wraps to DS:0x0010
    hlt
  )");
  g.poke(LOAD + 0x8010, 0x5a, 1);
  // ES based elsewhere: ES:0x8010 is linear 0x28010.
  g.init.seg[ES].sel = 0x2000;
  g.init.seg[ES].base = 0x20000;
  g.poke(0x28010, 0xa5, 1);
  g.poke(LOAD + 0x10, 0x77, 1);
  g.run();
  REQUIRE(g.halted());
  CHECK((g.r(RCX) & 0xff) == 0x5a);
  CHECK((g.r(RDX) & 0xff) == 0xa5);
  CHECK((g.r(RAX) & 0xff) == 0x77);
}

TEST_CASE("LAHF and SAHF move SF ZF AF PF CF through AH") {
  Guest g(FlatMode::Long64, R"(
    mov ah, 0xff
    sahf                 ; sets SF ZF AF PF CF; bits 1, 3, 5 of AH ignored
    pushfq
    pop rbx
    mov ah, 0
    lahf                 ; AH = SF:ZF:0:AF:0:PF:1:CF
    mov cl, ah
    mov ah, 0x00
    sahf
    lahf
    mov dl, ah
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == (fl::FIXED1 | ARITH) - fl::OF);
  CHECK((g.r(RCX) & 0xff) == 0xd7);
  CHECK((g.r(RDX) & 0xff) == 0x02);
}

TEST_CASE("LAHF/SAHF in 64-bit mode need CPUID LAHF-SAHF; other modes do not") {
  SECTION("64-bit without the feature: #UD") {
    Guest g(FlatMode::Long64, "lahf\nhlt\n");
    g.model.features &= ~(1ull << unsigned(Feature::LahfLm));
    g.run();
    CHECK(g.out.stop == StopReason::Shutdown);
    CHECK(g.first_exception().vector == vec::UD);
  }
  SECTION("32-bit without the feature: executes") {
    Guest g(FlatMode::Prot32, "stc\nlahf\nhlt\n");
    g.model.features &= ~(1ull << unsigned(Feature::LahfLm));
    g.run();
    REQUIRE(g.halted());
    CHECK(((g.r(RAX) >> 8) & 0xff) == 0x03);
  }
}

TEST_CASE("NOP forms do nothing and do not access their memory operand") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0x0000800000000000   ; non-canonical
    nop
    db 0x66, 0x90
    db 0x0f, 0x1f, 0x00           ; nop dword [rax]: no access, no #GP
    db 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00
    db 0x0f, 0x1f, 0x80, 0, 0, 0, 0
    pause
    db 0xf3, 0x0f, 0x1e, 0xfa     ; endbr64
    db 0xf3, 0x0f, 0x1e, 0xfb     ; endbr32
    hlt
  )");
  g.init.rflags = 0x2 | fl::CF | fl::ZF;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.log.seen.empty());
  CHECK(g.r(RAX) == 0x0000800000000000);
  CHECK(g.out.state.rflags == (0x2 | fl::CF | fl::ZF));
  CHECK(g.out.state.insn_count == 10);
}

TEST_CASE("CLC STC CMC CLD STD change only their flag") {
  Guest g(FlatMode::Prot32, R"(
    stc
    pushfd
    cmc
    pushfd
    cmc
    clc
    pushfd
    std
    pushfd
    cld
    pushfd
    pop eax
    pop ebx
    pop ecx
    pop edx
    pop esi
    hlt
  )");
  g.init.rflags = 0x2 | fl::ZF | fl::OF;
  g.run();
  REQUIRE(g.halted());
  const uint64_t base = 0x2 | fl::ZF | fl::OF;
  CHECK(g.r(RSI) == (base | fl::CF));
  CHECK(g.r(RDX) == base);
  CHECK(g.r(RCX) == base);
  CHECK(g.r(RBX) == (base | fl::DF));
  CHECK(g.r(RAX) == base);
}

// =============================================================================
// PUSH / POP
// =============================================================================

TEST_CASE("PUSH/POP sizes in long64: 8 by default, 2 with 66h, imm sign-extended") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0x1122334455667788
    push rax                    ; rsp 0xfff8
    push word 0x8001            ; 66 68: 2 bytes, rsp 0xfff6
    push -2                     ; 6A: imm8 sign-extended to 64, rsp 0xffee
    push qword -0x80000000      ; 68: imm32 sign-extended, rsp 0xffe6
    mov rbx, rsp
    pop rcx                     ; 0xffffffff80000000
    pop rdx                     ; -2
    pop si                      ; 66 5E: 2 bytes, 63:16 of rsi kept
    pop rdi
    hlt
  )");
  g.init.gpr[RSI] = 0xaaaaaaaaaaaaaaaa;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == LOAD - 26);
  CHECK(g.r(RCX) == 0xffffffff80000000);
  CHECK(g.r(RDX) == uint64_t(-2));
  CHECK(g.r(RSI) == 0xaaaaaaaaaaaa8001);
  CHECK(g.r(RDI) == 0x1122334455667788);
  CHECK(g.r(RSP) == LOAD);
  CHECK(g.peek(LOAD - 10, 2) == 0x8001);
}

TEST_CASE("PUSH/POP sizes in prot32 and real16") {
  SECTION("prot32: 4 by default, 2 with 66h") {
    Guest g(FlatMode::Prot32, R"(
      push dword 0xdeadbeef
      push word 0x1234
      mov ebx, esp
      pop cx
      pop edx
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.r(RBX) == LOAD - 6);
    CHECK(g.r(RCX) == 0x1234);
    CHECK(g.r(RDX) == 0xdeadbeef);
    CHECK(g.r(RSP) == LOAD);
  }
  SECTION("real16: 2 by default, 4 with 66h, SP wraps at 64 KiB") {
    Guest g(FlatMode::Real16, R"(
      push word 0x1234
      push dword 0x89abcdef
      mov bx, sp
      pop ecx
      pop dx
      mov sp, 0
      push ax                     ; SP wraps to 0xfffe
      mov si, sp
      hlt
    )");
    g.init.gpr[RAX] = 0x5678;
    g.init.gpr[RSP] = 0x12340000 | 0xfff0;  // ESP bits 31:16 are not part of SP
    g.run();
    REQUIRE(g.halted());
    CHECK((g.r(RBX) & 0xffff) == 0xfff0 - 6);
    CHECK(g.r(RCX) == 0x89abcdef);
    CHECK((g.r(RDX) & 0xffff) == 0x1234);
    CHECK((g.r(RSI) & 0xffff) == 0xfffe);
    CHECK(g.r(RSP) == 0x1234fffe);
    CHECK(g.peek(LOAD + 0xfffe, 2) == 0x5678);
  }
}

TEST_CASE("PUSH rSP pushes the old value; POP rSP loads the popped value") {
  Guest g(FlatMode::Long64, R"(
    push rsp
    pop rax                 ; old rsp
    mov qword [0xff00], 0x4242
    push 0xff00
    pop rsp                 ; rsp := 0xff00 (not 0xff00 + 8)
    mov rbx, rsp
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == LOAD);
  CHECK(g.r(RBX) == 0xff00);
}

TEST_CASE("PUSH [rSP] uses rSP before the push; POP [rSP] uses rSP after the pop") {
  Guest g(FlatMode::Long64, R"(
    push 0x11
    push 0x22               ; [rsp] = 0x22, [rsp+8] = 0x11
    push qword [rsp+8]      ; address from the old rsp: pushes 0x11
    pop rax                 ; 0x11
    pop qword [rsp]         ; pops 0x22, then stores it at the new [rsp]
    mov rbx, [rsp]
    mov rcx, rsp
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x11);
  CHECK(g.r(RBX) == 0x22);
  CHECK(g.r(RCX) == LOAD - 8);
}

TEST_CASE("POP to memory that faults leaves rSP unchanged") {
  Guest g(FlatMode::Long64, R"(
    push 0x77
    mov rax, 0x0000800000000000
    pop qword [rax]          ; #GP(0): non-canonical destination
    hlt
  )");
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.first_exception().vector == vec::GP);
  CHECK(g.r(RSP) == LOAD - 8);
}

TEST_CASE("PUSH beyond the stack segment limit is #SS (real16)") {
  Guest g(FlatMode::Real16, "mov sp, 1\npush ax\nhlt\n");
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.first_exception().vector == vec::SS);
  CHECK((g.r(RSP) & 0xffff) == 1);
}

TEST_CASE("PUSH Sreg moves rSP by the operand size and writes the 16-bit selector") {
  SECTION("long64: PUSH FS/GS, 8 and 2 bytes") {
    Guest g(FlatMode::Long64, R"(
      mov qword [0xfff8], -1
      push fs                     ; rsp 0xfff8, two bytes written
      db 0x66
      push gs                     ; rsp 0xfff6
      mov rbx, rsp
      hlt
    )");
    g.init.seg[FS].sel = 0x1234;
    g.init.seg[GS].sel = 0x5678;
    g.run();
    REQUIRE(g.halted());
    CHECK(g.r(RBX) == LOAD - 10);
    // Intel's documented behaviour for current cores: bytes 7:2 unmodified.
    CHECK(g.peek(LOAD - 8, 8) == 0xffffffffffff1234);
    CHECK(g.peek(LOAD - 10, 2) == 0x5678);
  }
  SECTION("prot32: PUSH DS with 32-bit operand size") {
    Guest g(FlatMode::Prot32, "mov dword [0xfffc], 0xaaaaaaaa\npush ds\nmov ebx, esp\nhlt\n");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.r(RBX) == LOAD - 4);
    CHECK(g.peek(LOAD - 4, 4) == 0xaaaa0010);
  }
}

TEST_CASE("PUSH CS/SS/DS/ES and POP DS/ES/SS are #UD in 64-bit mode") {
  for (const char* bytes : {"db 0x0e", "db 0x16", "db 0x1e", "db 0x06", "db 0x1f", "db 0x07", "db 0x17"}) {
    Guest g(FlatMode::Long64, std::string(bytes) + "\nhlt\n");
    g.run();
    INFO(bytes);
    CHECK(g.out.stop == StopReason::Shutdown);
    CHECK(g.first_exception().vector == vec::UD);
  }
}

TEST_CASE("POP Sreg in real mode loads the selector and base; POP SS sets the interrupt shadow") {
  Guest g(FlatMode::Real16, R"(
    push word 0x2345
    pop es
    push word 0x3456
    pop ss
    nop
  )");
  g.run(4);  // stop right after POP SS
  CHECK(g.out.stop == StopReason::Limit);
  CHECK(g.out.state.seg[ES].sel == 0x2345);
  CHECK(g.out.state.seg[ES].base == 0x23450);
  CHECK(g.out.state.seg[SS].sel == 0x3456);
  CHECK(g.out.state.interrupt_shadow == shadow::MOV_SS);
  CHECK((g.r(RSP) & 0xffff) == 0xfff0);
}

TEST_CASE("PUSHA/POPA and PUSHAD/POPAD") {
  SECTION("prot32 PUSHAD pushes the original ESP; POPAD skips it") {
    Guest g(FlatMode::Prot32, R"(
      mov eax, 1
      mov ecx, 2
      mov edx, 3
      mov ebx, 4
      mov ebp, 6
      mov esi, 7
      mov edi, 8
      pushad
      mov dword [esp+12], 0x999     ; the saved ESP slot: ignored by POPAD
      mov dword [esp], 0x88         ; new EDI
      mov eax, 0
      mov ebx, 0
      popad
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD - 4, 4) == 1);   // EAX first
    CHECK(g.peek(LOAD - 8, 4) == 2);
    CHECK(g.peek(LOAD - 12, 4) == 3);
    CHECK(g.peek(LOAD - 16, 4) == 4);
    CHECK(g.peek(LOAD - 24, 4) == 6);
    CHECK(g.peek(LOAD - 28, 4) == 7);
    CHECK(g.r(RAX) == 1);
    CHECK(g.r(RBX) == 4);
    CHECK(g.r(RDI) == 0x88);
    CHECK(g.r(RSP) == LOAD);
  }
  SECTION("prot32 PUSHAD stores ESP as it was before the instruction") {
    Guest g(FlatMode::Prot32, "pushad\nhlt\n");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD - 20, 4) == LOAD);
    CHECK(g.r(RSP) == LOAD - 32);
  }
  SECTION("real16 PUSHA/POPA move 16 bytes") {
    Guest g(FlatMode::Real16, R"(
      mov ax, 0x1111
      mov di, 0x8888
      pusha
      mov [0x8000], sp
      mov ax, 0
      popa
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD + 0x8000, 2) == 0xfff0 - 16);
    CHECK(g.peek(LOAD + 0xfff0 - 2, 2) == 0x1111);
    CHECK(g.peek(LOAD + 0xfff0 - 10, 2) == 0xfff0);
    CHECK(g.peek(LOAD + 0xfff0 - 16, 2) == 0x8888);
    CHECK((g.r(RAX) & 0xffff) == 0x1111);
    CHECK((g.r(RSP) & 0xffff) == 0xfff0);
  }
  SECTION("64-bit mode: #UD") {
    Guest g(FlatMode::Long64, "db 0x60\nhlt\n");
    g.run();
    CHECK(g.first_exception().vector == vec::UD);
  }
}

// =============================================================================
// PUSHF / POPF
// =============================================================================

TEST_CASE("PUSHF clears VM and RF in the image; 16-bit PUSHF pushes FLAGS") {
  Guest g(FlatMode::Long64, R"(
    pushfq
    pop rax
    pushfw                 ; 66 9C
    pop bx
    hlt
  )");
  g.init.rflags = 0x2 | fl::RF | fl::CF | fl::AC | fl::ID;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == (0x2 | fl::CF | fl::AC | fl::ID));
  CHECK((g.r(RBX) & 0xffff) == (0x2 | fl::CF));
}

// The POPF images below leave TF clear: a set TF would single-step.
TEST_CASE("POPF at CPL 0: every flag but RF, VM, VIF, VIP and the reserved bits") {
  Guest g(FlatMode::Long64, R"(
    mov rax, ~0x100
    push rax
    popfq
    pushfq
    pop rbx
    push 0
    popfq
    pushfq
    pop rcx
    hlt
  )");
  g.init.rflags = 0x2 | fl::RF;
  g.run();
  REQUIRE(g.halted());
  const uint64_t loadable = fl::CF | fl::PF | fl::AF | fl::ZF | fl::SF | fl::IF | fl::DF | fl::OF |
                            fl::IOPL | fl::NT | fl::AC | fl::ID;
  CHECK(hex(g.r(RBX)) == hex(0x2 | loadable));
  CHECK(g.r(RCX) == 0x2);
  CHECK(!(g.out.state.rflags & fl::RF));
}

TEST_CASE("POPF keeps VIF and VIP; 16-bit POPF changes only FLAGS") {
  Guest g(FlatMode::Prot32, R"(
    push dword 0
    popfd                         ; VIF/VIP stay set
    pushfd
    pop eax
    push word 0xfeff
    popfw                         ; 16-bit: AC/ID above bit 15 untouched
    pushfd
    pop ebx
    hlt
  )");
  g.init.rflags = 0x2 | fl::VIF | fl::VIP | fl::AC;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == (0x2 | fl::VIF | fl::VIP));
  CHECK(g.r(RBX) == (0x7ed7 | fl::VIF | fl::VIP));
}

TEST_CASE("POPF at CPL 3: IOPL never changes, IF only if CPL <= IOPL") {
  const std::string prog = R"(
    push ~0x100
    popfq
    pushfq
    pop rbx
    push 0
    popfq
    pushfq
    pop rcx
    hlt
  )";
  SECTION("IOPL 0") {
    Guest g(FlatMode::Long64, prog);
    make_user(g.init);
    g.init.rflags = 0x2;
    g.run();
    CHECK(g.first_exception().vector == vec::GP);  // HLT at CPL 3
    CHECK(hex(g.r(RBX)) == hex(0x2 | ARITH | fl::DF | fl::NT | fl::AC | fl::ID));
    CHECK(g.r(RCX) == 0x2);
  }
  SECTION("IOPL 3") {
    Guest g(FlatMode::Long64, prog);
    make_user(g.init);
    g.init.rflags = 0x2 | fl::IOPL | fl::IF;
    g.run();
    CHECK(g.first_exception().vector == vec::GP);
    CHECK(hex(g.r(RBX)) ==
          hex(0x2 | ARITH | fl::IF | fl::DF | fl::NT | fl::AC | fl::ID | fl::IOPL));
    CHECK(g.r(RCX) == (0x2 | fl::IOPL));
  }
  SECTION("IOPL 1 < CPL: IF kept set") {
    Guest g(FlatMode::Long64, prog);
    make_user(g.init);
    g.init.rflags = 0x2 | (1u << 12) | fl::IF;
    g.run();
    CHECK(g.r(RCX) == (0x2 | (1u << 12) | fl::IF));
  }
}

namespace {
// Virtual-8086 mode over the prot32 flat machine: real-mode-style segments
// based at LOAD, CPL 3.
void make_v86(CpuState& s, uint64_t iopl, bool vme) {
  s.rflags = 0x2 | fl::VM | (iopl << 12);
  if (vme) s.cr4 |= cr4::VME;
  for (int i = 0; i < 6; ++i) {
    s.seg[i].sel = uint16_t(LOAD >> 4);
    s.seg[i].base = LOAD;
    s.seg[i].limit = 0xffff;
    s.seg[i].attr = 0xf3;
  }
  s.rip = 0;
  s.gpr[RSP] = 0xfff0;
}
}  // namespace

TEST_CASE("PUSHF/POPF in virtual-8086 mode") {
  SECTION("IOPL < 3 without VME: #GP(0)") {
    for (const char* insn : {"pushf", "popf"}) {
      Guest g(FlatMode::Real16, std::string(insn) + "\nhlt\n");
      g.init.cr0 |= cr0::PE;
      make_v86(g.init, 0, false);
      g.run();
      INFO(insn);
      CHECK(g.first_exception().vector == vec::GP);
      CHECK(g.first_exception().error == 0);
    }
  }
  SECTION("IOPL < 3 with VME, 32-bit operand: #GP(0)") {
    Guest g(FlatMode::Real16, "pushfd\nhlt\n");
    g.init.cr0 |= cr0::PE;
    make_v86(g.init, 0, true);
    g.run();
    CHECK(g.first_exception().vector == vec::GP);
  }
  SECTION("IOPL < 3 with VME: PUSHF shows VIF as IF and IOPL 3; POPF loads VIF, not IF") {
    Guest g(FlatMode::Real16, R"(
      pushf
      pop ax
      push word 0x0001              ; CF, IF clear
      popf                          ; VIF := 0
      pushf
      pop bx
      push word 0x0201              ; IF | CF
      popf                          ; VIF := 1, IF unchanged
      hlt                           ; #GP in V86: ends the run
    )");
    g.init.cr0 |= cr0::PE;
    make_v86(g.init, 0, true);
    g.init.rflags |= fl::VIF;
    g.run();
    CHECK(g.first_exception().vector == vec::GP);
    CHECK((g.r(RAX) & 0xffff) == (0x2 | fl::IF | fl::IOPL));
    CHECK((g.r(RBX) & 0xffff) == (0x2 | fl::CF | fl::IOPL));
    CHECK(g.out.state.rflags == (0x2 | fl::VM | fl::VIF | fl::CF));
  }
  SECTION("VME POPF of an image with TF, or with IF while VIP: #GP(0)") {
    for (uint64_t image : {uint64_t(fl::TF), uint64_t(fl::IF)}) {
      Guest g(FlatMode::Real16, "push word " + std::to_string(image) + "\npopf\nhlt\n");
      g.init.cr0 |= cr0::PE;
      make_v86(g.init, 0, true);
      g.init.rflags |= fl::VIP;
      g.run();
      INFO("image " << image);
      CHECK(g.first_exception().vector == vec::GP);
      CHECK(g.first_exception().rip == 3);
      CHECK((g.r(RSP) & 0xffff) == 0xfff0 - 2);
    }
  }
  SECTION("IOPL 3: POPFD loads all but IOPL, VM, VIF, VIP") {
    Guest g(FlatMode::Real16, R"(
      push dword 0xfffffeff
      popfd
      pushfd
      pop eax
      hlt
    )");
    g.init.cr0 |= cr0::PE;
    make_v86(g.init, 3, false);
    g.run();
    CHECK(hex(g.r(RAX)) ==
          hex(0x2 | ARITH | fl::IF | fl::DF | fl::NT | fl::AC | fl::ID | fl::IOPL));
  }
}

// =============================================================================
// ENTER / LEAVE
// =============================================================================

TEST_CASE("ENTER with nesting levels 0, 1, 3 and 33 (mod 32), and LEAVE (long64)") {
  SECTION("level 3 copies two outer frame pointers then FrameTemp") {
    Guest g(FlatMode::Long64, R"(
      mov rbp, 0x8000
      mov qword [0x7ff8], 0xaaaa
      mov qword [0x7ff0], 0xbbbb
      enter 0x20, 3
      mov rax, rsp
      mov rbx, rbp
      leave
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(0xfff8, 8) == 0x8000);   // old rBP
    CHECK(g.peek(0xfff0, 8) == 0xaaaa);   // [rBP - 8]
    CHECK(g.peek(0xffe8, 8) == 0xbbbb);   // [rBP - 16]
    CHECK(g.peek(0xffe0, 8) == 0xfff8);   // FrameTemp
    CHECK(g.r(RAX) == 0xffe0 - 0x20);
    CHECK(g.r(RBX) == 0xfff8);
    CHECK(g.r(RBP) == 0x8000);            // LEAVE restored
    CHECK(g.r(RSP) == LOAD);
  }
  SECTION("level 0 and level 33 (= 1)") {
    Guest g(FlatMode::Long64, R"(
      mov rbp, 0x1234
      enter 8, 0
      mov rax, rsp
      mov rbx, rbp
      enter 0, 33
      mov rcx, rsp
      mov rdx, rbp
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.r(RAX) == 0xfff8 - 8);
    CHECK(g.r(RBX) == 0xfff8);
    CHECK(g.peek(0xffe8, 8) == 0xfff8);   // pushed rBP
    CHECK(g.peek(0xffe0, 8) == 0xffe8);   // FrameTemp
    CHECK(g.r(RCX) == 0xffe0);
    CHECK(g.r(RDX) == 0xffe8);
  }
}

TEST_CASE("ENTER and LEAVE with 16- and 32-bit operands") {
  SECTION("prot32, level 2") {
    Guest g(FlatMode::Prot32, R"(
      mov ebp, 0x8000
      mov dword [0x7ffc], 0xcccc
      enter 0x10, 2
      mov eax, esp
      mov ebx, ebp
      leave
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD - 4, 4) == 0x8000);
    CHECK(g.peek(LOAD - 8, 4) == 0xcccc);
    CHECK(g.peek(LOAD - 12, 4) == LOAD - 4);
    CHECK(g.r(RAX) == LOAD - 12 - 0x10);
    CHECK(g.r(RBX) == LOAD - 4);
    CHECK(g.r(RBP) == 0x8000);
    CHECK(g.r(RSP) == LOAD);
  }
  SECTION("real16, level 2; BP's upper bits are kept") {
    Guest g(FlatMode::Real16, R"(
      mov bp, 0x8000
      mov word [0x7ffe], 0xdddd
      enter 4, 2
      mov ax, sp
      mov bx, bp
      hlt
    )");
    g.init.gpr[RBP] = 0x55550000;
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD + 0xffee, 2) == 0x8000);
    CHECK(g.peek(LOAD + 0xffec, 2) == 0xdddd);
    CHECK(g.peek(LOAD + 0xffea, 2) == 0xffee);
    CHECK((g.r(RAX) & 0xffff) == 0xffea - 4);
    CHECK(g.r(RBP) == 0x5555ffee);
  }
  SECTION("long64 with 66h: 16-bit frame pointer, rSP at 64 bits") {
    Guest g(FlatMode::Long64, R"(
      mov rbp, 0x18000
      db 0x66, 0xc8, 0x08, 0x00, 0x01   ; enter 8, 1 (16-bit)
      mov rax, rsp
      mov rbx, rbp
      mov rbp, 0xfffe
      db 0x66, 0xc9                     ; leave (16-bit)
      hlt
    )");
    g.run();
    REQUIRE(g.halted());
    CHECK(g.peek(LOAD - 2, 2) == 0x8000);
    CHECK(g.peek(LOAD - 4, 2) == 0xfffe);
    CHECK(g.r(RAX) == LOAD - 4 - 8);
    CHECK(g.r(RBX) == 0x1fffe);             // only BP replaced
    CHECK(g.r(RBP) == 0x8000);
    CHECK(g.r(RSP) == LOAD);
  }
}

TEST_CASE("ENTER faults before changing registers when the final rSP is not writable") {
  Guest g(FlatMode::Prot32, "mov ebp, 0x1234\nenter 0x100, 0\nhlt\n");
  // An expand-down stack segment: offsets above 0x1ff00 are valid, so the
  // push of EBP succeeds and the final ESP (0x1fefc) is out of the segment.
  g.init.gpr[RSP] = 0x20000;
  g.init.seg[SS].attr |= ar::TYPE_DC;
  g.init.seg[SS].limit = 0x1ff00;
  g.run();
  CHECK(g.first_exception().vector == vec::SS);
  CHECK(g.first_exception().error == 0);
  CHECK(g.r(RSP) == 0x20000);
  CHECK(g.r(RBP) == 0x1234);
}

// =============================================================================
// String instructions
// =============================================================================

TEST_CASE("REP MOVSB/MOVSQ forward and backward; REP with a zero count does nothing") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0x30000
    mov rdi, 0x31000
    mov rcx, 5
    rep movsb
    mov r8, rsi
    mov r9, rdi
    mov r10, rcx
    std
    mov rsi, 0x30018
    mov rdi, 0x32018
    mov rcx, 4
    rep movsq
    cld
    mov r11, rsi
    mov r12, rdi
    mov ecx, 0
    mov rsi, 0x30000
    mov rdi, 0x33000
    rep movsb                   ; count 0: no access, no change
    rep stosq
    hlt
  )");
  for (unsigned i = 0; i < 32; ++i) g.poke(0x30000 + i, 0x10 + i, 1);
  g.poke(0x33000, 0xeeeeeeeeeeeeeeee, 8);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0x31000, 8) == 0x0000001413121110);
  CHECK(g.r(R8) == 0x30005);
  CHECK(g.r(R9) == 0x31005);
  CHECK(g.r(R10) == 0);
  for (unsigned i = 0; i < 4; ++i) CHECK(g.peek(0x32000 + 8 * i, 8) == g.peek(0x30000 + 8 * i, 8));
  CHECK(g.r(R11) == 0x30018 - 32);
  CHECK(g.r(R12) == 0x32018 - 32);
  CHECK(g.peek(0x33000, 8) == 0xeeeeeeeeeeeeeeee);
  CHECK(g.r(RSI) == 0x30000);
  CHECK(g.r(RDI) == 0x33000);
  CHECK(g.out.state.insn_count == 21);  // each REP instruction retires once (HLT included)
}

TEST_CASE("String instructions with a 32-bit address size in 64-bit mode use ESI/EDI/ECX") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0xffffffff00030000   ; upper halves are ignored, then cleared
    mov rdi, 0xffffffff00031000
    mov rcx, 0xffffffff00000003
    db 0x67
    rep movsb
    hlt
  )");
  g.poke(0x30000, 0x332211, 4);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0x31000, 4) == 0x332211);
  CHECK(g.r(RSI) == 0x30003);
  CHECK(g.r(RDI) == 0x31003);
  CHECK(g.r(RCX) == 0);
}

TEST_CASE("16-bit string addressing wraps SI/DI at 64 KiB and keeps their upper bits (real16)") {
  Guest g(FlatMode::Real16, R"(
    jmp start
    times 0x10 db 0             ; DS:0002.. data
  start:
    mov si, 0xfffe
    mov di, 0x8000
    mov cx, 4
    rep movsb                  ; reads DS:fffe, ffff, 0000, 0001
    hlt
  )");
  g.init.gpr[RSI] = 0x12340000;
  g.init.gpr[RCX] = 0xabcd0000;
  g.poke(LOAD + 0xfffe, 0xbbaa, 2);
  g.run();
  REQUIRE(g.halted());
  // DS:0000 and 0001 hold the JMP SHORT over the data: EB 10.
  CHECK(g.peek(LOAD + 0x8000, 4) == 0x10ebbbaa);
  CHECK(g.r(RSI) == 0x12340002);
  CHECK(g.r(RDI) == 0x8004);
  CHECK(g.r(RCX) == 0xabcd0000);
}

TEST_CASE("MOVS: the source segment can be overridden, the destination is always ES (real16)") {
  Guest g(FlatMode::Real16, R"(
    mov si, 0x100
    mov di, 0x200
    es movsb                  ; source ES:0x100, destination ES:0x200
    mov si, 0x100
    mov di, 0x300
    movsb                     ; source DS:0x100
    hlt
  )");
  g.init.seg[ES].sel = 0x3000;
  g.init.seg[ES].base = 0x30000;
  g.poke(0x30100, 0xe5, 1);
  g.poke(LOAD + 0x100, 0xd5, 1);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0x30200, 1) == 0xe5);
  CHECK(g.peek(0x30300, 1) == 0xd5);
  CHECK(g.peek(LOAD + 0x200, 1) == 0);
  CHECK(g.peek(LOAD + 0x300, 1) == 0);
}

TEST_CASE("FS override applies to the string source in 64-bit mode") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0x100
    mov rdi, 0x31000
    fs lodsd
    fs movsd
    hlt
  )");
  g.init.seg[FS].base = 0x40000;
  g.poke(0x40100, 0x11223344, 4);
  g.poke(0x40104, 0x55667788, 4);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x11223344);
  CHECK(g.peek(0x31000, 4) == 0x55667788);
  CHECK(g.r(RSI) == 0x108);
}

TEST_CASE("LODS and STOS at every size") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0x30000
    mov rax, -1
    lodsb
    mov rbx, rax
    lodsw
    mov rcx, rax
    mov rax, -1
    lodsd                       ; 32-bit load clears 63:32
    mov rdx, rax
    lodsq
    mov rdi, 0x31000
    stosq
    mov eax, 0x99887766
    stosd
    stosw
    stosb
    hlt
  )");
  g.poke(0x30000, 0x0807060504030201, 8);
  g.poke(0x30008, 0x100f0e0d0c0b0a09, 8);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RBX) == 0xffffffffffffff01);
  CHECK(g.r(RCX) == 0xffffffffffff0302);
  CHECK(g.r(RDX) == 0x07060504);
  CHECK(g.r(RSI) == 0x3000f);
  CHECK(g.peek(0x31000, 8) == 0x0f0e0d0c0b0a0908);
  CHECK(g.peek(0x31008, 4) == 0x99887766);
  CHECK(g.peek(0x3100c, 2) == 0x7766);
  CHECK(g.peek(0x3100e, 1) == 0x66);
  CHECK(g.r(RDI) == 0x3100f);
}

TEST_CASE("REPE CMPS and REPNE SCAS: counts, pointers and flags match the host") {
  // Record (1024 bytes): [0] count, [8] flags in, [16] source offset,
  // [24] destination offset, [32] rAX; results [40] rCX, [48] rSI, [56] rDI,
  // [64] flags; buffers at 128 and 576.
  struct Variant {
    const char* insn;
    unsigned size;
  };
  const Variant variants[] = {{"repe cmpsb", 1}, {"repe cmpsw", 2},  {"repe cmpsd", 4},
                              {"repe cmpsq", 8}, {"repne cmpsb", 1}, {"repne scasb", 1},
                              {"repe scasw", 2}, {"repne scasd", 4}, {"repe scasq", 8},
                              {"cmpsb", 1},      {"scasd", 4}};
  constexpr size_t RS = 1024;
  for (const Variant& v : variants) {
    const std::string code = std::string(R"(
      lea rbx, [{R}]
      mov rsi, [{R}+16]
      lea rsi, [rsi+rbx]
      mov rdi, [{R}+24]
      lea rdi, [rdi+rbx]
      mov rcx, [{R}]
      mov rax, [{R}+32]
      push qword [{R}+8]
      popfq
    )") + v.insn + R"(
      pushfq
      pop rax
      cld
      mov [{R}+40], rcx
      mov [{R}+48], rsi
      mov [{R}+56], rdi
      mov [{R}+64], rax
    )";
    std::mt19937_64 rng(v.size * 977 + std::string(v.insn).size());
    const unsigned n = 48;
    std::vector<uint8_t> recs(RS * n);
    for (unsigned i = 0; i < n; ++i) {
      uint8_t* r = recs.data() + RS * i;
      const unsigned elems = 1 + unsigned(rng() % 40);
      const bool down = i & 1;
      // Two buffers that agree up to a random element, with few distinct
      // values so equal and unequal elements both occur.
      for (unsigned b = 0; b < 440; ++b) r[128 + b] = r[576 + b] = uint8_t(rng() % 3);
      const unsigned diff = unsigned(rng() % (elems + 4));
      if (diff < 440 / v.size) r[576 + diff * v.size] ^= 0x40;
      const uint64_t src = down ? 128 + (elems - 1) * v.size + 40 : 128;
      const uint64_t dst = down ? 576 + (elems - 1) * v.size + 40 : 576;
      put_u64(recs, RS * i + 0, (i % 7 == 0) ? 0 : elems);
      put_u64(recs, RS * i + 8, fl::FIXED1 | (down ? fl::DF : 0) | (rng() & ARITH));
      put_u64(recs, RS * i + 16, src);
      put_u64(recs, RS * i + 24, dst);
      put_u64(recs, RS * i + 32, rng() % 3);
    }
    OracleResult o = run_on_guest_and_host(code, RS, recs);
    for (unsigned i = 0; i < n; ++i) {
      INFO(v.insn << " record " << i);
      CHECK(u64_at(o.guest, RS * i + 40) == u64_at(o.host, RS * i + 40));
      CHECK(u64_at(o.guest, RS * i + 48) - o.guest_base == u64_at(o.host, RS * i + 48) - o.host_base);
      CHECK(u64_at(o.guest, RS * i + 56) - o.guest_base == u64_at(o.host, RS * i + 56) - o.host_base);
      CHECK(hex(u64_at(o.guest, RS * i + 64) & (ARITH | fl::DF)) ==
            hex(u64_at(o.host, RS * i + 64) & (ARITH | fl::DF)));
    }
  }
}

TEST_CASE("REP MOVS/STOS over host buffers match the host, including overlap") {
  // Record (2048 bytes): [0] count, [8] flags, [16] src offset, [24] dst
  // offset; results [32] rCX, [40] rSI, [48] rDI; data area at 64.
  constexpr size_t RS = 2048;
  for (const char* insn : {"rep movsb", "rep movsw", "rep movsq", "rep stosb", "rep stosd"}) {
    const std::string code = std::string(R"(
      lea rbx, [{R}]
      mov rsi, [{R}+16]
      lea rsi, [rsi+rbx]
      mov rdi, [{R}+24]
      lea rdi, [rdi+rbx]
      mov rcx, [{R}]
      mov rax, 0x0123456789abcdef
      push qword [{R}+8]
      popfq
    )") + insn + R"(
      cld
      mov [{R}+32], rcx
      mov [{R}+40], rsi
      mov [{R}+48], rdi
    )";
    std::mt19937_64 rng(std::string(insn).size() * 131);
    const unsigned n = 40;
    std::vector<uint8_t> recs(RS * n);
    for (unsigned i = 0; i < n; ++i) {
      uint8_t* r = recs.data() + RS * i;
      for (unsigned b = 64; b < RS; ++b) r[b] = uint8_t(rng());
      put_u64(recs, RS * i, rng() % 100);
      put_u64(recs, RS * i + 8, fl::FIXED1 | ((i & 1) ? fl::DF : 0));
      put_u64(recs, RS * i + 16, 900 + rng() % 200);  // overlapping ranges
      put_u64(recs, RS * i + 24, 900 + rng() % 200);
    }
    OracleResult o = run_on_guest_and_host(code, RS, recs);
    INFO(insn);
    for (unsigned i = 0; i < n; ++i) {
      INFO("record " << i);
      CHECK(u64_at(o.guest, RS * i + 32) == u64_at(o.host, RS * i + 32));
      CHECK(u64_at(o.guest, RS * i + 40) - o.guest_base == u64_at(o.host, RS * i + 40) - o.host_base);
      CHECK(u64_at(o.guest, RS * i + 48) - o.guest_base == u64_at(o.host, RS * i + 48) - o.host_base);
      CHECK(std::equal(o.guest.begin() + RS * i + 64, o.guest.begin() + RS * (i + 1),
                       o.host.begin() + RS * i + 64));
    }
  }
}

TEST_CASE("Overlapping REP MOVSB forward replicates the first byte, as element by element") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0x30000
    mov rdi, 0x30001
    mov ecx, 8
    rep movsb
    hlt
  )");
  g.poke(0x30000, 0x4142434445464748, 8);
  g.poke(0x30008, 0x49, 1);
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0x30000, 8) == 0x4848484848484848);
  CHECK(g.peek(0x30008, 1) == 0x48);
}

TEST_CASE("REP STOSB over the instructions that follow it: the new bytes execute") {
  // Self-modifying code: the stores hit the page of the running block, which
  // must be dropped so the overwritten MOV never executes.
  Guest g(FlatMode::Long64, R"(
    lea rdi, [rel patch]
    mov ecx, 5
    mov eax, 0x90
    rep stosb
  patch:
    mov eax, 0x12345678        ; 5 bytes, replaced by NOPs
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RAX) == 0x90);
  CHECK(g.out.state.insn_count == 4 + 5 + 1);
}

TEST_CASE("REP STOSB with a 32-bit address wraps EDI at 4 GiB (prot32)") {
  Guest g(FlatMode::Prot32, R"(
    mov edi, 0xfffffffe
    mov ecx, 4
    mov al, 0xab
    rep stosb                  ; 0xfffffffe, 0xffffffff (no RAM), then 0, 1
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.peek(0, 2) == 0xabab);
  CHECK(g.peek(2, 1) == 0);
  CHECK(g.r(RDI) == 2);
  CHECK(g.r(RCX) == 0);
}

TEST_CASE("A fault in the middle of REP MOVSB leaves rCX/rSI/rDI describing the progress") {
  Guest g(FlatMode::Long64, R"(
    mov rsi, 0x30000
    mov rdi, 0x00007ffffffffff8    ; 8 bytes below the non-canonical hole
    mov rcx, 32
    rep movsb
    hlt
  )");
  // Map the last page of the lower canonical half (PML4[255] -> ... -> 0x50000).
  g.poke(0x1000 + 8 * 255, 0x40007, 8);        // PML4[255] -> PDPT at 0x40000
  g.poke(0x40000 + 8 * 511, 0x41007, 8);       // PDPT[511] -> PD at 0x41000
  g.poke(0x41000 + 8 * 511, 0x42007, 8);       // PD[511] -> PT at 0x42000
  g.poke(0x42000 + 8 * 511, 0x50007, 8);       // PT[511] -> page 0x50000
  for (unsigned i = 0; i < 32; ++i) g.poke(0x30000 + i, 0xa0 + i, 1);
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.first_exception().vector == vec::GP);  // 0x0000800000000000 is non-canonical
  CHECK(g.first_exception().rip == g.out.state.rip);
  CHECK(g.peek(g.out.state.rip, 2) == 0xa4f3);   // RIP still at the REP MOVSB
  CHECK(g.r(RCX) == 24);
  CHECK(g.r(RSI) == 0x30008);
  CHECK(g.r(RDI) == 0x0000800000000000);
  CHECK(g.peek(0x50ff8, 8) == 0xa7a6a5a4a3a2a1a0);
}

TEST_CASE("A #PF in the middle of REP STOSD: the completed stores stay, CR2 names the page") {
  Guest g(FlatMode::Long64, R"(
    mov rdi, 0x00007fffffffeff8
    mov eax, 0x5a5a5a5a
    mov rcx, 8
    rep stosd
    hlt
  )");
  g.poke(0x1000 + 8 * 255, 0x40007, 8);
  g.poke(0x40000 + 8 * 511, 0x41007, 8);
  g.poke(0x41000 + 8 * 511, 0x42007, 8);
  g.poke(0x42000 + 8 * 510, 0x50007, 8);       // 0x7fffffffe000 mapped
  g.poke(0x42000 + 8 * 511, 0x51005, 8);       // 0x7ffffffff000 read-only
  g.run();
  CHECK(g.out.stop == StopReason::Shutdown);
  CHECK(g.first_exception().vector == vec::PF);
  CHECK(g.first_exception().error == (2 | 1));  // write, present
  CHECK(g.out.state.cr2 == 0x00007ffffffff000);
  CHECK(g.r(RCX) == 6);
  CHECK(g.r(RDI) == 0x00007ffffffff000);
  CHECK(g.peek(0x50ff8, 8) == 0x5a5a5a5a5a5a5a5a);
}

TEST_CASE("OUTS writes the ports, INS reads all ones from an unclaimed port") {
  Guest g(FlatMode::Prot32, R"(
    mov dx, 0xe9
    mov esi, 0x30000
    mov ecx, 3
    rep outsb
    mov dx, 0x80
    outsw
    mov edi, 0x31000
    mov ecx, 2
    rep insw
    insd
    hlt
  )");
  g.poke(0x30000, 0x5544434241, 5);
  g.run();
  REQUIRE(g.halted());
  REQUIRE(g.port_writes.size() == 4);
  CHECK(g.port_writes[0].port == 0xe9);
  CHECK(g.port_writes[0].value == 0x41);
  CHECK(g.port_writes[2].value == 0x43);
  CHECK(g.port_writes[3].port == 0x80);
  CHECK(g.port_writes[3].size == 2);
  CHECK(g.port_writes[3].value == 0x5544);
  CHECK(g.peek(0x31000, 8) == ~0ull);  // two words, then a dword
  CHECK(g.peek(0x31008, 4) == 0);
  CHECK(g.r(RDI) == 0x31008);
}

TEST_CASE("INS/OUTS at CPL 3 with IOPL 0 and no I/O bitmap: #GP(0), nothing transferred") {
  for (const char* insn : {"outsb", "insb", "rep outsb"}) {
    Guest g(FlatMode::Long64, std::string("mov dx, 0xe9\nmov rsi, 0x30000\nmov rdi, 0x31000\nmov ecx, 1\n") +
                                  insn + "\nhlt\n");
    make_user(g.init);
    // A TSS without an I/O permission bitmap: the map base (TSS+0x66) beyond the limit.
    g.init.tr.limit = 0x67;
    g.poke(0x66, 0x68, 2);
    g.run();
    INFO(insn);
    CHECK(g.first_exception().vector == vec::GP);
    CHECK(g.first_exception().error == 0);
    CHECK(g.port_writes.empty());
    CHECK(g.r(RSI) == 0x30000);
    CHECK(g.r(RDI) == 0x31000);
  }
}

// =============================================================================
// XADD / CMPXCHG / CMPXCHG8B / CMPXCHG16B
// =============================================================================

TEST_CASE("XADD and CMPXCHG at every size, register and memory forms, match the host") {
  // Record (512 bytes): [0] flags, [8] a (destination), [16] b (source),
  // [24] rAX; results from 32: per (instruction, size, form) three qwords;
  // [504] scratch memory operand.
  constexpr size_t RS = 512;
  const char* const regs[4][2] = {{"bl", "dl"}, {"bx", "dx"}, {"ebx", "edx"}, {"rbx", "rdx"}};
  const char* const sizes[4] = {"byte", "word", "dword", "qword"};
  std::ostringstream k;
  unsigned out = 32;
  for (const char* op : {"xadd", "cmpxchg"}) {
    for (unsigned s = 0; s < 4; ++s) {
      for (bool mem : {false, true}) {
        k << "mov rbx, [{R}+8]\nmov rdx, [{R}+16]\nmov rax, [{R}+24]\n";
        if (mem) k << "mov [{R}+504], rbx\n";
        k << "push qword [{R}]\npopfq\n";
        if (mem) k << "lock " << op << " " << sizes[s] << " [{R}+504], " << regs[s][1] << "\n";
        else k << op << " " << regs[s][0] << ", " << regs[s][1] << "\n";
        k << "pushfq\npop rcx\n";
        if (mem) k << "mov rbx, [{R}+504]\n";
        k << "mov [{R}+" << out << "], rbx\n";
        k << "mov [{R}+" << out + 8 << "], " << (std::string(op) == "xadd" ? "rdx" : "rax") << "\n";
        k << "mov [{R}+" << out + 16 << "], rcx\n";
        out += 24;
      }
    }
  }
  // The same register as both operands.
  k << "mov rbx, [{R}+8]\npush qword [{R}]\npopfq\nxadd ebx, ebx\npushfq\npop rcx\n"
    << "mov [{R}+" << out << "], rbx\nmov [{R}+" << out + 8 << "], rcx\n";
  REQUIRE(out + 16 <= 504);

  std::mt19937_64 rng(3);
  const uint64_t specials[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                               0x80000000, 0xffffffff, 0x7fffffffffffffff, 0x8000000000000000,
                               ~0ull};
  const unsigned n = 120;
  std::vector<uint8_t> recs(RS * n);
  for (unsigned i = 0; i < n; ++i) {
    auto pick = [&] {
      uint64_t v = (rng() % 2) ? specials[rng() % 14] : rng();
      return (rng() % 4 == 0) ? v | 0xabcdef0000000000 : v;
    };
    const uint64_t a = pick();
    put_u64(recs, RS * i, fl::FIXED1 | (rng() & ARITH));
    put_u64(recs, RS * i + 8, a);
    put_u64(recs, RS * i + 16, pick());
    // Half the records compare equal at some sizes (rAX = a, or a with only
    // its top byte changed).
    put_u64(recs, RS * i + 24, (i % 2) ? a ^ (rng() % 2 ? 0 : 0xff00000000000000) : pick());
  }
  OracleResult o = run_on_guest_and_host(k.str(), RS, recs);
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned j = 32; j < out + 16; j += 8) {
      INFO("record " << i << " result offset " << j << " a=" << hex(u64_at(recs, RS * i + 8))
                     << " b=" << hex(u64_at(recs, RS * i + 16))
                     << " rax=" << hex(u64_at(recs, RS * i + 24)));
      const bool is_flags = (j >= out) ? (j == out + 8) : ((j - 32) % 24 == 16);
      const uint64_t mask = is_flags ? ARITH : ~0ull;
      CHECK(hex(u64_at(o.guest, RS * i + j) & mask) == hex(u64_at(o.host, RS * i + j) & mask));
    }
  }
}

TEST_CASE("CMPXCHG writes the destination only as the SDM says") {
  Guest g(FlatMode::Long64, R"(
    mov rax, 0xffffffff00000001
    mov rcx, 0xaaaaaaaa00000002
    mov edx, 3
    cmpxchg ecx, edx          ; fails: eax := ecx (rax upper cleared), rcx untouched
    mov r8, rax
    mov r9, rcx
    mov rax, 0xffffffff00000002
    cmpxchg ecx, edx          ; succeeds: ecx := 3 (zero-extended), rax untouched
    mov r10, rax
    mov r11, rcx
    hlt
  )");
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(R8) == 2);
  CHECK(g.r(R9) == 0xaaaaaaaa00000002);
  CHECK(g.r(R10) == 0xffffffff00000002);
  CHECK(g.r(R11) == 3);
}

TEST_CASE("CMPXCHG to a read-only page faults even when the comparison fails") {
  // The write cycle happens regardless of the result (SDM CMPXCHG), so the
  // access is checked as a write: a read-only data segment gives #GP(0).
  Guest g(FlatMode::Prot32, R"(
    mov eax, 1
    mov ecx, 2
    cmpxchg [0x30000], ecx
    hlt
  )");
  g.init.seg[DS].attr &= ~ar::TYPE_RW;
  g.poke(0x30000, 7, 4);
  g.run();
  CHECK(g.first_exception().vector == vec::GP);
  CHECK(g.r(RAX) == 1);
}

TEST_CASE("CMPXCHG8B: success, failure, only ZF changes") {
  Guest g(FlatMode::Prot32, R"(
    mov edx, 0x11111111
    mov eax, 0x22222222
    mov ecx, 0x33333333
    mov ebx, 0x44444444
    stc
    lock cmpxchg8b [0x30000]   ; equal: stores ECX:EBX, ZF = 1
    pushfd
    pop esi
    cmpxchg8b [0x30000]        ; now unequal: EDX:EAX := m64, ZF = 0
    pushfd
    pop edi
    hlt
  )");
  g.poke(0x30000, 0x1111111122222222, 8);
  g.init.rflags = 0x2 | fl::SF;
  g.run();
  REQUIRE(g.halted());
  CHECK(g.r(RSI) == (0x2 | fl::SF | fl::CF | fl::ZF));
  CHECK(g.r(RDI) == (0x2 | fl::SF | fl::CF));
  CHECK(g.peek(0x30000, 8) == 0x3333333344444444);
  CHECK(g.r(RDX) == 0x33333333);
  CHECK(g.r(RAX) == 0x44444444);
}

TEST_CASE("CMPXCHG16B: success and failure; misalignment is #GP(0) with nothing changed") {
  SECTION("aligned") {
    Guest g(FlatMode::Long64, R"(
      mov rdx, 0x1111111111111111
      mov rax, 0x2222222222222222
      mov rcx, 0x3333333333333333
      mov rbx, 0x4444444444444444
      lock cmpxchg16b [0x30010]
      setz r8b
      cmpxchg16b [0x30010]
      setz r9b
      hlt
    )");
    g.poke(0x30010, 0x2222222222222222, 8);
    g.poke(0x30018, 0x1111111111111111, 8);
    g.run();
    REQUIRE(g.halted());
    CHECK(g.r(R8) == 1);
    CHECK(g.r(R9) == 0);
    CHECK(g.peek(0x30010, 8) == 0x4444444444444444);
    CHECK(g.peek(0x30018, 8) == 0x3333333333333333);
    CHECK(g.r(RAX) == 0x4444444444444444);
    CHECK(g.r(RDX) == 0x3333333333333333);
  }
  SECTION("misaligned") {
    Guest g(FlatMode::Long64, R"(
      mov rdx, 0x1111111111111111
      mov rax, 0x2222222222222222
      cmpxchg16b [0x30008]
      hlt
    )");
    g.poke(0x30008, 0x2222222222222222, 8);
    g.poke(0x30010, 0x1111111111111111, 8);
    g.run();
    CHECK(g.out.stop == StopReason::Shutdown);
    CHECK(g.first_exception().vector == vec::GP);
    CHECK(g.first_exception().error == 0);
    CHECK(g.first_exception().rip == g.out.state.rip);
    CHECK(g.peek(g.out.state.rip, 3) == 0xc70f48);  // RIP at the CMPXCHG16B
    CHECK(g.peek(0x30008, 8) == 0x2222222222222222);
    CHECK(g.peek(0x30010, 8) == 0x1111111111111111);
  }
}

TEST_CASE("LOCK on a register destination or an unlockable instruction is #UD") {
  for (const char* bytes : {"db 0xf0, 0x0f, 0xc1, 0xc0",    // lock xadd eax, eax
                            "db 0xf0, 0x0f, 0xb1, 0xc8",    // lock cmpxchg eax, ecx
                            "db 0xf0, 0x87, 0xc1",          // lock xchg ecx, eax
                            "db 0xf0, 0x89, 0x00",          // lock mov [rax], eax
                            "db 0xf0, 0xa4"}) {             // lock movsb
    Guest g(FlatMode::Long64, std::string(bytes) + "\nhlt\n");
    g.run();
    INFO(bytes);
    CHECK(g.out.stop == StopReason::Shutdown);
    CHECK(g.first_exception().vector == vec::UD);
  }
}

TEST_CASE("CMPXCHG8B/16B are #UD without their CPUID features") {
  SECTION("CX8") {
    Guest g(FlatMode::Prot32, "cmpxchg8b [0x30000]\nhlt\n");
    g.model.features &= ~(1ull << unsigned(Feature::Cx8));
    g.run();
    CHECK(g.first_exception().vector == vec::UD);
  }
  SECTION("CX16") {
    Guest g(FlatMode::Long64, "cmpxchg16b [0x30000]\nhlt\n");
    g.model.features &= ~(1ull << unsigned(Feature::Cx16));
    g.run();
    CHECK(g.first_exception().vector == vec::UD);
  }
}
