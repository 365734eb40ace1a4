; expect-mode: long64
; kvm: skip this host's KVM instruction emulator traps right after MOV SS (no deferral), pushes RF = 0 for the general-detect fault and does not trap after each REP iteration; softvt follows the SDM (6.8.3, 17.3.1.1)
; native: skip privileged code (IDT, debug registers) cannot run as a host user process
; expect: r8=0xc r9=0x5 r10=0x1001d r11=0x10020 r12=0xffff2ff0 r13=0x10046 r14=0x10045 r15=0x6 rbx=0x46 exit=hlt
;
; Debug-exception timing in 64-bit mode: single-step across MOV SS (the
; trap after MOV SS is held until the next instruction completes: R9 = 5
; traps in that section, R10/R11 = the RIPs of the first two, MOV SS at
; 1001Dh and the instruction after NOP at 10020h); DR7.GD (a fault before
; MOV from DR0 at 10045h, R14; DR6 = BD, R12; RF = 1 in the pushed RFLAGS,
; R13); single-step of REP MOVSB (a trap after each of its 3 iterations:
; R15 = 6 traps in that section, RBX = the RFLAGS pushed by the last one).
bits 64
org 0x10000
%include "dbg_idt.inc"                   ; ADDR, DB_START, DB_IDT
start:
    DB_START
    ; MOV SS + TF
    pushfq
    or qword [rsp], 0x100
    popfq
    mov ax, ss
    mov ss, ax
    nop
    pushfq
    and qword [rsp], ~0x100
    popfq
    mov r9, r8            ; traps so far
    mov r10, [rip_log]    ; first trap rip
    mov r11, [rip_log+8]  ; second
    ; GD
    mov rax, 0x2400
    mov dr7, rax
gd: mov rax, dr0
    mov r12, [last_dr6]
    mov r13, [last_rflags]
    mov r14, [last_rip]
    ; REP with TF
    mov rsi, 0x70000
    mov rdi, 0x70100
    mov rcx, 3
    xor r15, r15
    mov [count_at], r8
    pushfq
    or qword [rsp], 0x100
    popfq
rp: rep movsb
    pushfq
    and qword [rsp], ~0x100
    popfq
    mov r15, r8
    sub r15, [count_at]
    mov rbx, [last_rflags]
    hlt
db_handler:
    push rax
    push rbx
    mov rbx, r8
    and rbx, 7
    mov rax, [rsp+16]
    mov [rip_log + rbx*8], rax
    mov [last_rip], rax
    mov rax, [rsp+32]
    mov [last_rflags], rax
    mov rax, dr6
    mov [last_dr6], rax
    inc r8
    mov rax, 0xffff0ff0
    mov dr6, rax
    pop rbx
    pop rax
    or qword [rsp+16], 0x10000
    iretq
other:
    mov r8, 0xbad
    hlt
align 8
last_rip:    dq 0
last_rflags: dq 0
last_dr6:    dq 0
count_at:    dq 0
rip_log: times 8 dq 0
DB_IDT db_handler, other
