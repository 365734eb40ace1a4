; Shifts and rotates in 32-bit protected mode (SDM Vol. 2 SAL/SAR/SHL/SHR,
; ROL/ROR, RCL/RCR, SHLD/SHRD). Counts are masked to 5 bits (also for 8- and
; 16-bit operands; RCL/RCR on 8/16-bit operands then rotate modulo 9/17).
; Each step stores the result (dword) and the flags (word) the SDM defines
; for it: CF SF ZF PF (0x0c5) for shifts, plus OF (0x800) for 1-bit counts;
; CF (0x001), plus OF for 1-bit counts, for rotates.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=806745230100000000f88400000000004500800000008008412300000100000000800108a50000000100010000000100aa44332205002312d1cd8000000034124500
bits 32
org 0x10000

%macro STEP 3                   ; slot, result register, flags mask
    pushfd
    mov [res + 6 * %1], %2
    pop eax
    and eax, %3
    mov [res + 6 * %1 + 4], ax
%endmacro

    ; SHL by 4: 0x12345678 -> 0x23456780; CF = bit 28 of the source = 1;
    ; SF = 0, PF: 0x80 has one 1 -> 0. -> 0x001
    mov ebx, 0x12345678
    shl ebx, 4
    STEP 0, ebx, 0x0c5
    ; SAR by CL = 36 (masked to 4): 0x80000000 -> 0xf8000000, CF = bit 3 = 0,
    ; SF = 1, PF (low byte 00) = 1. -> 0x084
    mov ebx, 0x80000000
    mov cl, 36
    sar ebx, cl
    STEP 1, ebx, 0x0c5
    ; SHR by 1: 0x00000001 -> 0, CF = 1, OF = MSB of the source = 0, ZF PF.
    ; -> 0x045
    mov ebx, 1
    shr ebx, 1
    STEP 2, ebx, 0x8c5
    ; SAL byte by 1: 0x40 -> 0x80: CF = 0, OF = MSB(result) XOR CF = 1, SF.
    ; -> 0x880
    mov ebx, 0x40
    sal bl, 1
    STEP 3, ebx, 0x8c5
    ; ROL word by 4: 0x1234 -> 0x2341, CF = bit 0 of the result = 1. -> 0x001
    mov ebx, 0x1234
    rol bx, 4
    STEP 4, ebx, 0x001
    ; ROR by 1: 0x00000001 -> 0x80000000, CF = MSB = 1, OF = XOR of the two
    ; MSBs = 1. -> 0x801
    mov ebx, 1
    ror ebx, 1
    STEP 5, ebx, 0x801
    ; RCL byte by 9 (a full 9-bit rotation through CF): unchanged, CF
    ; unchanged (1). -> 0x001
    mov ebx, 0xa5
    stc
    rcl bl, 9
    STEP 6, ebx, 0x001
    ; RCR by 1 with CF = 0: 0x00000003 -> 0x00000001, CF = 1, OF = MSB(dest)
    ; XOR CF before = 0. -> 0x001
    mov ebx, 3
    clc
    rcr ebx, 1
    STEP 7, ebx, 0x801
    ; SHLD by 8: dest 0x11223344, source 0xaabbccdd -> 0x223344aa; CF = last
    ; bit out = bit 24 of the dest = 1; SF 0; PF: 0xaa has 4 ones -> 1.
    ; -> 0x005
    mov ebx, 0x11223344
    mov edx, 0xaabbccdd
    shld ebx, edx, 8
    STEP 8, ebx, 0x0c5
    ; SHRD by CL = 12: dest 0x11223344, source 0xaabbccdd -> 0xcdd11223;
    ; CF = bit 11 of the dest = 0; SF = 1; PF: 0x23 has 3 ones -> 0. -> 0x080
    mov ebx, 0x11223344
    mov cl, 12
    shrd ebx, edx, cl
    STEP 9, ebx, 0x0c5
    ; SHR word by 16: all bits out: 0, CF = bit 15 = 1, ZF PF. -> 0x045
    mov ebx, 0x12348000
    shr bx, 16
    STEP 10, ebx, 0x0c5
    hlt

    times 0x400-($-$$) db 0
res: times 6 * 11 db 0xee
