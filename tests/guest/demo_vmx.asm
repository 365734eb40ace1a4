; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=7 exit=hlt
;
; softvt demo, VMX part (run by `softvt demo` on the intel model): an L1
; hypervisor in 64-bit mode that enters VMX operation, launches an L2
; sharing its page tables, and narrates on the debug console (port 0xE9)
; what each VM exit was; then it shows one VMfail (a bad control: VMfailValid
; with VM-instruction error 7) and one failed VM entry (bad guest state:
; exit reason 33 with bit 31 set). softvt names the failing check of each.
; Ends with HLT in VMX root operation after VMXOFF; RAX = exits handled.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS_REGION  0x101000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

%define EXIT_REASON  0x4402
%define VM_ERROR     0x4400
%define EXIT_LEN     0x440c
%define EXIT_QUAL    0x6400
%define G_RIP        0x681e
%define G_RFLAGS     0x6820
%define CR3_COUNT    0x400a

%macro PRINT 1
    lea rsi, [rel %%s]
    call print
    jmp %%e
%%s: db %1, 10, 0
%%e:
%endmacro
%include "l1_macros.inc"

start:
    PRINT "L1: a hypervisor in 64-bit mode; CPUID.1:ECX.VMX is set, entering VMX operation"
    call l1_load_gdt_tss
    VMX_ON VMXON_REGION, VMCS_REGION
    call build_vmcs
    PRINT "L1: VMLAUNCH of an L2 that runs CPUID, OUT 80H, RDMSR, HLT, RDTSC and VMCALL"
    mov [saved_rsp], rsp
    vmlaunch
    PRINT "L1: VMLAUNCH failed (unexpected)"
    jmp finish

; Host RIP of the VMCS: every VM exit lands here with the host state loaded.
exit_handler:
    mov rsp, [rel saved_rsp]
    inc qword [rel exits]
    VMR rbx, EXIT_REASON
    test ebx, ebx
    js entry_failed
    lea rsi, [rel msg_exit]
    call print
    mov rax, rbx
    call print_dec
    lea rsi, [rel msg_nl]
    call print
    cmp ebx, 18                           ; VMCALL: the L2 is done
    je guest_done
    VMR rbx, G_RIP                        ; skip the exiting instruction
    VMR rcx, EXIT_LEN
    add rbx, rcx
    VMW G_RIP, rbx
    vmresume
    jmp finish

guest_done:
    PRINT "L1: the L2 called VMCALL; now a VMRESUME with CR3-target count 5 (at most 4 are allowed)"
    VMW CR3_COUNT, 5
    vmresume
    jnz .no_vmfail                        ; VMfailValid: ZF = 1
    VMR rax, VM_ERROR
    lea rsi, [rel msg_vmfail]
    call print
    call print_dec
    lea rsi, [rel msg_nl]
    call print
.no_vmfail:
    VMW CR3_COUNT, 0
    PRINT "L1: now a VMRESUME with guest RFLAGS bit 1 clear (reserved, must be 1)"
    VMW G_RFLAGS, 0
    mov [saved_rsp], rsp
    vmresume
    PRINT "L1: VMRESUME failed as an instruction (unexpected)"
    jmp finish

entry_failed:
    lea rsi, [rel msg_entry_failed]
    call print
    mov rax, rbx
    call print_hex32
    lea rsi, [rel msg_qual]
    call print
    VMR rax, EXIT_QUAL
    call print_dec
    lea rsi, [rel msg_nl]
    call print
finish:
    vmxoff
    PRINT "L1: VMXOFF; done"
    mov rax, [rel exits]
    hlt

; ---- the L2 -------------------------------------------------------------------
guest_code:
    xor eax, eax
    cpuid                                 ; always exits (reason 10)
    mov al, 0x42
    out 0x80, al                          ; unconditional I/O exiting (30)
    mov ecx, 0x10
    rdmsr                                 ; no MSR bitmaps: every RDMSR exits (31)
    hlt                                   ; HLT exiting (12)
    rdtsc                                 ; RDTSC exiting (16)
    vmcall                                ; always exits (18)
    jmp $

; ---- the VMCS ------------------------------------------------------------------
; Controls are the TRUE_ capability MSRs' must-be-1 bits plus the exits wanted.
build_vmcs:
    mov ecx, 0x48d                        ; IA32_VMX_TRUE_PINBASED_CTLS
    rdmsr
    VMW 0x4000, rax
    mov ecx, 0x48e                        ; IA32_VMX_TRUE_PROCBASED_CTLS
    rdmsr
    or eax, (1 << 7) | (1 << 12) | (1 << 24)  ; HLT, RDTSC, unconditional I/O exiting
    VMW 0x4002, rax
    mov ecx, 0x48f                        ; IA32_VMX_TRUE_EXIT_CTLS
    rdmsr
    or eax, 1 << 9                        ; host address-space size
    VMW 0x400c, rax
    mov ecx, 0x490                        ; IA32_VMX_TRUE_ENTRY_CTLS
    rdmsr
    or eax, 1 << 9                        ; IA-32e mode guest
    VMW 0x4012, rax
    call l1_vmcs_flat64_state             ; CRs, GDT, TSS, flat segments (l1_vmx_flat64.inc)
    VMW 0x6c14, HOST_STACK
    lea rbx, [rel exit_handler]
    VMW 0x6c16, rbx                       ; host RIP
    VMW 0x681c, GUEST_STACK
    lea rbx, [rel guest_code]
    VMW G_RIP, rbx
    ret

; ---- helpers ---------------------------------------------------------------------
%include "l1_console.inc"

%include "l1_vmx_flat64.inc"

saved_rsp:  dq 0
exits:      dq 0
msg_exit:   db "L1: VM exit, basic reason ", 0
msg_vmfail: db "L1: VMfailValid, VM-instruction error ", 0
msg_entry_failed: db "L1: VM-entry failure: exit reason ", 0
msg_qual:   db ", qualification ", 0
msg_nl:     db 10, 0
