// Debug registers and #DB (emu/debug.cpp, the run loop's debug traps):
// single-step, instruction/data/I/O breakpoints, general detect, RF, the
// MOV SS shadow and the priority of debug traps over INTR, checked against
// SDM Vol. 3B 17.2-17.3 and Vol. 3A 6.8.3, 6.9. The guest programs run on
// Cpu::run with an IDT whose stubs log each event (test_debug_support.h).
#include <catch.hpp>

#include "tests/unit/test_debug_support.h"

using namespace softvt;
using namespace softvt::test;

namespace {

constexpr uint64_t SLOTS = 0x81000;  // label addresses the programs store
constexpr uint64_t BS = 1u << 14, BD = 1u << 13;
constexpr uint64_t RF = 1u << 16, TF = 1u << 8;

// DR7 value enabling breakpoint n locally with R/W and LEN codes.
uint64_t dr7_for(unsigned n, unsigned rw, unsigned len) {
  return (uint64_t(1) << (2 * n)) | (uint64_t(rw) << (16 + 4 * n)) | (uint64_t(len) << (18 + 4 * n));
}

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

const char* kSetTf = " pushfq\n or qword [rsp], 0x100\n popfq\n";
const char* kClearTf = " pushfq\n and qword [rsp], ~0x100\n popfq\n";

}  // namespace

TEST_CASE("single-step: a trap after each instruction, not after the POPF that sets TF", "[debug]") {
  LongMachine m(std::string(kSetTf) +
                "a1: inc rax\n a2: inc rax\n a3:" + kClearTf +
                " hlt\n");
  // Labels: after POPF (TF=1) the first trap follows INC at a1.
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.cpu.s.gpr[RAX] == 2);
  // Traps after: inc, inc, pushfq, and, popfq (TF was 1 when the clearing
  // POPF started). None after the setting POPF.
  REQUIRE(m.count() == 5);
  for (unsigned i = 0; i < 5; ++i) {
    const LogEntry e = m.entry(i);
    CHECK(e.vector == vec::DB);
    CHECK((e.dr6 & BS));
    CHECK((e.dr6 & 0xf) == 0);
    CHECK(bool(e.rflags & TF) == (i < 4));  // the last follows the POPF that cleared it
    CHECK(!(e.rflags & RF));  // a trap pushes the current RF (0)
  }
  // The first trap's RIP is the second INC (INC RAX is 3 bytes).
  CHECK(m.entry(1).rip - m.entry(0).rip == 3);
  CHECK(!(m.cpu.s.rflags & TF));
}

TEST_CASE("single-step: MOV SS defers the trap past the next instruction", "[debug]") {
  LongMachine m(std::string(kSetTf) +
                " mov ax, ss\n mov ss, ax\n inc rcx\n mov qword [0x81000], after\nafter:" + kClearTf +
                " hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  // Traps: after MOV AX,SS (RIP = MOV SS); none after MOV SS; one after
  // INC RCX (RIP = the MOV that follows); then the rest.
  REQUIRE(m.count() >= 2);
  const LogEntry first = m.entry(0), second = m.entry(1);
  CHECK(first.vector == vec::DB);
  CHECK(second.vector == vec::DB);
  // MOV SS is 2 bytes (8E D0), INC RCX 3 bytes: the second trap comes 5
  // bytes after the first.
  CHECK(second.rip - first.rip == 5);
}

TEST_CASE("single-step: INT n clears TF, the trap follows the instruction after IRET", "[debug]") {
  LongMachine m(std::string(kSetTf) +
                " int 0x40\n inc rax\n inc rax\n" + kClearTf + " hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() >= 2);
  const LogEntry e0 = m.entry(0), e1 = m.entry(1);
  CHECK(e0.vector == 0x40);
  CHECK((e0.rflags & TF));  // the image keeps TF; the handler runs without it
  // No trap inside the handler and none right after INT: IRETQ restores
  // TF, so the first trap follows the first INC after INT.
  CHECK(e1.vector == vec::DB);
  CHECK(e1.rip == e0.rip + 3);
  CHECK(m.cpu.s.gpr[RAX] == 2);
}

TEST_CASE("single-step: a faulting instruction traps no single-step", "[debug]") {
  LongMachine m(std::string(kSetTf) + " ud2\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  CHECK(m.entry(0).vector == vec::UD);
  CHECK((m.entry(0).rflags & (TF | RF)) == (TF | RF));  // fault: RF = 1 pushed
}

TEST_CASE("single-step: REP MOVSB traps after every iteration, RF = 1 before the last", "[debug]") {
  LongMachine m(" mov rsi, 0x70000\n mov rdi, 0x70100\n mov rcx, 3\n mov qword [0x81000], r1\n" +
                std::string(kSetTf) + "r1: rep movsb\n" + kClearTf +
                " hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  const uint64_t rep = m.label(SLOTS);
  REQUIRE(m.count() >= 3);
  for (unsigned i = 0; i < 2; ++i) {
    const LogEntry e = m.entry(i);
    INFO("iteration " << i);
    CHECK(e.vector == vec::DB);
    CHECK(e.rip == rep);  // not finished: RIP stays on the instruction
    CHECK(e.rcx == 2 - i);
    CHECK((e.rflags & RF));
    CHECK((e.dr6 & BS));
  }
  const LogEntry last = m.entry(2);
  CHECK(last.rip == rep + 2);  // after F3 A4
  CHECK(last.rcx == 0);
  CHECK(!(last.rflags & RF));
}

TEST_CASE("instruction breakpoint: fault before the instruction, RF pushed 0, RF passes it", "[debug]") {
  LongMachine m(
      " mov rax, target\n mov dr0, rax\n mov rax, 1\n mov dr7, rax\n mov ecx, 2\n"
      "loop_: nop\ntarget: inc rbx\n dec ecx\n jnz loop_\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  // The handler returns with RF set in the image: INC runs once per pass.
  CHECK(m.cpu.s.gpr[RBX] == 2);
  REQUIRE(m.count() == 2);
  for (unsigned i = 0; i < 2; ++i) {
    const LogEntry e = m.entry(i);
    CHECK(e.vector == vec::DB);
    CHECK((e.dr6 & 0xf) == 1);  // B0
    CHECK(!(e.dr6 & BS));
    CHECK(!(e.rflags & RF));
    CHECK(e.rcx == 2 - i);  // before INC/DEC of that pass
  }
  CHECK(m.entry(0).rip == m.entry(1).rip);
}

TEST_CASE("instruction breakpoint: disabled by DR7, and L/G both enable it", "[debug]") {
  LongMachine off(" mov rax, t\n mov dr0, rax\n mov rax, 0x0\n mov dr7, rax\nt: inc rbx\n hlt\n");
  REQUIRE(off.run() == StopReason::Hlt);
  CHECK(off.count() == 0);
  LongMachine global(" mov rax, t\n mov dr3, rax\n mov rax, 0x80\n mov dr7, rax\nt: inc rbx\n hlt\n");
  REQUIRE(global.run() == StopReason::Hlt);
  REQUIRE(global.count() == 1);
  CHECK((global.entry(0).dr6 & 0xf) == 8);  // B3
}

TEST_CASE("data breakpoint: write-only match with 4-byte length, trap after the store", "[debug]") {
  const uint64_t dr7v = dr7_for(1, 1, 3);  // DR1, R/W = 01, LEN = 11 (4 bytes)
  LongMachine m(" mov eax, [0x70004]\n mov rax, 0x70005\n mov dr1, rax\n mov rax, " + hex(dr7v) +
                "\n mov dr7, rax\n"
                " mov eax, [0x70004]\n"            // read: no match for R/W = 01
                " mov byte [0x70008], 7\n"          // outside 0x70004-0x70007
                " mov qword [0x81000], store\n"
                "store: mov dword [0x70006], 0x12345678\n"  // overlaps 0x70006-0x70007
                " nop\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  const LogEntry e = m.entry(0);
  CHECK(e.vector == vec::DB);
  CHECK((e.dr6 & 0xf) == 2);  // B1
  CHECK(e.rip == m.label(SLOTS) + 11);  // C7 04 25 disp32 imm32: after the store
  CHECK(m.get32(0x70006) == 0x12345678);  // the store completed
  CHECK(!(e.rflags & RF));
}

TEST_CASE("data breakpoint: 8-byte length masks the address; read/write matches reads", "[debug]") {
  const uint64_t dr7v = dr7_for(2, 3, 2);  // DR2, R/W = 11, LEN = 10 (8 bytes)
  LongMachine m(" mov rax, 0x70013\n mov dr2, rax\n mov rax, " + hex(dr7v) +
                "\n mov dr7, rax\n"
                " mov al, [0x70018]\n"  // just past 0x70010-0x70017
                " mov al, [0x7000f]\n"  // just before
                " mov al, [0x70010]\n"  // first byte of the masked range: match
                " hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  CHECK((m.entry(0).dr6 & 0xf) == 4);  // B2
}

TEST_CASE("data breakpoint: several matches set several B bits; the TLB cannot bypass it", "[debug]") {
  const uint64_t dr7v = dr7_for(0, 3, 0) | dr7_for(3, 1, 1);
  // The page is accessed (and cached in the TLB) before the breakpoints
  // are armed.
  LongMachine m(" mov word [0x70020], 1\n mov rax, 0x70020\n mov dr0, rax\n mov rax, 0x70021\n"
                " mov dr3, rax\n mov rax, " + hex(dr7v) + "\n mov dr7, rax\n"
                " mov word [0x70020], 2\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  CHECK((m.entry(0).dr6 & 0xf) == 9);  // B0 and B3 (DR3 & ~1 = 0x70020)
}

TEST_CASE("data breakpoint: REP STOSB stops after the matching iteration with RF = 1", "[debug]") {
  const uint64_t dr7v = dr7_for(0, 1, 0);
  LongMachine m(" mov rax, 0x70043\n mov dr0, rax\n mov rax, " + hex(dr7v) +
                "\n mov dr7, rax\n mov rdi, 0x70040\n mov rcx, 8\n mov al, 0x5a\n"
                " mov qword [0x81000], r1\nr1: rep stosb\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  const LogEntry e = m.entry(0);
  CHECK(e.vector == vec::DB);
  CHECK(e.rip == m.label(SLOTS));  // still on REP STOSB
  CHECK(e.rcx == 4);               // iterations 0-3 done
  CHECK((e.rflags & RF));
  CHECK((e.dr6 & 0xf) == 1);
  CHECK(m.cpu.s.gpr[RCX] == 0);  // resumed and finished after IRETQ
  CHECK(m.get64(0x70040) == 0x5a5a5a5a5a5a5a5aull);
}

TEST_CASE("I/O breakpoint: OUT matches with CR4.DE = 1 only", "[debug]") {
  const uint64_t dr7v = dr7_for(3, 2, 1);  // DR3, R/W = 10, LEN = 01 (2 ports)
  const std::string arm = " mov rax, 0x81\n mov dr3, rax\n mov rax, " + hex(dr7v) + "\n mov dr7, rax\n";
  LongMachine without(arm + " out 0x80, al\n hlt\n");
  REQUIRE(without.run() == StopReason::Hlt);
  CHECK(without.count() == 0);
  LongMachine with(" mov rax, cr4\n or rax, 8\n mov cr4, rax\n" + arm +
                   " out 0x82, al\n mov qword [0x81000], o\no: out 0x80, ax\n hlt\n");
  REQUIRE(with.run() == StopReason::Hlt);
  REQUIRE(with.count() == 1);
  CHECK((with.entry(0).dr6 & 0xf) == 8);
  CHECK(with.entry(0).rip == with.label(SLOTS) + 3);  // 66 E7 80
}

TEST_CASE("general detect: #DB before the MOV DR, BD set, GD cleared, RF pushed 1", "[debug]") {
  LongMachine m(" mov rax, 0x2400\n mov dr7, rax\n mov qword [0x81000], acc\nacc: mov rbx, dr0\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  const LogEntry e = m.entry(0);
  CHECK(e.vector == vec::DB);
  CHECK(e.rip == m.label(SLOTS));
  CHECK((e.dr6 & BD));
  CHECK(e.dr7 == 0x400);  // GD cleared on entry to the handler
  CHECK((e.rflags & RF));
  CHECK(m.cpu.s.dr[7] == 0x400);  // IRETQ re-ran the MOV without a second #DB
}

TEST_CASE("MOV DR: bits 63:32 of DR6/DR7 are reserved: #GP(0)", "[debug]") {
  for (const char* reg : {"dr6", "dr7"}) {
    LongMachine m(std::string(" mov rax, 0x100000000\n mov ") + reg + ", rax\n hlt\n");
    REQUIRE(m.run() == StopReason::Hlt);
    REQUIRE(m.count() == 1);
    CHECK(m.entry(0).vector == vec::GP);
    CHECK(m.entry(0).error == 0);
  }
}

TEST_CASE("MOV DR: DR6 and DR7 keep their fixed bits; DR0-DR3 hold 64 bits", "[debug]") {
  LongMachine m(" mov rax, 0xffffffff\n mov dr6, rax\n mov rbx, dr6\n mov rax, 0\n mov dr6, rax\n"
                " mov rcx, dr6\n mov rax, 0xffffdfff\n mov dr7, rax\n mov rdx, dr7\n mov rax, 0\n"
                " mov dr7, rax\n mov rax, 0xfedcba9876543210\n mov dr2, rax\n mov rsi, dr2\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.cpu.s.gpr[RBX] == 0xffffefff);  // bit 12 reads 0
  CHECK(m.cpu.s.gpr[RCX] == 0xffff0ff0);
  CHECK(m.cpu.s.gpr[RDX] == 0xffff07ff);  // bits 11, 12, 14, 15 read 0, 10 reads 1
  CHECK(m.cpu.s.gpr[RSI] == 0xfedcba9876543210ull);
}

TEST_CASE("INT1 is #DB without a DR6 condition; INT3 is #BP after the instruction", "[debug]") {
  LongMachine m(" mov qword [0x81000], a\n int1\na: int3\nb: hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 2);
  CHECK(m.entry(0).vector == vec::DB);
  CHECK(m.entry(0).rip == m.label(SLOTS));
  CHECK((m.entry(0).dr6 & (0xf | BS | BD)) == 0);
  CHECK(m.entry(1).vector == vec::BP);
  CHECK(m.entry(1).rip == m.label(SLOTS) + 1);
}

TEST_CASE("MOV SS with a data breakpoint, then INT3: #DB arrives in the #BP handler", "[debug]") {
  // The #DB condition of MOV SS is held by its shadow across INT3, whose
  // delivery completes first: the trap is taken before the first
  // instruction of the #BP handler (the CVE-2018-8897 behaviour).
  const uint64_t dr7v = dr7_for(0, 3, 1);
  LongMachine m(" mov word [0x70080], ss\n mov rax, 0x70080\n mov dr0, rax\n mov rax, " + hex(dr7v) +
                "\n mov dr7, rax\n mov ss, [0x70080]\n int3\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 2);
  const LogEntry db = m.entry(0), bp = m.entry(1);
  CHECK(db.vector == vec::DB);
  CHECK((db.dr6 & 0xf) == 1);
  CHECK(db.rip == 0x10000 + 16 + 16 * 3);  // the #BP stub, not yet run
  CHECK(bp.vector == vec::BP);
}

namespace {
// A device whose port 0x99 raises INTR (vector 0x20) from inside OUT.
struct Line : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  uint8_t intr_acknowledge() override {
    cpu->intr_line = false;
    return 0x20;
  }
};
}  // namespace

TEST_CASE("a pending single-step trap is taken before INTR (SDM 6.9)", "[debug]") {
  // TF and IF set by POPF; OUT raises INTR: the boundary after OUT has
  // the single-step trap and the interrupt both pending.
  LongMachine m(" pushfq\n or qword [rsp], 0x300\n popfq\n nop\n out 0x99, al\n nop\n" +
                std::string(kClearTf) + " cli\n hlt\n");
  Line line;
  line.cpu = &m.cpu;
  m.cpu.intr_source = &line;
  m.cpu.io_write = [&](uint16_t port, unsigned, uint64_t) {
    if (port == 0x99) m.cpu.intr_line = true;
  };
  REQUIRE(m.run() == StopReason::Hlt);
  unsigned at = 0;
  while (at < m.count() && m.entry(at).vector != 0x20) ++at;
  REQUIRE(at < m.count());
  REQUIRE(at >= 1);
  // The #DB of OUT came first, with the same return address.
  CHECK(m.entry(at - 1).vector == vec::DB);
  CHECK(m.entry(at - 1).rip == m.entry(at).rip);
  CHECK((m.entry(at - 1).dr6 & BS));
}

TEST_CASE("I/O breakpoint: REP INSB traps after each matching iteration", "[debug]") {
  const uint64_t dr7v = dr7_for(2, 2, 0);  // DR2, R/W = 10, LEN = 00
  LongMachine m(" mov rax, cr4\n or rax, 8\n mov cr4, rax\n mov rax, 0x80\n mov dr2, rax\n mov rax, " +
                hex(dr7v) + "\n mov dr7, rax\n mov dx, 0x80\n mov rdi, 0x70200\n mov rcx, 3\n"
                " mov qword [0x81000], r1\nr1: rep insb\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 3);
  for (unsigned i = 0; i < 3; ++i) {
    const LogEntry e = m.entry(i);
    INFO("iteration " << i);
    CHECK(e.vector == vec::DB);
    CHECK((e.dr6 & 0xf) == 4);  // B2
    CHECK(e.rcx == 2 - i);
    // Before the last iteration RIP stays on REP INSB, with RF = 1.
    CHECK(e.rip == m.label(SLOTS) + (i < 2 ? 0 : 2));
    CHECK(bool(e.rflags & RF) == (i < 2));
  }
  CHECK(m.cpu.s.gpr[RDI] == 0x70203);
}

TEST_CASE("real mode: single-step through the IVT pushes FLAGS with TF and clears it", "[debug]") {
  // The #DB handler (IVT entry 1) counts and records the IPs it returns to.
  Memory mem{16 << 20};
  CpuModel model = default_cpu_model();
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  const auto image = assemble_nasm(
      "bits 16\norg 0\n xor ax, ax\n mov es, ax\n mov word [es:4], handler\n mov word [es:6], cs\n"
      " pushf\n pop ax\n or ax, 0x100\n push ax\n popf\n"
      "a: inc si\n inc si\n pushf\n pop ax\n and ax, 0xfeff\n push ax\n popf\n hlt\n"
      "handler: push bp\n mov bp, sp\n mov bx, [count]\n shl bx, 1\n mov ax, [bp+2]\n mov [ips+bx], ax\n"
      " mov ax, [bp+6]\n mov [flags+bx], ax\n pushf\n pop ax\n mov [inside], ax\n inc word [count]\n"
      " pop bp\n iret\n"
      "align 2\ncount: dw 0\ninside: dw 0\nips: times 16 dw 0\nflags: times 16 dw 0\n");
  cpu.s = setup_flat(mem, image, 0x10000, FlatMode::Real16);
  cpu.s.idtr = DescTable{0, 0x3ff, 0};  // the IVT
  cpu.blocks = &blocks;
  cpu.update_mode();
  REQUIRE(cpu.run(10000) == StopReason::Hlt);
  // Locate the data: the last 2 + 2 + 32 + 32 bytes of the image.
  const uint64_t data = 0x10000 + image.size() - 68;
  uint16_t count, inside;
  std::memcpy(&count, mem.ram() + data, 2);
  std::memcpy(&inside, mem.ram() + data + 2, 2);
  // Traps after INC, INC, PUSHF, POP, AND, PUSH and the POPF that cleared TF.
  CHECK(count == 7);
  CHECK(!(inside & 0x100));  // the handler runs with TF clear
  uint16_t ip0, ip1, fl0, fl6;
  std::memcpy(&ip0, mem.ram() + data + 4, 2);
  std::memcpy(&ip1, mem.ram() + data + 6, 2);
  std::memcpy(&fl0, mem.ram() + data + 36, 2);
  std::memcpy(&fl6, mem.ram() + data + 36 + 12, 2);
  CHECK(ip1 == ip0 + 1);  // INC SI is one byte in 16-bit code
  CHECK((fl0 & 0x100));
  CHECK(!(fl6 & 0x100));
}

TEST_CASE("data breakpoint on the stack hit by an interrupt's own pushes", "[debug]") {
  // INT 0x40 pushes its frame below RSP = 0x9f000; the return RIP lands at
  // 0x9efd8, watched by DR0. The match belongs to INT's delivery, so the
  // #DB comes at the next boundary: before the handler's first instruction.
  const uint64_t dr7v = dr7_for(0, 1, 2);  // write, 8 bytes
  LongMachine m(" mov rax, 0x9efd8\n mov dr0, rax\n mov rax, " + hex(dr7v) +
                "\n mov dr7, rax\n int 0x40\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 2);
  CHECK(m.entry(0).vector == vec::DB);
  CHECK((m.entry(0).dr6 & 0xf) == 1);
  CHECK(m.entry(0).rip == 0x10010 + 16 * 0x40);  // the INT 0x40 stub, not yet run
  CHECK(m.entry(1).vector == 0x40);
}
