; The L2 -> L1 -> L2 round trip of a CPUID VM exit, ITERATIONS times: an
; L1 in 64-bit mode enters VMX operation and launches an L2 that loops on
; CPUID; the L1's exit handler counts the exit, advances the guest RIP by
; the exit's instruction length and resumes. Each round trip executes the
; same guest instructions (L2: CPUID, JMP; L1: the handler below).
; Runs under `softvt run --flat --mode long64` (ends with HLT) and, built
; with -DBOCHS_EXIT, under Bochs booted by bench/qemu_boot.asm (ends by
; writing "Shutdown" to Bochs's shutdown port 8900H).
; The debug console (port 0E9H) gets "vmx-roundtrip: done" or a reason.
bits 64
org 0x10000

%ifndef ITERATIONS
%define ITERATIONS 100000
%endif

%define VMXON_REGION 0x100000
%define VMCS_REGION  0x101000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

%macro VMW 2                              ; field := value
    mov rdx, %2
    mov eax, %1
    vmwrite rax, rdx
%endmacro

start:
    ; Firmware may leave IA32_FEATURE_CONTROL unlocked (Bochs's BIOS does):
    ; lock it with VMX outside SMX enabled (SDM 24.7).
    mov ecx, 0x3a
    rdmsr
    test al, 1
    jnz .locked
    mov eax, 5
    xor edx, edx
    wrmsr
.locked:
    call l1_load_gdt_tss                  ; its own GDT, segments and TR (l1_vmx_flat64.inc)
    mov ecx, 0x480                        ; IA32_VMX_BASIC
    rdmsr
    mov [VMXON_REGION], eax
    mov [VMCS_REGION], eax
    bt edx, 55 - 32                       ; the TRUE_ control MSRs exist
    jnc .plain
    mov dword [rel ctl_msr_base], 0x48d
.plain:
    mov rax, cr0
    or rax, 1 << 5                        ; CR0.NE: fixed to 1 in VMX operation
    mov cr0, rax
    mov rax, cr4
    or rax, 1 << 13                       ; CR4.VMXE
    mov cr4, rax
    vmxon [rel ptr_vmxon]
    jbe fail
    vmclear [rel ptr_vmcs]
    vmptrld [rel ptr_vmcs]
    call build_vmcs
    mov [rel saved_rsp], rsp
    vmlaunch
    jmp fail

; The exit handler of every round trip.
exit_handler:
    dec qword [rel remaining]
    jz done
    mov eax, 0x681e                       ; guest RIP
    vmread rbx, rax
    mov eax, 0x440c                       ; VM-exit instruction length
    vmread rcx, rax
    add rbx, rcx
    mov eax, 0x681e
    vmwrite rax, rbx
    vmresume
    jmp fail

done:
    mov eax, 0x4402                       ; exit reason: must be CPUID (10)
    vmread rbx, rax
    cmp ebx, 10
    jne fail
    vmxoff
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
%ifdef BOCHS_EXIT
    mov dx, 0x8900
    lea rsi, [rel msg_shutdown]
.shut:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .shut
%endif
.halt:
    hlt
    jmp .halt

guest_code:
    cpuid
    jmp guest_code

; reads control MSR number [ctl_msr_base] + ecx into eax (its must-be-1 bits)
ctl_must_be_1:
    add ecx, [rel ctl_msr_base]
    rdmsr
    ret

build_vmcs:
    xor ecx, ecx                          ; pin-based
    call ctl_must_be_1
    VMW 0x4000, rax
    mov ecx, 1                            ; primary processor-based
    call ctl_must_be_1
    VMW 0x4002, rax
    mov ecx, 2                            ; VM-exit: host address-space size
    call ctl_must_be_1
    or eax, 1 << 9
    VMW 0x400c, rax
    mov ecx, 3                            ; VM-entry: IA-32e mode guest
    call ctl_must_be_1
    or eax, 1 << 9
    VMW 0x4012, rax
    VMW 0x400a, 0                         ; CR3-target count
    call l1_vmcs_flat64_state             ; CRs, GDT, TSS, flat segments
    VMW 0x6c14, HOST_STACK
    lea rbx, [rel exit_handler]
    VMW 0x6c16, rbx                       ; host RIP
    VMW 0x681c, GUEST_STACK
    lea rbx, [rel guest_code]
    VMW 0x681e, rbx                       ; guest RIP
    ret

%include "l1_vmx_flat64.inc"

align 8
ptr_vmxon:  dq VMXON_REGION
ptr_vmcs:   dq VMCS_REGION
saved_rsp:  dq 0
remaining:  dq ITERATIONS + 1             ; + the exit that ends the run
ctl_msr_base: dd 0x481
msg_done:   db "vmx-roundtrip: done", 10, 0
msg_fail:   db "vmx-roundtrip: a VMX instruction failed or an unexpected exit", 10, 0
msg_shutdown: db "Shutdown", 0
