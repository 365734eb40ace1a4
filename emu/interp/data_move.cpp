// Data movement (SDM Vol. 2): MOV, MOVZX, MOVSX, MOVSXD, XCHG, BSWAP,
// MOVBE, CMOVcc, SETcc, LEA, CBW/CWDE/CDQE, CWD/CDQ/CQO, XLAT, LAHF/SAHF,
// the NOPs (NOP, 0F 1F /0, PAUSE, ENDBR32/64) and the simple flag
// instructions CLC, STC, CMC, CLD, STD.
#include "emu/interp/flags.h"
#include "emu/interp/system_forms.h"
#include "emu/interp/table.h"
#include "vmx/nonroot.h"
#include "svm/intercepts.h"

namespace softvt {

namespace {

constexpr uint64_t LAHF_FLAGS = fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF;

bool is_reg_in(const Operand& o, unsigned first, unsigned count) {
  return o.kind == OpKind::Reg && o.reg >= first && o.reg < first + count;
}

// ---- MOV ---------------------------------------------------------------

template <unsigned N>
void mov(Cpu& cpu, const Insn& in) {
  write_operand<N>(cpu, in, 0, read_operand<N>(cpu, in, 1));
}

// GPR, memory, immediate and moffs forms are handled here; the segment,
// control and debug register forms belong to the system group. The MOV row
// does not end blocks (that would cut every block at every MOV): those
// handlers set cpu.end_block when they change CS, the mode or paging.
Handler select_mov(const Insn& in) {
  for (unsigned i = 0; i < 2; ++i) {
    if (is_reg_in(in.op[i], reg::SEG0, 6)) return mov_sreg_handler(in);
    if (is_reg_in(in.op[i], reg::CR0, 32)) return mov_crdr_handler(in);  // CR0-15, DR0-15
  }
  return SOFTVT_SIZED(mov)(in);
}

// ---- MOVZX / MOVSX / MOVSXD ---------------------------------------------
// The source (S bytes) is zero- or sign-extended to the operand size N.

template <unsigned N, unsigned S, bool Signed>
void move_extend(Cpu& cpu, const Insn& in) {
  uint64_t v = read_operand<S>(cpu, in, 1);
  if constexpr (Signed) v = uint64_t(sext<S>(v));
  write_operand<N>(cpu, in, 0, v & size_mask<N>());
}

template <bool Signed, unsigned N>
Handler extend_from(unsigned src_size) {
  switch (src_size) {
    case 1: return move_extend<N, 1, Signed>;
    case 2: return move_extend<N, 2, Signed>;
    case 4:
      if constexpr (N >= 4) return move_extend<N, 4, Signed>;
      return nullptr;
    default: return nullptr;
  }
}

template <bool Signed>
Handler select_extend(const Insn& in) {
  if (in.nops < 2) return nullptr;
  switch (in.opsize) {
    case 2: return extend_from<Signed, 2>(in.op[1].size);
    case 4: return extend_from<Signed, 4>(in.op[1].size);
    case 8: return extend_from<Signed, 8>(in.op[1].size);
    default: return nullptr;
  }
}

// SDM MOVSX/MOVSXD: MOVSXD r64, r/m32 sign-extends; without REX.W the
// forms are MOVSXD r32, r/m32 and MOVSXD r16, r/m16, plain moves. (Zydis
// reports a 32-bit memory source for the 16-bit form; the SDM's r/m16 is
// what is accessed here.)
Handler select_movsxd(const Insn& in) {
  switch (in.opsize) {
    case 2: return move_extend<2, 2, true>;
    case 4: return move_extend<4, 4, true>;
    case 8: return move_extend<8, 4, true>;
    default: return nullptr;
  }
}

// ---- XCHG ----------------------------------------------------------------
// With a memory operand XCHG is always locked (SDM XCHG); a single-threaded
// interpreter satisfies that trivially. The memory side is checked for
// writing before anything changes, and written before the register.

template <unsigned N>
void xchg(Cpu& cpu, const Insn& in) {
  const unsigned m = is_mem(in, 1) ? 1 : 0;
  const unsigned r = 1 - m;
  const uint64_t a = read_dest<N>(cpu, in, m);
  const uint64_t b = read_operand<N>(cpu, in, r);
  write_operand<N>(cpu, in, m, b);
  write_operand<N>(cpu, in, r, a);
}

// ---- BSWAP / MOVBE -------------------------------------------------------

template <unsigned N>
uint64_t byte_swap(uint64_t v) {
  if constexpr (N == 8) return __builtin_bswap64(v);
  else if constexpr (N == 4) return __builtin_bswap32(uint32_t(v));
  else return __builtin_bswap16(uint16_t(v));
}

template <unsigned N>
void bswap(Cpu& cpu, const Insn& in) {
  const uint8_t r = in.op[0].reg;
  if constexpr (N == 2) {
    // SDM BSWAP: the result for a 16-bit register is undefined. Hardware
    // clears the low 16 bits (observed on the host, AMD Zen 4, and the
    // documented behaviour of Intel cores); the upper bits are unchanged.
    cpu.set_reg(r, 2, 0);
  } else {
    cpu.set_reg(r, N, byte_swap<N>(cpu.get_reg(r, N)));
  }
}

template <unsigned N>
void movbe(Cpu& cpu, const Insn& in) {
  write_operand<N>(cpu, in, 0, byte_swap<N>(read_operand<N>(cpu, in, 1)));
}

// ---- CMOVcc / SETcc (cc = low nibble of the opcode, SDM Appendix B.1) ----

// The source is read (and may fault) whatever the condition. In 64-bit
// mode a 32-bit CMOV writes the destination even when the condition is
// false, clearing bits 63:32 (SDM CMOVcc).
template <unsigned CC, unsigned N>
void cmov(Cpu& cpu, const Insn& in) {
  const uint8_t d = in.op[0].reg;
  const uint64_t v = read_operand<N>(cpu, in, 1);
  if (condition(cpu, CC)) cpu.set_reg(d, N, v);
  else if constexpr (N == 4) cpu.set_reg(d, 4, cpu.get_reg(d, 4));
}

template <unsigned CC>
Handler select_cmov(const Insn& in) {
  switch (in.opsize) {
    case 2: return cmov<CC, 2>;
    case 4: return cmov<CC, 4>;
    case 8: return cmov<CC, 8>;
    default: return nullptr;
  }
}

template <unsigned CC>
void setcc(Cpu& cpu, const Insn& in) {
  write_operand<1>(cpu, in, 0, condition(cpu, CC) ? 1 : 0);
}

template <unsigned CC>
Handler select_setcc(const Insn&) {
  return setcc<CC>;
}

// ---- LEA -----------------------------------------------------------------
// The address is computed at the address size, then truncated or
// zero-extended to the operand size (SDM LEA, Table 3-54); no memory is
// accessed and the segment is ignored.

template <unsigned N>
void lea(Cpu& cpu, const Insn& in) {
  cpu.set_reg(in.op[0].reg, N, effective_address(cpu, in));
}

Handler select_lea(const Insn& in) {
  if (in.mem_op == 0xff || in.op[0].kind != OpKind::Reg) return nullptr;
  return SOFTVT_SIZED_WDQ(lea)(in);
}

// ---- accumulator sign extension -----------------------------------------

void cbw(Cpu& cpu, const Insn&) { cpu.set_reg(RAX, 2, uint64_t(sext<1>(cpu.s.gpr[RAX]))); }
void cwde(Cpu& cpu, const Insn&) { cpu.set_reg(RAX, 4, uint64_t(sext<2>(cpu.s.gpr[RAX]))); }
void cdqe(Cpu& cpu, const Insn&) { cpu.set_reg(RAX, 8, uint64_t(sext<4>(cpu.s.gpr[RAX]))); }

// rDX := the sign of rAX replicated (SDM CWD/CDQ/CQO).
template <unsigned N>
void sign_to_rdx(Cpu& cpu, const Insn&) {
  const bool negative = cpu.s.gpr[RAX] & sign_bit<N>();
  cpu.set_reg(RDX, N, negative ? size_mask<N>() : 0);
}

// ---- XLAT ----------------------------------------------------------------
// AL := [seg:rBX + zero-extended AL], the sum wrapped to the address size;
// DS by default, overridable (SDM XLAT).
void xlat(Cpu& cpu, const Insn& in) {
  const uint64_t off = (cpu.s.gpr[RBX] + (cpu.s.gpr[RAX] & 0xff)) & mask_of(in.addrsize);
  cpu.set_reg(RAX, 1, cpu.read(in.seg, off, 1));
}

// ---- LAHF / SAHF ---------------------------------------------------------
// Valid in 64-bit mode only if CPUID.80000001H:ECX.LAHF-SAHF[0] = 1
// (SDM LAHF, SAHF: 64-Bit Mode Exceptions).
void require_lahf_sahf(Cpu& cpu) {
  if (cpu.in_64bit() && !cpu.model.has(Feature::LahfLm)) cpu.raise_ud();
}

// AH := SF:ZF:0:AF:0:PF:1:CF.
void lahf(Cpu& cpu, const Insn&) {
  require_lahf_sahf(cpu);
  cpu.set_reg(reg::AH, 1, (cpu.s.rflags & LAHF_FLAGS) | fl::FIXED1);
}

// SF, ZF, AF, PF, CF := AH bits 7, 6, 4, 2, 0; bits 1, 3, 5 are ignored.
void sahf(Cpu& cpu, const Insn&) {
  require_lahf_sahf(cpu);
  const uint64_t ah = cpu.get_reg(reg::AH, 1);
  cpu.s.rflags = (cpu.s.rflags & ~LAHF_FLAGS) | (ah & LAHF_FLAGS);
}

// ---- NOPs and flag instructions ------------------------------------------

// NOP, the multi-byte NOP 0F 1F /0 (its memory operand is not accessed),
// the reserved-NOP space Zydis folds into NOP, PAUSE (a spin-loop hint) and
// ENDBR32/64 (a NOP without CET).
void nop(Cpu&, const Insn&) {}
// PAUSE: a spin-loop hint, a NOP to the architecture, except where a
// hypervisor asks to see it: "PAUSE exiting" and PAUSE-loop exiting in
// VMX non-root operation (SDM Vol. 3C 27.1.3), the PAUSE intercept with
// its filter in an SVM guest (APM 15.14.4).
void pause(Cpu& cpu, const Insn& in) {
  if (cpu.vmx.non_root) vmx::intercept_pause(cpu, in);
  else if (cpu.svm.guest_mode) svm::intercept_pause(cpu);
}

void clc(Cpu& cpu, const Insn&) { cpu.s.rflags &= ~fl::CF; }
void stc(Cpu& cpu, const Insn&) { cpu.s.rflags |= fl::CF; }
void cmc(Cpu& cpu, const Insn&) { cpu.s.rflags ^= fl::CF; }
void cld(Cpu& cpu, const Insn&) { cpu.s.rflags &= ~fl::DF; }
void std_(Cpu& cpu, const Insn&) { cpu.s.rflags |= fl::DF; }

constexpr uint32_t NONE = 0;

#define SOFTVT_CC_ROWS(prefix, select, f)                                       \
  {ZYDIS_MNEMONIC_##prefix##O, select<0x0>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NO, select<0x1>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##B, select<0x2>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NB, select<0x3>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##Z, select<0x4>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NZ, select<0x5>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##BE, select<0x6>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##NBE, select<0x7>, NONE, NONE, f, 0},                \
  {ZYDIS_MNEMONIC_##prefix##S, select<0x8>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NS, select<0x9>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##P, select<0xa>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NP, select<0xb>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##L, select<0xc>, NONE, NONE, f, 0},                  \
  {ZYDIS_MNEMONIC_##prefix##NL, select<0xd>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##LE, select<0xe>, NONE, NONE, f, 0},                 \
  {ZYDIS_MNEMONIC_##prefix##NLE, select<0xf>, NONE, NONE, f, 0}

constexpr uint32_t CF = uint32_t(fl::CF), DF = uint32_t(fl::DF);

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_MOV, select_mov, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVZX, select_extend<false>, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVSX, select_extend<true>, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVSXD, select_movsxd, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_XCHG, SOFTVT_SIZED(xchg), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_BSWAP, SOFTVT_SIZED_WDQ(bswap), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVBE, SOFTVT_SIZED_WDQ(movbe), NONE, NONE, Feature::Movbe, 0},
    {ZYDIS_MNEMONIC_LEA, select_lea, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CBW, SOFTVT_FIXED(cbw), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CWDE, SOFTVT_FIXED(cwde), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CDQE, SOFTVT_FIXED(cdqe), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CWD, SOFTVT_FIXED(sign_to_rdx<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CDQ, SOFTVT_FIXED(sign_to_rdx<4>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CQO, SOFTVT_FIXED(sign_to_rdx<8>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_XLAT, SOFTVT_FIXED(xlat), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LAHF, SOFTVT_FIXED(lahf), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SAHF, SOFTVT_FIXED(sahf), uint32_t(LAHF_FLAGS), NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_NOP, SOFTVT_FIXED(nop), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PAUSE, SOFTVT_FIXED(pause), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ENDBR32, SOFTVT_FIXED(nop), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ENDBR64, SOFTVT_FIXED(nop), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CLC, SOFTVT_FIXED(clc), CF, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STC, SOFTVT_FIXED(stc), CF, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMC, SOFTVT_FIXED(cmc), CF, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CLD, SOFTVT_FIXED(cld), DF, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STD, SOFTVT_FIXED(std_), DF, NONE, Feature::Base, 0},
    SOFTVT_CC_ROWS(SET, select_setcc, Feature::Base),
    SOFTVT_CC_ROWS(CMOV, select_cmov, Feature::Cmov),
};

#undef SOFTVT_CC_ROWS

}  // namespace

std::span<const InsnRow> rows_data_move() { return kRows; }

}  // namespace softvt
