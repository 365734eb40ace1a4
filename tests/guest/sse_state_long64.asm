; SSE state management at CPL 0 in 64-bit mode (SDM Vol. 2 XGETBV, XSETBV,
; FXSAVE, FXRSTOR, XSAVE, XRSTOR, XSAVEOPT; Vol. 1 chapter 13): enabling
; XSAVE with CR4.OSXSAVE and XSETBV, FXSAVE64/FXRSTOR64 round trip of XMM0,
; XMM15 and MXCSR, XSAVE64's XSTATE_BV from the components in use, XRSTOR64
; initializing the SSE component while still loading MXCSR, XSAVEOPT's
; MXCSR rule. Each expected value is derived in the comments.
; expect-mode: long64
; native: skip MOV to CR4 and XSETBV are privileged (CPL 3 under the native oracle)
; kvm: skip this host's PVM KVM cannot run it: its instruction emulator fails on XGETBV and LDMXCSR ("instruction emulation failed")
; expect: exit=hlt
; expect-mem: 0x30000=0100000003000000803f0000ffff0000
; expect-mem: 0x30010=00112233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0
; expect-mem: 0x30030=803f0000000000000200000000000000
; expect-mem: 0x30040=00000000000000000000000000000000803f000000000000
; expect-mem: 0x30058=fcffffffffffffff803f0000ffff0000
bits 64
org 0x10000

res equ 0x30000

    ; CR4.OSXSAVE enables XGETBV/XSETBV/XSAVE*; the flat runner's XCR0 is 1.
    mov rax, cr4
    or eax, 1 << 18
    mov cr4, rax
    xor ecx, ecx
    xgetbv
    mov [res], eax                      ; 1
    mov eax, 3                          ; x87 | SSE
    xor edx, edx
    xsetbv
    xgetbv
    mov [res + 4], eax                  ; 3

    ; FXSAVE64 stores MXCSR (0x3f80: RC = toward -inf) and MXCSR_MASK
    ; (0xffff); FXRSTOR64 brings back XMM0, XMM15 and MXCSR.
    movaps xmm0, [rel v1]
    movaps xmm15, [rel v2]
    ldmxcsr [rel mx_down]
    fxsave64 [rel area1]
    mov rax, [rel area1 + 24]
    mov [res + 8], rax                  ; 803f0000 ffff0000
    xorps xmm0, xmm0
    xorps xmm15, xmm15
    ldmxcsr [rel mx_default]
    fxrstor64 [rel area1]
    movups [res + 16], xmm0             ; v1
    movups [res + 32], xmm15            ; v2
    stmxcsr [res + 48]                  ; 0x3f80

    ; XSAVE64 with EDX:EAX = 3: XSTATE_BV = XINUSE & 3 = 2 (XMM registers in
    ; use; the x87 is in its initial configuration: FCW 037FH, empty).
    mov eax, 3
    xor edx, edx
    xsave64 [rel area2]
    mov rax, [rel area2 + 512]
    mov [res + 56], rax                 ; 2

    ; XRSTOR64 with XSTATE_BV = 0: the XMM registers are initialized (0),
    ; MXCSR is still loaded from the image (0x3f80).
    mov qword [rel area2 + 512], 0
    ldmxcsr [rel mx_default]
    mov eax, 3
    xrstor64 [rel area2]
    movups [res + 64], xmm15            ; 0
    stmxcsr [res + 80]                  ; 0x3f80

    ; XSAVEOPT64: no component in use, but MXCSR != 1F80H makes it save
    ; the SSE component (MXCSR, MXCSR_MASK); XSTATE_BV = (old & ~3) | 0.
    mov qword [rel area3 + 512], -1
    mov eax, 3
    xsaveopt64 [rel area3]
    mov rax, [rel area3 + 512]
    mov [res + 88], rax                 ; 0xfffffffffffffffc
    mov rax, [rel area3 + 24]
    mov [res + 96], rax                 ; 803f0000 ffff0000
    hlt

align 16
v1:         dq 0x7766554433221100, 0xffeeddccbbaa9988
v2:         dq 0x78695a4b3c2d1e0f, 0xf0e1d2c3b4a59687
mx_down:    dd 0x3f80
mx_default: dd 0x1f80
align 64
area1:      times 512 db 0
area2:      times 576 db 0
area3:      times 576 db 0
