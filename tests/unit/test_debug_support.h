// A 64-bit test machine for the debug and task-switch tests: the guest
// program gets an IDT whose stubs log every event (vector, error code,
// pushed RIP and RFLAGS, DR6, RCX, DR7) and then return with IRETQ (#DB
// with RF set in the image so an instruction breakpoint is passed, #BP and
// vectors >= 0x20) or stop with HLT (other exceptions). It runs on the real
// run loop (Cpu::run), where the debug traps are delivered.
#pragma once
#include <catch.hpp>

#include <cstring>
#include <string>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

namespace softvt::test {

constexpr uint64_t LOG = 0x80000;  // count, then 64-byte entries at LOG + 0x40

// Stubs for vectors 0..0x41, a common logging handler and the IDT; the
// test's body follows `start:` with RSP = 0x9f000.
inline std::string log_prelude64() {
  return R"(bits 64
org 0x10000
    jmp start
align 16
stubs:
%assign v 0
%rep 0x42
align 16
  %if v == 8 || (v >= 10 && v <= 14) || v == 17
    push qword v
  %else
    push qword 0
    push qword v
  %endif
    jmp log_event
%assign v v+1
%endrep
log_event:
    push rax
    push rbx
    mov rbx, [0x80000]
    cmp rbx, 15
    jae .stop
    shl rbx, 6
    add rbx, 0x80040
    mov rax, [rsp+16]
    mov [rbx], rax
    mov rax, [rsp+24]
    mov [rbx+8], rax
    mov rax, [rsp+32]
    mov [rbx+16], rax
    mov rax, [rsp+48]
    mov [rbx+24], rax
    mov rax, dr6
    mov [rbx+32], rax
    mov [rbx+40], rcx
    mov rax, dr7
    mov [rbx+48], rax
    inc qword [0x80000]
    cmp qword [rsp+16], 1
    jne .not_db
    or qword [rsp+48], 0x10000
    jmp .back
.not_db:
    cmp qword [rsp+16], 3
    je .back
    cmp qword [rsp+16], 0x20
    jae .back
.stop:
    hlt
    jmp .stop
.back:
    pop rbx
    pop rax
    add rsp, 16
    iretq
align 16
idt:
%assign v 0
%rep 0x42
    dw (stubs + 16*v - $$ + 0x10000) & 0xffff
    dw 0x08
    db 0, 0x8e
    dw ((stubs + 16*v - $$ + 0x10000) >> 16) & 0xffff
    dd 0, 0
%assign v v+1
%endrep
idtr:
    dw 16*0x42 - 1
    dq idt
start:
    lidt [idtr]
    mov rsp, 0x9f000
)";
}

struct LogEntry {
  uint64_t vector, error, rip, rflags, dr6, rcx, dr7;
};

struct LongMachine {
  Memory mem{64 << 20};
  CpuModel model = default_cpu_model();
  Cpu cpu{mem, model};
  BlockCache blocks{model};
  std::vector<uint8_t> image;

  explicit LongMachine(const std::string& body) {
    image = assemble_nasm(log_prelude64() + body);
    cpu.s = setup_flat(mem, image, 0x10000, FlatMode::Long64);
    cpu.blocks = &blocks;
    cpu.update_mode();
  }
  StopReason run(uint64_t n = 100000) { return cpu.run(n); }
  uint64_t get64(uint64_t a) const { uint64_t v; std::memcpy(&v, mem.ram() + a, 8); return v; }
  uint32_t get32(uint64_t a) const { uint32_t v; std::memcpy(&v, mem.ram() + a, 4); return v; }
  uint16_t get16(uint64_t a) const { uint16_t v; std::memcpy(&v, mem.ram() + a, 2); return v; }
  uint64_t count() const { return get64(LOG); }
  LogEntry entry(unsigned i) const {
    const uint64_t a = LOG + 0x40 + 64 * uint64_t(i);
    return LogEntry{get64(a), get64(a + 8), get64(a + 16), get64(a + 24),
                    get64(a + 32), get64(a + 40), get64(a + 48)};
  }
  // The address of a label: the program writes it to `slot` (a test
  // helper idiom: "mov qword [slot], label").
  uint64_t label(uint64_t slot) const { return get64(slot); }
};

}  // namespace softvt::test
