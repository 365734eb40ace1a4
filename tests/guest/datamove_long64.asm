; Data movement in 64-bit mode (SDM Vol. 2 MOVZX, MOVSX, MOVSXD, XCHG,
; kvm: skip this host's PVM KVM emulator answers MOVBE with #UD although CPUID reports it (docs/oracles.md)
; BSWAP, MOVBE, CMOVcc, SETcc, LEA, XLAT, CBW/CWDE/CDQE, CWD/CDQ/CQO, LAHF,
; SAHF). None of these changes a flag except SAHF.
; expect-mode: long64
; expect: exit=hlt rsp=0x10000
; expect: r8=0xff80 r9=0xffffffffffffff80 r10=0xffffffff80000000 r11=0x0123456789abcdef
; expect: r12=0x44332211 r13=0x7 r14=0x10203 r15=0x2a
; expect: rbp=0x30 rsi=0xd7 rdi=0x11223344 rdx=0xffffffffffffffff rcx=0x01
; expect: rax=0xffffffff80000000 rbx=0xd700
; expect-mem: 0x10400=11223344aabbccdd
bits 64
org 0x10000

    ; MOVZX r32, r/m8 zero-extends: 0x80 -> 0x80; into a 16-bit register
    ; from an 8-bit one with MOVSX: 0x80 -> 0xff80 (upper bits of R8 stay 0).
    xor r8d, r8d
    mov al, 0x80
    movsx r8w, al
    ; MOVSX r64, r/m8: 0x80 -> 0xffffffffffffff80.
    movsx r9, al
    ; MOVSXD r64, r/m32: 0x80000000 -> 0xffffffff80000000.
    mov eax, 0x80000000
    movsxd r10, eax
    ; BSWAP r64: reverses the bytes.
    mov r11, 0xefcdab8967452301
    bswap r11
    ; MOVBE loads/stores with the bytes swapped: the dword 0x11223344 in
    ; memory (bytes 44 33 22 11) is loaded as 0x44332211; storing
    ; 0x11223344 with MOVBE stores the swapped value 0x44332211, i.e. the
    ; bytes 11 22 33 44.
    mov dword [rel buf], 0x11223344
    movbe r12d, [rel buf]
    mov edi, 0x11223344
    movbe [rel buf], edi
    ; XCHG with memory (implicitly locked) swaps: buf+4 holds 0xddccbbaa.
    mov dword [rel buf+4], 0xddccbbaa
    mov r13d, 7
    xchg r13d, [rel buf+4]             ; r13 = 0xddccbbaa, mem = 7
    xchg r13d, [rel buf+4]             ; back: r13 = 7, mem = 0xddccbbaa
    ; CMOVcc: 5 < 9 (signed) -> CMOVL moves; CMOVG does not.
    mov eax, 5
    cmp eax, 9
    mov r14d, 0x10203
    mov ecx, 0xdead
    cmovg r14d, ecx                    ; not taken: r14 keeps 0x10203
    mov r15d, 0x2a
    cmovl r15d, r15d                   ; taken (same value)
    ; SETcc: after CMP 5, 9: SETB (5 < 9 unsigned) = 1, SETZ = 0.
    setb cl                            ; CL = 1 (ECX was 0xdead)
    movzx ecx, cl
    ; LEA computes index*8 + disp without touching memory: 4*8 + 16 = 48.
    mov eax, 4
    lea rbp, [rax*8 + 16]              ; 48 = 0x30
    ; XLAT: AL = [RBX + AL]; table `xt` at index 3 = 0xd7.
    lea rbx, [rel xt]
    mov eax, 3
    xlatb
    movzx esi, al
    ; CQO sign-extends RAX into RDX; CDQE sign-extends EAX into RAX.
    mov eax, 0x80000000
    cdqe                               ; rax = 0xffffffff80000000
    cqo                                ; rdx = all ones
    ; SAHF loads SF ZF AF PF CF from AH; LAHF stores them back. AH = 0xd7 ->
    ; flags low byte 0xd7 (bit 1 always reads 1, bits 3 and 5 read 0).
    mov ebx, 0xd700
    xchg eax, ebx                      ; eax = 0xd700, ebx = 0x80000000 (zero-extended)
    sahf
    mov eax, 0
    lahf                               ; AH = 0xd7
    movzx ebx, ax                      ; 0xd700
    mov eax, 0x80000000
    cdqe
    mov edi, 0x11223344
    hlt

    times 0x400-($-$$) db 0
buf: dq 0
xt:  db 0xd0, 0xd1, 0xd2, 0xd7
