; expect-mode: long64
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x1 exit=shutdown
;
; Triple fault (SDM Vol. 3A 6.15 "Interrupt 8"): #GP with its gate absent
; becomes #DF, and the #DF gate is absent too: the processor shuts down.
bits 64
org 0x10000
    lidt [idtr]
    mov eax, 1
    mov bx, 0x13
    mov ds, bx                    ; #GP(0x10) -> #NP -> #DF -> #NP: shutdown
    mov eax, 2
    hlt

align 16
idt: times 32 dq 0, 0             ; every gate not present
idtr: dw 32 * 16 - 1
      dq idt - $$ + 0x10000
