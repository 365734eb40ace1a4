; FSTENV/FNSAVE/FLDENV in real-address mode: the real-mode formats of SDM
; Vol. 1 Figures 8-10 (32-bit) and 8-12 (16-bit), whose instruction and
; operand pointers are 20/32-bit linear addresses split around the FOP
; field (AMD APM Vol. 1 6.2.5). The image is at 0x10000 (CS = DS = 0x1000),
; so FLD m32 at IP 4 leaves FIP = 0x10004, FOP = 0x106 (D9 /0, ModRM 06),
; FDP = 0x10024 (val). Expected bytes follow the figures:
;  0x18000 16-bit: FCW 037F, FSW 3000 (TOP 6), FTW 0FFF (R6, R7 valid),
;          FIP[15:0] 0004, FIP[19:16] << 12 | FOP = 1106, FDP[15:0] 0024,
;          FDP[19:16] << 12 = 1000
;  0x18010 32-bit: the same in dwords, reserved halves FFFF, FIP[31:16] and
;          FDP[31:16] in bits 27:12
;  0x18040 FNSAVE (16-bit): that environment, ST0 = 2.5, ST1 = 1.0, the
;          other registers as they were (zero)
;  0x180a0 FNSTENV after FNSAVE's reinitialisation
;  0x180c0 a 32-bit real-mode image loaded by FLDENV and stored again:
;          the same bytes (FIP 12345678, FOP 765, FDP DEF09ABC)
; native: skip the native oracle runs 16-bit code in protected mode (LDT segments), which stores the protected-mode formats
; kvm: skip this host's PVM KVM runs CPL0 code through its instruction emulator, which has no x87 arithmetic (FLD1: internal error)
; expect-mode: real16
; expect: exit=hlt
; expect-mem: 0x18000=7f030030ff0f0400061124000010
; expect-mem: 0x18010=7f03ffff0030ffffff0fffff0400ffff061100002400ffff00100000
; expect-mem: 0x18040=7f030030ff0f040006112400001000000000000000a000400000000000000080ff3f
; expect-mem: 0x18062=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
; expect-mem: 0x180a0=7f030000ffff00000000000000000000
; expect-mem: 0x180c0=7f02ffff0000ffffffffffff7856ffff65472301bc9affff0000ef0d
bits 16
org 0
    fninit                  ; 0x00
    fld1                    ; 0x02
    fld dword [val]         ; 0x04: D9 06 lo hi -> FOP 0x106, FIP linear 0x10004
    fnstenv [0x8000]        ; 16-bit real-mode format (14 bytes)
    o32 fnstenv [0x8010]    ; 32-bit real-mode format (28 bytes)
    fnsave [0x8040]         ; 16-bit format + registers (94 bytes), then FNINIT
    fnstenv [0x80a0]        ; the initialised state
    o32 fldenv [envimg]     ; load a 32-bit real-mode image: pointers and FOP come back
    o32 fnstenv [0x80c0]
    hlt
    align 4
val: dd 0x40200000          ; 2.5
envimg:
    dd 0xffff027f, 0xffff0000, 0xffffffff
    dd 0xffff5678           ; FIP 15..0
    dd 0x01234765 | (0x7 << 8) ; FIP 31..16 in bits 27..12, FOP in 10..0
    dd 0xffff9abc           ; FDP 15..0
    dd 0x0def0000           ; FDP 31..16 in bits 27..12
