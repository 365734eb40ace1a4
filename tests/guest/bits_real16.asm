; Bit instructions in real mode with 16-bit operands (SDM Vol. 2 BT/BTS/
; BTR/BTC, BSF/BSR, POPCNT, LZCNT, TZCNT; the VEX-encoded BMI instructions
; do not exist in real mode, SDM 2.3.5). Results and flags at
; offset 0x400 (linear 0x10400).
; kvm: skip the PVM-based host KVM runs CPL0 code through its instruction emulator, which has no POPCNT or LZCNT/TZCNT
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=14000100008000000100010000000100060000000900000004000000080000000800000010000100
; expect-mem: 0x10480=008000001000
bits 16
org 0

%macro STEP 3                   ; slot, result register, flags mask
    pushf
    mov [res + 4 * %1], %2
    pop ax
    and ax, %3
    mov [res + 4 * %1 + 2], ax
%endmacro

    ; BT m16, r16 = 20: the word at arr + 2 * (20 >> 4) = arr + 2, bit 4 of
    ; 0x0010 -> CF = 1.
    mov bx, 20
    bt [arr], bx
    STEP 0, bx, 0x001
    ; BTS m16, r16 = -1: the word at arr - 2 (`pre` = 0x0000), bit 15 -> 0x8000,
    ; CF = 0.
    mov bx, -1
    bts [arr], bx
    mov bx, [arr - 2]
    STEP 1, bx, 0x001
    ; BTC r16, imm8 = 18: modulo 16 -> bit 2 of 0x0005 -> 0x0001, CF = 1.
    mov bx, 5
    btc bx, 18
    STEP 2, bx, 0x001
    ; BTR m16, imm8 = 0 on the word at arr (0x0001) -> 0, CF = 1.
    btr word [arr], 0
    mov bx, [arr]
    STEP 3, bx, 0x001
    ; BSF / BSR of 0x0240: 6 and 9; ZF = 0.
    mov cx, 0x0240
    bsf bx, cx
    STEP 4, bx, 0x040
    bsr bx, cx
    STEP 5, bx, 0x040
    ; POPCNT of 0x8421 = 4; flags clear.
    mov cx, 0x8421
    popcnt bx, cx
    STEP 6, bx, 0x8d5
    ; LZCNT r16 of 0x00ff = 8; TZCNT r16 of 0x0100 = 8; CF = ZF = 0.
    mov cx, 0x00ff
    lzcnt bx, cx
    STEP 7, bx, 0x041
    mov cx, 0x0100
    tzcnt bx, cx
    STEP 8, bx, 0x041
    ; TZCNT r16 of 0 = 16 with CF = 1.
    xor cx, cx
    tzcnt bx, cx
    STEP 9, bx, 0x041
    hlt

    times 0x400-($-$$) db 0
res: times 40 db 0xee
    times 0x480-($-$$) db 0
pre: dw 0                               ; offset 0x480
arr: dw 0x0001, 0x0010                  ; offset 0x482
