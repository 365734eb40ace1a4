; SIMD exceptions delivered through a 64-bit IDT (SDM Vol. 1 11.5.4, Vol. 3A
; 2.5 and 13.1-13.4, Table 6-1): an unmasked divide-by-zero raises #XM
; (vector 19, a fault without an error code: the pushed RIP is the DIVPS,
; XMM0 keeps its value, MXCSR gains ZE); with CR4.OSXMMEXCPT = 0 the same
; instruction raises #UD; CR0.TS makes ADDPS raise #NM; CR0.EM makes ADDPS
; raise #UD and FXSAVE raise #NM. Each handler logs (vector, whether the
; pushed RIP is the faulting instruction, RSP at entry) and resumes at R15.
; RSP 0x7ffd8 = 0x80000 - 5 * 8: no error code was pushed.
; expect-mode: long64
; native: skip privileged code (IDT, control registers) cannot run as a host user process
; kvm: skip this host's PVM KVM cannot run it: its instruction emulator fails on LDMXCSR ("instruction emulation failed")
; expect: exit=hlt rbp=0xa0
; expect-mem: 0x30000=130000000000000001000000000000000800000000000000d8ff070000000000
; expect-mem: 0x30020=060000000000000001000000000000000800000000000000d8ff070000000000
; expect-mem: 0x30040=070000000000000001000000000000000800000000000000d8ff070000000000
; expect-mem: 0x30060=060000000000000001000000000000000800000000000000d8ff070000000000
; expect-mem: 0x30080=070000000000000001000000000000000800000000000000d8ff070000000000
; expect-mem: 0x30100=0000803f0000803f0000803f0000803f841d0000841d0000
bits 64
org 0x10000

res equ 0x30000
%define ADDR(l) ((l) - $$ + 0x10000)
%macro GATE 1
    dw ADDR(%1) & 0xffff
    dw 0x08
    db 0
    db 0x8e
    dw (ADDR(%1) >> 16) & 0xffff
    dd 0, 0
%endmacro
; A handler logs 32 bytes at res + rbp: the vector, whether the pushed RIP
; is the faulting instruction (R13), the pushed CS and RSP at entry; then
; it resumes at R15.
%macro HANDLER 2
%1:
    mov qword [res + rbp], %2
    xor r14d, r14d
    cmp [rsp], r13
    sete r14b
    mov [res + rbp + 8], r14
    mov r14, [rsp + 8]
    mov [res + rbp + 16], r14
    mov [res + rbp + 24], rsp
    add ebp, 32
    mov [rsp], r15
    iretq
%endmacro

    lidt [rel idtr]
    mov rsp, 0x80000
    xor ebp, ebp

    ; #XM: DIVPS 1/0 with ZE unmasked.
    ldmxcsr [rel mx_ze]
    movaps xmm0, [rel ones]
    xorps xmm1, xmm1
    lea r13, [rel site1]
    lea r15, [rel after1]
site1:
    divps xmm0, xmm1
after1:
    movups [res + 0x100], xmm0              ; unchanged: 1.0 x 4
    stmxcsr [res + 0x110]                   ; 0x1d80 | ZE = 0x1d84

    ; CR4.OSXMMEXCPT = 0: the same exception is #UD.
    mov rax, cr4
    and eax, ~(1 << 10)
    mov cr4, rax
    lea r13, [rel site2]
    lea r15, [rel after2]
site2:
    divps xmm0, xmm1
after2:
    stmxcsr [res + 0x114]                   ; ZE still set: 0x1d84
    or eax, 1 << 10
    mov cr4, rax
    ldmxcsr [rel mx_default]

    ; CR0.TS: #NM.
    mov rax, cr0
    or eax, 1 << 3
    mov cr0, rax
    lea r13, [rel site3]
    lea r15, [rel after3]
site3:
    addps xmm0, xmm1
after3:
    clts

    ; CR0.EM: ADDPS #UD, FXSAVE #NM.
    mov rax, cr0
    or eax, 1 << 2
    mov cr0, rax
    lea r13, [rel site4]
    lea r15, [rel after4]
site4:
    addps xmm0, xmm1
after4:
    lea r13, [rel site5]
    lea r15, [rel after5]
site5:
    fxsave [rel area]
after5:
    and eax, ~(1 << 2)
    mov cr0, rax
    hlt

    HANDLER ud_handler, 6
    HANDLER nm_handler, 7
    HANDLER xm_handler, 19

align 16
idt:
    times 6 dq 0, 0
    GATE ud_handler                         ; 6
    GATE nm_handler                         ; 7
    times 11 dq 0, 0
    GATE xm_handler                         ; 19
idt_end:
idtr:       dw idt_end - idt - 1
            dq ADDR(idt)
align 16
ones:       dd 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000
mx_ze:      dd 0x1d80
mx_default: dd 0x1f80
align 16
area:       times 512 db 0
