; expect-mode: long64
; expect-max-insns: 1000
; kvm: skip this host's PVM KVM emulator fails on STAC (instruction emulation failed, suberror 1)
; native: skip privileged code (page tables, CR4, IDT) cannot run as a host user process
; expect: rax=0x44 rbx=0x1 rcx=0x33 rdx=0x11 rsi=0x3 rdi=0x200000 r8=0x3 r9=0x22 exit=hlt
;
; Paging rules through the run loop and its software TLB (SDM Vol. 3A 4.6,
; 4.10): the first 2 MiB are made supervisor-only; 2-4 MiB is a user page.
; RAX = a byte read through a 2-MiB page after its PDE was remapped and
; INVLPG named another 4-KiB piece of it (INVLPG drops the whole large
; page); RCX = the byte read before the remap; RBX = #PF error of an
; explicit supervisor read of the user page with CR4.SMAP and AC = 0 (P);
; RDX = #PF error of a supervisor fetch there with CR4.SMEP (P | I/D); RSI
; = #PF error of a write to it with AC = 0 after STAC/CLAC (P | W); R8 =
; the number of the three faults taken, RDI = CR2 of the last; R9 = a byte
; read with EFLAGS.AC = 1 (STAC), which SMAP allows.
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)

start:
    lidt [idtr]
    mov rsp, 0x80000
    xor r8d, r8d
    and qword [0x3000], ~4        ; PDE 0: supervisor-only
    mov rax, cr3
    mov cr3, rax
    ; Two 4-KiB pieces of the 2-MiB page at 0x200000 are cached, then the
    ; PDE is pointed at 0x400000 and INVLPG names the first piece only.
    mov byte [0x201000], 0x33
    mov byte [0x401000], 0x44
    mov byte [0x400000], 0x22
    mov al, [0x200000]
    movzx ecx, byte [0x201000]
    mov rax, 0x400087
    mov [0x3008], rax
    invlpg [0x200000]
    movzx eax, byte [0x201000]
    push rax
    ; SMAP and SMEP.
    mov rax, cr4
    or eax, (1 << 20) | (1 << 21)
    mov cr4, rax
    mov r15, ADDR(after_read)
    mov bl, [0x200000]
after_read:
    mov rbx, r14
    stac
    movzx r9d, byte [0x200000]
    clac
    mov r15, ADDR(after_write)
    mov byte [0x200000], 1
after_write:
    mov rsi, r14
    mov r15, ADDR(after_fetch)
    mov rax, 0x200000
    jmp rax
after_fetch:
    mov rdx, r14
    mov rdi, cr2
    pop rax
    hlt

; #PF: R14 = error code, resume at R15, count in R8.
pf_handler:
    pop r14
    inc r8
    mov [rsp], r15
    iretq

align 16
idt:
    times 14 dq 0, 0
    dw ADDR(pf_handler) & 0xffff
    dw 0x08
    db 0
    db 0x8e
    dw (ADDR(pf_handler) >> 16) & 0xffff
    dd 0, 0
idt_end:
idtr: dw idt_end - idt - 1
      dq ADDR(idt)
