// The architectural state of one CPU as one plain struct with fixed field
// offsets (DESIGN.md "The CPU core"): the interpreter, the JIT (which will
// address it from a base register), the KVM backend and snapshots all see
// the same bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace softvt {

// Segment register numbers in the hardware encoding order (ModRM.reg of
// MOV Sreg, SDM Vol. 2 Table 3-1 "Sreg").
enum SegIndex : uint8_t { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, SEG_NONE = 7 };

// Access-rights bits of a segment's hidden part, in the layout of the VMCS
// guest access-rights fields (SDM 24.4.1) so VMX can copy them unchanged.
namespace ar {
constexpr uint32_t TYPE_MASK = 0xf;
constexpr uint32_t TYPE_ACCESSED = 1;
constexpr uint32_t TYPE_RW = 2;        // data: writable; code: readable
constexpr uint32_t TYPE_DC = 4;        // data: expand-down; code: conforming
constexpr uint32_t TYPE_CODE = 8;
constexpr uint32_t S = 1u << 4;        // code/data (1) vs system (0)
constexpr uint32_t DPL_SHIFT = 5;
constexpr uint32_t P = 1u << 7;
constexpr uint32_t AVL = 1u << 12;
constexpr uint32_t L = 1u << 13;
constexpr uint32_t DB = 1u << 14;
constexpr uint32_t G = 1u << 15;
constexpr uint32_t UNUSABLE = 1u << 16;
}  // namespace ar

struct SegReg {
  uint16_t sel;
  uint16_t pad0;
  uint32_t attr;   // ar:: bits
  uint32_t limit;  // byte-granular effective limit
  uint32_t pad1;
  uint64_t base;
  uint8_t dpl() const { return (attr >> ar::DPL_SHIFT) & 3; }
};
static_assert(sizeof(SegReg) == 24);

struct DescTable {
  uint64_t base;
  uint32_t limit;
  uint32_t pad;
};

// RFLAGS bits (SDM Vol. 1 3.4.3).
namespace fl {
constexpr uint64_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7;
constexpr uint64_t TF = 1u << 8, IF = 1u << 9, DF = 1u << 10, OF = 1u << 11;
constexpr uint64_t IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16, VM = 1u << 17;
constexpr uint64_t AC = 1u << 18, VIF = 1u << 19, VIP = 1u << 20, ID = 1u << 21;
constexpr uint64_t ARITH = CF | PF | AF | ZF | SF | OF;
constexpr uint64_t FIXED1 = 1u << 1;
}  // namespace fl

// Control-register and EFER bits used by the core.
namespace cr0 {
constexpr uint64_t PE = 1u << 0, MP = 1u << 1, EM = 1u << 2, TS = 1u << 3, ET = 1u << 4;
constexpr uint64_t NE = 1u << 5, WP = 1u << 16, AM = 1u << 18, NW = 1u << 29, CD = 1u << 30;
constexpr uint64_t PG = 1ull << 31;
}  // namespace cr0
namespace cr4 {
constexpr uint64_t VME = 1u << 0, PVI = 1u << 1, TSD = 1u << 2, DE = 1u << 3, PSE = 1u << 4;
constexpr uint64_t PAE = 1u << 5, MCE = 1u << 6, PGE = 1u << 7, PCE = 1u << 8;
constexpr uint64_t OSFXSR = 1u << 9, OSXMMEXCPT = 1u << 10, UMIP = 1u << 11, LA57 = 1u << 12;
constexpr uint64_t VMXE = 1u << 13, SMXE = 1u << 14, FSGSBASE = 1u << 16, PCIDE = 1u << 17;
constexpr uint64_t OSXSAVE = 1u << 18, SMEP = 1u << 20, SMAP = 1u << 21, PKE = 1u << 22;
}  // namespace cr4
namespace efer {
constexpr uint64_t SCE = 1u << 0, LME = 1u << 8, LMA = 1u << 10, NXE = 1u << 11;
constexpr uint64_t SVME = 1u << 12, LMSLE = 1u << 13, FFXSR = 1u << 14, TCE = 1u << 15;
}  // namespace efer

// Kinds of the one-instruction interrupt shadow (SDM 6.8.3; the VMX
// interruptibility-state bits 0 and 1 of SDM 24.4.2 keep them apart).
namespace shadow {
constexpr uint8_t STI = 1;    // blocks maskable interrupts
constexpr uint8_t MOV_SS = 2; // also blocks NMI and debug traps
}  // namespace shadow

// The operating mode, derived from CR0.PE, EFER.LMA, RFLAGS.VM and CS's
// L/D bits (SDM Vol. 3A 2.2); recomputed whenever one of them changes.
enum class Mode : uint8_t { Real, V86, Prot16, Prot32, Compat16, Compat32, Long64 };

// General-purpose register numbers (the ModRM/REX encoding).
enum Gpr : uint8_t {
  RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15
};

struct alignas(64) CpuState {
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  SegReg seg[6];
  SegReg ldtr;
  SegReg tr;
  DescTable gdtr;
  DescTable idtr;
  uint64_t cr0, cr2, cr3, cr4, cr8;
  uint64_t xcr0;
  uint64_t dr[8];
  uint64_t efer;
  // MSRs of the base architecture (SDM Vol. 4 Table 2-2 names).
  uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
  uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
  // misc_enable holds IA32_MISC_ENABLE XOR its power-on value, so a zeroed
  // state is the power-on state (emu/interp/system_msrs.cpp).
  uint64_t pat, apic_base, tsc_aux, tsc_adjust, misc_enable, feature_control;
  // IA32_BIOS_SIGN_ID (Intel): written by software, given the microcode
  // update signature in bits 63:32 by CPUID leaf 1 (SDM Vol. 3A 10.11.7).
  uint64_t bios_sign_id;
  // MTRRs (SDM 11.11): IA32_MTRR_DEF_TYPE, the 11 fixed-range registers
  // (64K_00000, 16K_80000, 16K_A0000, 4K_C0000..4K_F8000) and 8 variable
  // pairs (PHYSBASE, PHYSMASK); machine-check global and bank state
  // (SDM 16.3). emu/interp/system_msrs.cpp.
  uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
  uint64_t mcg_status, mcg_ctl, mc_ctl[4];
  uint64_t tsc_offset;      // TSC = insn_count + tsc_offset (deterministic time)
  uint64_t insn_count;      // instructions retired since reset
  uint8_t cpl;
  Mode mode;
  uint8_t code_size;        // 2, 4 or 8: default operand/address size of CS
  uint8_t stack_size;       // 2, 4 or 8: SS.B / long mode
  uint8_t interrupt_shadow; // shadow:: bits, blocking for one instruction
  uint8_t halted;
  uint8_t nmi_blocked;      // an NMI handler runs: blocked until the next IRET (SDM 6.7.1)
  // Some AMD legacy counter (perf_ctl below) is enabled for retired
  // instructions: recomputed when a PERF_CTL is written (emu/pmu.h).
  uint8_t amd_counting;
  // The architectural PMU of the intel model (emu/pmu.h): IA32_FIXED_CTR0,
  // IA32_FIXED_CTR_CTRL, IA32_PERF_GLOBAL_CTRL and _STATUS (0 at reset).
  uint64_t fixed_ctr0, fixed_ctr_ctrl, perf_global_ctrl, perf_global_status;
  // The AMD legacy performance counters of the amd model (emu/pmu.h):
  // PERF_CTL0-3 (C001_0000h-3h) and PERF_CTR0-3 (C001_0004h-7h), 0 at reset.
  uint64_t perf_ctl[4], perf_ctr[4];
  // x87/SSE/AVX state in the XSAVE layout (SDM Vol. 1 13.4): legacy region
  // (FXSAVE image) at 0, XSAVE header at 512, extended components after.
  alignas(64) uint8_t xsave[4096];
};

// Offsets the JIT and the KVM backend rely on.
static_assert(offsetof(CpuState, gpr) == 0);
static_assert(offsetof(CpuState, rip) == 128);
static_assert(offsetof(CpuState, rflags) == 136);
// XMM registers live in the legacy region at offset 160 (SDM Vol. 1 Table 10-2).
constexpr size_t XSAVE_XMM0_OFFSET = 160;

}  // namespace softvt
