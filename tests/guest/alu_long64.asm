; Integer arithmetic and logic with their flags in 64-bit mode (SDM Vol. 2
; ADD, ADC, SUB, SBB, AND, OR, XOR, CMP, INC, DEC, NEG, NOT; flag rules in
; Vol. 1 Appendix A). Each result stays in a register; the arithmetic flags
; after each step (masked to OF SF ZF AF PF CF = 0x8d5, or 0x8c5 where the
; SDM leaves AF undefined) are packed 12 bits per step into RBX, RSI, RDI.
; expect-mode: long64
; expect: exit=hlt rip=0x10132 rsp=0x10000
; expect: r8=0x8000000000000000 r9=0 r10=0x1234567890abcd7f r11=0xffff r12=0xf000f00
; expect: r13=0x80000001 r14=0 r15=0 rcx=0x7fffffff rdx=0xfffffffb rbp=0xff00ff00ff00ff00
; expect: rbx=0x894055810095004 rsi=0x80044091055814 rdi=0x91044 rax=0x44
bits 64
org 0x10000

%macro FLAGS 2          ; accumulator, mask
    pushfq
    pop rax
    and eax, %2
    shl %1, 12
    or %1, rax
%endmacro

    ; ADD: 0x7fff...f + 1: signed overflow to 0x8000...0; low nibble f+1
    ; carries (AF); low byte 00 has even parity (PF). -> OF SF AF PF = 0x894
    mov r8, 0x7fffffffffffffff
    add r8, 1
    FLAGS rbx, 0x8d5
    ; ADC: 0xffffffff + 0 + CF(1) = 0 with carry out; 32-bit result zero-
    ; extends into R9. -> CF PF AF ZF = 0x55
    mov r9, -1
    stc
    adc r9d, 0
    FLAGS rbx, 0x8d5
    ; SUB on a byte: 0x80 - 1 = 0x7f: signed overflow (-128 - 1), borrow
    ; from bit 4 (AF), 0x7f has 7 ones (PF=0); upper bytes untouched. -> 0x810
    mov r10, 0x1234567890abcd80
    sub r10b, 1
    FLAGS rbx, 0x8d5
    ; SBB on a word: 5 - 5 - CF(1) = 0xffff: borrow (CF), SF, AF, 0xff even
    ; parity. -> CF PF AF SF = 0x95
    mov r11d, 5
    stc
    sbb r11w, 5
    FLAGS rbx, 0x8d5
    ; AND with a sign-extended imm32 0x0ff00ff0: 0x0f000f00; CF=OF=0, low
    ; byte 00 -> PF. AF undefined (masked). -> 0x4
    mov r12, 0xff00ff00ff00ff00
    and r12, 0x0ff00ff0
    FLAGS rbx, 0x8c5
    ; OR: 0x80000001: SF; low byte 01 has odd parity. -> 0x80
    mov r13d, 0x80000000
    or r13d, 1
    FLAGS rsi, 0x8c5
    ; XOR r, r: 0, ZF PF. -> 0x44
    xor r14, r14
    FLAGS rsi, 0x8c5
    ; CMP 5, 7: 5 - 7 = -2 (0x...fe): borrow CF, SF, AF (5 < 7 in the low
    ; nibble), 0xfe has 7 ones. -> 0x91
    mov eax, 5
    cmp rax, 7
    FLAGS rsi, 0x8d5
    ; INC leaves CF alone: CF=1 from STC; -1 + 1 = 0: ZF PF AF. -> 0x55
    mov r15, -1
    stc
    inc r15
    FLAGS rsi, 0x8d5
    ; DEC leaves CF alone (CLC): 0x80000000 - 1 = 0x7fffffff: OF, AF, 0xff
    ; even parity. -> 0x814
    mov ecx, 0x80000000
    clc
    dec ecx
    FLAGS rsi, 0x8d5
    ; NEG 5 = 0xfffffffb: CF (operand != 0), SF, AF (0 - 5 borrows in the low
    ; nibble), 0xfb has 7 ones. -> 0x91
    mov edx, 5
    neg edx
    FLAGS rdi, 0x8d5
    ; NOT changes no flag: flags stay those of CMP 0, 0 (ZF PF). -> 0x44
    mov rbp, 0x00ff00ff00ff00ff
    mov eax, 0
    cmp eax, eax
    not rbp
    FLAGS rdi, 0x8d5
    hlt
