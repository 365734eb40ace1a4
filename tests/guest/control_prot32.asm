; Control flow in 32-bit protected mode (SDM Vol. 2 Jcc, JMP, CALL, RET,
; LOOP/LOOPcc, JECXZ/JCXZ). The 16 conditions are evaluated against two
; flag states set through POPFD; each taken branch shifts a 1 into the
; register (LEA keeps the flags), each fall-through a 0.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000 rip=0x101c6
; expect: rax=0x66aa rbx=0x9a96 rcx=0 rdx=0x5 rsi=0x3 rdi=0x2 rbp=0x1e
bits 32
org 0x10000

%include "control_cc.inc"                ; JT, ALL_CC

    ; State A: CF PF SF set, ZF OF clear: NO B NE BE S P L LE taken = 0x66aa.
    xor eax, eax
    push dword 0x87
    popfd
    ALL_CC eax
    ; State B: OF SF ZF set, CF PF clear: O AE E BE S NP GE LE taken = 0x9a96.
    xor ebx, ebx
    push dword 0x8c2
    popfd
    ALL_CC ebx
    ; LOOP: 5 iterations.
    mov ecx, 5
    xor edx, edx
.l1:
    inc edx
    loop .l1
    ; LOOPNE: until the compare is equal (3 rounds).
    mov ecx, 10
    xor esi, esi
.l2:
    inc esi
    cmp esi, 3
    loopne .l2
    ; LOOPE: until the compare is not equal (2 rounds).
    mov ecx, 10
    xor edi, edi
.l3:
    inc edi
    cmp edi, 1
    loope .l3
    ; JECXZ tests ECX; JCXZ (67) only CX: ECX = 0x10000 -> CX = 0.
    mov ecx, 0x10000
    jecxz .bad
    jcxz .ok1
.bad:
    hlt
.ok1:
    ; CALL rel32, CALL r32, CALL [m32], RET imm16.
    xor ebp, ebp
    call f_add1                       ; 1
    mov ecx, f_add2
    call ecx                          ; 3
    call [fptr]                       ; 7
    push dword 10
    push dword 20
    call f_sum2                       ; EBP = 10 + 20 = 30, arguments popped
    xor ecx, ecx
    jmp [jptr]
    hlt                               ; skipped
target:
    hlt                               ; at 0x101c5

f_add1:
    add ebp, 1
    ret
f_add2:
    add ebp, 2
    ret
f_add4:
    add ebp, 4
    ret
f_sum2:                               ; EBP = a + b (replacing the 7), RET 8
    mov ebp, [esp + 4]
    add ebp, [esp + 8]
    ret 8

fptr: dd f_add4
jptr: dd target
