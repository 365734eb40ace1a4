; Atomic read-modify-write instructions in real mode (SDM Vol. 2 XADD,
; CMPXCHG, CMPXCHG8B, LOCK with 16-bit addressing). Operands at offset
; 0x400, results at 0x500 (linear 0x10400 / 0x10500).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=0000800022220000a4a3a2a1b4b3b2b1
; expect-mem: 0x10500=008045087f0100012222
bits 16
org 0

    ; LOCK XADD m16: 0x8000 + 0x8000 = 0 with carry and overflow; the
    ; register gets the old 0x8000. Flags: CF OF ZF PF. -> 0x845
    mov word [m0], 0x8000
    mov bx, 0x8000
    lock xadd [m0], bx
    mov [out + 0], bx                 ; 0x8000
    pushf
    pop ax
    and ax, 0x8d5
    mov [out + 2], ax                 ; 0x845
    ; LOCK XADD with [BP + DI] addressing (SS) on a byte: 0x7f + 1 = 0x80.
    mov bp, m1 - 1
    mov di, 1
    mov byte [m1], 0x7f
    mov cl, 1
    lock xadd [bp + di], cl
    mov [out + 4], cl                 ; 0x7f
    ; CMPXCHG m16 success then failure.
    mov word [m2], 0x1111
    mov ax, 0x1111
    mov cx, 0x2222
    lock cmpxchg [m2], cx
    setz byte [out + 5]               ; 1
    lock cmpxchg [m2], cx             ; AX (0x1111) != 0x2222 -> AX = 0x2222
    setz byte [out + 6]               ; 0
    mov [out + 8], ax                 ; 0x2222
    ; CMPXCHG8B with a 16-bit address: success (memory = ECX:EBX).
    mov eax, 0x01020304
    mov edx, 0x05060708
    mov [m8], eax
    mov [m8 + 4], edx
    mov ebx, 0xa1a2a3a4
    mov ecx, 0xb1b2b3b4
    mov si, m8
    lock cmpxchg8b [si]
    setz byte [out + 7]               ; 1
    hlt

    times 0x400-($-$$) db 0
m0: dw 0                              ; 0x400
m1: db 0                              ; 0x402
    db 0
m2: dw 0                              ; 0x404
    dw 0
m8: dd 0, 0                           ; 0x408
    times 0x500-($-$$) db 0
out: times 10 db 0xee
