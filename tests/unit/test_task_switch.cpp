// Hardware task switching (emu/task_switch.cpp): far JMP/CALL to a TSS or
// a task gate, exceptions through an IDT task gate, IRET with NT = 1, 16-
// and 32-bit TSS formats, busy bits, NT and the previous-task link, CR0.TS,
// the T-bit trap, the checks before and after the commit point, and #GP in
// IA-32e mode (SDM Vol. 3A chapter 7, 6.12.2, 17.3.1.5; Vol. 2 JMP, CALL,
// IRET). Programs run on Cpu::run in 32-bit protected mode with their own
// GDT and an IDT of logging stubs.
#include <catch.hpp>

#include "tests/unit/test_debug_support.h"

using namespace softvt;
using namespace softvt::test;

namespace {

constexpr uint64_t TSS_A = 0x60000, TSS_B = 0x61000, TSS_C = 0x62000, TSS_D = 0x63000;
constexpr uint64_t TSS_E = 0x65000;
constexpr uint64_t SLOTS = 0x81000;
constexpr uint32_t NT = 1u << 14, RF = 1u << 16;

// GDT selectors of the prelude.
constexpr uint16_t SEL_A = 0x18, SEL_B = 0x20, GATE_B = 0x28, SEL_C = 0x30, SEL_D = 0x40;
constexpr uint16_t SEL_E = 0x60;

// 32-bit protected mode: GDT (see the selectors above), IDT of logging
// stubs (log entries: vector, error, EIP, CS, EFLAGS, TR, DR6, ECX at
// 32-byte strides after the count at 0x80000), task A loaded in TR.
std::string prelude32() {
  return R"(bits 32
org 0x10000
    jmp start
align 16
stubs:
%assign v 0
%rep 0x42
align 16
  %if v == 8 || (v >= 10 && v <= 14) || v == 17
    push dword v
  %else
    push dword 0
    push dword v
  %endif
    jmp log_event
%assign v v+1
%endrep
log_event:
    push eax
    push ebx
    mov ebx, [ss:0x80000]
    cmp ebx, 15
    jae .stop
    shl ebx, 5
    add ebx, 0x80040
    mov eax, [esp+8]
    mov [ss:ebx], eax
    mov eax, [esp+12]
    mov [ss:ebx+4], eax
    mov eax, [esp+16]
    mov [ss:ebx+8], eax
    mov eax, [esp+20]
    mov [ss:ebx+12], eax
    mov eax, [esp+24]
    mov [ss:ebx+16], eax
    xor eax, eax
    str ax
    mov [ss:ebx+20], eax
    mov eax, dr6
    mov [ss:ebx+24], eax
    mov [ss:ebx+28], ecx
    inc dword [ss:0x80000]
    cmp dword [esp+8], 1
    jne .not_db
    or dword [esp+24], 0x10000
    jmp .back
.not_db:
    cmp dword [esp+8], 3
    je .back
    cmp dword [esp+8], 0x20
    jae .back
.stop:
    hlt
    jmp .stop
.back:
    pop ebx
    pop eax
    add esp, 8
    iretd

%macro TSSDESC 3
    dw (%2) & 0xffff
    dw (%1) & 0xffff
    db ((%1) >> 16) & 0xff
    db %3
    db ((%2) >> 16) & 0xf
    db ((%1) >> 24) & 0xff
%endmacro

; Fills the fields of a 32-bit TSS at %1 for a ring-0 flat task starting
; at %2 with ESP %3.
%macro INIT_TSS32 3
    mov eax, cr3
    mov [%1 + 0x1c], eax
    mov dword [%1 + 0x20], %2
    mov dword [%1 + 0x24], 2
    mov dword [%1 + 0x38], %3
    mov dword [%1 + 0x48], 0x10
    mov dword [%1 + 0x4c], 0x08
    mov dword [%1 + 0x50], 0x10
    mov dword [%1 + 0x54], 0x10
    mov dword [%1 + 0x58], 0x10
    mov dword [%1 + 0x5c], 0x10
    mov dword [%1 + 0x60], 0
    mov dword [%1 + 0x64], 0x00680000
%endmacro

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff           ; 0x08 code32 DPL0
    dq 0x00cf93000000ffff           ; 0x10 data DPL0
    TSSDESC 0x60000, 0x67, 0x89     ; 0x18 TSS A (32-bit)
    TSSDESC 0x61000, 0x67, 0x89     ; 0x20 TSS B (32-bit)
    dw 0, 0x20, 0x8500, 0           ; 0x28 task gate -> B, DPL 0
    TSSDESC 0x62000, 0x2b, 0x81     ; 0x30 TSS C (16-bit)
    dq 0x00009b010000ffff           ; 0x38 code16 DPL0, base 0x10000
    TSSDESC 0x63000, 0x67, 0x89     ; 0x40 TSS D (32-bit)
    TSSDESC 0x64000, 0x17, 0x82     ; 0x48 LDT
    dq 0x00cffb000000ffff           ; 0x50 code32 DPL3
    dq 0x00cff3000000ffff           ; 0x58 data DPL3
    TSSDESC 0x65000, 0x67, 0x89     ; 0x60 TSS E (32-bit)
    dq 0x000093000000ffff           ; 0x68 data16 DPL0 (B = 0)
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
align 8
idt:
%assign v 0
%rep 0x42
    dw (stubs + 16*v - $$ + 0x10000) & 0xffff
    dw 0x08
    db 0, 0x8e
    dw ((stubs + 16*v - $$ + 0x10000) >> 16) & 0xffff
%assign v v+1
%endrep
idtr:
    dw 8*0x42 - 1
    dd idt
start:
    lgdt [gdtr]
    lidt [idtr]
    jmp 0x08:.cs
.cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x9f000
    mov ax, 0x18
    ltr ax
)";
}

struct Entry32 {
  uint32_t vector, error, eip, cs, eflags, tr, dr6, ecx;
};

struct ProtMachine {
  Memory mem{64 << 20};
  CpuModel model = default_cpu_model();
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  uint64_t gdt = 0;

  explicit ProtMachine(const std::string& body) {
    const std::string src = prelude32() + body;
    const auto image = assemble_nasm(src);
    cpu.s = setup_flat(mem, image, 0x10000, FlatMode::Prot32);
    cpu.blocks = &blocks;
    cpu.update_mode();
  }
  StopReason run(uint64_t n = 100000) { return cpu.run(n); }
  uint32_t get32(uint64_t a) const { uint32_t v; std::memcpy(&v, mem.ram() + a, 4); return v; }
  uint16_t get16(uint64_t a) const { uint16_t v; std::memcpy(&v, mem.ram() + a, 2); return v; }
  uint8_t get8(uint64_t a) const { return mem.ram()[a]; }
  // The access byte of GDT descriptor `sel` (type, S, DPL, P).
  uint8_t access(uint16_t sel) const { return get8(cpu.s.gdtr.base + (sel & ~7u) + 5); }
  uint32_t count() const { return get32(LOG); }
  Entry32 entry(unsigned i) const {
    const uint64_t a = LOG + 0x40 + 32 * uint64_t(i);
    return Entry32{get32(a), get32(a + 4), get32(a + 8), get32(a + 12),
                   get32(a + 16), get32(a + 20), get32(a + 24), get32(a + 28)};
  }
};

}  // namespace

TEST_CASE("JMP to a TSS and back: state saved and loaded, busy bits move, no nesting", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x61000, task_b, 0x9e000\n"
      " mov eax, 0x11111111\n mov ecx, 0xcccc0001\n mov esi, 0x5151\n"
      " mov dword [0x81000], after_jmp\n"
      " jmp 0x20:0\n"
      "after_jmp:\n mov [0x81010], eax\n mov [0x81014], ecx\n hlt\n"
      "task_b:\n xor eax, eax\n str ax\n mov [0x81004], eax\n pushfd\n pop eax\n mov [0x81008], eax\n"
      " mov ecx, 0x22222222\n mov dword [0x8100c], back_jmp\n"
      "back_jmp: jmp 0x18:0\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  // In task B: TR = B, NT clear (JMP does not nest).
  CHECK(m.get32(SLOTS + 4) == SEL_B);
  CHECK(!(m.get32(SLOTS + 8) & NT));
  // Back in A at the instruction after its JMP, with A's registers.
  CHECK(m.get32(SLOTS + 0x10) == 0x11111111);
  CHECK(m.get32(SLOTS + 0x14) == 0xcccc0001);
  CHECK(m.cpu.s.gpr[RSI] == 0x5151);
  // TSS A holds A's state from the first switch: EIP after the JMP.
  CHECK(m.get32(TSS_A + 0x20) == m.get32(SLOTS));
  CHECK(m.get32(TSS_A + 0x28) == 0x11111111);  // EAX
  CHECK(m.get16(TSS_A + 0x4c) == 0x08);        // CS
  // TSS B holds B's state from the second: EIP after ITS JMP, ECX.
  CHECK(m.get32(TSS_B + 0x20) == m.get32(SLOTS + 0xc) + 7);
  CHECK(m.get32(TSS_B + 0x2c) == 0x22222222);
  CHECK(m.get16(TSS_B) == 0);  // JMP writes no link
  // Busy bits: A busy again, B available; TR = A; CR0.TS set.
  CHECK(m.access(SEL_A) == 0x8b);
  CHECK(m.access(SEL_B) == 0x89);
  CHECK(m.cpu.s.tr.sel == SEL_A);
  CHECK((m.cpu.s.cr0 & cr0::TS));
}

TEST_CASE("CALL through a task gate nests: link, NT, both busy; IRET returns and clears", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x61000, task_b, 0x9e000\n"
      " mov ebx, 0xb0b0\n"
      " call 0x28:0\n"
      " pushfd\n pop eax\n mov [0x81010], eax\n mov [0x81014], ebx\n hlt\n"
      "task_b:\n pushfd\n pop eax\n mov [0x81000], eax\n movzx eax, word [0x61000]\n mov [0x81004], eax\n"
      " mov al, [gdt + 0x18 + 5]\n mov [0x81008], al\n mov al, [gdt + 0x20 + 5]\n mov [0x81009], al\n"
      " mov ebx, 0x7777\n iretd\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK((m.get32(SLOTS) & NT));              // B runs nested
  CHECK(m.get32(SLOTS + 4) == SEL_A);        // previous-task link = A
  CHECK(m.get8(SLOTS + 8) == 0x8b);          // A stays busy ...
  CHECK(m.get8(SLOTS + 9) == 0x8b);          // ... and B is busy
  CHECK(!(m.get32(SLOTS + 0x10) & NT));      // A's own NT
  CHECK(m.get32(SLOTS + 0x14) == 0xb0b0);    // A's EBX restored
  CHECK(m.access(SEL_B) == 0x89);            // IRET freed B
  CHECK(m.access(SEL_A) == 0x8b);
  CHECK(!(m.get32(TSS_B + 0x24) & NT));      // IRET saved B's EFLAGS with NT = 0
  CHECK(m.get32(TSS_B + 0x34) == 0x7777);    // B's EBX saved by IRET
  CHECK(m.cpu.s.tr.sel == SEL_A);
}

TEST_CASE("#GP through an IDT task gate: error code on the new stack, EIP of the fault saved", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x63000, task_d, 0x9d000\n"
      " mov dword [idt + 13*8], 0x00400000\n mov dword [idt + 13*8 + 4], 0x00008500\n"
      " mov dword [0x81000], fault\n mov ax, 0x1238\n"
      "fault: mov ds, ax\n hlt\n"
      "task_d:\n pop eax\n mov [0x81004], eax\n mov [0x81008], esp\n pushfd\n pop eax\n"
      " mov [0x8100c], eax\n movzx eax, word [0x63000]\n mov [0x81010], eax\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.get32(SLOTS + 4) == 0x1238);       // #GP(selector) pushed on D's stack
  CHECK(m.get32(SLOTS + 8) == 0x9d000);      // popped: ESP back to D's initial ESP
  CHECK((m.get32(SLOTS + 0xc) & NT));        // an exception nests like CALL
  CHECK(m.get32(SLOTS + 0x10) == SEL_A);
  CHECK(m.get32(TSS_A + 0x20) == m.get32(SLOTS));   // fault: EIP of MOV DS
  CHECK((m.get32(TSS_A + 0x24) & RF));              // the image a fault pushes
  CHECK(m.access(SEL_A) == 0x8b);
  CHECK(m.access(SEL_D) == 0x8b);
  CHECK(m.cpu.s.tr.sel == SEL_D);
}

TEST_CASE("CALL to a 16-bit TSS and IRET back", "[task]") {
  ProtMachine m(
      " mov word [0x6200e], task_c - 0x10000\n mov word [0x62010], 2\n mov word [0x6201a], 0x8000\n"
      " mov word [0x62022], 0x68\n mov word [0x62024], 0x38\n mov word [0x62026], 0x68\n"
      " mov word [0x62028], 0x68\n mov word [0x6202a], 0\n"
      " mov eax, 0xaaaa5555\n"
      " call 0x30:0\n"
      " mov [0x81000], eax\n hlt\n"
      "bits 16\n"
      "task_c:\n mov ax, 0x1234\n mov di, 0x4321\n pushf\n pop bx\n iret\n"
      "bits 32\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.get32(SLOTS) == 0xaaaa5555);      // A's EAX restored after IRET
  CHECK(m.get16(TSS_C + 0x12) == 0x1234);   // C's AX saved by the IRET switch
  CHECK(m.get16(TSS_C + 0x20) == 0x4321);   // DI
  CHECK((m.get16(TSS_C + 0x18) & NT));      // BX = FLAGS inside C: nested
  CHECK(!(m.get16(TSS_C + 0x10) & NT));     // saved FLAGS: NT cleared by IRET
  CHECK(m.get16(TSS_C) == SEL_A);           // link
  CHECK(m.get16(TSS_C + 0x24) == 0x38);     // CS saved
  CHECK(m.access(SEL_C) == 0x81);           // 16-bit TSS available again
  CHECK(m.cpu.s.tr.sel == SEL_A);
}

TEST_CASE("checks before the switch fault in the old task", "[task]") {
  struct Case {
    const char* what;
    std::string code;
    uint32_t vector, error;
  };
  const Case cases[] = {
      {"JMP to the busy current TSS", " jmp 0x18:0\n", vec::GP, SEL_A},
      {"TSS selector with RPL above its DPL", " mov byte [gdt + 0x60 + 5], 0x89\n jmp 0x63:0\n", vec::GP,
       SEL_E},
      {"task gate DPL below RPL", " call 0x2b:0\n", vec::GP, GATE_B},
      {"TSS limit below 67h", " mov byte [gdt + 0x60], 0x50\n jmp 0x60:0\n", vec::TS, SEL_E},
      {"TSS not present", " mov byte [gdt + 0x60 + 5], 0x09\n jmp 0x60:0\n", vec::NP, SEL_E},
      {"task gate naming a busy TSS", " mov word [gdt + 0x28 + 2], 0x18\n jmp 0x28:0\n", vec::GP,
       SEL_A},
      {"IRET with NT and a link to an available TSS",
       " mov word [0x60000], 0x20\n pushfd\n or dword [esp], 0x4000\n popfd\n iretd\n", vec::TS, SEL_B},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ProtMachine m(c.code + " hlt\n");
    REQUIRE(m.run() == StopReason::Hlt);
    REQUIRE(m.count() == 1);
    const Entry32 e = m.entry(0);
    CHECK(e.vector == c.vector);
    CHECK(e.error == c.error);
    CHECK(e.tr == SEL_A);  // still the old task
    CHECK(!(m.cpu.s.cr0 & cr0::TS));
  }
}

TEST_CASE("checks after the commit point fault in the new task", "[task]") {
  struct Case {
    const char* what;
    const char* patch;  // applied to TSS E after INIT_TSS32
    uint32_t vector, error;
  };
  const Case cases[] = {
      {"DS names an LDT descriptor", " mov word [0x65054], 0x48\n", vec::TS, 0x48},
      {"ES names execute-only code", " mov byte [gdt + 0x50 + 5], 0x98\n mov word [0x65048], 0x50\n",
       vec::TS, 0x50},
      {"FS not present", " mov byte [gdt + 0x58 + 5], 0x73\n mov word [0x65058], 0x5b\n", vec::NP, 0x58},
      {"GS DPL 0 with RPL 3", " mov word [0x6505c], 0x13\n", vec::TS, 0x10},
      {"LDT selector names a TSS", " mov word [0x65060], 0x40\n", vec::TS, 0x40},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ProtMachine m(std::string(" INIT_TSS32 0x65000, task_e, 0x9c000\n") + c.patch +
                  " jmp 0x60:0\n hlt\ntask_e: hlt\n");
    REQUIRE(m.run() == StopReason::Hlt);
    REQUIRE(m.count() == 1);
    const Entry32 e = m.entry(0);
    CHECK(e.vector == c.vector);
    CHECK(e.error == c.error);
    CHECK(e.tr == SEL_E);                    // in the context of the new task
    CHECK(m.access(SEL_E) == 0x8b);          // which is busy
    CHECK(m.access(SEL_A) == 0x89);          // and the old one was released
    CHECK((m.cpu.s.cr0 & cr0::TS));
  }
}

TEST_CASE("a new task whose EIP is beyond CS's limit: #GP(0) in the new task", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x65000, 0, 0x9c000\n mov dword [0x65020], 0x10000\n"
      " mov dword [0x6504c], 0x38\n jmp 0x60:0\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() >= 1);
  CHECK(m.entry(0).vector == vec::GP);
  CHECK(m.entry(0).error == 0);
  CHECK(m.entry(0).tr == SEL_E);
}

TEST_CASE("the T bit raises #DB with DR6.BT before the new task's first instruction", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x61000, task_b, 0x9e000\n mov word [0x61064], 1\n"
      " mov eax, 0x455\n mov dr7, eax\n"
      " jmp 0x20:0\n"
      "task_b:\n mov eax, dr7\n mov [0x81000], eax\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  const Entry32 e = m.entry(0);
  CHECK(e.vector == vec::DB);
  CHECK((e.dr6 & (1u << 15)));  // BT
  CHECK(e.tr == SEL_B);
  CHECK(e.eip == m.get32(TSS_B + 0x20));  // task_b: B's TSS was not saved since
  // The local enables L0-L3 were cleared by the switch; G bits stay.
  CHECK(m.get32(SLOTS) == 0x400);
}

TEST_CASE("IA-32e mode: TSS and task-gate transfers are #GP", "[task]") {
  // A 16-byte available 64-bit TSS descriptor at GDT 0x20, and a far JMP to it.
  LongMachine j(
      " mov rax, 0x0000890000000067\n mov [0x520], rax\n mov qword [0x528], 0\n"
      " sub rsp, 16\n mov word [rsp], 0x2f\n mov qword [rsp+2], 0x500\n lgdt [rsp]\n add rsp, 16\n"
      " mov qword [0x81000], 0\n mov word [0x81008], 0x20\n jmp far [0x81000]\n hlt\n");  // m16:64
  REQUIRE(j.run() == StopReason::Hlt);
  REQUIRE(j.count() == 1);
  CHECK(j.entry(0).vector == vec::GP);
  CHECK(j.entry(0).error == 0x20);
  // A task gate in the 64-bit IDT is not a valid gate: INT 0x40 through
  // it is #GP(0x40 * 8 + 2) (SDM 6.14.1).
  LongMachine g(" mov rax, idt + 0x40 * 16\n mov byte [rax + 5], 0x85\n int 0x40\n hlt\n");
  REQUIRE(g.run() == StopReason::Hlt);
  REQUIRE(g.count() == 1);
  CHECK(g.entry(0).vector == vec::GP);
  CHECK(g.entry(0).error == 0x40 * 8 + 2);
  // IRETQ with NT = 1: #GP(0).
  LongMachine i(" pushfq\n or qword [rsp], 0x4000\n popfq\n iretq\n hlt\n");
  REQUIRE(i.run() == StopReason::Hlt);
  REQUIRE(i.count() == 1);
  CHECK(i.entry(0).vector == vec::GP);
  CHECK(i.entry(0).error == 0);
}

TEST_CASE("#DF through an IDT task gate: a fault delivering #GP switches to the #DF task", "[task]") {
  // #GP's gate is not present: #NP while delivering #GP, a contributory
  // pair, so #DF (error code 0) through the task gate at vector 8.
  ProtMachine m(
      " INIT_TSS32 0x63000, task_d, 0x9d000\n"
      " mov dword [idt + 8*8], 0x00400000\n mov dword [idt + 8*8 + 4], 0x00008500\n"
      " and byte [idt + 13*8 + 5], 0x7f\n"
      " mov dword [0x81000], fault\n mov ax, 0x1238\n"
      "fault: mov ds, ax\n hlt\n"
      "task_d:\n pop eax\n mov [0x81004], eax\n mov [0x81008], esp\n"
      " movzx eax, word [0x63000]\n mov [0x8100c], eax\n hlt\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.get32(SLOTS + 4) == 0);            // #DF's error code
  CHECK(m.get32(SLOTS + 8) == 0x9d000);
  CHECK(m.get32(SLOTS + 0xc) == SEL_A);
  CHECK(m.get32(TSS_A + 0x20) == m.get32(SLOTS));  // the faulting MOV
  CHECK(m.cpu.s.tr.sel == SEL_D);
}

namespace {
struct Intr : Cpu::InterruptSource {
  Cpu* cpu = nullptr;
  uint8_t intr_acknowledge() override {
    cpu->intr_line = false;
    return 0x20;
  }
};
}  // namespace

TEST_CASE("an external interrupt through a task gate nests; IRET resumes the interrupted task", "[task]") {
  ProtMachine m(
      " INIT_TSS32 0x61000, task_b, 0x9e000\n"
      " mov dword [idt + 0x20*8], 0x00200000\n mov dword [idt + 0x20*8 + 4], 0x00008500\n"
      " mov dword [0x81000], after_out\n mov ebx, 0x1234\n sti\n out 0x99, al\n"
      "after_out: mov [0x81010], ebx\n cli\n hlt\n"
      "task_b:\n pushfd\n pop eax\n mov [0x81004], eax\n movzx eax, word [0x61000]\n mov [0x81008], eax\n"
      " mov ebx, 0x9999\n iretd\n jmp task_b\n");
  Intr intr;
  intr.cpu = &m.cpu;
  m.cpu.intr_source = &intr;
  m.cpu.io_write = [&](uint16_t port, unsigned, uint64_t) {
    if (port == 0x99) m.cpu.intr_line = true;
  };
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK((m.get32(SLOTS + 4) & NT));
  CHECK(m.get32(SLOTS + 8) == SEL_A);
  CHECK(m.get32(TSS_A + 0x20) == m.get32(SLOTS));  // interrupted after OUT
  CHECK(m.get32(SLOTS + 0x10) == 0x1234);          // A's EBX, restored
  CHECK(m.access(SEL_B) == 0x89);
  CHECK(m.cpu.s.tr.sel == SEL_A);
}

TEST_CASE("a task switch loads CR3 from the new 32-bit TSS when paging is on", "[task]") {
  // Two page directories of 4-MiB pages: both map 0-4 MiB to itself; A's
  // maps 4 MiB to 4 MiB, B's to 8 MiB. TSS A's CR3 (a static field, read
  // when A is switched back in) is A's directory.
  ProtMachine m(
      " mov dword [0x400000], 0xaaaa\n mov dword [0x800000], 0xbbbb\n"
      " mov dword [0x70000], 0x83\n mov dword [0x70004], 0x400083\n"
      " mov dword [0x71000], 0x83\n mov dword [0x71004], 0x800083\n"
      " mov eax, cr4\n or eax, 0x10\n mov cr4, eax\n mov eax, 0x70000\n mov cr3, eax\n"
      " mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n"
      " INIT_TSS32 0x61000, task_b, 0x9e000\n mov dword [0x6101c], 0x71000\n"
      " mov dword [0x6001c], 0x70000\n"
      " call 0x20:0\n mov eax, [0x400000]\n mov [0x81004], eax\n hlt\n"
      "task_b:\n mov eax, [0x400000]\n mov [0x81000], eax\n mov eax, cr3\n mov [0x81008], eax\n iretd\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.get32(SLOTS) == 0xbbbb);        // B sees its own mapping
  CHECK(m.get32(SLOTS + 8) == 0x71000);
  CHECK(m.get32(SLOTS + 4) == 0xaaaa);    // A's again after IRET
  CHECK(m.cpu.s.cr3 == 0x70000);
}

TEST_CASE("a switch to a task with EFLAGS.VM = 1 enters virtual-8086 mode", "[task]") {
  // Task E runs 8086 code at 1000:xxxx; its HLT is #GP(0) at CPL 3, taken
  // on E's ring-0 stack (TSS E's SS0:ESP0). (The logging stub addresses
  // its log through SS: delivery from virtual-8086 mode nulls DS.)
  ProtMachine m(
      " INIT_TSS32 0x65000, 0, 0x9c000\n"
      " mov dword [0x65020], v86_code - 0x10000\n mov dword [0x65024], 0x20002\n"
      " mov dword [0x65038], 0xfff0\n"
      " mov dword [0x65048], 0x2000\n mov dword [0x6504c], 0x1000\n mov dword [0x65050], 0x3000\n"
      " mov dword [0x65054], 0x2000\n mov dword [0x65058], 0\n mov dword [0x6505c], 0\n"
      " mov dword [0x65004], 0x9b000\n mov dword [0x65008], 0x10\n"
      " jmp 0x60:0\n"
      "bits 16\n"
      "v86_code: mov ax, 0x1234\n mov dword [0x1000], esp\n hlt\n"
      "bits 32\n");
  const StopReason stop = m.run();
  INFO(m.cpu.stop_detail);
  REQUIRE(stop == StopReason::Hlt);
  REQUIRE(m.count() == 1);
  const Entry32 e = m.entry(0);
  CHECK(e.vector == vec::GP);
  CHECK(e.error == 0);
  CHECK(e.tr == SEL_E);
  CHECK(e.cs == 0x1000);
  CHECK((e.eflags & (1u << 17)));  // VM in the image
  CHECK(m.get32(0x20000 + 0x1000) == 0xfff0);   // DS = 2000h: [1000h] = the task's ESP
}

TEST_CASE("a task whose segments come from its own LDT", "[task]") {
  // LDT at 0x64000 (GDT 0x48): 0x0c code32 DPL0, 0x14 data DPL0, both
  // with the accessed bit clear.
  ProtMachine m(
      " mov dword [0x64008], 0x0000ffff\n mov dword [0x6400c], 0x00cf9a00\n"
      " mov dword [0x64010], 0x0000ffff\n mov dword [0x64014], 0x00cf9200\n"
      " INIT_TSS32 0x65000, task_e, 0x9c000\n"
      " mov dword [0x65048], 0x14\n mov dword [0x6504c], 0x0c\n mov dword [0x65050], 0x14\n"
      " mov dword [0x65054], 0x14\n mov dword [0x65058], 0x14\n mov dword [0x6505c], 0x14\n"
      " mov dword [0x65060], 0x48\n"
      " call 0x60:0\n hlt\n"
      "task_e:\n sldt [0x81000]\n mov [0x81004], cs\n mov [0x81008], ss\n push 0x77\n pop eax\n"
      " mov [0x8100c], eax\n iretd\n");
  REQUIRE(m.run() == StopReason::Hlt);
  CHECK(m.count() == 0);
  CHECK(m.get16(SLOTS) == 0x48);
  CHECK(m.get16(SLOTS + 4) == 0x0c);
  CHECK(m.get16(SLOTS + 8) == 0x14);
  CHECK(m.get32(SLOTS + 0xc) == 0x77);
  CHECK(m.cpu.s.ldtr.sel == 0);           // A's LDT (null) again after IRET
  CHECK((m.cpu.s.ldtr.attr & ar::UNUSABLE));
  CHECK((m.get8(0x64008 + 5) & 1));  // accessed bits set by the loads
  CHECK((m.get8(0x64010 + 5) & 1));
}

TEST_CASE("TF in the old task: the single-step trap after a task switch follows the new task's TF",
          "[task]") {
  // JMP to B with TF = 1 in A; B's EFLAGS has TF = 0: no #DB in B. Then
  // B (TF set in its TSS image) JMPs back: the first instruction of A
  // after the switch traps since A's saved EFLAGS has TF.
  ProtMachine m(
      " INIT_TSS32 0x61000, task_b, 0x9e000\n"
      " pushfd\n or dword [esp], 0x100\n popfd\n"
      " jmp 0x20:0\n"
      " nop\n pushfd\n and dword [esp], ~0x100\n popfd\n hlt\n"
      "task_b:\n inc esi\n jmp 0x18:0\n");
  REQUIRE(m.run() == StopReason::Hlt);
  REQUIRE(m.count() >= 1);
  const Entry32 first = m.entry(0);
  CHECK(first.vector == vec::DB);
  CHECK(first.tr == SEL_A);  // never in B
}
