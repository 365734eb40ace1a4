; String instructions in real mode (SDM Vol. 2 MOVS, STOS, CMPS, SCAS,
; LODS with REP/REPE/REPNE, DF = 0 and 1) with 16-bit addressing (SI, DI,
; CX) and one 32-bit-address form (67: ESI, EDI, ECX). Source at offset
; 0x400, destination 0x500, pointers/counters stored at 0x600.
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10500=616263646566000000001122334400005a5a5a5a00000000
; expect-mem: 0x10600=0604060500000504090514050000050004000500000463640404
bits 16
org 0

    cld
    ; REP MOVSW: 3 words forward.
    mov si, src
    mov di, dst
    mov cx, 3
    rep movsw
    mov [out + 0], si                 ; src + 6
    mov [out + 2], di                 ; dst + 6
    mov [out + 4], cx                 ; 0
    ; REP MOVSB backward: 4 bytes src+9..src+6 -> dst+13..dst+10.
    std
    mov si, src + 9
    mov di, dst + 13
    mov cx, 4
    rep movsb
    mov [out + 6], si                 ; src + 5
    mov [out + 8], di                 ; dst + 9
    cld
    ; REP STOSB with the 32-bit address size (67): ECX and EDI.
    mov al, 0x5a
    mov edi, dst + 16
    mov ecx, 4
    a32 rep stosb
    mov [out + 10], edi               ; dst + 20 (32-bit)
    ; REPE CMPSW: "ab" "cd" "ef" vs "ab" "cd" "eX": stops after the third
    ; word with CX = 8 - 3 = 5 and the flags of that last compare:
    mov si, src
    mov di, cmpstr
    mov cx, 8
    repe cmpsw
    mov [out + 14], cx                ; 5
    pushf
    pop ax
    and ax, 0x8d5
    mov [out + 16], ax                ; 0x6665 - 0x5865 = 0x0e00: PF -> 0x004
    ; REPNE SCASB backward for 'b' from src + 5: found at src + 1 after 5
    ; compares (src+5..src+1): CX = 10 - 5 = 5, DI = src + 0.
    std
    mov al, 'b'
    mov di, src + 5
    mov cx, 10
    repne scasb
    mov [out + 18], cx                ; 5
    mov [out + 20], di                ; src + 0
    cld
    ; LODSW forward.
    mov si, src + 2
    lodsw
    mov [out + 22], ax                ; "cd" = 0x6463
    mov [out + 24], si                ; src + 4
    hlt

    times 0x400-($-$$) db 0
src:    db 'abcdef', 0x11, 0x22, 0x33, 0x44, 0, 0
cmpstr: db 'abcdeX', 0, 0
    times 0x500-($-$$) db 0
dst:    times 24 db 0
    times 0x600-($-$$) db 0
out:    times 26 db 0xee
