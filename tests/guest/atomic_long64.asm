; Atomic read-modify-write instructions in 64-bit mode (SDM Vol. 2 XADD,
; kvm: skip this host's PVM KVM emulator fails on CMPXCHG16B (internal error)
; CMPXCHG, CMPXCHG8B/CMPXCHG16B, LOCK). Memory operands live at 0x10400.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0x10 r9=0x5 r10=0x7 r11=0x95 r12=0x44 r13=0x11 r14=0x0 r15=0x40
; expect: rax=0x2222222211111111 rdx=0x4444444433333333 rbx=0x6666666655555555 rcx=0x8888888877777777
; expect: rsi=0x1 rdi=0xffff
; expect-mem: 0x10400=1500000000000000ffff000000000000
; expect-mem: 0x10410=55555555666666667777777788888888
; expect-mem: 0x10420=111111112222222233333333444444440000000000000000
bits 64
org 0x10000

    ; LOCK XADD [m64], r64: the sum goes to memory, the old value to the
    ; register; flags as for ADD.
    mov qword [rel m0], 0x10
    mov r8d, 5
    lock xadd [rel m0], r8            ; r8 = 0x10, [m0] = 0x15
    ; XADD r, r: dest = sum, source = old dest.
    mov r9d, 2
    mov r10d, 5
    xadd r10d, r9d                    ; r10 = 7, r9 = 5
    ; CMPXCHG success: AX == [m1] (0xffff) -> [m1] = SI, ZF = 1; flags as
    ; CMP AX, [m1] (equal: ZF PF).
    mov word [rel m1], 0xffff
    mov eax, 0xffff
    mov esi, 1
    mov edi, 0xffff
    lock cmpxchg [rel m1], si         ; [m1] = 1
    pushfq
    pop r12
    and r12d, 0x8d5                   ; 0x44
    ; CMPXCHG failure: AX (0xffff) != [m1] (1) -> AX = [m1] = 1, memory is
    ; written back unchanged; flags of CMP 0xffff, 1: 0xfffe -> SF, no
    ; borrow, AF = 0 (0xf >= 0x1), PF: 0xfe has 7 ones -> 0.
    mov r13d, 0x11                    ; (marker)
    lock cmpxchg [rel m1], di         ; AX = 1; [m1] stays 1
    movzx r14d, ax
    dec r14d                          ; 0
    pushfq
    pop r15
    and r15d, 0x40                    ; ZF from DEC 1 -> 1 -> 0x40
    mov word [rel m1], 0xffff
    ; CMPXCHG r64, r64 (register destination): RAX = 3 != RCX (4) -> RAX = 4
    mov eax, 3
    mov ecx, 4
    mov edx, 9
    cmpxchg rcx, rdx                  ; RAX = 4, RCX unchanged
    pushfq
    pop r11
    and r11d, 0x8d5                   ; CMP 3, 4: -1 -> CF SF AF PF = 0x95
    ; CMPXCHG16B [m16] (16-byte aligned): RDX:RAX == memory -> memory =
    ; RCX:RBX, ZF = 1.
    mov rax, 0x2222222211111111
    mov rdx, 0x4444444433333333
    mov [rel m16], rax
    mov [rel m16+8], rdx
    mov rbx, 0x6666666655555555
    mov rcx, 0x8888888877777777
    lock cmpxchg16b [rel m16]         ; memory = rcx:rbx
    ; CMPXCHG8B failure: EDX:EAX (0:0) != [m8] -> EDX:EAX = [m8] (32-bit
    ; loads, zero-extended), memory written back unchanged.
    mov rax, 0x2222222211111111
    mov [rel m8], rax
    mov rax, 0x4444444433333333
    mov [rel m8+8], rax
    mov eax, 0
    mov edx, 0
    lock cmpxchg8b [rel m8]           ; fails: EDX:EAX = 0x22222222:0x11111111
    shl rdx, 32
    or rax, rdx                       ; 0x2222222211111111
    mov rdx, [rel m8+8]               ; 0x4444444433333333
    hlt

    times 0x400-($-$$) db 0
m0:  dq 0                            ; 0x10400
m1:  dq 0                            ; 0x10408
m16: dq 0, 0                         ; 0x10410 (16-byte aligned)
m8:  dq 0, 0                         ; 0x10420
     dq 0
