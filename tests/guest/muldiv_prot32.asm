; MUL, IMUL, DIV, IDIV in 32-bit protected mode (SDM Vol. 2). MUL/IMUL
; define CF = OF = "the high half is significant"; SF ZF AF PF are
; undefined, so only CF|OF (0x801) is stored. DIV/IDIV leave every flag
; undefined. Results go to the `res` table at 0x10400 (dwords).
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=feffffff0100000001080000fdffffff000000001e00000000000000feff0000010800007d00000000000000ffffffff01000000f9fffffffeffffff00100000f8000000
bits 32
org 0x10000

%macro CFOF 1                   ; slot: store CF|OF as a dword
    pushfd
    pop eax
    and eax, 0x801
    mov [res + 4 * %1], eax
%endmacro

    ; MUL r32: 0xffffffff * 2 = EDX:EAX = 1:0xfffffffe; CF = OF = 1.
    mov eax, -1
    mov ecx, 2
    mul ecx
    mov [res + 0], eax
    mov [res + 4], edx
    CFOF 2                            ; 0x801
    ; IMUL r32 (one operand): -1 * 3 = -3 (EDX = sign extension): CF=OF=0.
    mov eax, -1
    mov ecx, 3
    imul ecx
    mov [res + 12], eax               ; 0xfffffffd
    CFOF 4                            ; 0
    ; IMUL r, r/m, imm8: 6 * 5 = 30.
    mov ecx, 6
    imul ebx, ecx, 5
    mov [res + 20], ebx               ; 0x1e
    CFOF 6                            ; 0
    ; IMUL r16, r/m16: 0x7fff * 2 = 0xfffe overflows a signed word: CF =
    ; OF = 1; the upper half of ECX is untouched (0).
    mov ecx, 0x7fff
    mov edx, 2
    imul cx, dx
    mov [res + 28], ecx               ; 0x0000fffe
    CFOF 8                            ; 0x801
    ; MUL r8: AL * 5 = 0x19 * 5 = 0x7d in AX, AH = 0: CF = OF = 0.
    mov eax, 0x19
    mov dl, 5
    mul dl
    movzx ebx, ax
    mov [res + 36], ebx               ; 0x7d
    CFOF 10                           ; 0
    ; DIV r32: EDX:EAX = 0xfffffffe_00000002 / 0xffffffff: since
    ; 0xffffffff^2 = 0xfffffffe_00000001, quotient 0xffffffff remainder 1.
    mov edx, 0xfffffffe
    mov eax, 2
    mov ecx, 0xffffffff
    div ecx                           ; quotient 0xffffffff, remainder 1
    mov [res + 44], eax
    mov [res + 48], edx
    ; IDIV r32: -23 / 3 = -7 remainder -2 (truncation toward zero).
    mov eax, -23
    cdq
    mov ecx, 3
    idiv ecx
    mov [res + 52], eax
    mov [res + 56], edx
    ; DIV r16: DX:AX = 0x0001:0x0000 / 0x10 = 0x1000 remainder 0.
    mov edx, 1
    xor eax, eax
    mov cx, 0x10
    div cx
    mov [res + 60], eax               ; 0x00001000
    ; IDIV r8: AX = -64 / 8 = AL -8, AH 0.
    mov eax, -64
    mov cl, 8
    idiv cl
    movzx eax, ax
    mov [res + 64], eax               ; 0x000000f8
    hlt

    times 0x400-($-$$) db 0
res: times 68 db 0xee
