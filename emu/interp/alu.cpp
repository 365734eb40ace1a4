// Integer arithmetic and logic: ADD, ADC, SUB, SBB, CMP, AND, OR, XOR,
// TEST, INC, DEC, NEG, NOT (SDM Vol. 2, each instruction's "Operation" and
// "Flags Affected" sections).
//
// LOCK: legal only with a memory destination for ADD, ADC, SUB, SBB, AND,
// OR, XOR, INC, DEC, NEG and NOT (SDM Vol. 2 LOCK: "#UD if the LOCK prefix
// is used with an instruction not listed or if the destination is not a
// memory operand"). The interpreter runs one instruction at a time, so a
// read-modify-write of a memory destination is already atomic; the
// selectors only reject the illegal register forms.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"

namespace softvt {
namespace {

// a + b + carry_in and a - b - borrow_in, with their flags.
template <unsigned N>
uint64_t add_with_flags(Cpu& cpu, uint64_t a, uint64_t b, uint64_t carry_in) {
  uint64_t r = (a + b + carry_in) & size_mask<N>();
  set_arith_flags(cpu, add_flags<N>(a, b, r, carry_in));
  return r;
}

template <unsigned N>
uint64_t sub_with_flags(Cpu& cpu, uint64_t a, uint64_t b, uint64_t borrow_in) {
  uint64_t r = (a - b - borrow_in) & size_mask<N>();
  set_arith_flags(cpu, sub_flags<N>(a, b, r, borrow_in));
  return r;
}

// AND, OR, XOR, TEST: OF = CF = 0; SF, ZF, PF from the result; AF is
// undefined (SDM Vol. 2 AND "Flags Affected"); Zen 4 and current Intel
// cores clear it, which logic_flags does.
template <unsigned N>
uint64_t logic_with_flags(Cpu& cpu, uint64_t r) {
  r &= size_mask<N>();
  set_arith_flags(cpu, logic_flags<N>(r));
  return r;
}

// Read-modify-write of operand 0 with operand 1: "DEST <- DEST op SRC".
template <unsigned N, typename Op>
void rmw_binary(Cpu& cpu, const Insn& in, Op op) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  uint64_t b = read_operand<N>(cpu, in, 1);
  write_operand<N>(cpu, in, 0, op(cpu, a, b));
}

template <unsigned N>
void add(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) { return add_with_flags<N>(c, a, b, 0); });
}

template <unsigned N>
void adc(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) {
    return add_with_flags<N>(c, a, b, c.flag(fl::CF));
  });
}

template <unsigned N>
void sub(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) { return sub_with_flags<N>(c, a, b, 0); });
}

template <unsigned N>
void sbb(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) {
    return sub_with_flags<N>(c, a, b, c.flag(fl::CF));
  });
}

template <unsigned N>
void and_(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) { return logic_with_flags<N>(c, a & b); });
}

template <unsigned N>
void or_(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) { return logic_with_flags<N>(c, a | b); });
}

template <unsigned N>
void xor_(Cpu& cpu, const Insn& in) {
  rmw_binary<N>(cpu, in, [](Cpu& c, uint64_t a, uint64_t b) { return logic_with_flags<N>(c, a ^ b); });
}

// CMP and TEST only read their first operand: it faults as a read.
template <unsigned N>
void cmp(Cpu& cpu, const Insn& in) {
  uint64_t a = read_operand<N>(cpu, in, 0);
  uint64_t b = read_operand<N>(cpu, in, 1);
  sub_with_flags<N>(cpu, a, b, 0);
}

template <unsigned N>
void test(Cpu& cpu, const Insn& in) {
  uint64_t a = read_operand<N>(cpu, in, 0);
  uint64_t b = read_operand<N>(cpu, in, 1);
  logic_with_flags<N>(cpu, a & b);
}

// INC and DEC: like ADD/SUB 1 but CF is preserved (SDM Vol. 2 INC, DEC:
// "The CF flag is not affected").
template <unsigned N>
void inc(Cpu& cpu, const Insn& in) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  uint64_t r = (a + 1) & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  set_arith_flags(cpu, (add_flags<N>(a, 1, r, 0) & ~fl::CF) | (cpu.s.rflags & fl::CF));
}

template <unsigned N>
void dec(Cpu& cpu, const Insn& in) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  uint64_t r = (a - 1) & size_mask<N>();
  write_operand<N>(cpu, in, 0, r);
  set_arith_flags(cpu, (sub_flags<N>(a, 1, r, 0) & ~fl::CF) | (cpu.s.rflags & fl::CF));
}

// NEG: 0 - DEST; "CF is cleared if the source operand is 0, otherwise set",
// which is exactly the borrow of 0 - DEST (SDM Vol. 2 NEG).
template <unsigned N>
void neg(Cpu& cpu, const Insn& in) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  write_operand<N>(cpu, in, 0, sub_with_flags<N>(cpu, 0, a, 0));
}

// NOT: no flags affected.
template <unsigned N>
void not_(Cpu& cpu, const Insn& in) {
  uint64_t a = read_dest<N>(cpu, in, 0);
  write_operand<N>(cpu, in, 0, ~a & size_mask<N>());
}

// Selector for the lockable read-modify-write instructions: LOCK with a
// register destination is #UD (Zydis already rejects it; this keeps the
// table correct on its own).
#define SOFTVT_LOCKABLE(h)                                            \
  [](const ::softvt::Insn& i) -> ::softvt::Handler {                  \
    if ((i.prefixes & pfx::LOCK) && i.op[0].kind != OpKind::Mem)      \
      return nullptr;                                                 \
    return SOFTVT_SIZED(h)(i);                                        \
  }

constexpr uint32_t kLogicDef = fl::OF | fl::CF | fl::SF | fl::ZF | fl::PF;
constexpr uint32_t kIncDecDef = fl::OF | fl::SF | fl::ZF | fl::AF | fl::PF;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_ADD, SOFTVT_LOCKABLE(add), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ADC, SOFTVT_LOCKABLE(adc), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SUB, SOFTVT_LOCKABLE(sub), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_SBB, SOFTVT_LOCKABLE(sbb), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_CMP, SOFTVT_SIZED(cmp), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_AND, SOFTVT_LOCKABLE(and_), kLogicDef, fl::AF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_OR, SOFTVT_LOCKABLE(or_), kLogicDef, fl::AF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_XOR, SOFTVT_LOCKABLE(xor_), kLogicDef, fl::AF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_TEST, SOFTVT_SIZED(test), kLogicDef, fl::AF, Feature::Base, 0},
    {ZYDIS_MNEMONIC_INC, SOFTVT_LOCKABLE(inc), kIncDecDef, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_DEC, SOFTVT_LOCKABLE(dec), kIncDecDef, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_NEG, SOFTVT_LOCKABLE(neg), fl::ARITH, 0, Feature::Base, 0},
    {ZYDIS_MNEMONIC_NOT, SOFTVT_LOCKABLE(not_), 0, 0, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_alu() { return kRows; }

}  // namespace softvt
