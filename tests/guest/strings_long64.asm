; expect-mode: long64
; expect: rax=0x73202c6f6c6c6548 rbx=0x2000e rcx=0x0 rdx=0x1 rsi=0x20008 rdi=0x20018 exit=hlt
; expect-mem: 0x20000=48656c6c6f2c20736f6674767400000000000000000000000000424142414241
;
; String instructions in 64-bit mode (SDM Vol. 2 MOVS, SCAS, CMPS, STOS,
; LODS and REP): copy a NUL-terminated string, find its end, compare the
; copy with the original, fill backwards with DF = 1, load a qword.
bits 64
org 0x10000
    cld
    lea rsi, [rel msg]
    mov rdi, 0x20000
    mov ecx, msg_len
    rep movsb                   ; copy the 14 bytes, NUL included

    mov rdi, 0x20000
    mov al, 0
    mov rcx, -1
    repne scasb                 ; stops after the NUL: RDI = 0x2000e
    mov rbx, rdi

    lea rsi, [rel msg]
    mov rdi, 0x20000
    mov ecx, msg_len
    repe cmpsb                  ; all equal: RCX = 0, ZF = 1
    setz dl

    std
    mov rdi, 0x2001e
    mov ax, 0x4142
    mov ecx, 3
    rep stosw                   ; words at 0x2001e, 0x2001c, 0x2001a
    cld

    mov rsi, 0x20000
    lodsq                       ; "Hello, s"
    hlt

msg:    db "Hello, softvt", 0
msg_len equ $ - msg
