; Bare-metal multiboot test kernel: ring 3 and back through SYSRET and
; SYSCALL in 64-bit mode, laid out as Linux is: the kernel's pages are
; supervisor-only, ring-3 code and stack live in a user page (2 MiB at
; USER_BASE, where the kernel copies the position-independent user code),
; and a TSS and an IDT are loaded. The kernel sets IA32_STAR, IA32_LSTAR
; and IA32_FMASK and SYSRETs to ring 3, which first has the kernel set its
; FS base with WRMSR (as Linux's arch_prctl does), then makes three
; system calls. Each of the three prints what the SYSCALL entry sees (SDM
; Vol. 2 SYSCALL): CS = STAR[47:32] with CPL 0, SS = STAR[47:32] + 8,
; RCX = the address after the SYSCALL, R11 = the ring-3 RFLAGS and
; RFLAGS with the FMASK bits cleared (here IF and DF, set in ring 3).
; Ring 3 then checks what it got back: each call's return value (RAX,
; through SYSRET), that the FS base survived the calls, and a write to a
; page that is not present until the kernel's page-fault handler maps it
; and IRETQ retries the write (demand paging). A last call has the
; kernel run a locked CMPXCHG16B on kernel data (an instruction this
; host's KVM hands to softvt's interpreter, which must run it at CPL 0),
; while ring 3 keeps a value in the upper half of YMM2 where its CPUID and
; XGETBV say AVX is usable (only where ring 3 sees the host's CPUID, as
; under this host's KVM): the value must survive the call, although
; softvt models no AVX state. Ring 3 runs with IF = 1 as
; Linux user code does; the PICs mask every line, so no interrupt comes.
; The exit call ends the run through isa-debug-exit with 10H + failures
; (status 33 when all pass). Ring 3's results are in R12-R15, which the
; kernel does not touch. Under --accel kvm this is what a host KVM that
; takes a guest's SYSCALL itself must still get right
; (emu/accel/kvm_syscall_entry.h).
%include "common.inc"

%define USER_RFLAGS 0x602          ; IF, DF and the reserved bit 1
%define FMASK 0x4700               ; TF IF DF NT, as Linux sets it
%define SYS_EXIT 4
%define SYS_SET_FS 5               ; FS base = RDI
%define SYS_SWAP16 6               ; CMPXCHG16B on kernel_pair
%define YMM_MARK 0x5a5a5a5a
%define LAZY_PAGE 0x400000         ; 2 MiB, mapped at its first fault
%define TLS_OFFSET -0x90
%define USER_BASE 0x200000         ; the 2 MiB page with U/S = 1
%define USER_STACK_TOP USER_BASE + 0x10000
%define TSS_SEL 0x30               ; the selector load_gdt_tss loads into TR

MULTIBOOT_HEADER

section .bss
align 4096
pml4: resb 4096
pdpt: resb 4096
pd: resb 4096
kernel_stack: resb 4096
kernel_stack_top:
idt: resb 256 * 16
tss: resb 104

section .data
align 8
fails: dd 0
align 8
gdt:
    dq 0
    dq 0x00af9a000000ffff      ; 0x08 64-bit code, DPL 0
    dq 0x00cf92000000ffff      ; 0x10 data, DPL 0
    dq 0x00cffa000000ffff      ; 0x18 32-bit code, DPL 3 (SYSRET base)
    dq 0x00cff2000000ffff      ; 0x20 data, DPL 3
    dq 0x00affa000000ffff      ; 0x28 64-bit code, DPL 3
    dq 0x0000890000000067, 0   ; 0x30 64-bit TSS: type 9, P, limit 103 (base set at boot)
gdt_end:
gdt_ptr:                       ; LGDT's operand in 32-bit and in 64-bit code
    dw gdt_end - gdt - 1
    dd gdt, 0
idt_ptr:
    dw 256 * 16 - 1
    dd idt, 0

section .text
bits 32
DEFINE_SERIAL

global _start
_start:
    mov esp, kernel_stack_top
    ; Identity map of 1 GiB with 2 MiB pages. Only the page at USER_BASE
    ; has U/S = 1 (the upper levels allow user access; the last level
    ; decides, SDM Vol. 3A 4.6), so ring 3 cannot fetch kernel code.
    mov eax, pdpt
    or eax, 7
    mov [pml4], eax
    mov eax, pd
    or eax, 7
    mov [pdpt], eax
    xor ecx, ecx
.map:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83               ; present, writable, 2 MiB
    cmp eax, LAZY_PAGE | 0x83
    jne .not_lazy
    xor eax, eax               ; not present
    jmp .supervisor
.not_lazy:
    cmp eax, USER_BASE | 0x83
    jne .supervisor
    or eax, 4                  ; user
.supervisor:
    mov [pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jb .map
    ENTER_LONG_MODE 1          ; and EFER.SCE (SYSCALL)
    mov esp, kernel_stack_top  ; zero-extended into RSP
    ; The TSS's RSP0 is the stack an exception from ring 3 switches to;
    ; load_gdt_tss (tests/guest/l1_descriptors.inc) puts the TSS's base in
    ; its descriptor at TSS_SEL and loads GDTR and TR.
    mov dword [tss + 4], kernel_stack_top
    mov eax, tss
    mov esi, gdt_ptr
    mov edi, gdt + TSS_SEL
    call load_gdt_tss
    ; Every vector 0-31 goes to `unexpected`, the page fault to its own
    ; handler (idt_gate: 64-bit interrupt gates).
    xor ebx, ebx
.gate:
    mov eax, unexpected
    cmp ebx, 14
    jne .set_gate
    mov eax, page_fault
.set_gate:
    mov ecx, ebx
    mov edx, idt
    call idt_gate
    inc ebx
    cmp ebx, 32
    jb .gate
    lidt [idt_ptr]
    mov al, 0xff               ; mask every PIC line (OCW1)
    out 0x21, al
    out 0xa1, al
    mov ecx, 0xc0000081        ; STAR: SYSRET base 0x18, SYSCALL CS 0x08
    xor eax, eax
    mov edx, 0x00180008
    wrmsr
    mov ecx, 0xc0000082        ; LSTAR
    mov eax, syscall_entry
    xor edx, edx
    wrmsr
    mov ecx, 0xc0000084        ; FMASK
    mov eax, FMASK
    wrmsr
    mov esi, user_main         ; the user code, to its page
    mov rdi, USER_BASE
    mov ecx, user_end - user_main
    rep movsb
    PRINT "syscall_user: to ring 3"
    NEWLINE
    mov [kernel_rsp], rsp
    mov rcx, USER_BASE
    mov r11, USER_RFLAGS
    mov rsp, USER_STACK_TOP
    o64 sysret

; Ring 3 (position-independent, run at USER_BASE): three calls, then the
; exit call. RBX counts up to show that registers the kernel leaves alone
; survive the round trip.
user_main:
    lea rdi, [rel user_main + 0x8000]
    mov qword [rdi + TLS_OFFSET], 0x1234
    mov eax, SYS_SET_FS
    syscall
    xor ebx, ebx
    xor r12d, r12d             ; wrong return values
.call:
    inc ebx
    mov eax, ebx
    push USER_RFLAGS
    popfq
    syscall
.after:
    imul edx, ebx, 0x111       ; the kernel returns call * 111H
    cmp rax, rdx
    je .returned
    inc r12d
.returned:
    cmp ebx, 3
    jb .call
    mov rax, TLS_OFFSET
    mov r14, [fs:rax]          ; 1234H through the new FS base
    mov rax, LAZY_PAGE + 0x10
    mov qword [rax], 0x77      ; faults once, then retried
    mov r15, [rax]
    xor r13d, r13d             ; 1: the upper half of YMM2 was lost
    call user_avx_usable
    jne .swap
    mov eax, YMM_MARK
    vmovd xmm2, eax
    vinsertf128 ymm2, ymm2, xmm2, 1
.swap:
    mov eax, SYS_SWAP16
    syscall
    call user_avx_usable
    jne .exit
    vextractf128 xmm3, ymm2, 1
    vmovd eax, xmm3
    cmp eax, YMM_MARK
    setne r13b
.exit:
    mov eax, SYS_EXIT
    syscall
    hlt                        ; not reached (a #GP at CPL 3)

; ZF = 1 when AVX state is usable: CPUID.1:ECX has OSXSAVE and AVX and
; XCR0 enables SSE and AVX state (SDM Vol. 1 14.3). Clobbers RAX-RDX.
user_avx_usable:
    mov eax, 1
    cpuid
    and ecx, (1 << 27) | (1 << 28)
    cmp ecx, (1 << 27) | (1 << 28)
    jne .done
    xor ecx, ecx
    xgetbv
    and eax, 6
    cmp eax, 6
.done:
    ret
user_end:

; The SYSCALL entry. The ring-3 stack is still loaded (SYSCALL does not
; switch stacks); the kernel's is taken from kernel_rsp, as Linux does
; with its per-CPU variable.
syscall_entry:
    mov [user_rsp], rsp
    mov rsp, [kernel_rsp]
    pushfq
    pop qword [entry_rflags]
    mov [entry_rcx], rcx
    mov [entry_r11], r11
    mov [entry_rax], rax
    mov word [entry_cs], cs
    mov word [entry_ss], ss
    cmp qword [entry_rax], SYS_EXIT
    je sys_exit
    cmp qword [entry_rax], SYS_SET_FS
    je sys_set_fs
    cmp qword [entry_rax], SYS_SWAP16
    je sys_swap16
    PRINT "call "
    mov eax, [entry_rax]
    call puthex
    PRINT ": cs="
    movzx eax, word [entry_cs]
    call puthex
    PRINT " ss="
    movzx eax, word [entry_ss]
    call puthex
    PRINT " rflags="
    mov eax, [entry_rflags]
    call puthex
    PRINT " r11="
    mov eax, [entry_r11]
    call puthex
    NEWLINE
    cmp word [entry_cs], 0x08
    CHECK e, "CS is STAR[47:32]"
    cmp word [entry_ss], 0x10
    CHECK e, "SS is STAR[47:32] + 8"
    mov rax, USER_BASE + user_main.after - user_main
    cmp [entry_rcx], rax
    CHECK e, "RCX is the return address"
    cmp qword [entry_r11], USER_RFLAGS
    CHECK e, "R11 is the ring-3 RFLAGS"
    cmp qword [entry_rflags], USER_RFLAGS & ~FMASK
    CHECK e, "RFLAGS has the FMASK bits cleared"
    imul eax, [entry_rax], 0x111
    jmp sys_return

; IA32_FS_BASE = RDI (SDM Vol. 4 Table 2-2, C0000100H), returns 0.
sys_set_fs:
    mov ecx, 0xc0000100
    mov eax, edi
    mov rdx, rdi
    shr rdx, 32
    wrmsr
    xor eax, eax
sys_return:
    mov rcx, [entry_rcx]
    mov r11, [entry_r11]
    mov rsp, [user_rsp]
    o64 sysret

; kernel_pair: 1 becomes 2 (SDM Vol. 2 CMPXCHG8B/CMPXCHG16B: RDX:RAX is
; compared, RCX:RBX stored), returns 0.
sys_swap16:
    xor edx, edx
    mov eax, 1
    xor ecx, ecx
    mov ebx, 2
    lock cmpxchg16b [kernel_pair]
    xor eax, eax
    jmp sys_return

%include "l1_descriptors.inc"

sys_exit:
    PRINT "ring 3 exits"
    NEWLINE
    test r12d, r12d
    CHECK z, "each call's return value reached ring 3"
    cmp r14, 0x1234
    CHECK e, "the FS base set with WRMSR is ring 3's"
    cmp r15, 0x77
    CHECK e, "a ring-3 write to a page mapped at its fault was retried"
    cmp qword [kernel_pair], 2
    CHECK e, "CMPXCHG16B in the kernel swapped kernel data"
    test r13d, r13d
    CHECK z, "a YMM upper half ring 3 holds survived the call"
    EXIT_WITH_FAILURES

; The first access to LAZY_PAGE maps it and returns to the faulting
; instruction; any other page fault is reported as a failure. DF may be
; ring 3's (an interrupt gate leaves it alone), so it is cleared.
page_fault:
    cld
    push rax
    mov rax, cr2
    shr rax, 21
    cmp rax, LAZY_PAGE >> 21
    pop rax
    jne .unexpected
    mov qword [pd + (LAZY_PAGE >> 21) * 8], LAZY_PAGE | 0x87
    add rsp, 8                 ; the error code
    iretq
.unexpected:
    PRINT "FAIL page fault at "
    mov rax, [rsp + 8]         ; the faulting RIP, after the error code
    call puthex
    PRINT ", CR2 "
    mov rax, cr2
    call puthex
    NEWLINE
    inc dword [fails]
    EXIT_WITH_FAILURES
unexpected:
    cld
    PRINT "FAIL unexpected exception"
    NEWLINE
    inc dword [fails]
    EXIT_WITH_FAILURES

section .data
align 16
kernel_pair: dq 1, 0
kernel_rsp: dq 0
user_rsp: dq 0
entry_rflags: dq 0
entry_rcx: dq 0
entry_r11: dq 0
entry_rax: dq 0
entry_cs: dw 0
entry_ss: dw 0
