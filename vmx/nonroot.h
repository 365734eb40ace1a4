// VMX non-root operation: the intercept points (SDM Vol. 3C chapter "VMX
// Non-Root Operation", 27.1 "Instructions That Cause VM Exits", 27.3
// "Changes to Instruction Behavior in VMX Non-Root Operation"). Every
// caller guards the call with `cpu.vmx.non_root` - one predictable branch
// outside guest mode (DESIGN.md "Virtualization") - and calls after the
// faults that have priority over VM exits (#UD, privilege-level faults,
// I/O-permission #GP: SDM 27.1.1). A function returning true made a VM exit:
// the handler returns at once (the CPU now runs the host).
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
struct Insn;
struct GuestException;
}  // namespace softvt

namespace softvt::vmx {

// Instructions that exit unconditionally (SDM 27.1.2): CPUID, GETSEC,
// INVD, XSETBV. Always exits.
void exit_unconditional(Cpu& cpu, const Insn& in, uint32_t reason);
// The VMX instructions (VMCALL, VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST,
// VMREAD, VMRESUME, VMWRITE, VMXOFF, VMXON; INVEPT/INVVPID later): exit
// with the instruction information of SDM 28.2.5 (Tables 28-9/28-13).
void exit_vmx_instruction(Cpu& cpu, const Insn& in, uint32_t reason);

// Instructions governed by the processor-based controls (SDM 27.1.3).
bool intercept_hlt(Cpu& cpu, const Insn& in);
bool intercept_rdtsc(Cpu& cpu, const Insn& in);
bool intercept_rdtscp(Cpu& cpu, const Insn& in);  // #UD without "enable RDTSCP"
bool intercept_rdpmc(Cpu& cpu, const Insn& in);
// The TSC value RDTSC, RDTSCP and RDMSR of IA32_TSC return in the guest:
// plus the TSC offset with "use TSC offsetting" (SDM 27.3, 25.6.5).
uint64_t guest_tsc(const Cpu& cpu, uint64_t tsc);
bool intercept_invlpg(Cpu& cpu, const Insn& in, uint64_t linear);
bool intercept_wbinvd(Cpu& cpu, const Insn& in);
void check_invpcid_enabled(Cpu& cpu);  // #UD without "enable INVPCID"
bool intercept_invpcid(Cpu& cpu, const Insn& in);  // "INVLPG exiting" (reason 58)
bool intercept_mov_dr(Cpu& cpu, const Insn& in, unsigned dr, bool to_dr);

// Control registers (SDM 27.1.3, 27.3 "MOV to CR0/CR4 ... read shadows").
// MOV to CR0/CR3/CR4/CR8: true = exited (or, for CR8 with "use TPR
// shadow", written to VTPR); else `value` is what the CPU loads (bits
// owned by the host keep their current value).
bool intercept_cr_write(Cpu& cpu, const Insn& in, unsigned cr, uint64_t& value);
// MOV from CR3/CR8 may exit; CR0/CR4 reads return the read shadow for
// host-owned bits, CR8 with "use TPR shadow" VTPR[7:4] (`value` is adjusted).
bool intercept_cr_read(Cpu& cpu, const Insn& in, unsigned cr, uint64_t& value);
// SMSW: the CR0 value it reads (read shadow for host-owned bits).
uint64_t guest_visible_cr0(const Cpu& cpu, uint64_t cr0);
// CLTS: exits when CR0.TS is host-owned and set in the shadow; `clear_ts`
// tells whether CR0.TS is cleared (not when host-owned).
bool intercept_clts(Cpu& cpu, const Insn& in, bool& clear_ts);
// LMSW with source `src` (memory operand at `linear` when `mem`): exits
// per the mask and shadow of CR0[3:0]; else `new_cr0` keeps host-owned bits.
bool intercept_lmsw(Cpu& cpu, const Insn& in, uint16_t src, bool mem, uint64_t linear, uint64_t& new_cr0);

// IN/OUT/INS/OUTS: unconditional I/O exiting or the I/O bitmaps.
struct IoAccess {
  uint16_t port;
  unsigned size;
  bool in, string, rep, immediate;
  uint64_t linear = 0;  // INS/OUTS: the linear address of the memory operand
};
bool intercept_io(Cpu& cpu, const Insn& in, const IoAccess& io);
// RDMSR/WRMSR: the MSR bitmaps, or an exit for every MSR without them.
bool intercept_msr(Cpu& cpu, const Insn& in, uint32_t index, bool write);

// An exception about to be delivered in the guest: exits per the
// exception bitmap (#PF with the error-code mask/match rule). True = exited.
bool intercept_exception(Cpu& cpu, const GuestException& e);
// INT3/INTO (type 6) and INT1 (type 5) in the guest: the exception bitmap
// decides; the exit records the instruction length.
bool intercept_software_exception(Cpu& cpu, uint8_t vector, unsigned type, unsigned length);
// An exception raised while delivering an event (vector/type/error) in the
// guest: exits per the bitmap, with IDT-vectoring information.
bool intercept_exception_in_delivery(Cpu& cpu, const GuestException& e, uint8_t vector, unsigned type,
                                     uint32_t error);
// A triple fault in the guest: VM exit (reason 2) instead of shutdown.
void triple_fault_exit(Cpu& cpu);

// #DB in the guest (SDM 27.2, Table 28-1 "Exit Qualification for Debug
// Exceptions"): whether the exception bitmap intercepts #DB. A #DB fault
// (instruction breakpoint, general detect) records its conditions here
// and leaves DR6 and DR7 alone when it exits; a #DB trap (data and I/O
// breakpoints, single step) exits with them as qualification.
bool debug_exception_exits(Cpu& cpu, uint64_t conditions);
bool intercept_debug_trap(Cpu& cpu, uint64_t conditions);

// ---- vmx/instruction_exits.cpp: the other instructions of SDM 27.1.3 ----
// PAUSE: "PAUSE exiting", or PAUSE-loop exiting at CPL 0 (PLE_Gap,
// PLE_Window in TSC ticks; SDM 26.1.3 / 27.1.3). Reason 40.
bool intercept_pause(Cpu& cpu, const Insn& in);
// MWAIT (reason 36; qualification bit 0 = monitoring hardware armed) and
// MONITOR (reason 39), after their #UD checks.
bool intercept_mwait(Cpu& cpu, const Insn& in);
bool intercept_monitor(Cpu& cpu, const Insn& in);
// A MONITOR in the guest that did not exit armed the monitoring hardware.
void monitor_armed(Cpu& cpu);
// RDRAND (57) / RDSEED (61) exiting: instruction information with the
// destination register and operand size (SDM Table 28-12 layout).
bool intercept_rdrand(Cpu& cpu, const Insn& in, bool seed);
// Descriptor-table exiting (secondary control 2): LGDT/LIDT/SGDT/SIDT
// exit with reason 46, LLDT/LTR/SLDT/STR with 47 (SDM Tables 28-10,
// 28-11), after the #UD and privilege checks and before any memory
// access. `identity`: 0 SGDT / SLDT, 1 SIDT / STR, 2 LGDT / LLDT, 3 LIDT / LTR.
bool intercept_gdtr_idtr(Cpu& cpu, const Insn& in, unsigned identity);
bool intercept_ldtr_tr(Cpu& cpu, const Insn& in, unsigned identity);
// Task switches always exit (reason 9, SDM 27.2 / Table 28-2): the
// qualification holds the new TSS selector and the source (0 CALL,
// 1 IRET, 2 JMP, 3 task gate in the IDT, with the event as IDT-vectoring
// information). `length`: the instruction's (0: none).
namespace task_source {
constexpr unsigned CALL = 0, IRET = 1, JMP = 2, IDT_GATE = 3;
}
void task_switch_exit(Cpu& cpu, uint16_t tss_selector, unsigned source, unsigned length);
void task_switch_exit_idt(Cpu& cpu, uint16_t tss_selector, uint8_t vector, unsigned type, uint32_t error,
                          unsigned length);

}  // namespace softvt::vmx
