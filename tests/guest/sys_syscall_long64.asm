; expect-mode: long64
; kvm: skip this host's PVM KVM leaves a ring-3 SYSCALL in ring 3 (the "kernel" runs with CS 0x33, then a triple fault); the PC engine's fix-up (emu/accel/kvm_syscall_entry.h) needs an IDT, which this image lacks
; native: skip privileged code (MSRs, CR4, SYSRET) cannot run as a host user process
; expect: rax=0 rbx=0x8 rcx=0x2b rdx=0x23 rsi=0x00007fff12345678 rdi=0x3333 r8=0 r9=0x202 r10=0x2 r11=0x1111 r12=0x2222 r13=0x5a5a r14=0x10 r15=0xcafe exit=hlt
;
; SYSCALL/SYSRET in 64-bit mode (SDM Vol. 2 SYSCALL, SYSRET; Vol. 3A
; 5.8.8): SYSRET from ring 0 enters ring 3 with CS = STAR[63:48] + 16 | 3
; and SS = STAR[63:48] + 8 | 3; SYSCALL comes back with RCX = the next RIP,
; R11 = RFLAGS, RFLAGS masked by IA32_FMASK and CS/SS from STAR[47:32].
; Then SWAPGS, WRFSBASE/RDFSBASE (CR4.FSGSBASE) and RDPID (IA32_TSC_AUX).
; RAX = RCX minus the expected return address (0), RBX = kernel CS,
; RCX/RDX = ring-3 CS/SS, RSI = FS base read back, RDI = RDI passed from
; ring 3, R8 = ring-3 RSP change (0), R9 = R11 (ring-3 RFLAGS), R10 =
; kernel RFLAGS, R11/R12 = GS base / KERNEL_GS_BASE after SWAPGS, R13 =
; RDPID, R14 = kernel SS, R15 = marker.
bits 64
org 0x10000

%define ADDR(l) ((l) - $$ + 0x10000)

start:
    lgdt [gdtr]
    mov ecx, 0xc0000081           ; STAR: SYSRET base 0x18, SYSCALL CS 0x08
    xor eax, eax
    mov edx, 0x00180008
    wrmsr
    mov ecx, 0xc0000082           ; LSTAR
    mov eax, ADDR(kernel_entry)
    xor edx, edx
    wrmsr
    mov ecx, 0xc0000084           ; IA32_FMASK: TF IF DF NT
    mov eax, 0x4700
    xor edx, edx
    wrmsr
    mov rbp, rsp
    mov rcx, ADDR(user)
    mov r11, 0x202
    o64 sysret

user:
    mov ecx, cs
    mov edx, ss
    mov rdi, 0x3333
    push rcx
    push rdx
    syscall
after_syscall:
    hlt

kernel_entry:
    pushfq
    pop r10
    mov rax, rcx
    sub rax, ADDR(after_syscall)
    mov [saved_rax], rax
    mov r9, r11
    mov ebx, cs
    mov r14d, ss
    lea r8, [rsp + 16]
    sub r8, rbp                   ; RSP is unchanged by SYSCALL
    pop qword [saved_rdx]         ; ring-3 SS
    pop qword [saved_rcx]         ; ring-3 CS
    ; SWAPGS
    mov ecx, 0xc0000101           ; GS base
    mov eax, 0x1111
    xor edx, edx
    wrmsr
    mov ecx, 0xc0000102           ; KERNEL_GS_BASE
    mov eax, 0x2222
    wrmsr
    swapgs
    mov ecx, 0xc0000101
    rdmsr
    mov r12, rax                  ; the old KERNEL_GS_BASE
    mov ecx, 0xc0000102
    rdmsr
    mov r11, rax                  ; the old GS base
    ; WRFSBASE / RDFSBASE
    mov rax, cr4
    bts rax, 16
    mov cr4, rax
    mov rax, 0x00007fff12345678
    wrfsbase rax
    rdfsbase rsi
    ; RDPID
    mov ecx, 0xc0000103
    mov eax, 0x5a5a
    xor edx, edx
    wrmsr
    rdpid r13
    mov rax, [saved_rax]
    mov rcx, [saved_rcx]
    mov rdx, [saved_rdx]
    mov r15, 0xcafe
    hlt

align 8
saved_rax: dq 0
saved_rcx: dq 0
saved_rdx: dq 0

align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff         ; 0x08 64-bit code, DPL 0
    dq 0x00cf93000000ffff         ; 0x10 data, DPL 0
    dq 0x00cffb000000ffff         ; 0x18 32-bit code, DPL 3
    dq 0x00cff3000000ffff         ; 0x20 data, DPL 3
    dq 0x00affb000000ffff         ; 0x28 64-bit code, DPL 3
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dq ADDR(gdt)
