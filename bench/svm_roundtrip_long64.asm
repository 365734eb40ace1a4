; The L2 -> L1 -> L2 round trip of a CPUID #VMEXIT under AMD SVM,
; ITERATIONS times: an L1 in 64-bit mode sets EFER.SVME and VM_HSAVE_PA and
; runs an L2 that loops on CPUID with the CPUID intercept set (APM Vol. 2
; 15.5 VMRUN, 15.6 #VMEXIT); the L1's loop checks the exit code, advances
; the guest RIP past CPUID (2 bytes: no NRIP save needed) and runs VMRUN
; again. Each round trip executes the same guest instructions (L2: CPUID,
; JMP; L1: the loop below). The L2 shares the L1's page tables and GDT
; (no nested paging: the round trip itself is measured).
; Runs under `softvt run --flat --mode long64 --cpu amd` (ends with HLT)
; and, built with -DQEMU_EXIT, under QEMU TCG (-cpu qemu64,+svm) booted by
; bench/qemu_boot.asm (ends by writing to isa-debug-exit, port 0F4H).
; The debug console (port 0E9H) gets "svm-roundtrip: done" or a reason.
bits 64
org 0x10000

%ifndef ITERATIONS
%define ITERATIONS 100000
%endif

%define VMCB         0x200000
%define HSAVE        0x201000
%define IOPM         0x210000            ; 12 KB, all zero: no I/O intercepts
%define MSRPM        0x214000            ; 8 KB, all zero
%define GUEST_STACK  0x68000

start:
    mov ecx, 0xc0000080                   ; EFER.SVME
    rdmsr
    bts eax, 12
    wrmsr
    mov ecx, 0xc0010117                   ; VM_HSAVE_PA
    mov eax, HSAVE
    xor edx, edx
    wrmsr
    call build_vmcb
l1_loop:
    mov rax, VMCB
    vmrun
    cmp qword [VMCB + 0x070], 0x72        ; EXITCODE: VMEXIT_CPUID
    jne fail
    add qword [VMCB + 0x578], 2           ; guest RIP past CPUID
    dec qword [rel remaining]
    jnz l1_loop
    lea rsi, [rel msg_done]
    jmp finish
fail:
    lea rsi, [rel msg_fail]
finish:
    mov dx, 0xe9
.print:
    lodsb
    test al, al
    jz .end
    out dx, al
    jmp .print
.end:
%ifdef QEMU_EXIT
    xor eax, eax
    out 0xf4, al                          ; isa-debug-exit: QEMU exits with status 1
%endif
.halt:
    hlt
    jmp .halt

guest_code:
    cpuid
    jmp guest_code

; A 64-bit L2 on the L1's paging, GDT and flat segments; intercepts CPUID
; and VMRUN (required); ASID 1.
build_vmcb:
    mov rdi, VMCB
    xor eax, eax
    mov ecx, 512
    rep stosq
    mov rdi, IOPM
    mov ecx, (0x3000 + 0x2000) / 8
    rep stosq
    mov dword [VMCB + 0x00c], 1 << 18      ; CPUID
    mov dword [VMCB + 0x010], 1            ; VMRUN
    mov qword [VMCB + 0x040], IOPM
    mov qword [VMCB + 0x048], MSRPM
    mov dword [VMCB + 0x058], 1            ; ASID
    mov dword [VMCB + 0x410], 0x029b0008   ; CS: 08H, 64-bit code
    mov dword [VMCB + 0x414], 0xffffffff
    mov dword [VMCB + 0x400], 0x00930010   ; ES, SS, DS: 10H, flat data
    mov dword [VMCB + 0x404], 0xffffffff
    mov dword [VMCB + 0x420], 0x00930010
    mov dword [VMCB + 0x424], 0xffffffff
    mov dword [VMCB + 0x430], 0x00930010
    mov dword [VMCB + 0x434], 0xffffffff
    sgdt [rel gdt_image]
    movzx eax, word [rel gdt_image]
    mov [VMCB + 0x464], eax
    mov rax, [rel gdt_image + 2]
    mov [VMCB + 0x468], rax
    mov ecx, 0xc0000080
    rdmsr
    mov [VMCB + 0x4d0], eax                ; EFER
    mov rax, cr4
    mov [VMCB + 0x548], rax
    mov rax, cr3
    mov [VMCB + 0x550], rax
    mov rax, cr0
    mov [VMCB + 0x558], rax
    mov qword [VMCB + 0x560], 0x400        ; DR7
    mov eax, 0xffff0ff0
    mov [VMCB + 0x568], rax                ; DR6
    mov qword [VMCB + 0x570], 2            ; RFLAGS
    lea rax, [rel guest_code]
    mov [VMCB + 0x578], rax                ; RIP
    mov qword [VMCB + 0x5d8], GUEST_STACK  ; RSP
    ret

align 8
gdt_image:  times 16 db 0
remaining:  dq ITERATIONS + 1              ; + the exit that ends the run
msg_done:   db "svm-roundtrip: done", 10, 0
msg_fail:   db "svm-roundtrip: an unexpected #VMEXIT", 10, 0
