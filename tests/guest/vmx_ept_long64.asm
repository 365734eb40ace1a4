; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=0 rbx=203 exit=hlt
;
; An L1 test kernel for EPT, VPID, INVEPT/INVVPID, VMFUNC and the
; unrestricted guest (SDM Vol. 3C "VMX Support for Address Translation",
; the EPT parts of "VM Entries" and "VM Exits", "VMX Instruction
; Reference"). The L1 builds an identity EPT for the first 64 MiB (2-MiB
; pages, 4-KiB pages for 0-2 MiB and 4-6 MiB) and runs a 64-bit L2 on its
; own page tables through it. The L2 consists of small routines the host
; points the guest RIP at; each ends in an exit the host checks: EPT
; violations on read, write and fetch with the full exit qualification,
; the guest-physical and guest-linear address fields, during the guest's
; page walk (the walk's read, then its accessed-flag write), on the final
; access; EPT misconfigurations (write without read, a reserved memory
; type, a reserved address bit); EPT accessed and dirty flags (the guest's
; paging-structure accesses count as writes); an EPT violation while
; injecting an event (IDT-vectoring information); a PAE L2 (PDPTE fields
; loaded and saved, MOV to CR3 loading PDPTEs through EPT: an EPT violation
; without guest-linear address); an unpaged protected-mode L2; the stale translations
; INVEPT and INVVPID remove, type by type, and the VM entries without VPID
; that remove them; VPID-tagged isolation; INVEPT/INVVPID's VMfail checks, #GP at CPL 3
; and their exits from the L2; VMFUNC EPTP switching and its exits; a
; real-mode L2 (unrestricted guest) with an EPT violation.
; Each failed check prints "FAIL <name>" on port 0xe9.
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

; EPT structures (identity for 0-64 MiB) and a second hierarchy for VMFUNC
%define EPT_PML4     0x200000
%define EPT_PDPT     0x201000
%define EPT_PD       0x202000
%define EPT_PT0      0x203000            ; 4-KiB pages for 0-2 MiB
%define EPT_PT2      0x204000            ; 4-KiB pages for 4-6 MiB
%define EPTP_LIST    0x205000
%define EPT2_PML4    0x210000
%define EPT2_PDPT    0x211000
%define EPT2_PD      0x212000
%define EPT2_PT2     0x213000
%define EPTP_A       (EPT_PML4 | 0x1e)   ; WB, 4-level walk
%define EPTP_B       (EPT2_PML4 | 0x1e)
%define LEAF         0x37                ; R W X, memory type WB
; EPT PTE addresses of some 4-KiB pages in 4-6 MiB
%define PTE(gpa)     (EPT_PT2 + (((gpa) - 0x400000) >> 12) * 8)
%define PTE0(gpa)    (EPT_PT0 + ((gpa) >> 12) * 8)

%define GUEST_PT     0x420000            ; the L2's page table for linear 8 MiB (PD0 entry 4)
%define P_READ       0x430000            ; not present, then read-only, then RW
%define P_FETCH      0x440000            ; RW, no X
%define P_MIS1       0x450000            ; misconfigured: write without read
%define P_MIS2       0x460000            ; misconfigured: memory type 2
%define P_MIS3       0x470000            ; misconfigured: bit 45 (MAXPHYADDR 40)
%define P_AD         0x480000            ; accessed/dirty flags
%define P_STALE      0x4c5000            ; the probe page: X at 4C5000H, Y at 4C6000H
%define P_ALT        0x4c6000
%define VAL_X        0x1111
%define VAL_Y        0x2222
%define GUEST_IDT2   0x4d8000            ; an L2 IDT EPT does not map (event injection)
%define P_UNPAGED    0x4d0000            ; not present for the unpaged protected-mode L2
%define PAE_PDPT     0x4e0000            ; the PAE L2's PDPT (PDPTE 0 -> PAE_PD)
%define PAE_PD       0x4e1000            ; identity 2-MiB pages for 0-1 GiB
%define PAE_PDPT2    0x4e2000            ; loaded by the L2's MOV to CR3; first not mapped by EPT
%define RM_CODE      0x8000              ; the real-mode L2's code (gpa = linear)
%define RM_HOLE      0x9f000             ; EPT not present for the real-mode L2

%include "l1_vmx_fields.inc"              ; VMCS field encodings, control bits
%include "l1_macros.inc"
%include "l1_ring3_defs.inc"

; RUN routine: VMRESUME (VMLAUNCH the first time) at the L2 routine; the
; exit information is in x_* afterwards.
%macro RUN 1
    lea rbx, [rel %1]
    VMW G_RIP, rbx
    call enter_guest
%endmacro
; AGAIN: resume where the guest stopped (after a violation the
; instruction runs again).
%macro AGAIN 0
    call enter_guest
%endmacro

; EPT_EXIT "name", reason, qualification, guest-physical, guest-linear
%macro EPT_EXIT 5
    CHECK_EQ %1, qword [x_reason], %2
    CHECK_EQ %1, qword [x_qual], %3
    CHECK_EQ %1, qword [x_gpa], %4
    CHECK_EQ %1, qword [x_linear], %5
%endmacro

; PROBE "name", value: the probe routine read `value` at P_STALE
%macro PROBE 2
    RUN g_probe
    CHECK_EQ %1, qword [x_reason], 10
    CHECK_EQ %1, qword [g_val], %2
%endmacro

; INV_OK / INV_FAILS "name": the last INVEPT/INVVPID's outcome
%macro INV_OK 1
    pushfq
    pop rax
    and eax, 0x8d5
    CHECK_EQ %1, rax, 0                  ; VMsucceed
%endmacro
%macro INV_FAILS 1
    pushfq
    pop rax
    and eax, 0x8d5
    CHECK_EQ %1, rax, 0x40               ; VMfailValid
    VMR rbx, VM_ERROR
    CHECK_EQ %1, rbx, 28                 ; invalid operand to INVEPT/INVVPID
%endmacro


start:
    call setup_idt
    call setup_user
    call build_ept
    VMX_ON VMXON_REGION, VMCS1
    call build_vmcs

    ; ---- IA32_VMX_EPT_VPID_CAP / IA32_VMX_VMFUNC: what softvt implements ----------
    mov ecx, 0x48c
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rbx, (1 << 0) | (1 << 6) | (1 << 8) | (1 << 14) | (1 << 16) | (1 << 17) | (1 << 20) | (1 << 21) | (1 << 25) | (1 << 26)
    mov rcx, (1 << 32) | (1 << 40) | (1 << 41) | (1 << 42) | (1 << 43)
    or rbx, rcx
    CHECK_EQ "IA32_VMX_EPT_VPID_CAP", rax, rbx
    mov ecx, 0x491
    rdmsr
    CHECK_EQ "IA32_VMX_VMFUNC: EPTP switching", rax, 1

    ; ---- INVEPT / INVVPID in VMX root operation: the VMfail checks ---------------------
    ; (SDM Vol. 3C 31.3: the type against EPT_VPID_CAP, then the descriptor)
    mov qword [inv_desc], EPTP_A
    mov qword [inv_desc + 8], 0
    xor ecx, ecx
    invept rcx, [rel inv_desc]
    INV_FAILS "INVEPT type 0 (not a type): VMfail(28)"
    mov ecx, 3
    invept rcx, [rel inv_desc]
    INV_FAILS "INVEPT type 3: VMfail(28)"
    mov qword [inv_desc], EPT_PML4 | 0x19    ; memory type 1
    mov ecx, 1
    invept rcx, [rel inv_desc]
    INV_FAILS "INVEPT single-context, EPTP memory type 1: VMfail(28)"
    mov qword [inv_desc], EPT_PML4 | 0x26    ; walk length 5 (not offered)
    invept rcx, [rel inv_desc]
    INV_FAILS "INVEPT single-context, 5-level EPTP: VMfail(28)"
    mov qword [inv_desc], EPTP_A
    invept rcx, [rel inv_desc]
    INV_OK "INVEPT single-context, valid EPTP: VMsucceed"
    mov ecx, 2
    mov qword [inv_desc], 0x12345        ; global: the descriptor is not checked
    invept rcx, [rel inv_desc]
    INV_OK "INVEPT all-context: VMsucceed"
    mov ecx, 4
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID type 4: VMfail(28)"
    mov qword [inv_desc], 0x10001        ; bits 63:16 not 0
    xor ecx, ecx
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID descriptor bits 63:16 set: VMfail(28)"
    mov qword [inv_desc], 0
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID individual-address, VPID 0: VMfail(28)"
    mov qword [inv_desc], 1
    mov rax, 0x0000800000000000
    mov [inv_desc + 8], rax
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID individual-address, non-canonical address: VMfail(28)"
    mov qword [inv_desc + 8], 0x1000
    invvpid rcx, [rel inv_desc]
    INV_OK "INVVPID individual-address: VMsucceed"
    mov qword [inv_desc], 0
    mov ecx, 1
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID single-context, VPID 0: VMfail(28)"
    mov ecx, 3
    invvpid rcx, [rel inv_desc]
    INV_FAILS "INVVPID single-context retaining globals, VPID 0: VMfail(28)"
    mov ecx, 2
    invvpid rcx, [rel inv_desc]
    INV_OK "INVVPID all-context (VPID 0 ignored): VMsucceed"
    mov qword [inv_desc], 5
    mov ecx, 1
    invvpid rcx, [rel inv_desc]
    INV_OK "INVVPID single-context: VMsucceed"

    ; CPL > 0 in VMX root operation: #GP(0) (SDM Vol. 3C 31.3); VMFUNC
    ; outside non-root operation: #UD.
    USER_FAULT "INVEPT at CPL 3: #GP", 13, invept rcx, [inv_desc]
    USER_FAULT "INVVPID at CPL 3: #GP", 13, invvpid rcx, [inv_desc]
    USER_FAULT "VMFUNC at CPL 3 in VMX root operation: #UD", 6, vmfunc

    ; ---- the first entry: the L2 runs through EPT ------------------------------------
    mov byte [launched], 0
    RUN g_cpuid
    CHECK_EQ "VMLAUNCH with EPT: CPUID exit", qword [x_reason], 10
    lea rbx, [rel g_cpuid]
    CHECK_EQ "guest RIP saved", qword [x_guest_rip], rbx
    VMR rbx, EPT_POINTER
    CHECK_EQ "EPTP unchanged by the entry", rbx, EPTP_A

    ; ---- EPT violations on the final access (SDM 28.2.1 Table 28-7) ---------------------
    mov r12, P_READ
    RUN g_read
    ; read (bit 0), not present (5:3 = 0), linear valid (7), final access (8)
    EPT_EXIT "read of a not-present page: EPT violation", 48, 0x181, P_READ, P_READ
    VMR rbx, G_RIP
    lea rcx, [rel g_read]
    CHECK_EQ "EPT violation: guest RIP = the faulting instruction", rbx, rcx
    VMR rbx, G_RFLAGS
    CHECK_EQ "EPT violation: saved RFLAGS.RF = 1", rbx, 0x10002
    CHECK_EQ "EPT violation: no interruption information", qword [x_intr_info], 0
    mov qword [P_READ], VAL_X
    mov qword [PTE(P_READ)], P_READ | 0x31   ; read-only
    call invept_single_a
    AGAIN
    CHECK_EQ "read-only page: the read completes", qword [x_reason], 10
    CHECK_EQ "read-only page: the value", qword [g_val], VAL_X
    mov r12, P_READ + 8
    mov r13, 5
    RUN g_write
    ; write (bit 1), readable (bit 3)
    EPT_EXIT "write to a read-only page: EPT violation", 48, 0x18a, P_READ + 8, P_READ + 8
    mov qword [PTE(P_READ)], P_READ | 0x33   ; read/write
    call invept_single_a
    AGAIN
    CHECK_EQ "read/write page: the write completes", qword [x_reason], 10
    CHECK_EQ "read/write page: the value written", qword [P_READ + 8], 5
    mov byte [P_FETCH], 0xc3             ; RET
    mov qword [PTE(P_FETCH)], P_FETCH | 0x33 ; read/write, no execute
    call invept_single_a
    mov r12, P_FETCH
    RUN g_call
    ; fetch (bit 2), readable and writable (bits 3-4)
    EPT_EXIT "fetch from a non-executable page: EPT violation", 48, 0x19c, P_FETCH, P_FETCH
    VMR rbx, G_RIP
    CHECK_EQ "fetch violation: guest RIP = the target", rbx, P_FETCH
    mov qword [PTE(P_FETCH)], P_FETCH | 0x34 ; execute-only (EPT_VPID_CAP bit 0)
    call invept_single_a
    AGAIN
    CHECK_EQ "execute-only page: the RET executes", qword [x_reason], 10
    mov r12, P_FETCH
    RUN g_read
    EPT_EXIT "read of an execute-only page: EPT violation, X only", 48, 0x1a1, P_FETCH, P_FETCH

    ; ---- EPT violations during the guest's page walk --------------------------------
    mov qword [PTE(GUEST_PT)], 0         ; the L2's page table: not present
    call invept_single_a
    mov r12, 0x801000
    RUN g_read
    ; read of a paging-structure entry: bit 7 set, bit 8 clear
    EPT_EXIT "page walk: the L2's page table not present: EPT violation", 48, 0x81, GUEST_PT + 8, 0x801000
    mov qword [PTE(GUEST_PT)], GUEST_PT | 0x31   ; read-only: the walk reads it, the accessed flag needs a write
    call invept_single_a
    AGAIN
    EPT_EXIT "page walk: setting the accessed flag in a read-only page: EPT violation", 48, 0x8b, GUEST_PT + 8, 0x801000
    mov rax, [GUEST_PT + 8]
    and eax, 0x20
    CHECK_EQ "no accessed flag set by the faulting walk", rax, 0
    mov qword [PTE(GUEST_PT)], GUEST_PT | 0x33
    call invept_single_a
    AGAIN
    CHECK_EQ "page walk through EPT completes", qword [x_reason], 10
    mov rax, [GUEST_PT + 8]
    and eax, 0x20
    CHECK_EQ "the guest PTE's accessed flag is set", rax, 0x20

    ; ---- EPT misconfigurations (SDM 29.3.3.1): exit 49, the guest-physical address ---
    mov r12, P_MIS1
    RUN g_read
    CHECK_EQ "write without read: EPT misconfiguration", qword [x_reason], 49
    CHECK_EQ "misconfiguration: guest-physical address", qword [x_gpa], P_MIS1
    mov qword [PTE(P_MIS1)], P_MIS1 | LEAF
    call invept_single_a
    AGAIN
    CHECK_EQ "fixed entry: the read completes", qword [x_reason], 10
    mov r12, P_MIS2
    RUN g_read
    CHECK_EQ "memory type 2: EPT misconfiguration", qword [x_reason], 49
    CHECK_EQ "memory type 2: guest-physical address", qword [x_gpa], P_MIS2
    mov r12, P_MIS3 + 0x10
    RUN g_read
    CHECK_EQ "reserved address bit 45: EPT misconfiguration", qword [x_reason], 49
    CHECK_EQ "reserved address bit: guest-physical address", qword [x_gpa], P_MIS3 + 0x10
    mov rax, EPT_PD + 3 * 8
    mov rbx, [rax]
    mov [saved_pde], rbx
    or qword [rax], 0x8                  ; memory-type bit in a 2-MiB leaf: type 7 (reserved)
    call invept_single_a
    mov r12, 0x600000
    RUN g_read
    CHECK_EQ "2-MiB page with memory type 7: EPT misconfiguration", qword [x_reason], 49
    mov rbx, [saved_pde]
    mov [EPT_PD + 3 * 8], rbx
    call invept_single_a

    ; ---- EPT accessed and dirty flags (EPTP bit 6; SDM 29.3.5) ---------------------------
    mov qword [PTE(P_AD)], P_AD | LEAF   ; A and D clear
    and qword [PTE(GUEST_PT)], ~0x300
    VMW EPT_POINTER, EPTP_A | 0x40
    mov r12, P_AD
    RUN g_read
    CHECK_EQ "A/D: read exits normally", qword [x_reason], 10
    mov rax, [PTE(P_AD)]
    and eax, 0x300
    CHECK_EQ "A/D: a read sets the accessed flag only", rax, 0x100
    mov rax, [EPT_PD + 2 * 8]
    and eax, 0x100
    CHECK_EQ "A/D: the accessed flag of the PDE used", rax, 0x100
    mov r12, P_AD
    mov r13, 7
    RUN g_write
    mov rax, [PTE(P_AD)]
    and eax, 0x300
    CHECK_EQ "A/D: a write sets the dirty flag", rax, 0x300
    mov r12, 0x802000
    RUN g_read
    mov rax, [PTE(GUEST_PT)]
    and eax, 0x300
    CHECK_EQ "A/D: guest paging-structure accesses are writes (dirty)", rax, 0x300
    mov qword [PTE(GUEST_PT)], GUEST_PT | 0x31   ; read-only
    call invept_single_a
    mov r12, 0x803000
    RUN g_read
    EPT_EXIT "A/D: a guest walk through a read-only page: violation as a write", 48, 0x8b, GUEST_PT + 0x18, 0x803000
    mov qword [PTE(GUEST_PT)], GUEST_PT | 0x33
    VMW EPT_POINTER, EPTP_A
    call invept_single_a

    ; ---- stale translations and their invalidation (SDM 29.4) -------------------------
    ; Without "enable VPID" every VM entry and exit invalidates the
    ; mappings of VPID 0 (SDM 29.4.3.1): a changed EPT entry is seen at once.
    mov qword [P_STALE], VAL_X
    mov qword [P_ALT], VAL_Y
    PROBE "no VPID: the probe reads X", VAL_X
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    PROBE "no VPID: the next entry invalidated the mapping: Y", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    PROBE "no VPID: back to X", VAL_X
    ; With VPID 1 the combined mapping survives exits and entries.
    VMW PROC2_CTL, P2_EPT | P2_VPID
    VMW VPID_F, 1
    PROBE "VPID 1: X", VAL_X
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    PROBE "VPID 1: the changed EPT entry is not seen (stale X)", VAL_X
    mov qword [inv_desc], EPTP_B
    mov ecx, 1
    invept rcx, [rel inv_desc]
    PROBE "INVEPT single-context of another EPTP: still X", VAL_X
    call invept_single_a
    PROBE "INVEPT single-context of the EPTP: Y", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    PROBE "stale Y", VAL_Y
    mov ecx, 2
    invept rcx, [rel inv_desc]
    PROBE "INVEPT all-context: X", VAL_X
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    PROBE "stale X again", VAL_X
    mov qword [inv_desc], 1
    mov qword [inv_desc + 8], P_STALE + 0x200000   ; another 2-MiB page of the L2
    xor ecx, ecx
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID individual-address of another page: still X", VAL_X
    mov qword [inv_desc + 8], P_STALE + 0x1000     ; the same 2-MiB page of the L2: its translation goes
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID individual-address in the same large page: Y", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    PROBE "stale Y (1)", VAL_Y
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    mov ecx, 2
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID all-context: X -> Y seen", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    PROBE "stale Y (1b)", VAL_Y
    xor ecx, ecx
    mov qword [inv_desc], 2
    mov qword [inv_desc + 8], P_STALE
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID individual-address for VPID 2: still Y", VAL_Y
    mov qword [inv_desc], 1
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID individual-address (VPID 1, the page): X", VAL_X
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    PROBE "stale X (2)", VAL_X
    mov ecx, 1
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID single-context VPID 1: Y", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    PROBE "stale Y (3)", VAL_Y
    mov ecx, 3
    invvpid rcx, [rel inv_desc]
    PROBE "INVVPID single-context retaining globals (non-global page): X", VAL_X
    mov qword [PTE(P_STALE)], P_ALT | LEAF
    PROBE "stale X (4)", VAL_X
    ; VPID isolation: VPID 2 reading the page through another linear
    ; address (another TLB slot) walks afresh; VPID 1 keeps its stale X.
    mov qword [GUEST_PT + 0xc4 * 8], P_STALE | 3  ; linear 8C4000H -> P_STALE
    VMW VPID_F, 2
    RUN g_probe2
    CHECK_EQ "VPID 2 walks afresh: Y", qword [g_val], VAL_Y
    VMW VPID_F, 1
    PROBE "VPID 1 keeps its stale X", VAL_X
    mov ecx, 2
    invvpid rcx, [rel inv_desc]
    PROBE "after INVVPID all-context: Y", VAL_Y
    mov qword [PTE(P_STALE)], P_STALE | LEAF
    mov ecx, 2
    invvpid rcx, [rel inv_desc]
    PROBE "after INVVPID all-context: X", VAL_X

    ; ---- INVEPT / INVVPID in the L2: VM exits 50 and 53 ------------------------------
    lea r14, [rel inv_desc]
    sub r14, 8
    mov r12, 1
    RUN g_invept
    CHECK_EQ "INVEPT in the L2: exit 50", qword [x_reason], 50
    CHECK_EQ "INVEPT exit: qualification = displacement", qword [x_qual], 8
    CHECK_EQ "INVEPT exit: instruction length", qword [x_len], 7
    CHECK_EQ "INVEPT exit: instruction information (R12, [R14+8])", qword [x_info], 0xc7418100
    RUN g_invvpid
    CHECK_EQ "INVVPID in the L2: exit 53", qword [x_reason], 53
    CHECK_EQ "INVVPID exit: instruction information", qword [x_info], 0xc7418100

    ; ---- VMFUNC: EPTP switching (SDM 27.5.6.3) -----------------------------------------
    call build_ept2
    mov qword [EPTP_LIST], EPTP_A
    mov qword [EPTP_LIST + 8], EPTP_B
    mov qword [EPTP_LIST + 16], EPT2_PML4 | 0x1f  ; memory type 7: invalid
    VMW PROC2_CTL, P2_EPT | P2_VPID | P2_VMFUNC
    VMW VMFUNC_CTL, 1
    VMW EPTP_LIST_F, EPTP_LIST
    xor r13d, r13d
    mov r12, 1
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 0, index 1: no exit until CPUID", qword [x_reason], 10
    CHECK_EQ "VMFUNC 0, index 1: the second EPT maps Y", qword [g_val], VAL_Y
    VMR rbx, EPT_POINTER
    CHECK_EQ "VMFUNC 0: the EPTP field is the new EPTP", rbx, EPTP_B
    xor r12d, r12d
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 0, index 0: back to X", qword [g_val], VAL_X
    VMR rbx, EPT_POINTER
    CHECK_EQ "VMFUNC 0, index 0: EPTP", rbx, EPTP_A
    mov r12, 2
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 0 with an invalid EPTP in the list: exit 59", qword [x_reason], 59
    CHECK_EQ "VMFUNC exit: instruction length 3", qword [x_len], 3
    VMR rbx, EPT_POINTER
    CHECK_EQ "VMFUNC exit: EPTP unchanged", rbx, EPTP_A
    mov r12, 512
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 0 with ECX = 512: exit 59", qword [x_reason], 59
    mov r13, 1
    xor r12d, r12d
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 1 (control bit clear): exit 59", qword [x_reason], 59
    mov r13, 64
    RUN g_vmfunc
    CHECK_EQ "VMFUNC 64: exit 59", qword [x_reason], 59
    VMW PROC2_CTL, P2_EPT | P2_VPID
    VMW EXC_BITMAP, 1 << 6
    xor r13d, r13d
    RUN g_vmfunc
    CHECK_EQ "VMFUNC without enable VM functions: #UD", qword [x_reason], 0
    CHECK_EQ "VMFUNC without enable VM functions: #UD", qword [x_intr_info], 0x80000306
    VMW EXC_BITMAP, 0

    ; ---- an EPT violation while injecting an event (SDM 28.6, 28.2.4) -----------------
    VMW PROC2_CTL, P2_EPT
    mov qword [PTE(GUEST_IDT2)], 0
    call invept_single_a
    VMW G_IDTR_BASE, GUEST_IDT2
    VMW G_IDTR_LIMIT, 0xfff
    VMW ENTRY_INTR, 0x80000041           ; external interrupt 41H
    VMW G_RFLAGS, 0x202                  ; IF = 1 (SDM 28.3.1.4)
    RUN g_cpuid
    EPT_EXIT "injection: the gate read violates EPT", 48, 0x181, GUEST_IDT2 + 0x410, GUEST_IDT2 + 0x410
    CHECK_EQ "injection: IDT-vectoring information = the injected event", qword [x_idt_vec], 0x80000041
    VMR rbx, ENTRY_INTR
    CHECK_EQ "injection: the VM-entry interruption information's valid bit cleared", rbx, 0x41
    VMW G_RFLAGS, 2
    RUN g_int41
    EPT_EXIT "INT 41H: the gate read violates EPT", 48, 0x181, GUEST_IDT2 + 0x410, GUEST_IDT2 + 0x410
    CHECK_EQ "INT 41H: IDT-vectoring information (software interrupt)", qword [x_idt_vec], 0x80000441
    CHECK_EQ "INT 41H: instruction length", qword [x_len], 2
    VMR rbx, G_RFLAGS
    CHECK_EQ "INT 41H: saved RFLAGS.RF as the delivery would push it (0)", rbx, 2
    RUN g_ud2
    EPT_EXIT "#UD: the gate read violates EPT", 48, 0x181, GUEST_IDT2 + 0x60, GUEST_IDT2 + 0x60
    CHECK_EQ "#UD: IDT-vectoring information (hardware exception)", qword [x_idt_vec], 0x80000306
    VMR rbx, G_RFLAGS
    CHECK_EQ "#UD: saved RFLAGS.RF = 1 as a fault's pushed image", rbx, 0x10002
    RUN g_cpuid
    CHECK_EQ "no event in delivery: IDT-vectoring information not valid", qword [x_idt_vec], 0
    VMW G_IDTR_BASE, 0
    VMW G_IDTR_LIMIT, 0

    ; ---- a PAE L2 with EPT: PDPTE registers (SDM 28.3.2.4, 29.3.4) ---------------------
    call build_pae_tables
    call build_pae_guest
    call enter_guest
    CHECK_EQ "PAE L2: CPUID exit", qword [x_reason], 10
    CHECK_EQ "PAE L2: a read through PAE paging and EPT", qword [g_val], VAL_X
    VMR rbx, G_PDPTE0
    CHECK_EQ "PAE L2: the PDPTE registers saved by the exit", rbx, PAE_PD | 1
    call skip_guest_instruction
    call enter_guest
    ; MOV to CR3 loads the PDPTEs through EPT: no guest-linear address (bit 7 = 0)
    CHECK_EQ "PAE L2: PDPTE load through EPT: violation", qword [x_reason], 48
    CHECK_EQ "PAE L2: PDPTE load: qualification read, bit 7 clear", qword [x_qual], 1
    CHECK_EQ "PAE L2: PDPTE load: guest-physical address", qword [x_gpa], PAE_PDPT2
    mov qword [PTE(PAE_PDPT2)], PAE_PDPT2 | LEAF
    call invept_single_a
    call enter_guest
    CHECK_EQ "PAE L2: MOV to CR3 completes, CPUID exit", qword [x_reason], 10
    VMR rbx, G_PDPTE0
    CHECK_EQ "PAE L2: the new PDPTE register saved", rbx, PAE_PD | 9
    VMR rbx, G_CR3
    CHECK_EQ "PAE L2: CR3 saved", rbx, PAE_PDPT2

    ; ---- unrestricted guest: unpaged protected mode through EPT --------------------------
    mov qword [PTE(P_UNPAGED)], 0
    mov qword [P_UNPAGED], 0x4321
    call invept_single_a
    call build_pae_guest                 ; the 32-bit segments
    VMW PROC2_CTL, P2_EPT | P2_UG
    VMW G_CR0, 0x31                      ; PE, ET, NE; no paging
    VMW G_CR4, 0x2000
    lea rbx, [rel um_code]
    VMW G_RIP, rbx
    call enter_guest
    EPT_EXIT "unpaged L2: EPT violation, linear = guest-physical", 48, 0x181, P_UNPAGED, P_UNPAGED
    mov qword [PTE(P_UNPAGED)], P_UNPAGED | LEAF
    call invept_single_a
    call enter_guest
    CHECK_EQ "unpaged L2: the read completes", qword [x_reason], 10
    CHECK_EQ "unpaged L2: the value", qword [g_val], 0x4321

    ; ---- unrestricted guest: a real-mode L2 through EPT ---------------------------------
    call copy_real_mode_code
    mov qword [PTE0(RM_HOLE)], 0         ; not present
    mov word [RM_HOLE + 0x10], 0x5678
    call invept_single_a
    call build_real_mode_guest
    call enter_guest
    CHECK_EQ "real-mode L2: CPUID exit", qword [x_reason], 10
    movzx eax, word [0x9000]
    CHECK_EQ "real-mode L2: its store through EPT", rax, 0x1234
    mov eax, [0x9004]
    CHECK_EQ "real-mode L2: its CR0 (PE = PG = 0)", rax, 0x30
    VMR rbx, G_CR0
    CHECK_EQ "real-mode L2: guest CR0 saved", rbx, 0x30
    VMR rbx, G_RIP
    CHECK_EQ "real-mode L2: guest RIP saved", rbx, RM_CODE + rm_cpuid1 - rm_code
    call skip_guest_instruction
    call enter_guest
    EPT_EXIT "real-mode L2: EPT violation, linear = physical", 48, 0x181, RM_HOLE + 0x10, RM_HOLE + 0x10
    mov qword [PTE0(RM_HOLE)], RM_HOLE | LEAF
    call invept_single_a
    call enter_guest
    CHECK_EQ "real-mode L2: the read completes after the fix", qword [x_reason], 10
    movzx eax, word [0x90020]
    CHECK_EQ "real-mode L2: the value read", rax, 0x5678
    VMR rbx, G_ES_SEL + 6                ; DS selector
    CHECK_EQ "real-mode L2: DS selector saved", rbx, 0x9000

    ; ---- summary ---------------------------------------------------------------------
    jmp l1_finish


; ---- entering the guest and the exit handler ------------------------------------------

; enter_guest (l1_vmx_enter.inc): VMLAUNCH the first time, VMRESUME after;
; returns after the exit (or a VMfail: x_reason = -1).
exit_handler:
    mov rsp, [saved_rsp]
    SAVE_FIELDS x_reason, EXIT_REASON, x_qual, EXIT_QUAL, x_len, EXIT_LEN, x_info, EXIT_INSN_INFO, \
                x_linear, G_LINEAR, x_gpa, GUEST_PHYS, x_intr_info, EXIT_INTR_INFO, \
                x_idt_vec, IDT_VEC_INFO, x_guest_rip, G_RIP
    ret                                  ; from enter_guest

invept_single_a:
    mov qword [inv_desc], EPTP_A
    mov qword [inv_desc + 8], 0
    mov ecx, 1
    invept rcx, [rel inv_desc]
    ret

; ---- the L2 routines (64-bit; r12/r13 are arguments: GPRs are not switched) ---------

g_cpuid:
    cpuid
    jmp g_cpuid
g_int41:
    int 0x41
    jmp g_int41
g_ud2:
    ud2
g_read:
    mov rax, [r12]
    mov [rel g_val], rax
    cpuid
    jmp g_read
g_write:
    mov [r12], r13
    cpuid
    jmp g_write
g_call:
    call r12
    cpuid
    jmp g_call
g_probe:
    mov rax, [P_STALE]
    mov [rel g_val], rax
    cpuid
    jmp g_probe
g_probe2:
    mov rax, [0x8c4000]
    mov [rel g_val], rax
    cpuid
    jmp g_probe2
g_invept:
    invept r12, [r14 + 8]
    jmp g_invept
g_invvpid:
    invvpid r12, [r14 + 8]
    jmp g_invvpid
g_vmfunc:
    mov eax, r13d
    mov ecx, r12d
    vmfunc
    mov rax, [P_STALE]
    mov [rel g_val], rax
    cpuid
    jmp g_vmfunc

; ---- the real-mode L2 (copied to RM_CODE; DS = 0 at the start) -----------------------

bits 16
rm_code:
    mov ax, 0x1234
    mov [0x9000], ax
    mov eax, cr0
    mov [0x9004], eax
rm_cpuid1:
    cpuid
    mov ax, RM_HOLE >> 4
    mov ds, ax
    mov ax, [0x10]                       ; linear RM_HOLE + 10H: EPT violation first
    mov bx, 0x9000
    mov ds, bx
    mov [0x20], ax                       ; linear 90020H
    cpuid
    jmp $
rm_code_end:
bits 64

; ---- the 32-bit L2s (PAE paging; unpaged protected mode) -----------------------------

bits 32
pae_code:
    mov eax, [P_STALE]
    mov [g_val], eax
    mov dword [g_val + 4], 0
    cpuid
    mov ebp, PAE_PDPT2                   ; EBP: the L1 keeps it across the exit
    mov cr3, ebp                         ; the PDPTEs are loaded through EPT
    cpuid
    jmp $
um_code:
    mov eax, [P_UNPAGED]
    mov [g_val], eax
    mov dword [g_val + 4], 0
    cpuid
    jmp $
bits 64

build_pae_tables:
    mov edi, PAE_PDPT
    mov ecx, 3 * 512
    xor eax, eax
    rep stosq
    mov qword [PAE_PDPT], PAE_PD | 1
    mov qword [PAE_PDPT2], PAE_PD | 9    ; PWT: tells the two PDPTEs apart
    FILL_ENTRIES 8, PAE_PD, 0x83, 0x200000, 512   ; P, R/W, PS
    mov qword [PTE(PAE_PDPT2)], 0        ; EPT: not present
    mov qword [P_STALE], VAL_X
    call invept_single_a
    ret

; A 32-bit protected-mode L2 with PAE paging on PAE_PDPT: flat 32-bit
; segments (CS = 18H), the PDPTE fields (EPT: SDM 28.3.1.6, 28.3.2.4).
build_pae_guest:
    VMW PROC2_CTL, P2_EPT
    VMW G_CR0, 0x80000031                ; PG, NE, ET, PE
    VMW G_CR3, PAE_PDPT
    VMW G_CR4, 0x2020                    ; VMXE, PAE
    VMW G_PDPTE0, PAE_PD | 1
    VMW G_PDPTE0 + 2, 0
    VMW G_PDPTE0 + 4, 0
    VMW G_PDPTE0 + 6, 0
    mov ecx, 0x490
    rdmsr
    VMW ENTRY_CTL, rax                   ; not IA-32e mode
    xor ebx, ebx
.seg:
    lea r10, [rbx * 2]
    mov edx, 0x10
    mov r11d, 0xc093
    cmp ebx, 1
    jne .set
    mov edx, 0x18
    mov r11d, 0xc09b
.set:
    lea rax, [G_ES_SEL + r10]
    vmwrite rax, rdx
    lea rax, [G_ES_BASE + r10]
    xor edx, edx
    vmwrite rax, rdx
    lea rax, [G_ES_LIMIT + r10]
    mov edx, 0xffffffff
    vmwrite rax, rdx
    lea rax, [G_ES_AR + r10]
    vmwrite rax, r11
    inc ebx
    cmp ebx, 6
    jb .seg
    lea rbx, [rel pae_code]
    VMW G_RIP, rbx
    VMW G_RSP, GUEST_STACK
    VMW G_RFLAGS, 2
    ret

copy_real_mode_code:
    lea rsi, [rel rm_code]
    mov edi, RM_CODE
    mov ecx, rm_code_end - rm_code
    rep movsb
    ret

; The real-mode guest state (SDM 28.3.1.2 with "unrestricted guest"):
; CR0.PE = PG = 0, segments with base = selector * 16, accessed
; read/write data (CS: type 3 allowed, DPL 0), a busy TSS, no IA-32e mode.
build_real_mode_guest:
    VMW PROC2_CTL, P2_EPT | P2_UG
    VMW G_CR0, 0x30                      ; ET, NE
    VMW G_CR3, 0
    VMW G_CR4, 0x2000                    ; VMXE (CR4_FIXED0)
    mov ecx, 0x490
    rdmsr
    VMW ENTRY_CTL, rax                   ; not IA-32e mode
    xor ebx, ebx
.seg:
    lea r10, [rbx * 2]
    lea rax, [G_ES_SEL + r10]
    xor edx, edx
    vmwrite rax, rdx
    lea rax, [G_ES_BASE + r10]
    vmwrite rax, rdx
    lea rax, [G_ES_LIMIT + r10]
    mov edx, 0xffff
    vmwrite rax, rdx
    lea rax, [G_ES_AR + r10]
    mov edx, 0x93
    vmwrite rax, rdx
    inc ebx
    cmp ebx, 6
    jb .seg
    VMW G_ES_AR + 14, 0x8b               ; TR: busy 32-bit TSS
    VMW G_TR_BASE, 0
    VMW G_GDTR_BASE, 0
    VMW G_GDTR_LIMIT, 0xffff
    VMW G_IDTR_BASE, 0
    VMW G_IDTR_LIMIT, 0x3ff
    VMW G_RIP, RM_CODE
    VMW G_RSP, 0x7000
    VMW G_RFLAGS, 2
    ret

; ---- EPT construction ------------------------------------------------------------------

build_ept:
    ; zero the structure pages
    mov edi, EPT_PML4
    mov ecx, 6 * 512
    xor eax, eax
    rep stosq
    ; PD: 2-MiB identity pages for 0-64 MiB; entries 0 and 2 -> 4-KiB tables
    MAP_2M_IDENTITY EPT_PML4, EPT_PDPT, EPT_PD, 32, 0x80 | LEAF
    mov qword [EPT_PD], EPT_PT0 | 7
    mov qword [EPT_PD + 16], EPT_PT2 | 7
    FILL_ENTRIES 8, EPT_PT0, LEAF, 0x1000, 512
    FILL_ENTRIES 8, EPT_PT2, 0x400000 | LEAF, 0x1000, 512
    ; the test pages in 4-6 MiB
    mov qword [PTE(P_READ)], 0
    mov qword [PTE(P_MIS1)], P_MIS1 | 0x32   ; write without read
    mov qword [PTE(P_MIS2)], P_MIS2 | 0x17   ; memory type 2
    mov rax, (1 << 45) | P_MIS3 | LEAF
    mov [PTE(P_MIS3)], rax
    ; the L2's page table for linear 8-10 MiB (identity, 4-KiB pages)
    FILL_ENTRIES 8, GUEST_PT, 0x800000 | 3, 0x1000, 512
    mov qword [0x3000 + 4 * 8], GUEST_PT | 3     ; the flat runner's PD0 entry 4
    invlpg [0x800000]
    ret

; A second hierarchy, equal but for P_STALE -> P_ALT (VMFUNC).
build_ept2:
    mov esi, EPT_PML4
    mov edi, EPT2_PML4
    mov ecx, 512
    rep movsq
    mov esi, EPT_PD
    mov edi, EPT2_PD
    mov ecx, 512
    rep movsq
    mov esi, EPT_PT2
    mov edi, EPT2_PT2
    mov ecx, 512
    rep movsq
    mov edi, EPT2_PDPT
    mov ecx, 512
    xor eax, eax
    rep stosq
    mov qword [EPT2_PML4], EPT2_PDPT | 7
    mov qword [EPT2_PDPT], EPT2_PD | 7
    mov qword [EPT2_PD + 16], EPT2_PT2 | 7
    mov qword [EPT2_PT2 + ((P_STALE - 0x400000) >> 12) * 8], P_ALT | LEAF
    ret

; ---- the VMCS ----------------------------------------------------------------------------

build_vmcs:
    VMW_CTLS PIN_CTL, 0x48d              ; IA32_VMX_TRUE_PINBASED_CTLS
    VMW_CTLS PROC_CTL, 0x48e, 1 << 31    ; activate secondary controls
    VMW PROC2_CTL, P2_EPT
    VMW EPT_POINTER, EPTP_A
    VMW_CTLS EXIT_CTL, 0x48f, 1 << 9     ; host address-space size
    VMW_CTLS ENTRY_CTL, 0x490, 1 << 9    ; IA-32e mode guest
    VMW EXC_BITMAP, 0
    ; host state; guest state: a 64-bit guest on the L1's page tables and GDT
    call vmx_flat_pair_state             ; l1_vmx_flat_state.inc
    VMW G_RSP, GUEST_STACK
    VMW G_RFLAGS, 2
    VMW G_IDTR_BASE, 0
    VMW G_IDTR_LIMIT, 0
    VMW G_ACTIVITY, 0
    VMW G_INTERRUPTIBILITY, 0
    ret

%include "l1_checks.inc"
%include "l1_vmx_flat_state.inc"              ; with l1_vmx_on.inc, l1_descriptors.inc
%include "l1_vmx_enter.inc"
%include "l1_page_tables.inc"

%include "l1_ring3.inc"

align 16
inv_desc:       dq 0, 0
saved_pde:      dq 0
x_qual:         dq 0
x_len:          dq 0
x_info:         dq 0
x_linear:       dq 0
x_gpa:          dq 0
x_intr_info:    dq 0
x_guest_rip:    dq 0
x_idt_vec:      dq 0
g_val:          dq 0
msg_done:       db "vmx_ept: done", 10, 0
