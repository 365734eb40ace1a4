; String instructions in 32-bit protected mode (SDM Vol. 2 MOVS, STOS,
; CMPS, SCAS, LODS with REP/REPE/REPNE, DF = 0 and DF = 1). Source data at
; 0x10400, destinations at 0x10500; counters and pointers stored at 0x10600.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10500=41424344780000007811223344556677efbeefbeefbe0000
; expect-mem: 0x10600=0504010005050100000000000004010004050100160501000500000005040100950000000c00000004040100781122330004010000050100
bits 32
org 0x10000

    cld
    ; REP MOVSB forward: 5 bytes src -> dst; ESI/EDI advance by 5, ECX = 0.
    mov esi, src
    mov edi, dst
    mov ecx, 5
    rep movsb
    mov [out + 0], esi                ; src + 5
    mov [out + 4], edi                ; dst + 5
    mov [out + 8], ecx                ; 0
    ; REP MOVSD backward (DF = 1): copy the dwords src+4..src+11 to
    ; dst+8..dst+15 starting from the last one.
    std
    mov esi, src + 8
    mov edi, dst + 12
    mov ecx, 2
    rep movsd                         ; [dst+12] = [src+8], [dst+8] = [src+4]
    mov [out + 12], esi               ; src + 0
    mov [out + 16], edi               ; dst + 4
    cld
    ; REP STOSW with AX = 0xbeef, 3 words at dst + 16.
    mov eax, 0xbeef
    mov edi, dst + 16
    mov ecx, 3
    rep stosw
    mov [out + 20], edi               ; dst + 22
    ; REPE CMPSB: src "ABCDx" vs cmpstr "ABCDy": stops after the 5th byte
    ; (mismatch) with ECX = 10 - 5 = 5; flags of CMP 'x', 'y': CF SF AF PF.
    mov esi, src
    mov edi, cmpstr
    mov ecx, 10
    repe cmpsb
    mov [out + 24], ecx               ; 5
    mov [out + 28], esi               ; src + 5
    pushfd
    pop eax
    and eax, 0x8d5
    mov [out + 32], eax               ; 'x' - 'y' = 0xff: CF SF AF PF = 0x95
    ; REPNE SCASB for 'D' in src: found at index 3; EDI points past it,
    ; ECX = 16 - 4 = 12, ZF = 1.
    mov al, 'D'
    mov edi, src
    mov ecx, 16
    repne scasb
    mov [out + 36], ecx               ; 12
    mov [out + 40], edi               ; src + 4
    ; LODSD backward: loads the dword at ESI, then ESI -= 4.
    std
    mov esi, src + 4
    lodsd
    mov [out + 44], eax               ; [src+4] = 'x' 0x11 0x22 0x33
    mov [out + 48], esi               ; src + 0
    cld
    ; REP with ECX = 0 does nothing.
    xor ecx, ecx
    mov edi, dst
    rep stosb
    mov [out + 52], edi               ; dst (unchanged)
    hlt

    times 0x400-($-$$) db 0
src:    db 'ABCDx', 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0, 0, 0, 0
cmpstr: db 'ABCDy', 0, 0, 0
    times 0x500-($-$$) db 0
dst:    times 24 db 0
    times 0x600-($-$$) db 0
out:    times 56 db 0xee
