// SSE/SSE2 floating-point comparisons: CMPPS/CMPSS/CMPPD/CMPSD with the
// predicates 0-7 of imm8[2:0] (SDM Vol. 2 CMPPS: the legacy encodings use
// only those three bits), giving all-ones or zero lanes, and
// COMISS/UCOMISS/COMISD/UCOMISD, which set ZF, PF and CF (unordered:
// all three; greater: none; less: CF; equal: ZF) and clear OF, SF and AF.
#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

using namespace sse;

unsigned predicate(const Insn& in) { return unsigned(in.imm) & 7; }

void cmpps(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 4; ++i) {
    uint32_t f = 0;
    r.set32(i, ssehost::cmp_ss(predicate(in), a.u32(i), b.u32(i), st.control(), f));
    st.lane(f);
  }
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

void cmppd(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  const Vec a = get_xmm(cpu, d);
  const Vec b = read_src128(cpu, in, 1);
  FpStatus st(cpu);
  Vec r;
  for (unsigned i = 0; i < 2; ++i) {
    uint32_t f = 0;
    r.set64(i, ssehost::cmp_sd(predicate(in), a.u64(i), b.u64(i), st.control(), f));
    st.lane(f);
  }
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

void cmpss(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  Vec r = get_xmm(cpu, d);
  const uint32_t b = uint32_t(read_scalar(cpu, in, 1, 4));
  FpStatus st(cpu);
  uint32_t f = 0;
  r.set32(0, ssehost::cmp_ss(predicate(in), r.u32(0), b, st.control(), f));
  st.lane(f);
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

void cmpsd_xmm(Cpu& cpu, const Insn& in) {
  if (!cpu.model.has(Feature::Sse2)) cpu.raise_ud();
  check_sse_available(cpu);
  const unsigned d = xmm_of(in, 0);
  Vec r = get_xmm(cpu, d);
  const uint64_t b = read_scalar(cpu, in, 1, 8);
  FpStatus st(cpu);
  uint32_t f = 0;
  r.set64(0, ssehost::cmp_sd(predicate(in), r.u64(0), b, st.control(), f));
  st.lane(f);
  st.finish(cpu);
  set_xmm(cpu, d, r);
}

// COMIS* signal invalid for QNaN operands too; UCOMIS* only for SNaN.
template <bool Double, bool Quiet>
void comis(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const uint64_t a = get_xmm(cpu, xmm_of(in, 0)).u64(0);
  const uint64_t b = read_scalar(cpu, in, 1, Double ? 8 : 4);
  FpStatus st(cpu);
  uint32_t f = 0;
  const uint32_t zpc = Double ? ssehost::comi_sd(Quiet, a, b, st.control(), f)
                              : ssehost::comi_ss(Quiet, uint32_t(a), uint32_t(b), st.control(), f);
  st.lane(f);
  st.finish(cpu);
  cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | zpc;
}

constexpr uint32_t NONE = 0;
constexpr uint32_t ARITH = uint32_t(fl::ARITH);

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_CMPPS, SOFTVT_FIXED(cmpps), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CMPSS, SOFTVT_FIXED(cmpss), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_CMPPD, SOFTVT_FIXED(cmppd), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_COMISS, SOFTVT_FIXED((comis<false, false>)), ARITH, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_UCOMISS, SOFTVT_FIXED((comis<false, true>)), ARITH, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_COMISD, SOFTVT_FIXED((comis<true, false>)), ARITH, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_UCOMISD, SOFTVT_FIXED((comis<true, true>)), ARITH, NONE, Feature::Sse2, 0},
};

}  // namespace

Handler select_sse_cmpsd(const Insn& in) { return is_xmm(in, 0) ? cmpsd_xmm : nullptr; }

std::span<const InsnRow> rows_sse_compare() { return kRows; }

}  // namespace softvt
