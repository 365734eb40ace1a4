; expect-mode: long64
; kvm: skip softvt's SVM is the subject; the host KVM (PVM, no nesting) offers no SVM
; native: skip SVM instructions and MSRs need ring 0
; expect: rax=0 exit=hlt
;
; An L1 test kernel for the SVM instructions (AMD APM Vol. 3 VMRUN, VMLOAD,
; VMSAVE, STGI, CLGI, VMMCALL, INVLPGA, SKINIT; Vol. 2 chapter 15). With
; `--cpu amd` (the model with SVM; tests/unit/test_svm.cpp runs it so and
; counts the checks) it walks every instruction through its #UD and #GP
; conditions, the SVM MSRs, a VMLOAD/VMSAVE round trip, and VMRUN failing
; one consistency check at a time with #VMEXIT(VMEXIT_INVALID) (EXITCODE =
; the 64-bit -1) and the host state back. On a model without SVM (the
; guest corpus runs it on the default "intel" model) it checks that every
; SVM instruction is #UD and EFER.SVME and VM_CR do not exist.
; Each failed check prints "FAIL <name>" on the debug console (port 0xe9).
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMCB         0x200000
%define VMCB2        0x201000
%define VMCB_ORIG    0x202000
%define HSAVE        0x203000

%define MSR_EFER     0xc0000080
%define MSR_VM_CR    0xc0010114
%define MSR_HSAVE    0xc0010117

%include "l1_macros.inc"
%include "l1_ring3_defs.inc"



start:
    call setup_idt
    call setup_user
    mov rax, VMCB
    mov ecx, 0                           ; INVLPGA's ASID
    mov eax, 0x80000001
    cpuid
    bt ecx, 2
    jc svm_model

    ; ---- a model without SVM: all #UD, no EFER.SVME, no VM_CR ---------------------------
    mov rax, VMCB
    EXPECT_FAULT "no SVM: VMRUN #UD", 6, vmrun
    EXPECT_FAULT "no SVM: VMLOAD #UD", 6, vmload
    EXPECT_FAULT "no SVM: VMSAVE #UD", 6, vmsave
    EXPECT_FAULT "no SVM: STGI #UD", 6, stgi
    EXPECT_FAULT "no SVM: CLGI #UD", 6, clgi
    EXPECT_FAULT "no SVM: INVLPGA #UD", 6, invlpga
    EXPECT_FAULT "no SVM: SKINIT #UD", 6, skinit
    mov ecx, MSR_EFER
    rdmsr
    bts eax, 12
    EXPECT_FAULT "no SVM: EFER.SVME is reserved (#GP)", 13, wrmsr
    mov ecx, MSR_VM_CR
    EXPECT_FAULT "no SVM: no VM_CR (#GP)", 13, rdmsr
    jmp summary

svm_model:
    ; ---- CPUID ---------------------------------------------------------------------
    mov eax, 0x8000000a
    cpuid
    CHECK_EQ "CPUID 8000000AH EAX: SVM revision 1", rax, 1
    CHECK_EQ "CPUID 8000000AH EBX: 8000H ASIDs", rbx, 0x8000
    CHECK_EQ "CPUID 8000000AH EDX: NP NRIPS TSCRATE CLEAN FLUSHASID DECODE PF PFT VVMSAVE VGIF", rdx, 0x194f9

    ; ---- EFER.SVME = 0: #UD, before the CPL check ----------------------------------------
    mov rax, VMCB
    xor ecx, ecx
    EXPECT_FAULT "SVME=0: VMRUN #UD", 6, vmrun
    EXPECT_FAULT "SVME=0: VMLOAD #UD", 6, vmload
    EXPECT_FAULT "SVME=0: VMSAVE #UD", 6, vmsave
    EXPECT_FAULT "SVME=0: STGI #UD", 6, stgi
    EXPECT_FAULT "SVME=0: CLGI #UD", 6, clgi
    EXPECT_FAULT "SVME=0: INVLPGA #UD", 6, invlpga
    USER_FAULT "SVME=0, CPL 3: VMRUN #UD", 6, vmrun
    EXPECT_FAULT "VMMCALL outside a guest: #UD", 6, vmmcall
    EXPECT_FAULT "SKINIT (not reported): #UD", 6, skinit

    ; ---- MSRs ------------------------------------------------------------------------
    GET_MSR MSR_VM_CR
    CHECK_EQ "VM_CR = 0 (SVM enabled, unlocked)", rax, 0
    EXPECT_FAULT "VM_HSAVE_PA not page aligned: #GP", 13, SET_MSR MSR_HSAVE, HSAVE + 0x10
    EXPECT_FAULT "VM_HSAVE_PA beyond MAXPHYADDR: #GP", 13, SET_MSR MSR_HSAVE, 1 << 40
    EXPECT_FAULT "VM_HSAVE_PA := HSAVE", NO_FAULT, SET_MSR MSR_HSAVE, HSAVE
    GET_MSR MSR_HSAVE
    CHECK_EQ "VM_HSAVE_PA reads back", rax, HSAVE
    EXPECT_FAULT "VM_CR reserved bit 5: #GP", 13, SET_MSR MSR_VM_CR, 0x20
    GET_MSR MSR_EFER
    bts rax, 12
    mov rdx, rax
    shr rdx, 32
    mov ecx, MSR_EFER
    EXPECT_FAULT "EFER.SVME := 1", NO_FAULT, wrmsr
    GET_MSR MSR_EFER
    bt rax, 12
    setc al
    movzx eax, al
    CHECK_EQ "EFER.SVME reads 1", rax, 1
    EXPECT_FAULT "VM_CR.SVMDIS while EFER.SVME = 1: #GP", 13, SET_MSR MSR_VM_CR, 0x10

    ; ---- CPL 3 with SVME = 1: #GP(0) ------------------------------------------------------
    USER_FAULT "CPL 3: VMRUN #GP", 13, vmrun
    USER_FAULT "CPL 3: VMLOAD #GP", 13, vmload
    USER_FAULT "CPL 3: VMSAVE #GP", 13, vmsave
    USER_FAULT "CPL 3: STGI #GP", 13, stgi
    USER_FAULT "CPL 3: CLGI #GP", 13, clgi
    USER_FAULT "CPL 3: INVLPGA #GP", 13, invlpga
    USER_FAULT "CPL 3: VMMCALL #UD", 6, vmmcall

    ; ---- rAX: 4-Kbyte aligned, below MAXPHYADDR ---------------------------------------------
    mov rax, VMCB + 8
    EXPECT_FAULT "VMRUN rAX not aligned: #GP", 13, vmrun
    EXPECT_FAULT "VMLOAD rAX not aligned: #GP", 13, vmload
    EXPECT_FAULT "VMSAVE rAX not aligned: #GP", 13, vmsave
    mov rax, 1 << 40
    EXPECT_FAULT "VMRUN rAX beyond MAXPHYADDR: #GP", 13, vmrun
    EXPECT_FAULT "VMLOAD rAX beyond MAXPHYADDR: #GP", 13, vmload
    EXPECT_FAULT "VMSAVE rAX beyond MAXPHYADDR: #GP", 13, vmsave

    ; ---- STGI, CLGI, INVLPGA at CPL 0 -----------------------------------------------------
    EXPECT_FAULT "CLGI", NO_FAULT, clgi
    EXPECT_FAULT "STGI", NO_FAULT, stgi
    mov rax, 0x400000
    mov ecx, 1
    EXPECT_FAULT "INVLPGA", NO_FAULT, invlpga

    ; ---- VMSAVE / VMLOAD round trip ---------------------------------------------------------
    call vmload_vmsave
    ; ---- VMRUN, one failing check at a time -------------------------------------------------
    call vmrun_checks
    jmp summary

; VMSAVE the current state (to restore it), VMLOAD a VMCB with known
; values, check them in the registers, VMSAVE them elsewhere and compare
; the fields, VMLOAD the original back.
vmload_vmsave:
    mov rax, VMCB_ORIG
    vmsave
    mov rdi, VMCB
    call zero_page
    mov rdi, VMCB
    mov word [rdi + 0x440], 0x10         ; FS: selector, attributes (data, P), limit, base
    mov word [rdi + 0x442], 0x93
    mov dword [rdi + 0x444], 0xfffff
    mov rax, 0x1111222233330000
    mov [rdi + 0x448], rax
    mov word [rdi + 0x450], 0x10         ; GS
    mov word [rdi + 0x452], 0x93
    mov dword [rdi + 0x454], 0xffff
    mov rax, 0xffff800000001000
    mov [rdi + 0x458], rax
    mov word [rdi + 0x470], 0x38         ; LDTR
    mov word [rdi + 0x472], 0x82
    mov dword [rdi + 0x474], 0x2f
    mov qword [rdi + 0x478], 0x8000
    mov word [rdi + 0x490], 0x30         ; TR (busy 64-bit TSS)
    mov word [rdi + 0x492], 0x8b
    mov dword [rdi + 0x494], 0x67
    mov qword [rdi + 0x498], 0x7000
    mov rax, 0xffff888000000000
    mov [rdi + 0x620], rax               ; KernelGSbase
    mov rax, 0x0023001000000000
    mov [rdi + 0x600], rax               ; STAR
    mov rax, 0xffffffff81000000
    mov [rdi + 0x608], rax               ; LSTAR
    mov rax, 0xffffffff81000040
    mov [rdi + 0x610], rax               ; CSTAR
    mov qword [rdi + 0x618], 0x47700     ; SFMASK
    mov qword [rdi + 0x628], 0x10        ; SYSENTER_CS
    mov rax, 0xffffc90000001000
    mov [rdi + 0x630], rax               ; SYSENTER_ESP
    mov rax, 0xffffffff81000080
    mov [rdi + 0x638], rax               ; SYSENTER_EIP
    mov rax, VMCB
    vmload
    GET_MSR 0xc0000100
    CHECK_EQ "VMLOAD: FS base", rax, [VMCB + 0x448]
    GET_MSR 0xc0000101
    CHECK_EQ "VMLOAD: GS base", rax, [VMCB + 0x458]
    GET_MSR 0xc0000102
    CHECK_EQ "VMLOAD: KernelGSbase", rax, [VMCB + 0x620]
    GET_MSR 0xc0000081
    CHECK_EQ "VMLOAD: STAR", rax, [VMCB + 0x600]
    GET_MSR 0xc0000082
    CHECK_EQ "VMLOAD: LSTAR", rax, [VMCB + 0x608]
    GET_MSR 0xc0000083
    CHECK_EQ "VMLOAD: CSTAR", rax, [VMCB + 0x610]
    GET_MSR 0xc0000084
    CHECK_EQ "VMLOAD: SFMASK", rax, [VMCB + 0x618]
    GET_MSR 0x174
    CHECK_EQ "VMLOAD: SYSENTER_CS", rax, [VMCB + 0x628]
    GET_MSR 0x175
    CHECK_EQ "VMLOAD: SYSENTER_ESP", rax, [VMCB + 0x630]
    GET_MSR 0x176
    CHECK_EQ "VMLOAD: SYSENTER_EIP", rax, [VMCB + 0x638]
    xor eax, eax
    mov ax, fs
    CHECK_EQ "VMLOAD: FS selector", rax, 0x10
    xor eax, eax
    str ax
    CHECK_EQ "VMLOAD: TR selector", rax, 0x30
    xor eax, eax
    sldt ax
    CHECK_EQ "VMLOAD: LDTR selector", rax, 0x38
    xor eax, eax
    mov ax, cs
    CHECK_EQ "VMLOAD leaves CS", rax, 0x08
    ; VMSAVE to a page of 0xa5: the listed fields equal VMCB's, the rest untouched
    mov rdi, VMCB2
    mov rax, 0xa5a5a5a5a5a5a5a5
    mov ecx, 512
    rep stosq
    mov rax, VMCB2
    vmsave
    xor r10d, r10d                       ; differing listed qwords
    lea r11, [rel saved_offsets]
.cmp:
    mov rcx, [r11]
    test rcx, rcx
    jz .cmp_done
    mov rax, [VMCB + rcx]
    cmp rax, [VMCB2 + rcx]
    setne al
    movzx eax, al
    add r10, rax
    add r11, 8
    jmp .cmp
.cmp_done:
    CHECK_EQ "VMSAVE stores the VMLOADed state", r10, 0
    mov rax, 0xa5a5a5a5a5a5a5a5
    CHECK_EQ "VMSAVE leaves RAX's field", qword [VMCB2 + 0x5f8], rax
    CHECK_EQ "VMSAVE leaves CS", qword [VMCB2 + 0x410], rax
    CHECK_EQ "VMSAVE leaves EXITCODE", qword [VMCB2 + 0x70], rax
    CHECK_EQ "VMSAVE leaves CR3", qword [VMCB2 + 0x550], rax
    mov rax, VMCB_ORIG
    vmload
    xor eax, eax
    str ax
    CHECK_EQ "VMLOAD of the saved state: TR back", rax, 0x30
    GET_MSR 0xc0000082
    CHECK_EQ "VMLOAD of the saved state: LSTAR back", rax, 0
    ret

; rdi = page: zeroed
zero_page:
    xor eax, eax
    mov ecx, 512
    rep stosq
    ret

; A valid VMCB at VMCB for a 64-bit guest on this kernel's state.
build_vmcb:
    mov rdi, VMCB
    call zero_page
    mov rdi, VMCB
    mov dword [rdi + 0x10], 1            ; intercept VMRUN
    mov qword [rdi + 0x40], 0x300000     ; IOPM_BASE_PA
    mov qword [rdi + 0x48], 0x304000     ; MSRPM_BASE_PA
    mov dword [rdi + 0x58], 1            ; ASID
    mov word [rdi + 0x410], 0x08         ; CS: 64-bit code
    mov word [rdi + 0x412], 0x29b
    mov dword [rdi + 0x414], 0xffffffff
    mov word [rdi + 0x400], 0x10         ; ES
    mov word [rdi + 0x402], 0x93
    mov word [rdi + 0x420], 0x10         ; SS
    mov word [rdi + 0x422], 0x93
    mov word [rdi + 0x430], 0x10         ; DS
    mov word [rdi + 0x432], 0x93
    mov ecx, MSR_EFER
    rdmsr
    mov [rdi + 0x4d0], eax               ; EFER (SVME set)
    mov rax, cr4
    mov [rdi + 0x548], rax
    mov rax, cr3
    mov [rdi + 0x550], rax
    mov rax, cr0
    mov [rdi + 0x558], rax
    mov qword [rdi + 0x560], 0x400       ; DR7
    mov eax, 0xffff0ff0
    mov [rdi + 0x568], rax               ; DR6
    mov qword [rdi + 0x570], 2           ; RFLAGS
    mov qword [rdi + 0x5d8], 0x9000      ; RSP
    ret

; For each row of vmrun_table: a valid VMCB with the row's qword changed
; ((q & and) | or), VMRUN; it must come back as #VMEXIT(VMEXIT_INVALID):
; EXITCODE = -1 (64 bits), RAX and RSP the host's.
vmrun_checks:
    lea r12, [rel vmrun_table]
.row:
    cmp qword [r12], -1
    je .done
    call build_vmcb
    mov rcx, [r12]
    mov rax, [VMCB + rcx]
    and rax, [r12 + 8]
    or rax, [r12 + 16]
    mov [VMCB + rcx], rax
    mov r13, rsp
    clgi
    mov rax, VMCB
    vmrun
    mov r14, rax
    stgi
    mov r8, [VMCB + 0x70]
    mov r9, -1
    mov rsi, [r12 + 24]
    call check_eq
    mov r8, r14
    mov r9, VMCB
    mov rsi, [r12 + 24]
    call check_eq
    mov r8, rsp
    mov r9, r13
    mov rsi, [r12 + 24]
    call check_eq
    add r12, 32
    jmp .row
.done:
    ret

summary:
    jmp l1_finish

; ---- helpers -------------------------------------------------------------------------

%include "l1_checks.inc"
%include "l1_ring3.inc"

; the VMCB qwords VMSAVE stores (FS, GS, LDTR, TR: 2 each; the MSRs)
saved_offsets:  dq 0x440, 0x448, 0x450, 0x458, 0x470, 0x478, 0x490, 0x498
                dq 0x620, 0x600, 0x608, 0x610, 0x618, 0x628, 0x630, 0x638, 0
; VMRUN rows: VMCB offset of a qword, AND mask, OR value, name (APM 15.5.1)
%macro ROW 4
                dq %1, %2, %3, %%n
    [section .rodata_names]
%%n:            db "VMRUN check ", %4, ": VMEXIT_INVALID", 0
    __SECT__
%endmacro
vmrun_table:
    ROW 0x4d0, ~(1 << 12), 0, "EFER.SVME = 0"
    ROW 0x558, -1, 1 << 29, "CR0.CD = 0, CR0.NW = 1"
    ROW 0x558, -1, 1 << 32, "CR0[63:32]"
    ROW 0x550, -1, 1 << 40, "CR3 MBZ"
    ROW 0x548, -1, 1 << 22, "CR4 MBZ (PKE)"
    ROW 0x568, -1, 1 << 32, "DR6[63:32]"
    ROW 0x560, -1, 1 << 63, "DR7[63:32]"
    ROW 0x4d0, -1, 1 << 14, "EFER MBZ (FFXSR)"
    ROW 0x548, ~(1 << 5), 0, "LME, PG, PAE = 0"
    ROW 0x558, ~1, 0, "LME, PG, PE = 0"
    ROW 0x410, -1, 0x400 << 16, "LME, PG, PAE, CS.L, CS.D"
    ROW 0x010, ~1, 0, "VMRUN intercept clear"
    ROW 0x048, 0, (1 << 40) - 0x1000, "MSRPM beyond MAXPHYADDR"
    ROW 0x040, 0, (1 << 40) - 0x2000, "IOPM beyond MAXPHYADDR"
    ROW 0x0a8, 0, 0x80000302, "EVENTINJ exception vector 2"
    ROW 0x0a8, 0, 0x80000520, "EVENTINJ type 5"
    ROW 0x058, ~0xffffffff, 0, "ASID = 0"
                dq -1
ptr_vmcb:       dq VMCB
saved_rsp:      dq 0
msg_done:       db "svm_instructions: done", 10, 0
