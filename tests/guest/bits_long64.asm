; Bit instructions in 64-bit mode (SDM Vol. 2 BT, BTS, BTR, BTC, BSF, BSR,
; POPCNT, LZCNT, TZCNT, ANDN, BEXTR, BLSI, BLSMSK, BLSR, BZHI, PDEP, PEXT,
; RORX, SARX, SHLX, SHRX, MULX). After each step the flags the SDM defines
; for it (the mask given) are stored as a word in the `flg` table at
; 0x10500; results go to registers and to the `out` table at 0x10540.
; kvm: skip the PVM-based host KVM runs CPL0 code through its instruction emulator, which has no POPCNT, LZCNT/TZCNT or VEX-encoded BMI
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0x10000000000 r9=0xf7 r10=4 r11=40 r12=32 r13=16 r14=16 r15=0xf000f0
; expect: rbp=0xcde rdx=0x10 rcx=0xa0
; expect-mem: 0x104e7=00
; expect-mem: 0x104e8=00000000000000000800000000000000
; expect-mem: 0x10500=0100000001000100000040000000000001000000000001000000000000008100
; expect-mem: 0x10540=1f000000ff0f0000a050000013000000000000000000001800000000000000f81000000000000000feffffff01000000
bits 64
org 0x10000

%macro FLAGS 2                  ; table slot, mask
    pushfq
    pop rax
    and eax, %2
    mov [rel flg + 2 * %1], ax
%endmacro

    ; BT with a register offset into memory: bit 67 of the qword array at
    ; `bits` = bit 3 of the qword at bits+8 (0x08) = 1 -> CF=1; ZF is
    ; unaffected (0 here, after CMP 1, 0). -> 0x001
    mov eax, 1
    cmp eax, 0
    mov ecx, 67
    bt [rel bitarr], rcx
    FLAGS 0, 0x041
    ; BTS r64, imm: bit 40 of 0 -> 0x10000000000, CF = old bit = 0.
    xor r8d, r8d
    bts r8, 40
    FLAGS 1, 0x001
    ; BTR r32, imm8 = 35: the offset is taken modulo 32 -> bit 3 of 0xff =
    ; 1 -> 0xf7, CF = 1.
    mov r9d, 0xff
    btr r9d, 35
    FLAGS 2, 0x001
    ; BTC on memory with a negative register offset: bit -1 of `bits` is
    ; bit 7 of the byte before it (`guard` = 0x80) -> 0x00, CF = 1.
    mov rcx, -1
    btc [rel bitarr], rcx
    FLAGS 3, 0x001
    ; BSF/BSR: index of the lowest/highest set bit; ZF=0 for a non-zero
    ; source. 0x0000_0100_0000_0010: BSF = 4, BSR = 40.
    mov rax, 0x0000010000000010
    bsf r10, rax
    bsr r11, rax
    FLAGS 4, 0x040
    ; BSF with a zero source sets ZF (its destination is undefined: not
    ; checked). -> 0x040
    xor eax, eax
    bsf rsi, rax
    FLAGS 5, 0x040
    ; POPCNT: 0xf0f0f0f0f0f0f0f0 has 32 ones; OF SF ZF AF CF PF are cleared,
    ; ZF = (source == 0) = 0. -> 0x000
    mov rax, 0xf0f0f0f0f0f0f0f0
    popcnt r12, rax
    FLAGS 6, 0x8d5
    ; LZCNT r32 of 0x00008000 = 16; CF = (source == 0) = 0, ZF = (result
    ; == 0) = 0. -> 0x000
    mov eax, 0x8000
    lzcnt r13d, eax
    FLAGS 7, 0x041
    ; TZCNT r16 of 0 = 16 (the operand size), CF = 1, ZF = 0. -> 0x001
    xor eax, eax
    tzcnt r14w, ax
    FLAGS 8, 0x041
    ; ANDN: ~0xff00ff00 & 0x0ff00ff0 = 0x00f000f0; SF = ZF = 0, CF = OF = 0.
    mov eax, 0xff00ff00
    mov ecx, 0x0ff00ff0
    andn r15d, eax, ecx
    FLAGS 9, 0x8c1
    ; BEXTR: start 8, length 12 of 0x123456789abcdef0 = bits 8..19 = 0xcde;
    ; ZF = 0, CF = OF = 0.
    mov rax, 0x123456789abcdef0
    mov ecx, 0x0c08
    bextr rbp, rax, rcx
    FLAGS 10, 0x841
    ; BLSI: the lowest set bit of 0xb0 = 0x10; CF = (source != 0) = 1,
    ; SF = ZF = OF = 0. -> 0x001
    mov eax, 0xb0
    blsi edx, eax
    FLAGS 11, 0x8c1
    ; BLSR: clears the lowest set bit: 0xb0 -> 0xa0; CF = (source == 0) = 0.
    mov eax, 0xb0
    blsr ecx, eax
    FLAGS 12, 0x8c1
    ; BLSMSK: mask up to and including the lowest set bit: 0xb0 -> 0x1f;
    ; CF = (source == 0) = 0, ZF = OF = 0.
    mov eax, 0xb0
    blsmsk esi, eax
    mov [rel out], esi
    FLAGS 13, 0x8c1
    ; BZHI: clears bits from index 12 up: 0xffffffff -> 0xfff; index 12 <
    ; 32 -> CF = 0; SF = ZF = OF = 0.
    mov eax, -1
    mov esi, 12
    bzhi eax, eax, esi
    mov [rel out+4], eax
    FLAGS 14, 0x8c1
    ; BZHI with index 40 >= 32: nothing cleared, CF = 1; SF = 1 (0xffffffff).
    mov eax, -1
    mov esi, 40
    bzhi eax, eax, esi
    FLAGS 15, 0x8c1                   ; 0x081
    ; PDEP/PEXT with mask 0xf0f0: PDEP deposits the low bits of 0x5a into
    ; the mask's set bits in order: 0xa -> bits 4-7, 0x5 -> bits 12-15 =
    ; 0x50a0. PEXT(0x1234) gathers bits 4-7 (0x3) and 12-15 (0x1) = 0x13.
    mov eax, 0x5a
    mov esi, 0xf0f0
    pdep eax, eax, esi
    mov [rel out+8], eax
    mov eax, 0x1234
    pext eax, eax, esi
    mov [rel out+12], eax
    ; RORX (no flags): 0x8000000000000001 rotated right by 4 =
    ; 0x1800000000000000.
    mov rax, 0x8000000000000001
    rorx rsi, rax, 4
    mov [rel out+16], rsi
    ; SARX by 4: 0xf800000000000000; SHLX by 68 (masked to 4): 0x10.
    mov esi, 4
    sarx rsi, rax, rsi
    mov [rel out+24], rsi
    mov esi, 68
    shlx rsi, rax, rsi
    mov [rel out+32], rsi
    ; MULX r32: EDX * src = 0xffffffff * 0xffffffff = 0xfffffffe_00000001:
    ; high half to the first destination, low half to the second.
    mov edx, 0xffffffff
    mov eax, 0xffffffff
    mulx esi, eax, eax
    mov [rel out+40], esi
    mov [rel out+44], eax
    mov edx, 0x10                     ; restore the BLSI result for the check
    hlt

    times 0x4e7-($-$$) db 0
guard: db 0x80                         ; 0x104e7
bitarr: dq 0x0, 0x08                    ; 0x104e8
    times 0x500-($-$$) db 0
flg:   times 32 db 0xee                ; 0x10500
    times 0x540-($-$$) db 0
out:   times 64 db 0                   ; 0x10540
