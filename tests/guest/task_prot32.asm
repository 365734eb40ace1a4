; expect-mode: prot32
; kvm: skip the PVM-based host KVM cannot emulate a far JMP to a TSS (instruction emulation failed: task switches are not in its instruction emulator)
; native: skip privileged code (descriptor tables, task register, control registers) cannot run as a host user process
; expect: rax=0x8b8989 rbx=0x1111 rcx=0x18 rdx=0x4000 rsi=0x0 rdi=0x8 rbp=0x2222 exit=hlt
;
; Hardware task switches in 32-bit protected mode (SDM Vol. 3A 7.3-7.4):
; task A (TR = 0x18) JMPs to task B, which JMPs back (no nesting: B's NT
; clear, A's busy bit cleared and set again); A CALLs task C through a task
; gate (nesting: C's NT set, C's previous-task link = A); C returns with
; IRET. Results: RAX = access bytes of the A/B/C descriptors at the end
; (A busy 8Bh, B and C available 89h), RBX = A's EBX restored from its TSS,
; RCX = C's link, RDX = C's EFLAGS.NT, RSI = B's EFLAGS.NT, RDI = CR0.TS,
; RBP = the ECX that B's TSS received when B switched away.
bits 32
org 0x10000

%macro TSSDESC 3                  ; base, limit, access
    dw (%2) & 0xffff
    dw (%1) & 0xffff
    db ((%1) >> 16) & 0xff
    db %3
    db ((%2) >> 16) & 0xf
    db ((%1) >> 24) & 0xff
%endmacro

; A ring-0 flat task at %2 with ESP %3 in the 32-bit TSS at %1.
%macro INIT_TSS32 3
    mov eax, cr3
    mov [%1 + 0x1c], eax
    mov dword [%1 + 0x20], %2
    mov dword [%1 + 0x24], 2
    mov dword [%1 + 0x38], %3
    mov dword [%1 + 0x48], 0x10
    mov dword [%1 + 0x4c], 0x08
    mov dword [%1 + 0x50], 0x10
    mov dword [%1 + 0x54], 0x10
    mov dword [%1 + 0x58], 0x10
    mov dword [%1 + 0x5c], 0x10
    mov dword [%1 + 0x60], 0
    mov dword [%1 + 0x64], 0x00680000
%endmacro

start:
    lgdt [gdtr]
    jmp 0x08:flat
flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x9f000
    mov ax, 0x18
    ltr ax
    INIT_TSS32 0x61000, task_b, 0x9e000
    INIT_TSS32 0x62000, task_c, 0x9d000
    mov ebx, 0x1111
    jmp 0x20:0                    ; to B; B jumps back to the next instruction
    call 0x28:0                   ; to C through the task gate; C IRETs back
    movzx eax, byte [gdt + 0x18 + 5]
    shl eax, 8
    mov al, [gdt + 0x20 + 5]
    shl eax, 8
    mov al, [gdt + 0x30 + 5]
    mov ecx, [link_in_c]
    mov edx, [flags_in_c]
    and edx, 0x4000
    mov esi, [flags_in_b]
    and esi, 0x4000
    mov edi, cr0
    and edi, 8
    mov ebp, [0x61000 + 0x2c]     ; B's saved ECX
    hlt

task_b:
    pushfd
    pop dword [flags_in_b]
    mov ebx, 0xbbbb
    mov ecx, 0x2222
    jmp 0x18:0

task_c:
    pushfd
    pop dword [flags_in_c]
    movzx eax, word [0x62000]
    mov [link_in_c], eax
    mov ebx, 0xcccc
    iretd

align 4
flags_in_b: dd 0
flags_in_c: dd 0
link_in_c:  dd 0

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff         ; 0x08 code32 DPL0
    dq 0x00cf93000000ffff         ; 0x10 data DPL0
    TSSDESC 0x60000, 0x67, 0x89   ; 0x18 TSS A
    TSSDESC 0x61000, 0x67, 0x89   ; 0x20 TSS B
    dw 0, 0x30, 0x8500, 0         ; 0x28 task gate -> C
    TSSDESC 0x62000, 0x67, 0x89   ; 0x30 TSS C
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
