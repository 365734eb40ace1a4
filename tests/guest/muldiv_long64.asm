; MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV in 64-bit mode
; (SDM Vol. 2 MUL, IMUL, DIV, IDIV). MUL/IMUL define only CF and OF (set
; when the high half is significant); the other flags are undefined, so
; only CF|OF (0x801) is captured, 12 bits per step, into RBX.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0xfffffffffffffffe r9=0x1 r10=0xfffffffffffffffd r11=0x1e
; expect: r12=0x7d r13=0xffffffff rdi=0x1 r14=0xfffffffffffffff9 r15=0xfffffffffffffffe
; expect: rcx=0x1000 rdx=0 rsi=0xf8 rbp=0x8 rax=0xf8
; expect: rbx=0x801000000801000
bits 64
org 0x10000

%macro FLAGS 0
    pushfq
    pop rax
    and eax, 0x801
    shl rbx, 12
    or rbx, rax
%endmacro

    ; MUL r64: 0xffff...f * 2 = RDX:RAX = 1:0xffff...fe; high half non-zero
    ; -> CF = OF = 1.
    mov rax, -1
    mov rcx, 2
    mul rcx
    mov r8, rax
    mov r9, rdx
    FLAGS
    ; IMUL r64 (one operand): -1 * 3 = -3; RDX = sign extension of RAX ->
    ; CF = OF = 0.
    mov rax, -1
    mov rcx, 3
    imul rcx
    mov r10, rax
    FLAGS
    ; IMUL r, r/m, imm8: 6 * 5 = 30 fits -> CF = OF = 0.
    mov ecx, 6
    imul r11, rcx, 5
    FLAGS
    ; IMUL r16, r/m16: 0x7fff * 2 = 0xfffe does not fit in a signed word ->
    ; CF = OF = 1; the result is truncated to 16 bits.
    mov ecx, 0x7fff
    mov edx, 2
    imul cx, dx
    FLAGS
    ; MUL r8: AL * r8 -> AX. 0x19 * 5 = 0x7d: AH = 0 -> CF = OF = 0.
    mov eax, 0x19
    mov dl, 5
    mul dl
    movzx r12d, ax
    FLAGS
    ; DIV r64: RDX:RAX = 0x1:0x0 / 0x1_0000_0001 = quotient 0xffffffff,
    ; remainder 1 (0xffffffff * 0x100000001 = 0xffffffffffffffff).
    xor eax, eax
    mov edx, 1
    mov rcx, 0x100000001
    div rcx
    mov r13, rax
    mov rdi, rdx
    ; IDIV r32: EDX:EAX = -23 / 3: the quotient truncates toward zero (-7),
    ; the remainder has the dividend's sign (-2).
    mov eax, -23
    cdq
    mov ecx, 3
    idiv ecx
    movsxd r14, eax
    movsxd r15, edx
    ; DIV r16: DX:AX = 0x0001:0x0000 / 0x10 = 0x1000, remainder 0 (in DX).
    mov edx, 1
    mov eax, 0
    mov si, 0x10
    div si
    movzx ecx, ax
    ; IDIV r8: AX = -64 / 8: AL = -8 (0xf8), AH = remainder 0.
    mov ax, -64
    mov bpl, 8
    idiv bpl
    movzx esi, ax
    hlt
