; expect-mode: long64
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x0 rbx=0x10002 rcx=0x8 rdx=0x600 rsi=0x7 exit=hlt
;
; #DE (SDM Vol. 3A 6.15 "Interrupt 0"): DIV by zero is a fault: no error
; code, the pushed RIP is the DIV itself, RF = 1 in the pushed RFLAGS (a
; fault-class exception), IF cleared by the interrupt gate. RAX = the
; dividend left unchanged (0), RBX = pushed RFLAGS (RF | bit 1), RCX =
; pushed CS, RDX = 0x600 when the pushed RIP was the DIV, RSI = the
; quotient of a later DIV that the handler let through (21 / 3).
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)
    lidt [idtr]
    mov rsp, 0x80000
    mov eax, 0
    mov edx, 0
    mov ecx, 0
div_site:
    div ecx                       ; #DE
after:
    mov eax, 21
    mov edx, 0
    mov ecx, 3
    div ecx
    mov esi, eax
    mov eax, 0
    mov rbx, [saved+16]
    mov rcx, [saved+8]
    mov rdx, [saved]
    hlt

h_de:
    mov rdx, [rsp]                ; RIP
    add rdx, 0x600 - ADDR(div_site)
    mov rcx, [rsp+8]              ; CS
    mov rbx, [rsp+16]             ; RFLAGS
    mov qword [rsp], after
    mov [saved], rdx
    mov [saved+8], rcx
    mov [saved+16], rbx
    iretq

align 8
saved: dq 0, 0, 0
align 16
idt:
    dw ADDR(h_de) & 0xffff, 0x08
    db 0, 0x8e
    dw ADDR(h_de) >> 16
    dd 0, 0
idtr: dw 15
      dq ADDR(idt)
