; Bare-metal multiboot test kernel for the PC devices (softvt issue 3):
; serial output by polling and by THR-empty interrupts, the multiboot
; information, fw_cfg (signature, id, CPU count, RAM size, etc/e820, the
; kernel entry), the CMOS memory size, the PIT on IRQ0 through the PIC in
; protected mode with an IDT, pc-testdev's echo register, MMIO window and
; IRQ lines, and isa-debug-exit. It prints one line per check ("ok ..." or
; "FAIL ...") and exits with isa-debug-exit value 0x10 + failures, i.e.
; exit status 33 when every check passed. Runs unchanged on
; qemu-system-x86_64 -kernel ... -device isa-debug-exit,iobase=0xf4,iosize=4
; -device pc-testdev.
%include "common.inc"

MULTIBOOT_HEADER

section .bss
align 16
stack: resb 8192
stack_top:
idt: resq 256
mb_magic: resd 1
mb_info: resd 1
fails: resd 1
ticks: resd 1
ticks_masked: resd 1
tx_pos: resd 1
tx_done: resd 1
testdev_irqs: resd 1
name_buf: resb 56

section .data
FLAT_GDT32
tx_msg: db "irq-tx: sent by the THR-empty interrupt", 10, 0

section .text
DEFINE_SERIAL

global _start
_start:
    mov esp, stack_top
    mov [mb_magic], eax
    mov [mb_info], ebx
    LOAD_FLAT_GDT32
    PRINT "pc_devices: start"
    NEWLINE

    ; ---- multiboot ------------------------------------------------------
    cmp dword [mb_magic], 0x2BADB002
    CHECK e, "multiboot magic"
    mov ebx, [mb_info]
    mov eax, [ebx]
    and eax, 0x24f
    cmp eax, 0x24f
    CHECK e, "multiboot flags (memory, boot device, cmdline, mods, mmap, boot loader name)"
    cmp dword [ebx + 4], 639
    CHECK e, "mem_lower = 639"
    PRINT "mem_upper: "
    mov eax, [ebx + 8]
    call puthex
    NEWLINE
    PRINT "cmdline: "
    mov esi, [ebx + 16]
    call puts
    NEWLINE
    ; the modules (--initrd / -initrd): string and size
    mov ecx, [ebx + 20]
    mov edi, [ebx + 24]
.module:
    test ecx, ecx
    jz .modules_done
    PRINT "module: "
    mov esi, [edi + 8]
    call puts
    PRINT " size "
    mov eax, [edi + 4]
    sub eax, [edi]
    call puthex
    PRINT " first byte "
    mov esi, [edi]
    movzx eax, byte [esi]
    call puthex
    NEWLINE
    add edi, 16
    dec ecx
    jmp .module
.modules_done:
    PRINT "boot loader: "
    mov esi, [ebx + 64]
    call puts
    NEWLINE
    ; the memory map: entries of (size, base, length, type)
    mov esi, [ebx + 48]
    mov edi, esi
    add edi, [ebx + 44]
.mmap:
    cmp esi, edi
    jae .mmap_done
    PRINT "mmap: "
    mov eax, [esi + 8]
    call puthex
    mov eax, [esi + 4]
    call puthex
    mov al, ' '
    call putc
    mov eax, [esi + 16]
    call puthex
    mov eax, [esi + 12]
    call puthex
    mov al, ' '
    call putc
    mov eax, [esi + 20]
    call puthex
    NEWLINE
    add esi, [esi]
    add esi, 4
    jmp .mmap
.mmap_done:

    ; ---- fw_cfg -----------------------------------------------------------
    mov ax, 0x0000
    call fw_select
    call fw_read32
    cmp eax, 'QEMU'
    CHECK e, "fw_cfg signature QEMU"
    mov ax, 0x0001
    call fw_select
    call fw_read32
    test eax, 1
    CHECK nz, "fw_cfg id: traditional interface"
    mov ax, 0x0005
    call fw_select
    call fw_read8
    mov ah, al
    call fw_read8
    xchg al, ah
    cmp ax, 1
    CHECK e, "fw_cfg NB_CPUS = 1"
    mov ax, 0x0003
    call fw_select
    call fw_read32
    PRINT "fw_cfg RAM_SIZE: "
    call puthex
    NEWLINE
    mov ax, 0x0010
    call fw_select
    call fw_read32
    cmp eax, _start
    CHECK e, "fw_cfg KERNEL_ENTRY = _start"
    mov ax, 0x000a
    call fw_select
    call fw_read32
    cmp eax, 0x9500
    CHECK e, "fw_cfg INITRD_ADDR = the multiboot information"
    call fw_e820

    ; ---- CMOS memory size ---------------------------------------------------
    PRINT "cmos: ext "
    mov al, 0x18
    call cmos_read
    mov ah, al
    mov al, 0x17
    call cmos_read
    movzx eax, ax
    call puthex
    PRINT " ext2 "
    mov al, 0x31
    call cmos_read
    mov ah, al
    mov al, 0x30
    call cmos_read
    movzx eax, ax
    call puthex
    PRINT " above16m "
    mov al, 0x35
    call cmos_read
    mov ah, al
    mov al, 0x34
    call cmos_read
    movzx eax, ax
    call puthex
    NEWLINE

    ; ---- IDT, PIC ---------------------------------------------------------
    mov ecx, 0
.fill:
    mov eax, unexpected
    mov [idt + ecx * 8], ax
    mov word [idt + ecx * 8 + 2], 0x08
    mov word [idt + ecx * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + ecx * 8 + 6], ax
    inc ecx
    cmp ecx, 256
    jb .fill
    SET_GATE 0x20, irq0
    SET_GATE 0x24, irq4
    SET_GATE 0x2a, irq10
    SET_GATE 0x27, spurious
    SET_GATE 0x2f, spurious
    lidt [idt_ptr]
    ; ICW1-4: master at 0x20, slave at 0x28, cascade on IR2.
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    in al, 0x21
    cmp al, 0xff
    CHECK e, "PIC mask register reads back"

    ; ---- PIT on IRQ0 ----------------------------------------------------------
    mov al, 0x34               ; counter 0, LSB/MSB, mode 2
    out 0x43, al
    mov al, 0xa9               ; 1193 = 1 kHz
    out 0x40, al
    mov al, 0x04
    out 0x40, al
    mov al, 0x00               ; latch counter 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    cmp ax, 1193
    CHECK be, "PIT counter 0 latched count <= 1193"
    mov al, 0xfe
    out 0x21, al
.wait_ticks:
    cli
    cmp dword [ticks], 10
    jae .ticks_done
    sti
    hlt
    jmp .wait_ticks
.ticks_done:
    ; A tick may land between the handler's IRET and the CLI above (a
    ; slow CPU, e.g. --accel kvm on an emulating host): at least ten, and
    ; none once IRQ0 is masked.
    mov al, 0xff
    out 0x21, al
    mov eax, [ticks]
    mov [ticks_masked], eax
    sti
    nop
    cli
    cmp dword [ticks_masked], 10
    CHECK ae, "ten PIT interrupts through IRQ0"
    mov eax, [ticks]
    cmp eax, [ticks_masked]
    CHECK e, "no IRQ0 once masked in the PIC"

    ; ---- interrupt-driven serial output ------------------------------------------
    mov dword [tx_pos], tx_msg
    mov dx, COM1 + 4
    mov al, 0x0b               ; DTR, RTS, OUT2 (the PC's IRQ enable)
    out dx, al
    mov al, 0xef               ; unmask IRQ4
    out 0x21, al
    mov dx, COM1 + 1
    mov al, 0x02               ; THR-empty interrupt
    out dx, al
.wait_tx:
    cli
    cmp dword [tx_done], 0
    jne .tx_finished
    sti
    hlt
    jmp .wait_tx
.tx_finished:
    mov al, 0xff
    out 0x21, al
    PRINT "ok serial output by THR-empty interrupts"
    NEWLINE

    ; ---- pc-testdev -------------------------------------------------------------
    mov eax, 0x12345678
    out 0xe0, eax
    in eax, 0xe0
    cmp eax, 0x12345678
    CHECK e, "pc-testdev echo register (0xe0)"
    mov al, 0x5a
    out 0xe8, al
    in eax, 0xe0
    cmp eax, 0x1234565a
    CHECK e, "pc-testdev byte echo (0xe8)"
    in al, 0xeb
    cmp al, 0x12
    CHECK e, "pc-testdev byte read (0xeb)"
    mov dword [0xff000010], 0xcafef00d
    cmp dword [0xff000010], 0xcafef00d
    CHECK e, "pc-testdev MMIO window at 0xff000000"
    mov al, 0xfb               ; unmask the cascade
    out 0x21, al
    mov al, 0xfb               ; unmask IRQ10
    out 0xa1, al
    mov dx, 0x200a
    mov al, 1
    out dx, al                 ; raise ISA IRQ10; the handler lowers it
.wait_irq10:
    cli
    cmp dword [testdev_irqs], 0
    jne .irq10_done
    sti
    hlt
    jmp .wait_irq10
.irq10_done:
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    cmp dword [testdev_irqs], 1
    CHECK e, "pc-testdev IRQ line 10 through the slave PIC"

    ; ---- the end ---------------------------------------------------------------
    EXIT_WITH_FAILURES

; ---- helpers ----------------------------------------------------------------
fw_select:                     ; AX = key
    push edx
    mov dx, 0x510
    out dx, ax
    pop edx
    ret
fw_read8:                      ; -> AL
    push edx
    mov dx, 0x511
    in al, dx
    pop edx
    ret
fw_read32:                     ; -> EAX, little-endian
    push ecx
    mov ecx, 4
.b:
    call fw_read8
    ror eax, 8
    loop .b
    pop ecx
    ret
fw_read32be:                   ; -> EAX, big-endian
    push ecx
    mov ecx, 4
.b:
    shl eax, 8
    call fw_read8
    loop .b
    pop ecx
    ret
fw_e820:                       ; find "etc/e820" in the directory and print it
    pushad
    mov ax, 0x0019
    call fw_select
    call fw_read32be
    mov ecx, eax               ; file count
.entry:
    test ecx, ecx
    jz .missing
    call fw_read32be
    mov ebx, eax               ; size
    call fw_read8
    mov dh, al
    call fw_read8
    mov dl, al                 ; select
    call fw_read8
    call fw_read8
    mov edi, name_buf
    push ecx
    mov ecx, 56
.name:
    call fw_read8
    stosb
    loop .name
    pop ecx
    mov esi, name_buf
    mov edi, e820_name
    push ecx
    mov ecx, 9
    repe cmpsb
    pop ecx
    je .found
    dec ecx
    jmp .entry
.found:
    PRINT "ok fw_cfg file etc/e820"
    NEWLINE
    mov ax, dx
    call fw_select
.record:
    cmp ebx, 20
    jb .done
    PRINT "e820: "
    call fw_put64                      ; base
    call fw_put64                      ; length
    call fw_read32                     ; type
    call puthex
    NEWLINE
    sub ebx, 20
    jmp .record
.missing:
    inc dword [fails]
    PRINT "FAIL fw_cfg file etc/e820"
    NEWLINE
.done:
    popad
    ret
; fw_put64: the next 8 bytes of the selected fw_cfg item as a 64-bit
; little-endian number in hex (high dword first) and a space. Clobbers
; eax, esi.
fw_put64:
    call fw_read32
    mov esi, eax
    call fw_read32
    call puthex
    mov eax, esi
    call puthex
    mov al, ' '
    call putc
    ret
cmos_read:                     ; AL = index -> AL
    out 0x70, al
    in al, 0x71
    ret

; ---- interrupt handlers -------------------------------------------------------------
irq0:
    inc dword [ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
irq4:
    pushad
    mov dx, COM1 + 2
    in al, dx
    and al, 0x0f
    cmp al, 0x02               ; THR empty?
    jne .eoi
    mov esi, [tx_pos]
    mov al, [esi]
    test al, al
    jz .finished
    mov dx, COM1
    out dx, al
    inc dword [tx_pos]
    jmp .eoi
.finished:
    mov dx, COM1 + 1
    mov al, 0
    out dx, al
    mov dword [tx_done], 1
.eoi:
    mov al, 0x20
    out 0x20, al
    popad
    iret
irq10:
    inc dword [testdev_irqs]
    push eax
    push edx
    mov dx, 0x200a             ; lower the line before the EOI (it may be level-triggered)
    mov al, 0
    out dx, al
    pop edx
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop eax
    iret
spurious:
    iret
unexpected:
    PRINT "FAIL unexpected interrupt or exception"
    NEWLINE
    mov eax, 0x7f
    out DEBUG_EXIT, eax
    cli
    hlt

section .rodata
e820_name: db "etc/e820", 0
