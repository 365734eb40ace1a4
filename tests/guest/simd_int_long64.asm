; MMX and SSE2 integer instructions in 64-bit mode: every instruction in
; every form (MMX register/memory, XMM register/memory, imm8, GPR, the MOVD/
; MOVQ encodings, non-temporal and masked stores) on edge values - signed and
; unsigned extremes, saturation, shift counts 3, 33, above 2^32 and imm8
; counts up to 255, shuffle selectors - with registers XMM8-15 and MM0-7.
; Each result is stored at RESULTS (0x30000) in a 16-byte slot (MMX results
; in the low 8 bytes), in program order; the expected bytes are those the
; host CPU (AMD Zen 4) produces natively and agree with SDM Vol. 2's
; "Operation" sections (checked value by value in tests/unit/test_simd_int.cpp).
; kvm: skip this host's PVM KVM instruction emulator cannot emulate MMX/SSE2 arithmetic ("instruction emulation failed" at the first PADDB mm, mm)
; expect-mode: long64
; expect: exit=hlt rdi=0x31740
; expect: xmm0=0x0000ffff80007ffe807f0001ff807fff xmm3=0x80ffff018080010000ffff80007ffe80 xmm5=0x00000000000000007f80ffff01808001 xmm8=0x0000ffffffff000180007fff7ffe8000 xmm10=0x7f80807fffff00010180ff8080017fff xmm12=0xff00ff0000ff01ff7f80ff00807f00fe xmm15=0x00ff00ffff00ff01807f00ff7f80fe00
; expect-mem: 0x30000=00ff000000ffffff000000000000000000ff000000ffffff000000000000000000ff000000fffffffeffffff00ffffff00ff000000fffffffeffffff00ffffff
; expect-mem: 0x30040=000000010000ffff0000000000000000000000010000ffff0000000000000000000000010000fffffeffffff0000ffff000000010000fffffeffffff0000ffff
; expect-mem: 0x30080=00000101000000000000000000000000000001010000000000000000000000000000010100000000feffffff000000000000010100000000feffffff00000000
; expect-mem: 0x300c0=00000101010000000000000000000000000001010100000000000000000000000000010101000000feffffff000000000000010101000000feffffff00000000
; expect-mem: 0x30100=00ff800000ffffff000000000000000000ff800000ffffff000000000000000000ff800000fffffffeffffff00ffffff00ff800000fffffffeffffff00ffffff
; expect-mem: 0x30140=000000010000ffff0000000000000000000000010000ffff0000000000000000000000010000fffffeffffff0000ffff000000010000fffffeffffff0000ffff
; expect-mem: 0x30180=ffffffffffffffff0000000000000000ffffffffffffffff0000000000000000fffffffffffffffffefffffffffffffffffffffffffffffffeffffffffffffff
; expect-mem: 0x301c0=ffffffffffffffff0000000000000000ffffffffffffffff0000000000000000fffffffffffffffffefffffffffffffffffffffffffffffffeffffffffffffff
; expect-mem: 0x30200=feff00fe0201ff01000000000000000002010002feff01ff0000000000000000feff00fe0201ff01feff0101feff010102010002feff01ff0201ffff0201ffff
; expect-mem: 0x30240=feff00fe0200ff00000000000000000002000002feff01ff0000000000000000feff00fe0200ff00feff0100feff010002000002feff01ff0200ffff0200ffff
; expect-mem: 0x30280=fefffffd0200fe00000000000000000002000002feff01ff0000000000000000fefffffd0200fe00feff0000feff010002000002feff01ff0200ffff0200feff
; expect-mem: 0x302c0=fefffffd0200fe00000000000000000002000002fdff01ff0000000000000000fefffffd0200fe00feff0000feff010002000002fdff01ff0200ffff0100feff
; expect-mem: 0x30300=fe7f00fe02017f80000000000000000002800002feff807f0000000000000000fe7f00fe02017f80fe7f0180feff010102800002feff807f0280ff7f0201ffff
; expect-mem: 0x30340=ff7f00fe02000080000000000000000000800002feffff7f0000000000000000ff7f00fe02000080ff7f0080feff010000800002feffff7f0080ff7f0200ffff
; expect-mem: 0x30380=fe0000fe00000001000000000000000000010000feff01000000000000000000fe0000fe00000001fe000001feff000000010000feff01000001ff000000ffff
; expect-mem: 0x303c0=000000fe0000ff00000000000000000002000000feff00000000000000000000000000fe0000ff0000000100feff000002000000feff0000020000000000ffff
; expect-mem: 0x30400=ffff0040ffff80400000000000000000ffff0040ffff80400000000000000000ffff0040ffff804000000080ffff0000ffff0040ffff804000000080ffff0000
; expect-mem: 0x30440=00c0ffffffff7fc0000000000000000000c0ffffffff7fc0000000000000000000c0ffffffff7fc001c000c0ffff000000c0ffffffff7fc001c000c0ffff0000
; expect-mem: 0x30480=ff3f7f010000ff3f0000000000000000ff3f7f010000ff3f0000000000000000ff3f7f010000ff3fff3fff3f00000000ff3f7f010000ff3fff3fff3f00000000
; expect-mem: 0x304c0=ffffff3d81c07f010000000000000000ffffff3d81c07f010000000000000000ffffff3d81c07f01000001c0feffff3fffffff3d81c07f01000001c0feffff3f
; expect-mem: 0x30500=ff3f00c07f407fc00000000000000000ff3f00c07f407fc00000000000000000ff3f00c07f407fc000800180ffffffffff3f00c07f407fc000800180ffffffff
; expect-mem: 0x30540=808080808080808000000000000000008080808080808080000000000000000080808080808080807f8080808080808080808080808080807f80808080808080
; expect-mem: 0x30580=00808080008000800000000000000000008080800080008000000000000000000080808000800080ff7f0080008000800080808000800080ff7f008000800080
; expect-mem: 0x305c0=017f800101007f7f0000000000000000017f800101007f7f0000000000000000017f800101007f7f007f007f01000000017f800101007f7f007f007f01000000
; expect-mem: 0x30600=ff8080ffffff80800000000000000000ff8080ffffff80800000000000000000ff8080ffffff8080fe80ff80ffffffffff8080ffffff8080fe80ff80ffffffff
; expect-mem: 0x30640=018080ffffff7f800000000000000000018080ffffff7f800000000000000000018080ffffff7f8000800080ffffffff018080ffffff7f8000800080ffffffff
; expect-mem: 0x30680=ff7f80010100807f0000000000000000ff7f80010100807f0000000000000000ff7f80010100807ffe7fff7f01000000ff7f80010100807ffe7fff7f01000000
; expect-mem: 0x306c0=fc030000000000000000000000000000fc030000000000000000000000000000fc03000000000000fa05000000000000fc03000000000000fa05000000000000
; expect-mem: 0x30700=0000ff000000000000000000000000000000ff000000000000000000000000000000ff000000000000000000000000000000ff00000000000000000000000000
; expect-mem: 0x30740=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30780=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x307c0=00ff0000ffffff000000000000000000ff0000ff000000ff000000000000000000ff0000ffffff0000ffff000000ffffff0000ff000000ffff0000ffffff0000
; expect-mem: 0x30800=ffff0000ffff000000000000000000000000ffff0000ffff0000000000000000ffff0000ffff0000ffff00000000ffff0000ffff0000ffff0000ffffffff0000
; expect-mem: 0x30840=00000000000000000000000000000000ffffffffffffffff0000000000000000000000000000000000000000ffffffffffffffffffffffffffffffff00000000
; expect-mem: 0x30880=01008001010000000000000000000000010080010100000000000000000000000100800101000000000000000100000001008001010000000000000001000000
; expect-mem: 0x308c0=00800000feff807f0000000000000000fe7f00fe00007f80000000000000000000800000feff807f0080ff7f0000fffffe7f00fe00007f80fe7f0080feff0000
; expect-mem: 0x30900=ffff80ffffffffff0000000000000000ffff80ffffffffff0000000000000000ffff80fffffffffffeffffffffffffffffff80fffffffffffeffffffffffffff
; expect-mem: 0x30940=feff00fefeffffff0000000000000000feff00fefeffffff0000000000000000feff00fefefffffffefffffffefffffffeff00fefefffffffefffffffeffffff
; expect-mem: 0x30980=7f800180807fff7f0000000000000000807fff7f7f80018000000000000000007f8001807f80ff00807fff7f807f01ff807fff7f807f01ff7f8001807f80ff00
; expect-mem: 0x309c0=00800080ff7fff7f0000000000000000ff7fff7f008000800000000000000000008000800080ff7fff7fff7fff7f0080ff7fff7fff7f0080008000800080ff7f
; expect-mem: 0x30a00=ff00010000ff00ff000000000000000000ff00ffff0001000000000000000000ff000100ff00000000ff00ff00ff010000ff00ff00ff0100ff000100ff000000
; expect-mem: 0x30a40=ff017f808080ff01000000000000000001ff807f808001ff0000000000000000ff017f808080ff0101ff00ff7f80807f01ff807f808001ffff01ff00807f7f80
; expect-mem: 0x30a80=ff7f018080ff800100000000000000000180ff7f800180ff0000000000000000ff7f018080ff80010100ffff7f80807f0180ff7f800180ffffff0100807f7f80
; expect-mem: 0x30ac0=ff7f80ff01808001000000000000000001808001ff7f80ff0000000000000000ff7f80ff0180800101007f80ffff807f01808001ff7f80ffffff807f01007f80
; expect-mem: 0x30b00=01ff00ff7f80807f0000000000000000ff01ff00807f7f800000000000000000fe007f8000ff807fff01ff0000ff00ff00fe807fff007f8001ff00ffff00ff00
; expect-mem: 0x30b40=0100ffff7f80807f0000000000000000ffff0100807f7f800000000000000000fe7f00800080ff7fffff01000000ffff0080fe7fff7f00800100ffffffff0000
; expect-mem: 0x30b80=01007f80ffff807f0000000000000000ffff807f01007f800000000000000000fe7f00800080ff7fffff00000100ffff0080ff7ffe7f00800100ffffffff0000
; expect-mem: 0x30bc0=ff7f80ff01007f8001808001ffff807ffe7f0080ffff00000080ff7f0100fffff8ff00fc0800f8030000000000000000f8ff00fc0800f803f0ff0000f8ff0000
; expect-mem: 0x30c00=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30c40=02000003feff00ff000000000000000002000003feff00ff0000feff0200feff0080000000800000000000000000000000800000008000000000008000800080
; expect-mem: 0x30c80=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30cc0=f8ff03fc0800f8030000000000000000f8ff03fc0800f803f0ff0300f8ff07000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30d00=000000000000000000000000000000000000000000000000000000000000000002000103feff01ff000000000000000002000103feff01ff0000ffff0200feff
; expect-mem: 0x30d40=00000080000000800000000000000000000000800000008000000000000000800000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30d80=0000000000000000000000000000000000000000000000000000000000000000f8ff03fc0f00f8030000000000000000f8ff03fc0f00f803f0ff0300fcff0700
; expect-mem: 0x30dc0=00000000feff00ff000000000000000000000000feff00ff00000000fcff00000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30e00=02000103feff01ff000000000000000002000103feff01ff0000ffff0200feff0000000000000080000000000000000000000000000000800000000000000000
; expect-mem: 0x30e40=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30e80=ff0ff01f00000f100000000000000000ff0ff01f00000f10ff0f0010ff1f00000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30ec0=00000000000000000000000000000000000000000000000000000000000000000040c000ff7fc03f00000000000000000040c000ff7fc03f0040ff3f0000ff7f
; expect-mem: 0x30f00=01000000010000000000000000000000010000000100000001000000000001000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30f40=0000000000000000000000000000000000000000000000000000000000000000ff0ff01f00e00f100000000000000000ff0ff01f00e00f10ff0f0010ff1f0000
; expect-mem: 0x30f80=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x30fc0=0040c000ff7fc03f00000000000000000040c000ff7fc03f00c0ff3f0080ff7f0000000000000000000000000000000000000000000000000000000001000000
; expect-mem: 0x31000=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x31040=ff0ff03f00e00f100000000000000000ff0ff03f00e00f10ff0f00f0ff1f000000803f4000000000000000000000000000803f4000000000ff7f000000000000
; expect-mem: 0x31080=00000000000000000000000000000000000000000000000000000000000000000040c080ff7fc03f00000000000000000040c080ff7fc03f00c0ffbf0080ff7f
; expect-mem: 0x310c0=00000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x31100=0000000000000000000000000000000000000000000000000000000000000000ff0ff0ff00000ff00000000000000000ff0ff0ff00000ff0ff0f00f0ffff0000
; expect-mem: 0x31140=0000ffff0000ffff00000000000000000000ffff0000ffff0000ffffffff00000000ffff0000ffff00000000000000000000ffff0000ffff0000ffffffff0000
; expect-mem: 0x31180=00c0c000ffffc03f000000000000000000c0c000ffffc03f00c0ff3f0000ffffffff0000ffff00000000000000000000ffff0000ffff0000ffff00000000ffff
; expect-mem: 0x311c0=ffff0000ffff00000000000000000000ffff0000ffff0000ffff00000000ffffffff0000ffff00000000000000000000ffff0000ffff0000ffff00000000ffff
; expect-mem: 0x31200=ff0ff0ff00e00ff00000000000000000ff0ff0ff00e00ff0ff0f00f0ff1f0000ffffffffffffffff0000000000000000ffffffffffffffffffffffff00000000
; expect-mem: 0x31240=ffffffffffffffff0000000000000000ffffffffffffffffffffffff000000000040c000ff7fc03f00000000000000000040c000ff7fc03f00c0ff3f0080ffff
; expect-mem: 0x31280=00000000000000000000000000000000000000000000000000000000ffffffff00000000000000000000000000000000000000000000000000000000ffffffff
; expect-mem: 0x312c0=00000000000000000000000000000000000000000000000000000000ffffffffff7f80ff01007f80fe7f0080ffff00000000000000ff7f80ff01007f80fe7f00
; expect-mem: 0x31300=000000000000000000000000000000ff0000000000000000000000000000000000000000000000000000000000000000ff7f80ff01007f80fe7f0080ffff0000
; expect-mem: 0x31340=007f80fe7f0080ffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x31380=7f80010080ffff7f00000000000000000100ffff0080ff7fffff807f0180800101808001ffff807fffff0100ff7f0080807fffff800101800080ff7f0100ffff
; expect-mem: 0x313c0=ff7f80ff01007f80000000000000000001808001ffff807f0080ff7f0100ffff01808001ffff807f0080ff7f0100ffff01808001ffff807f0080ff7f0100ffff
; expect-mem: 0x31400=ff7fff7fff7fff7f00000000000000000180800101808001018080010180800101808001ffff807f008000800080008001800180018001800080ff7f0100ffff
; expect-mem: 0x31440=7f807f807f807f8000000000000000000100ffff0100ffff0100ffff0100ffff01808001ffff807fffffffffffffffff807f807f807f807f0080ff7f0100ffff
; expect-mem: 0x31480=0080ff7f0100ffff01808001ffff807fff7f0000000000000000000000000000800100000000000000000000000000007f800000000000000000000000000000
; expect-mem: 0x314c0=0080000000000000000000000000000001000000000000000000000000000000ffff00000000000000000000000000008d000000000000000000000000000000
; expect-mem: 0x31500=76c60000000000000000000000000000ffff0000000000000000000000000000ff7f80ffcdab7f800000000000000000ff7f80ffcdab807f0000000000000000
; expect-mem: 0x31540=01808001ffff807f0080cdab0100ffff7f808001ffff807f0080cdab0100ffffefcdab89000000000000000000000000efcdab89000000000000000000000000
; expect-mem: 0x31580=0180800100000000000000000000000001808001000000000000000000000000ff01007f000000000000000000000000007f80fe000000000000000000000000
; expect-mem: 0x315c0=0000000001808001000000000000000000000000000000000180800100000000efcdab89674523010000000000000000efcdab89674523010000000000000000
; expect-mem: 0x31600=01808001ffff807f000000000000000001808001ffff807f00000000000000000080ff7f0100ffff000000000000000001808001ffff807f0000000000000000
; expect-mem: 0x31640=01808001ffff807f000000000000000000000001808001ffff807f0000000000000000000001808001ffff807f00000001808001ffff807f0000000000000000
; expect-mem: 0x31680=01808001ffff807f000000000000000080fe7f0080ffff000001808001ffff800080fe7f0080ffff000001808001ffff80000000000000000000000000000000
; expect-mem: 0x316c0=80fe7f0080ffff000001808001ffff8080fe7f0080ffff000001808001ffff80000000000000000001808001ffff807f017f800101007f7f0000000000000000
; expect-mem: 0x31700=000000007f800001007f00007f0000000000000000000000000000000000000001808001ffff807f000000000000000080fe7f0080ffff000000000000000000
bits 64
org 0x10000

RESULTS equ 0x30000
    mov edi, RESULTS
    ; ---- binary operations: each as op mm, mm / op mm, m64 / op xmm, xmm / op xmm, m128
    ; paddb
    movq mm0, [rel A]
    movq mm1, [rel B]
    paddb mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    paddb mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    paddb xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    paddb xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; paddw
    movq mm1, [rel A]
    movq mm2, [rel B]
    paddw mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    paddw mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    paddw xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    paddw xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; paddd
    movq mm2, [rel A]
    movq mm3, [rel B]
    paddd mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    paddd mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    paddd xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    paddd xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; paddq
    movq mm3, [rel A]
    movq mm4, [rel B]
    paddq mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    paddq mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    paddq xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    paddq xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; paddsb
    movq mm4, [rel A]
    movq mm5, [rel B]
    paddsb mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    paddsb mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    paddsb xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    paddsb xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; paddsw
    movq mm5, [rel A]
    movq mm6, [rel B]
    paddsw mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    paddsw mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    paddsw xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    paddsw xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; paddusb
    movq mm6, [rel A]
    movq mm7, [rel B]
    paddusb mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    paddusb mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    paddusb xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    paddusb xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; paddusw
    movq mm7, [rel A]
    movq mm0, [rel B]
    paddusw mm7, mm0
    movq [rdi], mm7
    add rdi, 16
    movq mm1, [rel B]
    paddusw mm1, [rel A]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm15, [rel A]
    movdqa xmm10, [rel B]
    paddusw xmm15, xmm10
    movdqu [rdi], xmm15
    add rdi, 16
    paddusw xmm10, [rel A]
    movdqu [rdi], xmm10
    add rdi, 16
    ; psubb
    movq mm0, [rel A]
    movq mm1, [rel B]
    psubb mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    psubb mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    psubb xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    psubb xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; psubw
    movq mm1, [rel A]
    movq mm2, [rel B]
    psubw mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    psubw mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    psubw xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    psubw xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; psubd
    movq mm2, [rel A]
    movq mm3, [rel B]
    psubd mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    psubd mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    psubd xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    psubd xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; psubq
    movq mm3, [rel A]
    movq mm4, [rel B]
    psubq mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    psubq mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    psubq xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    psubq xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; psubsb
    movq mm4, [rel A]
    movq mm5, [rel B]
    psubsb mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    psubsb mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    psubsb xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    psubsb xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; psubsw
    movq mm5, [rel A]
    movq mm6, [rel B]
    psubsw mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    psubsw mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    psubsw xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    psubsw xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; psubusb
    movq mm6, [rel A]
    movq mm7, [rel B]
    psubusb mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    psubusb mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    psubusb xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    psubusb xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; psubusw
    movq mm7, [rel A]
    movq mm0, [rel B]
    psubusw mm7, mm0
    movq [rdi], mm7
    add rdi, 16
    movq mm1, [rel B]
    psubusw mm1, [rel A]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm15, [rel A]
    movdqa xmm10, [rel B]
    psubusw xmm15, xmm10
    movdqu [rdi], xmm15
    add rdi, 16
    psubusw xmm10, [rel A]
    movdqu [rdi], xmm10
    add rdi, 16
    ; pmullw
    movq mm0, [rel A]
    movq mm1, [rel B]
    pmullw mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    pmullw mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    pmullw xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    pmullw xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; pmulhw
    movq mm1, [rel A]
    movq mm2, [rel B]
    pmulhw mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    pmulhw mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    pmulhw xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    pmulhw xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; pmulhuw
    movq mm2, [rel A]
    movq mm3, [rel B]
    pmulhuw mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    pmulhuw mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    pmulhuw xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    pmulhuw xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; pmuludq
    movq mm3, [rel A]
    movq mm4, [rel B]
    pmuludq mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    pmuludq mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    pmuludq xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    pmuludq xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; pmaddwd
    movq mm4, [rel A]
    movq mm5, [rel B]
    pmaddwd mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    pmaddwd mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    pmaddwd xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    pmaddwd xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; pavgb
    movq mm5, [rel A]
    movq mm6, [rel B]
    pavgb mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    pavgb mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    pavgb xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    pavgb xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; pavgw
    movq mm6, [rel A]
    movq mm7, [rel B]
    pavgw mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    pavgw mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    pavgw xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    pavgw xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; pminub
    movq mm7, [rel A]
    movq mm0, [rel B]
    pminub mm7, mm0
    movq [rdi], mm7
    add rdi, 16
    movq mm1, [rel B]
    pminub mm1, [rel A]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm15, [rel A]
    movdqa xmm10, [rel B]
    pminub xmm15, xmm10
    movdqu [rdi], xmm15
    add rdi, 16
    pminub xmm10, [rel A]
    movdqu [rdi], xmm10
    add rdi, 16
    ; pmaxub
    movq mm0, [rel A]
    movq mm1, [rel B]
    pmaxub mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    pmaxub mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    pmaxub xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    pmaxub xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; pminsw
    movq mm1, [rel A]
    movq mm2, [rel B]
    pminsw mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    pminsw mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    pminsw xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    pminsw xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; pmaxsw
    movq mm2, [rel A]
    movq mm3, [rel B]
    pmaxsw mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    pmaxsw mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    pmaxsw xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    pmaxsw xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; psadbw
    movq mm3, [rel A]
    movq mm4, [rel B]
    psadbw mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    psadbw mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    psadbw xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    psadbw xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; pcmpeqb
    movq mm4, [rel A]
    movq mm5, [rel B]
    pcmpeqb mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    pcmpeqb mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    pcmpeqb xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    pcmpeqb xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; pcmpeqw
    movq mm5, [rel A]
    movq mm6, [rel B]
    pcmpeqw mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    pcmpeqw mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    pcmpeqw xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    pcmpeqw xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; pcmpeqd
    movq mm6, [rel A]
    movq mm7, [rel B]
    pcmpeqd mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    pcmpeqd mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    pcmpeqd xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    pcmpeqd xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; pcmpgtb
    movq mm7, [rel A]
    movq mm0, [rel B]
    pcmpgtb mm7, mm0
    movq [rdi], mm7
    add rdi, 16
    movq mm1, [rel B]
    pcmpgtb mm1, [rel A]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm15, [rel A]
    movdqa xmm10, [rel B]
    pcmpgtb xmm15, xmm10
    movdqu [rdi], xmm15
    add rdi, 16
    pcmpgtb xmm10, [rel A]
    movdqu [rdi], xmm10
    add rdi, 16
    ; pcmpgtw
    movq mm0, [rel A]
    movq mm1, [rel B]
    pcmpgtw mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    pcmpgtw mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    pcmpgtw xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    pcmpgtw xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; pcmpgtd
    movq mm1, [rel A]
    movq mm2, [rel B]
    pcmpgtd mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    pcmpgtd mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    pcmpgtd xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    pcmpgtd xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; pand
    movq mm2, [rel A]
    movq mm3, [rel B]
    pand mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    pand mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    pand xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    pand xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; pandn
    movq mm3, [rel A]
    movq mm4, [rel B]
    pandn mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    pandn mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    pandn xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    pandn xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; por
    movq mm4, [rel A]
    movq mm5, [rel B]
    por mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    por mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    por xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    por xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; pxor
    movq mm5, [rel A]
    movq mm6, [rel B]
    pxor mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    pxor mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    pxor xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    pxor xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; packsswb
    movq mm6, [rel A]
    movq mm7, [rel B]
    packsswb mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    packsswb mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    packsswb xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    packsswb xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; packssdw
    movq mm7, [rel A]
    movq mm0, [rel B]
    packssdw mm7, mm0
    movq [rdi], mm7
    add rdi, 16
    movq mm1, [rel B]
    packssdw mm1, [rel A]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm15, [rel A]
    movdqa xmm10, [rel B]
    packssdw xmm15, xmm10
    movdqu [rdi], xmm15
    add rdi, 16
    packssdw xmm10, [rel A]
    movdqu [rdi], xmm10
    add rdi, 16
    ; packuswb
    movq mm0, [rel A]
    movq mm1, [rel B]
    packuswb mm0, mm1
    movq [rdi], mm0
    add rdi, 16
    movq mm2, [rel B]
    packuswb mm2, [rel A]
    movq [rdi], mm2
    add rdi, 16
    movdqa xmm8, [rel A]
    movdqa xmm11, [rel B]
    packuswb xmm8, xmm11
    movdqu [rdi], xmm8
    add rdi, 16
    packuswb xmm11, [rel A]
    movdqu [rdi], xmm11
    add rdi, 16
    ; punpcklbw
    movq mm1, [rel A]
    movq mm2, [rel B]
    punpcklbw mm1, mm2
    movq [rdi], mm1
    add rdi, 16
    movq mm3, [rel B]
    punpcklbw mm3, [rel A]
    movq [rdi], mm3
    add rdi, 16
    movdqa xmm9, [rel A]
    movdqa xmm12, [rel B]
    punpcklbw xmm9, xmm12
    movdqu [rdi], xmm9
    add rdi, 16
    punpcklbw xmm12, [rel A]
    movdqu [rdi], xmm12
    add rdi, 16
    ; punpcklwd
    movq mm2, [rel A]
    movq mm3, [rel B]
    punpcklwd mm2, mm3
    movq [rdi], mm2
    add rdi, 16
    movq mm4, [rel B]
    punpcklwd mm4, [rel A]
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm10, [rel A]
    movdqa xmm13, [rel B]
    punpcklwd xmm10, xmm13
    movdqu [rdi], xmm10
    add rdi, 16
    punpcklwd xmm13, [rel A]
    movdqu [rdi], xmm13
    add rdi, 16
    ; punpckldq
    movq mm3, [rel A]
    movq mm4, [rel B]
    punpckldq mm3, mm4
    movq [rdi], mm3
    add rdi, 16
    movq mm5, [rel B]
    punpckldq mm5, [rel A]
    movq [rdi], mm5
    add rdi, 16
    movdqa xmm11, [rel A]
    movdqa xmm14, [rel B]
    punpckldq xmm11, xmm14
    movdqu [rdi], xmm11
    add rdi, 16
    punpckldq xmm14, [rel A]
    movdqu [rdi], xmm14
    add rdi, 16
    ; punpckhbw
    movq mm4, [rel A]
    movq mm5, [rel B]
    punpckhbw mm4, mm5
    movq [rdi], mm4
    add rdi, 16
    movq mm6, [rel B]
    punpckhbw mm6, [rel A]
    movq [rdi], mm6
    add rdi, 16
    movdqa xmm12, [rel A]
    movdqa xmm15, [rel B]
    punpckhbw xmm12, xmm15
    movdqu [rdi], xmm12
    add rdi, 16
    punpckhbw xmm15, [rel A]
    movdqu [rdi], xmm15
    add rdi, 16
    ; punpckhwd
    movq mm5, [rel A]
    movq mm6, [rel B]
    punpckhwd mm5, mm6
    movq [rdi], mm5
    add rdi, 16
    movq mm7, [rel B]
    punpckhwd mm7, [rel A]
    movq [rdi], mm7
    add rdi, 16
    movdqa xmm13, [rel A]
    movdqa xmm8, [rel B]
    punpckhwd xmm13, xmm8
    movdqu [rdi], xmm13
    add rdi, 16
    punpckhwd xmm8, [rel A]
    movdqu [rdi], xmm8
    add rdi, 16
    ; punpckhdq
    movq mm6, [rel A]
    movq mm7, [rel B]
    punpckhdq mm6, mm7
    movq [rdi], mm6
    add rdi, 16
    movq mm0, [rel B]
    punpckhdq mm0, [rel A]
    movq [rdi], mm0
    add rdi, 16
    movdqa xmm14, [rel A]
    movdqa xmm9, [rel B]
    punpckhdq xmm14, xmm9
    movdqu [rdi], xmm14
    add rdi, 16
    punpckhdq xmm9, [rel A]
    movdqu [rdi], xmm9
    add rdi, 16
    ; ---- XMM-only unpacks
    movdqa xmm0, [rel A]
    punpcklqdq xmm0, [rel B]
    movdqu [rdi], xmm0
    add rdi, 16
    movdqa xmm1, [rel A]
    punpckhqdq xmm1, [rel B]
    movdqu [rdi], xmm1
    add rdi, 16
    ; ---- shifts: count in a register or in memory (the low quadword; the
    ; high one is ignored) - 3, 33 and 2^32 + 3 - and imm8 counts 1, width - 1,
    ; width and 255; a count above width - 1 shifts every bit out (PSLL/PSRL)
    ; or fills the lane with its sign (PSRA)
    ; psllw
    movq mm1, [rel A]
    psllw mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psllw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psllw mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psllw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psllw mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psllw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psllw mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllw xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllw mm4, 15
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllw xmm5, 15
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllw mm4, 16
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllw xmm5, 16
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllw mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllw xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; pslld
    movq mm1, [rel A]
    pslld mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    pslld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    pslld mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    pslld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    pslld mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    pslld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    pslld mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    pslld xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    pslld mm4, 31
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    pslld xmm5, 31
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    pslld mm4, 32
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    pslld xmm5, 32
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    pslld mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    pslld xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psllq
    movq mm1, [rel A]
    psllq mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psllq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psllq mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psllq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psllq mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psllq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psllq mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllq xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllq mm4, 63
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllq xmm5, 63
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllq mm4, 64
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllq xmm5, 64
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psllq mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psllq xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psrlw
    movq mm1, [rel A]
    psrlw mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psrlw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrlw mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psrlw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrlw mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psrlw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psrlw mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlw xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlw mm4, 15
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlw xmm5, 15
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlw mm4, 16
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlw xmm5, 16
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlw mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlw xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psrld
    movq mm1, [rel A]
    psrld mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psrld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrld mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psrld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrld mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psrld xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psrld mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrld xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrld mm4, 31
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrld xmm5, 31
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrld mm4, 32
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrld xmm5, 32
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrld mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrld xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psrlq
    movq mm1, [rel A]
    psrlq mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psrlq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrlq mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psrlq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrlq mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psrlq xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psrlq mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlq xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlq mm4, 63
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlq xmm5, 63
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlq mm4, 64
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlq xmm5, 64
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrlq mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrlq xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psraw
    movq mm1, [rel A]
    psraw mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psraw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psraw mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psraw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psraw mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psraw xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psraw mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psraw xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psraw mm4, 15
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psraw xmm5, 15
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psraw mm4, 16
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psraw xmm5, 16
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psraw mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psraw xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    ; psrad
    movq mm1, [rel A]
    psrad mm1, [rel C3]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel C3]
    psrad xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrad mm1, [rel CW]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CW]
    psrad xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm1, [rel A]
    psrad mm1, [rel CBIG]
    movq [rdi], mm1
    add rdi, 16
    movdqa xmm2, [rel A]
    movdqa xmm3, [rel CBIG]
    psrad xmm2, xmm3
    movdqu [rdi], xmm2
    add rdi, 16
    movq mm4, [rel B]
    psrad mm4, 1
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrad xmm5, 1
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrad mm4, 31
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrad xmm5, 31
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrad mm4, 32
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrad xmm5, 32
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm4, [rel B]
    psrad mm4, 255
    movq [rdi], mm4
    add rdi, 16
    movdqa xmm5, [rel B]
    psrad xmm5, 255
    movdqu [rdi], xmm5
    add rdi, 16
    movdqa xmm6, [rel A]
    pslldq xmm6, 0
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    pslldq xmm6, 5
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    pslldq xmm6, 15
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    pslldq xmm6, 16
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    pslldq xmm6, 200
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    psrldq xmm6, 0
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    psrldq xmm6, 5
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    psrldq xmm6, 15
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    psrldq xmm6, 16
    movdqu [rdi], xmm6
    add rdi, 16
    movdqa xmm6, [rel A]
    psrldq xmm6, 200
    movdqu [rdi], xmm6
    add rdi, 16
    ; ---- shuffles
    pshufw mm2, [rel A], 0x1b
    movq [rdi], mm2
    add rdi, 16
    pshufd xmm7, [rel B], 0x1b
    movdqu [rdi], xmm7
    add rdi, 16
    pshufhw xmm7, [rel B], 0x1b
    movdqu [rdi], xmm7
    add rdi, 16
    pshuflw xmm7, [rel B], 0x1b
    movdqu [rdi], xmm7
    add rdi, 16
    pshufw mm2, [rel A], 0xe4
    movq [rdi], mm2
    add rdi, 16
    pshufd xmm7, [rel B], 0xe4
    movdqu [rdi], xmm7
    add rdi, 16
    pshufhw xmm7, [rel B], 0xe4
    movdqu [rdi], xmm7
    add rdi, 16
    pshuflw xmm7, [rel B], 0xe4
    movdqu [rdi], xmm7
    add rdi, 16
    pshufw mm2, [rel A], 0x0
    movq [rdi], mm2
    add rdi, 16
    pshufd xmm7, [rel B], 0x0
    movdqu [rdi], xmm7
    add rdi, 16
    pshufhw xmm7, [rel B], 0x0
    movdqu [rdi], xmm7
    add rdi, 16
    pshuflw xmm7, [rel B], 0x0
    movdqu [rdi], xmm7
    add rdi, 16
    pshufw mm2, [rel A], 0xff
    movq [rdi], mm2
    add rdi, 16
    pshufd xmm7, [rel B], 0xff
    movdqu [rdi], xmm7
    add rdi, 16
    pshufhw xmm7, [rel B], 0xff
    movdqu [rdi], xmm7
    add rdi, 16
    pshuflw xmm7, [rel B], 0xff
    movdqu [rdi], xmm7
    add rdi, 16
    movdqa xmm1, [rel B]
    pshufd xmm1, xmm1, 0x4e
    movdqu [rdi], xmm1
    add rdi, 16
    ; ---- PEXTRW / PINSRW / PMOVMSKB
    movq mm3, [rel A]
    movdqa xmm4, [rel B]
    mov rax, -1
    pextrw eax, mm3, 0
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw eax, xmm4, 1
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw eax, mm3, 3
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw eax, xmm4, 4
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw eax, mm3, 6
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw eax, xmm4, 7
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pmovmskb eax, mm3
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pmovmskb eax, xmm4
    mov [rdi], rax
    add rdi, 16
    mov rax, -1
    pextrw rax, xmm4, 7
    mov [rdi], rax
    add rdi, 16
    mov eax, 0x1234abcd
    pinsrw mm3, eax, 2
    movq [rdi], mm3
    add rdi, 16
    pinsrw mm3, [rel B+6], 7
    movq [rdi], mm3
    add rdi, 16
    pinsrw xmm4, eax, 5
    movdqu [rdi], xmm4
    add rdi, 16
    pinsrw xmm4, [rel A+1], 8
    movdqu [rdi], xmm4
    add rdi, 16
    ; ---- moves: MOVD/MOVQ in every form
    mov eax, 0x89abcdef
    movd mm5, eax
    movq [rdi], mm5
    add rdi, 16
    movd xmm5, eax
    movdqu [rdi], xmm5
    add rdi, 16
    movq mm6, [rel B]
    movd eax, mm6
    mov [rdi], rax
    add rdi, 16
    movdqa xmm6, [rel B]
    movd eax, xmm6
    mov [rdi], rax
    add rdi, 16
    movd mm7, [rel A+3]
    movq [rdi], mm7
    add rdi, 16
    movd xmm7, [rel A+5]
    movdqu [rdi], xmm7
    add rdi, 16
    movd [rdi+4], mm6
    add rdi, 16
    movd [rdi+8], xmm6
    add rdi, 16
    mov rax, 0x0123456789abcdef
    movq mm0, rax
    movq [rdi], mm0
    add rdi, 16
    movq xmm0, rax
    movdqu [rdi], xmm0
    add rdi, 16
    movq rax, mm6
    mov [rdi], rax
    add rdi, 16
    movq rax, xmm6
    mov [rdi], rax
    add rdi, 16
    movdqa xmm0, [rel A]
    movq xmm0, [rel B+8]
    movdqu [rdi], xmm0
    add rdi, 16
    movdqa xmm1, [rel A]
    movq xmm1, xmm6
    movdqu [rdi], xmm1
    add rdi, 16
    movdqa xmm2, [rel A]
    db 0x66, 0x0f, 0xd6, 0xf2              ; movq xmm2, xmm6 (66 0F D6)
    movdqu [rdi], xmm2
    add rdi, 16
    movq [rdi+3], xmm6                    ; 66 0F D6 store
    add rdi, 16
    movq [rdi+5], mm6
    add rdi, 16
    movq mm1, mm6
    movq [rdi], mm1
    add rdi, 16
    db 0x0f, 0x7f, 0xf2                    ; movq mm2, mm6 (0F 7F)
    movq [rdi], mm2
    add rdi, 16
    ; ---- MOVDQA / MOVDQU / MOVNTDQ / MOVNTQ
    movdqu xmm3, [rel A+7]
    movdqu [rdi], xmm3
    add rdi, 16
    movdqu [rdi+1], xmm3
    add rdi, 32
    movdqa xmm4, xmm3
    movdqu [rdi], xmm4
    add rdi, 16
    movntdq [rdi], xmm4
    add rdi, 16
    movntq [rdi+8], mm6
    add rdi, 16
    ; ---- MASKMOVQ / MASKMOVDQU (bytes whose mask sign bit is set, at DS:rDI)
    mov [rdi], rax
    movq mm0, [rel A]
    movq mm1, [rel B]
    maskmovq mm0, mm1
    add rdi, 16
    movdqa xmm0, [rel A]
    movdqa xmm1, [rel B]
    add rdi, 3
    maskmovdqu xmm0, xmm1
    add rdi, 29
    ; ---- MOVQ2DQ / MOVDQ2Q
    movdqa xmm5, [rel B]
    movq2dq xmm5, mm6
    movdqu [rdi], xmm5
    add rdi, 16
    movdq2q mm5, xmm3
    movq [rdi], mm5
    add rdi, 16
    emms

    hlt

align 16
A:    dq 0x807f0001ff807fff, 0x0000ffff80007ffe
B:    dq 0x7f80ffff01808001, 0xffff00017fff8000
C3:   dq 3, 0xffffffffffffffff          ; the high quadword of a count is ignored
CW:   dq 33, 0
CBIG: dq 0x100000003, 0                 ; above every lane width
