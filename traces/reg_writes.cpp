#include "traces/reg_writes.h"

namespace softvt::trace {

namespace {

// Mnemonics whose every form writes at most its visible register operands
// and RFLAGS (SDM Vol. 2, each instruction's "Operation"; the decoder's
// visible operands are Zydis's explicit and implicit-visible ones, e.g.
// both of XCHG's short form 90+r). Near branches write only RIP; a far
// one is refused by Insn::far_branch. Not here on purpose: PUSH/POP,
// CALL/RET, ENTER/LEAVE (RSP, RBP), LOOP*/JrCXZ and string instructions
// (RCX, RSI, RDI), CBW..CQO, LAHF, XLAT, CPUID, RDTSC(P), RDMSR, RDPID,
// CMPXCHG8B/16B, SYSCALL/SYSRET/SYSENTER/SYSEXIT, INT/IRET, SWAPGS,
// WRFSBASE/WRGSBASE, the VMX/SVM instructions, MOV to or from segment,
// control and debug registers (their operands answer ALL_REGS anyway).
constexpr ZydisMnemonic kOperandsOnly[] = {
    ZYDIS_MNEMONIC_ADD,    ZYDIS_MNEMONIC_ADC,     ZYDIS_MNEMONIC_SUB,    ZYDIS_MNEMONIC_SBB,
    ZYDIS_MNEMONIC_AND,    ZYDIS_MNEMONIC_OR,      ZYDIS_MNEMONIC_XOR,    ZYDIS_MNEMONIC_CMP,
    ZYDIS_MNEMONIC_TEST,   ZYDIS_MNEMONIC_INC,     ZYDIS_MNEMONIC_DEC,    ZYDIS_MNEMONIC_NEG,
    ZYDIS_MNEMONIC_NOT,    ZYDIS_MNEMONIC_LEA,     ZYDIS_MNEMONIC_MOV,    ZYDIS_MNEMONIC_MOVZX,
    ZYDIS_MNEMONIC_MOVSX,  ZYDIS_MNEMONIC_MOVSXD,  ZYDIS_MNEMONIC_SHL,    ZYDIS_MNEMONIC_SHR,
    ZYDIS_MNEMONIC_SAR,    ZYDIS_MNEMONIC_ROL,    ZYDIS_MNEMONIC_ROR,
    ZYDIS_MNEMONIC_RCL,    ZYDIS_MNEMONIC_RCR,     ZYDIS_MNEMONIC_SHLD,   ZYDIS_MNEMONIC_SHRD,
    ZYDIS_MNEMONIC_BT,     ZYDIS_MNEMONIC_BTS,     ZYDIS_MNEMONIC_BTR,    ZYDIS_MNEMONIC_BTC,
    ZYDIS_MNEMONIC_BSF,    ZYDIS_MNEMONIC_BSR,     ZYDIS_MNEMONIC_TZCNT,  ZYDIS_MNEMONIC_LZCNT,
    ZYDIS_MNEMONIC_POPCNT, ZYDIS_MNEMONIC_XCHG,    ZYDIS_MNEMONIC_XADD,   ZYDIS_MNEMONIC_BSWAP,
    ZYDIS_MNEMONIC_NOP,    ZYDIS_MNEMONIC_JMP,     ZYDIS_MNEMONIC_CLC,    ZYDIS_MNEMONIC_STC,
    ZYDIS_MNEMONIC_CMC,    ZYDIS_MNEMONIC_CLD,     ZYDIS_MNEMONIC_STD,    ZYDIS_MNEMONIC_ANDN,
    ZYDIS_MNEMONIC_BEXTR,  ZYDIS_MNEMONIC_BLSI,    ZYDIS_MNEMONIC_BLSMSK, ZYDIS_MNEMONIC_BLSR,
    ZYDIS_MNEMONIC_BZHI,   ZYDIS_MNEMONIC_PDEP,    ZYDIS_MNEMONIC_PEXT,   ZYDIS_MNEMONIC_RORX,
    ZYDIS_MNEMONIC_SARX,   ZYDIS_MNEMONIC_SHLX,    ZYDIS_MNEMONIC_SHRX,   ZYDIS_MNEMONIC_MULX,
    ZYDIS_MNEMONIC_ADCX,   ZYDIS_MNEMONIC_ADOX,
    // Jcc (rel8/rel32: RIP only).
    ZYDIS_MNEMONIC_JB,     ZYDIS_MNEMONIC_JBE,     ZYDIS_MNEMONIC_JL,     ZYDIS_MNEMONIC_JLE,
    ZYDIS_MNEMONIC_JNB,    ZYDIS_MNEMONIC_JNBE,    ZYDIS_MNEMONIC_JNL,    ZYDIS_MNEMONIC_JNLE,
    ZYDIS_MNEMONIC_JNO,    ZYDIS_MNEMONIC_JNP,     ZYDIS_MNEMONIC_JNS,    ZYDIS_MNEMONIC_JNZ,
    ZYDIS_MNEMONIC_JO,     ZYDIS_MNEMONIC_JP,      ZYDIS_MNEMONIC_JS,     ZYDIS_MNEMONIC_JZ,
    // SETcc, CMOVcc.
    ZYDIS_MNEMONIC_SETB,   ZYDIS_MNEMONIC_SETBE,   ZYDIS_MNEMONIC_SETL,   ZYDIS_MNEMONIC_SETLE,
    ZYDIS_MNEMONIC_SETNB,  ZYDIS_MNEMONIC_SETNBE,  ZYDIS_MNEMONIC_SETNL,  ZYDIS_MNEMONIC_SETNLE,
    ZYDIS_MNEMONIC_SETNO,  ZYDIS_MNEMONIC_SETNP,   ZYDIS_MNEMONIC_SETNS,  ZYDIS_MNEMONIC_SETNZ,
    ZYDIS_MNEMONIC_SETO,   ZYDIS_MNEMONIC_SETP,    ZYDIS_MNEMONIC_SETS,   ZYDIS_MNEMONIC_SETZ,
    ZYDIS_MNEMONIC_CMOVB,  ZYDIS_MNEMONIC_CMOVBE,  ZYDIS_MNEMONIC_CMOVL,  ZYDIS_MNEMONIC_CMOVLE,
    ZYDIS_MNEMONIC_CMOVNB, ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVNLE,
    ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVNP,  ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVNZ,
    ZYDIS_MNEMONIC_CMOVO,  ZYDIS_MNEMONIC_CMOVP,   ZYDIS_MNEMONIC_CMOVS,  ZYDIS_MNEMONIC_CMOVZ,
};

using Table = std::array<uint32_t, ZYDIS_MNEMONIC_MAX_VALUE + 1>;

constexpr uint32_t RAX = 1u << 0, RDX = 1u << 2;

constexpr Table build_implicit() {
  Table t{};
  for (uint32_t& w : t) w = ALL_REGS;
  for (ZydisMnemonic m : kOperandsOnly) t[m] = 0;
  // The one-operand forms write RDX:RAX (AX for 8-bit MUL/DIV), which the
  // decoder does not list; the others do not, but a superset is harmless.
  for (ZydisMnemonic m : {ZYDIS_MNEMONIC_MUL, ZYDIS_MNEMONIC_IMUL, ZYDIS_MNEMONIC_DIV, ZYDIS_MNEMONIC_IDIV})
    t[m] = RAX | RDX;
  t[ZYDIS_MNEMONIC_CMPXCHG] = RAX;  // SDM Vol. 2 CMPXCHG: the accumulator on a mismatch
  return t;
}

constexpr std::array<uint32_t, 256> build_operands() {
  std::array<uint32_t, 256> t{};
  for (uint32_t& w : t) w = ALL_REGS;
  for (unsigned r = 0; r < 16; ++r) t[reg::GPR0 + r] = 1u << r;
  for (unsigned r = 0; r < 4; ++r) t[reg::AH + r] = 1u << r;  // AH..BH: bits 15:8 of RAX..RBX
  return t;
}

}  // namespace

constinit const Table kImplicitGprWrites = build_implicit();
constinit const std::array<uint32_t, 256> kRegOperandGprs = build_operands();

}  // namespace softvt::trace
