; expect-mode: long64
; kvm: skip this host's PVM KVM emulator fails on INT n in long mode (internal error)
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x10 rbx=0x18a rcx=0x0 rdx=0x40 rsi=0x40 rdi=0x71102 r8=0x100000000 r9=0x200000 r10=0x400000 r11=0x600 r12=0xaffd8 r13=0x9ffd8 r14=0x2b0023 exit=hlt
;
; Exceptions and interrupts through a 64-bit IDT (SDM Vol. 3A 6.14):
; #GP/#NP/#SS with selector error codes from segment loads, #PF with CR2 and
; the P/W/U/I-D error bits (NX fetch, user write to a supervisor page),
; #UD with the faulting RIP, INT n from ring 3 through a DPL-3 gate (stack
; switch to RSP0, pushed SS:RSP), INT n through a DPL-0 gate from ring 3
; (#GP(vector*8+2)), HLT at CPL 3 (#GP(0)), and an IST stack. Each handler
; logs what it saw and resumes at the address in R15.
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)
%macro GATE 3                     ; handler, DPL, IST
    dw ADDR(%1) & 0xffff
    dw 0x08
    db %3
    db 0x8e | ((%2) << 5)
    dw (ADDR(%1) >> 16) & 0xffff
    dd 0, 0
%endmacro

start:
    lgdt [gdtr]
    lidt [idtr]
    mov ax, 0x30
    ltr ax
    mov rsp, 0x80000
    mov rbp, 0                    ; index into gp_log

    ; #GP(0x10): RPL 3 > DPL 0 of the data segment.
    mov r15, after_gp
    mov ax, 0x13
    mov ds, ax
after_gp:
    ; #NP(0x40) and #SS(0x40): a data segment that is not present.
    mov r15, after_np
    mov ax, 0x40
    mov ds, ax
after_np:
    mov r15, after_ss
    mov ss, ax
after_ss:
    ; #UD: the pushed RIP is the UD2 itself.
    mov r15, after_ud
ud_site:
    ud2
after_ud:
    ; #PF: write to an unmapped address (error W).
    mov r15, after_pf1
    mov rax, 0x100000000
    mov byte [rax], 1
after_pf1:
    ; #PF: fetch from an NX page (error P | I/D).
    mov rax, 0x8000000000200087
    mov [0x3008], rax
    invlpg [0x200000]
    mov r15, after_pf2
    mov rax, 0x200000
    jmp rax
after_pf2:
    ; make 0x400000 a supervisor page for the ring-3 test below
    mov rax, 0x400083
    mov [0x3010], rax
    invlpg [0x400000]
    ; IST1: INT 0x32 switches to IST1 even without a privilege change.
    int 0x32
    ; to ring 3 with IRETQ
    mov rsp, 0x7ff00
    mov qword [rsp], ring3
    mov qword [rsp+8], 0x23
    mov qword [rsp+16], 0x202
    mov qword [rsp+24], 0x70000
    mov qword [rsp+32], 0x2b
    iretq

ring3:
    int 0x30                      ; DPL-3 gate: allowed
    mov r15, after_int31
    int 0x31                      ; DPL-0 gate: #GP(0x31*8+2)
after_int31:
    mov r15, after_hlt
    hlt                           ; CPL 3: #GP(0)
after_hlt:
    mov r15, after_pf3
    mov byte [0x400000], 1        ; supervisor page: #PF(P|W|U)
after_pf3:
    int 0x33                      ; back to ring 0: finish

finish:
    mov rax, [gp_log]
    mov rbx, [gp_log+8]
    mov rcx, [gp_log+16]
    mov rdx, [np_err]
    mov rsi, [ss_err]
    mov edi, [pf_err]
    mov r8, [pf_cr2]
    mov r9, [pf_cr2+8]
    mov r10, [pf_cr2+16]
    mov r11, [ud_rip]
    add r11, 0x600 - ADDR(ud_site)   ; 0x600 when the RIP was the UD2
    mov r12, [ist_rsp]
    mov r13, [user_rsp]
    mov r14d, [user_cs]
    hlt

; ---- handlers -----------------------------------------------------------
h_gp:
    mov r13, [rsp]
    mov [gp_log+rbp], r13
    add rbp, 8
    jmp resume_err
h_np:
    mov r13, [rsp]
    mov [np_err], r13
    jmp resume_err
h_ss:
    mov r13, [rsp]
    mov [ss_err], r13
    jmp resume_err
h_pf:
    mov r13, [rsp]
    mov r14, [pf_idx]
    mov [pf_err+r14], r13b
    mov r13, cr2
    mov [pf_cr2+r14*8], r13
    add qword [pf_idx], 1
    jmp resume_err
h_ud:
    mov r13, [rsp]
    mov [ud_rip], r13
    mov [rsp], r15
    iretq
h_ist:
    mov [ist_rsp], rsp
    iretq
h_user:
    mov [user_rsp], rsp
    mov r13, [rsp+8]
    mov [user_cs], r13w
    mov r13, [rsp+32]
    mov [user_ss], r13w
    iretq
h_finish:
    mov rsp, 0x80000
    jmp finish
h_other:
    mov rax, 0xbad
    hlt
resume_err:
    add rsp, 8                    ; drop the error code
    mov [rsp], r15
    iretq

; ---- data -----------------------------------------------------------------
align 8
gp_log:   dq 0x77, 0x77, 0x77
np_err:   dq 0x77
ss_err:   dq 0x77
pf_idx:   dq 0
pf_err:   dq 0
pf_cr2:   dq 0, 0, 0
ud_rip:   dq 0
ist_rsp:  dq 0
user_rsp: dq 0
user_cs:  dw 0
user_ss:  dw 0

align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff         ; 0x08 64-bit code, DPL 0
    dq 0x00cf93000000ffff         ; 0x10 data, DPL 0
    dq 0x00cf9b000000ffff         ; 0x18 32-bit code, DPL 0
    dq 0x00affb000000ffff         ; 0x20 64-bit code, DPL 3
    dq 0x00cff3000000ffff         ; 0x28 data, DPL 3
    dw 0x67, ADDR(tss) & 0xffff   ; 0x30 64-bit TSS (16 bytes)
    db (ADDR(tss) >> 16) & 0xff, 0x89, 0, (ADDR(tss) >> 24) & 0xff
    dd 0, 0
    dq 0x00cf13000000ffff         ; 0x40 data, not present
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dq ADDR(gdt)

align 16
idt:
%assign v 0
%rep 0x34
  %if v == 6
    GATE h_ud, 0, 0
  %elif v == 11
    GATE h_np, 0, 0
  %elif v == 12
    GATE h_ss, 0, 0
  %elif v == 13
    GATE h_gp, 0, 0
  %elif v == 14
    GATE h_pf, 0, 0
  %elif v == 0x30
    GATE h_user, 3, 0
  %elif v == 0x32
    GATE h_ist, 0, 1
  %elif v == 0x33
    GATE h_finish, 3, 0
  %else
    GATE h_other, 0, 0
  %endif
%assign v v+1
%endrep
idt_end:
idtr: dw idt_end - idt - 1
      dq ADDR(idt)

align 16
tss:
    dd 0
    dq 0xa0000                    ; RSP0
    dq 0, 0                       ; RSP1, RSP2
    dq 0
    dq 0xb0000                    ; IST1
    times 6 dq 0
    dq 0
    dw 0, 0x68
