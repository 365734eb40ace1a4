; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=0 rbx=255 exit=hlt
;
; An L1 test kernel for VM entry and VM exits (SDM Vol. 3C "VM Entries",
; "VM Exits", "VMX Non-Root Operation"): it builds a VMCS for a 64-bit L2
; that shares its page tables and GDT, launches it, and makes the L2 take
; each exit softvt implements; after each exit it checks the exit reason,
; the exit qualification, the instruction length and information, the
; guest-linear address, the interruption information (SDM 28.2 / Tables
; 28-1..28-14 in the editions where "VM Entries" is chapter 28), the
; guest state saved and the host state loaded, then advances the guest RIP
; past the instruction and resumes. Then event injection (external
; interrupt, #UD despite the bitmap, #GP with error code, INT n with its
; instruction length, NMI), TSC offsetting, and VM-entry failures one field at a
; time: VMfailValid(7) for a control, VMfailValid(8) for host state, exit
; reason 33 | 80000000H with the exit qualification for guest state (0,
; 2 PDPTE, 3 NMI injection, 4 VMCS link pointer), and the SDM's order
; between groups. Each failed check prints "FAIL <name>" on port 0xe9.
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000
%define IO_BITMAP_A_PAGE 0x102000
%define IO_BITMAP_B_PAGE 0x103000
%define MSR_BITMAP_PAGE  0x104000
%define BAD_LINK     0x105000            ; a page with revision 0: an invalid link pointer
%define BAD_PDPT     0x106000            ; PDPTE 1 with reserved bit 5
%define IDT          0x80000
%define GUEST_IDT    0x88000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000
%define UNMAPPED     0x140000000         ; 5 GiB: beyond the flat runner's 4-GiB identity map

%include "l1_vmx_fields.inc"              ; VMCS field encodings


%include "l1_macros.inc"

; ENTER vmlaunch|vmresume: a VM entry; execution continues after the macro
; either on VMfail ([x_reason] = -1, [entry_flags] = RFLAGS) or after the
; VM exit (the exit information recorded by exit_handler).
%macro ENTER 1
    lea rax, [rel %%back]
    mov [resume], rax
    mov [saved_rsp], rsp
    mov qword [x_reason], -1
    %1
    pushfq
    pop qword [entry_flags]
%%back:
%endmacro

; EXIT_IS "name", reason, qualification, instruction length: checks the
; exit and advances the guest RIP past the instruction.
%macro EXIT_IS 4
    CHECK_EQ %1, qword [x_reason], %2
    CHECK_EQ %1, qword [x_qual], %3
    CHECK_EQ %1, qword [x_len], %4
    CHECK_EQ %1, qword [x_intr_info], 0   ; no event: valid bit 0 (SDM 28.2.2)
    call skip_guest_instruction
%endmacro

; EXCEPTION_IS "name", interruption info, bytes to skip
%macro EXCEPTION_IS 3
    CHECK_EQ %1, qword [x_reason], 0
    CHECK_EQ %1, qword [x_intr_info], %2
    VMR rbx, G_RIP
    add rbx, %3
    VMW G_RIP, rbx
%endmacro

; FAILS_VALID "name", error: the VM entry failed with VMfailValid(error)
%macro FAILS_VALID 2
    CHECK_EQ %1, qword [x_reason], -1
    mov rax, [entry_flags]
    and eax, 0x8d5
    CHECK_EQ %1, rax, 0x40               ; ZF only
    VMR rbx, VM_ERROR
    CHECK_EQ %1, rbx, %2
%endmacro

; ENTRY_EXIT_IS "name", qualification: VM-entry failure, reason 33 | bit 31
%macro ENTRY_EXIT_IS 2
    CHECK_EQ %1, qword [x_reason], 0x80000021
    CHECK_EQ %1, qword [x_qual], %2
    CHECK_EQ %1, qword [x_guest_rip], GUEST_RIP_MARK   ; guest state not saved
    call check_host_state
%endmacro

%define GUEST_RIP_MARK 0x7777
%define TSC_OFFSET_VALUE 0x1000000000

; INJECT "name", interruption information, error code, vector seen by the
; guest, instruction length: the guest starts at inj_target with the event
; injected; its handler must see the vector and the return RIP inj_target +
; length, then CPUID exits.
%macro INJECT 5
    lea rbx, [rel inj_target]
    VMW G_RIP, rbx
    VMW G_RSP, GUEST_STACK
    VMW G_RFLAGS, 0x202
    VMW G_IDTR_BASE, GUEST_IDT           ; the triple-fault case left a null IDTR
    VMW G_IDTR_LIMIT, 16 * 0x50 - 1
    VMW 0x4018, %3                       ; VM-entry exception error code
    VMW 0x401a, %5                       ; VM-entry instruction length
    VMW ENTRY_INTR, %2
    mov qword [g_vector], -1
    ENTER vmresume
    CHECK_EQ %1, qword [x_reason], 10
    CHECK_EQ %1, qword [g_vector], %4
    lea rbx, [rel inj_target]
    add rbx, %5
    CHECK_EQ %1, qword [g_pushed_rip], rbx
    VMR rbx, ENTRY_INTR
    mov [x_entry_intr], rbx
%endmacro

start:
    call setup_tables
    VMX_ON VMXON_REGION, VMCS1
    call build_vmcs
    mov rax, 0x5555000
    mov cr2, rax                         ; a #PF exit must not write CR2

    ; ---- VMLAUNCH and the first exit: CPUID (always exits) ------------------------
    ENTER vmlaunch
    CHECK_EQ "VMLAUNCH enters the guest: CPUID exit", qword [x_reason], 10
    lea rbx, [rel g_cpuid]
    CHECK_EQ "guest RIP saved: the CPUID instruction", qword [x_guest_rip], rbx
    VMR rbx, G_RSP
    CHECK_EQ "guest RSP saved", rbx, GUEST_STACK - 8
    VMR rbx, G_CS_AR
    CHECK_EQ "guest CS access rights saved", rbx, 0xa09b
    VMR rbx, G_CR0
    and ebx, 8
    CHECK_EQ "guest CR0.TS saved (actual value, not the shadow)", rbx, 8
    VMR rbx, ENTRY_CTL
    and ebx, 0x200
    CHECK_EQ "IA-32e mode guest control = EFER.LMA after the exit", rbx, 0x200
    CHECK_EQ "IDT-vectoring information not valid", qword [x_idt_vec], 0
    VMR rbx, G_RFLAGS
    CHECK_EQ "guest RFLAGS saved (instruction exit: RF as it was)", rbx, 2
    call check_host_state
    EXIT_IS "CPUID exit", 10, 0, 2
    ENTER vmlaunch
    FAILS_VALID "VMLAUNCH of a launched VMCS: VMfailValid(4)", 4

    ENTER vmresume
    EXIT_IS "HLT exit (HLT exiting)", 12, 0, 1
    ENTER vmresume
    EXIT_IS "RDTSC exit (RDTSC exiting)", 16, 0, 2
    ENTER vmresume
    EXIT_IS "RDTSCP exit (enable RDTSCP + RDTSC exiting)", 51, 0, 3
    ENTER vmresume
    EXIT_IS "INVLPG exit: qualification = linear address", 14, 0x123456, 3
    ENTER vmresume
    ; SDM 27.1.3 / 28.2.5 Table 28-14: scaling 0, 64-bit address size, DS,
    ; no index, base RSI, Reg2 RAX
    CHECK_EQ "INVPCID exit: instruction information", qword [x_info], (2 << 7) | (3 << 15) | (1 << 22) | (6 << 23)
    EXIT_IS "INVPCID exit (INVLPG exiting + enable INVPCID): qualification = displacement", 58, 0x40, 7   ; nasm: 66 48 0F 38 82 46 40
    ENTER vmresume
    EXIT_IS "MOV from CR3 (CR3-store exiting): CR3, type 1, RAX", 28, 0x13, 3
    ; MOV to CR3 of the CR3-target value 0 did not exit
    ENTER vmresume
    EXIT_IS "MOV to CR3 not a target (CR3-load exiting): CR3, type 0, RDX", 28, 0x203, 3
    ENTER vmresume
    EXIT_IS "MOV to CR8 (CR8-load exiting)", 28, 0x8, 4
    ENTER vmresume
    EXIT_IS "MOV from CR8 (CR8-store exiting): RBX", 28, 0x318, 4
    ENTER vmresume
    EXIT_IS "MOV to CR0 changing a host-owned bit (TS): CR0, type 0, RCX", 28, 0x100, 3
    CHECK_EQ "guest MOV from CR0 reads the shadow's TS (0)", qword [g_cr0_seen], 0
    CHECK_EQ "guest MOV from CR4 reads the shadow's VMXE (0)", qword [g_cr4_seen], 0
    CHECK_EQ "guest SMSW reads the shadow's TS (0)", qword [g_msw_seen], 0
    VMR rbx, G_CR0
    and ebx, 8
    CHECK_EQ "MOV to CR0 / CLTS left the host-owned TS at 1", rbx, 8
    VMW CR0_SHADOW, 8                    ; now the guest believes TS = 1
    ENTER vmresume
    EXIT_IS "CLTS with host-owned TS set in the shadow", 28, 0x20, 2
    ENTER vmresume
    CHECK_EQ "LMSW register operand: source 33H, type 3", qword [x_qual], 0x330030
    EXIT_IS "LMSW exit", 28, 0x330030, 3
    ENTER vmresume
    lea rbx, [rel lmsw_source]
    CHECK_EQ "LMSW memory operand: guest-linear address", qword [x_linear], rbx
    EXIT_IS "LMSW memory operand (bit 6)", 28, 0x00310070, 3
    VMW CR0_SHADOW, 0
    ENTER vmresume
    EXIT_IS "MOV from DR7 (MOV-DR exiting)", 29, 0x17, 3
    ENTER vmresume
    EXIT_IS "MOV to DR0 from RCX", 29, 0x100, 3
    ENTER vmresume
    EXIT_IS "OUT 80H, AL (I/O bitmap A)", 30, 0x00800040, 2
    ENTER vmresume
    EXIT_IS "IN EAX, DX at 7FFFH (bitmap B bit 8001H)", 30, 0x7fff000b, 1
    CHECK_EQ "IN from a port the bitmaps leave clear did not exit", qword [g_in_seen], 0xff
    ENTER vmresume
    lea rbx, [rel io_buffer]
    CHECK_EQ "REP OUTSB: guest-linear address = RSI", qword [x_linear], rbx
    CHECK_EQ "REP OUTSB: instruction information (64-bit, DS)", qword [x_info], 0x18100
    EXIT_IS "REP OUTSB to port 80H", 30, 0x00800030, 2
    ENTER vmresume
    EXIT_IS "RDMSR 10H (read bitmap, low)", 31, 0, 2
    ENTER vmresume
    EXIT_IS "WRMSR C0000100H (write bitmap, high)", 32, 0, 2
    CHECK_EQ "RDMSR of IA32_EFER (bitmap bit clear) did not exit", qword [g_efer_seen], 0xd01
    ENTER vmresume
    EXIT_IS "RDMSR 40000000H (outside the bitmap ranges)", 31, 0, 2
    ENTER vmresume
    EXIT_IS "INVD (always exits)", 13, 0, 2
    ENTER vmresume
    EXIT_IS "WBINVD (WBINVD exiting)", 54, 0, 2
    ENTER vmresume
    EXCEPTION_IS "XSETBV with CR4.OSXSAVE = 0: #UD before the exit", 0x80000306, 3
    ENTER vmresume
    EXCEPTION_IS "GETSEC with CR4.SMXE = 0: #UD before the exit", 0x80000306, 2
    ENTER vmresume
    EXIT_IS "VMCALL in the guest", 18, 0, 3
    ENTER vmresume
    CHECK_EQ "VMREAD RAX, RBX: instruction information", qword [x_info], 0x30000400
    EXIT_IS "VMREAD in the guest", 23, 0, 3
    ENTER vmresume
    CHECK_EQ "VMPTRLD [RBX+8]: instruction information", qword [x_info], 0x01c18100
    EXIT_IS "VMPTRLD in the guest: qualification = displacement", 21, 8, 4
    ENTER vmresume
    EXIT_IS "VMLAUNCH in the guest", 20, 0, 3
    ENTER vmresume
    EXIT_IS "VMXOFF in the guest", 26, 0, 3
    ENTER vmresume
    VMR rbx, G_RFLAGS
    and ebx, 0x10000
    CHECK_EQ "#UD exit: saved RFLAGS.RF = 1 as a fault's pushed image", rbx, 0x10000
    EXCEPTION_IS "UD2: exception bitmap bit 6", 0x80000306, 2
    ENTER vmresume
    CHECK_EQ "#PF write: error code", qword [x_intr_err], 2
    CHECK_EQ "#PF write: qualification = linear address", qword [x_qual], UNMAPPED
    mov rax, cr2
    CHECK_EQ "#PF exit leaves CR2 alone", rax, 0x5555000
    EXCEPTION_IS "#PF on write, error & mask = match: exits", 0x80000b0e, 2
    ENTER vmresume
    EXIT_IS "CPUID after the guest handled a #PF itself", 10, 0, 2
    CHECK_EQ "#PF on read (mask/match mismatch) went to the guest's IDT", qword [g_pf_seen], 1
    ENTER vmresume
    CHECK_EQ "triple fault in the guest: exit reason 2", qword [x_reason], 2
    call check_host_state

    ; ---- event injection (SDM 28.6) ----------------------------------------------------
    ; Each case injects one event into a guest whose IDT has a handler for its
    ; vector; the handler records the vector, the pushed RIP and error code,
    ; and executes CPUID (exit 10).
    INJECT "inject external interrupt 41H", 0x80000041, 0, 0x41, 0
    CHECK_EQ "VM exit cleared the valid bit of the VM-entry interruption information", qword [x_entry_intr], 0x41
    INJECT "inject #UD (hardware exception, bitmap bit 6 set): delivered, no exit", 0x80000306, 0, 6, 0
    INJECT "inject #GP with error code 1234H", 0x80000b0d, 0x1234, 13, 0
    CHECK_EQ "injected #GP: error code pushed", qword [g_error], 0x1234
    INJECT "inject INT 42H (software interrupt, length 2)", 0x80000442, 0, 0x42, 2
    INJECT "inject NMI", 0x80000202, 0, 2, 0

    ; ---- TSC offsetting (SDM 25.6.5, 27.3): RDTSC without RDTSC exiting -----------------
    VMR rbx, PROC_CTL
    mov [saved_proc], rbx
    and ebx, ~(1 << 12)                  ; no RDTSC exiting
    or ebx, 1 << 3                       ; use TSC offsetting
    VMW PROC_CTL, rbx
    VMW 0x2010, TSC_OFFSET_VALUE         ; TSC offset
    lea rbx, [rel tsc_target]
    VMW G_RIP, rbx
    VMW G_RSP, GUEST_STACK
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [t0], rax
    ENTER vmresume
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [t1], rax
    CHECK_EQ "TSC offsetting: the guest's RDTSC did not exit", qword [x_reason], 10
    mov rax, [g_tsc]
    mov rbx, TSC_OFFSET_VALUE
    sub rax, rbx
    sub rax, [t0]                        ; guest TSC - offset - host TSC before the entry
    mov rcx, [t1]
    sub rcx, [t0]
    cmp rax, rcx
    setb dl
    movzx edx, dl
    CHECK_EQ "TSC offsetting: guest RDTSC = host TSC + offset", rdx, 1
    mov rbx, [saved_proc]
    VMW PROC_CTL, rbx

    ; ---- VM-entry failures, one field at a time ------------------------------------
    call restore_guest
    VMW CR3_COUNT, 5
    ENTER vmresume
    FAILS_VALID "CR3-target count 5: VMfailValid(7)", 7
    VMW CR3_COUNT, 1
    VMW IO_A, IO_BITMAP_A_PAGE + 8
    ENTER vmresume
    FAILS_VALID "I/O-bitmap A misaligned: VMfailValid(7)", 7
    VMW IO_A, IO_BITMAP_A_PAGE
    VMW PROC2_CTL, 0x20                  ; enable VPID with VPID 0
    ENTER vmresume
    FAILS_VALID "enable VPID with VPID 0: VMfailValid(7)", 7
    VMW PROC2_CTL, 0x48
    mov rbx, cr4
    and rbx, ~0x2000
    VMW H_CR4, rbx
    ENTER vmresume
    FAILS_VALID "host CR4.VMXE = 0: VMfailValid(8)", 8
    VMW CR3_COUNT, 5
    ENTER vmresume
    FAILS_VALID "control and host state invalid: the control wins (7)", 7
    VMW CR3_COUNT, 1
    mov rbx, cr4
    VMW H_CR4, rbx
    VMW H_TR_SEL, 0
    ENTER vmresume
    FAILS_VALID "host TR selector 0: VMfailValid(8)", 8
    VMW G_RFLAGS, 0
    ENTER vmresume
    FAILS_VALID "host and guest state invalid: the host wins (8)", 8
    VMW H_TR_SEL, 0x30
    ENTER vmresume
    ENTRY_EXIT_IS "guest RFLAGS bit 1 = 0: exit 33, qualification 0", 0
    VMW G_RFLAGS, 2
    VMW LINK_PTR, BAD_LINK
    ENTER vmresume
    ENTRY_EXIT_IS "invalid VMCS link pointer: qualification 4", 4
    VMW LINK_PTR, -1
    VMW G_RFLAGS, 0x202
    VMW G_INTERRUPTIBILITY, 1            ; blocking by STI
    VMW ENTRY_INTR, 0x80000202           ; inject an NMI
    ENTER vmresume
    ENTRY_EXIT_IS "NMI injection with blocking by STI: qualification 3", 3
    VMW G_INTERRUPTIBILITY, 0
    VMW ENTRY_INTR, 0
    VMW G_RFLAGS, 2
    VMR rbx, ENTRY_CTL                   ; a 32-bit PAE guest whose PDPTE 1 is bad
    and ebx, ~0x200
    VMW ENTRY_CTL, rbx
    VMW G_CS_AR, 0xc09b
    VMW G_CR3, BAD_PDPT
    ENTER vmresume
    ENTRY_EXIT_IS "PAE guest with a reserved PDPTE bit: qualification 2", 2
    VMW G_CS_AR, 0x7f
    ENTER vmresume
    ENTRY_EXIT_IS "guest CS conforming with DPL 3 > SS.DPL: qualification 0", 0

    ; ---- summary ---------------------------------------------------------------------
    jmp l1_finish

; ---- the exit handler (host RIP) ---------------------------------------------------------

exit_handler:
    mov [x_rsp], rsp
    mov rsp, [saved_rsp]
    pushfq
    pop qword [x_rflags]
    SAVE_FIELDS x_reason, EXIT_REASON, x_qual, EXIT_QUAL, x_len, EXIT_LEN, x_info, EXIT_INSN_INFO, \
                x_linear, G_LINEAR, x_intr_info, EXIT_INTR_INFO, x_intr_err, EXIT_INTR_ERR, \
                x_idt_vec, IDT_VEC_INFO, x_guest_rip, G_RIP
    jmp [resume]

; ---- the L2 guest -----------------------------------------------------------------------

guest_code:
    push rax                             ; RSP - 8: checked by the host
g_cpuid:
    cpuid
    hlt
    rdtsc
    rdtscp
    mov rbx, 0x123456
    invlpg [rbx]
    mov eax, 2                           ; INVPCID type 2 (all contexts)
    lea rsi, [rel invpcid_desc - 0x40]
    invpcid rax, [rsi + 0x40]
    mov rax, cr3
    mov rcx, [rel host_cr3]
    mov cr3, rcx                         ; the CR3-target value: no exit
    mov edx, 0x7000
    mov cr3, rdx
    xor eax, eax
    mov cr8, rax
    mov rbx, cr8
    mov rax, cr0
    and eax, 8
    mov [rel g_cr0_seen], rax
    mov rax, cr4
    and eax, 0x2000
    mov [rel g_cr4_seen], rax
    smsw rax
    and eax, 8
    mov [rel g_msw_seen], rax
    mov rax, cr0
    mov cr0, rax                         ; TS as the shadow says: no exit
    clts                                 ; host-owned TS, shadow 0: no exit, TS kept
    mov rcx, rax
    or rcx, 8
    mov cr0, rcx                         ; TS differs from the shadow: exit (RCX)
    clts                                 ; the host set the shadow's TS: exit
    mov eax, 0x33
    lmsw ax
    lea rbx, [rel lmsw_source]
    lmsw [rbx]
    mov rax, dr7
    mov dr0, rcx
    out 0x80, al
    mov dx, 0x81
    in al, dx
    movzx eax, al
    mov [rel g_in_seen], rax
    mov dx, 0x7fff
    in eax, dx
    mov dx, 0x80
    lea rsi, [rel io_buffer]
    mov ecx, 3
    rep outsb
    mov ecx, 0x10
    rdmsr
    mov ecx, 0xc0000080
    rdmsr
    mov [rel g_efer_seen], rax
    mov ecx, 0xc0000100
    xor eax, eax
    xor edx, edx
    wrmsr
    mov ecx, 0x40000000
    rdmsr
    invd
    wbinvd
    xsetbv
    getsec
    vmcall
    vmread rax, rbx
    lea rbx, [rel scratch]
    vmptrld [rbx + 8]
    vmlaunch
    vmxoff
    ud2
    mov rbx, UNMAPPED
    mov [rbx], al                        ; write #PF: error 2 & mask 2 = match 2: exit
    mov rbx, UNMAPPED
    mov rax, [rbx]                       ; read #PF: error 0: no exit, the guest's handler
    cpuid
    lidt [rel zero_idtr]
    int3                                 ; #GP, #DF, triple fault: exit reason 2
    jmp $

; The guest's #PF handler: records it and skips the 3-byte MOV RAX, [RBX].
guest_pf_handler:
    mov qword [rel g_pf_seen], 1
    add rsp, 8                           ; error code
    add qword [rsp], 3
    iretq

; The target of the injection cases and the guest's handlers for the
; injected vectors: record the vector, the pushed RIP (and error code), exit.
tsc_target:
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [rel g_tsc], rax
    cpuid
    jmp $

inj_target:
    nop
    nop
    cpuid
    jmp $
%macro GUEST_HANDLER 2                   ; vector, has error code
guest_vec_%1:
    mov qword [rel g_vector], %1
%if %2
    mov rax, [rsp]
    mov [rel g_error], rax
    mov rax, [rsp + 8]
%else
    mov rax, [rsp]
%endif
    mov [rel g_pushed_rip], rax
    cpuid
    jmp $
%endmacro
GUEST_HANDLER 0x41, 0
GUEST_HANDLER 6, 0
GUEST_HANDLER 13, 1
GUEST_HANDLER 0x42, 0
GUEST_HANDLER 2, 0

; ---- helpers ----------------------------------------------------------------------------

; The host state a VM exit loads (SDM 29.5): RSP, RFLAGS = 2, CS, TR,
; GDTR/IDTR limits FFFFH, CR2 untouched.
check_host_state:
    CHECK_EQ "host RSP loaded", qword [x_rsp], HOST_STACK
    CHECK_EQ "host RFLAGS = 2", qword [x_rflags], 2
    mov ax, cs
    movzx eax, ax
    CHECK_EQ "host CS loaded", rax, 8
    str ax
    movzx eax, ax
    CHECK_EQ "host TR loaded", rax, 0x30
    sgdt [scratch]
    movzx eax, word [scratch]
    CHECK_EQ "host GDTR limit FFFFH", rax, 0xffff
    sidt [scratch]
    movzx eax, word [scratch]
    CHECK_EQ "host IDTR limit FFFFH", rax, 0xffff
    ret

; The guest state for the entry-failure cases: valid, with a recognisable RIP
; (a failure must leave the guest-state area alone).
restore_guest:
    VMW G_RIP, GUEST_RIP_MARK
    VMW G_RFLAGS, 2
    VMW G_ACTIVITY, 0
    VMW G_INTERRUPTIBILITY, 0
    VMW G_IDTR_BASE, GUEST_IDT
    VMW G_IDTR_LIMIT, 16 * 15 - 1
    ret

build_vmcs:
    ; controls: the TRUE_ MSRs' must-be-1 bits plus the exits under test
    VMW_CTLS PIN_CTL, 0x48d              ; IA32_VMX_TRUE_PINBASED_CTLS
    ; HLT, INVLPG, RDTSC, CR3 load/store, CR8 load/store, MOV DR, I/O and MSR bitmaps, secondary
    VMW_CTLS PROC_CTL, 0x48e, (1 << 7) | (1 << 9) | (1 << 12) | (1 << 15) | (1 << 16) | (1 << 19) | (1 << 20) | (1 << 23) | (1 << 25) | (1 << 28) | (1 << 31)
    VMW PROC2_CTL, 0x1048                ; enable RDTSCP, WBINVD exiting, enable INVPCID
    VMW_CTLS EXIT_CTL, 0x48f, 1 << 9     ; host address-space size
    VMW_CTLS ENTRY_CTL, 0x490, 1 << 9    ; IA-32e mode guest
    VMW EXC_BITMAP, (1 << 6) | (1 << 14)
    VMW PF_MASK, 2
    VMW PF_MATCH, 2
    VMW CR3_COUNT, 1
    mov rbx, cr3
    mov [host_cr3], rbx
    VMW CR3_TARGET0, rbx
    VMW CR0_MASK, 8                      ; CR0.TS host-owned
    VMW CR0_SHADOW, 0
    VMW CR4_MASK, 0x2000                 ; CR4.VMXE host-owned
    VMW CR4_SHADOW, 0
    VMW IO_A, IO_BITMAP_A_PAGE
    VMW IO_B, IO_BITMAP_B_PAGE
    VMW MSR_BMP, MSR_BITMAP_PAGE
    mov byte [IO_BITMAP_A_PAGE + 0x10], 1         ; port 80H
    mov byte [IO_BITMAP_B_PAGE + 0], 2            ; port 8001H
    mov byte [MSR_BITMAP_PAGE + 2], 1             ; read 10H
    mov byte [MSR_BITMAP_PAGE + 3072 + 0x20], 1   ; write C0000100H
    mov qword [BAD_PDPT + 8], 0x107000 | 1 | (1 << 5)
    ; host state; guest state: a 64-bit guest on the L1's page tables and GDT
    call vmx_flat_pair_state             ; l1_vmx_flat_state.inc
    mov rbx, cr0
    or rbx, 8                            ; CR0.TS = 1 (the shadow says 0)
    VMW G_CR0, rbx
    VMW G_RSP, GUEST_STACK
    lea rbx, [rel guest_code]
    VMW G_RIP, rbx
    VMW G_RFLAGS, 2
    VMW G_IDTR_BASE, GUEST_IDT
    VMW G_IDTR_LIMIT, 16 * 15 - 1
    VMW G_ACTIVITY, 0
    VMW G_INTERRUPTIBILITY, 0
    ret

%include "l1_checks.inc"
%include "l1_guest_idt.inc"
%include "l1_vmx_flat_state.inc"              ; with l1_vmx_on.inc, l1_descriptors.inc


; The L1's GDT with a 64-bit TSS (loaded into TR, so its descriptor is
; busy, as a guest TR must be), an empty L1 IDT, and the guest's IDT
; with a #PF gate.
setup_tables:
    LOAD_GDT_TSS
    lidt [rel idtr]
    GUEST_GATES guest_pf_handler, 14, guest_vec_0x41, 0x41, guest_vec_6, 6, guest_vec_13, 13, \
                guest_vec_0x42, 0x42, guest_vec_2, 2
    ret

align 8
idtr:           dw 16 * 32 - 1
                dq IDT
zero_idtr:      dw 0
                dq 0
L1_GDT                                    ; gdtr, gdt: null, 08H code, 10H data
                dq 0
                dq 0
                dq 0
gdt_tss:        dq 0x0000890000000067     ; 30H: 64-bit TSS (base set at run time)
                dq 0
gdt_end:
tss:            times 104 db 0
host_cr3:       dq 0
lmsw_source:    dw 0x0031                 ; PE, ET, NE: TS = 0 differs from the shadow's 1
align 8
io_buffer:      db 1, 2, 3, 0
scratch:        times 4 dq 0
resume:         dq 0
saved_rsp:      dq 0
entry_flags:    dq 0
x_reason:       dq 0
x_qual:         dq 0
x_len:          dq 0
x_info:         dq 0
x_linear:       dq 0
x_intr_info:    dq 0
x_intr_err:     dq 0
x_idt_vec:      dq 0
x_guest_rip:    dq 0
x_rsp:          dq 0
x_rflags:       dq 0
g_cr0_seen:     dq -1
g_cr4_seen:     dq -1
invpcid_desc:   dq 0, 0
g_msw_seen:     dq -1
g_in_seen:      dq 0
g_efer_seen:    dq 0
g_pf_seen:      dq 0
g_vector:       dq 0
g_pushed_rip:   dq 0
g_error:        dq 0
x_entry_intr:   dq 0
g_tsc:          dq 0
t0:             dq 0
t1:             dq 0
saved_proc:     dq 0
msg_done:       db "vmx_exits: done", 10, 0
