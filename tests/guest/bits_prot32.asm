; Bit instructions in 32-bit protected mode (SDM Vol. 2 BT/BTS/BTR/BTC,
; BSF/BSR, POPCNT, LZCNT, TZCNT, ANDN, BLSR, PDEP, SHRX). Each step stores a
; result (dword) and the flags (word) the SDM defines for it.
; kvm: skip the PVM-based host KVM runs CPL0 code through its instruction emulator, which has no POPCNT, LZCNT/TZCNT or VEX-encoded BMI
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=6400000001000300000000000100000001000000000001001000000000000800000000001000000000001f00000000001f0000000000200000000100000034120000000030120000000b00000000000000080000
; expect-mem: 0x10500=000000000300000000000000
bits 32
org 0x10000

%macro STEP 3                   ; slot, result register, flags mask
    pushfd
    mov [res + 6 * %1], %2
    pop eax
    and eax, %3
    mov [res + 6 * %1 + 4], ax
%endmacro

    ; BT m32, r32 with offset 100: the dword at arr + 4 * (100 >> 5) = arr+12,
    ; bit 100 & 31 = 4 of 0x10 -> CF = 1.
    mov ebx, 100
    bt [arr], ebx
    STEP 0, ebx, 0x001
    ; BTS m16, imm8 = 17: for a memory operand with an immediate the offset
    ; is taken modulo 16 -> bit 1 of the word at arr (0x0001) -> 0x0003,
    ; CF = old bit = 0.
    bts word [arr], 17
    movzx ebx, word [arr]
    STEP 1, ebx, 0x001
    ; BTR r32, r32 = 33: modulo 32 -> bit 1 of 0x3 -> 0x1, CF = 1.
    mov ebx, 3
    mov ecx, 33
    btr ebx, ecx
    STEP 2, ebx, 0x001
    ; BTC m32, r32 = -8: SAR 5 = -1: the dword at arr - 4 (`pre`
    ; = 0x01000000), bit 24 -> cleared, CF = 1.
    mov ecx, -8
    btc [arr], ecx
    mov ebx, [arr - 4]
    STEP 3, ebx, 0x001
    ; BSR of 0x00010100 = 16, ZF = 0.
    mov ecx, 0x00010100
    bsr ebx, ecx
    STEP 4, ebx, 0x040
    ; BSF r16 of 0x0100 = 8.
    bsf bx, cx
    STEP 5, ebx, 0x040
    ; POPCNT r16 of 0xffff = 16; flags all clear (ZF = 0).
    mov ecx, 0xffff
    popcnt bx, cx
    STEP 6, ebx, 0x8d5
    ; LZCNT of 1 = 31, CF = 0, ZF = 0.
    mov ecx, 1
    lzcnt ebx, ecx
    STEP 7, ebx, 0x041
    ; TZCNT of 0x80000000 = 31.
    mov ecx, 0x80000000
    tzcnt ebx, ecx
    STEP 8, ebx, 0x041
    ; LZCNT of 0 = 32, CF = 1.
    xor ecx, ecx
    lzcnt ebx, ecx
    STEP 9, ebx, 0x041
    ; ANDN: ~0x0000ffff & 0x12345678 = 0x12340000.
    mov ecx, 0x0000ffff
    mov edx, 0x12345678
    andn ebx, ecx, edx
    STEP 10, ebx, 0x8c1
    ; BLSR of 0x12340000 = 0x12300000 (clears bit 18), CF = 0.
    blsr ebx, ebx
    STEP 11, ebx, 0x8c1
    ; PDEP 0b1011 into mask 0xf0000f00: bits 8, 9, 11 set -> 0x00000b00.
    mov ecx, 0xb
    mov edx, 0xf0000f00
    pdep ebx, ecx, edx
    STEP 12, ebx, 0
    ; SHRX by 36 (masked to 4): 0x80000000 -> 0x08000000.
    mov ecx, 0x80000000
    mov edx, 36
    shrx ebx, ecx, edx
    STEP 13, ebx, 0
    hlt

    times 0x400-($-$$) db 0
res: times 6 * 14 db 0xee
    times 0x500-($-$$) db 0
pre: dd 0x01000000                      ; 0x10500
arr: dd 0x0001, 0, 0, 0x10              ; 0x10504
