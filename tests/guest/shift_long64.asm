; Shifts and rotates in 64-bit mode (SDM Vol. 2 SAL/SAR/SHL/SHR, ROL/ROR/
; RCL/RCR, SHLD, SHRD). Counts are masked to 6 bits for 64-bit operands and
; to 5 bits otherwise. CF is the last bit shifted out; OF is defined only for
; 1-bit shifts/rotates (the captures use count 1 where OF is kept); AF is
; undefined after a non-zero shift, so shifts are captured under CF|SF|ZF|PF
; (0x0c5, plus OF 0x800 for 1-bit shifts) and rotates under CF (|OF for
; 1-bit rotates), 12 bits per step in RBX/RSI.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0x2468acf120000000 r9=0xf8000000 r10=0x7fffffffffffffff r11=0x2345678123456781
; expect: r12=0x91a2b3c4 r13=0x81 r14=0x300000000 r15=0x8000000000000003
; expect: rcx=0x21 rdx=0 rbp=0xabcd91a2 rdi=0 rax=0
; expect: rbx=0x4084805001 rsi=0x800800001000
bits 64
org 0x10000

%macro FLAGS 2
    pushfq
    pop rax
    and eax, %2
    shl %1, 12
    or %1, rax
%endmacro

    ; SHL r64, imm8: 0x123456789 << 29 = 0x2468acf120000000; the last bit
    ; out is bit 35 of the source (=0) -> CF=0, SF=0, ZF=0, low byte 00 PF.
    ; -> 0x004
    mov r8, 0x123456789
    shl r8, 29
    FLAGS rbx, 0x0c5
    ; SAR r32, CL: 0x80000000 >> 4 (arithmetic) = 0xf8000000; last bit out
    ; is bit 3 (=0); SF=1, low byte 00 -> PF. -> 0x084
    mov r9d, 0x80000000
    mov cl, 4
    sar r9d, cl
    FLAGS rbx, 0x0c5
    ; SHR r64, 1: 0xffff...f >> 1 = 0x7fff...f; CF = bit 0 = 1; OF (1-bit
    ; SHR) = the source's MSB = 1; PF of 0xff = 1. -> 0x805
    mov r10, -1
    shr r10, 1
    FLAGS rbx, 0x8c5
    ; ROL r64, 4: 0x1234567812345678 -> 0x2345678123456781; CF = new bit 0
    ; = 1; OF is undefined for counts > 1 (CF only). -> 0x001
    mov r11, 0x1234567812345678
    rol r11, 4
    FLAGS rbx, 0x001
    ; SHLD r32, r32, 16: dest 0x1234abcd, source 0x91a2b3c4 -> the dest
    ; shifted left with the source's high bits coming in: 0xabcd91a2.
    mov ebp, 0x1234abcd
    mov eax, 0x91a2b3c4
    shld ebp, eax, 16
    ; SHRD with a count of 0: the destination is unchanged.
    mov r12d, 0x91a2b3c4
    xor eax, eax
    shrd r12d, eax, 0
    ; RCL r8, 1 with CF=1: 0x40 << 1 | CF = 0x81; CF = old
    ; bit 7 = 0; OF (1-bit) = MSB(result) XOR CF = 1 XOR 0 = 1. -> 0x800
    mov r13d, 0x40
    stc
    rcl r13b, 1
    FLAGS rsi, 0x801
    ; RCR r64, 1 with CF=1: 6 -> (1 << 63) | 3; CF = old bit 0 = 0; OF
    ; (1-bit RCR) = MSB(dest) XOR CF before the rotate = 0 XOR 1 = 1. -> 0x800
    mov r15d, 6
    stc
    rcr r15, 1
    FLAGS rsi, 0x801
    ; SHL r64 by CL = 64: the count is masked to 6 bits (0): nothing
    ; changes, flags included (CF stays from STC). -> 0x001
    mov r14, 0x0000000300000000
    stc
    mov cl, 64                    ; 64 & 63 = 0
    shl r14, cl
    FLAGS rsi, 0x001
    ; ROR r8, 1: 0x42 -> 0x21, CF = new MSB = 0, OF = XOR of the result's
    ; two MSBs = 0. -> 0x000
    mov ecx, 0x42
    ror cl, 1
    FLAGS rsi, 0x801
    hlt
