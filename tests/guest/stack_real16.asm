; Stack instructions in real mode (SDM Vol. 2 PUSH/POP, PUSHA/POPA,
; kvm: skip this host's PVM KVM emulates CPL0 code in its instruction emulator, which has no ENTER with a nesting level above 0 (internal error)
; PUSHAD/POPAD, PUSHF/POPF, ENTER/LEAVE) with SP = 0xfff0 (the flat
; runner's real16 contract). Results at offset 0x400 (linear 0x10400).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=f0ffe0fff0ffd0ff0100aaaa214365872143fdffd508eeffe8ffeeff0600
; expect: rax=0x1 rcx=0x2 rdx=0x3 rbx=0x4 rbp=0x6 rsi=0x7 rdi=0x8
bits 16
org 0

    mov ax, 1
    mov cx, 2
    mov dx, 3
    mov bx, 4
    mov bp, 6
    mov si, 7
    mov di, 8
    ; PUSHA: AX CX DX BX, the original SP, BP SI DI (16 bytes).
    pusha
    mov bx, sp
    mov ax, [bx + 6]                  ; the saved SP (slot 5 of 8) = 0xfff0
    mov [res + 0], ax
    mov [res + 2], sp                 ; 0xffe0
    mov word [bx + 6], 0x1234         ; ignored by POPA
    popa
    mov [res + 4], sp                 ; 0xfff0
    ; PUSHAD / POPAD: eight dwords; POPAD restores the 32-bit registers.
    mov eax, 0xaaaa0001
    pushad                            ; SP = 0xffd0
    mov [res + 6], sp
    mov eax, 0
    popad
    mov [res + 8], eax                ; 0xaaaa0001
    mov eax, 1
    ; PUSH imm8 sign-extended to 16 bits, PUSH imm16, 32-bit push with 66.
    push byte -3                      ; 0xfffd
    push word 0x4321
    push dword 0x87654321
    pop dword [res + 12]              ; 0x87654321
    pop word [res + 16]               ; 0x4321
    pop word [res + 18]               ; 0xfffd
    ; PUSHF/POPF round trip of the arithmetic flags.
    pushf
    pop ax
    or ax, 0x8d5
    push ax
    popf
    pushf
    pop ax
    and ax, 0x8d5
    mov [res + 20], ax                ; 0x8d5
    push word 2
    popf
    mov ax, 1
    ; ENTER 4, 1: push BP; push the new frame pointer; reserve 4 bytes.
    enter 4, 1                        ; [0xffee] = 6, BP = 0xffee,
                                      ; [0xffec] = 0xffee, SP = 0xffe8
    mov [res + 22], bp                ; 0xffee
    mov [res + 24], sp                ; 0xffe8
    mov di, [bp - 2]
    mov [res + 26], di                ; 0xffee
    mov di, [bp]
    mov [res + 28], di                ; 6 (the saved BP)
    leave                             ; SP = 0xfff0, BP = 6
    mov di, 8
    hlt

    times 0x400-($-$$) db 0
res: times 30 db 0xee
