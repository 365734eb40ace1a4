; BCD adjustments in real mode (SDM Vol. 2 DAA, DAS, AAA, AAS, AAM, AAD):
; kvm: skip this host's PVM KVM emulator fails on DAA/DAS/AAA/AAS (internal error)
; a two-digit packed-BCD addition and subtraction chain, and unpacked
; multiply/divide. Each step stores AX and the flags the SDM defines
; (DAA/DAS: 0x0d5, AAA/AAS: 0x011, AAM/AAD: 0x0c4) at offset 0x400.
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=05001500470014004900100009041100080111000605040039000400
bits 16
org 0

%macro STEP 2                   ; slot, flags mask
    mov [res + 4 * %1], ax
    pushf
    pop ax
    and ax, %2
    mov [res + 4 * %1 + 2], ax
%endmacro

    ; 0x58 + 0x47 = 0x9f (AF = 0: 8 + 7 = 0xf): DAA -> low 0xf > 9 -> 0xa5,
    ; AF; old 0x9f > 0x99 -> 0x05, CF (58 + 47 = 105). PF: 0x05 two ones.
    ; -> AX 0x0005, flags 0x15
    mov ax, 0x58
    add al, 0x47
    daa
    STEP 0, 0x0d5
    ; 0x28 + 0x19 = 0x41 with AF = 1 (8 + 9 = 0x11): DAA -> +6 = 0x47, AF;
    ; 0x41 <= 0x99 and CF = 0 -> CF = 0 (28 + 19 = 47). 0x47 has 4 ones -> PF.
    ; -> AX 0x0047, flags 0x14
    mov ax, 0x28
    add al, 0x19
    daa
    STEP 1, 0x0d5
    ; 0x50 - 0x01 = 0x4f (AF = 1): DAS -> -6 = 0x49, AF; CF = 0 (50 - 1 =
    ; 49). 0x49 has 3 ones. -> AX 0x0049, flags 0x10
    mov ax, 0x50
    sub al, 1
    das
    STEP 2, 0x0d5
    ; AAS after 0 - 1 = 0xff with AH = 5 (AF = 1): AX - 6 = 0x05f9, AH - 1
    ; = 4, AL &= 0xf -> 0x0409; AF = CF = 1.
    mov ax, 0x0500
    sub al, 1
    aas
    STEP 3, 0x011
    ; AAA after 9 + 9 = 0x12 (AF = 1) with AH = 0: AX + 0x106 = 0x0118 ->
    ; 0x0108; AF = CF = 1.
    mov ax, 0x0009
    add al, 9
    aaa
    STEP 4, 0x011
    ; AAM after 7 * 8 = 56: AH = 5, AL = 6; PF (6 has two ones).
    mov al, 7
    mov bl, 8
    mul bl
    aam
    STEP 5, 0x0c4
    ; AAD: AX = 0x0507 (57) -> AL = 57 = 0x39, AH = 0; 0x39 has 4
    ; ones -> PF.
    mov ax, 0x0507
    aad
    STEP 6, 0x0c4
    hlt

    times 0x400-($-$$) db 0
res: times 28 db 0xee
