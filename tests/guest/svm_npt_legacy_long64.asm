; expect-mode: long64
; kvm: skip softvt's SVM is the subject; the host KVM (PVM, no nesting) offers no SVM
; native: skip SVM instructions and MSRs need ring 0
; expect: rax=0 exit=hlt
;
; An L1 test kernel for nested paging under a legacy-mode host (AMD APM
; Vol. 2 15.25.3: the nested page tables have the format of the host's
; paging mode at VMRUN - CR4.PAE, EFER.LMA, and CR4.PSE for 32-bit paging).
; With `--cpu amd` (tests/unit/test_svm_npt.cpp runs it so and counts the
; checks) the L1 keeps its checks in 64-bit code, but runs every VMRUN as a
; 32-bit legacy-mode host: `run_guest` leaves long mode, enables 32-bit
; (CR4.PSE = 1 or 0) or PAE paging with its own tables, executes VMRUN,
; and after the #VMEXIT returns to long mode. The L2 is a 32-bit guest.
; Checked, with 2-level nested tables (4-byte entries): a 4-Kbyte remap,
; a 4-Mbyte page with the host's CR4.PSE = 1 and the same PDE as a pointer
; to a page table with CR4.PSE = 0, #VMEXIT(NPF) EXITINFO1/EXITINFO2 for a
; not-present page, a write to a read-only page, a fetch (no ID bit: no NX
; in 32-bit paging), a reserved bit of a 4-Mbyte PDE (bit 21), a paged
; L2's page-table access (bit 33, RW = 1), the A/D bits of 4-byte entries;
; with 3-level (PAE) nested tables: a 4-Kbyte remap and a 2-Mbyte page, a
; fetch from an NX page (ID), reserved bits of PAE entries (bit 52 of a
; PDE, which long mode would ignore; bit 1 of a PDPE), a nested PDPE the
; L2 itself writes used at once (the PDPEs are read from memory on each
; walk, not cached at VMRUN), no accessed bit in a PDPE.
; On a model without SVM or nested paging it checks nothing and halts
; with RAX = RBX = 0.
; Each failed check prints "FAIL <name>" on the debug console (port 0xe9).
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMCB         0x200000
%define HSAVE        0x203000
%define IOPM         0x210000            ; 12 KB, all zero
%define MSRPM        0x214000            ; 8 KB, all zero
%define HPD32        0x300000            ; L1's 32-bit paging: 0-8 MB in 4-Kbyte pages
%define HPT32        0x301000            ; two page tables
%define HPDPT        0x303000            ; L1's PAE paging: 0-1 GB in 2-Mbyte pages
%define HPAE_PD      0x304000
%define NPD2         0x310000            ; 2-level nested tables
%define NPT2         0x311000            ; two page tables: gPA 0-8 MB
%define NPDPT3       0x320000            ; PAE nested tables
%define NPD3         0x321000
%define NPT3         0x322000            ; gPA 400000H-5FFFFFH in 4-Kbyte pages
%define GPD          0x410000            ; the paged L2's page directory (guest-physical)
%define GPT          0x411000            ; its page table for 400000H-7FFFFFH
%define REMAP_G      0x420000            ; nested-remapped to REMAP_H
%define REMAP_H      0x700000
%define NP_PAGE      0x440000            ; nested not present
%define RO_PAGE      0x441000            ; nested read-only
%define FETCH_PAGE   0x442000            ; 2-level: not present; PAE: NX
%define WALK_LIN     0x450000            ; the paged L2 reads it
%define BIG_G        0x800000            ; a 4-Mbyte (2-level) / 2-Mbyte (PAE) nested page
%define BIG_H        0xc00000
%define PT_H         0xd00000            ; 2-level with CR4.PSE = 0: BIG's PDE is a page table
%define RSV_G        0xc00000            ; 2-level: a 4-Mbyte PDE with bit 21
%define PAE_RSV_G    0xa00000            ; PAE: a 2-Mbyte PDE with bit 52
%define HIGH_G       0xc0000000          ; PAE: PDPE 3, which the L2 fills in

%define CR4_PSE      0x10
%define CR4_PAE      0x20

%include "l1_macros.inc"
%include "l1_svm_defs.inc"

; RUN label: L2 from `label`
%macro RUN 1
    mov qword [VMCB + V_RIP], %1
    call run_guest
%endmacro

; NPF_AT "name", exitinfo1, exitinfo2, guest RIP: the #VMEXIT was NPF
%macro NPF_AT 4
    CHECK_EQ %1, qword [VMCB + V_CODE], NPF
    CHECK_EQ %1, qword [VMCB + V_INFO1], %2
    CHECK_EQ %1, qword [VMCB + V_INFO2], %3
    CHECK_EQ %1, qword [VMCB + V_RIP], %4
    CHECK_EQ %1, qword [VMCB + V_INTINFO], 0
%endmacro

; VMMCALL_RAX "name", rax: the L2 reached its VMMCALL with EAX = value
%macro VMMCALL_RAX 2
    CHECK_EQ %1, qword [VMCB + V_CODE], 0x81
    CHECK_EQ %1, qword [VMCB + V_RAX], %2
%endmacro

; CHECK_D "name", address, expected: a 4-byte value in memory
%macro CHECK_D 3
    mov eax, [%2]
    CHECK_EQ %1, rax, %3
%endmacro

; HOST_MODE cr3, cr4: the legacy paging run_guest enables for VMRUN
%macro HOST_MODE 2
    mov dword [host_cr3], %1
    mov dword [host_cr4], %2
%endmacro

%define NPTE2(g) (NPT2 + ((g) >> 12) * 4)
%define NPTE3(g) (NPT3 + (((g) - 0x400000) >> 12) * 8)

start:
    xor ebx, ebx
    call svm_enable_npt
    jc summary
    mov rax, cr3
    mov [long_cr3], eax
    mov rax, cr4
    mov [long_cr4], eax
    call build_host_tables
    call build_nested_tables
    call build_data
    call init_vmcb

    ; ---- 2-level nested tables: the host in 32-bit paging with CR4.PSE = 1 -----------------
    HOST_MODE HPD32, CR4_PSE
    mov qword [VMCB + V_NCR3], NPD2
    RUN g_remap
    VMMCALL_RAX "2-level: 4-Kbyte remap 420000H -> 700000H", 0x1234abcd
    CHECK_D "2-level: the L2's write reached 700008H", REMAP_H + 8, 0x5555
    CHECK_D "2-level: nested PDE A (4-byte entry)", NPD2 + 4, NPT2 + 0x1000 + 0x27
    CHECK_D "2-level: nested PTE of the written page A, D", NPTE2(REMAP_G), REMAP_H | 0x67
    CHECK_D "2-level: the next 4-byte entry untouched", NPTE2(REMAP_G) + 4, REMAP_G + 0x1007
    RUN g_big
    VMMCALL_RAX "2-level: a 4-Mbyte page with the host's CR4.PSE", 0xaaaa
    CHECK_D "2-level: 4-Mbyte PDE A", NPD2 + 8, BIG_H | 0xa7
    RUN g_np
    NPF_AT "2-level: not present (read)", F_FINAL | 4, NP_PAGE + 0x10, g_np
    RUN g_ro
    NPF_AT "2-level: write to read-only", F_FINAL | 7, RO_PAGE + 0x20, g_ro_write
    CHECK_EQ "2-level: the read before it passed", qword [VMCB + V_RAX], 0x1111
    RUN g_fetch
    NPF_AT "2-level: fetch, not present (no ID bit)", F_FINAL | 4, FETCH_PAGE, FETCH_PAGE
    RUN g_rsv
    NPF_AT "2-level: 4-Mbyte PDE bit 21 reserved", F_FINAL | 0xd, RSV_G + 8, g_rsv
    ; the paged L2: its page table in a read-only nested page (a guest
    ; page-table access is a write for the nested walk)
    mov eax, 0x80000011
    mov [VMCB + V_CR0], rax
    mov qword [VMCB + V_CR3], GPD
    mov qword [VMCB + V_CR4], CR4_PSE
    mov dword [NPTE2(GPT)], GPT | 5
    RUN g_walk
    NPF_AT "2-level: L2's page table read-only", F_GUEST | 7, GPT + (WALK_LIN >> 12) % 1024 * 4, g_walk
    mov dword [NPTE2(GPT)], GPT | 7
    call run_guest
    VMMCALL_RAX "2-level: L2's page table fixed", 0x5151
    CHECK_D "2-level: L2's PTE A (through the nested tables)", GPT + (WALK_LIN >> 12) % 1024 * 4, WALK_LIN | 0x27
    mov qword [VMCB + V_CR0], 0x11
    mov qword [VMCB + V_CR3], 0
    mov qword [VMCB + V_CR4], 0
    ; the host's CR4.PSE = 0: the PS bit of the nested PDE is ignored
    HOST_MODE HPD32, 0
    RUN g_big
    VMMCALL_RAX "2-level, CR4.PSE = 0: the 4-Mbyte PDE is a page table", 0xbbbb

    ; ---- PAE nested tables: the host in PAE paging -----------------------------------------
    HOST_MODE HPDPT, CR4_PAE
    mov qword [VMCB + V_NCR3], NPDPT3
    RUN g_remap
    VMMCALL_RAX "PAE: 4-Kbyte remap", 0x1234abcd
    CHECK_EQ "PAE: nested PDPE has no A bit", qword [NPDPT3], NPD3 | 1
    CHECK_EQ "PAE: nested PDE A", qword [NPD3 + 2 * 8], NPT3 | 0x27
    RUN g_big
    VMMCALL_RAX "PAE: a 2-Mbyte page", 0xaaaa
    RUN g_fetch
    NPF_AT "PAE: fetch from NX (ID)", F_FINAL | 0x15, FETCH_PAGE, FETCH_PAGE
    RUN g_pae_rsv
    NPF_AT "PAE: PDE bit 52 reserved", F_FINAL | 0xd, PAE_RSV_G + 8, g_pae_rsv
    RUN g_pdpe_rsv
    NPF_AT "PAE: PDPE bit 1 reserved", F_FINAL | 0xd, 0x40000000, g_pdpe_rsv
    RUN g_np
    NPF_AT "PAE: not present (read)", F_FINAL | 4, NP_PAGE + 0x10, g_np
    RUN g_pdpe_fill
    VMMCALL_RAX "PAE: a PDPE the L2 wrote is used by the next walk", 0x1234abcd
    jmp summary

; ---- L1 helpers ------------------------------------------------------------------------

; VMRUN from a legacy-mode host: leave long mode (compatibility mode,
; paging off, EFER.LME = 0), enable legacy paging with host_cr3/host_cr4,
; VMRUN; after the #VMEXIT back to long mode.
run_guest:
    push 0x18
    lea rax, [rel .legacy]
    push rax
    retfq
bits 32
.legacy:
    mov eax, cr0
    btr eax, 31
    mov cr0, eax
    mov ecx, MSR_EFER
    rdmsr
    btr eax, 8
    wrmsr
    mov eax, [host_cr4]
    mov cr4, eax
    mov eax, [host_cr3]
    mov cr3, eax
    mov eax, cr0
    bts eax, 31
    mov cr0, eax
    mov eax, VMCB
    vmrun
    mov eax, cr0
    btr eax, 31
    mov cr0, eax
    mov eax, [long_cr4]
    mov cr4, eax
    mov eax, [long_cr3]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    bts eax, 8
    wrmsr
    mov eax, cr0
    bts eax, 31
    mov cr0, eax
    jmp 0x08:.long
bits 64
.long:
    ret

; L1's legacy tables: 32-bit paging with 4-Kbyte pages for 0-8 MB (valid
; with CR4.PSE = 0 or 1), PAE paging with 2-Mbyte pages for 0-1 GB.
build_host_tables:
    mov rdi, HPD32
    xor eax, eax
    mov ecx, 0x5000 / 8
    rep stosq
    mov dword [HPD32], HPT32 | 3
    mov dword [HPD32 + 4], HPT32 + 0x1000 | 3
    FILL_ENTRIES 4, HPT32, 3, 0x1000, 2048
    mov qword [HPDPT], HPAE_PD | 1
    FILL_ENTRIES 8, HPAE_PD, 0x83, 0x200000, 512
    ret

; 2-level: gPA 0-8 MB identity in 4-Kbyte pages (P, W, U) with the test's
; exceptions, 800000H a 4-Mbyte page at C00000H, C00000H a 4-Mbyte page
; with reserved bit 21. PAE: PDPE 0 -> NPD3, gPA 0-1 GB identity in
; 2-Mbyte pages, 400000H-5FFFFFH in 4-Kbyte pages, 800000H -> C00000H,
; A00000H with bit 52; PDPE 1 with reserved bit 1; PDPEs 2, 3 not present.
build_nested_tables:
    mov rdi, NPD2
    xor eax, eax
    mov ecx, 0x3000 / 8
    rep stosq
    mov rdi, NPDPT3
    mov ecx, 0x3000 / 8
    rep stosq
    mov dword [NPD2], NPT2 | 7
    mov dword [NPD2 + 4], NPT2 + 0x1000 | 7
    mov dword [NPD2 + 8], BIG_H | 0x87
    mov dword [NPD2 + 12], RSV_G | 0x87 | (1 << 21)
    FILL_ENTRIES 4, NPT2, 7, 0x1000, 2048
    mov dword [NPTE2(REMAP_G)], REMAP_H | 7
    mov dword [NPTE2(NP_PAGE)], 0
    mov dword [NPTE2(RO_PAGE)], RO_PAGE | 5
    mov dword [NPTE2(FETCH_PAGE)], 0
    mov qword [NPDPT3], NPD3 | 1
    mov qword [NPDPT3 + 8], NPD3 | 3
    FILL_ENTRIES 8, NPD3, 0x87, 0x200000, 512
    mov qword [NPD3 + 2 * 8], NPT3 | 7
    mov qword [NPD3 + 4 * 8], BIG_H | 0x87
    mov rax, PAE_RSV_G | 0x87 | (1 << 52)
    mov [NPD3 + 5 * 8], rax
    FILL_ENTRIES 8, NPT3, 0x400000 | 7, 0x1000, 512
    mov qword [NPTE3(REMAP_G)], REMAP_H | 7
    mov qword [NPTE3(NP_PAGE)], 0
    mov rax, FETCH_PAGE | 7 | (1 << 63)
    mov [NPTE3(FETCH_PAGE)], rax
    ret

; The paged L2's tables (guest-physical = host-physical): 4-Mbyte pages
; identity, 400000H-7FFFFFH through GPT. Data of the pages the L2 reads.
build_data:
    mov rdi, GPD
    xor eax, eax
    mov ecx, 0x2000 / 8
    rep stosq
    FILL_ENTRIES 4, GPD, 0x87, 0x400000, 1024
    mov dword [GPD + 4], GPT | 7
    FILL_ENTRIES 4, GPT, 0x400000 | 7, 0x1000, 1024
    mov dword [REMAP_H], 0x1234abcd
    mov dword [REMAP_H + 8], 0
    mov dword [REMAP_G], 0xdead
    mov dword [RO_PAGE + 0x20], 0x1111
    mov dword [WALK_LIN], 0x5151
    mov dword [BIG_H + 0x1000], 0xaaaa
    mov dword [BIG_H + 4], PT_H | 7      ; entry 1 of BIG's PDE read as a page table
    mov dword [PT_H], 0xbbbb
    ret

; A 32-bit unpaged L2 with nested paging, flat segments of L1's GDT;
; intercepts VMRUN, VMMCALL and shutdown; ASID 1; TLB_CONTROL 1 (each run
; starts with an empty TLB: the tests change the nested tables between runs).
init_vmcb:
    mov rdi, VMCB
    xor eax, eax
    mov ecx, 512
    rep stosq
    mov rdi, IOPM
    mov ecx, (0x3000 + 0x2000) / 8
    rep stosq
    mov dword [VMCB + V_MISC1], 1 << 31
    mov dword [VMCB + V_MISC2], 3
    mov qword [VMCB + V_IOPM], IOPM
    mov qword [VMCB + V_MSRPM], MSRPM
    mov dword [VMCB + V_ASID], 1
    mov byte [VMCB + V_TLBCTL], 1
    mov qword [VMCB + V_NP], 1
    mov rax, 0x0007040600070406
    mov [VMCB + V_GPAT], rax
    call vmcb_flat_segments
    call vmcb_flat32                     ; unpaged 32-bit
    mov qword [VMCB + V_RFLAGS], 2
    mov qword [VMCB + V_RSP], 0x90000
    ret

summary:
    jmp l1_finish

; ---- the L2 (32-bit) -----------------------------------------------------------------
bits 32
g_remap:     mov eax, [REMAP_G]
             mov dword [REMAP_G + 8], 0x5555
             vmmcall
g_big:       mov eax, [BIG_G + 0x1000]
             vmmcall
g_np:        mov eax, [NP_PAGE + 0x10]
             vmmcall
g_ro:        mov eax, [RO_PAGE + 0x20]
g_ro_write:  mov [RO_PAGE + 0x20], eax
             vmmcall
g_fetch:     mov eax, FETCH_PAGE
             jmp eax
g_rsv:       mov eax, [RSV_G + 8]
             vmmcall
g_walk:      mov eax, [WALK_LIN]
             vmmcall
g_pae_rsv:   mov eax, [PAE_RSV_G + 8]
             vmmcall
g_pdpe_rsv:  mov eax, [0x40000000]
             vmmcall
g_pdpe_fill: mov dword [NPDPT3 + 3 * 8], NPD3 | 1
             mov eax, [HIGH_G + REMAP_G]
             vmmcall
bits 64

; ---- helpers -------------------------------------------------------------------------

%include "l1_checks.inc"
%include "l1_svm_vmcb.inc"
%include "l1_page_tables.inc"

align 8
long_cr3:       dd 0
long_cr4:       dd 0
host_cr3:       dd 0
host_cr4:       dd 0
msg_done:       db "svm_npt_legacy: done", 10, 0
