; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs, RDPMC and CR4 need ring 0
; expect: rax=0 rbx=107 exit=hlt
;
; An L1 test kernel for VMCS shadowing, TSC scaling, the architectural PMU
; and IA32_PERF_GLOBAL_CTRL loading (SDM Vol. 3C 25.10 "VMCS Types", the
; VMREAD/VMWRITE/VMPTRLD pseudocode of 31.3, 28.2.1.1/28.3.1.5 checks,
; 27.3 "Changes to Instruction Behavior in VMX Non-Root Operation" (RDTSC,
; RDMSR), 28.2.2/28.3.1.1/28.3.2.1/29.5.1 (IA32_PERF_GLOBAL_CTRL); SDM Vol.
; 3B "Performance Monitoring", architectural PMU version 2; SDM Vol. 2
; RDPMC). First, without VMX: CPUID.0AH, the PMU MSRs and their #GP rules,
; fixed counter 0 counting a known number of instructions between two
; RDPMCs at CPL 0 and CPL 3 (OS/USR enables, CR4.PCE), its overflow. Then
; in VMX operation: VMPTRLD of a shadow VMCS, VMLAUNCH refusing it, the
; VMCS link pointer checks (indicator, alignment, width, the current VMCS)
; and the VMREAD/VMWRITE-bitmap address checks; an L2 whose VMREAD and
; VMWRITE go to the shadow VMCS (bitmap bits clear), exit with reasons
; 23/25 and their instruction information (bits set, encodings above bit
; 14, shadowing off), fail with VMfailInvalid (link pointer all ones) and
; VMfailValid(12)/(13) (unsupported, read-only field: the error lands in
; the current VMCS); an L2 reading the TSC (RDTSC, RDTSCP, RDMSR) with multipliers
; 1, 2 and 1/2 against the L1's RDTSC before and after; an L2 run with
; IA32_PERF_GLOBAL_CTRL loaded on entry and exit, counting in the guest
; only, RDPMC exiting, and the two reserved-bit checks.
; Each failed check prints "FAIL <name>" on port 0xe9.
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000            ; the ordinary VMCS that runs the L2
%define SHADOW       0x102000            ; a shadow VMCS (indicator 1)
%define ORD2         0x103000            ; another ordinary VMCS region (indicator 0)
%define VMREAD_BM    0x104000
%define VMWRITE_BM   0x105000
%define MSR_BM       0x106000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

%include "l1_vmx_fields.inc"              ; VMCS field encodings, control bits

; PMU MSRs (SDM Vol. 4 Table 2-2)
%define FIXED_CTR0   0x309
%define FIXED_CTRL   0x38d
%define GLOBAL_STAT  0x38e
%define GLOBAL_CTRL  0x38f
%define GLOBAL_OVF   0x390
%define FIXED0_EN    (1 << 32)

%include "l1_macros.inc"
%include "l1_ring3_defs.inc"

; WRMSR_GP "name", msr, value, vector: the WRMSR at CPL 0 faults with
; `vector` (-1: it completes)
%macro WRMSR_GP 4
    mov qword [fault_vec], -1
    lea r15, [rel %%resume]
    mov [resume], r15
    mov [saved_rsp], rsp
    SET_MSR %2, %3
%%resume:
    CHECK_EQ %1, qword [fault_vec], %4
%endmacro

; RDMSR_EQ "name", msr, expected
%macro RDMSR_EQ 3
    GET_MSR %2
    CHECK_EQ %1, rax, %3
%endmacro

; RDPMC_GP "name", ecx, vector: RDPMC at CPL 0
%macro RDPMC_GP 3
    mov ecx, %2
    mov qword [fault_vec], -1
    lea r15, [rel %%resume]
    mov [resume], r15
    mov [saved_rsp], rsp
    rdpmc
%%resume:
    CHECK_EQ %1, qword [fault_vec], %3
%endmacro

; COUNT "name", expected: fixed counter 0 across RDPMC; MOV; 10 NOPs; RDPMC
; at CPL 0 (each of those 12 instructions retires before the second read)
%macro COUNT 2
    call count_12
    CHECK_EQ %1, rax, %2
%endmacro


; RUN routine: VMLAUNCH (the first time) or VMRESUME at the L2 routine
%macro RUN 1
    lea rbx, [rel %1]
    VMW G_RIP, rbx
    call enter_guest
%endmacro

; ENTRY_FAILS "name", qualification: a VMLAUNCH that fails on guest state
; (exit reason 33 | 80000000H); the VMCS stays clear
%macro ENTRY_FAILS 2
    mov byte [launched], 0
    RUN g_cpuid
    mov byte [launched], 0
    CHECK_EQ %1, qword [x_reason], 0x80000021
    CHECK_EQ %1, qword [x_qual], %2
%endmacro

; VMFAIL_VALID "name", error: the last VMLAUNCH/VMRESUME was VMfailValid(error)
%macro ENTRY_VMFAIL 2
    CHECK_EQ %1, qword [x_reason], -1
    mov rax, [entry_flags]
    and eax, 0x8d5
    CHECK_EQ %1, rax, 0x40
    VMR rbx, VM_ERROR
    CHECK_EQ %1, rbx, %2
%endmacro

; FLAGS_EQ "name", flags: the L2's VMREAD/VMWRITE left these arithmetic
; flags (0 VMsucceed, 1 VMfailInvalid, 40H VMfailValid)
%macro FLAGS_EQ 2
    mov rax, [g_flags]
    and eax, 0x8d5
    CHECK_EQ %1, rax, %2
%endmacro

; TSC_IN "name", multiplier, offset, scaled (0/1), routine: the TSC the L2
; routine reads (g_val) lies between the L1's TSC before and after the run,
; scaled and offset as SDM 27.3 defines: ((TSC * multiplier) >> 48) + offset
%macro TSC_IN 5
    lea rbx, [rel %5]
    VMW G_RIP, rbx
    VMW TSC_MULT, %2
    VMW TSC_OFFSET_F, %3
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [t0], rax
    call enter_guest
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [t1], rax
    mov rcx, %2
    mov r10, %3
    mov r11, %4
    lea rsi, [rel %%n]
    call check_tsc_range
    jmp %%e
%%n: db %1, 0
%%e:
%endmacro

start:
    call setup_idt
    call setup_user

    ; ==== the architectural PMU, version 2 (no VMX) =====================================
    mov eax, 0xa
    xor ecx, ecx
    cpuid
    CHECK_EQ "CPUID.0AH:EAX: version 2, no GP counters, 7 event bits", rax, 0x07000002
    CHECK_EQ "CPUID.0AH:EBX: no architectural event on a GP counter", rbx, 0x7f
    CHECK_EQ "CPUID.0AH:ECX", rcx, 0
    CHECK_EQ "CPUID.0AH:EDX: one fixed counter of 48 bits", rdx, 0x601
    RDMSR_EQ "IA32_PERF_GLOBAL_CTRL at reset", GLOBAL_CTRL, 0
    RDMSR_EQ "IA32_FIXED_CTR_CTRL at reset", FIXED_CTRL, 0
    RDMSR_EQ "IA32_FIXED_CTR0 at reset", FIXED_CTR0, 0
    RDMSR_EQ "IA32_PERF_GLOBAL_STATUS at reset", GLOBAL_STAT, 0
    RDMSR_EQ "IA32_PERF_GLOBAL_OVF_CTRL reads 0", GLOBAL_OVF, 0

    ; reserved bits and read-only MSRs: #GP(0)
    WRMSR_GP "WRMSR IA32_PERF_GLOBAL_STATUS (read-only): #GP", GLOBAL_STAT, 0, 13
    WRMSR_GP "IA32_PERF_GLOBAL_CTRL bit 0 (no PMC0): #GP", GLOBAL_CTRL, 1, 13
    WRMSR_GP "IA32_PERF_GLOBAL_CTRL bit 33 (no fixed counter 1): #GP", GLOBAL_CTRL, (1 << 33), 13
    WRMSR_GP "IA32_PERF_GLOBAL_CTRL bit 32: accepted", GLOBAL_CTRL, FIXED0_EN, -1
    RDMSR_EQ "IA32_PERF_GLOBAL_CTRL reads back", GLOBAL_CTRL, FIXED0_EN
    SET_MSR GLOBAL_CTRL, 0
    WRMSR_GP "IA32_FIXED_CTR_CTRL bit 2 (AnyThread, version 3): #GP", FIXED_CTRL, 4, 13
    WRMSR_GP "IA32_FIXED_CTR_CTRL bit 4 (fixed counter 1): #GP", FIXED_CTRL, 0x10, 13
    WRMSR_GP "IA32_FIXED_CTR_CTRL PMI, OS, USR: accepted", FIXED_CTRL, 0xb, -1
    RDMSR_EQ "IA32_FIXED_CTR_CTRL reads back", FIXED_CTRL, 0xb
    WRMSR_GP "IA32_FIXED_CTR0 bit 48 (beyond the width): #GP", FIXED_CTR0, (1 << 48), 13
    WRMSR_GP "IA32_FIXED_CTR0 all 48 bits: accepted", FIXED_CTR0, 0xffffffffffff, -1
    RDMSR_EQ "IA32_FIXED_CTR0 reads back (counting disabled)", FIXED_CTR0, 0xffffffffffff
    WRMSR_GP "IA32_PERF_GLOBAL_OVF_CTRL bit 0: #GP", GLOBAL_OVF, 1, 13
    WRMSR_GP "IA32_PERF_GLOBAL_OVF_CTRL bits 32, 62, 63: accepted", GLOBAL_OVF, 0xc000000100000000, -1
    RDPMC_GP "RDPMC ECX = 0 (no GP counter): #GP", 0, 13
    RDPMC_GP "RDPMC ECX = 40000001H (no fixed counter 1): #GP", 0x40000001, 13
    RDPMC_GP "RDPMC ECX = 40000000H at CPL 0: no fault", 0x40000000, -1

    ; fixed counter 0 = INST_RETIRED.ANY
    SET_MSR FIXED_CTR0, 0
    SET_MSR FIXED_CTRL, 3
    COUNT "counter disabled by IA32_PERF_GLOBAL_CTRL: no count", 0
    SET_MSR GLOBAL_CTRL, FIXED0_EN
    COUNT "OS and USR: 12 instructions between two RDPMCs", 12
    SET_MSR FIXED_CTRL, 1
    COUNT "OS only, at CPL 0: 12 instructions", 12
    SET_MSR FIXED_CTRL, 2
    COUNT "USR only, at CPL 0: no count", 0
    SET_MSR FIXED_CTRL, 0
    COUNT "ENABLE = 0: no count", 0
    SET_MSR FIXED_CTR0, 0x123456789ab
    mov ecx, 0x40000000
    rdpmc
    CHECK_EQ "RDPMC: EAX = counter bits 31:0", rax, 0x456789ab
    CHECK_EQ "RDPMC: EDX = counter bits 47:32", rdx, 0x123

    ; CPL 3: RDPMC needs CR4.PCE; the USR enable counts there
    SET_MSR FIXED_CTRL, 3
    USER_FAULT "RDPMC at CPL 3 with CR4.PCE = 0: #GP", 13, jmp u_count
    mov rax, cr4
    or rax, 1 << 8                       ; CR4.PCE
    mov cr4, rax
    USER_FAULT "RDPMC at CPL 3 with CR4.PCE = 1: no fault", NO_FAULT, jmp u_count
    CHECK_EQ "OS and USR, at CPL 3: 12 instructions", qword [u_val], 12
    SET_MSR FIXED_CTRL, 2
    USER_FAULT "USR only", NO_FAULT, jmp u_count
    CHECK_EQ "USR only, at CPL 3: 12 instructions", qword [u_val], 12
    SET_MSR FIXED_CTRL, 1
    USER_FAULT "OS only", NO_FAULT, jmp u_count
    CHECK_EQ "OS only, at CPL 3: no count", qword [u_val], 0

    ; overflow: 2^48 - 1 -> 0 sets IA32_PERF_GLOBAL_STATUS[32]
    SET_MSR FIXED_CTRL, 3
    SET_MSR FIXED_CTR0, 0xfffffffffff0
    times 20 nop
    mov ecx, GLOBAL_STAT
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK_EQ "overflow of fixed counter 0: IA32_PERF_GLOBAL_STATUS bit 32", rax, FIXED0_EN
    mov ecx, 0x40000000
    rdpmc
    shl rdx, 32
    or rax, rdx
    cmp rax, 100
    setb al
    movzx eax, al
    CHECK_EQ "overflow: the counter wrapped to a small value", rax, 1
    SET_MSR GLOBAL_OVF, FIXED0_EN
    RDMSR_EQ "IA32_PERF_GLOBAL_OVF_CTRL clears the overflow bit", GLOBAL_STAT, 0
    SET_MSR GLOBAL_CTRL, 0

    ; ==== VMX operation =================================================================
    call l1_load_gdt_tss
    VMX_ON VMXON_REGION, VMCS1
    mov eax, [VMCS1]                     ; the revision identifier l1_vmx_on wrote
    mov [ORD2], eax
    or eax, 0x80000000                   ; the shadow-VMCS indicator
    mov [SHADOW], eax
    call build_vmcs

    ; ---- a shadow VMCS in VMX root operation (SDM 25.10, 31.3 VMPTRLD) -----------------
    vmclear [rel ptr_shadow]
    vmptrld [rel ptr_shadow]
    pushfq
    pop rax
    and eax, 0x8d5
    CHECK_EQ "VMPTRLD of a shadow VMCS (shadowing supported): VMsucceed", rax, 0
    vmptrst [rel ptr_tmp]
    CHECK_EQ "VMPTRST: the shadow VMCS is current", qword [ptr_tmp], SHADOW
    VMW G_RIP, 0xabcd                    ; VMWRITE in root operation writes the shadow VMCS
    VMW G_ES_SEL, 0x1234
    mov byte [launched], 0
    call enter_guest
    mov rax, [entry_flags]
    and eax, 0x8d5
    CHECK_EQ "VMLAUNCH with a shadow VMCS current: VMfailInvalid", rax, 1
    vmptrld [rel ptr_vmcs]
    mov byte [launched], 0

    ; ---- VM-entry checks: VMCS link pointer (28.3.1.5) and bitmap addresses (28.2.1.1) ---
    VMW PROC2_CTL, 0
    VMW LINK_PTR, SHADOW
    ENTRY_FAILS "link pointer to a shadow VMCS without VMCS shadowing: exit 33, qualification 4", 4
    VMW LINK_PTR, VMCS1
    ENTRY_FAILS "link pointer = the current-VMCS pointer: exit 33, qualification 4", 4
    VMW PROC2_CTL, P2_SHADOW
    VMW VMREAD_BM_F, VMREAD_BM
    VMW VMWRITE_BM_F, VMWRITE_BM
    VMW LINK_PTR, ORD2
    ENTRY_FAILS "VMCS shadowing with an ordinary VMCS as link: exit 33, qualification 4", 4
    VMW LINK_PTR, SHADOW + 0x800
    ENTRY_FAILS "link pointer bits 11:0 not 0: exit 33, qualification 4", 4
    mov rax, SHADOW | (1 << 40)
    VMW LINK_PTR, rax
    ENTRY_FAILS "link pointer beyond the physical-address width: exit 33, qualification 4", 4
    VMW LINK_PTR, SHADOW
    VMW VMREAD_BM_F, VMREAD_BM + 8
    mov byte [launched], 0
    RUN g_cpuid
    mov byte [launched], 0
    ENTRY_VMFAIL "VMREAD-bitmap address not 4-KiB aligned: VMfailValid(7)", 7
    VMW VMREAD_BM_F, VMREAD_BM
    mov rax, 1 << 40
    VMW VMWRITE_BM_F, rax
    RUN g_cpuid
    mov byte [launched], 0
    ENTRY_VMFAIL "VMWRITE-bitmap address beyond the width: VMfailValid(7)", 7
    VMW VMWRITE_BM_F, VMWRITE_BM

    ; ---- VMREAD/VMWRITE in the L2 with VMCS shadowing ----------------------------------
    mov r12, G_RIP
    RUN g_vmread
    CHECK_EQ "L2 VMREAD, bitmap bit clear: no exit", qword [x_reason], 10
    CHECK_EQ "L2 VMREAD reads the shadow VMCS", qword [g_val], 0xabcd
    FLAGS_EQ "L2 VMREAD from the shadow: VMsucceed", 0
    mov r12, G_ES_SEL
    RUN g_vmread
    CHECK_EQ "L2 VMREAD of a 16-bit shadow field", qword [g_val], 0x1234
    mov r12, TSC_OFFSET_F
    mov r13, 0x1122334455667788
    RUN g_vmwrite
    CHECK_EQ "L2 VMWRITE, bitmap bit clear: no exit", qword [x_reason], 10
    FLAGS_EQ "L2 VMWRITE to the shadow: VMsucceed", 0
    mov r12, TSC_OFFSET_F + 1
    RUN g_vmread
    CHECK_EQ "L2 VMREAD of the high half of a shadow 64-bit field", qword [g_val], 0x11223344
    VMR rbx, TSC_OFFSET_F
    CHECK_EQ "the current VMCS's field is untouched", rbx, 0
    vmptrld [rel ptr_shadow]
    VMR rbx, TSC_OFFSET_F
    vmptrld [rel ptr_vmcs]
    CHECK_EQ "the L2's VMWRITE is in the shadow VMCS", rbx, 0x1122334455667788

    ; bitmap bits set: VM exits 23/25 with their instruction information (Table 28-13)
    mov byte [VMREAD_BM + (G_RIP >> 3)], 1 << (G_RIP & 7)
    mov r12, G_RIP
    RUN g_vmread
    CHECK_EQ "L2 VMREAD, VMREAD bit set: exit 23", qword [x_reason], 23
    CHECK_EQ "VMREAD exit: instruction information (RAX, register, R12)", qword [x_info], 0xc0000400
    CHECK_EQ "VMREAD exit: instruction length", qword [x_len], g_vmread_end - g_vmread_insn
    CHECK_EQ "VMREAD exit: qualification 0 for a register destination", qword [x_qual], 0
    mov byte [VMREAD_BM + (G_RIP >> 3)], 0
    mov byte [VMWRITE_BM + (TSC_OFFSET_F >> 3)], 1 << (TSC_OFFSET_F & 7)
    mov r12, TSC_OFFSET_F
    mov r13, 5
    RUN g_vmwrite
    CHECK_EQ "L2 VMWRITE, VMWRITE bit set: exit 25", qword [x_reason], 25
    CHECK_EQ "VMWRITE exit: instruction information (R13, register, R12)", qword [x_info], 0xc0000468
    mov byte [VMWRITE_BM + (TSC_OFFSET_F >> 3)], 0
    mov r12, G_RIP | 0x8000
    RUN g_vmread
    CHECK_EQ "L2 VMREAD of an encoding with bit 15 set: exit 23", qword [x_reason], 23
    mov r12, 0x10000681e
    RUN g_vmwrite
    CHECK_EQ "L2 VMWRITE of an encoding with bit 32 set: exit 25", qword [x_reason], 25

    ; failures in the shadow VMCS: the error number goes to the current VMCS
    mov r12, 0x0001                      ; a 16-bit field with the high-access bit
    RUN g_vmread
    CHECK_EQ "L2 VMREAD of an unsupported component: no exit", qword [x_reason], 10
    FLAGS_EQ "L2 VMREAD of an unsupported component: VMfailValid", 0x40
    VMR rbx, VM_ERROR
    CHECK_EQ "L2 VMREAD of an unsupported component: error 12 in the current VMCS", rbx, 12
    mov r12, EXIT_REASON
    mov r13, 0x77
    RUN g_vmwrite
    FLAGS_EQ "L2 VMWRITE of a read-only field: VMfailValid", 0x40
    VMR rbx, VM_ERROR
    CHECK_EQ "L2 VMWRITE of a read-only field: error 13 in the current VMCS", rbx, 13
    vmptrld [rel ptr_shadow]
    VMR rbx, EXIT_REASON
    vmptrld [rel ptr_vmcs]
    CHECK_EQ "the shadow's read-only field is unchanged", rbx, 0
    VMW LINK_PTR, -1
    mov r12, G_RIP
    RUN g_vmread
    CHECK_EQ "L2 VMREAD with link pointer FFFFFFFF_FFFFFFFFH: no exit", qword [x_reason], 10
    FLAGS_EQ "L2 VMREAD with link pointer FFFFFFFF_FFFFFFFFH: VMfailInvalid", 1
    RUN g_vmwrite
    FLAGS_EQ "L2 VMWRITE with link pointer FFFFFFFF_FFFFFFFFH: VMfailInvalid", 1
    VMW PROC2_CTL, 0
    RUN g_vmread
    CHECK_EQ "L2 VMREAD without VMCS shadowing: exit 23", qword [x_reason], 23
    RUN g_vmptrld
    CHECK_EQ "L2 VMPTRLD: exit 21 (shadowing or not)", qword [x_reason], 21

    ; ---- TSC scaling (SDM 27.3, 25.6.5) -------------------------------------------------
    VMR rbx, PROC_CTL
    or rbx, PROC_TSC_OFFSET
    VMW PROC_CTL, rbx
    VMW PROC2_CTL, P2_TSC_SCALE
    TSC_IN "RDTSC, multiplier 1.0: the TSC", (1 << 48), 0, 1, g_rdtsc
    TSC_IN "RDTSC, multiplier 2.0: twice the TSC", (2 << 48), 0, 1, g_rdtsc
    TSC_IN "RDTSC, multiplier 0.5: half the TSC", (1 << 47), 0, 1, g_rdtsc
    TSC_IN "RDTSC, multiplier 2.0 and an offset", (2 << 48), 1000000, 1, g_rdtsc
    mov r12, 0x10
    TSC_IN "RDMSR IA32_TSC, multiplier 2.0", (2 << 48), 0, 1, g_rdmsr
    VMW PROC2_CTL, P2_TSC_SCALE | P2_RDTSCP
    TSC_IN "RDTSCP, multiplier 0.5 and an offset", (1 << 47), 5000, 1, g_rdtscp
    VMW PROC2_CTL, P2_TSC_SCALE
    VMR rbx, PROC_CTL
    and rbx, ~PROC_TSC_OFFSET
    VMW PROC_CTL, rbx
    TSC_IN "TSC scaling without TSC offsetting: the TSC", (2 << 48), 0, 0, g_rdtsc
    VMW PROC2_CTL, 0

    ; ---- IA32_PERF_GLOBAL_CTRL on entry and exit (28.3.2.1, 29.5.1) ---------------------
    SET_MSR FIXED_CTRL, 3
    SET_MSR FIXED_CTR0, 0
    SET_MSR GLOBAL_CTRL, 0
    VMR rbx, ENTRY_CTL
    or rbx, ENTRY_LOAD_PERF
    VMW ENTRY_CTL, rbx
    VMR rbx, EXIT_CTL
    or rbx, EXIT_LOAD_PERF
    VMW EXIT_CTL, rbx
    mov rax, FIXED0_EN
    VMW G_PERF, rax
    VMW H_PERF, 0
    mov r12, GLOBAL_CTRL
    RUN g_rdmsr
    CHECK_EQ "L2 RDMSR IA32_PERF_GLOBAL_CTRL: loaded on entry", qword [g_val], FIXED0_EN
    RDMSR_EQ "L1 RDMSR IA32_PERF_GLOBAL_CTRL: loaded on exit", GLOBAL_CTRL, 0
    RUN g_count
    CHECK_EQ "fixed counter 0 counts in the L2 (enabled by the guest field)", qword [g_val], 12
    COUNT "fixed counter 0 stopped in the L1 (host field 0)", 0
    VMW H_PERF, 1
    RUN g_cpuid
    ENTRY_VMFAIL "host IA32_PERF_GLOBAL_CTRL bit 0 reserved: VMfailValid(8)", 8
    VMW H_PERF, 0
    VMW G_PERF, 2
    RUN g_cpuid
    CHECK_EQ "guest IA32_PERF_GLOBAL_CTRL bit 1 reserved: exit 33", qword [x_reason], 0x80000021
    CHECK_EQ "guest IA32_PERF_GLOBAL_CTRL: qualification 0", qword [x_qual], 0
    mov rax, FIXED0_EN
    VMW G_PERF, rax
    VMR rbx, PROC_CTL
    or rbx, PROC_RDPMC
    VMW PROC_CTL, rbx
    RUN g_rdpmc
    CHECK_EQ "L2 RDPMC with RDPMC exiting: exit 15", qword [x_reason], 15
    SET_MSR GLOBAL_CTRL, 0

    ; ---- summary ---------------------------------------------------------------------
    vmxoff
    jmp l1_finish

; ---- helpers ---------------------------------------------------------------------------

; rax := fixed counter 0 after RDPMC, MOV, 10 NOPs, RDPMC minus before
count_12:
    mov ecx, 0x40000000
    rdpmc
    mov r10d, eax
    times 10 nop
    rdpmc
    sub eax, r10d
    ret

; rsi = name, rcx = multiplier, r10 = offset, r11 = scaled: checks
; lo <= g_val <= hi, lo/hi = the L1's t0/t1 scaled ((t * rcx) >> 48) and offset
check_tsc_range:
    mov rax, [t0]
    mov rbx, [t1]
    test r11, r11
    jz .add
    mul rcx
    shrd rax, rdx, 48
    xchg rax, rbx                        ; rbx = lo, rax = t1
    mul rcx
    shrd rax, rdx, 48
    xchg rax, rbx                        ; rax = lo, rbx = hi
.add:
    add rax, r10
    add rbx, r10
    mov rdx, [g_val]
    xor r8d, r8d
    cmp rdx, rax
    jb .out
    cmp rdx, rbx
    ja .out
    inc r8d
.out:
    mov r9d, 1
    jmp check_eq

; enter_guest (l1_vmx_enter.inc): VMLAUNCH the first time, VMRESUME after;
; returns after the exit (or a VMfail: x_reason = -1, entry_flags).
exit_handler:
    mov rsp, [saved_rsp]
    SAVE_FIELDS x_reason, EXIT_REASON, x_qual, EXIT_QUAL, x_len, EXIT_LEN, x_info, EXIT_INSN_INFO
    ret                                  ; from enter_guest

; Controls: the TRUE_ capability MSRs' must-be-1 bits, secondary controls,
; MSR bitmaps (all clear: RDMSR does not exit), every exception exits.
build_vmcs:
    VMW_CTLS PIN_CTL, 0x48d
    VMW_CTLS PROC_CTL, 0x48e, (1 << 31) | (1 << 28)
    VMW PROC2_CTL, 0
    VMW MSR_BMP, MSR_BM
    VMW_CTLS EXIT_CTL, 0x48f, 1 << 9     ; host address-space size
    VMW_CTLS ENTRY_CTL, 0x490, 1 << 9    ; IA-32e mode guest
    VMW EXC_BITMAP, 0xffffffff
    call l1_vmcs_flat64_state
    VMW H_IDTR_BASE, IDT
    VMW H_RSP, HOST_STACK
    lea rbx, [rel exit_handler]
    VMW H_RIP, rbx
    VMW G_RSP, GUEST_STACK
    ret

; ---- the ring-3 routine ------------------------------------------------------------------

u_count:
    call count_12
    mov [rel u_val], rax
    int NO_FAULT

; ---- the L2 routines (r12/r13 are arguments: GPRs are not switched) --------------------

g_cpuid:
    cpuid
    jmp g_cpuid
g_vmread:
    xor eax, eax
g_vmread_insn:
    vmread rax, r12
g_vmread_end:
    pushfq
    pop rbx
    mov [rel g_val], rax
    mov [rel g_flags], rbx
    cpuid
    jmp g_vmread
g_vmwrite:
    vmwrite r12, r13
    pushfq
    pop rbx
    mov [rel g_flags], rbx
    cpuid
    jmp g_vmwrite
g_vmptrld:
    vmptrld [rel ptr_shadow]
    cpuid
g_rdtsc:
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [rel g_val], rax
    cpuid
    jmp g_rdtsc
g_rdtscp:
    rdtscp
    shl rdx, 32
    or rax, rdx
    mov [rel g_val], rax
    cpuid
    jmp g_rdtscp
g_rdmsr:
    mov ecx, r12d
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [rel g_val], rax
    cpuid
    jmp g_rdmsr
g_count:
    call count_12
    mov [rel g_val], rax
    cpuid
g_rdpmc:
    mov ecx, 0x40000000
    rdpmc
    cpuid

%include "l1_vmx_flat64.inc"
%include "l1_vmx_enter.inc"
%include "l1_checks.inc"
%include "l1_ring3.inc"

align 8
ptr_vmcs:       dq VMCS1
ptr_shadow:     dq SHADOW
ptr_tmp:        dq 0
x_qual:         dq 0
x_len:          dq 0
x_info:         dq 0
t0:             dq 0
t1:             dq 0
g_val:          dq 0
g_flags:        dq 0
u_val:          dq 0
msg_done:       db "vmx_shadow: done", 10, 0
