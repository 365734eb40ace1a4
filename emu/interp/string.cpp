// String instructions (SDM Vol. 2): MOVS, CMPS, SCAS, LODS, STOS, INS,
// OUTS in their B/W/D/Q sizes, with the REP/REPE/REPNE prefixes (SDM REP).
//
// Addressing (SDM Vol. 1 3.7.5, 7.3.9): the source is seg:rSI with seg = DS
// unless overridden (the decoder puts it in Insn::seg, string instructions
// having no visible memory operand); the destination is always ES:rDI and
// cannot be overridden. The address size picks SI/ESI/RSI, DI/EDI/RDI and
// CX/ECX/RCX: a 16-bit index wraps at 64 KiB and changes only the low 16
// bits of its register; a 32-bit one is written as a 32-bit register.
// rSI/rDI step by the operand size, down when DF = 1.
//
// REP: while the count register is not zero, one iteration, then count -= 1,
// then (CMPS/SCAS only) REPE stops on ZF = 0 and REPNE on ZF = 1. All
// iterations run inside one handler call, so a REP instruction retires as
// one instruction. Each iteration commits rSI/rDI/rCX after its accesses,
// so a fault in iteration k is delivered with RIP at the instruction and
// the registers describing the k iterations done: the instruction restarts
// where it stopped (SDM Vol. 3A 6.6, "instruction restart").
#include "emu/interp/flags.h"
#include "emu/interp/system_forms.h"
#include "emu/interp/table.h"

namespace softvt {

// Stand-in until the system group's I/O permission check (CPL/IOPL, then
// the TSS I/O bitmap) is linked in: allowed in real mode and at CPL <= IOPL
// outside virtual-8086 mode; refused otherwise (the bitmap would decide).
__attribute__((weak)) bool io_permitted(Cpu& cpu, uint16_t, unsigned) {
  if (cpu.s.mode == Mode::Real) return true;
  if (cpu.s.mode == Mode::V86) return false;
  return cpu.s.cpl <= ((cpu.s.rflags & fl::IOPL) >> 12);
}

namespace {

// The step of rSI/rDI per element: +N, or -N when DF = 1.
uint64_t element_step(const Cpu& cpu, unsigned n) {
  return (cpu.s.rflags & fl::DF) ? uint64_t(0) - n : uint64_t(n);
}

uint64_t index_reg(const Cpu& cpu, uint8_t r, const Insn& in) { return cpu.get_reg(r, in.addrsize); }

void advance(Cpu& cpu, uint8_t r, const Insn& in, unsigned n) {
  cpu.set_reg(r, in.addrsize, cpu.s.gpr[r] + element_step(cpu, n));
}

bool has_rep(const Insn& in) { return in.prefixes & (pfx::REP | pfx::REPNE); }

// Runs `step` once, or as the REP prefix says. `zf_ends` marks CMPS/SCAS,
// whose F3 means REPE and F2 REPNE; for the other string instructions
// either prefix means REP.
template <class Step>
void repeat(Cpu& cpu, const Insn& in, bool zf_ends, Step step) {
  if (!has_rep(in)) {
    step();
    return;
  }
  const unsigned a = in.addrsize;
  const bool repne = in.prefixes & pfx::REPNE;
  while (cpu.get_reg(RCX, a) != 0) {
    step();
    cpu.set_reg(RCX, a, cpu.s.gpr[RCX] - 1);
    if (zf_ends && bool(cpu.s.rflags & fl::ZF) == repne) break;
  }
}

uint16_t io_port(const Cpu& cpu) { return uint16_t(cpu.s.gpr[RDX]); }

void check_io(Cpu& cpu, unsigned size) {
  if (!io_permitted(cpu, io_port(cpu), size)) cpu.raise_gp0();
}

// ---- the instructions --------------------------------------------------------

template <unsigned N>
void movs(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, false, [&] {
    const uint64_t v = cpu.read(in.seg, index_reg(cpu, RSI, in), N);
    cpu.write(ES, index_reg(cpu, RDI, in), N, v);
    advance(cpu, RSI, in, N);
    advance(cpu, RDI, in, N);
  });
}

// Flags as CMP [seg:rSI], [ES:rDI] (SDM CMPS: SRC1 - SRC2).
template <unsigned N>
void cmps(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, true, [&] {
    const uint64_t a = cpu.read(in.seg, index_reg(cpu, RSI, in), N);
    const uint64_t b = cpu.read(ES, index_reg(cpu, RDI, in), N);
    set_arith_flags(cpu, sub_flags<N>(a, b, a - b, 0));
    advance(cpu, RSI, in, N);
    advance(cpu, RDI, in, N);
  });
}

// Flags as CMP rAX, [ES:rDI].
template <unsigned N>
void scas(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, true, [&] {
    const uint64_t a = cpu.get_reg(RAX, N);
    const uint64_t b = cpu.read(ES, index_reg(cpu, RDI, in), N);
    set_arith_flags(cpu, sub_flags<N>(a, b, a - b, 0));
    advance(cpu, RDI, in, N);
  });
}

template <unsigned N>
void lods(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, false, [&] {
    const uint64_t v = cpu.read(in.seg, index_reg(cpu, RSI, in), N);
    cpu.set_reg(RAX, N, v);
    advance(cpu, RSI, in, N);
  });
}

template <unsigned N>
void stos(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, false, [&] {
    cpu.write(ES, index_reg(cpu, RDI, in), N, cpu.get_reg(RAX, N));
    advance(cpu, RDI, in, N);
  });
}

// INS: [ES:rDI] := port DX. The I/O permission check comes first (SDM INS
// Operation). The destination is checked for writing before the port is
// read, so a faulting store does not consume device data that the restarted
// instruction would then miss. Unclaimed ports read as all ones.
template <unsigned N>
void ins(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, false, [&] {
    check_io(cpu, N);
    const bool user = cpu.user_access();
    const uint64_t lin = cpu.linear(ES, index_reg(cpu, RDI, in), N, Acc::Write);
    cpu.probe_write_lin(lin, N, user);
    const uint64_t v = cpu.io_read ? cpu.io_read(io_port(cpu), N) : size_mask<N>();
    cpu.write_lin(lin, N, v & size_mask<N>(), user);
    advance(cpu, RDI, in, N);
  });
}

// OUTS: port DX := [seg:rSI] (SDM OUTS).
template <unsigned N>
void outs(Cpu& cpu, const Insn& in) {
  repeat(cpu, in, false, [&] {
    check_io(cpu, N);
    const uint64_t v = cpu.read(in.seg, index_reg(cpu, RSI, in), N);
    if (cpu.io_write) cpu.io_write(io_port(cpu), N, v);
    advance(cpu, RSI, in, N);
  });
}

// Zydis names the SSE2 scalar instructions MOVSD (F2 0F 10/11) and CMPSD
// (F2 0F C2) like the string forms; those have visible XMM operands and are
// not implemented here (nullptr: #UD) until an SSE group takes them over.
Handler select_movsd(const Insn& in) { return in.nops == 0 ? movs<4> : nullptr; }
Handler select_cmpsd(const Insn& in) { return in.nops == 0 ? cmps<4> : nullptr; }

constexpr uint32_t NONE = 0;
constexpr uint32_t ARITH = uint32_t(fl::ARITH);

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_MOVSB, SOFTVT_FIXED(movs<1>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVSW, SOFTVT_FIXED(movs<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVSD, select_movsd, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_MOVSQ, SOFTVT_FIXED(movs<8>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPSB, SOFTVT_FIXED(cmps<1>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPSW, SOFTVT_FIXED(cmps<2>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPSD, select_cmpsd, ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMPSQ, SOFTVT_FIXED(cmps<8>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SCASB, SOFTVT_FIXED(scas<1>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SCASW, SOFTVT_FIXED(scas<2>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SCASD, SOFTVT_FIXED(scas<4>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SCASQ, SOFTVT_FIXED(scas<8>), ARITH, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LODSB, SOFTVT_FIXED(lods<1>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LODSW, SOFTVT_FIXED(lods<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LODSD, SOFTVT_FIXED(lods<4>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LODSQ, SOFTVT_FIXED(lods<8>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STOSB, SOFTVT_FIXED(stos<1>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STOSW, SOFTVT_FIXED(stos<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STOSD, SOFTVT_FIXED(stos<4>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_STOSQ, SOFTVT_FIXED(stos<8>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INSB, SOFTVT_FIXED(ins<1>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INSW, SOFTVT_FIXED(ins<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INSD, SOFTVT_FIXED(ins<4>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_OUTSB, SOFTVT_FIXED(outs<1>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_OUTSW, SOFTVT_FIXED(outs<2>), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_OUTSD, SOFTVT_FIXED(outs<4>), NONE, NONE, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_string() { return kRows; }

}  // namespace softvt
