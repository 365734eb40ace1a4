; BCD adjustments in 32-bit protected mode (SDM Vol. 2 DAA, DAS, AAA, AAS,
; kvm: skip this host's PVM KVM emulator fails on DAA/DAS/AAA/AAS (internal error)
; AAM, AAD; invalid in 64-bit mode). Each step stores AX (word) and the flags
; (word) the SDM defines: DAA/DAS: CF AF SF ZF PF (0x0d5); AAA/AAS: CF AF
; (0x011); AAM/AAD: SF ZF PF (0x0c4).
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=140015008800950000005500030111000507000005001100030604000b0a00003f000400ab008000
bits 32
org 0x10000

%macro STEP 2                   ; slot, flags mask
    mov [res + 4 * %1], ax
    pushfd
    pop eax
    and eax, %2
    mov [res + 4 * %1 + 2], ax
%endmacro

    ; DAA after 0x79 + 0x35 = 0xae (AF = 0, CF = 0): low nibble 0xe > 9 ->
    ; +6 = 0xb4, AF = 1; old AL 0xae > 0x99 -> +0x60 = 0x14, CF = 1 (79 + 35
    ; = 114). PF: 0x14 has two ones. -> AX 0x0014, flags 0x15
    mov eax, 0x79
    add al, 0x35
    daa
    STEP 0, 0x0d5
    ; DAS after 0x35 - 0x47 = 0xee (AF = 1, CF = 1): -6 = 0xe8, then -0x60 =
    ; 0x88, CF = 1 (35 - 47 = -12 -> 88 borrow). SF; 0x88 even parity.
    ; -> AX 0x0088, flags 0x95
    mov eax, 0x35
    sub al, 0x47
    das
    STEP 1, 0x0d5
    ; DAA after 0x99 + 0x01 = 0x9a: 0xa > 9 -> 0xa0, AF; old AL 0x9a > 0x99
    ; -> 0x00, CF; ZF PF. -> AX 0x0000, flags 0x55
    mov eax, 0x99
    add al, 1
    daa
    STEP 2, 0x0d5
    ; AAA after 8 + 5 = 0x0d with AH = 0: 0xd > 9 -> AX + 0x106 = 0x0113,
    ; AL &= 0xf -> AX = 0x0103, AF = CF = 1. -> flags 0x11
    mov eax, 8
    add al, 5
    aaa
    STEP 3, 0x011
    ; AAA with nothing to adjust: 2 + 3 = 5 -> AX unchanged (AH 7),
    ; AF = CF = 0.
    mov eax, 0x0702
    add al, 3
    aaa
    STEP 4, 0x011
    ; AAS after 3 - 8 = 0xfb (AF = 1) with AH = 1: AX - 6 = 0x01f5, AH - 1 =
    ; 0, AL &= 0xf -> AX = 0x0005; AF = CF = 1. -> flags 0x11
    mov eax, 0x0103
    sub al, 8
    aas
    STEP 5, 0x011
    ; AAM: AL = 63 -> AH = 6, AL = 3 (AX 0x0603); PF (3 has two ones).
    mov eax, 63
    aam
    STEP 6, 0x0c4
    ; AAM 16: AL = 0xab -> AH = 0xa, AL = 0xb; 0xb has three ones -> PF 0.
    mov eax, 0xab
    aam 16
    STEP 7, 0x0c4
    ; AAD: AX = 0x0603 -> AL = 3 + 6 * 10 = 0x3f, AH = 0; PF (six ones).
    mov eax, 0x0603
    aad
    STEP 8, 0x0c4
    ; AAD 16: AX = 0x0a0b -> AL = 0xb + 0xa * 16 = 0xab, AH = 0; SF; 0xab has
    ; five ones -> PF 0. -> flags 0x80
    mov eax, 0x0a0b
    aad 16
    STEP 9, 0x0c4
    hlt

    times 0x400-($-$$) db 0
res: times 4 * 10 db 0xee
