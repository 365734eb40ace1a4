; expect-mode: long64
; kvm: skip this host's PVM KVM runs ring 3 with its own selectors (CS 0x33, SS 0x2b) after SYSEXIT, then a triple fault
; native: skip privileged code (MSRs, SYSEXIT) cannot run as a host user process
; expect: rax=0 rbx=0x8 rcx=0x2b rdx=0x33 rsi=0x7f000 rdi=0x10 r8=0x6f000 r9=0x46 r10=0x202 r15=0xcafe exit=hlt
;
; SYSENTER/SYSEXIT in IA-32e mode on the Intel model (SDM Vol. 2 SYSENTER,
; SYSEXIT; Vol. 3A 5.8.7): REX.W SYSEXIT enters 64-bit ring 3 with CS =
; SYSENTER_CS + 32 | 3, SS = SYSENTER_CS + 40 | 3, RSP = RCX, RIP = RDX;
; SYSENTER returns to ring 0 with CS = SYSENTER_CS, SS = SYSENTER_CS + 8,
; RSP = IA32_SYSENTER_ESP, RIP = IA32_SYSENTER_EIP, and VM, IF, RF clear.
; RAX = ring-3 RIP check (0), RBX/RDI = kernel CS/SS, RCX/RDX = ring-3
; CS/SS, RSI = kernel RSP, R8 = ring-3 RSP, R9 = kernel RFLAGS (ZF, PF from
; the SUB before SYSENTER; IF cleared), R10 =
; ring-3 RFLAGS, R15 = marker.
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)

start:
    lgdt [gdtr]
    mov ecx, 0x174                ; IA32_SYSENTER_CS
    mov eax, 0x08
    xor edx, edx
    wrmsr
    mov ecx, 0x175                ; IA32_SYSENTER_ESP
    mov eax, 0x7f000
    wrmsr
    mov ecx, 0x176                ; IA32_SYSENTER_EIP
    mov eax, ADDR(kernel_entry)
    wrmsr
    push 0x202
    popfq                         ; IF = 1: SYSEXIT leaves RFLAGS alone
    mov rcx, 0x6f000
    mov rdx, ADDR(user)
    o64 sysexit

user:
    pushfq
    pop r10
    mov r8, rsp
    lea rax, [rel user]
    sub rax, ADDR(user)
    mov [0x6e000], rax
    mov ecx, cs
    mov edx, ss
    sysenter

kernel_entry:
    pushfq
    pop r9
    mov ebx, cs
    mov edi, ss
    mov rsi, rsp
    mov rax, [0x6e000]
    mov r15, 0xcafe
    hlt

align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff         ; 0x08 64-bit code, DPL 0
    dq 0x00cf93000000ffff         ; 0x10 data, DPL 0
    dq 0x00cffb000000ffff         ; 0x18 32-bit code, DPL 3
    dq 0x00cff3000000ffff         ; 0x20 data, DPL 3
    dq 0x00affb000000ffff         ; 0x28 64-bit code, DPL 3
    dq 0x00cff3000000ffff         ; 0x30 data, DPL 3
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dq ADDR(gdt)
