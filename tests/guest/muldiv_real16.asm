; MUL, IMUL, DIV, IDIV in real mode (SDM Vol. 2), 8-, 16- and 32-bit forms.
; MUL/IMUL define CF = OF only. Results at offset 0x400 (linear 0x10400).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=0100feff0108faffffff0000905f0108000000008e0672fffaff0000001000000000
bits 16
org 0

    ; MUL r16: 0xffff * 0xffff = DX:AX = 0xfffe:0x0001; CF = OF = 1.
    mov ax, 0xffff
    mov cx, 0xffff
    mul cx
    mov [res + 0], ax
    mov [res + 2], dx
    pushf
    pop ax
    and ax, 0x801
    mov [res + 4], ax                 ; 0x801
    ; IMUL r16 (one operand): -2 * 3 = -6; DX = 0xffff (sign): CF = OF = 0.
    mov ax, -2
    mov cx, 3
    imul cx
    mov [res + 6], ax                 ; 0xfffa
    mov [res + 8], dx                 ; 0xffff
    pushf
    pop ax
    and ax, 0x801
    mov [res + 10], ax                ; 0
    ; IMUL r16, r/m16, imm16: 300 * 300 = 90000 = 0x15f90 -> 0x5f90, CF = OF = 1.
    mov cx, 300
    imul bx, cx, 300
    mov [res + 12], bx                ; 0x5f90
    pushf
    pop ax
    and ax, 0x801
    mov [res + 14], ax                ; 0x801
    ; IMUL r32, r/m32 (66 prefix): 0x10000 * 0x10000 = 2^32 -> 0, CF = OF = 1.
    mov ecx, 0x10000
    mov ebx, 0x10000
    imul ebx, ecx
    mov [res + 16], ebx               ; 0
    ; DIV r8: AX = 1000 / 7 = AL 142 (0x8e), AH 6.
    mov ax, 1000
    mov cl, 7
    div cl
    mov [res + 20], ax                ; 0x068e
    ; IDIV r16: DX:AX = -1000 / 7 = -142 (0xff72), remainder -6 (0xfffa).
    mov ax, -1000
    cwd
    mov cx, 7
    idiv cx
    mov [res + 22], ax                ; 0xff72
    mov [res + 24], dx                ; 0xfffa
    ; DIV r32: EDX:EAX = 0x1_00000000 / 0x10 = 0x10000000, remainder 0.
    mov edx, 1
    xor eax, eax
    mov ecx, 0x10
    div ecx
    mov [res + 26], eax               ; 0x10000000
    mov [res + 30], edx               ; 0
    hlt

    times 0x400-($-$$) db 0
res: times 34 db 0xee
