; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=0 rbx=147 exit=hlt
;
; An L1 test kernel for the TPR shadow and the APIC-access page (SDM Vol.
; 3C "APIC Virtualization and Virtual Interrupts", "VM Exits Induced by the
; TPR Threshold", the APIC-access exit qualification), as softvt's intel
; model offers them: "use TPR shadow" and "virtualize APIC accesses"
; without APIC-register virtualization, virtual-interrupt delivery,
; virtualize x2APIC mode or posted interrupts. The L2 shares the L1's GDT
; and page tables (tests/guest/l1_vmx_flat64.inc); linear 6-8 MiB is
; mapped with 4-KiB pages so that the APIC-access page (6 MiB) has a
; 4-KiB translation. Checked: the capability bits; the VM-entry checks
; with one invalid field each (VMfailValid 7); MOV from/to CR8 on VTPR,
; its reserved-bit #GP, CR8-load/store exiting; TPR-below-threshold exits
; (reason 43, qualification 0, RIP after the instruction, priority over a
; single-step trap, right after VM entry - after an injected event, from
; the HLT state); virtualized VTPR reads and writes through the
; APIC-access page (bytes 81H-83H cleared, a read-modify-write) and
; APIC-access exits (reason 44) for reads, writes and fetches at several
; offsets with the exact qualification, a page-crossing access, an access
; during event delivery, NMI unblocking by IRET; #PF and EPT violations
; before APIC-access exits; with EPT: the APIC-access page as a
; host-physical address behind an alias, guest-physical accesses of the
; guest's page walk (types 15 and 10) and a PAE guest's PDPTE load (type
; 15); a TPR-below-threshold exit after the REP STOSD iteration that wrote
; VTPR.
; Each failed check prints "FAIL <name>" on port 0xe9.
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000
%define VAPIC        0x102000            ; the virtual-APIC page
%define PAE_PDPT     0x103000            ; the 32-bit PAE guest's CR3
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000
%define GUEST_IDT    0x90000
%define L1_PT        0x200000            ; 4-KiB identity page table for linear 6-8 MiB
%define APIC_PAGE    0x600000            ; the APIC-access page (linear = physical without EPT)
%define REDIRECT     0x601000            ; EPT: gpa 600000H -> this page
%define APIC_ALIAS   0x700000            ; EPT: gpa 700000H -> APIC_PAGE
%define WALK_PT      0x7ff000            ; the L2's page table for linear 8-10 MiB; EPT -> APIC_PAGE
%define EPT_PML4     0x210000
%define EPT_PDPT     0x211000
%define EPT_PD       0x212000
%define EPT_PT3      0x213000            ; 4-KiB pages for gpa 6-8 MiB
%define EPTP         (EPT_PML4 | 0x1e)   ; WB, 4-level walk
%define LEAF         0x37                ; R W X, memory type WB
%define EPT_PTE(gpa) (EPT_PT3 + (((gpa) - 0x600000) >> 12) * 8)
%define APIC_PAT     0xc3c3c3c3          ; the APIC-access page's own bytes (RET)
%define PAGE_VTPR    0x5a5a5a5a          ; the APIC-access page's own dword at 80H

%include "l1_vmx_fields.inc"              ; VMCS field encodings, control bits
%include "l1_macros.inc"

; CONTROLS primary-extra, secondary: the TRUE_PROCBASED_CTLS must-be-1
; bits, "activate secondary controls" and the given bits.
%macro CONTROLS 2
    mov edi, %1
    mov esi, %2
    call set_controls
%endmacro

; RUN routine: VMRESUME (VMLAUNCH the first time) at the L2 routine.
%macro RUN 1
    lea rbx, [rel %1]
    VMW G_RIP, rbx
    call enter_guest
%endmacro

; EXIT "name", reason, qualification
%macro EXIT 3
    CHECK_EQ %1, qword [x_reason], %2
    CHECK_EQ %1, qword [x_qual], %3
%endmacro

; APIC_EXIT "name", routine, r12, qualification: an APIC-access exit with
; the guest RIP still on the routine's first instruction (fault-like).
%macro APIC_EXIT 4
    mov r12, %3
    RUN %2
    EXIT %1, 44, %4
    lea rbx, [rel %2]
    CHECK_EQ %1, qword [x_guest_rip], rbx
%endmacro

; ENTRY_FAILS "name": the VM entry (routine g_cpuid) ends in VMfailValid
; with VM-instruction error 7 (invalid control field).
%macro ENTRY_FAILS 1
    RUN g_cpuid
    pushfq
    pop rax
    and eax, 0x8d5
    CHECK_EQ %1, rax, 0x40               ; ZF: VMfailValid
    VMR rbx, VM_ERROR
    CHECK_EQ %1, rbx, 7
%endmacro

; VTPR_IS "name", value: the dword at offset 80H of the virtual-APIC page
%macro VTPR_IS 2
    mov eax, [VAPIC + 0x80]
    CHECK_EQ %1, rax, %2
%endmacro

start:
    call l1_load_gdt_tss
    call build_tables
    call build_ept
    VMX_ON VMXON_REGION, VMCS1
    call build_vmcs

    ; ---- the capabilities: TPR shadow and APIC-access virtualization only -----------------
    mov ecx, 0x48e                       ; IA32_VMX_TRUE_PROCBASED_CTLS
    rdmsr
    and edx, PROC_TPR_SHADOW
    CHECK_EQ "use TPR shadow may be 1", rdx, PROC_TPR_SHADOW
    mov ecx, 0x48b                       ; IA32_VMX_PROCBASED_CTLS2
    rdmsr
    and edx, P2_APIC | P2_X2APIC | P2_APIC_REG | P2_VID
    CHECK_EQ "virtualize APIC accesses offered; x2APIC, APIC-register virtualization, VID not", rdx, P2_APIC
    mov ecx, 0x48d                       ; IA32_VMX_TRUE_PINBASED_CTLS
    rdmsr
    and edx, PIN_POSTED
    CHECK_EQ "process posted interrupts not offered", rdx, 0

    ; ---- the first entry: launched ------------------------------------------------------
    mov byte [launched], 0
    RUN g_cpuid
    CHECK_EQ "VMLAUNCH: CPUID exit", qword [x_reason], 10

    ; ---- VM-entry checks (SDM 28.2.1.1): one invalid field each ---------------------------
    CONTROLS PROC_TPR_SHADOW, 0
    VMW VAPIC_ADDR, VAPIC | 0x800
    ENTRY_FAILS "virtual-APIC address bits 11:0 set: VMfailValid(7)"
    mov rbx, (1 << 40) | VAPIC
    VMW VAPIC_ADDR, rbx
    ENTRY_FAILS "virtual-APIC address beyond MAXPHYADDR: VMfailValid(7)"
    VMW VAPIC_ADDR, VAPIC
    VMW TPR_THRESHOLD, 0x10
    ENTRY_FAILS "TPR threshold bits 31:4 set: VMfailValid(7)"
    mov dword [VAPIC + 0x80], 0x20       ; VTPR[7:4] = 2
    VMW TPR_THRESHOLD, 3
    ENTRY_FAILS "TPR threshold above VTPR[7:4] (no APIC-access virtualization): VMfailValid(7)"
    VMW TPR_THRESHOLD, 2
    RUN g_cpuid
    CHECK_EQ "TPR threshold equal to VTPR[7:4]: the entry succeeds", qword [x_reason], 10
    VMW TPR_THRESHOLD, 0
    CONTROLS PROC_TPR_SHADOW, P2_APIC
    VMW APIC_ACCESS_ADDR, APIC_PAGE | 0x800
    ENTRY_FAILS "APIC-access address bits 11:0 set: VMfailValid(7)"
    mov rbx, (1 << 40) | APIC_PAGE
    VMW APIC_ACCESS_ADDR, rbx
    ENTRY_FAILS "APIC-access address beyond MAXPHYADDR: VMfailValid(7)"
    VMW APIC_ACCESS_ADDR, APIC_PAGE
    CONTROLS PROC_TPR_SHADOW, P2_X2APIC
    ENTRY_FAILS "virtualize x2APIC mode (not offered): VMfailValid(7)"
    CONTROLS PROC_TPR_SHADOW, P2_APIC_REG
    ENTRY_FAILS "APIC-register virtualization (not offered): VMfailValid(7)"
    CONTROLS PROC_TPR_SHADOW, P2_VID
    ENTRY_FAILS "virtual-interrupt delivery (not offered): VMfailValid(7)"
    CONTROLS PROC_TPR_SHADOW, 0
    VMW_CTLS PIN_CTL, 0x48d, PIN_POSTED | 1   ; with external-interrupt exiting
    ENTRY_FAILS "process posted interrupts (not offered): VMfailValid(7)"
    VMW_CTLS PIN_CTL, 0x48d

    ; ---- MOV from/to CR8 with the TPR shadow (SDM 31.3) -----------------------------------
    CONTROLS PROC_TPR_SHADOW, 0
    mov dword [VAPIC + 0x80], 0xffffff5a
    RUN g_read_cr8
    CHECK_EQ "MOV from CR8: exits only at the CPUID", qword [x_reason], 10
    CHECK_EQ "MOV from CR8 reads VTPR[7:4]", qword [g_val], 5
    mov eax, 3
    mov cr8, rax                         ; the L1's own TPR
    mov r12, 0xb
    RUN g_write_cr8
    CHECK_EQ "MOV to CR8: no exit", qword [x_reason], 10
    VTPR_IS "MOV to CR8: VTPR = source[3:0] << 4, the rest cleared", 0xb0
    mov rax, cr8
    CHECK_EQ "MOV to CR8 in the L2 leaves the real TPR", rax, 3
    xor eax, eax
    mov cr8, rax
    mov r12, 0x1b
    RUN g_write_cr8
    CHECK_EQ "MOV to CR8 with bit 4 set: #GP exit", qword [x_reason], 0
    CHECK_EQ "MOV to CR8 with bit 4 set: #GP(0)", qword [x_intr_info], 0x80000b0d
    VTPR_IS "MOV to CR8 that faults leaves VTPR", 0xb0

    ; ---- TPR-below-threshold exits (SDM 31.1.2) -------------------------------------------
    mov dword [VAPIC + 0x80], 0x70
    VMW TPR_THRESHOLD, 6
    mov r12, 5
    RUN g_write_cr8
    EXIT "MOV to CR8 below the threshold: TPR below threshold", 43, 0
    lea rbx, [rel g_write_cr8_next]
    CHECK_EQ "TPR below threshold is trap-like: RIP after the MOV", qword [x_guest_rip], rbx
    VTPR_IS "MOV to CR8 below the threshold: VTPR written", 0x50
    call enter_guest
    CHECK_EQ "VMRESUME with VTPR still below the threshold: VMfailValid", qword [x_reason], -1
    VMR rbx, VM_ERROR
    CHECK_EQ "VMRESUME with VTPR still below the threshold: error 7", rbx, 7
    mov dword [VAPIC + 0x80], 0x70
    mov r12, 6
    RUN g_write_cr8
    CHECK_EQ "MOV to CR8 equal to the threshold: no exit", qword [x_reason], 10
    mov r12, 2
    VMW G_RFLAGS, 0x102                  ; TF
    RUN g_write_cr8
    CHECK_EQ "TPR below threshold before the single-step trap", qword [x_reason], 43
    VMR rbx, G_PENDING_DBG
    CHECK_EQ "the single-step trap stays pending (BS)", rbx, 0x4000
    VMW G_RFLAGS, 2
    VMW G_PENDING_DBG, 0                 ; else the next entry delivers it
    VMW TPR_THRESHOLD, 0
    CONTROLS PROC_TPR_SHADOW | PROC_CR8_LOAD, 0
    mov dword [VAPIC + 0x80], 0x40
    mov r12, 9
    RUN g_write_cr8
    EXIT "CR8-load exiting with the TPR shadow: MOV to CR8 exits", 28, 0xc08
    VTPR_IS "CR8-load exiting: VTPR unchanged", 0x40
    CONTROLS PROC_TPR_SHADOW | PROC_CR8_STORE, 0
    RUN g_read_cr8
    EXIT "CR8-store exiting with the TPR shadow: MOV from CR8 exits", 28, 0x18

    ; ---- the APIC-access page without EPT (SDM 31.4) --------------------------------------
    CONTROLS PROC_TPR_SHADOW, P2_APIC
    VMW APIC_ACCESS_ADDR, APIC_PAGE
    mov dword [VAPIC + 0x80], 0xaabbcc40
    mov r12, APIC_PAGE + 0x80
    RUN g_read4
    CHECK_EQ "4-byte read of VTPR through the APIC-access page: no exit", qword [x_reason], 10
    CHECK_EQ "4-byte read at 80H: bytes 80H-83H of the virtual-APIC page", qword [g_val], 0xaabbcc40
    RUN g_read1
    CHECK_EQ "1-byte read at 80H", qword [g_val], 0x40
    RUN g_read2
    CHECK_EQ "2-byte read at 80H", qword [g_val], 0xcc40
    mov r13, 0x90
    RUN g_write1
    CHECK_EQ "1-byte write at 80H: no exit", qword [x_reason], 10
    VTPR_IS "1-byte write at 80H: VTPR written, bytes 81H-83H cleared", 0x90
    mov eax, [APIC_PAGE + 0x80]
    CHECK_EQ "the APIC-access page itself is not written", rax, PAGE_VTPR
    mov r13, 0x12345670
    RUN g_write4
    VTPR_IS "4-byte write at 80H: bytes 81H-83H cleared", 0x70
    mov dword [VAPIC + 0x80], 0x40
    mov r13, 0x10
    RUN g_add4
    CHECK_EQ "read-modify-write of VTPR: no exit", qword [x_reason], 10
    VTPR_IS "read-modify-write of VTPR: 40H + 10H", 0x50
    ; TPR virtualization after a virtualized write
    mov dword [VAPIC + 0x80], 0x90
    VMW TPR_THRESHOLD, 8
    mov r13, 0x30
    RUN g_write1
    EXIT "write at 80H below the threshold: TPR below threshold", 43, 0
    lea rbx, [rel g_write1_next]
    CHECK_EQ "TPR below threshold after the write: RIP after it", qword [x_guest_rip], rbx
    VTPR_IS "write at 80H below the threshold: VTPR written", 0x30
    ; SDM 28.7.7: with APIC-access virtualization VM entry accepts a threshold above VTPR
    ; and exits at once.
    call enter_guest
    EXIT "VMRESUME with VTPR below the threshold: TPR below threshold at once", 43, 0
    lea rbx, [rel g_write1_next]
    CHECK_EQ "TPR exit right after VM entry: no instruction ran", qword [x_guest_rip], rbx
    VMW G_IDTR_BASE, GUEST_IDT
    VMW ENTRY_INTR, 0x80000030           ; external interrupt 30H (needs RFLAGS.IF)
    VMW G_RFLAGS, 0x202
    RUN g_cpuid
    CHECK_EQ "TPR exit after an injected event", qword [x_reason], 43
    lea rbx, [rel g_handler]
    CHECK_EQ "TPR exit follows the event injection: RIP = the handler", qword [x_guest_rip], rbx
    VMR rbx, G_RSP
    CHECK_EQ "TPR exit follows the event injection: the frame is pushed", rbx, GUEST_STACK - 40
    VMW G_RSP, GUEST_STACK
    VMW G_RFLAGS, 2
    VMW G_IDTR_BASE, 0
    VMW G_ACTIVITY, 1                    ; HLT
    RUN g_cpuid
    CHECK_EQ "TPR exit wakes the HLT state entered by VM entry", qword [x_reason], 43
    VMR rbx, G_ACTIVITY
    CHECK_EQ "TPR exit from the HLT state: activity state HLT", rbx, 1
    VMW G_ACTIVITY, 0
    VMW TPR_THRESHOLD, 0
    ; a REP STOSD whose first iteration writes VTPR below the threshold: the
    ; exit follows that iteration, RIP on the instruction, one iteration done
    ; (its second, at offset 84H, would be an APIC access)
    mov dword [VAPIC + 0x80], 0x90
    VMW TPR_THRESHOLD, 8
    mov r12, APIC_PAGE + 0x80
    mov r13, 0x30
    RUN g_rep_stos
    mov r14, rcx                         ; the guest's RCX and RDI (GPRs are not switched)
    mov r15, rdi
    EXIT "REP STOSD writing VTPR below the threshold: TPR below threshold", 43, 0
    lea rbx, [rel g_rep_stos_insn]
    CHECK_EQ "TPR exit inside REP STOSD: RIP on the instruction", qword [x_guest_rip], rbx
    CHECK_EQ "TPR exit inside REP STOSD: RCX = the one iteration left", r14, 1
    CHECK_EQ "TPR exit inside REP STOSD: RDI past the first dword", r15, APIC_PAGE + 0x84
    VTPR_IS "REP STOSD: VTPR written by the first iteration", 0x30
    VMW TPR_THRESHOLD, 0

    ; APIC-access exits (reason 44): qualification = offset | access type << 12
    mov dword [VAPIC + 0x80], 0x40
    APIC_EXIT "8-byte read at 80H: APIC access", g_read8, APIC_PAGE + 0x80, 0x080
    VMR rbx, G_RFLAGS
    CHECK_EQ "APIC-access exit is fault-like: saved RF = 1", rbx, 0x10002
    APIC_EXIT "4-byte read at 84H: APIC access", g_read4, APIC_PAGE + 0x84, 0x084
    APIC_EXIT "1-byte read at 81H: APIC access", g_read1, APIC_PAGE + 0x81, 0x081
    APIC_EXIT "read at 0: APIC access", g_read4, APIC_PAGE, 0x000
    mov r13, 0x1234
    APIC_EXIT "write at 300H: APIC access (write)", g_write4, APIC_PAGE + 0x300, 0x1300
    mov eax, [APIC_PAGE + 0x300]
    CHECK_EQ "the exiting write changes nothing", rax, APIC_PAT
    APIC_EXIT "8-byte write at 80H: APIC access (write)", g_write8, APIC_PAGE + 0x80, 0x1080
    VTPR_IS "the exiting write leaves VTPR", 0x40
    APIC_EXIT "read-modify-write at 0B0H: APIC access (write)", g_add4, APIC_PAGE + 0xb0, 0x10b0
    mov r12, APIC_PAGE + 0x100
    RUN g_call
    EXIT "fetch at 100H: APIC access (fetch)", 44, 0x2100
    CHECK_EQ "fetch: guest RIP = the target", qword [x_guest_rip], APIC_PAGE + 0x100
    mov r12, APIC_PAGE + 0x80
    RUN g_jmp
    EXIT "fetch at 80H: APIC access (fetch), never virtualized", 44, 0x2080
    APIC_EXIT "read crossing into the APIC-access page: offset 0", g_read8, APIC_PAGE - 4, 0x000
    mov r13, APIC_PAGE + 0x100
    mov qword [g_val], 0
    mov r12, APIC_PAGE + 0x80
    RUN g_read_then
    EXIT "VTPR read, then a read at 100H: the second exits", 44, 0x100
    lea rbx, [rel g_read_then_second]
    CHECK_EQ "VTPR read, then a read at 100H: RIP = the second read", qword [x_guest_rip], rbx
    CHECK_EQ "the VTPR read before it completed", qword [g_val], 0x40
    ; an IRET that unblocks (virtual) NMIs and then reads the APIC-access page: bit 16
    VMW_CTLS PIN_CTL, 0x48d, PIN_NMI | PIN_VNMI
    VMW G_INTERRUPTIBILITY, 8            ; virtual-NMI blocking
    mov r12, APIC_PAGE + 0x100
    RUN g_iret
    EXIT "IRET unblocking NMIs, its pop exits: NMI unblocking (bit 16)", 44, 0x10100
    lea rbx, [rel g_iret_insn]
    CHECK_EQ "IRET's APIC-access exit: RIP = the IRET", qword [x_guest_rip], rbx
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "IRET's exit: virtual-NMI blocking cleared", rbx, 0
    VMW_CTLS PIN_CTL, 0x48d
    VMW G_RSP, GUEST_STACK
    ; an access during event delivery: the IDT on the APIC-access page
    VMW G_IDTR_BASE, APIC_PAGE
    VMW ENTRY_INTR, 0x80000021
    VMW G_RFLAGS, 0x202
    RUN g_cpuid
    EXIT "IDT read while injecting vector 21H: APIC access during event delivery", 44, 0x3210
    CHECK_EQ "during event delivery: IDT-vectoring information", qword [x_idt_vec], 0x80000021
    VMW G_IDTR_BASE, 0
    VMW G_RFLAGS, 2
    ; priority: a page fault comes first (SDM 31.4.1)
    mov qword [L1_PT], 0                 ; linear 600000H not present
    mov r12, APIC_PAGE + 0x100
    RUN g_read4
    CHECK_EQ "not-present page: #PF exit, not an APIC access", qword [x_reason], 0
    CHECK_EQ "not-present page: #PF(0)", qword [x_intr_info], 0x80000b0e
    mov qword [L1_PT], APIC_PAGE | 3
    invlpg [APIC_PAGE]
    ; without the TPR shadow every access exits
    CONTROLS 0, P2_APIC
    APIC_EXIT "read at 80H without the TPR shadow: APIC access", g_read4, APIC_PAGE + 0x80, 0x080

    ; ---- the APIC-access page behind EPT (a host-physical address) ------------------------
    CONTROLS PROC_TPR_SHADOW, P2_APIC | P2_EPT
    VMW EPT_POINTER, EPTP
    mov dword [VAPIC + 0x80], 0xa0
    mov r12, APIC_ALIAS + 0x80
    RUN g_read4
    CHECK_EQ "EPT: VTPR read through gpa 700080H: no exit", qword [x_reason], 10
    CHECK_EQ "EPT: VTPR read through the alias", qword [g_val], 0xa0
    mov r13, 0x60
    RUN g_write1
    VTPR_IS "EPT: VTPR write through the alias", 0x60
    mov r12, APIC_PAGE + 0x80
    RUN g_read4
    CHECK_EQ "EPT: gpa 600080H is not on the APIC-access page: no exit", qword [x_reason], 10
    CHECK_EQ "EPT: gpa 600080H reads its own host page", qword [g_val], 0x11223344
    APIC_EXIT "EPT: read at 100H of the alias: APIC access", g_read4, APIC_ALIAS + 0x100, 0x100
    mov r12, APIC_ALIAS + 0x200
    RUN g_call
    EXIT "EPT: fetch at 200H of the alias: APIC access (fetch)", 44, 0x2200
    ; the guest's page walk reads its page table on the APIC-access page
    mov r12, 0x805000
    RUN g_read4
    CHECK_EQ "EPT: page walk on the APIC-access page: APIC access", qword [x_reason], 44
    mov rax, [x_qual]
    shr rax, 12
    CHECK_EQ "EPT: page walk: guest-physical access (type 15)", rax, 15
    VMW G_IDTR_BASE, 0x805000
    VMW ENTRY_INTR, 0x80000022
    VMW G_RFLAGS, 0x202
    RUN g_cpuid
    CHECK_EQ "EPT: page walk for the IDT while injecting: APIC access", qword [x_reason], 44
    mov rax, [x_qual]
    shr rax, 12
    CHECK_EQ "EPT: guest-physical access during event delivery (type 10)", rax, 10
    CHECK_EQ "EPT: during event delivery: IDT-vectoring information", qword [x_idt_vec], 0x80000022
    VMW G_IDTR_BASE, 0
    VMW G_RFLAGS, 2
    ; a 32-bit PAE guest whose MOV to CR3 loads its PDPTEs from the
    ; APIC-access page (gpa WALK_PT): a guest-physical access (type 15)
    call guest32_pae
    RUN g32_mov_cr3
    CHECK_EQ "EPT: PDPTE load of MOV to CR3 on the APIC-access page: APIC access", qword [x_reason], 44
    mov rax, [x_qual]
    shr rax, 12
    CHECK_EQ "EPT: PDPTE load: guest-physical access (type 15)", rax, 15
    lea rbx, [rel g32_mov_cr3_insn]
    CHECK_EQ "EPT: PDPTE load: RIP = the MOV to CR3", qword [x_guest_rip], rbx
    call guest64
    ; priority: an EPT violation comes first
    mov qword [EPT_PTE(APIC_ALIAS)], 0
    call invept_all
    mov r12, APIC_ALIAS + 0x100
    RUN g_read4
    CHECK_EQ "EPT: not-present alias: EPT violation, not an APIC access", qword [x_reason], 48
    CHECK_EQ "EPT violation of a read: read, linear valid, final; no bit 12", qword [x_qual], 0x181
    ; an IRET that unblocks virtual NMIs and whose first pop is an EPT
    ; violation: bit 12 of the qualification (SDM 28.2.1 Table 28-7)
    VMW_CTLS PIN_CTL, 0x48d, PIN_NMI | PIN_VNMI
    VMW G_INTERRUPTIBILITY, 8            ; virtual-NMI blocking
    mov r12, APIC_ALIAS + 0x100
    RUN g_iret
    EXIT "EPT: IRET unblocking NMIs, its pop an EPT violation: bit 12", 48, 0x1181
    lea rbx, [rel g_iret_insn]
    CHECK_EQ "EPT: IRET's EPT violation: RIP = the IRET", qword [x_guest_rip], rbx
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "EPT: IRET's EPT violation: virtual-NMI blocking cleared", rbx, 0
    VMW_CTLS PIN_CTL, 0x48d
    VMW G_RSP, GUEST_STACK
    mov qword [EPT_PTE(APIC_ALIAS)], APIC_PAGE | LEAF
    call invept_all

    vmxoff
    jmp l1_finish

; ---- entering the guest and the exit handler ------------------------------------------

; enter_guest (l1_vmx_enter.inc): VMLAUNCH the first time, VMRESUME after;
; returns after the exit (or a VMfail with its flags: x_reason = -1).
exit_handler:
    mov rsp, [saved_rsp]
    SAVE_FIELDS x_reason, EXIT_REASON, x_qual, EXIT_QUAL, x_intr_info, EXIT_INTR_INFO, \
                x_idt_vec, IDT_VEC_INFO, x_guest_rip, G_RIP
    ret                                  ; from enter_guest

; rdi = primary bits besides the must-be-1 ones and "activate secondary
; controls", rsi = secondary controls.
set_controls:
    mov ecx, 0x48e                       ; IA32_VMX_TRUE_PROCBASED_CTLS
    rdmsr
    or eax, edi
    or eax, PROC_SECONDARY
    VMW PROC_CTL, rax
    VMW PROC2_CTL, rsi
    ret

invept_all:
    mov ecx, 2
    invept rcx, [rel inv_desc]
    ret

; ---- the L2 routines (64-bit; r12/r13 are arguments: GPRs are not switched) ---------

g_cpuid:
    cpuid
    jmp g_cpuid
g_handler:
    cpuid
    jmp g_handler
g_read_cr8:
    mov rax, cr8
    mov [rel g_val], rax
    cpuid
    jmp g_read_cr8
g_write_cr8:
    mov cr8, r12
g_write_cr8_next:
    cpuid
    jmp g_write_cr8
g_read1:
    movzx eax, byte [r12]
    mov [rel g_val], rax
    cpuid
g_read2:
    movzx eax, word [r12]
    mov [rel g_val], rax
    cpuid
g_read4:
    mov eax, [r12]
    mov [rel g_val], rax
    cpuid
g_read8:
    mov rax, [r12]
    mov [rel g_val], rax
    cpuid
g_write1:
    mov [r12], r13b
g_write1_next:
    cpuid
g_write4:
    mov [r12], r13d
    cpuid
g_write8:
    mov [r12], r13
    cpuid
g_add4:
    add [r12], r13d
    cpuid
g_call:
    call r12
    cpuid
g_jmp:
    jmp r12
g_read_then:
    mov eax, [r12]
    mov [rel g_val], rax
g_read_then_second:
    mov eax, [r13]
    cpuid
g_iret:
    mov rsp, r12
g_iret_insn:
    iretq
g_rep_stos:
    mov rdi, r12
    mov ecx, 2
    mov eax, r13d
g_rep_stos_insn:
    rep stosd
    cpuid
bits 32
g32_mov_cr3:
    mov eax, WALK_PT
g32_mov_cr3_insn:
    mov cr3, eax
    cpuid
bits 64

; The L2 becomes a 32-bit PAE guest (CR3 = PAE_PDPT, whose PDPTEs the
; entry takes from the VMCS with EPT: the flat runner's page directories)
; and back to the 64-bit one.
guest32_pae:
    mov qword [PAE_PDPT], 0x3001
    mov qword [PAE_PDPT + 8], 0x4001
    mov qword [PAE_PDPT + 16], 0x5001
    mov qword [PAE_PDPT + 24], 0x6001
    VMW_CTLS ENTRY_CTL, 0x490            ; IA32_VMX_TRUE_ENTRY_CTLS: IA-32e mode guest = 0
    VMW G_CS_AR, 0xc09b                  ; 32-bit code
    VMW G_CR3, PAE_PDPT
    VMW G_PDPTE0, 0x3001
    VMW G_PDPTE0 + 2, 0x4001
    VMW G_PDPTE0 + 4, 0x5001
    VMW G_PDPTE0 + 6, 0x6001
    ret
guest64:
    VMW_CTLS ENTRY_CTL, 0x490, 1 << 9    ; IA-32e mode guest
    VMW G_CS_AR, 0xa09b
    mov rbx, cr3
    VMW G_CR3, rbx
    ret

; ---- tables --------------------------------------------------------------------------

; 4-KiB identity pages for linear 6-8 MiB (PD0 entry 3), the L2's page
; table for 8-10 MiB at WALK_PT (PD0 entry 4; only the L2 with EPT uses
; it), the pages' contents and the L2's IDT.
build_tables:
    FILL_ENTRIES 8, L1_PT, APIC_PAGE | 3, 0x1000, 512
    mov qword [0x3000 + 3 * 8], L1_PT | 3     ; the flat runner's PD0
    mov qword [0x3000 + 4 * 8], WALK_PT | 3
    mov rax, cr3
    mov cr3, rax
    mov edi, APIC_PAGE
    mov ecx, 4096 / 4
    mov eax, APIC_PAT
    rep stosd
    mov dword [APIC_PAGE + 0x80], PAGE_VTPR
    mov dword [REDIRECT + 0x80], 0x11223344
    GUEST_GATES g_handler, 0x30          ; the L2's IDT: vector 30H -> g_handler
    ret

; EPT: identity for gpa 0-64 MiB (2-MiB pages; 4-KiB pages for 6-8 MiB),
; except gpa 600000H -> REDIRECT and gpa 700000H and WALK_PT -> APIC_PAGE.
build_ept:
    mov edi, EPT_PML4
    mov ecx, 4 * 512
    xor eax, eax
    rep stosq
    MAP_2M_IDENTITY EPT_PML4, EPT_PDPT, EPT_PD, 32, 0x80 | LEAF
    mov qword [EPT_PD + 3 * 8], EPT_PT3 | 7
    FILL_ENTRIES 8, EPT_PT3, APIC_PAGE | LEAF, 0x1000, 512
    mov qword [EPT_PTE(APIC_PAGE)], REDIRECT | LEAF
    mov qword [EPT_PTE(APIC_ALIAS)], APIC_PAGE | LEAF
    mov qword [EPT_PTE(WALK_PT)], APIC_PAGE | LEAF
    ret

; ---- the VMCS ----------------------------------------------------------------------------

build_vmcs:
    VMW_CTLS PIN_CTL, 0x48d              ; IA32_VMX_TRUE_PINBASED_CTLS
    CONTROLS 0, 0
    VMW_CTLS EXIT_CTL, 0x48f, 1 << 9     ; host address-space size
    VMW_CTLS ENTRY_CTL, 0x490, 1 << 9    ; IA-32e mode guest
    VMW EXC_BITMAP, 0xffffffff           ; every guest exception exits
    call l1_vmcs_flat64_state            ; CRs, GDT, TSS, flat segments (l1_vmx_flat64.inc)
    VMW H_RSP, HOST_STACK
    lea rbx, [rel exit_handler]
    VMW H_RIP, rbx
    VMW G_RSP, GUEST_STACK
    VMW G_IDTR_BASE, 0
    VMW VAPIC_ADDR, VAPIC
    VMW APIC_ACCESS_ADDR, APIC_PAGE
    VMW EPT_POINTER, EPTP
    ret

%include "l1_checks.inc"

%include "l1_vmx_flat64.inc"
%include "l1_vmx_enter.inc"
%include "l1_page_tables.inc"
%include "l1_guest_idt.inc"

align 16
inv_desc:       dq 0, 0
x_qual:         dq 0
x_intr_info:    dq 0
x_idt_vec:      dq 0
x_guest_rip:    dq 0
g_val:          dq 0
msg_done:       db "vmx_apic: done", 10, 0
