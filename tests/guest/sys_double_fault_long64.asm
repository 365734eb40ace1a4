; expect-mode: long64
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0xdf rbx=0x0 rcx=0xaffd0 rdx=0x2 rsi=0xdf exit=hlt
;
; Double faults (SDM Vol. 3A 6.15, Table 6-5). First a #GP whose gate is not
; present: the #NP raised while delivering it is contributory after a
; contributory exception, so #DF is delivered (error code 0) on IST1. Then
; a page fault whose frame cannot be pushed (the stack is unmapped): #PF
; during #PF delivery is also #DF. RAX/RSI = the vector seen twice, RBX =
; the first #DF error code, RCX = the #DF handler's RSP (IST1 - 48), RDX =
; the number of #DFs.
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)
%macro GATE 4                     ; handler, DPL, IST, present
    dw ADDR(%1) & 0xffff
    dw 0x08
    db %3
    db 0x0e | ((%2) << 5) | ((%4) << 7)
    dw (ADDR(%1) >> 16) & 0xffff
    dd 0, 0
%endmacro

start:
    lgdt [gdtr]
    lidt [idtr]
    mov ax, 0x20
    ltr ax
    mov rsp, 0x80000
    mov rdx, 0
    mov r15, second
    mov ax, 0x13                  ; RPL 3 > DPL 0: #GP(0x10), but gate 13 is absent
    mov ds, ax
second:
    mov rsp, 0x100000100          ; unmapped stack
    mov r15, done
    mov al, [rsp]                 ; #PF, then #PF pushing its frame: #DF
done:
    hlt

h_df:
    mov rax, 0xdf
    add rdx, 1
    mov rsi, [df_first]
    mov rbx, [rsp]                ; error code
    mov rcx, rsp
    mov [df_first], rax
    mov rsp, 0x80000
    jmp r15
h_other:
    mov rax, 0xbad
    hlt

align 8
df_first: dq 0

align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff         ; 0x08 64-bit code
    dq 0x00cf93000000ffff         ; 0x10 data
    dq 0
    dw 0x67, ADDR(tss) & 0xffff   ; 0x20 64-bit TSS
    db (ADDR(tss) >> 16) & 0xff, 0x89, 0, (ADDR(tss) >> 24) & 0xff
    dd 0, 0
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dq ADDR(gdt)

align 16
idt:
%assign v 0
%rep 32
  %if v == 8
    GATE h_df, 0, 1, 1
  %elif v == 13
    GATE h_other, 0, 0, 0
  %else
    GATE h_other, 0, 0, 1
  %endif
%assign v v+1
%endrep
idt_end:
idtr: dw idt_end - idt - 1
      dq ADDR(idt)

align 16
tss:
    dd 0
    dq 0xa0000, 0, 0, 0
    dq 0xb0000                    ; IST1
    times 6 dq 0
    dq 0
    dw 0, 0x68
