; The L2 -> L1 -> L2 round trip of a CPUID VM exit, ITERATIONS times: an
; L1 in 64-bit mode enters VMX operation and launches an L2 that loops on
; CPUID; the L1's exit handler counts the exit, advances the guest RIP by
; the exit's instruction length and resumes. Each round trip executes the
; same guest instructions (L2: CPUID, JMP; L1: the handler below).
; Runs under `softvt run --flat --mode long64` (ends with HLT) and, built
; with -DBOCHS_EXIT, under Bochs booted by bench/qemu_boot.asm (ends by
; writing "Shutdown" to Bochs's shutdown port 8900H).
; The debug console (port 0E9H) gets "vmx-roundtrip: done" or a reason.
bits 64
org 0x10000

%ifndef ITERATIONS
%define ITERATIONS 100000
%endif

%define VMXON_REGION 0x100000
%define VMCS_REGION  0x101000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

%macro VMW 2                              ; field := value
    mov rdx, %2
    mov eax, %1
    vmwrite rax, rdx
%endmacro

start:
    ; Firmware may leave IA32_FEATURE_CONTROL unlocked (Bochs's BIOS does):
    ; lock it with VMX outside SMX enabled (SDM 24.7).
    mov ecx, 0x3a
    rdmsr
    test al, 1
    jnz .locked
    mov eax, 5
    xor edx, edx
    wrmsr
.locked:
    lea rax, [rel tss]
    mov [rel gdt_tss + 2], ax
    shr rax, 16
    mov [rel gdt_tss + 4], al
    mov [rel gdt_tss + 7], ah
    shr rax, 16
    mov [rel gdt_tss + 8], eax
    lgdt [rel gdtr]
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    push 0x08
    lea rax, [rel .cs]
    push rax
    retfq
.cs:
    mov ax, 0x30
    ltr ax
    mov ecx, 0x480                        ; IA32_VMX_BASIC
    rdmsr
    mov [VMXON_REGION], eax
    mov [VMCS_REGION], eax
    bt edx, 55 - 32                       ; the TRUE_ control MSRs exist
    jnc .plain
    mov dword [rel ctl_msr_base], 0x48d
.plain:
    mov rax, cr0
    or rax, 1 << 5                        ; CR0.NE: fixed to 1 in VMX operation
    mov cr0, rax
    mov rax, cr4
    or rax, 1 << 13                       ; CR4.VMXE
    mov cr4, rax
    vmxon [rel ptr_vmxon]
    jbe fail
    vmclear [rel ptr_vmcs]
    vmptrld [rel ptr_vmcs]
    call build_vmcs
    mov [rel saved_rsp], rsp
    vmlaunch
    jmp fail

; The exit handler of every round trip.
exit_handler:
    dec qword [rel remaining]
    jz done
    mov eax, 0x681e                       ; guest RIP
    vmread rbx, rax
    mov eax, 0x440c                       ; VM-exit instruction length
    vmread rcx, rax
    add rbx, rcx
    mov eax, 0x681e
    vmwrite rax, rbx
    vmresume
    jmp fail

done:
    mov eax, 0x4402                       ; exit reason: must be CPUID (10)
    vmread rbx, rax
    cmp ebx, 10
    jne fail
    vmxoff
    lea rsi, [rel msg_done]
    jmp finish
fail:
    lea rsi, [rel msg_fail]
finish:
    mov dx, 0xe9
.print:
    lodsb
    test al, al
    jz .end
    out dx, al
    jmp .print
.end:
%ifdef BOCHS_EXIT
    mov dx, 0x8900
    lea rsi, [rel msg_shutdown]
.shut:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .shut
%endif
.halt:
    hlt
    jmp .halt

guest_code:
    cpuid
    jmp guest_code

; reads control MSR number [ctl_msr_base] + ecx into eax (its must-be-1 bits)
ctl_must_be_1:
    add ecx, [rel ctl_msr_base]
    rdmsr
    ret

build_vmcs:
    xor ecx, ecx                          ; pin-based
    call ctl_must_be_1
    VMW 0x4000, rax
    mov ecx, 1                            ; primary processor-based
    call ctl_must_be_1
    VMW 0x4002, rax
    mov ecx, 2                            ; VM-exit: host address-space size
    call ctl_must_be_1
    or eax, 1 << 9
    VMW 0x400c, rax
    mov ecx, 3                            ; VM-entry: IA-32e mode guest
    call ctl_must_be_1
    or eax, 1 << 9
    VMW 0x4012, rax
    VMW 0x2800, -1                        ; VMCS link pointer
    VMW 0x400a, 0                         ; CR3-target count
    mov rbx, cr0
    VMW 0x6c00, rbx
    VMW 0x6800, rbx
    mov rbx, cr3
    VMW 0x6c02, rbx
    VMW 0x6802, rbx
    mov rbx, cr4
    VMW 0x6c04, rbx
    VMW 0x6804, rbx
    lea rbx, [rel gdt]
    VMW 0x6c0c, rbx                       ; host GDTR base
    VMW 0x6816, rbx                       ; guest GDTR base
    VMW 0x4810, gdt_end - gdt - 1
    lea rbx, [rel tss]
    VMW 0x6c0a, rbx                       ; host TR base
    VMW 0x6814, rbx                       ; guest TR base
    VMW 0x6c14, HOST_STACK
    lea rbx, [rel exit_handler]
    VMW 0x6c16, rbx
    VMW 0x681a, 0x400                     ; guest DR7
    VMW 0x681c, GUEST_STACK
    lea rbx, [rel guest_code]
    VMW 0x681e, rbx
    VMW 0x6820, 2                         ; guest RFLAGS
    lea rsi, [rel fields]                 ; {field, value} pairs, 0-terminated
.next:
    mov eax, [rsi]
    test eax, eax
    jz .done
    mov edx, [rsi + 4]
    vmwrite rax, rdx
    add rsi, 8
    jmp .next
.done:
    ret

align 4
fields:
    dd 0x0c00, 0x10, 0x0c02, 0x08, 0x0c04, 0x10, 0x0c06, 0x10     ; host ES CS SS DS
    dd 0x0c08, 0x10, 0x0c0a, 0x10, 0x0c0c, 0x30                   ; host FS GS TR
    dd 0x0800, 0x10, 0x0802, 0x08, 0x0804, 0x10, 0x0806, 0x10     ; guest ES CS SS DS
    dd 0x0808, 0x10, 0x080a, 0x10, 0x080e, 0x30                   ; guest FS GS TR
    dd 0x4800, -1, 0x4802, -1, 0x4804, -1, 0x4806, -1, 0x4808, -1, 0x480a, -1  ; limits
    dd 0x480e, 0x67                                                ; TR limit
    dd 0x4814, 0xc093, 0x4816, 0xa09b, 0x4818, 0xc093, 0x481a, 0xc093  ; ES CS SS DS rights
    dd 0x481c, 0xc093, 0x481e, 0xc093                             ; FS GS rights
    dd 0x4820, 0x10000                                            ; LDTR unusable
    dd 0x4822, 0x8b                                               ; TR: busy 64-bit TSS
    dd 0x4812, 0xfff                                              ; guest IDTR limit
    dd 0

align 8
gdtr:       dw gdt_end - gdt - 1
            dq gdt
align 8
gdt:        dq 0
            dq 0x00af9b000000ffff         ; 08H: 64-bit code
            dq 0x00cf93000000ffff         ; 10H: data
            dq 0, 0, 0
gdt_tss:    dq 0x0000890000000067         ; 30H: 64-bit TSS (base set at run time)
            dq 0
gdt_end:
tss:        times 104 db 0
ptr_vmxon:  dq VMXON_REGION
ptr_vmcs:   dq VMCS_REGION
saved_rsp:  dq 0
remaining:  dq ITERATIONS + 1             ; + the exit that ends the run
ctl_msr_base: dd 0x481
msg_done:   db "vmx-roundtrip: done", 10, 0
msg_fail:   db "vmx-roundtrip: a VMX instruction failed or an unexpected exit", 10, 0
msg_shutdown: db "Shutdown", 0
