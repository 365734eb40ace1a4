; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=52 rbx=52 exit=hlt
;
; An L1 whose L2 halts with the VMX-preemption timer running (SDM Vol. 3C
; 26.5.1), for the flat runner and for the PC machine
; (tests/unit/test_vmx_events.cpp runs it there with the PIT ticking every
; 54.9 ms and the PICs as a BIOS leaves them). Three VM entries into an L2
; that executes HLT:
;   1. external-interrupt exiting with "acknowledge interrupt on exit" and a
;      timer of about 2 ms: on the PC the PIT's request pending since
;      power-on exits at once (reason 1) and is acknowledged; the flat
;      runner has no interrupts: the timer exits (52). RDX = its reason.
;   2. the same controls with a timer of about 200 ms, guest RFLAGS.IF = 0
;      (external-interrupt exiting ignores it): the halted L2 waits; on the
;      PC the PIT's next tick comes first (reason 1), on the flat runner
;      the timer (52). RAX = its reason.
;   3. the timer alone (about 2 ms), guest RFLAGS.IF = 0: only the timer
;      can end the wait (52). RBX = its reason, RCX = the TSC ticks the L1
;      saw from before the VMRESUME to after the exit.
; The L1 then halts with interrupts disabled.
bits 64
org 0x10000

; timer values, in counts of TSC bit 5 (IA32_VMX_MISC[4:0] = 5)
%define SHORT_TIMER  0x10000             ; about 2.1 ms
%define LONG_TIMER   0x600000            ; about 201 ms
%define VMXON_REGION 0x100000
%define VMCS_REGION  0x101000
%define L1_STACK     0x78000
%define L2_STACK     0x68000

%include "l1_vmx_fields.inc"
%include "l1_macros.inc"

; ENTER value, pin-extra, rflags, entry instruction: the L2 at g_hlt with
; the timer value; returns after the exit with r8 = the exit reason
%macro ENTER 4
    VMW TIMER_VALUE, %1
    mov ecx, 0x48d                       ; IA32_VMX_TRUE_PINBASED_CTLS
    rdmsr
    or eax, (1 << 6) | (%2)               ; activate VMX-preemption timer
    VMW PIN_CTL, rax
    lea rbx, [rel g_hlt]
    VMW G_RIP, rbx
    VMW G_RFLAGS, %3
    VMW G_ACTIVITY, 0
    lea rbx, [rel %%back]
    VMW H_RIP, rbx
    %4
    jmp vm_failed
%%back:
    VMR r8, EXIT_REASON
%endmacro

start:
    mov rsp, L1_STACK
    call l1_load_gdt_tss
    VMX_ON VMXON_REGION, VMCS_REGION
    call build_vmcs

    ENTER SHORT_TIMER, 1, 0x202, vmlaunch    ; external-interrupt exiting
    mov r12, r8
    call eoi
    ENTER LONG_TIMER, 1, 0x002, vmresume     ; external-interrupt exiting
    mov r13, r8
    call eoi
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    ENTER SHORT_TIMER, 0, 0x002, vmresume
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, r14
    mov rcx, rax
    mov rax, r13
    mov rbx, r8
    mov rdx, r12
    hlt

vm_failed:                               ; VMLAUNCH/VMRESUME failed: RAX = RBX = -1
    mov rax, -1
    mov rbx, rax
    hlt

; A non-specific EOI to the master PIC for an acknowledged IRQ0 (the flat
; runner ignores the port).
eoi:
    mov al, 0x20
    out 0x20, al
    ret

; ---- the L2 --------------------------------------------------------------------
g_hlt:
    hlt
    jmp g_hlt

; ---- the VMCS ------------------------------------------------------------------
build_vmcs:
    mov ecx, 0x48e                       ; IA32_VMX_TRUE_PROCBASED_CTLS: must-be-1 bits
    rdmsr
    VMW PROC_CTL, rax
    mov ecx, 0x48f                       ; IA32_VMX_TRUE_EXIT_CTLS
    rdmsr
    or eax, (1 << 9) | (1 << 15)         ; host address-space size, acknowledge interrupt on exit
    VMW EXIT_CTL, rax
    mov ecx, 0x490                       ; IA32_VMX_TRUE_ENTRY_CTLS
    rdmsr
    or eax, 1 << 9                       ; IA-32e mode guest
    VMW ENTRY_CTL, rax
    VMW EXC_BITMAP, 0
    call l1_vmcs_flat64_state            ; CRs, GDT, TSS, flat segments
    VMW H_RSP, L1_STACK
    VMW G_RSP, L2_STACK
    ret

%include "l1_vmx_flat64.inc"

