; expect-mode: real16
; native: skip LIDT and an IVT handler are privileged (the host-CPU oracle ends at the first exception)
; expect-load: 0x10010
; expect: rbx=0x3 rsi=0xd rdi=0x0 rdx=0x1001 exit=hlt
;
; Running off the end of a 16-bit code segment (SDM Vol. 2 JMP: only
; branches truncate EIP to 16 bits; sequential execution advances the
; 32-bit EIP): after the INC at CS:FFFF the next fetch is at EIP 0x10000,
; beyond the real-mode CS limit 0xFFFF, so it raises #GP (vector 13) with
; the pushed IP = the low 16 bits of the faulting EIP (0) and CS = 0x1001.
; The segment base 0x10010 is not page aligned, so the end of the segment
; is not a page boundary either. Host KVM agrees.
bits 16
org 0
start:
    lidt [cs:ivt_desc]
    xor ax, ax
    mov es, ax
    mov word [es:13*4], on_gp - start
    mov word [es:13*4+2], cs
    jmp near tail
on_gp:
    mov si, 13
    pop di                 ; pushed IP
    pop dx                 ; pushed CS
    hlt
ivt_desc:
    dw 0x3ff
    dd 0
    times 0xfffd - ($ - $$) db 0x90
tail:                      ; CS:FFFD
    inc bx
    inc bx
    inc bx                 ; CS:FFFF: the next fetch is beyond the limit
