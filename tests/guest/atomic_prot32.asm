; Atomic read-modify-write instructions in 32-bit protected mode (SDM Vol. 2
; XADD, CMPXCHG, CMPXCHG8B, LOCK). Operands at 0x10400, results at 0x10500.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=10000000c80000003333333344444444
; expect-mem: 0x10500=f00000000100000001000100c8000000090000003333333344444444
bits 32
org 0x10000

    ; LOCK XADD [m8], r8: 0xf0 + 0x20 = 0x10 with carry; the register gets
    ; the old value 0xf0; flags as ADD: CF, AF = 0 (0 + 0), PF (0x10: one 1
    ; -> 0). -> 0x001
    mov byte [m0], 0xf0
    mov bl, 0x20
    lock xadd [m0], bl
    movzx eax, bl
    mov [out + 0], eax                ; 0xf0
    pushfd
    pop eax
    and eax, 0x8d5
    mov [out + 4], eax                ; 0x001
    ; CMPXCHG r/m32 success: EAX == [m1] -> [m1] = ECX, ZF = 1.
    mov dword [m1], 100
    mov eax, 100
    mov ecx, 200
    lock cmpxchg [m1], ecx
    setz byte [out + 8]               ; 1
    ; CMPXCHG failure: EAX (100) != [m1] (200) -> EAX = 200, ZF = 0.
    lock cmpxchg [m1], ecx
    setz byte [out + 9]               ; 0
    mov [out + 12], eax               ; 200
    ; CMPXCHG r8, r8 (register destination): AL == BL -> BL = CL.
    mov al, 7
    mov bl, 7
    mov cl, 9
    cmpxchg bl, cl
    movzx eax, bl
    mov [out + 16], eax               ; 9
    ; CMPXCHG8B success: EDX:EAX == [m8] -> [m8] = ECX:EBX, ZF = 1.
    mov dword [m8], 0x11111111
    mov dword [m8 + 4], 0x22222222
    mov eax, 0x11111111
    mov edx, 0x22222222
    mov ebx, 0x33333333
    mov ecx, 0x44444444
    lock cmpxchg8b [m8]
    setz byte [out + 10]              ; 1
    ; CMPXCHG8B failure: EDX:EAX != [m8] -> EDX:EAX = [m8], ZF = 0.
    lock cmpxchg8b [m8]               ; EDX:EAX (0x22222222:0x11111111) != ...
    setz byte [out + 11]              ; 0
    mov [out + 20], eax               ; 0x33333333
    mov [out + 24], edx               ; 0x44444444
    hlt

    times 0x400-($-$$) db 0
m0: dd 0                              ; 0x10400
m1: dd 0                              ; 0x10404
m8: dd 0, 0                           ; 0x10408
    times 0x500-($-$$) db 0
out: times 28 db 0xee
