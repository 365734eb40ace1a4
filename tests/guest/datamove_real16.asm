; Data movement in real mode (SDM Vol. 2 MOV with the eight 16-bit ModRM
; addressing forms, LEA, MOVZX/MOVSX, XCHG, BSWAP, CMOVcc, SETcc, XLAT,
; CBW/CWDE/CWD/CDQ, LAHF/SAHF). 16-bit effective addresses wrap at 64 KiB
; (SDM Vol. 1 3.7.5). Results at offset 0x400 (linear 0x10400).
; expect-mode: real16
; expect: exit=hlt rsp=0xfff0
; expect-mem: 0x10400=210105012340ff3f1f80010000400001efbe1001000090ff9000000011223344020022220001b1ee80ffffff0080ffffffffffffd7
bits 16
org 0

    ; LEA with each 16-bit form: BX=0x100 SI=0x20 DI=0x3 BP=0x4000.
    mov bx, 0x100
    mov si, 0x20
    mov di, 0x3
    mov bp, 0x4000
    lea ax, [bx + si + 1]             ; 0x121
    mov [res + 0], ax
    lea ax, [bx + di + 2]             ; 0x105
    mov [res + 2], ax
    lea ax, [bp + si + 3]             ; 0x4023
    mov [res + 4], ax
    lea ax, [bp + di - 4]             ; 0x3fff
    mov [res + 6], ax
    lea ax, [si + 0x7fff]             ; 0x801f
    mov [res + 8], ax
    lea ax, [word di + 0xfffe]        ; disp16: 0x10001 wraps to 0x0001
    mov [res + 10], ax
    lea ax, [bp + 0]                  ; 0x4000 (mod 01, disp8 0)
    mov [res + 12], ax
    lea ax, [bx]                      ; 0x100
    mov [res + 14], ax
    ; MOV through [BP + SI] uses SS (= DS here) with a wrapped offset:
    ; 0x4000 + 0xc480 = 0x10480 -> 0x0480 = `val`.
    mov bp, 0x4000
    mov si, 0xc480
    mov ax, [bp + si]                 ; 0xbeef
    mov [res + 16], ax
    ; LEA into a 32-bit register with 16-bit addressing zero-extends.
    mov ebx, 0x12340100
    lea ecx, [bx + 0x10]              ; 0x00000110
    mov [res + 18], ecx
    ; MOVZX/MOVSX.
    mov al, 0x90
    movsx cx, al                      ; 0xff90
    mov [res + 22], cx
    movzx ecx, al                     ; 0x00000090
    mov [res + 24], ecx
    ; BSWAP r32 and XCHG.
    mov ecx, 0x11223344
    bswap ecx
    mov [res + 28], ecx               ; 0x44332211
    mov ax, 1
    mov cx, 2
    xchg ax, cx
    mov [res + 32], ax                ; 2
    ; CMOVcc and SETcc after CMP 0x8000, 1 (signed: less; unsigned: above).
    mov ax, 0x8000
    cmp ax, 1
    mov cx, 0x1111
    mov dx, 0x2222
    cmovl cx, dx                      ; moved: 0x2222
    cmovb cx, ax                      ; not moved
    mov [res + 34], cx
    setg byte [res + 36]              ; 0
    seta byte [res + 37]              ; 1
    ; XLAT with BX = table, AL = 1.
    mov bx, xt
    mov al, 1
    xlatb
    mov [res + 38], al                ; 0xb1
    ; CBW, CWD, CWDE, CDQ.
    mov ax, 0x0080
    cbw                               ; 0xff80
    mov dx, 0x1234
    cwd                               ; DX = 0xffff
    mov [res + 40], ax
    mov [res + 42], dx
    mov eax, 0x7fff8000
    cwde                              ; 0xffff8000
    cdq                               ; EDX = 0xffffffff
    mov [res + 44], eax
    mov [res + 48], edx
    ; SAHF / LAHF: AH = 0xd5 (SF ZF AF PF CF) -> LAHF reads 0xd7.
    mov ah, 0xd5
    sahf
    mov ah, 0
    lahf
    mov [res + 52], ah                ; 0xd7
    hlt

    times 0x400-($-$$) db 0
res: times 53 db 0xee
    times 0x480-($-$$) db 0
val: dw 0xbeef
xt:  db 0xb0, 0xb1
