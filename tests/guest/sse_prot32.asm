; SSE/SSE2 floating point in 32-bit protected mode: the program of
; sse_long64.asm with 32-bit registers and addressing (XMM0-XMM7 only, no
; 64-bit integer conversions): moves, arithmetic, comparisons, logic,
; shuffles and conversions with edge values, rounding modes, DAZ/FTZ and
; the MXCSR flags of the masked responses. Results go to `res` in 16-byte
; slots, in program order.
; expect-mode: prot32
; kvm: skip this host's PVM KVM cannot run it: its instruction emulator fails on LDMXCSR ("instruction emulation failed")
; expect: exit=hlt rbx=0x308d0
; expect-mem: 0x30000=0000803f000080bf0000c07f00000080000000000000f83f00000000000024c00100807f00000000000000000000000000000000000080bf0000c07f00000080
; expect-mem: 0x30040=00000000000024c00000000000000000000000000000f83f0000c07f000000800000803f000000000000f83f0000000000000000000024c0000000000000f83f
; expect-mem: 0x30080=00000000000024c00000c07f000000800000803f000080bf000000000000f83f0000c07f00000080000000000000f83f0a000000000000000000000000000000
; expect-mem: 0x300c0=02000000000000000000000000000000000000000000f83f00000000000024c00000803f000080bf0000c07f0000008088776655000000008877665500000000
; expect-mem: 0x30100=000060400000807f0100c07f01000000831f0000000000000000000000000000000000bf0000c0ff0100c07f01000000831f0000000000000000000000000000
; expect-mem: 0x30140=000040400000807f0100c07f00000080831f00000000000000000000000000000000403f0000c0ff0100c07f000080ff851f0000000000000000000000000000
; expect-mem: 0x30180=0000c03f0000807f0000803f00000080000000400000807f0000803f01000000831f0000000000000000000000000000000000400000c0ff000000800000807f
; expect-mem: 0x301c0=811f0000000000000000000000000000000060400000807f0100807f010000000000807f0000807f0100807f01000000a81f0000000000000000000000000000
; expect-mem: 0x30200=0000807f0000807f0000803f00000080841f0000000000000000000000000000000000400000807f0100807f01000000811f0000000000000000000000000000
; expect-mem: 0x30240=0000807f000080ff0000000000f07f3e0000807f000080ff0000000000f8ff3e00004000000000000000000000000000801f0000000000000000000000000000
; expect-mem: 0x30280=abaa2a00000000000000000000000000b01f000000000000000000000000000000000000000000000000000000000000b09f0000000000000000000000000000
; expect-mem: 0x302c0=00000000000000000000000000000000c01f000000000000000000000000000005000000000000000000000000000000821f0000000000000000000000000000
; expect-mem: 0x30300=0000000000000c40010000000000f87f000000000000e0bf010000000000f87f0000000000000840010000000000f87f000000000000e83f010000000000f87f
; expect-mem: 0x30340=000000000000f83f010000000000f07f0000000000000040010000000000f07fcd3b7f669ea0f63f010000000000f87fa11f0000000000000000000000000000
; expect-mem: 0x30380=000000000000004000000000000024c0cd3b7f669ea0f63f0000c07f00000080a11f0000000000000000000000000000abaaaa3e55555555000000005555d5bf
; expect-mem: 0x303c0=02000000000000000000000000000000aaaaaa3e56555555000000005555d5bf02000000000000000000000000000000abaaaa3e55555555000000005555d5bf
; expect-mem: 0x30400=03000000000000000000000000000000aaaaaa3e55555555000000005555d5bf0200000000000000000000000000000000000000ffffffff0000000000000000
; expect-mem: 0x30440=0000000000000000000000000000000000000000000000000100807f01000000ffffffff000000000000000000000000ffffffffffffffff0000000000000000
; expect-mem: 0x30480=ffffffffffffffff0100807f01000000ffffffffffffffff0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff0100807f01000000
; expect-mem: 0x304c0=0000000000000000ffffffff000000000000000000000000ffffffffffffffff00000000000000000100807f01000000ffffffff00000000ffffffffffffffff
; expect-mem: 0x30500=ffffffffffffffffffffffffffffffffffffffffffffffff0100807f0100000000000000ffffffffffffffffffffffff0000000000000000ffffffffffffffff
; expect-mem: 0x30540=00000000000000000100807f010000000000000000000000ffffffffffffffff0000000000000000ffffffffffffffff00000000000000000100807f01000000
; expect-mem: 0x30580=ffffffffffffffff00000000ffffffffffffffffffffffff0000000000000000ffffffffffffffff0100807f01000000831f0000000000000000000000000000
; expect-mem: 0x305c0=01000000000000000000000000000000400000000000000000000000000000004500000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30600=45000000000000000000000000000000831f000000000000000000000000000045000000000000000000000000000000811f0000000000000000000000000000
; expect-mem: 0x30640=000000000000803f0000803f00000080000000400000004000000000000000000000807f000080ff0000c07f000000800000807f000000c00000404000000000
; expect-mem: 0x30680=0000c07f0000008001004040010000000100807f01000000000000400000807f000000000000f83f010000000000f07f0000c03f000000400000807f0000807f
; expect-mem: 0x306c0=0100807f0000803f0100000000000080000000000000f83f000000000000004000000000000024c0010000000000f07f0000e0c00000004f000024c0ffffffff
; expect-mem: 0x30700=00000000000008c00000c0ffffffdf41a01f000000000000000000000000000002000000000000000000000000000000feffffff000000000000000000000000
; expect-mem: 0x30740=000000800000000000000000000000000000008000000000000000000000000003000000000000000000000000000000f6ffffff000000000000000000000000
; expect-mem: 0x30780=00000080000000000000000000000000a11f0000000000000000000000000000000000000000f83f000000000000f07f0000c03f000020c10000000000000000
; expect-mem: 0x307c0=000000000000c4360000c07f000000800000807f000080bf0000c07f00000080aa1f00000000000000000000000000000000e040000000c10000004f000000cf
; expect-mem: 0x30800=02000000000000800000008000000000010000000000008000000080000000000000000000001c4000000000000020c002000000f6ffffff0000000000000000
; expect-mem: 0x30840=02000000000000800000000000000000a11f00000000000000000000000000000000e040000000c10000c07f000000800000c0ffffffdf41000000000000e0c1
; expect-mem: 0x30880=0000000000000040000000000000e0c10000000000000040000000000000e0c1000000000000004000000000000024c00000000000000040000000000000e0c1
; expect-mem: 0x308c0=a11f0000000000000000000000000000
bits 32
org 0x10000

res equ 0x30000             ; results, outside the image (zeroed RAM)


%macro OUT 1            ; store an XMM register into the next slot
    movups [ebx], %1
    add ebx, 16
%endmacro
%macro OUTMX 0          ; store MXCSR, then clear its flags (masks as before)
    stmxcsr [ebx]
    add ebx, 16
    ldmxcsr [mx_default]
%endmacro
%macro OUTQ 1           ; store a GPR
    mov [ebx], %1
    add ebx, 16
%endmacro
%macro OUTFL 0          ; store the arithmetic flags
    pushfd
    pop eax
    and eax, 0x8d5
    mov [ebx], eax
    add ebx, 16
%endmacro

    mov ebx, res
    ldmxcsr [mx_default]

    ; ---- moves ------------------------------------------------------------
    ; MOVAPS from an aligned operand, MOVUPS to an unaligned one.
    movaps xmm0, [v_mix]
    movups [unal + 1], xmm0
    movups xmm1, [unal + 1]
    OUT xmm1                                  ; slot 0: v_mix unchanged
    movapd xmm2, [v_d1]
    movupd xmm3, xmm2
    OUT xmm3                                  ; slot 1: v_d1
    ; MOVSS load zeroes bits 127:32; reg-reg merges the low lane.
    movaps xmm4, [v_mix]
    movss xmm4, [f_snan]
    OUT xmm4                                  ; slot 2: 0,0,0,SNaN (unchanged: moves never quiet)
    movaps xmm4, [v_mix]
    movss xmm4, xmm2
    OUT xmm4                                  ; slot 3
    movsd xmm5, [v_d1 + 8]
    OUT xmm5                                  ; slot 4: 0, high double of v_d1
    movaps xmm5, [v_mix]
    movsd xmm5, xmm2
    OUT xmm5                                  ; slot 5
    movss [scratch], xmm0
    movsd [scratch + 4], xmm2
    movups xmm6, [scratch]
    OUT xmm6                                  ; slot 6
    ; MOVLPS/MOVHPS/MOVLPD/MOVHPD load and store halves.
    movaps xmm7, [v_mix]
    movlps xmm7, [v_d1 + 8]
    movhps xmm7, [v_d1]
    OUT xmm7                                  ; slot 7
    movlpd [scratch], xmm7
    movhpd [scratch + 8], xmm0
    movups xmm6, [scratch]
    OUT xmm6                                  ; slot 8
    movaps xmm7, [v_mix]
    movlhps xmm7, xmm2
    OUT xmm7                                  ; slot 9
    movhlps xmm7, xmm0
    OUT xmm7                                  ; slot 10
    movmskps eax, xmm0                        ; signs of v_mix lanes
    OUTQ eax                                  ; slot 11
    movmskpd eax, xmm2
    OUTQ eax                                  ; slot 12
    movntps [scratch], xmm2
    movntpd [scratch + 16], xmm0
    mov eax, 0x55667788
    movnti [scratch + 32], eax
    movnti [scratch + 40], eax
    sfence
    lfence
    mfence
    prefetcht0 [scratch]
    prefetchnta [eax]                         ; a hint never faults
    movups xmm6, [scratch]
    OUT xmm6                                 ; slot 13
    movups xmm6, [scratch + 16]
    OUT xmm6                                 ; slot 14
    movups xmm6, [scratch + 32]
    OUT xmm6                                 ; slot 15

    ; ---- arithmetic, single ------------------------------------------------
    movaps xmm0, [v_a]
    addps xmm0, [v_b]
    OUT xmm0                                  ; slot 16
    OUTMX                                     ; slot 17: IE (inf-inf), PE
    movaps xmm0, [v_a]
    subps xmm0, [v_b]
    OUT xmm0                                  ; 18
    OUTMX                                     ; 19
    movaps xmm0, [v_a]
    mulps xmm0, [v_b]
    OUT xmm0                                  ; 20
    OUTMX                                     ; 21
    movaps xmm0, [v_a]
    divps xmm0, [v_b]
    OUT xmm0                                  ; 22
    OUTMX                                     ; 23
    movaps xmm0, [v_a]
    minps xmm0, [v_b]
    OUT xmm0                                  ; 24
    movaps xmm0, [v_a]
    maxps xmm0, [v_b]
    OUT xmm0                                  ; 25
    OUTMX                                     ; 26
    sqrtps xmm0, [v_sq]
    OUT xmm0                                  ; 27: 2, -NaN (IE), -0, inf
    OUTMX                                     ; 28
    movaps xmm0, [v_a]
    addss xmm0, [v_b]
    OUT xmm0                                  ; 29
    movaps xmm0, [v_a]
    mulss xmm0, [f_max]                   ; 1.5 * FLT_MAX overflows
    OUT xmm0                                  ; 30
    OUTMX                                     ; 31: OE PE
    movaps xmm0, [v_b]
    divss xmm0, [f_zero]
    OUT xmm0                                  ; 32: 2/0 = inf
    OUTMX                                     ; 33: ZE
    movaps xmm0, [v_a]
    subss xmm0, [v_a]
    minss xmm0, [f_snan]
    maxss xmm0, [v_a]
    sqrtss xmm0, [v_sq]
    OUT xmm0                                  ; 34
    OUTMX                                     ; 35
    rcpss xmm1, [v_b]
    rsqrtss xmm1, [v_sq]
    rcpps xmm2, [v_zero_inf]              ; rcp(+-0) = +-inf, rcp(inf) = 0
    OUT xmm2                                  ; 36
    rsqrtps xmm2, [v_zero_inf]
    OUT xmm2                                  ; 37
    ; Underflow: min normal * 0.5 is an exact denormal (no UE, masked);
    ; min normal * 1/3 is inexact and tiny (UE PE).
    movss xmm0, [f_minn]
    mulss xmm0, [f_half]
    OUT xmm0                                  ; 38
    OUTMX                                     ; 39
    movss xmm0, [f_minn]
    mulss xmm0, [f_third]
    OUT xmm0                                  ; 40
    OUTMX                                     ; 41
    ; FTZ: the same tiny result flushed to +0 (UE PE).
    ldmxcsr [mx_ftz]
    movss xmm0, [f_minn]
    mulss xmm0, [f_third]
    OUT xmm0                                  ; 42
    OUTMX                                     ; 43
    ; DAZ: a denormal operand is +0: denormal + 0 = 0, no DE.
    ldmxcsr [mx_daz]
    movss xmm0, [f_den]
    addss xmm0, [f_zero]
    OUT xmm0                                  ; 44
    OUTMX                                     ; 45
    ; Without DAZ: DE.
    movss xmm0, [f_den]
    addss xmm0, [f_zero]
    OUT xmm0                                  ; 46
    OUTMX                                     ; 47

    ; ---- arithmetic, double ------------------------------------------------
    movapd xmm0, [v_d1]
    addpd xmm0, [v_d2]
    OUT xmm0                                  ; 48
    movapd xmm0, [v_d1]
    subpd xmm0, [v_d2]
    OUT xmm0                                  ; 49
    movapd xmm0, [v_d1]
    mulpd xmm0, [v_d2]
    OUT xmm0                                  ; 50
    movapd xmm0, [v_d1]
    divpd xmm0, [v_d2]
    OUT xmm0                                  ; 51
    movapd xmm0, [v_d1]
    minpd xmm0, [v_d2]
    OUT xmm0                                  ; 52
    movapd xmm0, [v_d1]
    maxpd xmm0, [v_d2]
    OUT xmm0                                  ; 53
    sqrtpd xmm0, [v_d2]
    OUT xmm0                                  ; 54
    OUTMX                                     ; 55
    movapd xmm0, [v_d1]
    addsd xmm0, [v_d2]
    subsd xmm0, [v_d2 + 8]
    mulsd xmm0, [v_d1]
    divsd xmm0, [v_d2]
    minsd xmm0, [v_d1]
    maxsd xmm0, [v_d2]
    sqrtsd xmm1, xmm0
    OUT xmm0                                  ; 56
    OUT xmm1                                  ; 57
    OUTMX                                     ; 58

    ; ---- rounding modes: 1/3 and -1/3 in each --------------------------------
    mov ecx, 4
    mov esi, mx_rc
.rc_loop:
    ldmxcsr [esi]
    movss xmm0, [f_one]
    divss xmm0, [f_three]
    movsd xmm1, [d_mone]
    divsd xmm1, [d_three]
    cvtss2si eax, [f_2p5]                 ; 2.5 rounds per RC
    unpcklps xmm0, xmm1
    OUT xmm0
    OUTQ eax
    add esi, 4
    dec ecx
    jnz .rc_loop                              ; slots 59-66
    ldmxcsr [mx_default]

    ; ---- comparisons ----------------------------------------------------------
    %assign p 0
    %rep 8
    movaps xmm0, [v_a]
    cmpps xmm0, [v_b], p
    OUT xmm0
    movapd xmm0, [v_d1]
    cmppd xmm0, [v_d2], p
    OUT xmm0
    movaps xmm0, [v_a]
    cmpss xmm0, [v_b], p
    movapd xmm1, [v_d1]
    cmpsd xmm1, [v_d2], p
    movsd xmm0, xmm1
    OUT xmm0
    %assign p p+1
    %endrep                                   ; slots 67-90
    OUTMX                                     ; 91: IE (SNaN, LT/LE with QNaN)
    movss xmm0, [f_one]
    comiss xmm0, [f_three]                ; less: CF
    OUTFL                                     ; 92
    ucomiss xmm0, [f_one]                 ; equal: ZF
    OUTFL                                     ; 93
    comisd xmm1, [d_three]
    OUTFL                                     ; 94
    ucomisd xmm0, [v_d1 + 8]
    OUTFL                                     ; 95
    movss xmm0, [f_qnan]
    ucomiss xmm0, [f_one]                 ; unordered: ZF PF CF, no IE
    OUTFL                                     ; 96
    OUTMX                                     ; 97
    comiss xmm0, [f_one]                  ; QNaN: IE for COMISS
    OUTFL                                     ; 98
    OUTMX                                     ; 99

    ; ---- logic and shuffles ---------------------------------------------------
    movaps xmm0, [v_mix]
    andps xmm0, [v_b]
    OUT xmm0                                  ; 100
    movaps xmm0, [v_mix]
    andnps xmm0, [v_b]
    OUT xmm0                                  ; 101
    movaps xmm0, [v_mix]
    orps xmm0, [v_b]
    OUT xmm0                                  ; 102
    movaps xmm0, [v_mix]
    xorps xmm0, [v_b]
    OUT xmm0                                  ; 103
    movapd xmm0, [v_d1]
    andpd xmm0, [v_d2]
    andnpd xmm0, [v_mix]
    orpd xmm0, [v_a]
    xorpd xmm0, [v_b]
    OUT xmm0                                  ; 104
    movaps xmm0, [v_a]
    shufps xmm0, [v_b], 0x4e
    OUT xmm0                                  ; 105
    movapd xmm0, [v_d1]
    shufpd xmm0, [v_d2], 2
    OUT xmm0                                  ; 106
    movaps xmm0, [v_a]
    unpcklps xmm0, [v_b]
    OUT xmm0                                  ; 107
    movaps xmm0, [v_a]
    unpckhps xmm0, [v_b]
    OUT xmm0                                  ; 108
    movapd xmm0, [v_d1]
    unpcklpd xmm0, [v_d2]
    OUT xmm0                                  ; 109
    movapd xmm0, [v_d1]
    unpckhpd xmm0, [v_d2]
    OUT xmm0                                  ; 110

    ; ---- conversions ------------------------------------------------------------
    mov eax, -7
    cvtsi2ss xmm0, eax
    mov eax, 0x7fffffff                        ; rounds to 2^31 (PE)
    cvtsi2ss xmm1, eax
    unpcklps xmm0, xmm1
    OUT xmm0                                  ; 111
    mov eax, -3
    cvtsi2sd xmm0, eax
    cvtsi2sd xmm1, dword [i_big]
    unpcklpd xmm0, xmm1
    OUT xmm0                                  ; 112
    OUTMX                                     ; 113
    cvtss2si eax, [f_2p5]                 ; 2 (to nearest even)
    OUTQ eax                                  ; 114
    cvttss2si eax, [f_m2p5]               ; -2
    OUTQ eax                                  ; 115
    cvtss2si eax, [f_big]                 ; 2^31: indefinite 0x80000000, IE
    OUTQ eax                                  ; 116
    cvttsd2si eax, [d_nan]                ; NaN: 0x80000000, IE
    OUTQ eax                                  ; 117
    cvtsd2si eax, [d_three]
    OUTQ eax                                  ; 118
    cvttsd2si eax, [v_d1 + 8]
    OUTQ eax                                  ; 119
    cvtss2si eax, [f_snan]                ; SNaN: indefinite, IE
    OUTQ eax                                  ; 120
    OUTMX                                     ; 121
    cvtps2pd xmm0, [v_a]                  ; SNaN quieted (IE), denormal (DE)
    OUT xmm0                                  ; 122
    cvtpd2ps xmm0, [v_d1]
    OUT xmm0                                  ; 123
    movaps xmm0, [v_mix]
    cvtss2sd xmm0, [f_den]
    OUT xmm0                                  ; 124
    movaps xmm0, [v_mix]
    cvtsd2ss xmm0, [d_huge]               ; overflow: inf (OE PE)
    OUT xmm0                                  ; 125
    OUTMX                                     ; 126
    cvtdq2ps xmm0, [v_int]
    OUT xmm0                                  ; 127
    cvtps2dq xmm0, [v_a]
    OUT xmm0                                  ; 128
    cvttps2dq xmm0, [v_a]
    OUT xmm0                                  ; 129
    cvtdq2pd xmm0, [v_int]
    OUT xmm0                                  ; 130
    cvtpd2dq xmm0, [v_d1]
    OUT xmm0                                  ; 131
    cvttpd2dq xmm0, [v_d2]
    OUT xmm0                                  ; 132
    OUTMX                                     ; 133
    ; MMX forms (MMX moves belong to another group, so MM registers are
    ; filled and read with conversions): CVTTPS2PI loads MM1 with 7, -8;
    ; CVTPI2PS/CVTPI2PD from MM1 and from memory; CVT(T)PS2PI and
    ; CVT(T)PD2PI into MM2-MM5, read back exactly with CVTPI2PD.
    cvttps2pi mm1, [v_intf]
    movaps xmm0, [v_mix]
    cvtpi2ps xmm0, mm1
    OUT xmm0                                  ; 134: 7, -8, (v_mix high half)
    cvtpi2pd xmm0, [v_int + 8]
    OUT xmm0                                  ; 135
    cvtps2pi mm2, [v_a]                   ; 2 (1.5 to even), indefinite
    cvttps2pi mm3, [v_b]
    cvtpd2pi mm4, [v_d1]
    cvttpd2pi mm5, [v_d2]                 ; 2, indefinite (SNaN)
    cvtpi2pd xmm0, mm2
    OUT xmm0                                  ; 136
    cvtpi2pd xmm0, mm3
    OUT xmm0                                  ; 137
    cvtpi2pd xmm0, mm4
    OUT xmm0                                  ; 138
    cvtpi2pd xmm0, mm5
    OUT xmm0                                  ; 139
    OUTMX                                     ; 140
    hlt

%include "sse_data.inc"
