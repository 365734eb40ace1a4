; expect-mode: real16
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x3 rbx=0xffea rcx=0x0 rdx=0x1234 rsi=0x1000 rdi=0xfff0 rbp=0x9 exit=hlt
;
; Real-address mode (SDM Vol. 3A 20.1.4, Vol. 2 INT n / IRET / CALL far /
; RET far / LOOP): INT n through the IVT pushes FLAGS, CS and IP (6 bytes)
; and clears IF; IRET restores them; a far CALL pushes CS:IP and RETF
; returns; LOOP counts CX. The image is at 0x10000 (CS = DS = SS = 0x1000).
bits 16
org 0
    lidt [ivt_desc]               ; the IVT at linear 0, 256 vectors
    ; IVT entry 0x40 -> 0x1000:handler (IVT at linear 0: segment 0)
    mov ax, 0
    mov es, ax
    mov word [es:0x40*4], handler
    mov word [es:0x40*4+2], 0x1000
    sti
    int 0x40
    ; after IRET: SP back, IF back
    mov di, sp                    ; 0xfff0
    ; far call / far return
    call 0x1000:far_proc
    ; LOOP: 9 iterations counted in BP
    mov cx, 9
    mov bp, 0
count:
    add bp, 1
    loop count
    hlt

handler:
    mov bx, sp                    ; 0xfff0 - 6 = 0xffea
    mov si, [ss:bx+2]             ; pushed CS
    mov ax, 3
    iret

far_proc:
    mov dx, 0x1234
    retf

ivt_desc: dw 0x3ff
          dd 0
