; expect-mode: long64
; kvm: skip softvt's SVM is the subject; the host KVM (PVM, no nesting) offers no SVM
; native: skip SVM instructions and MSRs need ring 0
; expect: rax=0 exit=hlt
;
; An L1 test kernel for SVM nested paging (AMD APM Vol. 2 15.25). With
; `--cpu amd` (tests/unit/test_svm_npt.cpp runs it so and counts the
; checks) L1 builds nested page tables (an identity map of the first GiB,
; 2-Mbyte pages, with the 2 Mbytes at 400000H in 4-Kbyte pages it
; twiddles) and runs a 64-bit L2 with its own 4-level paging (its tables
; are guest-physical, at 410000H) through them. Checked: translation
; through a remapped nested page and through a guest remap on top of it,
; and for an unpaged 32-bit L2;
; #VMEXIT(NPF) (exit code 400H) with the exact EXITINFO1 (error-code bits
; P, RW, US, RSV, ID; bit 32 final translation, bit 33 guest page-table
; access) and EXITINFO2 (the guest-physical address) for a not-present
; page, a write to a read-only page, a fetch from an NX page, a reserved
; bit, and faults on the guest's own page tables (any guest page-table
; access is a write for the nested walk); resuming after L1 fixes the
; entry; the accessed and dirty bits the walks set in the nested and the
; guest tables; EXITINTINFO of an NPF while delivering INT 60H; INVLPGA
; and TLB_CONTROL with nested paging; G_PAT as L2's PAT; the VMRUN
; checks of 15.25.4 (N_CR3 MBZ bits, G_PAT) as VMEXIT_INVALID (-1).
; On a model without SVM or nested paging it checks nothing and halts
; with RAX = RBX = 0.
; Each failed check prints "FAIL <name>" on the debug console (port 0xe9).
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%include "l1_svm_defs.inc"
%include "l1_macros.inc"

%define VMCB         0x200000
%define HSAVE        0x203000
%define IOPM         0x210000            ; 12 KB, all zero
%define MSRPM        0x214000            ; 8 KB, all zero
%define NPML4        0x300000            ; nested tables (host-physical)
%define NPDPT        0x301000
%define NPD          0x302000
%define NPT          0x303000            ; 4-Kbyte pages of guest-physical 400000H-5FFFFFH
%define GPML4        0x410000            ; L2's own tables (guest-physical = host-physical)
%define GPDPT        0x411000
%define GPD          0x412000
%define GPT          0x413000
%define REMAP_G      0x420000            ; nested-remapped to REMAP_H
%define REMAP_H      0x700000
%define GREMAP_LIN   0x430000            ; L2 maps it to REMAP_G
%define NP_PAGE      0x440000            ; nested not present
%define RO_PAGE      0x441000            ; nested read-only
%define NX_PAGE      0x442000            ; nested NX
%define RSV_PAGE     0x443000            ; nested reserved bit 51
%define STACK_PAGE   0x445000            ; nested not present: the INT 60H test's stack
%define TLB_PAGE     0x446000
%define NP2_PAGE     0x447000            ; nested not present: the unpaged L2's test
%define WALK_LIN     0x450000            ; fresh linear pages for the guest-walk tests
%define GUEST_IDT    0x88000
%define GUEST_STACK  0x90000
%define BIT51        0x0008000000000000

%define MSR_PAT      0x277



; RUN label: L2 from `label`
%macro RUN 1
    lea rax, [rel %1]
    mov [VMCB + V_RIP], rax
    call svm_run
%endmacro

; NPF_AT "name", exitinfo1, exitinfo2, guest RIP: the #VMEXIT was NPF
%macro NPF_AT 4
    CHK %1, ": EXITCODE NPF", qword [VMCB + V_CODE], NPF
    CHK %1, ": EXITINFO1", qword [VMCB + V_INFO1], %2
    CHK %1, ": EXITINFO2", qword [VMCB + V_INFO2], %3
    CHK %1, ": guest RIP", qword [VMCB + V_RIP], %4
    CHK %1, ": NRIP not saved", qword [VMCB + V_NRIP], 0
    CHK %1, ": EXITINTINFO", qword [VMCB + V_INTINFO], 0
%endmacro

; VMMCALL_RAX "name", rax: the L2 reached its VMMCALL with RAX = value
%macro VMMCALL_RAX 2
    CHK %1, ": EXITCODE VMMCALL", qword [VMCB + V_CODE], 0x81
    CHK %1, ": L2's RAX", qword [VMCB + V_RAX], %2
%endmacro

; NPTE gpa: the address of the nested PTE of a page in 400000H-5FFFFFH
%define NPTE(g) (NPT + (((g) - 0x400000) >> 12) * 8)
%define GPTE(g) (GPT + (((g) - 0x400000) >> 12) * 8)

start:
    xor ebx, ebx
    call svm_enable_npt
    jc summary
    call build_tables
    call setup_guest_idt
    call init_vmcb

    ; ---- translation through the nested tables (APM 15.25.5) -------------------------------
    RUN g_remap
    VMMCALL_RAX "nested remap 420000H -> 700000H", 0x1234abcd
    CHK "nested remap", ": L2's write reached the host-physical page", qword [REMAP_H + 8], 0x5555
    CHK "nested remap", ": the identity page untouched", qword [REMAP_G + 8], 0
    CHK "guest remap 430000H -> 420000H -> 700000H", ": L2's RBX", rbx, 0x1234abcd
    ; accessed and dirty bits (APM 15.25.5: the walks set them as host walks do)
    CHK "nested A/D", ": PML4E A", qword [NPML4], NPDPT | 0x27
    CHK "nested A/D", ": PDE of the 4K region A", qword [NPD + 2 * 8], NPT | 0x27
    CHK "nested A/D", ": PTE of the written page A, D", qword [NPTE(REMAP_G)], REMAP_H | 0x67
    CHK "nested A/D", ": PTE of L2's PML4 A, D (walks are writes)", qword [NPTE(GPML4)], GPML4 | 0x67
    CHK "nested A/D", ": PTE of an untouched page clear", qword [NPTE(TLB_PAGE)], TLB_PAGE | 7
    CHK "guest A/D", ": L2's PTE of the written page A, D", qword [GPTE(REMAP_G)], REMAP_G | 0x67
    CHK "guest A/D", ": L2's PTE of the read remap A", qword [GPTE(GREMAP_LIN)], REMAP_G | 0x27

    ; ---- #VMEXIT(NPF) on the final translation (APM 15.25.6) -------------------------------
    RUN g_np
    NPF_AT "not present (read)", F_FINAL | 4, NP_PAGE + 0x10, g_np
    mov qword [NPTE(NP_PAGE)], NP_PAGE | 7
    mov qword [NP_PAGE + 0x10], 0x4444
    call svm_run
    VMMCALL_RAX "not present, fixed and resumed", 0x4444
    CHK "not present, fixed", ": nested PTE A only", qword [NPTE(NP_PAGE)], NP_PAGE | 0x27

    RUN g_ro
    NPF_AT "write to read-only", F_FINAL | 7, RO_PAGE + 0x20, g_ro_write
    CHK "write to read-only", ": the read before it passed", rbx, 0x1111
    CHK "write to read-only", ": nested PTE A, not D", qword [NPTE(RO_PAGE)], RO_PAGE | 0x25
    or qword [NPTE(RO_PAGE)], 2
    mov byte [VMCB + V_TLBCTL], 3
    call svm_run
    mov byte [VMCB + V_TLBCTL], 0
    VMMCALL_RAX "read-only, fixed and resumed", 0x2222
    CHK "read-only, fixed", ": the write landed", qword [RO_PAGE + 0x20], 0x2222

    RUN g_nx
    NPF_AT "fetch from NX", F_FINAL | 0x15, NX_PAGE, NX_PAGE
    movzx eax, byte [VMCB + V_INSN_LEN]
    CHK "fetch from NX", ": no instruction bytes (decode assists)", rax, 0
    mov rax, ~(1 << 63)
    and [NPTE(NX_PAGE)], rax
    mov byte [VMCB + V_TLBCTL], 3
    call svm_run
    mov byte [VMCB + V_TLBCTL], 0
    VMMCALL_RAX "NX, fixed and resumed", 0x77

    RUN g_rsv
    NPF_AT "reserved bit 51", F_FINAL | 0xd, RSV_PAGE + 8, g_rsv
    movzx eax, byte [VMCB + V_INSN_LEN]
    CHK "reserved bit 51", ": INSN_LEN (decode assists)", rax, 15
    mov eax, [VMCB + V_INSN_BYTES]
    and eax, 0xffffff
    CHK "reserved bit 51", ": instruction bytes 48 8B 04", rax, 0x048b48
    mov rax, ~BIT51
    and [NPTE(RSV_PAGE)], rax
    call svm_run
    VMMCALL_RAX "reserved bit, fixed and resumed", 0x3333

    ; ---- faults on the guest's own page tables (bit 33) ------------------------------------
    mov qword [NPTE(GPT)], 0
    RUN g_walk1
    NPF_AT "L2's page table not present", F_GUEST | 6, GPTE(WALK_LIN), g_walk1
    mov qword [NPTE(GPT)], GPT | 7
    call svm_run
    VMMCALL_RAX "L2's page table, fixed and resumed", 0x5151
    ; read-only: the entries' A bits are set already, the walk still
    ; counts as a write (the nested walk of a guest page-table access)
    or qword [GPTE(WALK_LIN + 0x1000)], 0x60
    mov qword [NPTE(GPT)], GPT | 5
    RUN g_walk2
    NPF_AT "L2's page table read-only", F_GUEST | 7, GPTE(WALK_LIN + 0x1000), g_walk2
    mov rax, GPT | 7 | BIT51
    mov [NPTE(GPT)], rax
    RUN g_walk3
    NPF_AT "L2's page table reserved bit", F_GUEST | 0xf, GPTE(WALK_LIN + 0x2000), g_walk3
    mov qword [NPTE(GPT)], GPT | 7
    RUN g_walk3
    VMMCALL_RAX "L2's page table, fixed", 0x5353

    ; ---- NPF while delivering INT 60H: EXITINTINFO (APM 15.7.2) ----------------------------
    RUN g_int60
    CHK "NPF delivering INT 60H", ": EXITCODE NPF", qword [VMCB + V_CODE], NPF
    CHK "NPF delivering INT 60H", ": EXITINFO1 (a write)", qword [VMCB + V_INFO1], F_FINAL | 6
    mov rax, [VMCB + V_INFO2]
    shr rax, 12
    CHK "NPF delivering INT 60H", ": EXITINFO2 in the stack page", rax, STACK_PAGE >> 12
    CHK "NPF delivering INT 60H", ": EXITINTINFO = INTn 60H", qword [VMCB + V_INTINFO], 0x80000460
    CHK "NPF delivering INT 60H", ": guest RIP on INT", qword [VMCB + V_RIP], g_int60_insn
    mov qword [NPTE(STACK_PAGE)], STACK_PAGE | 7
    xor ebx, ebx
    call svm_run
    CHK "INT 60H after the fix", ": handler ran", rbx, 0x60

    ; ---- INVLPGA and TLB_CONTROL with nested paging (APM 15.16) ----------------------------
    mov qword [TLB_PAGE], 0x6666
    RUN g_tlb
    VMMCALL_RAX "TLB: L2 reads its page", 0x6666
    mov qword [GPTE(TLB_PAGE)], REMAP_G | 7          ; L2's PTE now -> 420000H -> 700000H
    RUN g_tlb
    VMMCALL_RAX "TLB: the guest PTE changed, no flush: stale", 0x6666
    mov rax, TLB_PAGE
    mov ecx, 2
    invlpga
    RUN g_tlb
    VMMCALL_RAX "TLB: INVLPGA for ASID 2 keeps ASID 1's", 0x6666
    mov rax, TLB_PAGE
    mov ecx, 1
    invlpga
    RUN g_tlb
    VMMCALL_RAX "TLB: INVLPGA for ASID 1 drops it", 0x1234abcd
    mov qword [NPTE(REMAP_G)], TLB_PAGE | 7           ; the nested page changes
    mov byte [VMCB + V_TLBCTL], 3
    RUN g_tlb
    mov byte [VMCB + V_TLBCTL], 0
    VMMCALL_RAX "TLB_CONTROL 3 after a nested change", 0x6666
    mov qword [NPTE(REMAP_G)], REMAP_H | 7
    mov qword [GPTE(TLB_PAGE)], TLB_PAGE | 7

    ; ---- G_PAT: L2's PAT (APM 15.25) ------------------------------------------------------
    mov ecx, MSR_PAT
    rdmsr
    mov [host_pat], eax
    mov [host_pat + 4], edx
    mov rax, 0x0006050400070106
    mov [VMCB + V_GPAT], rax
    RUN g_pat
    VMMCALL_RAX "G_PAT: L2's RDMSR PAT", 0x0006050400070106
    CHK "G_PAT", ": L2's WRMSR PAT saved by #VMEXIT", qword [VMCB + V_GPAT], 0x0505050505050505
    mov ecx, MSR_PAT
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHK "G_PAT", ": L1's PAT unchanged", rax, qword [host_pat]
    mov dword [VMCB + V_IEXC], 1 << 13
    RUN g_pat_bad
    CHK "WRMSR PAT type 2 in L2", ": #GP intercepted", qword [VMCB + V_CODE], 0x4d
    mov dword [VMCB + V_IEXC], 0
    mov rax, 0x0007040600070406
    mov [VMCB + V_GPAT], rax

    ; ---- the VMRUN checks of nested paging (APM 15.25.4) -----------------------------------
    mov rax, NPML4 | (1 << 63)
    mov [VMCB + V_NCR3], rax
    RUN g_tlb
    CHK "N_CR3 bit 63", ": VMEXIT_INVALID", qword [VMCB + V_CODE], -1
    CHK "N_CR3 bit 63", ": EXITINFO1", qword [VMCB + V_INFO1], 0
    mov rax, NPML4 | (1 << 40)
    mov [VMCB + V_NCR3], rax
    RUN g_tlb
    CHK "N_CR3 bit 40 (MAXPHYADDR)", ": VMEXIT_INVALID", qword [VMCB + V_CODE], -1
    mov qword [VMCB + V_NCR3], NPML4
    mov rax, 0x0007040600070402
    mov [VMCB + V_GPAT], rax
    RUN g_tlb
    CHK "G_PAT type 2", ": VMEXIT_INVALID", qword [VMCB + V_CODE], -1
    mov rax, 0x0007040600070406 | (8 << 16)
    mov [VMCB + V_GPAT], rax
    RUN g_tlb
    CHK "G_PAT reserved bit 19", ": VMEXIT_INVALID", qword [VMCB + V_CODE], -1
    mov rax, 0x0007040600070406
    mov [VMCB + V_GPAT], rax
    mov byte [VMCB + V_TLBCTL], 3
    RUN g_tlb
    VMMCALL_RAX "valid N_CR3 and G_PAT again", 0x6666

    ; ---- an unpaged 32-bit L2: its addresses are guest-physical, through the nested tables
    call vmcb_flat32                     ; unpaged 32-bit (l1_svm_vmcb.inc)
    mov qword [VMCB + V_CR3], 0
    mov qword [VMCB + V_RSP], GUEST_STACK
    RUN g32
    VMMCALL_RAX "unpaged 32-bit L2: nested remap", 0x1234abcd
    mov byte [VMCB + V_TLBCTL], 0
    RUN g32_np
    NPF_AT "unpaged 32-bit L2: write, not present", F_FINAL | 6, NP2_PAGE + 4, g32_np
    jmp summary

; ---- L1 helpers (svm_run: l1_svm_vmcb.inc) ----------------------------------------------

; Nested tables: 1 GiB identity, 2-Mbyte pages (P, W, U), the 2 Mbytes at
; 400000H in 4-Kbyte pages with the test's exceptions; L2's tables: the
; same identity with its own 4-Kbyte table for 400000H.
build_tables:
    mov rdi, NPML4
    xor eax, eax
    mov ecx, 4 * 512
    rep stosq
    mov rdi, GPML4
    mov ecx, 4 * 512
    rep stosq
    mov rdi, IOPM
    mov ecx, (0x3000 + 0x2000) / 8
    rep stosq
    MAP_2M_IDENTITY NPML4, NPDPT, NPD, 512, 0x87
    MAP_2M_IDENTITY GPML4, GPDPT, GPD, 512, 0x87
    mov qword [NPD + 2 * 8], NPT | 7
    mov qword [GPD + 2 * 8], GPT | 7
    FILL_ENTRIES 8, NPT, 0x400000 | 7, 0x1000, 512
    FILL_ENTRIES 8, GPT, 0x400000 | 7, 0x1000, 512
    mov qword [NPTE(REMAP_G)], REMAP_H | 7
    mov qword [NPTE(NP_PAGE)], 0
    mov qword [NPTE(RO_PAGE)], RO_PAGE | 5
    mov rax, NX_PAGE | 7 | (1 << 63)
    mov [NPTE(NX_PAGE)], rax
    mov rax, RSV_PAGE | 7 | BIT51
    mov [NPTE(RSV_PAGE)], rax
    mov qword [NPTE(STACK_PAGE)], 0
    mov qword [NPTE(NP2_PAGE)], 0
    mov qword [GPTE(GREMAP_LIN)], REMAP_G | 7
    ; data
    mov qword [REMAP_H], 0x1234abcd
    mov qword [REMAP_H + 8], 0
    mov qword [REMAP_G], 0xdead
    mov qword [REMAP_G + 8], 0
    mov qword [RO_PAGE + 0x20], 0x1111
    mov qword [RSV_PAGE + 8], 0x3333
    mov qword [WALK_LIN], 0x5151
    mov qword [WALK_LIN + 0x2000], 0x5353
    ; NX_PAGE: "mov eax, 0x77; vmmcall"
    mov dword [NX_PAGE], 0x000077b8
    mov dword [NX_PAGE + 4], 0xd9010f00
    mov word [NX_PAGE + 8], 0x90c3
    ret

; guest IDT: gate 60H -> h60
setup_guest_idt:
    mov rdi, GUEST_IDT
    xor eax, eax
    mov ecx, 512
    rep stosq
    GUEST_GATES h60, 0x60
    ret

; A 64-bit L2 with nested paging, its CR3 = GPML4 (guest-physical), L1's
; CR0/CR4/EFER and GDT; intercepts VMRUN, VMMCALL and shutdown.
init_vmcb:
    mov rdi, VMCB
    xor eax, eax
    mov ecx, 512
    rep stosq
    mov dword [VMCB + V_MISC1], 1 << 31
    mov dword [VMCB + V_MISC2], 3
    mov qword [VMCB + 0x040], IOPM
    mov qword [VMCB + 0x048], MSRPM
    mov dword [VMCB + V_ASID], 1
    mov qword [VMCB + V_NP], 1
    mov qword [VMCB + V_NCR3], NPML4
    mov rax, 0x0007040600070406
    mov [VMCB + V_GPAT], rax
    mov word [VMCB + V_CS], 0x08
    mov word [VMCB + V_CS + 2], 0x29b
    call vmcb_flat_segments
    mov dword [VMCB + V_IDTR_LIM], 0xfff
    mov qword [VMCB + 0x488], GUEST_IDT
    mov ecx, MSR_EFER
    rdmsr
    mov [VMCB + V_EFER], eax
    mov rax, cr0
    mov [VMCB + V_CR0], rax
    mov qword [VMCB + V_CR3], GPML4
    mov rax, cr4
    mov [VMCB + V_CR4], rax
    mov qword [VMCB + V_RFLAGS], 2
    mov qword [VMCB + V_RSP], GUEST_STACK
    ret

summary:
    jmp l1_finish

; ---- the L2 ------------------------------------------------------------------------------
g_remap:     mov rax, [REMAP_G]
             mov qword [REMAP_G + 8], 0x5555
             mov rbx, [GREMAP_LIN]
             vmmcall
g_np:        mov rax, [NP_PAGE + 0x10]
             vmmcall
g_ro:        mov rbx, [RO_PAGE + 0x20]
             mov eax, 0x2222
g_ro_write:  mov [RO_PAGE + 0x20], rax
             vmmcall
g_nx:        mov eax, NX_PAGE
             jmp rax
g_rsv:       mov rax, [RSV_PAGE + 8]
             vmmcall
g_walk1:     mov rax, [WALK_LIN]
             vmmcall
g_walk2:     mov rax, [WALK_LIN + 0x1000]
             vmmcall
g_walk3:     mov rax, [WALK_LIN + 0x2000]
             vmmcall
g_int60:     mov rsp, STACK_PAGE + 0x800
g_int60_insn:
             int 0x60
             vmmcall
h60:         mov ebx, 0x60
             vmmcall
g_tlb:       mov rax, [TLB_PAGE]
             vmmcall
g_pat:       mov ecx, MSR_PAT
             rdmsr
             shl rdx, 32
             or rax, rdx
             mov r12, rax
             mov eax, 0x05050505
             mov edx, eax
             wrmsr
             mov rax, r12
             vmmcall
g_pat_bad:   mov ecx, MSR_PAT
             mov eax, 0x02
             xor edx, edx
             wrmsr
             vmmcall
bits 32
g32:         mov eax, [REMAP_G]
             vmmcall
g32_np:      mov [NP2_PAGE + 4], eax
             vmmcall
bits 64

; ---- helpers -------------------------------------------------------------------------

%include "l1_checks.inc"
%include "l1_svm_vmcb.inc"
%include "l1_guest_idt.inc"
%include "l1_page_tables.inc"

align 8
host_pat:       dq 0
msg_done:       db "svm_npt: done", 10, 0
