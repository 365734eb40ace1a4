; expect-mode: long64
; expect: rax=0x3 exit=hlt
bits 64
    mov eax, 1
    add eax, 2
    hlt
