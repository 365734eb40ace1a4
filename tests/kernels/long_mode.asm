; Bare-metal multiboot test kernel: an ELF32 image holding 64-bit code, as
; QEMU users build them. It switches from the 32-bit multiboot entry to
; long mode (PAE page tables identity-mapping 1 GiB with 2 MiB pages, EFER.LME,
; CR0.PG, a far jump to a 64-bit code segment), sets XCR0 and runs XRSTOR,
; prints from 64-bit code and exits through isa-debug-exit with value 0x21 (exit status 67).
%include "common.inc"

MULTIBOOT_HEADER

section .bss
align 4096
pml4: resb 4096
pdpt: resb 4096
pd: resb 4096
stack: resb 4096
stack_top:
alignb 64
xsave_area: resb 1024

section .data
align 8
gdt:
    dq 0
    dq 0x00af9a000000ffff      ; 0x08 64-bit code
    dq 0x00cf92000000ffff      ; 0x10 data
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt

section .text
bits 32
DEFINE_SERIAL

global _start
_start:
    mov esp, stack_top
    PRINT "long_mode: 32-bit entry"
    NEWLINE
    mov eax, pdpt
    or eax, 3
    mov [pml4], eax
    mov eax, pd
    or eax, 3
    mov [pdpt], eax
    mov ecx, 0
.map:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83               ; present, writable, 2 MiB
    mov [pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jb .map
    ENTER_LONG_MODE 0
    lea rsp, [rel stack_top]
    mov rax, 0x123456789abcdef0
    mov rbx, rax
    shr rbx, 32
    cmp ebx, 0x12345678        ; a 64-bit register really holds 64 bits
    jne .fail
    mov ecx, 0xc0000080
    rdmsr
    test eax, 1 << 10          ; EFER.LMA
    jz .fail
    ; XCR0 = x87 | SSE, then XRSTOR of an image whose XSTATE_BV holds both
    ; (SDM Vol. 1 13.3, 13.8: a bit outside XCR0 would be #GP). Under
    ; --accel kvm an XRSTOR at CPL 0 may be run by softvt's interpreter on
    ; the vCPU's state, which must carry the XCR0 KVM holds.
    mov eax, 1
    cpuid
    bt ecx, 26                 ; CPUID.01H:ECX.XSAVE (QEMU's qemu64 has none)
    jnc .xsave_done
    mov rax, cr4
    or eax, (1 << 18) | (1 << 9) ; OSXSAVE, OSFXSR
    mov cr4, rax
    xor ecx, ecx
    mov eax, 3
    xor edx, edx
    xsetbv
    lea rdi, [rel xsave_area]
    mov dword [rdi + 24], 0x1f80 ; MXCSR
    mov qword [rdi + 512], 3     ; XSTATE_BV: x87, SSE
    mov eax, 3
    xor edx, edx
    xrstor [rdi]
    xor ecx, ecx
    xgetbv
    cmp eax, 3
    jne .fail
.xsave_done:
    lea rsi, [rel msg_ok]
.print:
    lodsb
    test al, al
    jz .exit
    mov dx, COM1
    out dx, al
    jmp .print
.exit:
    mov eax, 0x21
    out DEBUG_EXIT, eax
    hlt
.fail:
    mov eax, 0x7e
    out DEBUG_EXIT, eax
    hlt

section .rodata
msg_ok: db "long_mode: 64-bit code runs, EFER.LMA set", 10, 0
