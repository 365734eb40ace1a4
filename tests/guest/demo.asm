; The built-in demo guest (`softvt demo`). Loaded at 0x10000 and entered in
; real mode with CS = DS = ES = SS = 0x1000, IP = 0, SP = 0xfff0 (the flat
; runner's real16 state). It reports each step on the debug console (one
; OUT to port 0xe9 per byte) while it
;   1. switches to protected mode (its own GDT, CR0.PE, a far jump),
;   2. builds 4-level page tables and enters long mode (CR4.PAE, CR3,
;      EFER.LME, CR0.PG, a far jump to a 64-bit code segment),
;   3. installs an IDT and computes the primes below 100 and the first
;      Fibonacci numbers, printed in decimal,
;   4. takes a #DE (DIV by zero) and a #BP (INT3) through its IDT,
;   5. reads the CPUID vendor string,
; and then halts. Manual references: SDM Vol. 3A 9.9 (mode switching),
; 4.5 (4-level paging), 6.14 (64-bit IDT gates and the interrupt stack
; frame), Vol. 2 CPUID leaf 0.
bits 16
org 0x10000

%define REAL(x) ((x) - 0x10000)         ; offset of a label in segment 0x1000

CODE32 equ 0x08
DATA   equ 0x10
CODE64 equ 0x18
PML4   equ 0x20000                       ; page tables (below 1 MiB, not in the image)
STACK  equ 0x90000

; ---- real mode -------------------------------------------------------------
start16:
    cli
    mov si, REAL(msg_real)
    call print16
    lgdt [REAL(gdtr)]
    mov eax, cr0
    or eax, 1                           ; CR0.PE
    mov cr0, eax
    jmp dword CODE32:start32            ; loads CS from the new GDT

print16:                                ; DS:SI -> debug console, until NUL
    lodsb
    test al, al
    jz .done
    out 0xe9, al
    jmp print16
.done:
    ret

; ---- 32-bit protected mode ------------------------------------------------
bits 32
start32:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, STACK
    mov esi, msg_prot
    call print32
    ; Page tables: PML4[0] -> PDPT, PDPT[0] -> PD, PD[0..3] map the first
    ; 8 MiB with 2 MiB pages (P | RW | PS), identity.
    mov edi, PML4
    mov ecx, 3 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PML4 + 0x1003
    mov dword [PML4 + 0x1000], PML4 + 0x2003
    mov edi, PML4 + 0x2000
    mov eax, 0x83
    mov ecx, 4
.pd:
    mov [edi], eax
    add eax, 0x200000
    add edi, 8
    loop .pd
    mov eax, cr4
    or eax, 1 << 5                      ; CR4.PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xc0000080                 ; IA32_EFER
    rdmsr
    or eax, 1 << 8                      ; EFER.LME
    wrmsr
    mov esi, msg_paging
    call print32
    mov eax, cr0
    or eax, 1 << 31                     ; CR0.PG: IA-32e mode becomes active
    mov cr0, eax
    jmp CODE64:start64

print32:                                ; ESI -> debug console, until NUL
    lodsb
    test al, al
    jz .done
    out 0xe9, al
    jmp print32
.done:
    ret

; ---- 64-bit mode ----------------------------------------------------------------
bits 64
start64:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, STACK
    lea rsi, [rel msg_long]
    call print
    call setup_idt
    lea rsi, [rel msg_idt]
    call print

    ; The primes below 100, by trial division.
    lea rsi, [rel msg_primes]
    call print
    mov ebx, 2
.next_candidate:
    mov ecx, 2
.try_divisor:
    mov eax, ecx
    imul eax, ecx
    cmp eax, ebx
    ja .is_prime                        ; no divisor up to sqrt(n)
    mov eax, ebx
    xor edx, edx
    div ecx
    test edx, edx
    jz .not_prime
    inc ecx
    jmp .try_divisor
.is_prime:
    mov eax, ebx
    call print_dec
    mov al, ' '
    out 0xe9, al
.not_prime:
    inc ebx
    cmp ebx, 100
    jb .next_candidate
    call newline

    ; The first 20 Fibonacci numbers.
    lea rsi, [rel msg_fib]
    call print
    xor r8d, r8d                        ; F(0)
    mov r9d, 1                          ; F(1)
    mov r10d, 20
.fib:
    mov rax, r8
    call print_dec
    mov al, ' '
    out 0xe9, al
    lea rax, [r8 + r9]
    mov r8, r9
    mov r9, rax
    dec r10d
    jnz .fib
    call newline

    ; #DE: DIV by zero faults before the division; the handler reports it
    ; and resumes after the 2-byte DIV.
    lea rsi, [rel msg_div]
    call print
    mov eax, 1
    xor edx, edx
    xor ecx, ecx
    div ecx                             ; F7 F1
    lea rsi, [rel msg_resumed]
    call print
    ; #BP: INT3 is a trap; the saved RIP already points after it.
    lea rsi, [rel msg_int3]
    call print
    int3
    lea rsi, [rel msg_resumed]
    call print

    ; CPUID leaf 0: the vendor string is EBX, EDX, ECX.
    xor eax, eax
    cpuid
    lea rdi, [rel vendor]
    mov [rdi], ebx
    mov [rdi + 4], edx
    mov [rdi + 8], ecx
    lea rsi, [rel msg_vendor]
    call print
    lea rsi, [rel vendor]
    call print
    call newline
    lea rsi, [rel msg_bye]
    call print
    hlt
    jmp $ - 1

; ---- the IDT ----------------------------------------------------------------------
; 64-bit interrupt gates (SDM 6.14.1): offset 15:0, selector, IST, type/attr
; 0x8e (present, DPL 0, interrupt gate), offset 31:16, offset 63:32, 0.
setup_idt:
    lea rdi, [rel idt]
    lea rax, [rel de_handler]
    call set_gate                       ; vector 0: #DE
    lea rdi, [rel idt + 3 * 16]
    lea rax, [rel bp_handler]
    call set_gate                       ; vector 3: #BP
    lidt [rel idtr]
    ret

set_gate:                               ; RDI = gate, RAX = handler
    mov [rdi], ax
    mov word [rdi + 2], CODE64
    mov word [rdi + 4], 0x8e00
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    mov dword [rdi + 12], 0
    ret

; Stack on entry (no error code for #DE/#BP): RIP, CS, RFLAGS, RSP, SS.
de_handler:
    push rax
    push rsi
    lea rsi, [rel msg_de]
    call print
    mov rax, [rsp + 16]                 ; the faulting RIP
    call print_hex
    call newline
    add qword [rsp + 16], 2             ; skip the DIV
    pop rsi
    pop rax
    iretq

bp_handler:
    push rax
    push rsi
    lea rsi, [rel msg_bp]
    call print
    mov rax, [rsp + 16]                 ; the RIP after INT3
    call print_hex
    call newline
    pop rsi
    pop rax
    iretq

; ---- output helpers (64-bit) ------------------------------------------------------
print:                                  ; RSI -> debug console, until NUL
    push rax
.loop:
    lodsb
    test al, al
    jz .done
    out 0xe9, al
    jmp .loop
.done:
    pop rax
    ret

newline:
    push rax
    mov al, 10
    out 0xe9, al
    pop rax
    ret

print_dec:                              ; RAX in decimal
    push rax
    push rcx
    push rdx
    push rbx
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div rbx
    push rdx
    inc ecx
    test rax, rax
    jnz .divide
.emit:
    pop rax
    add al, '0'
    out 0xe9, al
    loop .emit
    pop rbx
    pop rdx
    pop rcx
    pop rax
    ret

print_hex:                              ; RAX as 0x followed by 16 hex digits
    push rax
    push rcx
    push rdx
    mov rdx, rax
    mov al, '0'
    out 0xe9, al
    mov al, 'x'
    out 0xe9, al
    mov ecx, 16
.digit:
    rol rdx, 4
    mov eax, edx
    and eax, 0xf
    add al, '0'
    cmp al, '9'
    jbe .emit
    add al, 'a' - '9' - 1
.emit:
    out 0xe9, al
    loop .digit
    pop rdx
    pop rcx
    pop rax
    ret

; ---- data ----------------------------------------------------------------------------
align 8
gdt:
    dq 0                                ; null
    dq 0x00cf9a000000ffff               ; 0x08: 32-bit code, base 0, 4 GiB
    dq 0x00cf92000000ffff               ; 0x10: data, base 0, 4 GiB
    dq 0x00af9a000000ffff               ; 0x18: 64-bit code (L = 1)
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt

align 16
idt:
    times 4 * 16 db 0                   ; vectors 0-3
idt_end:
idtr:
    dw idt_end - idt - 1
    dq idt

vendor: times 13 db 0

msg_real:    db "softvt demo: hello from real mode (CS=0x1000, IP=0)", 10
             db "  loading a GDT and setting CR0.PE...", 10, 0
msg_prot:    db "now in 32-bit protected mode", 10
             db "  building 4-level page tables at 0x20000 (identity, 2 MiB pages)", 10, 0
msg_paging:  db "  CR4.PAE, CR3, EFER.LME set; enabling paging...", 10, 0
msg_long:    db "now in 64-bit long mode", 10, 0
msg_idt:     db "  IDT loaded (#DE and #BP handlers)", 10, 0
msg_primes:  db "primes below 100: ", 0
msg_fib:     db "Fibonacci numbers: ", 0
msg_div:     db "dividing by zero...", 10, 0
msg_de:      db "  #DE (divide error) caught by the IDT handler, faulting RIP=", 0
msg_int3:    db "executing INT3...", 10, 0
msg_bp:      db "  #BP (breakpoint) caught by the IDT handler, return RIP=", 0
msg_resumed: db "  resumed after the exception", 10, 0
msg_vendor:  db "CPUID vendor: ", 0
msg_bye:     db "done; halting.", 10, 0
