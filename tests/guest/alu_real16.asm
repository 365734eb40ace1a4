; Integer arithmetic and logic with their flags in real mode (SDM Vol. 2
; ADD, ADC, SUB, SBB, AND, OR, XOR, CMP, INC, DEC, NEG, NOT) with 16-bit
; operands (the default) and some 8- and 32-bit ones. Each step stores its
; result (word, or dword for 32-bit steps) and the flags (word) the SDM
; defines into `res` at offset 0x400 (linear 0x10400).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=00809408000055007f121008ffffffff9500000f04000180800000ff84000500910000005500ff7f1408ffff9500008085080ff04400
; expect-mem: 0x10480=4523
bits 16
org 0

%macro STEP 3                   ; offset in res, result register, flags mask
    pushf
    mov [res + %1], %2
    pop ax
    and ax, %3
%ifidn %2, ebx
    mov [res + %1 + 4], ax
%else
    mov [res + %1 + 2], ax
%endif
%endmacro

    ; ADD 0x7fff + 1 = 0x8000: OF SF AF PF. -> 0x894
    mov bx, 0x7fff
    add bx, 1
    STEP 0, bx, 0x8d5
    ; ADC 0xffff + 0 + CF = 0 with carry: CF ZF AF PF. -> 0x55
    mov bx, 0xffff
    stc
    adc bx, 0
    STEP 4, bx, 0x8d5
    ; SUB byte 0x80 - 1 = 0x7f (BH = 0x12 untouched): OF AF. -> 0x810
    mov bx, 0x1280
    sub bl, 1
    STEP 8, bx, 0x8d5
    ; SBB 32-bit: 5 - 5 - CF = 0xffffffff: CF SF AF PF. -> 0x95
    mov ebx, 5
    stc
    sbb ebx, 5
    STEP 12, ebx, 0x8d5
    ; AND 0xff00 & 0x0ff0 = 0x0f00: PF (low byte 0). -> 0x04
    mov bx, 0xff00
    and bx, 0x0ff0
    STEP 18, bx, 0x8c5
    ; OR 0x8000 | 1: SF; 01 odd parity. -> 0x80
    mov bx, 0x8000
    or bx, 1
    STEP 22, bx, 0x8c5
    ; XOR with a sign-extended imm8: 0x00ff ^ 0xffff = 0xff00: SF PF. -> 0x84
    mov bx, 0x00ff
    xor bx, byte -1
    STEP 26, bx, 0x8c5
    ; CMP 5, 7 (BX stays 5): CF SF AF. -> 0x91
    mov bx, 5
    cmp bx, 7
    STEP 30, bx, 0x8d5
    ; INC keeps CF (1): 0xffff + 1 = 0: ZF PF AF CF. -> 0x55
    mov bx, 0xffff
    stc
    inc bx
    STEP 34, bx, 0x8d5
    ; DEC keeps CF (0): 0x8000 - 1 = 0x7fff: OF AF PF. -> 0x814
    mov bx, 0x8000
    clc
    dec bx
    STEP 38, bx, 0x8d5
    ; NEG 1 = 0xffff: CF SF AF PF. -> 0x95
    mov bx, 1
    neg bx
    STEP 42, bx, 0x8d5
    ; NEG 0x8000 = 0x8000: OF (the most negative value), CF, SF, PF. -> 0x885
    mov bx, 0x8000
    neg bx
    STEP 46, bx, 0x8d5
    ; NOT changes no flag (they stay those of CMP 0, 0: ZF PF). -> 0x44
    mov bx, 0x0ff0
    xor ax, ax
    cmp ax, ax
    not bx
    STEP 50, bx, 0x8d5
    ; ADD to memory with a 16-bit address: [BX + SI + 2].
    mov word [mem], 0x1234
    mov bx, mem - 2
    mov si, 0
    add word [bx + si + 2], 0x1111
    hlt

    times 0x400-($-$$) db 0
res: times 54 db 0xee
    times 0x480-($-$$) db 0
mem: dw 0
