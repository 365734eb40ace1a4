; Integer arithmetic and logic with their flags in 32-bit protected mode
; (SDM Vol. 2 ADD, ADC, SUB, SBB, AND, OR, XOR, CMP, INC, DEC, NEG, NOT).
; Each step stores its result (dword) and its flags (word, masked to the
; flags the SDM defines: 0x8d5, or 0x8c5 where AF is undefined) into the
; `res` table at 0x10400: 6 bytes per step.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=0000008094080000000055007f0000001008ffff00009500000f000f0400010000808000000000004400050000009100000000005500ffffff7f1408fbffffff9100ff00ff004400
bits 32
org 0x10000

%macro STEP 3                   ; slot, result register, flags mask
    pushfd
    mov [res + 6 * %1], %2
    pop eax
    and eax, %3
    mov [res + 6 * %1 + 4], ax
%endmacro

    ; ADD: 0x7fffffff + 1 = 0x80000000: signed overflow (OF), SF, AF (f+1
    ; carries out of bit 3), low byte 00 -> PF. -> 0x894
    mov ebx, 0x7fffffff
    add ebx, 1
    STEP 0, ebx, 0x8d5
    ; ADC: 0xffffffff + 0 + CF = 0 with carry: CF ZF AF PF. -> 0x55
    mov ebx, -1
    stc
    adc ebx, 0
    STEP 1, ebx, 0x8d5
    ; SUB byte: 0x80 - 1 = 0x7f (the rest of EBX stays 0): OF, AF; 0x7f has
    ; 7 ones -> PF = 0. -> 0x810
    mov ebx, 0x80
    sub bl, 1
    STEP 2, ebx, 0x8d5
    ; SBB word: 5 - 5 - CF = 0xffff: CF SF AF, 0xff even parity. -> 0x95
    mov ebx, 5
    stc
    sbb bx, 5
    STEP 3, ebx, 0x8d5
    ; AND: 0xff00ff00 & 0x0ff00ff0 = 0x0f000f00; PF (low byte 00); AF
    ; undefined. -> 0x04
    mov ebx, 0xff00ff00
    and ebx, 0x0ff00ff0
    STEP 4, ebx, 0x8c5
    ; OR: 0x80000000 | 1 = 0x80000001: SF; 01 has odd parity. -> 0x80
    mov ebx, 0x80000000
    or ebx, 1
    STEP 5, ebx, 0x8c5
    ; XOR r, r = 0: ZF PF. -> 0x44
    xor ebx, ebx
    STEP 6, ebx, 0x8c5
    ; CMP 5, 7 (result discarded; EBX = 5): 5 - 7 = 0xfffffffe: CF SF AF,
    ; 0xfe has 7 ones. -> 0x91
    mov ebx, 5
    cmp ebx, 7
    STEP 7, ebx, 0x8d5
    ; INC keeps CF (1 from STC): -1 + 1 = 0: ZF PF AF. -> 0x55
    mov ebx, -1
    stc
    inc ebx
    STEP 8, ebx, 0x8d5
    ; DEC keeps CF (0): 0x80000000 - 1 = 0x7fffffff: OF AF PF. -> 0x814
    mov ebx, 0x80000000
    clc
    dec ebx
    STEP 9, ebx, 0x8d5
    ; NEG 5 = 0xfffffffb: CF (source != 0), SF, AF; 0xfb has 7 ones. -> 0x91
    mov ebx, 5
    neg ebx
    STEP 10, ebx, 0x8d5
    ; NOT changes no flag: they stay those of CMP 0, 0 (ZF PF). -> 0x44
    mov ebx, 0xff00ff00
    mov eax, 0
    cmp eax, eax
    not ebx
    STEP 11, ebx, 0x8d5
    hlt

    times 0x400-($-$$) db 0
res: times 6 * 12 db 0xee

