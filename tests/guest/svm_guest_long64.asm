; expect-mode: long64
; kvm: skip softvt's SVM is the subject; the host KVM (PVM, no nesting) offers no SVM
; native: skip SVM instructions and MSRs need ring 0
; expect: rax=0 exit=hlt
;
; An L1 test kernel for SVM guest mode (AMD APM Vol. 2 chapter 15). With
; `--cpu amd` (tests/unit/test_svm_guest.cpp runs it so and counts the
; checks) it runs an L2 that takes every kind of intercept in turn, checks
; EXITCODE, EXITINFO1, EXITINFO2, EXITINTINFO, the guest RIP and NRIP of
; each #VMEXIT against the APM (15.7 - 15.14, Appendix C) and resumes the
; L2 at NRIP with VMRUN; then exceptions (15.12, with #PF's decode
; assists), EVENTINJ (15.20), virtual interrupts and V_TPR (15.21), the
; interrupt shadow, the TSC offset and TSC_RATIO, ASID-tagged translations
; under each TLB_CONTROL value (15.16), a shutdown, an exception during
; event delivery (EXITINTINFO), and a 32-bit protected-mode L2. The L2
; shares L1's identity map (except in the TLB test) and GDT.
; On a model without SVM (the guest corpus runs it on "intel") it only
; checks that VMRUN is #UD.
; Each failed check prints "FAIL <name>" on the debug console (port 0xe9).
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%include "l1_svm_defs.inc"
%include "l1_macros.inc"
%include "l1_ring3_defs.inc"

%define VMCB         0x200000
%define HSAVE        0x203000
%define IOPM         0x210000            ; 12 KB
%define MSRPM        0x214000            ; 8 KB
%define VMSAVE_AREA  0x216000
%define GPML4        0x220000            ; the TLB test's guest page tables
%define GPDPT        0x221000
%define GPD          0x222000
%define GPT          0x223000
%define PAGE_A       0x224000
%define PAGE_B       0x225000
%define GUEST_IDT    0x88000
%define GUEST_STACK  0x90000
%define TLB_LIN      0x8000000000        ; PML4 entry 1

%define MSR_TSC_RATIO 0xc0000104


; EXIT "name", code, exitinfo1, exitinfo2, guest RIP, NRIP: VMRUN from the
; VMCB's RIP, check the #VMEXIT, and continue the guest at `resume_at`
; (NRIP, or the label given when NRIP is 0)
%macro EXIT 7
    call svm_run
    CHK %1, ": EXITCODE", qword [VMCB + V_CODE], %2
    CHK %1, ": EXITINFO1", qword [VMCB + V_INFO1], %3
    CHK %1, ": EXITINFO2", qword [VMCB + V_INFO2], %4
    CHK %1, ": EXITINTINFO", qword [VMCB + V_INTINFO], 0
    CHK %1, ": guest RIP", qword [VMCB + V_RIP], %5
    CHK %1, ": NRIP", qword [VMCB + V_NRIP], %6
    mov rax, %7
    mov [VMCB + V_RIP], rax
%endmacro
; INSN "name", code, exitinfo1, exitinfo2, label: an instruction intercept
; at `label`, NRIP = label_end
%macro INSN 5
    EXIT %1, %2, %3, %4, %5, %5 %+ _end, %5 %+ _end
%endmacro


start:
    call setup_idt
    mov eax, 0x80000001
    cpuid
    bt ecx, 2
    jc svm_model
    mov rax, VMCB
    mov qword [fault_vec], NO_FAULT
    lea r8, [rel .resume]
    mov [resume], r8
    mov [saved_rsp], rsp
    vmrun
.resume:
    CHK "no SVM: VMRUN", " #UD", qword [fault_vec], 6
    jmp summary

svm_model:
    mov ecx, MSR_EFER
    rdmsr
    bts eax, 12
    wrmsr
    SET_MSR MSR_HSAVE, HSAVE
    call setup_maps
    call setup_guest_idt

    ; ---- instruction intercepts, 64-bit L2 (APM 15.8 - 15.14) ------------------------
    call init_vmcb64
    lea rax, [rel guest64]
    mov [VMCB + V_RIP], rax
    INSN "CPUID", 0x72, 0, 0, g_cpuid
    ; the state save area the #VMEXIT wrote (APM 15.6)
    CHK "CPUID exit", ": CS selector", qword [VMCB + V_CS], 0xffffffff029b0008
    movzx eax, byte [VMCB + V_CPL]
    CHK "CPUID exit", ": CPL", rax, 0
    mov rax, cr3
    CHK "CPUID exit", ": CR3", qword [VMCB + V_CR3], rax
    mov rax, cr0
    CHK "CPUID exit", ": CR0", qword [VMCB + V_CR0], rax
    CHK "CPUID exit", ": RSP", qword [VMCB + V_RSP], GUEST_STACK
    CHK "CPUID exit", ": RFLAGS", qword [VMCB + V_RFLAGS], 2
    CHK "CPUID exit", ": EVENTINJ", qword [VMCB + V_EVENTINJ], 0
    INSN "HLT", 0x78, 0, 0, g_hlt
    INSN "RDTSC", 0x6e, 0, 0, g_rdtsc
    INSN "RDTSCP", 0x87, 0, 0, g_rdtscp
    INSN "PUSHF", 0x70, 0, 0, g_pushf
    INSN "POPF", 0x71, 0, 0, g_popf
    INSN "INVD", 0x76, 0, 0, g_invd
    INSN "WBINVD", 0x89, 0, 0, g_wbinvd
    INSN "INT 42H (decode assist: vector)", 0x75, 0x42, 0, g_intn
    INSN "ICEBP", 0x88, 0, 0, g_icebp
    INSN "PAUSE (filter count 0)", 0x77, 0, 0, g_pause
    INSN "INVLPG (decode assist: address)", 0x79, 0x123456, 0, g_invlpg
    INSN "INVLPGA", 0x7a, 0, 0, g_invlpga
    INSN "IN AL, 80H", 0x7b, (0x80 << 16) | 1 | 0x10 | 0x200, g_in_end, g_in
    INSN "OUT DX, AX to 1234H (map bit of 1235H)", 0x7b, (0x1234 << 16) | 0x20 | 0x200, g_out_end, g_out
    INSN "REP OUTSB, port 3F8H", 0x7b, (0x3f8 << 16) | 4 | 8 | 0x10 | 0x200 | (3 << 10), g_outs_end, g_outs
    INSN "RDMSR EFER (STAR passed)", 0x7c, 0, 0, g_rdmsr
    INSN "WRMSR SYSENTER_CS", 0x7c, 1, 0, g_wrmsr
    INSN "MOV RBX, CR3", 0x03, (1 << 63) | 3, 0, g_movcr3
    INSN "MOV RDX, DR7", 0x27, (1 << 63) | 2, 0, g_movdr7
    INSN "MOV DR0, RSI", 0x30, (1 << 63) | 6, 0, g_movdr0
    INSN "SMSW AX (a CR0 read)", 0x00, 0, 0, g_smsw
    INSN "MOV RAX, CR0", 0x00, (1 << 63) | 0, 0, g_movcr0r
    INSN "CLTS (a CR0 write)", 0x10, 0, 0, g_clts
    INSN "LMSW AX (a CR0 write)", 0x10, 0, 0, g_lmsw
    INSN "MOV CR0, RCX", 0x10, (1 << 63) | 1, 0, g_movcr0w
    INSN "SIDT", 0x66, 0, 0, g_sidt
    INSN "SGDT", 0x67, 0, 0, g_sgdt
    INSN "SLDT", 0x68, 0, 0, g_sldt
    INSN "STR", 0x69, 0, 0, g_str
    INSN "LIDT", 0x6a, 0, 0, g_lidt
    INSN "LGDT", 0x6b, 0, 0, g_lgdt
    INSN "LLDT", 0x6c, 0, 0, g_lldt
    INSN "LTR", 0x6d, 0, 0, g_ltr
    INSN "VMMCALL", 0x81, 0, 0, g_vmmcall
    INSN "VMLOAD", 0x82, 0, 0, g_vmload
    INSN "VMSAVE", 0x83, 0, 0, g_vmsave
    INSN "STGI", 0x84, 0, 0, g_stgi
    INSN "CLGI", 0x85, 0, 0, g_clgi
    INSN "VMRUN", 0x80, 0, 0, g_vmrun
    INSN "XSETBV", 0x8d, 0, 0, g_xsetbv
    INSN "MONITOR", 0x8a, 0, 0, g_monitor
    INSN "MWAIT", 0x8b, 0, 0, g_mwait
    INSN "IRETQ", 0x74, 0, 0, g_iret
    INSN "RSM", 0x73, 0, 0, g_rsm
    INSN "RDMSR 40000000H (outside the map's ranges)", 0x7c, 0, 0, g_msrout
    INSN "IN EAX, DX (SZ32)", 0x7b, (0x3f8 << 16) | 1 | 0x40 | 0x200, g_in32_end, g_in32

    ; CR0 selective write (APM 15.9.1): the CR0 read and write intercepts
    ; off; a MOV to CR0 changing only TS passes, one changing WP exits
    and dword [VMCB + V_ICR], ~((1 << 16) | 1)
    or dword [VMCB + V_MISC1], 1 << 5
    INSN "MOV CR0 changing WP: CR0_SEL_WRITE", 0x65, (1 << 63) | 2, 0, g_selcr0
    ; the PAUSE filter (APM 15.14.4): count 2 lets two PAUSEs pass
    mov word [VMCB + V_PAUSE_CNT], 2
    INSN "third PAUSE with filter count 2", 0x77, 0, 0, g_pause3

    ; ---- exception intercepts (APM 15.12) ------------------------------------------------
    mov dword [VMCB + V_IEXC], (1 << 0) | (1 << 3) | (1 << 6) | (1 << 13) | (1 << 14)
    EXIT "#UD", 0x46, 0, 0, g_ud, 0, g_ud_end
    EXIT "#GP (non-canonical)", 0x4d, 0, 0, g_gp, 0, g_gp_end
    EXIT "#PF (not present)", 0x4e, 0, 0x200000000, g_pf, 0, g_pf_end
    movzx eax, byte [VMCB + V_INSN_LEN]
    CHK "#PF", ": INSN_LEN (decode assists)", rax, 15
    mov eax, [VMCB + V_INSN_BYTES]
    and eax, 0xffffff
    CHK "#PF", ": instruction bytes 48 8B 03", rax, 0x038b48
    CHK "#PF", ": CR2 not written", qword [VMCB + V_CR2], 0
    EXIT "INT3 (#BP intercept)", 0x43, 0, 0, g_int3, g_int3_end, g_int3_end
    EXIT "#DE", 0x40, 0, 0, g_de, 0, g_de_end
    ; MWAIT intercepted only with the monitor armed; LMSW and the CR0
    ; selective write (changing EM exits, TS alone does not)
    and dword [VMCB + V_MISC2], ~((1 << 10) | (1 << 11))
    or dword [VMCB + V_MISC2], 1 << 12
    lea rax, [rel g_mwtest]
    mov [VMCB + V_RIP], rax
    INSN "MWAIT with the monitor armed", 0x8c, 0, 0, g_mwait2
    INSN "LMSW changing EM: CR0_SEL_WRITE", 0x65, 0, 0, g_lmswsel

    ; ---- event injection (APM 15.20) -------------------------------------------------------
    call init_vmcb64
    lea rax, [rel g_idle]
    mov [VMCB + V_RIP], rax
    mov eax, 0x80000051
    mov [VMCB + V_EVENTINJ], rax       ; V, external interrupt, vector 51H
    xor ebx, ebx
    call svm_run
    CHK "EVENTINJ INTR 51H", ": handler ran", rbx, 0x51
    CHK "EVENTINJ INTR 51H", ": EXITCODE (VMMCALL in the handler)", qword [VMCB + V_CODE], 0x81
    CHK "EVENTINJ INTR 51H", ": EVENTINJ.V cleared", qword [VMCB + V_EVENTINJ], 0x51
    CHK "EVENTINJ INTR 51H", ": return RIP pushed", qword [GUEST_STACK - 40], g_idle
    CHK "EVENTINJ INTR 51H", ": RSP", qword [VMCB + V_RSP], GUEST_STACK - 40
    call init_vmcb64
    lea rax, [rel g_idle]
    mov [VMCB + V_RIP], rax
    mov rax, 0x00001234_80000b0d                   ; V, EV, exception, #GP, error 1234H
    mov [VMCB + V_EVENTINJ], rax
    xor ebx, ebx
    call svm_run
    CHK "EVENTINJ #GP(1234H)", ": error code pushed", rbx, 0x1234
    call init_vmcb64
    lea rax, [rel g_idle]
    mov [VMCB + V_RIP], rax
    mov eax, 0x80000452
    mov [VMCB + V_EVENTINJ], rax       ; V, software interrupt, vector 52H
    mov qword [VMCB + V_NRIP], 0x13579
    xor ebx, ebx
    call svm_run
    CHK "EVENTINJ INT 52H", ": return address = NRIP", rbx, 0x13579
    ; an exception while delivering the injected event: IDT gate 55H not
    ; present -> #NP(55H*8+2+EXT), intercepted, EXITINTINFO = the event
    call init_vmcb64
    lea rax, [rel g_idle]
    mov [VMCB + V_RIP], rax
    mov eax, 0x80000055
    mov [VMCB + V_EVENTINJ], rax
    mov dword [VMCB + V_IEXC], 1 << 11
    call svm_run
    CHK "#NP delivering EVENTINJ", ": EXITCODE", qword [VMCB + V_CODE], 0x4b
    CHK "#NP delivering EVENTINJ", ": EXITINFO1", qword [VMCB + V_INFO1], 0x55 * 8 + 3
    CHK "#NP delivering EVENTINJ", ": EXITINTINFO", qword [VMCB + V_INTINFO], 0x80000055
    CHK "#NP delivering EVENTINJ", ": guest RIP", qword [VMCB + V_RIP], g_idle

    ; ---- virtual interrupts (APM 15.21) ----------------------------------------------------
    call init_vmcb64
    lea rax, [rel g_vint]
    mov [VMCB + V_RIP], rax
    mov qword [VMCB + V_RFLAGS], 0x202
    mov rax, (0x53 << 32) | (1 << 20) | (1 << 8)     ; vector 53H, V_IGN_TPR, V_IRQ
    mov [VMCB + V_VINTR], rax
    xor ebx, ebx
    call svm_run
    CHK "V_IRQ 53H", ": delivered at once", rbx, 0x53
    CHK "V_IRQ 53H", ": guest RIP in the handler", qword [VMCB + V_RIP], h53_vmmcall
    CHK "V_IRQ 53H", ": V_IRQ cleared", qword [VMCB + V_VINTR], (0x53 << 32) | (1 << 20)
    ; with the VINTR intercept: #VMEXIT(VINTR), V_IRQ stays
    mov rax, (0x53 << 32) | (1 << 20) | (1 << 8)
    mov [VMCB + V_VINTR], rax
    lea rax, [rel g_vint]
    mov [VMCB + V_RIP], rax
    mov qword [VMCB + V_RFLAGS], 0x202
    or dword [VMCB + V_MISC1], 1 << 4
    call svm_run
    CHK "V_IRQ with VINTR intercept", ": EXITCODE", qword [VMCB + V_CODE], 0x64
    CHK "V_IRQ with VINTR intercept", ": V_IRQ kept", qword [VMCB + V_VINTR], (0x53 << 32) | (1 << 20) | (1 << 8)
    CHK "V_IRQ with VINTR intercept", ": guest RIP", qword [VMCB + V_RIP], g_vint
    ; priority 2 against V_TPR 5 (V_INTR_MASKING): held until the guest's
    ; MOV CR8 lowers V_TPR to 1; CR8 is V_TPR, the host's TPR untouched
    and dword [VMCB + V_MISC1], ~(1 << 4)
    mov rax, (0x53 << 32) | (1 << 24) | (2 << 16) | (1 << 8) | 5
    mov [VMCB + V_VINTR], rax
    lea rax, [rel g_tpr]
    mov [VMCB + V_RIP], rax
    mov qword [VMCB + V_RFLAGS], 0x202
    xor ebx, ebx
    call svm_run
    CHK "V_TPR 5 holds priority 2", ": guest reached VMMCALL", qword [VMCB + V_RIP], g_tpr_vmmcall
    CHK "V_TPR 5 holds priority 2", ": not delivered", rbx, 0
    CHK "MOV RAX, CR8 in the guest", ": reads V_TPR", r12, 5
    mov rax, [VMCB + V_NRIP]
    mov [VMCB + V_RIP], rax
    call svm_run
    CHK "MOV CR8, 1 in the guest", ": delivered", rbx, 0x53
    CHK "MOV CR8, 1 in the guest", ": V_TPR written back", qword [VMCB + V_VINTR], (0x53 << 32) | (1 << 24) | (2 << 16) | 1
    mov rax, cr8
    CHK "MOV CR8, 1 in the guest", ": host TPR untouched", rax, 0
    ; the interrupt shadow field: one guest instruction runs before the
    ; virtual interrupt
    mov rax, (0x54 << 32) | (1 << 20) | (1 << 8)
    mov [VMCB + V_VINTR], rax
    lea rax, [rel g_shadow]
    mov [VMCB + V_RIP], rax
    mov qword [VMCB + V_RFLAGS], 0x202
    mov qword [VMCB + V_SHADOW], 1
    xor ebx, ebx
    call svm_run
    CHK "INTERRUPT_SHADOW = 1", ": one instruction first", rbx, 1
    CHK "INTERRUPT_SHADOW = 1", ": then the handler", qword [VMCB + V_RIP], h54_vmmcall
    CHK "INTERRUPT_SHADOW = 1", ": shadow 0, guest IF 0 written back", qword [VMCB + V_SHADOW], 0
    mov rax, (0x54 << 32) | (1 << 20) | (1 << 8)
    mov [VMCB + V_VINTR], rax
    lea rax, [rel g_shadow]
    mov [VMCB + V_RIP], rax
    mov qword [VMCB + V_RFLAGS], 0x202
    mov qword [VMCB + V_SHADOW], 0
    xor ebx, ebx
    call svm_run
    CHK "INTERRUPT_SHADOW = 0", ": handler first", rbx, 0

    ; ---- TSC offset and TSC_RATIO (APM 15.30.5) ---------------------------------------------
    call init_vmcb64
    and dword [VMCB + V_MISC1], ~(1 << 14)           ; RDTSC not intercepted
    mov rax, 1 << 40
    mov [VMCB + V_TSC_OFF], rax
    lea rax, [rel g_tsc]
    mov [VMCB + V_RIP], rax
    call tsc_window                                  ; r12 = guest TSC - offset - t0, r13 = t1 - t0
    cmp r12, r13
    setbe al
    movzx eax, al
    CHK "TSC offset", ": t0 <= guest TSC - offset <= t1", rax, 1
    SET_MSR MSR_TSC_RATIO, 0x300000000               ; 3.0
    lea rax, [rel g_tsc]
    mov [VMCB + V_RIP], rax
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax                                     ; t0
    call svm_run
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r15, rax                                     ; t1
    mov rax, [VMCB + V_RAX]
    mov rcx, 1 << 40
    sub rax, rcx                                     ; 3 * TSC at the guest's RDTSC
    xor edx, edx
    mov rcx, 3
    div rcx
    CHK "TSC_RATIO 3.0", ": a multiple of 3", rdx, 0
    cmp rax, r14
    setae cl
    cmp rax, r15
    setbe ch
    and cl, ch
    movzx ecx, cl
    CHK "TSC_RATIO 3.0", ": (guest TSC - offset) / 3 within the run", rcx, 1
    SET_MSR MSR_TSC_RATIO, 0x100000000

    ; ---- ASID-tagged translations and TLB_CONTROL (APM 15.16) ------------------------------
    call init_vmcb64
    mov qword [VMCB + V_CR3], GPML4
    mov qword [GPT], PAGE_A | 3
    call tlb_read
    CHK "TLB: first read", " maps page A", rax, 0xaaaa
    mov qword [GPT], PAGE_B | 3                      ; remapped, no flush
    mov byte [VMCB + V_TLBCTL], 0
    call tlb_read
    CHK "TLB_CONTROL 0", ": the ASID's stale translation is used", rax, 0xaaaa
    mov byte [VMCB + V_TLBCTL], 3
    call tlb_read
    CHK "TLB_CONTROL 3", ": this ASID flushed", rax, 0xbbbb
    ; (softvt's TLB is direct-mapped: ASID 2 reads another page, whose
    ; entry cannot evict ASID 1's)
    mov qword [GPT], PAGE_A | 3
    mov dword [VMCB + V_ASID], 2
    mov byte [VMCB + V_TLBCTL], 0
    lea rax, [rel g_tlb2]
    mov [VMCB + V_RIP], rax
    call svm_run
    CHK "ASID 2 runs", ": reads page A", qword [VMCB + V_RAX], 0xaaaa
    mov dword [VMCB + V_ASID], 1
    call tlb_read
    CHK "back to ASID 1", ": its translation kept", rax, 0xbbbb
    mov rax, TLB_LIN
    mov ecx, 2
    invlpga
    call tlb_read
    CHK "INVLPGA for ASID 2", ": ASID 1's kept", rax, 0xbbbb
    mov rax, TLB_LIN
    mov ecx, 1
    invlpga
    call tlb_read
    CHK "INVLPGA for ASID 1", ": dropped", rax, 0xaaaa
    mov qword [GPT], PAGE_B | 3
    mov dword [VMCB + V_ASID], 2
    call tlb_read
    CHK "ASID 2", ": its own walk, not ASID 1's entry", rax, 0xbbbb
    mov dword [VMCB + V_ASID], 1
    ; a global translation (CR4.PGE, G = 1) survives TLB_CONTROL 7 but not 3
    or qword [VMCB + V_CR4], 1 << 7
    mov qword [GPT], PAGE_B | 3 | 0x100
    mov byte [VMCB + V_TLBCTL], 1
    call tlb_read
    CHK "TLB_CONTROL 1", ": everything flushed", rax, 0xbbbb
    mov qword [GPT], PAGE_A | 3
    mov byte [VMCB + V_TLBCTL], 7
    call tlb_read
    CHK "TLB_CONTROL 7", ": global translation kept", rax, 0xbbbb
    mov byte [VMCB + V_TLBCTL], 3
    call tlb_read
    CHK "TLB_CONTROL 3", ": global translation flushed", rax, 0xaaaa

    ; ---- shutdown in the guest (APM 15.12) ----------------------------------------------------
    call init_vmcb64
    mov dword [VMCB + V_IDTR_LIM], 0
    lea rax, [rel g_ud]
    mov [VMCB + V_RIP], rax
    call svm_run
    CHK "triple fault", ": #VMEXIT(SHUTDOWN)", qword [VMCB + V_CODE], 0x7f

    ; ---- a 32-bit protected-mode L2 ----------------------------------------------------------
    call init_vmcb32
    INSN "32-bit CPUID", 0x72, 0, 0, g32_cpuid
    INSN "32-bit IN AL, DX (A32)", 0x7b, (0x80 << 16) | 1 | 0x10 | 0x100, g32_in_end, g32_in
    INSN "32-bit MOV EBX, CR3", 0x03, (1 << 63) | 3, 0, g32_movcr3
    INSN "32-bit INT 42H", 0x75, 0x42, 0, g32_intn
    EXIT "32-bit #UD", 0x46, 0, 0, g32_ud, 0, g32_ud_end
    CHK "32-bit L2", ": EFER saved", qword [VMCB + V_EFER], 1 << 12
    movzx eax, word [VMCB + V_CS + 2]
    CHK "32-bit L2", ": CS attributes (D, G)", rax, 0xc9b
    jmp summary

; ---- L1 helpers (svm_run: l1_svm_vmcb.inc) ----------------------------------------------

; runs g_tsc: r12 = guest TSC - 2^40 - t0, r13 = t1 - t0
tsc_window:
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    call svm_run
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r13, rax
    sub r13, r14
    mov r12, [VMCB + V_RAX]
    mov rax, 1 << 40
    sub r12, rax
    sub r12, r14
    ret

; the TLB test's read: the guest reads [TLB_LIN]; rax = the value
tlb_read:
    lea rax, [rel g_tlb]
    mov [VMCB + V_RIP], rax
    call svm_run
    mov rax, [VMCB + V_RAX]
    ret

; I/O map: 80H, 1235H, 3F8H; MSR map: EFER read, SYSENTER_CS write.
; Guest page tables for TLB_LIN; pages A and B.
setup_maps:
    mov rdi, IOPM
    xor eax, eax
    mov ecx, (0x3000 + 0x2000) / 8
    rep stosq
    or byte [IOPM + 0x80 / 8], 1 << (0x80 % 8)
    or byte [IOPM + 0x1235 / 8], 1 << (0x1235 % 8)
    or byte [IOPM + 0x3f8 / 8], 1 << (0x3f8 % 8)
    or byte [MSRPM + 0x800 + 0x80 * 2 / 8], 1
    or byte [MSRPM + 0x174 * 2 / 8], 1 << ((0x174 * 2 + 1) % 8)
    mov rdi, GPML4
    xor eax, eax
    mov ecx, 4 * 512
    rep stosq
    mov rax, [0x1000]
    mov [GPML4], rax
    mov qword [GPML4 + 8], GPDPT | 3
    mov qword [GPDPT], GPD | 3
    mov qword [GPD], GPT | 3
    mov qword [GPT + 8], PAGE_A | 3
    mov qword [PAGE_A], 0xaaaa
    mov qword [PAGE_B], 0xbbbb
    ret

; guest IDT: 64-bit gates 0DH (#GP: error code to rbx), 51H, 52H (return
; RIP to rbx), 53H, 54H; gate 55H not present
setup_guest_idt:
    mov rdi, GUEST_IDT
    xor eax, eax
    mov ecx, 512
    rep stosq
    GUEST_GATES h_gp, 0x0d, h51, 0x51, h52, 0x52, h53, 0x53, h54, 0x54, h54, 0x55
    mov byte [GUEST_IDT + 0x55 * 16 + 5], 0x0e       ; P = 0
    ret

; A VMCB for a 64-bit L2 on L1's paging, GDT and flat segments, with the
; instruction intercepts the sequence at guest64 takes.
init_vmcb64:
    call init_vmcb_common
    mov word [VMCB + V_CS], 0x08
    mov word [VMCB + V_CS + 2], 0x29b
    mov ecx, MSR_EFER
    rdmsr
    mov [VMCB + V_EFER], eax
    mov rax, cr0
    mov [VMCB + V_CR0], rax
    mov [host_cr0], rax
    mov rax, cr3
    mov [VMCB + V_CR3], rax
    mov rax, cr4
    mov [VMCB + V_CR4], rax
    ret

; A VMCB for a 32-bit protected-mode L2 (no paging) at guest32.
init_vmcb32:
    call init_vmcb_common
    call vmcb_flat32                     ; unpaged 32-bit (l1_svm_vmcb.inc)
    mov qword [VMCB + V_CR3], 0x5000
    mov dword [VMCB + V_IEXC], 1 << 6
    lea rax, [rel guest32]
    mov [VMCB + V_RIP], rax
    ret

init_vmcb_common:
    mov rdi, VMCB
    xor eax, eax
    mov ecx, 512
    rep stosq
    mov dword [VMCB + V_ICR], (1 << 0) | (1 << 3) | (1 << 16)          ; CR0, CR3 reads; CR0 writes
    mov dword [VMCB + V_IDR], (1 << 7) | (1 << 16)                     ; DR7 reads, DR0 writes
    mov dword [VMCB + V_MISC1], 0xffffffc0 & ~(1 << 29) & ~(1 << 30)  ; bits 6-28, 31
    mov dword [VMCB + V_MISC2], 0x3fff                                 ; VMRUN .. XSETBV
    mov qword [VMCB + 0x040], IOPM
    mov qword [VMCB + 0x048], MSRPM
    mov dword [VMCB + V_ASID], 1
    call vmcb_flat_segments
    mov dword [VMCB + V_IDTR_LIM], 0xfff
    mov qword [VMCB + 0x488], GUEST_IDT
    mov qword [VMCB + V_RFLAGS], 2
    mov qword [VMCB + V_RSP], GUEST_STACK
    ret

summary:
    jmp l1_finish

; ---- the 64-bit L2 ---------------------------------------------------------------------
guest64:
g_cpuid:     cpuid
g_cpuid_end:
g_hlt:       hlt
g_hlt_end:
g_rdtsc:     rdtsc
g_rdtsc_end:
g_rdtscp:    rdtscp
g_rdtscp_end:
g_pushf:     pushfq
g_pushf_end:
g_popf:      popfq
g_popf_end:
g_invd:      invd
g_invd_end:
g_wbinvd:    wbinvd
g_wbinvd_end:
g_intn:      int 0x42
g_intn_end:
g_icebp:     db 0xf1
g_icebp_end:
g_pause:     pause
g_pause_end:
g_invlpg:    invlpg [0x123456]
g_invlpg_end:
g_invlpga:   invlpga
g_invlpga_end:
g_in:        in al, 0x80
g_in_end:
             mov dx, 0x1234
g_out:       out dx, ax
g_out_end:
             mov dx, 0x81                   ; not in the map: executes
             out dx, al
             mov dx, 0x3f8
             lea rsi, [rel g_cpuid]
             mov ecx, 3
g_outs:      rep outsb
g_outs_end:
             mov ecx, 0xc0000081            ; STAR: not in the map
             rdmsr
             mov ecx, 0xc0000080
g_rdmsr:     rdmsr
g_rdmsr_end:
             mov ecx, 0x174
g_wrmsr:     wrmsr
g_wrmsr_end:
g_movcr3:    mov rbx, cr3
g_movcr3_end:
g_movdr7:    mov rdx, dr7
g_movdr7_end:
g_movdr0:    mov dr0, rsi
g_movdr0_end:
g_smsw:      smsw ax
g_smsw_end:
g_movcr0r:   mov rax, cr0
g_movcr0r_end:
g_clts:      clts
g_clts_end:
g_lmsw:      lmsw ax
g_lmsw_end:
g_movcr0w:   mov cr0, rcx
g_movcr0w_end:
g_sidt:      sidt [rel gbuf]
g_sidt_end:
g_sgdt:      sgdt [rel gbuf]
g_sgdt_end:
g_sldt:      sldt ax
g_sldt_end:
g_str:       str ax
g_str_end:
g_lidt:      lidt [rel gbuf]
g_lidt_end:
g_lgdt:      lgdt [rel gbuf]
g_lgdt_end:
g_lldt:      lldt ax
g_lldt_end:
g_ltr:       ltr ax
g_ltr_end:
g_vmmcall:   vmmcall
g_vmmcall_end:
             mov eax, VMSAVE_AREA
g_vmload:    vmload
g_vmload_end:
g_vmsave:    vmsave
g_vmsave_end:
g_stgi:      stgi
g_stgi_end:
g_clgi:      clgi
g_clgi_end:
g_vmrun:     vmrun
g_vmrun_end:
g_xsetbv:    xsetbv
g_xsetbv_end:
             mov eax, VMSAVE_AREA
             xor ecx, ecx
             xor edx, edx
g_monitor:   monitor
g_monitor_end:
g_mwait:     mwait
g_mwait_end:
g_iret:      iretq
g_iret_end:
g_rsm:       rsm
g_rsm_end:
             mov ecx, 0x40000000
g_msrout:    rdmsr
g_msrout_end:
             mov dx, 0x3f8
g_in32:      in eax, dx
g_in32_end:
             mov rdx, cr0
             xor rdx, 8                     ; TS only: no exit
             mov cr0, rdx
             xor rdx, 1 << 16               ; WP
g_selcr0:    mov cr0, rdx
g_selcr0_end:
             pause
             pause
g_pause3:    pause
g_pause3_end:
g_ud:        ud2
g_ud_end:
             mov rbx, 0x8000000000000000
g_gp:        mov rax, [rbx]
g_gp_end:
             mov rbx, 0x200000000
g_pf:        mov rax, [rbx]
g_pf_end:
g_int3:      int3
g_int3_end:
             xor ecx, ecx
g_de:        div ecx
g_de_end:
g_end64:     vmmcall

g_mwtest:    xor ecx, ecx
             xor edx, edx
             mwait                          ; not armed: no exit
             mov eax, VMSAVE_AREA
             monitor                        ; not intercepted: arms
g_mwait2:    mwait
g_mwait2_end:
             smsw ax
             xor ax, 8                      ; TS only: no exit
             lmsw ax
             xor ax, 4                      ; EM
g_lmswsel:   lmsw ax
g_lmswsel_end:
             vmmcall

g_idle:      nop
             vmmcall
g_vint:      nop
             nop
             vmmcall
g_tpr:       mov r12, cr8
             nop
g_tpr_vmmcall:
             vmmcall
             mov eax, 1
             mov cr8, rax
             nop
             vmmcall
g_shadow:    inc rbx
             nop
             vmmcall
g_tsc:       rdtsc
             shl rdx, 32
             or rax, rdx
             vmmcall
g_tlb:       mov rax, TLB_LIN
             mov rax, [rax]
             vmmcall
g_tlb2:      mov rax, TLB_LIN + 0x1000
             mov rax, [rax]
             vmmcall

h_gp:        mov rbx, [rsp]
             vmmcall
h51:         mov ebx, 0x51
             vmmcall
h52:         mov rbx, [rsp]
             vmmcall
h53:         mov ebx, 0x53
h53_vmmcall: vmmcall
h54:
h54_vmmcall: vmmcall

; ---- the 32-bit L2 ---------------------------------------------------------------------
bits 32
guest32:
g32_cpuid:   cpuid
g32_cpuid_end:
             mov dx, 0x80
g32_in:      in al, dx
g32_in_end:
g32_movcr3:  mov ebx, cr3
g32_movcr3_end:
g32_intn:    int 0x42
g32_intn_end:
g32_ud:      ud2
g32_ud_end:
             vmmcall
bits 64

; ---- helpers -------------------------------------------------------------------------

%include "l1_checks.inc"
%include "l1_svm_vmcb.inc"
%include "l1_guest_idt.inc"
%include "l1_ring3.inc"

align 8
gbuf:           times 16 db 0
host_cr0:       dq 0
saved_rsp:      dq 0
msg_done:       db "svm_guest: done", 10, 0
