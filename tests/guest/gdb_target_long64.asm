; expect-mode: long64
; native: skip OUT to the debug console needs I/O privilege (CPL 3 with IOPL 0 faults)
; expect: rax=15 rbx=5 rcx=0 exit=hlt
;
; The program the gdb stub's tests debug (tests/unit/test_gdb_cli.cpp):
; labels at fixed addresses so the test can name them. A loop adds 3 to
; RAX five times and stores it to `counter` (the watched variable) each
; time, then prints "ok" on the debug console and halts.
bits 64
org 0x10000

start:                          ; 0x10000
  xor eax, eax
  xor ebx, ebx
  mov ecx, 5
  times 0x10 - ($ - $$) nop
loop_top:                       ; 0x10010: add rax, 3 (4 bytes)
  add rax, 3
store:                          ; 0x10014: mov [counter], rax
  mov [rel counter], rax
  inc rbx
  dec ecx
  jnz loop_top
  times 0x40 - ($ - $$) nop
done:                           ; 0x10040
  mov dx, 0xe9
  mov al, 'o'
  out dx, al
  mov al, 'k'
  out dx, al
  mov eax, 15
  hlt
  times 0x100 - ($ - $$) db 0
counter:                        ; 0x10100
  dq 0
