; A boot sector that lets QEMU (SeaBIOS) run a softvt flat image: it loads
; the sectors that follow it to 0x10000 and enters the image the way
; `softvt run --flat` does:
;   nasm -f bin -DMODE_REAL16 : real mode, CS = DS = ES = SS = 0x1000,
;                               IP = 0, SP = 0xfff0
;   nasm -f bin -DMODE_PROT32 : 32-bit protected mode, no paging, CS = 0x18
;                               (flat 32-bit code), data segments 0x10,
;                               EIP = ESP = 0x10000
;   nasm -f bin -DMODE_LONG64 : 64-bit mode, flat 64-bit code segment,
;                               the first 4 GiB identity-mapped with 2 MiB
;                               pages, RIP = RSP = 0x10000
; (other registers are not zeroed exactly like the flat runner's; the
; benchmark and the demo do not depend on them). IMAGE_SECTORS is the
; number of 512-byte sectors to load (default 64).
bits 16
org 0x7c00

%ifndef IMAGE_SECTORS
%define IMAGE_SECTORS 64
%endif

    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    ; INT 13h AH=42h: extended read of IMAGE_SECTORS sectors from LBA 1
    ; into 0x1000:0000 (DL = the boot drive, as the BIOS passed it).
    mov si, dap
    mov ah, 0x42
    int 0x13
    jc fail

%ifdef MODE_REAL16
    mov ax, 0x1000
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0xfff0
    xor ax, ax
    xor dx, dx
    xor si, si
    jmp 0x1000:0
%elifdef MODE_PROT32
    lgdt [gdtr]
    mov eax, cr0
    or eax, 0x33                        ; PE | MP | ET | NE, as the flat runner
    mov cr0, eax
    jmp dword 0x18:prot_entry
bits 32
prot_entry:
    mov eax, 0x10
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax
    mov esp, 0x10000
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    push 2
    popfd
    jmp 0x18:0x10000
bits 16
%else
    ; Page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000-0x6fff (four page
    ; directories of 2 MiB pages) identity-map 4 GiB, as the flat runner does.
    xor ax, ax
    mov es, ax
    mov di, 0x1000
    mov cx, 0x6000 / 2
    rep stosw
    mov dword [0x1000], 0x2003
    mov di, 0x2000
    mov eax, 0x3003
.pdpt:
    mov [di], eax
    add eax, 0x1000
    add di, 8
    cmp di, 0x2020
    jb .pdpt
    ; 2048 PD entries: entry i = (i << 21) | 0x83; the high dword holds
    ; bits 32+ of the address (i >> 11 = 0 here for i < 2048).
    mov di, 0x3000
    xor ebx, ebx                        ; address >> 21
.pd:
    mov eax, ebx
    shl eax, 21
    or eax, 0x83
    mov [di], eax
    mov eax, ebx
    shr eax, 11
    mov [di + 4], eax
    add di, 8
    inc ebx
    cmp ebx, 2048
    jb .pd
    lgdt [gdtr]
    mov eax, 0x620                      ; CR4.PAE | OSFXSR | OSXMMEXCPT
    mov cr4, eax
    mov eax, 0x1000
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x901                       ; EFER.LME | NXE | SCE
    wrmsr
    mov eax, cr0
    or eax, 0x80010001                  ; PG | WP | PE
    mov cr0, eax
    jmp dword 0x08:long_entry
bits 64
long_entry:
    mov eax, 0x10
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov rsp, 0x10000
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    push 2
    popfq
    mov rax, 0x10000
    jmp rax
bits 16
%endif

%ifndef MODE_REAL16
align 8
gdt:                                    ; the flat runner's GDT
    dq 0
    dq 0x00af9b000000ffff               ; 0x08: 64-bit code
    dq 0x00cf93000000ffff               ; 0x10: data
    dq 0x00cf9b000000ffff               ; 0x18: 32-bit code
gdtr:
    dw 4 * 8 - 1
    dd gdt
%endif

fail:
    mov al, '!'
    out 0xe9, al
    hlt
    jmp fail

align 4
dap:
    db 0x10, 0                          ; size, reserved
    dw IMAGE_SECTORS                    ; sectors
    dw 0, 0x1000                        ; buffer offset, segment
    dq 1                                ; first LBA

    times 510 - ($ - $$) db 0
    dw 0xaa55
