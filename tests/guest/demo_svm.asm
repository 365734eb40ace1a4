; expect-mode: long64
; kvm: skip the host has no SVM for guests (PVM KVM without nesting)
; native: skip SVM instructions and MSRs need ring 0
; expect: rax=0 exit=hlt
;
; softvt demo, SVM part (run by `softvt demo --cpu amd`): an L1 hypervisor
; in 64-bit mode sets EFER.SVME and VM_HSAVE_PA, builds a VMCB for an L2
; that shares its page tables and segments (APM Vol. 2 15.5, Appendix B),
; runs it with VMRUN and narrates each #VMEXIT on the debug console (port
; 0E9H), resuming the L2 at the next RIP the VMCB reports (NRIP save).
; Then it runs a VMCB with guest ASID 0, which fails VMRUN's consistency
; checks: #VMEXIT(VMEXIT_INVALID), EXITCODE = -1 in all 64 bits (APM
; 15.5.1); softvt names the check. RAX = #VMEXITs seen (7 on the amd
; model: tests/unit/test_demo.cpp); on a CPU without SVM it says so and
; halts with RAX = 0 (the guest corpus runs it on the intel model).
bits 64
org 0x10000

%define VMCB         0x100000
%define HOST_SAVE    0x101000
%define IOPM         0x102000             ; 12 KB
%define MSRPM        0x105000             ; 8 KB
%define GUEST_STACK  0x68000

%define EXITCODE     VMCB + 0x070
%define NRIP         VMCB + 0x0c8
%define G_RIP        VMCB + 0x578

%macro PRINT 1
    lea rsi, [rel %%s]
    call print
    jmp %%e
%%s: db %1, 10, 0
%%e:
%endmacro

start:
    mov eax, 0x80000001
    cpuid
    test ecx, 1 << 2                      ; CPUID 80000001H:ECX.SVM
    jnz .svm
    PRINT "L1: this CPU has no SVM"
    xor eax, eax
    hlt
.svm:
    PRINT "L1: a hypervisor in 64-bit mode; CPUID 80000001H:ECX.SVM is set, enabling SVM"
    mov ecx, 0xc0000080                   ; EFER.SVME
    rdmsr
    or eax, 1 << 12
    wrmsr
    mov ecx, 0xc0010117                   ; VM_HSAVE_PA
    mov eax, HOST_SAVE
    xor edx, edx
    wrmsr
    call build_vmcb
    PRINT "L1: VMRUN of an L2 that runs CPUID, OUT 80H, RDMSR, HLT, RDTSC and VMMCALL"
run_guest:
    mov eax, VMCB
    vmrun
    inc qword [rel exits]
    lea rsi, [rel msg_exit]
    call print
    mov rax, [EXITCODE]
    call print_hex64
    lea rsi, [rel msg_nl]
    call print
    cmp qword [EXITCODE], 0x81            ; VMMCALL: the L2 is done
    je guest_done
    cmp qword [EXITCODE], -1              ; VMEXIT_INVALID: the VMCB is wrong
    je failed
    mov rax, [NRIP]                       ; resume after the intercepted instruction
    mov [G_RIP], rax
    jmp run_guest

guest_done:
    PRINT "L1: the L2 called VMMCALL; now a VMRUN with guest ASID 0 (reserved for the host)"
    mov dword [VMCB + 0x058], 0
    mov eax, VMCB
    vmrun
    inc qword [rel exits]
    lea rsi, [rel msg_invalid]
    call print
    mov rax, [EXITCODE]
    call print_hex64
    lea rsi, [rel msg_nl]
    call print
    PRINT "L1: done"
    mov rax, [rel exits]
    hlt
failed:
    PRINT "L1: the first VMRUN failed its consistency checks (unexpected)"
    mov rax, [rel exits]
    hlt

; ---- the L2 -------------------------------------------------------------------
guest_code:
    xor eax, eax
    cpuid                                 ; CPUID intercept (exit code 72H)
    mov al, 0x42
    out 0x80, al                          ; IOIO intercept through the IOPM (7BH)
    mov ecx, 0x10
    rdmsr                                 ; MSR intercept through the MSRPM (7CH)
    hlt                                   ; HLT intercept (78H)
    rdtsc                                 ; RDTSC intercept (6EH)
    vmmcall                               ; VMMCALL intercept (81H)
    jmp $

; ---- the VMCB (APM Vol. 2 Appendix B) ------------------------------------------
build_vmcb:
    ; control area
    mov dword [VMCB + 0x00c], (1 << 14) | (1 << 18) | (1 << 24) | (1 << 27) | (1 << 28)
                                          ; RDTSC, CPUID, HLT, IOIO_PROT, MSR_PROT
    mov dword [VMCB + 0x010], 3           ; VMRUN (required), VMMCALL
    mov qword [VMCB + 0x040], IOPM
    mov qword [VMCB + 0x048], MSRPM
    mov byte [IOPM + 0x80 / 8], 1 << (0x80 % 8)   ; port 80H
    mov byte [MSRPM + 0x10 * 2 / 8], 1            ; RDMSR of MSR 10H
    mov dword [VMCB + 0x058], 1           ; guest ASID
    ; state save area: the L1's own CRs, EFER, flat segments and tables
    mov rax, cr0
    mov [VMCB + 0x558], rax
    mov rax, cr3
    mov [VMCB + 0x550], rax
    mov rax, cr4
    mov [VMCB + 0x548], rax
    mov ecx, 0xc0000080
    rdmsr
    mov [VMCB + 0x4d0], eax
    mov [VMCB + 0x4d4], edx
    mov qword [VMCB + 0x560], 0x400       ; DR7
    mov eax, 0xffff0ff0
    mov [VMCB + 0x568], rax               ; DR6
    mov qword [VMCB + 0x570], 2           ; RFLAGS
    lea rax, [rel guest_code]
    mov [G_RIP], rax
    mov qword [VMCB + 0x5d8], GUEST_STACK ; RSP
    mov rax, 0x0007040600070406
    mov [VMCB + 0x668], rax               ; G_PAT (the reset value)
    sgdt [rel scratch]
    movzx eax, word [rel scratch]
    mov [VMCB + 0x464], eax               ; GDTR limit
    mov rax, [rel scratch + 2]
    mov [VMCB + 0x468], rax               ; GDTR base
    mov dword [VMCB + 0x484], 0xfff       ; IDTR limit (base 0)
    ; ES, CS, SS, DS: selector, attributes (VMCB format: access byte and
    ; G/D/L/AVL in bits 11:8), limit, base 0
    mov ecx, 0x400
    mov ax, cs
    mov [VMCB + 0x410], ax
    mov word [VMCB + 0x412], 0xa9b        ; 64-bit code: L, G, P, S, execute/read
    mov dword [VMCB + 0x414], 0xffffffff
    mov ax, ss
    lea rdi, [VMCB + 0x400]
    call data_segment                     ; ES
    lea rdi, [VMCB + 0x420]
    call data_segment                     ; SS
    lea rdi, [VMCB + 0x430]
    call data_segment                     ; DS
    ret

; rdi = a segment of the save area, ax = selector: a flat read/write data segment
data_segment:
    mov [rdi], ax
    mov word [rdi + 2], 0xc93             ; G, D/B, P, S, read/write, accessed
    mov dword [rdi + 4], 0xffffffff
    ret

; ---- helpers ---------------------------------------------------------------------
%include "l1_console.inc"

align 8
scratch:    times 2 dq 0
exits:      dq 0
msg_exit:   db "L1: #VMEXIT, exit code ", 0
msg_invalid: db "L1: VMRUN failed its checks: #VMEXIT, exit code ", 0
msg_nl:     db 10, 0
