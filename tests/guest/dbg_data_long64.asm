; expect-mode: long64
; kvm: skip this host's PVM KVM runs CPL0 code in its instruction emulator, which checks no data or I/O breakpoints (no #DB at all)
; native: skip privileged code (IDT, debug registers) cannot run as a host user process
; expect: r8=0x3 r11=0x2 r12=0x4 r13=0x1 r14=0x8 exit=hlt
;
; Data and I/O breakpoints in 64-bit mode (SDM Vol. 3B 17.2.5, 17.3.1.2):
; a write breakpoint of 4 bytes on DR1 hit by a store that overlaps it
; (not by a read, not by a store beside it); a write breakpoint on DR0
; inside REP STOSB (a trap after the matching iteration, RIP still on the
; instruction, RF = 1 pushed); an I/O breakpoint on DR3 with CR4.DE.
; Results: R8 = #DB count, R11 = DR6 B-bits of the store (B1), R12 = RCX
; at the REP trap, R13 = the REP trap pushed RF, R14 = DR6 B-bits of OUT
; (B3).
bits 64
org 0x10000

%include "dbg_idt.inc"                   ; ADDR, DB_START, DB_IDT

start:
    DB_START

    ; Write breakpoint, DR1 = 0x70005 with LEN 4 covers 0x70004-0x70007.
    mov rax, 0x70005
    mov dr1, rax
    mov rax, 0xd00404             ; L1, R/W1 = 01, LEN1 = 11
    mov dr7, rax
    mov dword [0x70008], 1        ; outside: no trap
    mov eax, [0x70004]            ; a read: no trap for R/W = 01
    mov word [0x70006], 2         ; overlaps: trap
    mov r11, [last_dr6]
    and r11, 0xf

    ; REP STOSB with a write breakpoint on its fourth byte.
    mov rax, 0x70043
    mov dr0, rax
    mov rax, 0x10401              ; L0, R/W0 = 01, LEN0 = 00
    mov dr7, rax
    mov rdi, 0x70040
    mov rcx, 8
    mov al, 0x5a
    rep stosb
    mov r12, [last_rcx]
    mov r13, [last_rflags]
    shr r13, 16
    and r13, 1

    ; I/O breakpoint on port 0x80 (CR4.DE = 1).
    mov rax, cr4
    or rax, 8
    mov cr4, rax
    mov rax, 0x80
    mov dr3, rax
    mov rax, 0x20000440           ; L3, R/W3 = 10, LEN3 = 00
    mov dr7, rax
    out 0x80, al
    mov r14, [last_dr6]
    and r14, 0xf
    xor eax, eax
    mov dr7, rax
    hlt

%include "dbg_db_log.inc"
