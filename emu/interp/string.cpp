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
// then (CMPS/SCAS only) REPE stops on ZF = 0 and REPNE on ZF = 1. Each
// iteration commits rSI/rDI/rCX after its accesses, so a fault in iteration
// k is delivered with RIP at the instruction and the registers describing
// the k iterations done: the instruction restarts where it stopped (SDM
// Vol. 3A 6.6, "instruction restart"). The same property lets one handler
// call do at most REP_ITERATIONS_PER_STEP iterations: with iterations left
// it leaves RIP on the instruction and marks it unfinished (Cpu::
// insn_unfinished), the run loop executes it again without counting it, and
// it retires once, when the count runs out or REPE/REPNE ends it. Hardware
// likewise suspends a repeated string operation for an exception or
// interrupt between iterations and resumes it from the registers (SDM Vol. 2
// REP), so a count of 2^64 - 1 can neither stall the run loop nor outlast
// --max-insns (docs/decisions.md "REP string instructions and the
// instruction limit").
#include <algorithm>
#include <cstring>

#include "emu/interp/flags.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/system_forms.h"
#include "emu/interp/table.h"

namespace softvt {

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

// Ends this handler call of a REP instruction with iterations left: RIP
// stays on it and it does not retire yet (the run loop resumes it).
void leave_unfinished(Cpu& cpu) {
  cpu.next_rip = cpu.s.rip;
  cpu.insn_unfinished = true;
}

// Runs `step` once, or as the REP prefix says, at most
// REP_ITERATIONS_PER_STEP times per call. `zf_ends` marks CMPS/SCAS, whose
// F3 means REPE and F2 REPNE; for the other string instructions either
// prefix means REP.
template <class Step>
void repeat(Cpu& cpu, const Insn& in, bool zf_ends, Step step) {
  if (!has_rep(in)) {
    step();
    return;
  }
  const unsigned a = in.addrsize;
  const bool repne = in.prefixes & pfx::REPNE;
  for (uint64_t done = 0; cpu.get_reg(RCX, a) != 0; ++done) {
    if (done == REP_ITERATIONS_PER_STEP) return leave_unfinished(cpu);
    step();
    cpu.set_reg(RCX, a, cpu.s.gpr[RCX] - 1);
    if (zf_ends && bool(cpu.s.rflags & fl::ZF) == repne) break;
  }
}

uint16_t io_port(const Cpu& cpu) { return uint16_t(cpu.s.gpr[RDX]); }

void check_io(Cpu& cpu, unsigned size) {
  if (!io_permitted(cpu, io_port(cpu), size)) cpu.raise_gp0();
}

// ---- the REP MOVS/STOS fast path ---------------------------------------------
// Runs of elements lying in one page of plain RAM are moved through host
// pointers, after the segment and paging checks the element loop would
// make for them; the registers are updated once per run. Whatever is not
// such a run (DF = 1, 16-bit addresses, an element crossing a page or about
// to wrap the address size, MMIO, a page holding decoded code, any fault)
// takes one exact step of the element loop, which raises faults at the
// right element. Elements are copied one at a time in order, so overlapping
// MOVS behaves exactly like the element loop.

// Host address of `len` bytes at seg:off if the whole range is RAM in one
// page that allows `acc` now; nullptr otherwise (nothing is raised).
uint8_t* host_run(Cpu& cpu, uint8_t seg, uint64_t off, uint64_t len, Acc acc) {
  try {
    const uint64_t lin = cpu.linear(seg, off, len, acc);
    if ((lin & 0xfff) + len > 0x1000) return nullptr;
    const bool user = cpu.user_access();
    const TlbEntry& e = cpu.translate(lin, acc, user);
    if (!e.host || !(e.perm & tlb_need(acc, user))) return nullptr;
    return e.host + (lin & 0xfff);
  } catch (const GuestException&) {
    return nullptr;
  }
}

// How many elements of N bytes from seg:off fit before the end of its page
// and before the offset wraps at a 32-bit address size.
template <unsigned N>
uint64_t run_room(Cpu& cpu, uint8_t seg, uint64_t off, const Insn& in) {
  uint64_t lin;
  try {
    lin = cpu.linear(seg, off, N, Acc::Read);
  } catch (const GuestException&) {
    return 0;
  }
  uint64_t room = (0x1000 - (lin & 0xfff)) / N;
  if (in.addrsize == 4) room = std::min(room, ((uint64_t(1) << 32) - off) / N);
  return room;
}

bool fast_path_applies(const Cpu& cpu, const Insn& in) {
  return has_rep(in) && in.addrsize != 2 && !(cpu.s.rflags & fl::DF);
}

// One run of at most `max` elements of REP STOS; returns the number of
// elements stored (0: none).
template <unsigned N>
uint64_t stos_run(Cpu& cpu, const Insn& in, uint64_t max) {
  const uint64_t count = cpu.get_reg(RCX, in.addrsize);
  const uint64_t di = index_reg(cpu, RDI, in);
  const uint64_t k = std::min({count, max, run_room<N>(cpu, ES, di, in)});
  if (k == 0) return 0;
  uint8_t* dst = host_run(cpu, ES, di, k * N, Acc::Write);
  if (!dst) return 0;
  const uint64_t v = cpu.get_reg(RAX, N);
  for (uint64_t i = 0; i < k; ++i) std::memcpy(dst + i * N, &v, N);
  cpu.set_reg(RDI, in.addrsize, cpu.s.gpr[RDI] + k * N);
  cpu.set_reg(RCX, in.addrsize, count - k);
  return k;
}

// One run of at most `max` elements of REP MOVS; returns the number of
// elements moved (0: none).
template <unsigned N>
uint64_t movs_run(Cpu& cpu, const Insn& in, uint64_t max) {
  const uint64_t count = cpu.get_reg(RCX, in.addrsize);
  const uint64_t si = index_reg(cpu, RSI, in), di = index_reg(cpu, RDI, in);
  const uint64_t k = std::min(
      {count, max, run_room<N>(cpu, in.seg, si, in), run_room<N>(cpu, ES, di, in)});
  if (k == 0) return 0;
  const uint8_t* src = host_run(cpu, in.seg, si, k * N, Acc::Read);
  if (!src) return 0;
  uint8_t* dst = host_run(cpu, ES, di, k * N, Acc::Write);
  if (!dst) return 0;
  for (uint64_t i = 0; i < k; ++i) {
    uint64_t v;
    std::memcpy(&v, src + i * N, N);
    std::memcpy(dst + i * N, &v, N);
  }
  cpu.set_reg(RSI, in.addrsize, cpu.s.gpr[RSI] + k * N);
  cpu.set_reg(RDI, in.addrsize, cpu.s.gpr[RDI] + k * N);
  cpu.set_reg(RCX, in.addrsize, count - k);
  return k;
}

// REP with runs: a run when one applies, otherwise one exact element; at
// most REP_ITERATIONS_PER_STEP elements per call, as `repeat` does.
template <class Run, class Step>
void repeat_in_runs(Cpu& cpu, const Insn& in, Run run, Step step) {
  const unsigned a = in.addrsize;
  uint64_t left = REP_ITERATIONS_PER_STEP;
  while (cpu.get_reg(RCX, a) != 0) {
    if (left == 0) return leave_unfinished(cpu);
    uint64_t k = run(left);
    if (k == 0) {
      step();
      cpu.set_reg(RCX, a, cpu.s.gpr[RCX] - 1);
      k = 1;
    }
    left -= k;
  }
}

// ---- the instructions --------------------------------------------------------

template <unsigned N>
void movs(Cpu& cpu, const Insn& in) {
  auto step = [&] {
    const uint64_t v = cpu.read(in.seg, index_reg(cpu, RSI, in), N);
    cpu.write(ES, index_reg(cpu, RDI, in), N, v);
    advance(cpu, RSI, in, N);
    advance(cpu, RDI, in, N);
  };
  if (fast_path_applies(cpu, in))
    repeat_in_runs(cpu, in, [&](uint64_t max) { return movs_run<N>(cpu, in, max); }, step);
  else repeat(cpu, in, false, step);
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
  auto step = [&] {
    cpu.write(ES, index_reg(cpu, RDI, in), N, cpu.get_reg(RAX, N));
    advance(cpu, RDI, in, N);
  };
  if (fast_path_applies(cpu, in))
    repeat_in_runs(cpu, in, [&](uint64_t max) { return stos_run<N>(cpu, in, max); }, step);
  else repeat(cpu, in, false, step);
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
// (F2 0F C2) like the string forms; those have visible XMM operands and go
// to the SSE group's handlers (emu/interp/sse_move.cpp, sse_compare.cpp).
Handler select_movsd(const Insn& in) { return in.nops == 0 ? movs<4> : select_sse_movsd(in); }
Handler select_cmpsd(const Insn& in) { return in.nops == 0 ? cmps<4> : select_sse_cmpsd(in); }

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
