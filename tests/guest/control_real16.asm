; Control flow in real mode (SDM Vol. 2 Jcc rel8/rel16, JMP, CALL/RET near
; and far within the same code segment, RET imm16, LOOP/LOOPcc, JCXZ,
; JECXZ). The far call's target segment is read from CS at run time, so
; it is valid for any load address.
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect: rax=0x66aa rbx=0x9a96 rcx=0 rdx=5 rsi=3 rdi=2 rbp=0x1e
bits 16
org 0

%macro JT 2                     ; condition, register
    j%1 %%taken
    shl %2, 1
    jmp %%done
%%taken:
    shl %2, 1
    inc %2
%%done:
%endmacro

    ; SHL/INC change the flags, so each of the 16 tests first reloads the
    ; state with POPF (and keeps a copy on the stack with PUSHF).
%macro CC_ALL 2                 ; flags state, register
    push word %1
%assign i 0
%rep 16
    popf
    pushf
%if i == 0
    JT o, %2
%elif i == 1
    JT no, %2
%elif i == 2
    JT b, %2
%elif i == 3
    JT ae, %2
%elif i == 4
    JT e, %2
%elif i == 5
    JT ne, %2
%elif i == 6
    JT be, %2
%elif i == 7
    JT a, %2
%elif i == 8
    JT s, %2
%elif i == 9
    JT ns, %2
%elif i == 10
    JT p, %2
%elif i == 11
    JT np, %2
%elif i == 12
    JT l, %2
%elif i == 13
    JT ge, %2
%elif i == 14
    JT le, %2
%else
    JT g, %2
%endif
%assign i i+1
%endrep
    popf
%endmacro

    ; State A: CF PF SF: taken NO B NE BE S P L LE -> 0x66aa.
    xor ax, ax
    CC_ALL 0x87, ax
    ; State B: OF SF ZF: taken O AE E BE S NP GE LE -> 0x9a96.
    xor bx, bx
    CC_ALL 0x8c2, bx
    ; LOOP, LOOPNE, LOOPE as in the other modes.
    mov cx, 5
    xor dx, dx
.l1:
    inc dx
    loop .l1
    mov cx, 10
    xor si, si
.l2:
    inc si
    cmp si, 3
    loopne .l2
    mov cx, 10
    xor di, di
.l3:
    inc di
    cmp di, 1
    loope .l3
    ; JCXZ tests CX, JECXZ (67) ECX: ECX = 0x10000.
    mov ecx, 0x10000
    jcxz .ok1
    hlt
.ok1:
    jecxz .bad
    ; Far CALL to this segment (push CS, push IP), RETF; near CALL/RET imm16.
    xor bp, bp
    mov [fptr + 2], cs
    call far [fptr]                   ; f_far: BP += 10
    push word 20
    call near f_add_arg               ; BP += 20, RET 2
    xor ecx, ecx
    jmp .done
.bad:
    hlt
.done:
    hlt

f_far:
    add bp, 10
    retf
f_add_arg:
    mov si, sp
    add bp, [si + 2]
    mov si, 3
    ret 2

fptr: dw f_far, 0                     ; segment filled in from CS
