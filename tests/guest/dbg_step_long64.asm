; expect-mode: long64
; native: skip privileged code (IDT, debug registers) cannot run as a host user process
; expect: r8=0x6 r9=0x1 r10=0x1 r11=0xffff0ff0 r12=0x400 r13=0xffff0ff1 r14=0xffff4ff0 exit=hlt
;
; Single-step and instruction breakpoints in 64-bit mode (SDM Vol. 3B
; 17.3.1.1, 17.3.1.4): single-step traps after each instruction up to and
; including the POPFQ that clears TF, none after the POPFQ that sets it;
; an instruction breakpoint on DR0 (a fault before the instruction, passed
; by setting RF in the image). The #DB handler logs every exception;
; results: R8 = #DB count, R9 = the instruction breakpoint reported the
; breakpoint's RIP, R10 = its DR6 B-bits (B0); R11/R12 = DR6/DR7 at the
; start, their reset values (SDM Table 9-1); R13 = DR6 at the instruction
; breakpoint, R14 = DR6 at the last single-step trap. Host KVM agrees.
bits 64
org 0x10000

%include "dbg_idt.inc"                   ; ADDR, DB_START, DB_IDT

start:
    DB_START
    mov r11, dr6
    mov r12, dr7

    ; Single-step: five traps.
    pushfq
    or qword [rsp], 0x100
    popfq
    nop
    nop
    pushfq                        ; traps after NOP, NOP, PUSHFQ, AND and
    and qword [rsp], ~0x100       ; the POPFQ that clears TF (TF was set
    popfq                         ; when it started)
    mov r14, [last_dr6]           ; DR6 of that last trap: BS

    ; Instruction breakpoint on `target`.
    mov rax, target
    mov dr0, rax
    mov rax, 0x401                ; L0, R/W 00, LEN 00
    mov dr7, rax
target:
    nop
    mov rax, [last_rip]
    mov rbx, target
    xor r9, r9
    cmp rax, rbx
    sete r9b
    mov r10, [last_dr6]
    mov r13, r10
    and r10, 0xf

    xor eax, eax
    mov dr7, rax
    hlt

%include "dbg_db_log.inc"
