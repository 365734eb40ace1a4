; A fixed integer workload for bench/interp_speed.sh: a loop of exactly 20
; instructions per iteration mixing ALU operations, loads and stores to a
; 2 KiB table, a data-dependent branch (both paths have the same length)
; and the loop branch. ITERATIONS (default 5,000,000) iterations execute
; 20 * ITERATIONS + 9 instructions (8 of setup and the HLT), about 100
; million.
;
; The same source builds three ways:
;   nasm -f bin                 a long64 flat image for `softvt run --flat`
;                               (and for QEMU, after bench/qemu_boot.asm);
;                               ends with HLT
;   nasm -f bin -DQEMU_EXIT     the same, but writes 0 to port 0xf4 (QEMU's
;                               isa-debug-exit) before the HLT
;   nasm -f elf64 -DNATIVE      a Linux executable running the same loop
;                               natively, ending with exit(0)
%ifndef ITERATIONS
%define ITERATIONS 5000000
%endif

bits 64
%ifdef NATIVE
section .text
global _start
_start:
%else
org 0x10000
%endif

    ; setup: 8 instructions
    mov ecx, ITERATIONS
    lea rsi, [rel table]
    mov ebx, 1
    xor edx, edx
    xor r9d, r9d
    xor eax, eax
    test ecx, ecx
    jz .done                            ; (ITERATIONS = 0: the empty run)
.loop:
    mov edi, ecx                        ;  1
    and edi, 255                        ;  2
    mov rax, [rsi + rdi * 8]            ;  3 load
    add rax, rbx                        ;  4
    xor rax, rdx                        ;  5
    mov [rsi + rdi * 8], rax            ;  6 store
    lea rbx, [rbx + rax * 2 + 1]        ;  7
    rol rbx, 7                          ;  8
    sub rdx, rax                        ;  9
    cmp rax, rbx                        ; 10
    jb .below                           ; 11 data-dependent branch
    add r9, 1                           ; 12
    jmp .join                           ; 13
.below:
    sub r9, 3                           ; 12
    xor r10, r9                         ; 13
.join:
    mov r10, [rsi + 8]                  ; 14 load
    add r10, r9                         ; 15
    mov [rsi + 16], r10                 ; 16 store
    imul r11, r10, 5                    ; 17
    shr r11, 3                          ; 18
    dec ecx                             ; 19
    jnz .loop                           ; 20
.done:
%ifdef NATIVE
    mov eax, 60                         ; exit(0)
    xor edi, edi
    syscall
section .bss
alignb 8
table: resq 256
%else
%ifdef QEMU_EXIT
    xor eax, eax
    out 0xf4, al                        ; isa-debug-exit: QEMU exits with status 1
%endif
    hlt
; The table gets a page of its own: stores into a page that holds code make
; every emulator check them against translated code (self-modifying-code
; detection), which is a different benchmark (see SHARED_PAGE).
%ifndef SHARED_PAGE
align 4096
%else
align 8
%endif
table: times 256 dq 0
%endif
