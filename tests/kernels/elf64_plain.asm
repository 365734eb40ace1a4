; A plain ELF64 executable without a multiboot header: softvt enters it in
; 64-bit mode with the first 4 GiB identity-mapped. It checks that it runs
; in long mode with paging, prints over COM1 and exits through
; isa-debug-exit with value 0x31 (exit status 99).
bits 64
%define COM1 0x3f8

section .text
global _start
_start:
    mov rax, cr0
    bt rax, 31                 ; paging on
    jnc .fail
    mov ecx, 0xc0000080
    rdmsr
    bt eax, 10                 ; EFER.LMA
    jnc .fail
    lea rsi, [rel msg]
.print:
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    lodsb
    test al, al
    jz .exit
    mov dx, COM1
    out dx, al
    jmp .print
.exit:
    mov eax, 0x31
    out 0xf4, eax
    hlt
.fail:
    mov eax, 0x7e
    out 0xf4, eax
    hlt

section .rodata
msg: db "elf64_plain: entered in 64-bit mode", 10, 0
