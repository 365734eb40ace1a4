; Shifts and rotates in real mode (SDM Vol. 2 SHL/SAL/SHR/SAR, ROL/ROR,
; RCL/RCR, SHLD/SHRD) on 8- and 16-bit operands; counts are masked to 5
; bits, RCL/RCR on a word rotate modulo 17. Each step stores the result
; (word) and the flags (word) the SDM defines: CF SF ZF PF (0x0c5) for
; shifts, plus OF for 1-bit counts; CF (plus OF for 1-bit counts) for
; rotates. Results at offset 0x400 (linear 0x10400).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=0080840802f080000812010041230100cdab0100010001084a23010012cd840080000108
bits 16
org 0

%macro STEP 3                   ; slot, result register, flags mask
    pushf
    mov [res + 4 * %1], %2
    pop ax
    and ax, %3
    mov [res + 4 * %1 + 2], ax
%endmacro

    ; SHL by 1: 0x4000 -> 0x8000: CF 0, OF = MSB XOR CF = 1, SF, PF. -> 0x884
    mov bx, 0x4000
    shl bx, 1
    STEP 0, bx, 0x8c5
    ; SAR by CL = 3: 0x8010 -> 0xf002, CF = bit 2 = 0; SF; PF: 0x02 odd.
    ; -> 0x080
    mov bx, 0x8010
    mov cl, 3
    sar bx, cl
    STEP 1, bx, 0x0c5
    ; SHR byte by 4: 0x8f -> 0x08 (BH 0x12 kept), CF = bit 3 = 1. -> 0x001
    mov bx, 0x128f
    shr bl, 4
    STEP 2, bx, 0x0c5
    ; ROL word by 20 (masked to 20, modulo 16 = 4 for ROL): 0x1234 -> 0x2341,
    ; CF = bit 0 = 1. -> 0x001
    mov bx, 0x1234
    mov cl, 20
    rol bx, cl
    STEP 3, bx, 0x001
    ; RCR word by 17 with CF = 1: a full rotation through CF: unchanged,
    ; CF stays 1. -> 0x001
    mov bx, 0xabcd
    stc
    mov cl, 17
    rcr bx, cl
    STEP 4, bx, 0x001
    ; RCL byte by 1 with CF = 1: 0x80 -> 0x01, CF = 1, OF = MSB XOR CF = 0
    ; XOR 1 = 1. -> 0x801
    mov bx, 0x0080
    stc
    rcl bl, 1
    STEP 5, bx, 0x801
    ; SHLD r16 by 4: 0x1234, source 0xabcd -> 0x234a, CF = bit 12 = 1; SF 0;
    ; PF: 0x4a has 3 ones -> 0. -> 0x001
    mov bx, 0x1234
    mov dx, 0xabcd
    shld bx, dx, 4
    STEP 6, bx, 0x0c5
    ; SHRD r16 by 8: 0x1234, source 0xabcd -> 0xcd12, CF = bit 7 = 0; SF;
    ; PF: 0x12 has two ones -> 1. -> 0x084
    mov bx, 0x1234
    shrd bx, dx, 8
    STEP 7, bx, 0x0c5
    ; ROR byte by 1: 0x01 -> 0x80, CF = 1, OF = XOR of the two MSBs = 1.
    mov bx, 0x0001
    ror bl, 1
    STEP 8, bx, 0x801
    hlt

    times 0x400-($-$$) db 0
res: times 36 db 0xee
