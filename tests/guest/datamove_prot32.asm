; Data movement in 32-bit protected mode (SDM Vol. 2 MOVZX, MOVSX, XCHG,
; kvm: skip this host's PVM KVM emulator answers MOVBE with #UD although CPUID reports it (docs/oracles.md)
; BSWAP, MOVBE, CMOVcc, SETcc, LEA incl. the 16-bit addressing forms under
; 67, XLAT, CBW/CWDE, CWD/CDQ, LAHF/SAHF). Results go to `res` (dwords).
; expect-mode: prot32
; expect: exit=hlt rsp=0x10000
; expect-mem: 0x10400=8100000080ffffff8180ffff81ff111111223344feca00004433221177000000010000002c1000002000000000000000c200000080ff341280ffffffffff00000000000000430000
bits 32
org 0x10000

    ; MOVZX/MOVSX from a byte and a word.
    mov eax, 0x12348081
    movzx ebx, al                     ; 0x81
    mov [res + 0], ebx
    movsx ebx, ah                     ; 0xffffff80
    mov [res + 4], ebx
    movsx ebx, ax                     ; 0xffff8081
    mov [res + 8], ebx
    mov ebx, 0x11110000
    movsx bx, al                      ; 0x1111ff81 (16-bit destination)
    mov [res + 12], ebx
    ; BSWAP; MOVBE load (bytes 44 33 22 11 -> 0x11223344 swapped).
    mov ebx, 0x11223344
    bswap ebx                         ; 0x44332211
    mov [res + 16], ebx
    movbe ebx, [res + 16]             ; memory 11 22 33 44 -> 0x11223344
    mov [res + 20], ebx
    ; XCHG reg, mem.
    mov ebx, 0xcafe
    xchg ebx, [res + 20]              ; ebx = 0x11223344, mem = 0xcafe
    mov [res + 24], ebx
    ; CMOVcc / SETcc after CMP -1, 1 (signed less, unsigned above).
    mov ecx, -1
    cmp ecx, 1
    mov ebx, 0
    mov edx, 0x77
    cmova ebx, edx                    ; unsigned 0xffffffff > 1: moved
    cmovg ebx, ecx                    ; signed -1 > 1 false: kept
    mov [res + 28], ebx               ; 0x77
    setl bl                           ; 1
    setb bh                           ; 0 (no borrow: 0xffffffff >= 1)
    mov [res + 32], ebx               ; 0x00000001
    ; LEA with 32-bit addressing: EBX + ESI*4 + disp.
    mov ebx, 0x1000
    mov esi, 3
    lea edi, [ebx + esi * 4 + 0x20]   ; 0x102c
    mov [res + 36], edi
    ; LEA with 16-bit addressing (67): [BX + SI + disp16] wraps at 64K and
    ; the 16-bit effective address is zero-extended into EDI.
    mov ebx, 0xfff0
    mov esi, 0x20
    lea edi, [bx + si + 0x10]         ; (0xfff0 + 0x20 + 0x10) & 0xffff = 0x20
    mov [res + 40], edi
    ; LEA [BP + DI] with 16-bit addressing, and a 16-bit destination.
    mov ebp, 0x11118000
    mov edi, 0x22228001
    lea dx, [bp + di - 1]             ; 0x8000 + 0x8001 - 1 = 0x0000 (wraps);
                                      ; EDX's upper half stays 0 (from 0x77)
    mov [res + 44], edx
    ; XLAT: AL = [EBX + AL].
    mov ebx, xt
    mov eax, 2
    xlatb
    mov [res + 48], eax               ; 0xc2
    ; CBW, CWDE, CWD, CDQ.
    mov eax, 0x12345680
    cbw                               ; AX = 0xff80
    mov [res + 52], eax               ; 0x1234ff80
    cwde                              ; 0xffffff80
    mov [res + 56], eax
    mov edx, 0x5555
    cwd                               ; DX = 0xffff (AX = 0xff80 negative)
    mov [res + 60], edx               ; 0x0000ffff
    mov eax, 0x7fffffff
    cdq                               ; EDX = 0
    mov [res + 64], edx
    ; SAHF/LAHF: AH = 0x41 -> ZF CF set; LAHF reads 0x43 (bit 1 reads 1).
    mov eax, 0x4100
    sahf
    mov eax, 0
    lahf
    mov [res + 68], eax               ; 0x4300
    hlt

    times 0x300-($-$$) db 0
xt: db 0xc0, 0xc1, 0xc2, 0xc3
    times 0x400-($-$$) db 0
res: times 72 db 0xee
