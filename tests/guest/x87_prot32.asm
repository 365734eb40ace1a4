; The x87 FPU in 32-bit protected mode (SDM Vol. 1 chapter 8, Vol. 2 F*): constants
; under each rounding control, arithmetic under each precision control,
; comparisons (C0-C3 and FCOMI's EFLAGS), FXAM, FCMOVcc, transcendentals,
; FPREM/FPREM1/FXTRACT/FSCALE, integer and BCD conversions, masked and
; unmasked exceptions (QNaN indefinite, biased results, unchanged
; destinations, ES/B), stack overflow/underflow (SF, C1), FXCH/FFREE/
; FINCSTP/FDECSTP, FNSTENV/FLDENV/FNSAVE/FRSTOR in both formats. Results
; and whole FNSAVE images (FSW, full tag word, FIP, FOP, FDP, registers)
; land at 0x20000; the expected bytes are the host CPU's (the native
; oracle runs this program too), with the selector fields FCS/FDS zeroed
; by the program since the host runs with its own user selectors.
; expect-mode: prot32
; expect: exit=hlt
; kvm: skip this host's PVM KVM runs CPL0 code through its instruction emulator, which has FNINIT/FNSTSW/FNSTCW but no x87 arithmetic (FLD1: internal error)
; expect-mem: 0x20000=7f03ffff0008ffff0700ffff0e0001000000ee01000000000000ffff00000000
; expect-mem: 0x20020=000000000000ac79cfd1f71772b1fe3f99f7cffb849a209afd3f35c26821a2da
; expect-mem: 0x20040=0fc90040bcf0175c293baab8ff3ffe8a1bcd4b789ad400400000000000000080
; expect-mem: 0x20060=ff3f000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20080=7f07ffff0018ffff3f00ffff3f0001000000ed01000000000000ffffab79cfd1
; expect-mem: 0x200a0=f71772b1fe3f98f7cffb849a209afd3f34c26821a2da0fc90040bbf0175c293b
; expect-mem: 0x200c0=aab8ff3ffe8a1bcd4b789ad40040000000000000000000000000000000000000
; expect-mem: 0x200e0=0000ac79cfd1f71772b1fe3f0000000000000000000000000000000000000000
; expect-mem: 0x20100=7f0bffff0018ffff3f00ffff700001000000ed01000000000000ffffac79cfd1
; expect-mem: 0x20120=f71772b1fe3f99f7cffb849a209afd3f35c26821a2da0fc90040bcf0175c293b
; expect-mem: 0x20140=aab8ff3fff8a1bcd4b789ad40040000000000000000000000000000000000000
; expect-mem: 0x20160=0000ac79cfd1f71772b1fe3f0000000000000000000000000000000000000000
; expect-mem: 0x20180=7f03ffff201affff3f00ffffc200010000000d066c0701000000ffff78ba9bbe
; expect-mem: 0x201a0=dbafe8aa12c018f92538de24a5870d4057c446f9c4b3a7ad0140e61ff34810c2
; expect-mem: 0x201c0=1addff3f35c26821a2da0fc90040000000000000000000000000000000000000
; expect-mem: 0x201e0=0000ac79cfd1f71772b1fe3f0000000000000000000000000000000000000000
; expect-mem: 0x20200=7f0cffff2030ffffff0fffff1901010000003d00680701000000ffff00000000
; expect-mem: 0x20220=00a1b58ffbbf00000000004662e3ff3f00000000000000000000000000000000
; expect-mem: 0x20240=00000000ac79cfd1f71772b1fe3f78ba9bbedbafe8aa12c018f92538de24a587
; expect-mem: 0x20260=0d4057c446f9c4b3a7ad01400000000000000000000000000000000000000000
; expect-mem: 0x20280=7f0affff6138fffffe3fffff7e0101000000e104700701000000ffff00b0ac07
; expect-mem: 0x202a0=2ca13edeec3f00000000000000c0ffff0000000000000080ff3f000000000000
; expect-mem: 0x202c0=52c30f4000000000008055c30fc00000c0aaaaaa55c30fc000f05668ae5fbe84
; expect-mem: 0x202e0=11c000887d1905f08caeed3f0000000000000000000000000000000000000000
; expect-mem: 0x20300=0031003101750131013001310170000001000000010000004500000045000000
; expect-mem: 0x20320=010000000178017d017d0140014001430178013f0139017c0138013400000000
; expect-mem: 0x20340=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20360=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20380=7f03ffff0134ffffff8fffffc40201000000e501400701000000ffff35c26821
; expect-mem: 0x203a0=a2da0fc900400000000000000040ff3f00000000000000c0ffff000000000000
; expect-mem: 0x203c0=0080ff3f00000000000052c30f4000000000008055c30fc00000c0aaaaaa55c3
; expect-mem: 0x203e0=0fc000000000000000c0ff7f0000000000000000000000000000000000000000
; expect-mem: 0x20400=7f03ffff0000ffff5404ffff0a0301000000df02000000000000ffff00000000
; expect-mem: 0x20420=00000080ff3f0000000000000000000000000000000000000000000000000000
; expect-mem: 0x20440=000000000000000000000080ff3f000000000000000000000000000000000080
; expect-mem: 0x20460=ff3f0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20480=7f03ffff0030ffffff1fffff2a0301000000d903000000000000ffff00000000
; expect-mem: 0x204a0=0000000000000000000000000080ff3f0000000000000080ff3f000000000000
; expect-mem: 0x204c0=0000000000000000000000000000000000000000000000000000000000000080
; expect-mem: 0x204e0=ff3f0000000000000000000000000000200c0000000000000000000000000000
; expect-mem: 0x20500=7f03ffff200cffff0300ffff6a0301000000fe01a40701000000ffff00000000
; expect-mem: 0x20520=000000803e400000000000000080ff3fe5dc98812c3acd93fe3faf5565c242d7
; expect-mem: 0x20540=b3ddfe3fd5f8fffffffffffffd3faf5565c242d7b3ddfe3fd5f8ffffffffffff
; expect-mem: 0x20560=fd3f0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20580=7f03ffff2010ffff0f00ffffca0301000000fa018c0701000000ffff8ed71dac
; expect-mem: 0x205a0=8bee3db9fe3f00000000000000c0004070cbc1f95627a0e0ff3f0056795234bd
; expect-mem: 0x205c0=39b300c0119279e7cfcc13d4fd3f8d05ecc7a1caf1b2ff3f0000000000000080
; expect-mem: 0x205e0=ff3f00000000000000803e400000000000710028000000000000000000000000
; expect-mem: 0x20600=7f03ffff0008ffff0301ffff180401000000fd01940701000000ffff00000000
; expect-mem: 0x20620=00000080024000000000000000c000408464def933f304b5ffbf000000000000
; expect-mem: 0x20640=00000000000000000000a0c6cb3f00289b6bc1910a86fe3f00289b6bc1910a86
; expect-mem: 0x20660=fe3f0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20680=7f0fffff2938ffffff3fffffdd04010000003507420702000000ffff8464def9
; expect-mem: 0x206a0=33f304b5ffbf0000000000000080ff3f00000000000000800240000000000000
; expect-mem: 0x206c0=00c000408464def933f304b5ffbf00000000a4052c931dc035c26821a2da0fc9
; expect-mem: 0x206e0=0040000000000000008000500000000090785634120000000080000000000000
; expect-mem: 0x20700=35fb048ee0feffffa3860100f9ff0000fffffffffeffffffffffffffffff0080
; expect-mem: 0x20720=ffff7f7fffffffffffffef7fda0f4940182d4454fb21094035c26821a2da0fc9
; expect-mem: 0x20740=004000000000000000c0ffff0000000000000000000000000000000000000000
; expect-mem: 0x20760=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20780=7f03ffff3d08ffffa7aaffff250501000000c804100801000000ffff00000000
; expect-mem: 0x207a0=0000000000000000000000000080ff7f00000000000000e0ff7f000000000000
; expect-mem: 0x207c0=00a0ff7f00000000000000c0ffff00000000000000c0ffff0000000000000080
; expect-mem: 0x207e0=ff7f0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20800=7f03ffff413affff0080ffff4f0501000000eb01000000000000ffff00000000
; expect-mem: 0x20820=000000c0ffff0000000000000080ff3f0000000000000080ff3f000000000000
; expect-mem: 0x20840=0080ff3f0000000000000080ff3f0000000000000080ff3f0000000000000080
; expect-mem: 0x20860=ff3f0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20880=7f03ffff4100ffffeeffffff6b0501000000d205000000000000ffff00000000
; expect-mem: 0x208a0=000000c0ffff0000000000000080ff3f00000000000000c0ffff000000000000
; expect-mem: 0x208c0=0080ff3f0000000000000080ff3f0000000000000080ff3f0000000000000080
; expect-mem: 0x208e0=ff3f00000000000000c0ffff0000000084b004307f0300000000000000000000
; expect-mem: 0x20900=7b03ffff84b0ffffff1fffff980501000000f904000000000000ffff00000000
; expect-mem: 0x20920=7f03ffff0030ffffff1fffff980501000000f904000000000000ffff00000000
; expect-mem: 0x20940=0000000000000000000000000080ff3f00000000000000c0ffff000000000000
; expect-mem: 0x20960=0080ff3f00000000000000c0ffff0000000000000080ff3f0000000000000080
; expect-mem: 0x20980=7703ffffa8b8ffffff3ffffff30501000000c804000801000000fffffeffffff
; expect-mem: 0x209a0=fffffffffe5f00000000000000c0ffff0000000000000080ff3f000000000000
; expect-mem: 0x209c0=00c0ffff0000000000000080ff3f0000000000000080ff3f0000000000000080
; expect-mem: 0x209e0=ff3f000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20a00=6f03ffff90b8ffffff3fffff220601000000c804100801000000ffff00000000
; expect-mem: 0x20a20=00000080032000000000000000c0ffff0000000000000080ff3f000000000000
; expect-mem: 0x20a40=00c0ffff0000000000000080ff3f0000000000000080ff3f0000000000000080
; expect-mem: 0x20a60=ff3f000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20a80=7703ffff88b8ffffff3fffff5106010000001501700a02000000ffff00000000
; expect-mem: 0x20aa0=00000080005000000000000000c0ffff0000000000000080ff3f000000000000
; expect-mem: 0x20ac0=00c0ffff0000000000000080ff3f0000000000000080ff3f0000000000000080
; expect-mem: 0x20ae0=ff3f000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20b00=7f03ffff0020fffffc30ffff8e0601000000c007400701000000ffff35c26821
; expect-mem: 0x20b20=a2da0fc900400000000000000080ff3f35c26821a2da0fc9004035c26821a2da
; expect-mem: 0x20b40=0fc9004035c26821a2da0fc900400000000000000080ff3f00000000000000c0
; expect-mem: 0x20b60=ffff0000000000000080ff3f0000000000000000000000000000000000000000
; expect-mem: 0x20b80=7f0effff0030ffffff0fffffaa06010000002d03400701000000ffff00000000
; expect-mem: 0x20ba0=7f0e0030ff0faa06000040070000000000000000000000000000000000000000
; expect-mem: 0x20bc0=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20be0=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20c00=7f0e0030ff0faa0600004007000035c26821a2da0fc9004035c26821a2da0fc9
; expect-mem: 0x20c20=004035c26821a2da0fc900400000000000000080ff3f00000000000000c0ffff
; expect-mem: 0x20c40=0000000000000080ff3f35c26821a2da0fc900400000000000000080ff3f0000
; expect-mem: 0x20c60=0000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x20c80=7f0effff0028ffffff03ffff080701000000e801400700000000ffff00000000
; expect-mem: 0x20ca0=00000080ff3f35c26821a2da0fc9004035c26821a2da0fc9004035c26821a2da
; expect-mem: 0x20cc0=0fc900400000000000000080ff3f00000000000000c0ffff0000000000000080
; expect-mem: 0x20ce0=ff3f35c26821a2da0fc900400000000000000000000000000000000000000000
bits 32
org 0x10000
%define RES 0x20000
%define PUSHFLAGS pushfd
%define AX_ eax
; The selector fields (FCS, FDS) of stored environments are cleared: the
; host runs with its own user selectors, softvt with the flat runner's.
%macro ZSEL32 1
    mov word [%1 + 16], 0
    mov word [%1 + 24], 0
%endmacro
%macro ZSEL16 1
    mov word [%1 + 8], 0
    mov word [%1 + 12], 0
%endmacro

; SAVE slot: FNSAVE (32-bit format; non-waiting; then reinitialises) to
; RES + slot, with the fields ZSEL32/ZSEL16 clear (see the mode's prelude).
%macro SAVE 1
    o32 fnsave [RES + %1]
    ZSEL32 RES + %1
%endmacro
; FLAGS slot: the arithmetic flags (FCOMI, ...) as a dword.
%macro FLAGS 1
    PUSHFLAGS
    pop AX_
    and eax, 0x8d5
    mov [RES + %1], eax
%endmacro
%macro CW 1
    mov word [RES + 0xff0], %1
    fldcw [RES + 0xff0]
%endmacro

start:
    fninit
    ; 0x000: the constants under round-to-nearest (SDM Vol. 2 FLD1/FLDL2T/...)
    fld1
    fldl2t
    fldl2e
    fldpi
    fldlg2
    fldln2
    fldz
    SAVE 0x000
    ; 0x080: rounded down, 0x100: rounded up (the irrational constants
    ; follow RC; SDM Vol. 2 "FLD1/FLDL2T/..." Operation)
    CW 0x077f
    fldl2t
    fldl2e
    fldpi
    fldlg2
    fldln2
    SAVE 0x080
    CW 0x0b7f
    fldl2t
    fldl2e
    fldpi
    fldlg2
    fldln2
    SAVE 0x100
    ; 0x180: basic arithmetic, register and memory forms, extended precision
    fld tword [val_a]
    fld tword [val_b]
    fadd st0, st1
    fld st1
    fmul st0, st1
    fld qword [val_c]
    fdiv st0, st2
    fsubr dword [val_f32]
    fisub word [val_i16]
    fidivr dword [val_i32]
    fld tword [val_a]
    fiadd dword [val_i32]
    fimul word [val_i16]
    SAVE 0x180
    ; 0x200: single precision, round toward zero
    CW 0x0c7f
    fld tword [val_a]
    fdiv qword [val_c]
    fld tword [val_b]
    fmul st0, st0
    faddp
    fsqrt
    fld tword [val_b]
    fsub dword [val_f32]
    fmul qword [val_c]
    fdivr dword [val_f32]
    SAVE 0x200
    ; 0x280: double precision, round up; the popping forms
    CW 0x0a7f
    fld tword [val_a]
    fld tword [val_b]
    fld qword [val_c]
    fld dword [val_f32]
    fild word [val_i16]
    fild dword [val_i32]
    fld1
    faddp st1, st0
    fsubp st1, st0
    fsubrp st1, st0
    fmulp st1, st0
    fdivp st1, st0
    fdivrp st1, st0
    fadd st0, st0
    fdiv st1, st0
    fsub st1, st0
    fsubr st1, st0
    SAVE 0x280
    ; 0x300: comparisons: status words (C0, C2, C3) and EFLAGS (FCOMI)
    fld1
    fldz
    fcom st1
    fnstsw [RES + 0x300]
    fcom dword [val_f32]
    fnstsw [RES + 0x302]
    fcom qword [val_nan]
    fnstsw [RES + 0x304]
    fucom st1
    fnstsw [RES + 0x306]
    ficom word [val_i16]
    fnstsw [RES + 0x308]
    ficom dword [val_i32]
    fnstsw [RES + 0x30a]
    ftst
    fnstsw [RES + 0x30c]
    fcomi st0, st1
    FLAGS 0x310
    fucomi st0, st1
    FLAGS 0x314
    fld qword [val_nan]
    fucomi st0, st1
    FLAGS 0x318
    fucomip st0, st1
    FLAGS 0x31c
    fcomip st0, st1
    FLAGS 0x320
    fld1
    fcomp st1
    fnstsw [RES + 0x324]
    fld qword [val_nan]
    fucomp st1
    fnstsw [RES + 0x326]
    fld qword [val_nan]
    fcomp st1
    fnstsw [RES + 0x328]
    fld1
    fucompp
    fnstsw [RES + 0x32a]
    fld1
    fld1
    fcompp
    fnstsw [RES + 0x32c]
    ; FXAM of: +0, -inf, NaN, denormal, normal, empty, unnormal
    fxam
    fnstsw [RES + 0x32e]
    fldz
    fxam
    fnstsw [RES + 0x330]
    fstp st0
    fld qword [val_neginf]
    fxam
    fnstsw [RES + 0x332]
    fstp st0
    fld qword [val_nan]
    fxam
    fnstsw [RES + 0x334]
    fstp st0
    fld tword [val_denormal]
    fxam
    fnstsw [RES + 0x336]
    fstp st0
    fld tword [val_unnormal]
    fxam
    fnstsw [RES + 0x338]
    fld tword [val_a]
    fxam
    fnstsw [RES + 0x33a]
    SAVE 0x380
    ; 0x400: FCMOVcc after CMP (CF/ZF) and with PF from an unordered FUCOMI
    fld1
    fldz
    mov eax, 1
    cmp eax, 2          ; CF = 1, ZF = 0
    fcmovb st0, st1
    fldz
    fcmove st0, st2
    fldz
    fcmovbe st0, st3
    fldz
    fcmovnb st0, st4
    cmp eax, eax        ; ZF = 1, CF = 0, PF = 1
    fldz
    fcmovne st0, st5
    fldz
    fcmovnbe st0, st6
    fldz
    fcmovu st0, st7
    SAVE 0x400
    fld1
    fldz
    cmp eax, eax
    fcmovnu st0, st1
    SAVE 0x480
    ; 0x500: transcendental instructions
    fld qword [val_x]
    fsin
    fld qword [val_x]
    fcos
    fld qword [val_x]
    fsincos
    fld qword [val_x]
    fptan
    fld qword [val_big]
    fsin
    fnstsw [RES + 0x4f0]
    SAVE 0x500
    fld qword [val_y]
    fld qword [val_x]
    fpatan
    fld qword [val_half]
    f2xm1
    fld qword [val_y]
    fld qword [val_x]
    fyl2x
    fld qword [val_y]
    fld qword [val_half]
    fyl2xp1
    fld tword [val_a]
    frndint
    fld qword [val_x]
    fsqrt
    SAVE 0x580
    ; 0x600: FPREM/FPREM1 (C0, C1, C3 = quotient bits), FXTRACT, FSCALE
    fld qword [val_x]
    fld tword [val_a]
    fprem
    fnstsw [RES + 0x5f0]
    fld qword [val_x]
    fxch st1
    fprem1
    fnstsw [RES + 0x5f2]
    fld tword [val_b]
    fxtract
    fld qword [val_y]
    fld1
    fscale
    SAVE 0x600
    ; 0x680: integer and BCD loads and stores under each rounding mode
    fild word [val_i16]
    fild dword [val_i32]
    fild qword [val_i64]
    fbld [val_bcd]
    fbstp [RES + 0x6f0]
    fistp qword [RES + 0x700]
    fistp dword [RES + 0x708]
    fistp word [RES + 0x70c]
    fld tword [val_b]
    fist dword [RES + 0x710]
    CW 0x077f
    fist dword [RES + 0x714]
    CW 0x0b7f
    fist dword [RES + 0x718]
    CW 0x0f7f
    fist word [RES + 0x71c]
    fld tword [val_huge]
    fist word [RES + 0x71e]        ; too large: masked #IA, integer indefinite
    fst dword [RES + 0x720]        ; overflow to infinity (masked #O)
    fst qword [RES + 0x724]
    fld tword [val_a]
    fst dword [RES + 0x72c]
    fst qword [RES + 0x730]
    fstp tword [RES + 0x738]
    fbstp [RES + 0x742]            ; too large for 18 digits: BCD indefinite
    SAVE 0x680
    ; 0x780: masked exceptions: #Z, #IA (0/0, sqrt(-1), SNaN), #O, #U, #P
    fld1
    fldz
    fdivp st1, st0
    fldz
    fldz
    fdivp st1, st0
    fld1
    fchs
    fsqrt
    fld tword [val_snan]
    fld1
    fadd st0, st1
    fld tword [val_max]
    fmul st0, st0
    fld tword [val_min]
    fmul st0, st0
    SAVE 0x780
    ; 0x800: stack overflow (#IS, SF, C1 = 1) and 0x880: underflow (C1 = 0)
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fldpi
    SAVE 0x800
    fadd st0, st1
    fst st2
    SAVE 0x880
    ; 0x900: an unmasked #Z: destination unchanged, ES and B set; FNSTSW,
    ; FNSTENV (then all exceptions masked), FNCLEX, all without waiting.
    CW 0x037b
    fld1
    fldz
    fdiv st1, st0
    fnstsw [RES + 0x8f0]
    o32 fnstenv [RES + 0x900]
    ZSEL32 RES + 0x900
    fnstsw [RES + 0x8f2]
    fnstcw [RES + 0x8f4]
    fnclex
    SAVE 0x920
    ; 0x980: unmasked #O and #U: the result scaled by 2^-24576 / 2^24576
    ; (SDM Vol. 1 8.5.4, 8.5.5), left pending
    CW 0x0377
    fld tword [val_max]
    fmul st0, st0
    SAVE 0x980
    CW 0x036f
    fld tword [val_min]
    fmul st0, st0
    SAVE 0xa00
    ; 0xa80: unmasked #O on a store: memory and stack unchanged
    CW 0x0377
    fld tword [val_huge]
    fst dword [RES + 0xa70]
    SAVE 0xa80
    ; 0xb00: FXCH, FFREE, FFREEP, FINCSTP, FDECSTP, FST/FSTP ST(i), FNOP, FWAIT
    fld1
    fldpi
    fldz
    fxch st2
    ffree st1
    fincstp
    fdecstp
    fld tword [val_a]
    fst st3
    fnop
    fwait
    fld st0
    fstp st5
    fld1
    ffreep st0
    SAVE 0xb00
    ; 0xb80: FLDENV/FRSTOR round trips in the 32-bit and 16-bit formats
    fldpi
    fld tword [val_a]
    CW 0x0e7f
    o32 fnstenv [RES + 0xb80]
    fld1
    o32 fldenv [RES + 0xb80]
    o16 fnstenv [RES + 0xba0]
    ZSEL16 RES + 0xba0
    o16 fnsave [RES + 0xc00]
    ZSEL16 RES + 0xc00
    fld1
    o16 frstor [RES + 0xc00]
    fld1
    SAVE 0xc80
    ZSEL32 RES + 0xb80
    hlt

    align 16
val_a:      dq 0xc90fdaa22168c235
            dw 0x4000                   ; pi (extended)
            align 16
val_b:      dq 0xb504f333f9de6484
            dw 0xbfff                   ; -sqrt(2)
            align 16
val_c:      dq 0x4005bf0a8b145769       ; 2.718281828...
val_f32:    dd 0x3eaaaaab               ; 1/3 (single)
val_i16:    dw -7
            align 4
val_i32:    dd 100003
val_i64:    dq -1234567890123
val_nan:    dq 0x7ff8000000000000
val_neginf: dq 0xfff0000000000000
val_x:      dq 0x3fe0c152382d7365       ; 0.5236 (about pi/6)
val_y:      dq 0x4008000000000000       ; 3
val_half:   dq 0x3fe0000000000000
val_big:    dq 0x43e0000000000000       ; 2^63: FSIN out of range (C2 = 1)
            align 16
val_bcd:    dq 0x0000001234567890
            dw 0x8000                   ; -1234567890
            align 16
val_denormal: dq 0x0000000000001234
            dw 0
            align 16
val_unnormal: dq 0x4000000000000000
            dw 0x3fff
            align 16
val_huge:   dq 0x8000000000000000
            dw 0x5000
            align 16
val_snan:   dq 0xa000000000000000
            dw 0x7fff
            align 16
val_max:    dq 0xffffffffffffffff
            dw 0x7ffe
            align 16
val_min:    dq 0x8000000000000000
            dw 0x0001
