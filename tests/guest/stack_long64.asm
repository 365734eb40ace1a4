; Stack instructions in 64-bit mode (SDM Vol. 2 PUSH, POP, PUSHF/POPF,
; kvm: skip this host's PVM KVM emulates CPL0 code in its instruction emulator, which has no ENTER with a nesting level above 0 (internal error)
; ENTER, LEAVE). The stack starts at RSP = 0x10000 (the flat runner's
; contract); its contents are checked at 0xffc0-0xffff.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0xffffffffffffff85 r9=0x12345678 r10=0xbeef r11=0xffe8 r12=0x8d5
; expect: r13=0xffd8 r14=0xffb8 r15=0x1122334455667788 rbp=0x5a5a rbx=0xffb0
; expect-mem: 0xffc0=00000000000000000000000000000000d8ff0000000000005a5a000000000000
; expect-mem: 0xffe0=efbe0000000000007856341200000000
; expect-mem: 0xfff0=85ffffffffffffff8877665544332211
bits 64
org 0x10000

    ; PUSH imm64-sized forms: PUSH imm32 sign-extends to 64 bits, PUSH imm8
    ; too. PUSH r64 / POP r64 move 8 bytes.
    mov r15, 0x1122334455667788
    push r15                          ; [0xfff8] = r15
    push byte -123                    ; [0xfff0] = 0xffffffffffffff85
    push qword 0x12345678             ; [0xffe8] = 0x12345678
    mov r11, rsp                      ; (0xffe8)
    pop r9                            ; r9 = 0x12345678, RSP 0xfff0
    pop r8                            ; r8 = -123
    push r8                           ; put them back for the memory check
    push r9
    ; PUSH with 66: a 2-byte push of a 16-bit register.
    mov eax, 0xbeef
    push ax                           ; [0xffe6] = 0xbeef, RSP = 0xffe6
    pop r10w                          ; r10 = 0xbeef
    sub rsp, 8
    mov qword [rsp], 0xbeef           ; [0xffe0]
    ; PUSH/POP memory operands: POP [mem] computes the address with the
    ; incremented RSP (SDM POP: "If the destination operand uses RSP as a
    ; base register, its value is computed after the POP increments it").
    push qword [rsp]                  ; [0xffd8] = 0xbeef
    pop qword [rsp - 8]               ; RSP = 0xffe0, writes [0xffd8] again
    lea r13, [rsp - 8]                ; 0xffd8
    ; PUSHF/POPF: set CF ZF SF OF AF PF through POPF and read them back.
    pushfq
    or qword [rsp], 0x8d5
    popfq
    pushfq
    pop r12
    and r12d, 0x8d5                   ; the arithmetic flags are all set
    ; ENTER 16, 0: push RBP, RBP = RSP, RSP -= 16. LEAVE undoes it.
    mov ebp, 0xa5a5
    enter 16, 0                       ; [0xffd8] = 0xa5a5, RBP = 0xffd8, RSP = 0xffc8
    lea r14, [rsp - 0x10]             ; 0xffb8
    leave                             ; RSP = RBP + 8 = 0xffe0, RBP = 0xa5a5
    ; ENTER 8, 1: pushes RBP, then (level 1) pushes the new frame pointer,
    ; then allocates 8 bytes.
    mov ebp, 0x5a5a
    enter 8, 1                        ; [0xffd8] = 0x5a5a, [0xffd0] = 0xffd8,
                                      ; RBP = 0xffd8, RSP = 0xffc8
    lea rbx, [rsp - 0x18]             ; 0xffb0
    leave                             ; RSP = 0xffe0, RBP = 0x5a5a
    add rsp, 0x20                     ; drop the four slots 0xffe0-0xffff: RSP = 0x10000
    hlt
