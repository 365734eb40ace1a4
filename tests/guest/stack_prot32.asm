; Stack instructions in 32-bit protected mode (SDM Vol. 2 PUSH, POP,
; kvm: skip this host's PVM KVM emulates CPL0 code in its instruction emulator, which has no ENTER with a nesting level above 0 (internal error)
; PUSHAD/POPAD, PUSHFD/POPFD, ENTER, LEAVE). ESP starts at 0x10000.
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=0000010000000100fefffffffeff000034120100cdab0000d5080000f8ff0000e8ff0000dddd0000f8ff0000
; expect: rax=0x11 rcx=0x22 rdx=0x33 rbx=0x44 rbp=0x66 rsi=0x77 rdi=0x88
bits 32
org 0x10000

    ; PUSHAD pushes EAX ECX EDX EBX, the original ESP, EBP ESI EDI; POPAD
    ; restores all but ESP (its slot is skipped).
    mov eax, 0x11
    mov ecx, 0x22
    mov edx, 0x33
    mov ebx, 0x44
    mov ebp, 0x66
    mov esi, 0x77
    mov edi, 0x88
    pushad                            ; 0xffe0..0xffff
    mov eax, [esp + 12]               ; the saved ESP slot = 0x10000
    mov [res + 0], eax
    mov dword [esp + 12], 0x12345678  ; ignored by POPAD
    xor eax, eax
    xor ebx, ebx
    popad
    mov [res + 4], esp                ; 0x10000
    ; PUSH imm8 (sign-extended to 32 bits), PUSH imm16 with 66 (2 bytes).
    push byte -2
    pop dword [res + 8]               ; 0xfffffffe
    push word 0x1234                  ; ESP = 0xfffe
    mov [res + 12], esp
    pop word [res + 16]               ; 0x1234
    ; PUSH segment register: a 32-bit push of the 16-bit selector; the
    ; upper half of the slot is written as 0 or left unchanged depending on
    ; the processor, so only the low word is compared with MOV r16, DS.
    push ds
    pop eax
    mov cx, ds
    cmp ax, cx
    sete al
    mov byte [res + 18], al           ; 1
    mov byte [res + 19], 0
    ; POP into a memory operand addressed through ESP uses the incremented ESP.
    push dword 0xabcd
    pop dword [esp - 4]               ; writes 0xabcd to [0xfffc] again
    mov eax, [esp - 4]
    mov [res + 20], eax
    ; PUSHFD/POPFD round trip of the arithmetic flags.
    pushfd
    or dword [esp], 0x8d5
    popfd
    pushfd
    pop eax
    and eax, 0x8d5
    mov [res + 24], eax               ; 0x8d5
    push dword 0x2                    ; clear them again
    popfd
    ; ENTER 8, 2: push EBP, copy one outer frame pointer from [EBP - 4],
    ; push the new frame pointer, reserve 8 bytes.
    mov ebp, 0xfff8                   ; outer frame: [0xfff4] = 0xdddd
    mov dword [0xfff4], 0xdddd
    mov eax, 0x11                     ; keep EAX for the register check
    push ebp                          ; (save the outer EBP for the check)
    enter 8, 2                        ; [0xfff8]=0xfff8, [0xfff4]=0xdddd,
                                      ; [0xfff0]=0xfff8 (the new EBP),
                                      ; EBP = 0xfff8, ESP = 0xffe8
    mov [res + 28], ebp
    mov [res + 32], esp
    mov ecx, [ebp - 4]
    mov [res + 36], ecx               ; copied outer frame pointer 0xdddd
    mov ecx, [ebp - 8]
    mov [res + 40], ecx               ; 0xfff8
    leave                             ; ESP = EBP + 4, EBP = [0xfff8] = 0xfff8
    pop ebp                           ; 0xfff8 (as saved)
    mov ebp, 0x66
    mov ecx, 0x22
    hlt

    times 0x400-($-$$) db 0
res: times 44 db 0xee
