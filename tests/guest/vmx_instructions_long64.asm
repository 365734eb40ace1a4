; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=0 rbx=117 exit=hlt
;
; An L1 test kernel for the VMX instructions of VMX root operation (SDM
; Vol. 3C 31 "VMX Instruction Reference"): each of VMXON, VMXOFF, VMCLEAR,
; VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME and VMCALL through
; its success and failure outcomes: #UD/#GP, VMfailInvalid (CF = 1),
; VMfailValid (ZF = 1) with the VM-instruction error field (VMREAD 4400H)
; checked against SDM Table 31-1; IA32_FEATURE_CONTROL and the CR0/CR4
; fixed bits (SDM 24.7, 24.8). It needs the flat runner's IA32_FEATURE_CONTROL
; (locked, VMX enabled) and the "intel" model's capability MSRs.
; Each failed check prints "FAIL <name>" on the debug console (port 0xe9).
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000
%define VMCS2        0x102000
%define SHADOW_VMCS  0x103000
%define BADREV_VMCS  0x104000

%define SUCCEED 0
%define INVALID 1
%define VALID   0x40

; CHECK_FLAGS "name", expected CF/ZF (SUCCEED, INVALID, VALID): the
; arithmetic flags right after the instruction before it. The checks
; clobber RAX, RSI, RDI, R8 and R9.
%macro CHECK_FLAGS 2
    pushfq
    pop qword [flags_saved]
    lea rsi, [rel %%n]
    mov edi, %2
    call check_flags
    jmp %%e
%%n: db %1, 0
%%e:
%endmacro

; CHECK_ERROR "name", n: the VM-instruction error field is n.
%macro CHECK_ERROR 2
    lea rsi, [rel %%n]
    mov edi, %2
    call check_error
    jmp %%e
%%n: db %1, " (VM-instruction error)", 0
%%e:
%endmacro

%macro FAIL_VALID 2
    CHECK_FLAGS %1, VALID
    CHECK_ERROR %1, %2
%endmacro

%include "l1_macros.inc"
%include "l1_ring3_defs.inc"


%macro VMREAD_FIELD 1   ; rbx := field %1 (VMREAD must succeed)
    mov eax, %1
    vmread rbx, rax
%endmacro

start:
    call setup_idt
    call setup_user

    ; ---- CPL 3 (SDM: #UD before the CPL check, #GP(0) for CPL > 0) -------------
    USER_FAULT "the ring-3 harness itself", NO_FAULT, nop
    USER_FAULT "VMXON at CPL 3 with CR4.VMXE = 0: #UD", 6, vmxon [ptr_vmxon]

    ; ---- before VMX operation ------------------------------------------------
    mov eax, 1
    cpuid
    shr ecx, 5
    and ecx, 1
    CHECK_EQ "CPUID.1:ECX.VMX = 1", rcx, 1
    mov ecx, 0x480                       ; IA32_VMX_BASIC
    rdmsr
    mov [revision], eax
    and edx, 0x1fff
    CHECK_EQ "IA32_VMX_BASIC region size 4096", rdx, 0x1000
    mov ecx, 0x3a                        ; IA32_FEATURE_CONTROL: locked, VMX outside SMX
    rdmsr
    CHECK_EQ "IA32_FEATURE_CONTROL = 5", rax, 5
    mov ecx, 0x3a
    xor eax, eax
    xor edx, edx
    EXPECT_FAULT "WRMSR IA32_FEATURE_CONTROL locked: #GP", 13, wrmsr
    mov ecx, 0x491                       ; IA32_VMX_VMFUNC: EPTP switching
    rdmsr
    CHECK_EQ "IA32_VMX_VMFUNC = 1", rax, 1
    mov ecx, 0x48a                       ; IA32_VMX_VMCS_ENUM: highest index 25 (19H, TSC_MULTIPLIER 2032H)
    rdmsr
    CHECK_EQ "IA32_VMX_VMCS_ENUM", rax, 0x32
    mov ecx, 0x488                       ; IA32_VMX_CR4_FIXED0 = VMXE
    rdmsr
    CHECK_EQ "IA32_VMX_CR4_FIXED0", rax, 0x2000
    mov ecx, 0x486
    rdmsr
    CHECK_EQ "IA32_VMX_CR0_FIXED0", rax, 0x80000021
    mov ecx, 0x4a0                       ; beyond the VMX MSRs
    EXPECT_FAULT "RDMSR 4A0H: #GP", 13, rdmsr

    ; the VMXON region and the VMCS regions carry the revision identifier
    mov eax, [revision]
    mov [VMXON_REGION], eax
    mov [VMCS1], eax
    mov [VMCS2], eax
    or eax, 0x80000000
    mov [SHADOW_VMCS], eax
    mov dword [BADREV_VMCS], 0x12345

    EXPECT_FAULT "VMXON with CR4.VMXE = 0: #UD", 6, vmxon [ptr_vmxon]
    EXPECT_FAULT "VMCALL outside VMX operation: #UD", 6, vmcall
    EXPECT_FAULT "VMXOFF outside VMX operation: #UD", 6, vmxoff
    EXPECT_FAULT "VMPTRST outside VMX operation: #UD", 6, vmptrst [scratch]
    EXPECT_FAULT "VMREAD outside VMX operation: #UD", 6, vmread rax, rbx
    EXPECT_FAULT "VMLAUNCH outside VMX operation: #UD", 6, vmlaunch

    mov rax, cr4
    or rax, 0x2000                       ; CR4.VMXE
    mov cr4, rax
    USER_FAULT "VMXON at CPL 3: #GP", 13, vmxon [ptr_vmxon]
    USER_FAULT "VMPTRLD at CPL 3 outside VMX operation: #UD", 6, vmptrld [ptr_vmcs1]

    ; VMXON's #GP(0): CR0.NE = 0 is not supported in VMX operation
    mov rax, cr0
    and rax, ~0x20
    mov cr0, rax
    EXPECT_FAULT "VMXON with CR0.NE = 0: #GP", 13, vmxon [ptr_vmxon]
    mov rax, cr0
    or rax, 0x20
    mov cr0, rax

    ; VMXON's VMfailInvalid: alignment, width, revision, shadow indicator
    vmxon [ptr_misaligned]
    CHECK_FLAGS "VMXON misaligned: VMfailInvalid", INVALID
    vmxon [ptr_wide]
    CHECK_FLAGS "VMXON beyond MAXPHYADDR: VMfailInvalid", INVALID
    vmxon [ptr_badrev]
    CHECK_FLAGS "VMXON wrong revision: VMfailInvalid", INVALID
    vmxon [ptr_shadow]
    CHECK_FLAGS "VMXON revision bit 31: VMfailInvalid", INVALID

    vmxon [ptr_vmxon]
    CHECK_FLAGS "VMXON", SUCCEED
    USER_FAULT "VMXON at CPL 3 in VMX root: #GP", 13, vmxon [ptr_vmxon]
    USER_FAULT "VMCALL at CPL 3 in VMX root: #GP", 13, vmcall
    USER_FAULT "VMREAD at CPL 3: #GP", 13, vmread rbx, rdx
    USER_FAULT "VMPTRST at CPL 3: #GP", 13, vmptrst [scratch]
    USER_FAULT "VMXOFF at CPL 3: #GP", 13, vmxoff

    ; ---- VMX root operation, no current VMCS -----------------------------------
    mov rax, cr4
    and rax, ~0x2000
    EXPECT_FAULT "MOV CR4 clearing VMXE in VMX operation: #GP", 13, mov cr4, rax
    mov rax, cr0
    and rax, ~0x20
    EXPECT_FAULT "MOV CR0 clearing NE in VMX operation: #GP", 13, mov cr0, rax

    vmxon [ptr_vmxon]
    CHECK_FLAGS "VMXON in VMX root, no current VMCS: VMfailInvalid", INVALID
    vmcall
    CHECK_FLAGS "VMCALL in VMX root, no current VMCS: VMfailInvalid", INVALID
    mov qword [scratch], 0
    vmptrst [scratch]
    CHECK_FLAGS "VMPTRST", SUCCEED
    CHECK_EQ "VMPTRST without current VMCS: FFFFFFFF_FFFFFFFFH", qword [scratch], -1
    mov eax, 0x681e
    vmread rbx, rax
    CHECK_FLAGS "VMREAD without current VMCS: VMfailInvalid", INVALID
    vmwrite rax, rbx
    CHECK_FLAGS "VMWRITE without current VMCS: VMfailInvalid", INVALID
    vmlaunch
    CHECK_FLAGS "VMLAUNCH without current VMCS: VMfailInvalid", INVALID
    vmresume
    CHECK_FLAGS "VMRESUME without current VMCS: VMfailInvalid", INVALID
    mov rcx, 0x8000000000000000          ; non-canonical
    mov edx, 0x681e
    vmwrite rdx, [rcx]
    CHECK_FLAGS "VMWRITE without current VMCS reads no memory: VMfailInvalid", INVALID
    vmclear [ptr_misaligned]
    CHECK_FLAGS "VMCLEAR misaligned, no current VMCS: VMfailInvalid", INVALID
    vmclear [ptr_vmxon]
    CHECK_FLAGS "VMCLEAR VMXON pointer, no current VMCS: VMfailInvalid", INVALID
    vmptrld [ptr_misaligned]
    CHECK_FLAGS "VMPTRLD misaligned, no current VMCS: VMfailInvalid", INVALID
    vmptrld [ptr_badrev]
    CHECK_FLAGS "VMPTRLD wrong revision, no current VMCS: VMfailInvalid", INVALID

    ; ---- a current VMCS ----------------------------------------------------------
    vmclear [ptr_vmcs1]
    CHECK_FLAGS "VMCLEAR", SUCCEED
    vmptrld [ptr_vmcs1]
    CHECK_FLAGS "VMPTRLD", SUCCEED
    vmptrst [scratch]
    CHECK_EQ "VMPTRST = VMCS1", qword [scratch], VMCS1
    USER_FAULT "VMLAUNCH at CPL 3: #GP", 13, vmlaunch

    vmxon [ptr_vmxon]
    FAIL_VALID "VMXON in VMX root", 15
    vmcall
    FAIL_VALID "VMCALL in VMX root", 1
    vmclear [ptr_misaligned]
    FAIL_VALID "VMCLEAR misaligned", 2
    vmclear [ptr_wide]
    FAIL_VALID "VMCLEAR beyond MAXPHYADDR", 2
    vmclear [ptr_vmxon]
    FAIL_VALID "VMCLEAR VMXON pointer", 3
    vmptrld [ptr_wide]
    FAIL_VALID "VMPTRLD beyond MAXPHYADDR", 9
    vmptrld [ptr_vmxon]
    FAIL_VALID "VMPTRLD VMXON pointer", 10
    vmptrld [ptr_badrev]
    FAIL_VALID "VMPTRLD wrong revision", 11
    vmptrst [scratch]
    CHECK_EQ "a failed VMPTRLD keeps the current VMCS", qword [scratch], VMCS1

    ; VMREAD/VMWRITE: unsupported components (error 12)
    mov eax, 0x0002                      ; posted-interrupt notification vector: not 1-settable
    vmread rbx, rax
    FAIL_VALID "VMREAD POSTED_INTR_NV (no posted interrupts)", 12
    mov eax, 0x4003                      ; the high access of a 32-bit field
    vmread rbx, rax
    FAIL_VALID "VMREAD high access of a 32-bit field", 12
    mov eax, 0x5002                      ; bit 12 reserved
    vmread rbx, rax
    FAIL_VALID "VMREAD reserved encoding bit 12", 12
    mov rax, 0x100004002                 ; bits 63:32 set in 64-bit mode
    vmread rbx, rax
    FAIL_VALID "VMREAD encoding with bit 32 set", 12
    mov eax, 0x2016                      ; posted-interrupt descriptor address
    vmwrite rax, rbx
    FAIL_VALID "VMWRITE POSTED_INTR_DESC_ADDR", 12
    mov qword [scratch], 0x5555
    mov eax, 0x0002
    vmread [scratch], rax
    FAIL_VALID "VMREAD unsupported to memory", 12
    CHECK_EQ "a failed VMREAD writes no memory", qword [scratch], 0x5555
    ; a memory source faults after the VMCS-pointer check and before the
    ; field check (SDM VMWRITE "Description"); a failed VMREAD touches no
    ; memory at all
    mov rcx, 0x8000000000000000
    mov edx, 0x0002
    EXPECT_FAULT "VMWRITE unsupported field from non-canonical memory: #GP", 13, vmwrite rdx, [rcx]
    mov rcx, 0x8000000000000000
    mov edx, 0x0002
    vmread [rcx], rdx
    FAIL_VALID "VMREAD unsupported field to non-canonical memory", 12
    ; read-only fields (error 13: IA32_VMX_MISC bit 29 = 0)
    mov eax, 0x4402                      ; exit reason
    vmwrite rax, rbx
    FAIL_VALID "VMWRITE VM_EXIT_REASON", 13
    mov eax, 0x6400                      ; exit qualification
    vmwrite rax, rbx
    FAIL_VALID "VMWRITE EXIT_QUALIFICATION", 13
    mov eax, 0x2400                      ; guest-physical address (exists: EPT)
    vmwrite rax, rbx
    FAIL_VALID "VMWRITE GUEST_PHYSICAL_ADDRESS", 13

    ; widths and the high access (SDM 25.11.2)
    mov eax, 0x681e                      ; GUEST_RIP, natural width
    mov rbx, 0x1122334455667788
    vmwrite rax, rbx
    CHECK_FLAGS "VMWRITE GUEST_RIP", SUCCEED   ; (the check uses RAX)
    xor ebx, ebx
    mov eax, 0x681e
    vmread rbx, rax
    CHECK_FLAGS "VMREAD GUEST_RIP", SUCCEED
    CHECK_EQ "GUEST_RIP round trip", rbx, 0x1122334455667788
    mov eax, 0x2010                      ; TSC_OFFSET, 64-bit
    mov rbx, 0x1122334455667788
    vmwrite rax, rbx
    VMREAD_FIELD 0x2011
    CHECK_EQ "VMREAD TSC_OFFSET high", rbx, 0x11223344
    mov eax, 0x2011
    mov rbx, 0xffffffffaabbccdd
    vmwrite rax, rbx
    CHECK_FLAGS "VMWRITE TSC_OFFSET high", SUCCEED
    VMREAD_FIELD 0x2010
    CHECK_EQ "TSC_OFFSET after the high write", rbx, 0xaabbccdd55667788
    mov eax, 0x0800                      ; GUEST_ES_SELECTOR, 16-bit
    mov ebx, 0x12345
    vmwrite rax, rbx
    mov rbx, -1
    VMREAD_FIELD 0x0800
    CHECK_EQ "16-bit field keeps bits 15:0", rbx, 0x2345
    mov eax, 0x4004                      ; EXCEPTION_BITMAP, 32-bit
    mov rbx, 0xffffffff12345678
    vmwrite rax, rbx
    mov rbx, -1
    VMREAD_FIELD 0x4004
    CHECK_EQ "32-bit field keeps bits 31:0", rbx, 0x12345678
    mov rax, 0xcafe0000beef
    mov [scratch], rax
    mov eax, 0x6802                      ; GUEST_CR3 from memory
    vmwrite rax, [scratch]
    CHECK_FLAGS "VMWRITE from memory", SUCCEED
    mov qword [scratch2], 0
    mov eax, 0x6802
    vmread [scratch2], rax
    CHECK_FLAGS "VMREAD to memory", SUCCEED
    CHECK_EQ "memory round trip", qword [scratch2], 0xcafe0000beef
    VMREAD_FIELD 0x4400
    CHECK_EQ "VMREAD VM_INSTRUCTION_ERROR", rbx, 13
    mov eax, 0x482e                      ; the preemption timer value exists
    vmread rbx, rax
    CHECK_FLAGS "VMREAD VMX_PREEMPTION_TIMER_VALUE", SUCCEED

    ; VMLAUNCH/VMRESUME instruction checks
    mov ax, ss
    mov ss, ax
    vmlaunch
    FAIL_VALID "VMLAUNCH after MOV SS", 26
    vmresume
    FAIL_VALID "VMRESUME with a clear VMCS", 5

    ; switching VMCSs writes the cached one back and reads the other
    vmclear [ptr_vmcs2]
    vmptrld [ptr_vmcs2]
    CHECK_FLAGS "VMPTRLD VMCS2", SUCCEED
    VMREAD_FIELD 0x681e
    CHECK_EQ "VMCS2 GUEST_RIP is its own (0)", rbx, 0
    vmptrld [ptr_vmcs1]
    VMREAD_FIELD 0x681e
    CHECK_EQ "VMCS1 GUEST_RIP survives the switch", rbx, 0x1122334455667788
    vmclear [ptr_vmcs1]
    CHECK_FLAGS "VMCLEAR the current VMCS", SUCCEED
    vmptrst [scratch]
    CHECK_EQ "VMCLEAR of the current VMCS leaves none", qword [scratch], -1
    vmptrld [ptr_vmcs1]
    VMREAD_FIELD 0x681e
    CHECK_EQ "VMCS1 GUEST_RIP survives VMCLEAR", rbx, 0x1122334455667788

    ; a shadow VMCS (VMCS shadowing is 1-settable): loadable, not launchable
    vmptrld [ptr_shadow]
    CHECK_FLAGS "VMPTRLD shadow VMCS", SUCCEED
    vmlaunch
    CHECK_FLAGS "VMLAUNCH with a shadow VMCS: VMfailInvalid", INVALID
    vmptrld [ptr_vmcs1]

    ; ---- leaving VMX operation -------------------------------------------------------
    vmxoff
    CHECK_FLAGS "VMXOFF", SUCCEED
    EXPECT_FAULT "VMXOFF after VMXOFF: #UD", 6, vmxoff
    EXPECT_FAULT "VMCLEAR after VMXOFF: #UD", 6, vmclear [ptr_vmcs1]
    mov rax, cr4
    and rax, ~0x2000
    mov cr4, rax
    mov rax, cr4
    and eax, 0x2000
    CHECK_EQ "CR4.VMXE clears after VMXOFF", rax, 0

    ; ---- summary ---------------------------------------------------------------------------
    jmp l1_finish

; ---- helpers -------------------------------------------------------------------------

; rsi = name, edi = expected arithmetic-flag bits
check_flags:
    mov rax, [flags_saved]
    and eax, 0x8d5                       ; CF PF AF ZF SF OF
    cmp eax, edi
    jne fail
    jmp pass

; rsi = name, edi = expected VM-instruction error
check_error:
    push rbx
    mov eax, 0x4400
    vmread rbx, rax
    cmp rbx, rdi
    pop rbx
    jne fail
    jmp pass

%include "l1_checks.inc"
%include "l1_ring3.inc"

ptr_vmxon:      dq VMXON_REGION
ptr_vmcs1:      dq VMCS1
ptr_vmcs2:      dq VMCS2
ptr_shadow:     dq SHADOW_VMCS
ptr_badrev:     dq BADREV_VMCS
ptr_misaligned: dq VMCS1 + 8
ptr_wide:       dq 1 << 40                ; MAXPHYADDR of the intel model is 40
revision:       dq 0
flags_saved:    dq 0
saved_rsp:      dq 0
scratch:        dq 0
scratch2:       dq 0
msg_done:       db "vmx_instructions: done", 10, 0
