; Bare-metal multiboot test kernel for the local APIC (softvt issue 3):
; CPUID's APIC flag and initial APIC ID, the BSP's APIC ID register, the
; APIC timer in periodic mode (SDM 11.5.4) and its current count in one-shot
; mode, a self IPI, and - with more than one CPU (CMOS 0x5f = CPUs - 1, as
; QEMU sets it) - starting every AP with INIT-SIPI-SIPI (SDM 9.4.4, MP spec
; B.4), each AP checking that CPUID.01H:EBX[31:24] equals its APIC ID, and
; a fixed IPI broadcast to all the others that each AP counts in its
; handler. Only the BSP prints. Exits through isa-debug-exit with 0x10 +
; failures (status 33 when every check passed). Runs unchanged on
; qemu-system-x86_64 -smp N -kernel ... -device isa-debug-exit,iobase=0xf4,iosize=4.
%include "common.inc"

%define APIC 0xfee00000
%define APIC_ID 0x20
%define APIC_EOI 0xb0
%define APIC_SVR 0xf0
%define APIC_ICR_LOW 0x300
%define APIC_ICR_HIGH 0x310
%define APIC_LVT_TIMER 0x320
%define APIC_TIMER_INITIAL 0x380
%define APIC_TIMER_CURRENT 0x390
%define APIC_TIMER_DIVIDE 0x3e0

%define TIMER_VECTOR 0x40
%define SELF_VECTOR 0x41
%define BROADCAST_VECTOR 0x42
%define SPURIOUS_VECTOR 0xff
%define TRAMPOLINE 0x8000       ; SIPI vector 0x08
%define MAX_CPUS 16
%define SPIN_LIMIT 20000000     ; iterations before a wait counts as failed

MULTIBOOT_HEADER

section .bss
align 16
stack: resb 8192
stack_top:
ap_stacks: resb 4096 * MAX_CPUS
idt: resq 256
fails: resd 1
ncpus: resd 1
ticks: resd 1
self_ipis: resd 1
ap_started: resd 1
ap_bad_id: resd 1
ap_bad_reset: resd 1
ap_ipis: resd 1

section .data
FLAT_GDT32

section .text
DEFINE_SERIAL

; WAIT_FOR counter, value: spins (PAUSE) until dword [counter] >= value or
; SPIN_LIMIT iterations passed; ZF... leaves CF clear when reached.
%macro WAIT_FOR 2
    mov ecx, SPIN_LIMIT
%%spin:
    mov eax, [%1]
    cmp eax, %2
    jae %%done
    pause
    dec ecx
    jnz %%spin
%%done:
%endmacro

global _start
_start:
    mov esp, stack_top
    LOAD_FLAT_GDT32
    SET_GATE TIMER_VECTOR, timer_isr
    SET_GATE SELF_VECTOR, self_isr
    SET_GATE BROADCAST_VECTOR, broadcast_isr
    SET_GATE SPURIOUS_VECTOR, spurious_isr
    lidt [idt_ptr]
    ; the 8259As stay masked: every interrupt here comes from the APIC
    mov al, 0xff
    out 0x21, al
    out 0xa1, al

    ; CPUs: CMOS 0x5f holds the count less one
    mov al, 0x5f
    out 0x70, al
    in al, 0x71
    movzx eax, al
    inc eax
    mov [ncpus], eax
    PRINT "apic_smp: CPUs "
    call puthex
    NEWLINE

    ; ---- CPUID and the BSP's APIC ---------------------------------------
    mov eax, 1
    cpuid
    bt edx, 9
    CHECK c, "CPUID.01H:EDX.APIC set"
    shr ebx, 24
    mov eax, [APIC + APIC_ID]
    shr eax, 24
    cmp eax, ebx
    CHECK e, "APIC ID register = CPUID initial APIC ID"
    test eax, eax
    CHECK z, "BSP APIC ID 0"
    mov dword [APIC + APIC_SVR], 0x100 | SPURIOUS_VECTOR

    ; ---- timer: one-shot count runs down, periodic interrupts -----------
    mov dword [APIC + APIC_TIMER_DIVIDE], 0xb          ; divide by 1
    mov dword [APIC + APIC_LVT_TIMER], 0x10000 | TIMER_VECTOR  ; masked one-shot
    ; The counts are long in host time too (--accel kvm runs on the host's
    ; clock, and its CPL-0 code is slow): the one-shot count must not reach 0
    ; between the two reads, and a handler that takes longer than the period
    ; would find the next tick pending at every IRET and never let the loop
    ; below test [ticks] (an interrupt is taken at the first instruction
    ; boundary it may be, SDM 6.9).
    mov dword [APIC + APIC_TIMER_INITIAL], 0xffffffff  ; about 4.3 s at 1 GHz
    mov eax, [APIC + APIC_TIMER_CURRENT]
    mov ecx, 100
.burn:
    loop .burn
    mov edx, [APIC + APIC_TIMER_CURRENT]
    cmp edx, eax
    CHECK b, "one-shot current count decreases"
    mov dword [APIC + APIC_TIMER_INITIAL], 0
    mov dword [APIC + APIC_LVT_TIMER], 0x20000 | TIMER_VECTOR  ; periodic
    mov dword [APIC + APIC_TIMER_INITIAL], 10000000    ; 10 ms at 1 GHz
    sti
.wait_ticks:
    hlt
    cmp dword [ticks], 3
    jb .wait_ticks
    cli
    mov dword [APIC + APIC_LVT_TIMER], 0x10000 | TIMER_VECTOR  ; mask it again
    mov dword [APIC + APIC_TIMER_INITIAL], 0
    PRINT "ok periodic timer interrupts: 3"
    NEWLINE

    ; ---- self IPI ----------------------------------------------------------
    sti
    mov dword [APIC + APIC_ICR_LOW], (1 << 18) | SELF_VECTOR   ; shorthand self, fixed
    WAIT_FOR self_ipis, 1
    cmp dword [self_ipis], 1
    CHECK e, "self IPI delivered once"

    ; ---- application processors ---------------------------------------------
    mov eax, [ncpus]
    cmp eax, 1
    je .finish
    ; the real-mode trampoline the SIPI starts them at
    mov esi, trampoline
    mov edi, TRAMPOLINE
    mov ecx, trampoline_end - trampoline
    rep movsb
    ; INIT, then SIPI twice, to all excluding self (SDM 11.6.1 ICR)
    mov dword [APIC + APIC_ICR_HIGH], 0
    mov dword [APIC + APIC_ICR_LOW], 0xc4500
    mov dword [APIC + APIC_ICR_LOW], 0xc4600 | (TRAMPOLINE >> 12)
    mov dword [APIC + APIC_ICR_LOW], 0xc4600 | (TRAMPOLINE >> 12)
    mov ebx, [ncpus]
    dec ebx
    WAIT_FOR ap_started, ebx
    cmp [ap_started], ebx
    CHECK e, "every AP started (INIT-SIPI-SIPI)"
    cmp dword [ap_bad_id], 0
    CHECK e, "every AP's CPUID initial APIC ID equals its APIC ID register"
    cmp dword [ap_bad_reset], 0
    CHECK e, "every AP starts with the power-on MXCSR, PAT, DR6 and DR7"
    mov dword [APIC + APIC_ICR_LOW], 0xc4000 | BROADCAST_VECTOR  ; fixed, all excluding self
    WAIT_FOR ap_ipis, ebx
    cmp [ap_ipis], ebx
    CHECK e, "broadcast IPI reached every AP"

.finish:
    EXIT_WITH_FAILURES

; ---- interrupt handlers (every CPU) --------------------------------------------
timer_isr:
    lock inc dword [ticks]
    mov dword [APIC + APIC_EOI], 0
    iret
self_isr:
    lock inc dword [self_ipis]
    mov dword [APIC + APIC_EOI], 0
    iret
broadcast_isr:
    lock inc dword [ap_ipis]
    mov dword [APIC + APIC_EOI], 0
    iret
spurious_isr:
    iret                               ; no EOI for the spurious vector (SDM 11.9)

; ---- an AP in protected mode ------------------------------------------------------
ap_main:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, [APIC + APIC_ID]
    shr eax, 24
    mov esp, eax
    and esp, MAX_CPUS - 1
    inc esp
    shl esp, 12
    add esp, ap_stacks
    lidt [idt_ptr]
    mov esi, eax
    call check_ap_reset_state          ; keeps ESI
    mov eax, 1
    cpuid
    shr ebx, 24
    cmp ebx, esi
    je .id_ok
    lock inc dword [ap_bad_id]
.id_ok:
    mov dword [APIC + APIC_SVR], 0x100 | SPURIOUS_VECTOR
    lock inc dword [ap_started]
    sti
.idle:
    hlt
    jmp .idle

; The registers INIT leaves alone hold their power-on values on an AP that
; only ever saw INIT-SIPI-SIPI (SDM Vol. 3A 9.1.1, Table 9-1): MXCSR 1F80H,
; IA32_PAT 0007040600070406H, DR6 FFFF0FF0H, DR7 00000400H.
check_ap_reset_state:
    mov eax, cr4
    or eax, 1 << 9                     ; CR4.OSFXSR, or STMXCSR is #UD
    mov cr4, eax
    sub esp, 4
    stmxcsr [esp]                      ; on this AP's own stack
    pop eax
    cmp eax, 0x1f80
    jne .bad
    mov ecx, 0x277
    rdmsr
    cmp eax, 0x00070406
    jne .bad
    cmp edx, 0x00070406
    jne .bad
    mov eax, dr6
    cmp eax, 0xffff0ff0
    jne .bad
    mov eax, dr7
    cmp eax, 0x400
    jne .bad
    ret
.bad:
    lock inc dword [ap_bad_reset]
    ret

; ---- the SIPI trampoline, copied to TRAMPOLINE (real mode, CS = 0x0800) ----------
bits 16
trampoline:
    cli
    xor ax, ax
    mov ds, ax
    o32 lgdt [TRAMPOLINE + tramp_gdt_ptr - trampoline]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:ap_main
align 4
tramp_gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
trampoline_end:
bits 32
