; expect-mode: long64
; kvm: skip the host has no VMX (AMD EPYC, PVM KVM without nesting): CPUID.1:ECX.VMX is 0 there
; native: skip VMX instructions, MSRs and CR4 need ring 0
; expect: rax=0 rbx=183 exit=hlt
;
; An L1 test kernel for VMX events, timers and the remaining instruction
; exits (SDM Vol. 3C "VMX Non-Root Operation" 26.2-26.7, "VM Entries"
; 28.6-28.7, "VM Exits" 29.2-29.3): interrupt-window and NMI-window exiting
; with their blocking rules, virtual NMIs (virtual-NMI blocking, IRET
; unblocking, "NMI unblocking due to IRET"), the VMX-preemption timer
; (reason 52, its saved value, HLT and shutdown), the monitor trap flag
; (after an instruction, after an injected event, after a fault, the
; pending MTF injection and its priority over the timer), pending debug
; exceptions on entry and #DB interception with its qualification, PAUSE
; and PAUSE-loop exiting, MWAIT/MONITOR, RDRAND/RDSEED, descriptor-table
; exits with their instruction information, task-switch exits from a
; 32-bit PAE guest (JMP, CALL, CALL through a task gate, IRET with NT,
; INT n through an IDT task gate).
;
; With an event source on ports E0H-E8H (tests/unit/test_vmx_events.cpp
; provides one; the flat runner has none: IN E0H reads FFH there) it also
; checks external-interrupt exiting with and without "acknowledge
; interrupt on exit", NMI exiting and the NMI blocking after an NMI exit,
; INIT blocked in root operation and INIT exits, SIPI exits from
; wait-for-SIPI, and the HLT and shutdown states woken by such exits.
; Event-source ports: OUT E8H = vector; OUT E0H = 1 assert INTR / 0 drop
; it; OUT E6H assert INTR; OUT E1H NMI; OUT E2H INIT; OUT E7H = k: at the next halt, 1 assert
; INTR, 2 NMI, 4 SIPI(vector); IN E5H = acknowledge count.
; Each failed check prints "FAIL <name>" on port 0xe9.
; RAX = failed checks (0), RBX = passed checks.
bits 64
org 0x10000

%define VMXON_REGION 0x100000
%define VMCS1        0x101000
%define PAE_PDPT     0x107000
%define IDT          0x80000
%define GUEST_IDT    0x88000
%define GUEST_IDT32  0x8a000
%define HOST_STACK   0x78000
%define GUEST_STACK  0x68000

%include "l1_vmx_fields.inc"              ; VMCS field encodings, control bits
%include "l1_macros.inc"

; CTLS pin, proc, proc2: the controls of the next entry on top of the
; must-be-1 bits (proc2 activates the secondary controls)
%macro CTLS 3
    mov rbx, [base_pin]
    or rbx, %1
    VMW PIN_CTL, rbx
    mov rbx, [base_proc]
    mov r10d, (%2) | (1 << 31)
    or rbx, r10
    VMW PROC_CTL, rbx
    VMW PROC2_CTL, %3
%endmacro

; GUEST label, rflags: the guest starts at label with a fresh stack,
; active, nothing blocked, nothing injected
%macro GUEST 2
    lea rbx, [rel %1]
    VMW G_RIP, rbx
    VMW G_RSP, GUEST_STACK
    VMW G_RFLAGS, %2
    VMW G_ACTIVITY, 0
    VMW G_INTERRUPTIBILITY, 0
    VMW ENTRY_INTR, 0
    VMW G_PENDING_DBG, 0
%endmacro

; RUN [insn]: VMRESUME (right after insn, if given); execution continues
; after the macro after the VM exit (or with [x_reason] = -1 on VMfail)
%macro RUN 0-1
    lea rax, [rel %%back]
    mov [resume], rax
    mov [saved_rsp], rsp
    mov qword [x_reason], -1
    %1
    vmresume
%%back:
%endmacro

; POPF_TF: RFLAGS.TF := 1 (the single-step trap follows the next instruction)
%macro POPF_TF 0
    pushfq
    or qword [rsp], 0x100
    popfq
%endmacro

; RUN_RF: VMRESUME with RFLAGS.RF = 1 in the host (an IRETQ to it)
%macro RUN_RF 0
    lea rax, [rel %%back]
    mov [resume], rax
    mov qword [x_reason], -1
    lea rax, [rel %%vmresume]
    mov rdx, rsp
    push 0x10
    push rdx
    push 0x10002                         ; RF
    push 0x08
    push rax
    mov [saved_rsp], rdx
    iretq
%%vmresume:
    vmresume
%%back:
%endmacro

; EXIT_AT "name", reason, guest RIP label (+ offset)
%macro EXIT_AT 3
    CHECK_EQ %1, qword [x_reason], %2
    lea rbx, [rel %3]
    CHECK_EQ %1, qword [x_guest_rip], rbx
%endmacro

start:
    call setup_tables
    VMX_ON VMXON_REGION, VMCS1
    call build_vmcs
    mov dx, 0xe0
    in al, dx
    movzx eax, al
    mov [have_source], rax               ; 5AH: the test harness's event source

    ; ---- VMLAUNCH: the first guest takes a CPUID exit ----------------------------------
    GUEST g_cpuid, 2
    lea rax, [rel .launched]
    mov [resume], rax
    mov [saved_rsp], rsp
    mov qword [x_reason], -1
    vmlaunch
.launched:
    EXIT_AT "VMLAUNCH: CPUID exit", 10, g_cpuid

    ; ---- interrupt-window exiting (SDM 26.7.5) -------------------------------------------
    CTLS 0, PROC_INTR_WIN, 0
    GUEST g_nops, 0x202
    RUN
    EXIT_AT "interrupt window open at entry (IF = 1): exit before the first instruction", 7, g_nops
    CHECK_EQ "interrupt-window exit: qualification 0", qword [x_qual], 0
    CHECK_EQ "interrupt-window exit: no interruption information", qword [x_intr_info], 0
    GUEST g_nops, 0x202
    VMW G_INTERRUPTIBILITY, 1            ; blocking by STI
    RUN
    EXIT_AT "blocking by STI at entry: the window opens after one instruction", 7, g_nops + 1
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "interrupt-window exit: interruptibility saved 0", rbx, 0
    GUEST g_sti, 2
    RUN
    EXIT_AT "IF = 0, then STI: the exit follows the instruction after STI", 7, g_sti + 2
    VMR rbx, G_RFLAGS
    CHECK_EQ "interrupt-window exit: RFLAGS.IF saved 1", rbx, 0x202
    GUEST g_sti_hlt, 2
    RUN
    EXIT_AT "STI; HLT: the window opens in the HLT state and wakes it", 7, g_sti_hlt + 2
    VMR rbx, G_ACTIVITY
    CHECK_EQ "interrupt-window exit from HLT: activity state HLT saved", rbx, 1

    ; ---- NMI-window exiting and virtual NMIs (SDM 26.7.6, 26.3) -------------------------
    CTLS PIN_NMI | PIN_VNMI, PROC_NMI_WIN, 0
    GUEST g_nops, 2
    RUN
    EXIT_AT "no virtual-NMI blocking at entry: NMI-window exit at once", 8, g_nops
    GUEST g_nops, 2
    VMW G_ACTIVITY, 2                    ; shutdown
    RUN
    EXIT_AT "NMI window in the shutdown state: the exit wakes it", 8, g_nops
    VMR rbx, G_ACTIVITY
    CHECK_EQ "NMI-window exit from shutdown: activity state 2 saved", rbx, 2
    ; virtual-NMI blocking set: the window opens at the IRET
    GUEST g_iret, 2
    VMW G_INTERRUPTIBILITY, 8
    RUN
    EXIT_AT "virtual-NMI blocking ends with IRET: NMI-window exit after it", 8, g_after_iret
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "after IRET: virtual-NMI blocking saved 0", rbx, 0
    ; an injected NMI sets virtual-NMI blocking: CPUID in its handler exits
    ; with the blocking saved; the handler's IRET opens the window
    CTLS PIN_NMI | PIN_VNMI, 0, 0
    GUEST g_nops, 2
    VMW ENTRY_INTR, 0x80000202
    RUN
    CHECK_EQ "virtual NMI injected: CPUID in the guest's NMI handler exits", qword [x_reason], 10
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "virtual-NMI blocking saved in interruptibility bit 3", rbx, 8
    call skip_guest_instruction
    CTLS PIN_NMI | PIN_VNMI, PROC_NMI_WIN, 0
    RUN
    EXIT_AT "the handler's IRET unblocks virtual NMIs: NMI-window exit at the return address", 8, g_nops
    ; a fault of an IRET that unblocked virtual NMIs: bit 12 of the
    ; interruption information
    CTLS PIN_NMI | PIN_VNMI, 0, 0
    VMW EXC_BITMAP, 1 << 13
    GUEST g_bad_iret, 2
    VMW G_INTERRUPTIBILITY, 8
    RUN
    CHECK_EQ "#GP in IRET with virtual-NMI blocking: exception exit", qword [x_reason], 0
    CHECK_EQ "#GP in IRET: NMI unblocking due to IRET (bit 12)", qword [x_intr_info], 0x80001b0d
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "#GP in IRET: virtual-NMI blocking saved 0", rbx, 0
    GUEST g_bad_iret, 2
    RUN
    CHECK_EQ "#GP in IRET without NMI blocking: bit 12 clear", qword [x_intr_info], 0x80000b0d
    VMW EXC_BITMAP, 0

    ; ---- the VMX-preemption timer (SDM 26.5.1, 28.7.4) -----------------------------------
    mov rbx, [base_exit]
    or rbx, EXIT_SAVE_TIMER
    VMW EXIT_CTL, rbx
    CTLS PIN_TIMER, 0, 0
    GUEST g_count, 2
    VMW TIMER_VALUE, 0
    xor ecx, ecx
    RUN
    EXIT_AT "timer value 0: exit before the first instruction", 52, g_count
    CHECK_EQ "timer value 0: the guest ran no instruction", qword [x_rcx], 0
    GUEST g_count, 2
    VMW TIMER_VALUE, 4
    xor ecx, ecx
    RUN
    CHECK_EQ "timer value 4: preemption-timer exit (52)", qword [x_reason], 52
    ; 4 counts of TSC bit 5: the guest ran more than 3 * 32 and at most 4 * 32 ticks
    mov rax, [x_rcx]
    cmp rax, 48
    setae bl
    cmp rax, 64
    setbe cl
    and bl, cl
    movzx ebx, bl
    CHECK_EQ "timer value 4: between 96 and 128 TSC ticks of guest loop", rbx, 1
    VMR rbx, TIMER_VALUE
    CHECK_EQ "timer exit: saved timer value 0", rbx, 0
    GUEST g_cpuid, 2
    VMW TIMER_VALUE, 1000
    RUN
    CHECK_EQ "timer running: CPUID exit first", qword [x_reason], 10
    VMR rbx, TIMER_VALUE
    mov rcx, 1000
    sub rcx, rbx
    cmp rcx, 1
    setbe cl
    movzx ecx, cl
    CHECK_EQ "saved timer value within one count of 1000", rcx, 1
    GUEST g_hlt, 2
    VMW TIMER_VALUE, 3
    RUN
    EXIT_AT "HLT in the guest: the timer wakes it with an exit", 52, g_hlt + 1
    VMR rbx, G_ACTIVITY
    CHECK_EQ "timer exit from HLT: activity state HLT saved", rbx, 1
    GUEST g_nops, 2
    VMW G_ACTIVITY, 2                    ; shutdown
    VMW TIMER_VALUE, 2
    RUN
    EXIT_AT "shutdown activity state: the timer exits from it", 52, g_nops
    VMR rbx, G_ACTIVITY
    CHECK_EQ "timer exit from shutdown: activity state 2 saved", rbx, 2
    CTLS PIN_TIMER | PIN_NMI | PIN_VNMI, PROC_NMI_WIN | PROC_INTR_WIN, 0
    GUEST g_nops, 0x202
    VMW TIMER_VALUE, 0
    RUN
    EXIT_AT "timer, NMI window and interrupt window due together: the timer first", 52, g_nops
    mov rbx, [base_exit]                 ; "save timer value" needs the timer (SDM 28.2.1.2)
    VMW EXIT_CTL, rbx
    CTLS PIN_NMI | PIN_VNMI, PROC_NMI_WIN | PROC_INTR_WIN, 0
    RUN
    EXIT_AT "NMI window and interrupt window open: the NMI window first", 8, g_nops
    CTLS PIN_NMI | PIN_VNMI, PROC_INTR_WIN, 0
    RUN
    EXIT_AT "then the interrupt window", 7, g_nops

    ; ---- the monitor trap flag (SDM 26.5.2, 28.6.2) --------------------------------------
    CTLS 0, PROC_MTF, 0
    GUEST g_nops, 2
    RUN
    EXIT_AT "MTF: exit after one instruction", 37, g_nops + 1
    CHECK_EQ "MTF exit: qualification 0", qword [x_qual], 0
    CHECK_EQ "MTF exit: no interruption information", qword [x_intr_info], 0
    RUN
    EXIT_AT "MTF: resumed, exit after the next instruction", 37, g_nops + 2
    GUEST g_nops, 0x202                  ; an injected interrupt needs IF = 1 (SDM 28.3.1.4)
    VMW ENTRY_INTR, 0x80000041
    RUN
    EXIT_AT "MTF with an injected interrupt: exit before the handler's first instruction", 37, guest_vec_0x41
    CHECK_EQ "MTF after injection: the valid bit of the injection cleared", qword [x_entry_intr], 0x41
    GUEST g_nops, 2
    VMW ENTRY_INTR, 0x80000700           ; type 7: pending MTF VM exit
    RUN
    EXIT_AT "injected pending MTF exit (type 7): exit before any instruction", 37, g_nops
    GUEST g_ud2, 2
    RUN
    EXIT_AT "MTF after a fault delivered in the guest: exit at its handler", 37, guest_vec_6
    GUEST g_nops, 0x202
    VMW G_INTERRUPTIBILITY, 1            ; blocking by STI ...
    VMW ENTRY_INTR, 0x80000306           ; ... and a vectoring entry (#UD)
    RUN
    EXIT_AT "MTF after an injected #UD", 37, guest_vec_6
    VMR rbx, G_INTERRUPTIBILITY
    CHECK_EQ "a vectoring entry leaves no blocking by STI (SDM 28.7.1)", rbx, 0
    CTLS 0, PROC_MTF, 0
    GUEST g_rep, 2
    mov ecx, 3
    lea rsi, [rel scratch]
    lea rdi, [rel scratch + 16]
    RUN
    EXIT_AT "MTF after the first iteration of REP MOVSB: RIP on the instruction", 37, g_rep
    CHECK_EQ "MTF after the first iteration: RCX = 2", qword [x_rcx], 2
    RUN
    EXIT_AT "MTF after the second iteration", 37, g_rep
    CHECK_EQ "MTF after the second iteration: RCX = 1", qword [x_rcx], 1
    RUN
    EXIT_AT "MTF after the last iteration: RIP past the instruction", 37, g_rep + 2
    CHECK_EQ "MTF after the last iteration: RCX = 0", qword [x_rcx], 0
    CTLS PIN_TIMER, PROC_MTF, 0
    GUEST g_nops, 2
    VMW TIMER_VALUE, 0
    VMW ENTRY_INTR, 0x80000700
    RUN
    EXIT_AT "pending MTF exit before an expired timer", 37, g_nops
    VMW ENTRY_INTR, 0
    RUN
    EXIT_AT "then the timer (value 0 again)", 52, g_nops

    ; ---- pending debug exceptions and #DB (SDM 28.7.3; Table 28-1) -----------------------
    mov eax, 0xffff0ff0
    mov dr6, rax                         ; DR6 := a known value (bits 0-3 clear)
    mov rax, dr6
    mov [dr6_before], rax
    CTLS 0, 0, 0
    VMW EXC_BITMAP, 1 << 1
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x4000            ; BS pending
    RUN
    EXIT_AT "pending BS on entry: #DB exit before the first instruction", 0, g_nops
    CHECK_EQ "#DB exit: hardware exception, vector 1", qword [x_intr_info], 0x80000301
    CHECK_EQ "#DB exit: qualification BS", qword [x_qual], 0x4000
    mov rax, dr6
    CHECK_EQ "#DB exit leaves DR6 alone", rax, [dr6_before]
    GUEST g_nops, 0x102                  ; TF = 1
    RUN
    EXIT_AT "single step with #DB intercepted: exit after the instruction", 0, g_nops + 1
    CHECK_EQ "single-step #DB exit: qualification BS", qword [x_qual], 0x4000
    VMW EXC_BITMAP, 0
    GUEST g_cpuid, 0x102                 ; TF = 1 on an instruction that exits
    RUN
    EXIT_AT "CPUID with TF = 1: the exit comes first (no single-step trap in the host)", 10, g_cpuid
    VMR rbx, G_RFLAGS
    CHECK_EQ "CPUID exit: the guest's TF saved", rbx, 0x102
    VMW EXC_BITMAP, 1 << 1
    CTLS PIN_TIMER, 0, 0
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x4000
    VMW TIMER_VALUE, 0
    RUN
    EXIT_AT "pending debug exception before an expired timer", 0, g_nops
    CTLS PIN_TIMER, PROC_MTF, 0
    VMW EXC_BITMAP, 0
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x4000
    VMW ENTRY_INTR, 0x80000700
    RUN
    EXIT_AT "pending MTF exit before pending debug exceptions", 37, g_nops
    VMR rbx, G_PENDING_DBG
    CHECK_EQ "MTF exit: the #DB still pending is saved (BS)", rbx, 0x4000
    CTLS 0, 0, 0
    VMW EXC_BITMAP, 1 << 1
    lea rbx, [rel g_bp]
    mov [bp_addr], rbx
    GUEST g_bp_setup, 2
    RUN
    EXIT_AT "instruction breakpoint: #DB fault exit on the instruction", 0, g_bp
    CHECK_EQ "instruction breakpoint: qualification B0", qword [x_qual], 1
    VMW EXC_BITMAP, 0

    ; ---- valid pending debug exceptions: BS or enabled breakpoint (SDM 28.7.3) ----------
    VMW EXC_BITMAP, 1 << 1
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 1                 ; B0 alone: no valid pending debug exception
    RUN
    EXIT_AT "pending B0 without BS or bit 12: nothing delivered (CPUID exit)", 10, g_nops + 3
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x1001            ; B0 and "enabled breakpoint"
    RUN
    EXIT_AT "pending B0 with enabled breakpoint: #DB exit before the first instruction", 0, g_nops
    CHECK_EQ "pending B0 with enabled breakpoint: qualification B0", qword [x_qual], 1
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x1000            ; "enabled breakpoint" alone
    RUN
    EXIT_AT "enabled breakpoint alone: #DB exit before the first instruction", 0, g_nops
    CHECK_EQ "enabled breakpoint alone: qualification 0", qword [x_qual], 0
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x1002
    VMW ENTRY_INTR, 0x80000700           ; a pending MTF exit comes first
    RUN
    EXIT_AT "pending MTF exit before the enabled-breakpoint #DB", 37, g_nops
    VMR rbx, G_PENDING_DBG
    CHECK_EQ "MTF exit: B1 and enabled breakpoint saved as entered", rbx, 0x1002
    VMW EXC_BITMAP, 0
    mov eax, 0xffff0ff0
    mov dr6, rax
    RUN                                  ; the saved field: the guest's #DB handler runs
    EXIT_AT "#DB of the pending B1 through the guest's IDT", 10, guest_vec_1_cpuid
    CHECK_EQ "the guest's DR6 has B1 (no bit 12)", qword [x_rcx], 0xffff0ff2
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x11000           ; RTM (bit 16) with enabled breakpoint
    RUN
    CHECK_EQ "pending RTM bit without RTM support: VM-entry failure 33", qword [x_reason], 0x80000021
    CHECK_EQ "pending RTM bit: qualification 0", qword [x_qual], 0

    ; ---- the first guest instruction sees the state VM entry loaded (28.3.2) -----------
    ; Host STI, RF and TF on VMRESUME do not apply to the guest.
    CTLS 0, PROC_INTR_WIN, 0
    GUEST g_nops, 0x202
    VMW G_INTERRUPTIBILITY, 1            ; blocking by STI
    RUN sti                              ; VMRESUME in the host's STI shadow
    EXIT_AT "blocking by STI loaded after a host STI: the window opens after one guest instruction", 7, g_nops + 1
    CTLS 0, 0, 0
    VMW EXC_BITMAP, 1 << 1
    lea rax, [rel g_nops]
    mov dr0, rax
    mov rbx, [base_entry]
    or rbx, (1 << 9) | (1 << 2)          ; IA-32e mode guest, load debug controls
    VMW ENTRY_CTL, rbx
    VMW G_DR7, 0x402                     ; L0: instruction breakpoint at DR0
    GUEST g_nops, 2
    RUN_RF
    EXIT_AT "DR0 on the guest's first instruction, guest RF = 0: #DB fault exit", 0, g_nops
    CHECK_EQ "DR0 breakpoint: qualification B0", qword [x_qual], 1
    GUEST g_nops, 0x10002                ; RF = 1
    RUN_RF
    EXIT_AT "guest RF = 1 from the entry suppresses the breakpoint (CPUID exit)", 10, g_nops + 3
    VMW G_DR7, 0x400
    mov rbx, [base_entry]
    or rbx, 1 << 9
    VMW ENTRY_CTL, rbx
    GUEST g_nops, 2
    RUN POPF_TF
    EXIT_AT "host TF = 1 on VMRESUME: no single-step #DB in the guest (CPUID exit)", 10, g_nops + 3
    GUEST g_nops, 2
    VMW G_PENDING_DBG, 0x10              ; reserved bit: VM-entry failure
    RUN POPF_TF
    CHECK_EQ "host TF = 1 on a VMRESUME that fails (exit 33): no single-step trap in the host", qword [x_reason], 0x80000021
    VMW EXC_BITMAP, 0

    ; ---- PAUSE, PAUSE-loop exiting, MWAIT, MONITOR, RDRAND, RDSEED -------------------------
    CTLS 0, PROC_PAUSE, 0
    GUEST g_pause, 2
    RUN
    EXIT_AT "PAUSE exiting: exit 40", 40, g_pause
    CHECK_EQ "PAUSE exit: instruction length 2", qword [x_len], 2
    CTLS 0, 0, P2_PLE
    VMW PLE_GAP, 10
    VMW PLE_WINDOW, 100
    GUEST g_pause_loop, 2
    xor ecx, ecx
    RUN
    CHECK_EQ "PAUSE-loop exiting: exit 40", qword [x_reason], 40
    ; a PAUSE every 4 ticks: the 27th is 104 > 100 ticks after the first
    CHECK_EQ "PAUSE-loop exiting: the first PAUSE past the window exits", qword [x_rcx], 27
    VMW PLE_GAP, 2
    GUEST g_pause_loop, 2
    xor ecx, ecx
    RUN
    CHECK_EQ "PAUSE gap 4 ticks > PLE_Gap 2: every PAUSE starts a loop: CPUID exit", qword [x_reason], 10
    CTLS 0, PROC_MWAIT | PROC_MONITOR, 0
    GUEST g_mwait, 2
    RUN
    EXIT_AT "MWAIT exiting: exit 36", 36, g_mwait_insn
    CHECK_EQ "MWAIT exit: monitor not armed: qualification 0", qword [x_qual], 0
    CHECK_EQ "MWAIT exit: length 3", qword [x_len], 3
    call skip_guest_instruction
    RUN
    EXIT_AT "MONITOR exiting: exit 39", 39, g_monitor
    CHECK_EQ "MONITOR exit: length 3", qword [x_len], 3
    CTLS 0, PROC_MWAIT, 0
    RUN                                  ; MONITOR again, now armed
    CHECK_EQ "MWAIT after an armed MONITOR: exit 36", qword [x_reason], 36
    CHECK_EQ "MWAIT exit: monitor armed: qualification 1", qword [x_qual], 1
    CTLS 0, 0, P2_RDRAND | P2_RDSEED
    GUEST g_rdrand, 2
    RUN
    EXIT_AT "RDRAND exiting: exit 57", 57, g_rdrand
    CHECK_EQ "RDRAND EAX: instruction information (register 0, 32-bit)", qword [x_info], 0x800
    call skip_guest_instruction
    RUN
    EXIT_AT "RDSEED exiting: exit 61", 61, g_rdseed
    CHECK_EQ "RDSEED R9: instruction information (register 9, 64-bit)", qword [x_info], 0x1048
    CHECK_EQ "RDSEED R9: length 4", qword [x_len], 4
    call skip_guest_instruction
    RUN
    CHECK_EQ "RDRAND AX: exit 57", qword [x_reason], 57
    CHECK_EQ "RDRAND AX: instruction information (16-bit)", qword [x_info], 0x0

    ; ---- descriptor-table exiting (Tables 28-10, 28-11) ---------------------------------
    CTLS 0, 0, P2_DESC
    GUEST g_sgdt, 2
    RUN
    EXIT_AT "SGDT [RBX+8]: exit 46", 46, g_sgdt_insn
    CHECK_EQ "SGDT: qualification = displacement", qword [x_qual], 8
    mov rax, [x_info]
    and eax, ~0x800                      ; operand size: undefined in 64-bit mode
    CHECK_EQ "SGDT [RBX+8]: information (64-bit address, DS, base RBX, no index, SGDT)", rax, 0x01c18100
    call skip_guest_instruction
    RUN
    CHECK_EQ "LIDT [RSI+RCX*4]: exit 46", qword [x_reason], 46
    mov rax, [x_info]
    and eax, ~0x800
    CHECK_EQ "LIDT [RSI+RCX*4]: information (scale 4, index RCX, base RSI, LIDT)", rax, 0x33058102
    call skip_guest_instruction
    RUN
    CHECK_EQ "SLDT AX: exit 47", qword [x_reason], 47
    CHECK_EQ "SLDT AX: information (register 0, bit 10, SLDT)", qword [x_info], 0x400
    CHECK_EQ "SLDT AX: qualification 0", qword [x_qual], 0
    call skip_guest_instruction
    RUN
    CHECK_EQ "STR [RBX]: exit 47", qword [x_reason], 47
    CHECK_EQ "STR [RBX]: information (memory, base RBX, STR)", qword [x_info], 0x11c18100
    call skip_guest_instruction
    RUN
    CHECK_EQ "LLDT DX: exit 47", qword [x_reason], 47
    CHECK_EQ "LLDT DX: information (register 2, LLDT)", qword [x_info], 0x20000410
    call skip_guest_instruction
    RUN
    CHECK_EQ "LTR CX: exit 47", qword [x_reason], 47
    CHECK_EQ "LTR CX: information (register 1, LTR)", qword [x_info], 0x30000408
    call skip_guest_instruction
    VMW EXC_BITMAP, 1 << 13
    RUN
    CHECK_EQ "LGDT with CPL 3 in the guest: #GP first (no exit 46)", qword [x_reason], 0
    CHECK_EQ "LGDT at CPL 3: #GP(0) exit", qword [x_intr_info], 0x80000b0d
    VMW EXC_BITMAP, 0
    call guest_segments                  ; back to ring 0

    ; ---- task switches from a 32-bit PAE guest (Table 28-2) ------------------------------
    CTLS 0, 0, 0
    call guest32
    GUEST g32_jmp, 2
    RUN
    EXIT_AT "JMP to a TSS: task-switch exit 9", 9, g32_jmp
    CHECK_EQ "JMP: qualification = TSS selector 40H, source 2", qword [x_qual], 0x80000040
    CHECK_EQ "JMP far: instruction length 7", qword [x_len], 7
    GUEST g32_call, 2
    RUN
    EXIT_AT "CALL to a TSS: exit 9", 9, g32_call
    CHECK_EQ "CALL: source 0", qword [x_qual], 0x40
    GUEST g32_callgate, 2
    RUN
    CHECK_EQ "CALL through a task gate: qualification = the TSS selector", qword [x_qual], 0x40
    GUEST g32_iret, 0x4002               ; NT = 1
    mov word [tss], 0x50                 ; previous-task link: the busy TSS 50H
    RUN
    EXIT_AT "IRET with NT = 1: exit 9", 9, g32_iret
    CHECK_EQ "IRET: qualification = link 50H, source 1", qword [x_qual], 0x40000050
    CHECK_EQ "IRET: instruction length 1", qword [x_len], 1
    GUEST g32_int, 2
    RUN
    EXIT_AT "INT 30H through an IDT task gate: exit 9", 9, g32_int
    CHECK_EQ "INT n task gate: source 3", qword [x_qual], 0xc0000040
    CHECK_EQ "INT n task gate: IDT-vectoring information (software interrupt 30H)", qword [x_idt_vec], 0x80000430
    CHECK_EQ "INT n task gate: instruction length 2", qword [x_len], 2
    call guest64

    ; ---- the event source (only with the test harness) -----------------------------------
    cmp qword [have_source], 0x5a
    jne .summary
    call source_tests

.summary:
    jmp l1_finish

; ---- external interrupts, NMIs, INIT, SIPI ---------------------------------------------------
source_tests:
    mov al, 0x41
    out 0xe8, al
    mov rbx, [base_exit]
    or rbx, EXIT_ACK
    VMW EXIT_CTL, rbx
    CTLS PIN_EXT_INTR, 0, 0
    GUEST g_intr, 2                      ; IF = 0: exiting ignores it
    RUN
    EXIT_AT "external interrupt (guest OUT to the source): exit 1 after the OUT", 1, g_intr + 4
    CHECK_EQ "acknowledge on exit: vector 41H, type 0, valid", qword [x_intr_info], 0x80000041
    in al, 0xe5
    movzx eax, al
    CHECK_EQ "acknowledge on exit: the controller acknowledged once", rax, 1
    mov rbx, [base_exit]
    VMW EXIT_CTL, rbx
    GUEST g_intr, 2
    RUN
    EXIT_AT "external interrupt without acknowledge: exit 1", 1, g_intr + 4
    CHECK_EQ "without acknowledge: interruption information not valid", qword [x_intr_info], 0
    in al, 0xe5
    movzx eax, al
    CHECK_EQ "without acknowledge: no acknowledge cycle", rax, 1
    GUEST g_nops, 2
    RUN
    EXIT_AT "the request stays pending: exit again at the next entry", 1, g_nops
    CTLS PIN_EXT_INTR, PROC_INTR_WIN, 0
    GUEST g_nops, 0x202
    RUN
    EXIT_AT "interrupt window before the external interrupt", 7, g_nops
    mov al, 0
    out 0xe0, al                         ; drop the request
    CTLS PIN_EXT_INTR, 0, 0
    GUEST g_hlt, 2
    mov al, 1
    out 0xe7, al                         ; INTR when the CPU halts
    RUN
    EXIT_AT "HLT woken by an external-interrupt exit", 1, g_hlt + 1
    VMR rbx, G_ACTIVITY
    CHECK_EQ "exit from HLT: activity state HLT saved", rbx, 1
    mov al, 0
    out 0xe0, al
    CTLS 0, 0, 0                         ; no exiting: the guest's IDT takes it
    GUEST g_intr, 0x202
    RUN
    EXIT_AT "INTR without exiting: delivered through the guest's IDT (its handler's CPUID)", 10, guest_vec_0x41
    in al, 0xe5
    movzx eax, al
    CHECK_EQ "INTR delivered in the guest: acknowledged by the guest's delivery", rax, 2
    CTLS 0, PROC_MTF, 0
    GUEST g_intr_raise, 0x202
    RUN
    EXIT_AT "MTF after the OUT comes before the interrupt it raised", 37, g_intr_raise + 2
    RUN
    EXIT_AT "MTF after the interrupt's delivery through the guest's IDT", 37, guest_vec_0x41
    CTLS 0, 0, 0
    GUEST g_nops, 0x202
    VMW G_INTERRUPTIBILITY, 1            ; blocking by STI
    mov al, 1
    out 0xe0, al                         ; INTR asserted (vector 41H)
    RUN sti                              ; VMRESUME in the host's STI shadow
    EXIT_AT "blocking by STI on entry holds the interrupt for one guest instruction", 10, guest_vec_0x41
    lea rbx, [rel g_nops + 1]
    CHECK_EQ "the interrupt's return RIP: after the first guest instruction", qword [GUEST_STACK - 40], rbx

    CTLS PIN_NMI, 0, 0
    GUEST g_nmi, 2
    RUN
    EXIT_AT "NMI (guest OUT to the source): exit 0 after the OUT", 0, g_nmi + 2
    CHECK_EQ "NMI exit: interruption information NMI, vector 2", qword [x_intr_info], 0x80000202
    out 0xe1, al                         ; an NMI in the host after an NMI exit: blocked
    GUEST g_nops, 2
    RUN
    EXIT_AT "the held NMI exits at once after the next entry", 0, g_nops
    CTLS PIN_NMI | PIN_VNMI, PROC_NMI_WIN, 0
    GUEST g_nmi, 2
    VMW G_INTERRUPTIBILITY, 8
    RUN
    EXIT_AT "virtual-NMI blocking does not block a physical NMI's exit", 0, g_nmi + 2
    out 0xe1, al                         ; held again: the NMI exit left NMIs blocked
    CTLS PIN_NMI | PIN_VNMI, PROC_NMI_WIN, 0
    GUEST g_nops, 2
    RUN
    EXIT_AT "NMI-window exit has priority over a pending NMI", 8, g_nops
    CTLS PIN_NMI | PIN_VNMI, 0, 0
    RUN
    EXIT_AT "then the pending NMI exits", 0, g_nops
    CTLS PIN_NMI, 0, 0
    GUEST g_nops, 2
    VMW G_ACTIVITY, 2
    mov al, 2
    out 0xe7, al                         ; NMI when the CPU halts
    RUN
    EXIT_AT "shutdown state woken by an NMI exit", 0, g_nops
    VMR rbx, G_ACTIVITY
    CHECK_EQ "NMI exit from shutdown: activity state 2 saved", rbx, 2

    CTLS 0, 0, 0
    out 0xe2, al                         ; INIT in VMX root operation: blocked
    mov rax, cr4
    and eax, 0x2000
    CHECK_EQ "INIT in root operation is blocked: CR4.VMXE still 1", rax, 0x2000
    GUEST g_nops, 2
    RUN
    EXIT_AT "the blocked INIT exits at once after VM entry (reason 3)", 3, g_nops
    GUEST g_init, 2
    RUN
    EXIT_AT "INIT in the guest: exit 3 after the OUT", 3, g_init + 2
    CHECK_EQ "INIT exit: qualification 0", qword [x_qual], 0
    out 0xe2, al                         ; INIT latched in root operation ...
    GUEST g_nops, 2
    VMW G_ACTIVITY, 3                    ; ... and blocked by wait-for-SIPI
    mov al, 0x12
    out 0xe8, al
    mov al, 4
    out 0xe7, al                         ; SIPI when the CPU halts
    RUN
    EXIT_AT "wait-for-SIPI (INIT blocked there): SIPI exit (reason 4)", 4, g_nops
    CHECK_EQ "SIPI exit: qualification = vector 12H", qword [x_qual], 0x12
    VMR rbx, G_ACTIVITY
    CHECK_EQ "SIPI exit: activity state wait-for-SIPI saved", rbx, 3
    VMW G_ACTIVITY, 0
    RUN
    EXIT_AT "active again: the INIT held through wait-for-SIPI exits", 3, g_nops
    ret

; ---- the exit handler (host RIP) ---------------------------------------------------------

exit_handler:
    mov [x_rcx], rcx
    mov rsp, [saved_rsp]
    SAVE_FIELDS x_reason, EXIT_REASON, x_qual, EXIT_QUAL, x_len, EXIT_LEN, x_info, EXIT_INSN_INFO, \
                x_intr_info, EXIT_INTR_INFO, x_idt_vec, IDT_VEC_INFO, x_guest_rip, G_RIP, \
                x_entry_intr, ENTRY_INTR
    jmp [resume]

; ---- the L2 guests ------------------------------------------------------------------------

g_cpuid:
    cpuid
    jmp $
g_nops:
    nop
    nop
    nop
    cpuid
    jmp $
g_sti:
    sti
    nop
    nop
    cpuid
    jmp $
g_sti_hlt:
    sti
    hlt
    cpuid
    jmp $
g_iret:                                  ; IRET to g_after_iret on the same stack
    lea rax, [rel g_after_iret]
    mov rdx, rsp
    push 0x10
    push rdx
    pushfq
    push 0x08
    push rax
    iretq
g_after_iret:
    nop
    cpuid
    jmp $
g_bad_iret:                              ; IRET with CS = 0: #GP(0)
    push 0x10
    push GUEST_STACK
    push 2
    push 0
    push 0
    iretq
g_count:
    inc rcx
    jmp g_count
g_rep:
    rep movsb
    cpuid
    jmp $
g_hlt:
    hlt
    cpuid
    jmp $
g_ud2:
    ud2
g_bp_setup:
    mov rax, [rel bp_addr]
    mov dr0, rax
    mov rax, 0x402                       ; L0, instruction breakpoint
    mov dr7, rax
    nop
g_bp:
    nop
    cpuid
    jmp $
g_pause:
    pause
    cpuid
    jmp $
g_pause_loop:                            ; PAUSE every 4 ticks, 40 times, then CPUID
    inc ecx
    pause
    cmp ecx, 40
    jb g_pause_loop
    cpuid
    jmp $
g_mwait:
    xor eax, eax
    xor ecx, ecx
    xor edx, edx
g_mwait_insn:
    mwait
    lea rax, [rel scratch]
g_monitor:
    monitor
    mwait
    jmp $
g_rdrand:
    rdrand eax
g_rdseed:
    rdseed r9
    rdrand ax
    jmp $
g_sgdt:
    lea rbx, [rel scratch]
g_sgdt_insn:
    sgdt [rbx + 8]
    lea rsi, [rel scratch]
    xor ecx, ecx
    lidt [rsi + rcx * 4]
    sldt ax
    str word [rbx]
    lldt dx
    ltr cx
    ; to ring 3 (the user segments of the GDT) for LGDT's #GP
    mov rax, GUEST_STACK
    push 0x2b
    push rax
    push 2
    push 0x23
    lea rax, [rel g_user]
    push rax
    iretq
g_user:
    lgdt [rbx]
    jmp $
g_intr:
    mov al, 1
    out 0xe0, al                         ; assert INTR (vector from OUT E8H)
    nop
    jmp $
g_intr_raise:
    out 0xe6, al                         ; assert INTR (any value)
    nop
    jmp $
g_nmi:
    out 0xe1, al
    nop
    jmp $
g_init:
    out 0xe2, al
    nop
    jmp $

bits 32
g32_jmp:
    jmp 0x40:0
g32_call:
    call 0x40:0
g32_callgate:
    call 0x48:0
g32_iret:
    iretd
g32_int:
    int 0x30
bits 64

; The guest's handlers for the injected / faulting vectors
guest_vec_0x41:
    cpuid
    jmp $
guest_vec_6:
    cpuid
    jmp $
guest_vec_1:                             ; #DB: RCX = DR6 at the CPUID exit
    mov rcx, dr6
guest_vec_1_cpuid:
    cpuid
    jmp $
guest_vec_2:                             ; the NMI handler: CPUID exits, then IRET
    cpuid
    iretq

; ---- helpers ----------------------------------------------------------------------------

; The guest becomes a 32-bit protected-mode PAE guest (for task switches)
; and back.
guest32:
    mov rbx, [base_entry]
    VMW ENTRY_CTL, rbx                   ; IA-32e mode guest = 0
    VMW G_CR3, PAE_PDPT
    VMW G_ES_AR + 2, 0xc09b              ; CS: 32-bit code
    VMW G_IDTR_BASE, GUEST_IDT32
    VMW G_IDTR_LIMIT, 8 * 0x31 - 1
    ret
guest64:
    mov rbx, [base_entry]
    or rbx, 1 << 9
    VMW ENTRY_CTL, rbx
    mov rbx, cr3
    VMW G_CR3, rbx
    VMW G_ES_AR + 2, 0xa09b
    VMW G_IDTR_BASE, GUEST_IDT
    VMW G_IDTR_LIMIT, 16 * 0x50 - 1
    ret

build_vmcs:
    mov ecx, 0x48d                       ; TRUE_ controls: must-be-1 bits
    rdmsr
    mov [base_pin], rax
    VMW PIN_CTL, rax
    mov ecx, 0x48e
    rdmsr
    mov [base_proc], rax
    or eax, 1 << 31
    VMW PROC_CTL, rax
    VMW PROC2_CTL, 0
    mov ecx, 0x48f
    rdmsr
    or eax, 1 << 9                       ; host address-space size
    mov [base_exit], rax
    VMW EXIT_CTL, rax
    mov ecx, 0x490
    rdmsr
    mov [base_entry], rax
    or eax, 1 << 9                       ; IA-32e mode guest
    VMW ENTRY_CTL, rax
    VMW EXC_BITMAP, 0
    ; host state; guest state: a 64-bit guest on the L1's page tables and GDT
    call vmx_flat_pair_state             ; l1_vmx_flat_state.inc
    jmp guest_idtr

; The guest's segment registers: 64-bit ring-0 code, flat data, TR, LDTR
; unusable, the GDT and IDT
guest_segments:
    lea rsi, [rel tss]
    lea rdi, [rel gdt]
    mov edx, gdt_end - gdt - 1
    call vmx_guest_flat_segments
guest_idtr:
    VMW G_IDTR_BASE, GUEST_IDT
    VMW G_IDTR_LIMIT, 16 * 0x50 - 1
    ret

%include "l1_checks.inc"
%include "l1_guest_idt.inc"
%include "l1_vmx_flat_state.inc"              ; with l1_vmx_on.inc, l1_descriptors.inc

; The L1's GDT (with the guest's user segments, TSS descriptors and a
; task gate for the task-switch exits), an empty L1 IDT, the guest IDTs
; and the PAE PDPT of the 32-bit guest.
setup_tables:
    LOAD_GDT_TSS
    lidt [rel idtr]
    GUEST_GATES guest_vec_0x41, 0x41, guest_vec_6, 6, guest_vec_2, 2, guest_vec_1, 1
    ; 32-bit IDT: vector 30H is a task gate for TSS 40H (P, DPL 0, type 5)
    mov dword [GUEST_IDT32 + 8 * 0x30], 0x00400000
    mov dword [GUEST_IDT32 + 8 * 0x30 + 4], 0x00008500
    mov qword [PAE_PDPT], 0x3001
    mov qword [PAE_PDPT + 8], 0x4001
    mov qword [PAE_PDPT + 16], 0x5001
    mov qword [PAE_PDPT + 24], 0x6001
    or qword [0x1000], 4                 ; the first 2 MiB user-accessible (PML4E, PDPTE, PDE 0)
    or qword [0x2000], 4
    or qword [0x3000], 4
    mov rax, cr3
    mov cr3, rax
    ret

align 8
idtr:           dw 16 * 32 - 1
                dq IDT
L1_GDT                                    ; gdtr, gdt: null, 08H code, 10H data
                dq 0
                dq 0x00affb000000ffff     ; 20H: 64-bit code, DPL 3
                dq 0x00cff3000000ffff     ; 28H: data, DPL 3
gdt_tss:        dq 0x0000890000000067     ; 30H: 64-bit TSS (base set at run time)
                dq 0
                dq 0x0000890800000067     ; 40H: available 32-bit TSS at 80000H
                dq 0x0000850000400000     ; 48H: task gate for TSS 40H
                dq 0x00008b0800000067     ; 50H: busy 32-bit TSS at 80000H
gdt_end:
tss:            times 104 db 0
align 8
scratch:        times 4 dq 0
resume:         dq 0
saved_rsp:      dq 0
have_source:    dq 0
base_pin:       dq 0
base_proc:      dq 0
base_exit:      dq 0
base_entry:     dq 0
bp_addr:        dq 0
dr6_before:     dq 0
x_reason:       dq 0
x_qual:         dq 0
x_len:          dq 0
x_info:         dq 0
x_intr_info:    dq 0
x_idt_vec:      dq 0
x_guest_rip:    dq 0
x_entry_intr:   dq 0
x_rcx:          dq 0
msg_done:       db "vmx_events: done", 10, 0
