; expect-mode: real16
; native: skip privileged code (descriptor tables, IDT, control registers) cannot run as a host user process
; expect: rax=0x5aa5 rbx=0x20 rcx=0x40 rdx=0x10 rsi=0x1000 exit=hlt
;
; Real mode -> protected mode (32-bit) -> IA-32e mode (64-bit) ->
; compatibility mode -> protected mode -> 16-bit protected mode -> real
; mode (SDM Vol. 3A 9.9, 9.8.5). Markers: RBX = 0x20 set in 32-bit
; protected mode, RCX = 0x40 set in 64-bit mode, RDX = 0x10 set in 16-bit
; protected mode, RAX = 0x5aa5 read back in real mode, RSI = CS in real mode.
bits 16
org 0
    lgdt [gdtr]
    mov eax, 0x60000011           ; PE (CD/NW as after reset)
    mov cr0, eax
    jmp dword 0x18:pm32 + 0x10000

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7f000
    mov ebx, 0x20
    ; 4-level paging: identity-map the first 2 MiB with one 2-MiB page
    mov dword [0x71000], 0x72003
    mov dword [0x71004], 0
    mov dword [0x72000], 0x73003
    mov dword [0x72004], 0
    mov dword [0x73000], 0x83
    mov dword [0x73004], 0
    mov eax, 0x20                 ; CR4.PAE
    mov cr4, eax
    mov eax, 0x71000
    mov cr3, eax
    mov ecx, 0xc0000080           ; EFER.LME
    mov eax, 0x100
    mov edx, 0
    wrmsr
    mov eax, 0xe0000011           ; PG: IA-32e mode becomes active
    mov cr0, eax
    jmp 0x08:lm64 + 0x10000

bits 64
lm64:
    mov ecx, 0x40
    jmp far [rel to_compat]
to_compat:
    dq compat + 0x10000
    dw 0x18

bits 32
compat:
    mov eax, 0x60000011           ; clear PG: leaves IA-32e mode (LMA = 0)
    mov cr0, eax
    mov esi, ecx
    mov ecx, 0xc0000080
    mov eax, 0
    mov edx, 0
    wrmsr                         ; LME = 0
    mov ecx, esi
    jmp 0x20:pm16                 ; 16-bit code, base 0x10000

bits 16
pm16:
    mov ax, 0x28                  ; 16-bit data, base 0x10000, limit 64 KiB
    mov ds, ax
    mov ss, ax
    mov dx, 0x10
    mov eax, 0x60000010           ; PE = 0
    mov cr0, eax
    jmp 0x1000:real

real:
    mov ax, 0x1000
    mov ds, ax
    mov ss, ax
    mov sp, 0xfff0
    mov word [0x400], 0x5aa5
    mov eax, 0
    mov ax, [0x400]
    mov si, cs
    hlt

align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff         ; 0x08 64-bit code
    dq 0x00cf93000000ffff         ; 0x10 flat data
    dq 0x00cf9b000000ffff         ; 0x18 32-bit code
    dq 0x00009b010000ffff         ; 0x20 16-bit code, base 0x10000
    dq 0x000093010000ffff         ; 0x28 16-bit data, base 0x10000
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dd gdt + 0x10000
