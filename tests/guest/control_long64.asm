; Control flow in 64-bit mode (SDM Vol. 2 Jcc, JMP, CALL, RET, LOOP/LOOPcc,
; JRCXZ/JECXZ). The 16 conditions are evaluated against two flag states set
; through POPF; each taken branch shifts a 1 into R8/R9 (LEA keeps the
; flags intact), each fall-through a 0.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000 rip=0x10229
; expect: r8=0x66aa r9=0x9a96 r10=5 r11=3 r12=2 r13=0x3 r14=0x7 r15=0x1e rbx=0xfff0
bits 64
org 0x10000

%include "control_cc.inc"                ; JT, ALL_CC

    ; State A: CF=1 PF=1 SF=1, ZF=0 OF=0. Taken: NO B NE BE S P L LE
    ; -> 0110 0110 1010 1010 = 0x66aa.
    push 0x87
    popfq
    ALL_CC r8
    ; State B: OF=1 SF=1 ZF=1, CF=0 PF=0. Taken: O AE E BE S NP GE LE
    ; -> 1001 1010 1001 0110 = 0x9a96.
    push 0x8c2
    popfq
    ALL_CC r9
    ; LOOP decrements RCX and branches while it is non-zero: 5 iterations.
    mov ecx, 5
    xor r10d, r10d
.l1:
    inc r10d
    loop .l1
    ; LOOPE continues while RCX != 0 and ZF = 1: the third CMP fails.
    mov ecx, 10
    xor r11d, r11d
.l2:
    inc r11d
    cmp r11d, 3
    loopne .l2                        ; stops when r11 == 3 (ZF = 1): 3 rounds
    ; LOOPE: stops at the first non-equal compare.
    mov ecx, 10
    xor r12d, r12d
.l3:
    inc r12d
    cmp r12d, 1
    loope .l3                         ; round 1 equal -> again; round 2 not: 2
    ; JRCXZ tests all of RCX; JECXZ (67) only ECX.
    mov rcx, 0x100000000
    xor r13d, r13d
    jrcxz .no1                        ; RCX != 0: not taken
    or r13d, 1
.no1:
    jecxz .yes1                       ; ECX == 0: taken
    or r13d, 4
.yes1:
    or r13d, 2                        ; r13 = 3
    ; CALL rel32 / CALL r64 / CALL [m64], RET and RET imm16.
    xor r14d, r14d
    call f_add1                       ; r14 = 1
    lea rax, [rel f_add2]
    call rax                          ; r14 = 3
    call [rel fptr]                   ; r14 = 7 (f_add4)
    push 10
    push 20
    call f_sum2                       ; returns 30 in r15 and pops its arguments
    mov r15, rax
    lea rbx, [rsp - 16]               ; RSP is back at 0x10000 -> 0xfff0
    ; Indirect JMP through memory.
    jmp [rel jptr]
    hlt                               ; skipped
target:
    hlt

f_add1:
    add r14d, 1
    ret
f_add2:
    add r14d, 2
    ret
f_add4:
    add r14d, 4
    ret
f_sum2:                               ; (a, b) on the stack -> RAX = a + b, RET 16
    mov rax, [rsp + 8]
    add rax, [rsp + 16]
    ret 16

fptr: dq f_add4
jptr: dq target
