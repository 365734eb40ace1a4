; expect-mode: prot32
; kvm: skip this host's PVM KVM emulator fails on a 32-bit IRETD (internal error)
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x3fff8 rbx=0x22222222 rcx=0x11111111 rdx=0x2b rsi=0x40000 rdi=0x23 rbp=0xd exit=hlt
;
; 32-bit protected mode (SDM Vol. 3A 5.8, 6.12; Vol. 2 CALL, RET, IRET):
; IRETD to ring 3 (pops SS:ESP, nulls DS/ES of DPL 0); a far CALL from
; ring 3 through a DPL-3 call gate with 2 parameters to a DPL-0 segment
; (stack from TSS.SS0:ESP0, parameters copied); RETF 8 back to ring 3,
; releasing the parameters on both stacks; HLT at CPL 3 is #GP(0), taken
; on the ring-0 stack. RAX = ring-3 ESP before the call, RBX/RCX = the
; copied parameters, RDX = the caller's SS pushed by the gate, RSI = ESP
; back in ring 3, RDI = the caller's CS, RBP = #GP vector.
bits 32
org 0x10000

%macro GATE32 2                   ; handler, DPL (interrupt gate)
    dw (%1 - $$ + 0x10000) & 0xffff
    dw 0x18
    db 0
    db 0x8e | ((%2) << 5)
    dw ((%1 - $$ + 0x10000) >> 16) & 0xffff
%endmacro

start:
    lgdt [gdtr]
    lidt [idtr]
    mov ax, 0x30
    ltr ax
    mov esp, 0x7ff00
    mov dword [esp], ring3
    mov dword [esp+4], 0x23
    mov dword [esp+8], 0x202
    mov dword [esp+12], 0x40000
    mov dword [esp+16], 0x2b
    iretd

ring3:
    mov ax, 0x2b
    mov ds, ax
    mov es, ax
    mov dword [0x3fff8], 0x11111111   ; parameter 0 (lower address)
    mov dword [0x3fffc], 0x22222222   ; parameter 1
    mov esp, 0x3fff8
    mov [saved_esp], esp
    call 0x3b:0                   ; call gate (offset ignored)
    mov [back_esp], esp
    hlt                           ; #GP(0) at CPL 3

gate_target:                      ; ring 0: copy what the gate pushed
    mov eax, [esp+8]
    mov [param0], eax
    mov eax, [esp+12]
    mov [param1], eax
    mov eax, [esp+4]
    mov [caller_cs], eax
    mov eax, [esp+20]
    mov [caller_ss], eax
    retf 8

h_gp:
    mov ax, 0x10
    mov ds, ax
    mov eax, [saved_esp]
    mov ebx, [param1]
    mov ecx, [param0]
    mov edx, [caller_ss]
    mov esi, [back_esp]
    mov edi, [caller_cs]
    mov ebp, 13
    hlt
h_other:
    mov eax, 0xbad
    hlt

align 4
saved_esp: dd 0
back_esp:  dd 0
param0:    dd 0
param1:    dd 0
caller_cs: dd 0
caller_ss: dd 0

align 8
gdt:
    dq 0
    dq 0
    dq 0x00cf93000000ffff         ; 0x10 data DPL 0
    dq 0x00cf9b000000ffff         ; 0x18 code DPL 0
    dq 0x00cffb000000ffff         ; 0x20 code DPL 3
    dq 0x00cff3000000ffff         ; 0x28 data DPL 3
    dw 0x67, (tss - $$ + 0x10000) & 0xffff   ; 0x30 32-bit TSS
    db 0x01, 0x89, 0, 0
    dw (gate_target - $$ + 0x10000) & 0xffff   ; 0x38 call gate, DPL 3, 2 params
    dw 0x18
    db 2, 0xec
    dw (gate_target - $$ + 0x10000) >> 16
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dd gdt

align 8
idt:
%assign v 0
%rep 32
  %if v == 13
    GATE32 h_gp, 0
  %else
    GATE32 h_other, 0
  %endif
%assign v v+1
%endrep
idt_end:
idtr: dw idt_end - idt - 1
      dd idt

align 16
tss:
    dd 0
    dd 0x30000                    ; ESP0
    dd 0x10                       ; SS0
    times 23 dd 0
    dw 0, 0x68
