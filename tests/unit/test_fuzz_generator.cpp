// The differential fuzzer's case generator (emu/fuzz/generator.h):
// reproducible from the seed, every instruction decodes with softvt's own
// decoder as intended, every implemented and not excluded row of the
// instruction table is exercised, memory operands stay in the data area,
// and the per-instruction constraints keep faults and undefined results out.
#include <catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "decoder/decoder.h"
#include "emu/cpu_model.h"
#include "emu/fuzz/constraints.h"
#include "emu/fuzz/exclusions.h"
#include "emu/fuzz/flag_model.h"
#include "emu/fuzz/forms.h"
#include "emu/fuzz/generator.h"
#include "emu/fuzz/layout.h"
#include "emu/fuzz/prng.h"
#include "emu/fuzz/values.h"
#include "emu/interp/table.h"

using namespace softvt;
using namespace softvt::fuzz;

namespace {

constexpr FlatMode kModes[] = {FlatMode::Long64, FlatMode::Prot32, FlatMode::Real16};

DecodeMode decode_mode(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return DecodeMode::Long64;
    case FlatMode::Prot32: return DecodeMode::Prot32;
    default: return DecodeMode::Real16;
  }
}

GenConfig config(FlatMode m, bool native = false, unsigned insns = kDefaultInsns) {
  GenConfig g;
  g.mode = m;
  g.oracles.native = native;
  g.insns = insns;
  return g;
}

}  // namespace

TEST_CASE("fuzz PRNG is splitmix64-seeded xoshiro256** (published reference outputs)") {
  // splitmix64 from state 0 (Steele, Lea, Flood; the reference splitmix64.c).
  uint64_t sm = 0;
  CHECK(splitmix64(sm) == 0xe220a8397b1dcdafull);
  CHECK(splitmix64(sm) == 0x6e789e6aa1b965f4ull);
  CHECK(splitmix64(sm) == 0x06c45d188009454full);
  // xoshiro256** from state {1, 2, 3, 4} (the reference xoshiro256starstar.c).
  Prng p = Prng::from_state(1, 2, 3, 4);
  const uint64_t expected[] = {11520ull,
                               0ull,
                               1509978240ull,
                               1215971899390074240ull,
                               1216172134540287360ull,
                               607988272756665600ull,
                               16172922978634559625ull,
                               8476171486693032832ull,
                               10595114339597558777ull,
                               2904607092377533576ull};
  for (uint64_t e : expected) CHECK(p.next() == e);
}

TEST_CASE("fuzz PRNG ranges stay in bounds and reach both ends") {
  Prng p(7);
  bool lo = false, hi = false;
  for (int i = 0; i < 10000; ++i) {
    const int64_t v = p.range(-3, 4);
    REQUIRE(v >= -3);
    REQUIRE(v <= 4);
    lo |= v == -3;
    hi |= v == 4;
    REQUIRE(p.below(5) < 5);
  }
  CHECK(lo);
  CHECK(hi);
  for (unsigned bytes : {1u, 2u, 4u, 8u}) {
    for (int i = 0; i < 1000; ++i) {
      REQUIRE((edge_value(p, bytes) & ~width_mask(bytes)) == 0);
      REQUIRE(nonzero_value(p, bytes) != 0);
    }
  }
}

TEST_CASE("the same seed gives the same case; different seeds differ") {
  for (FlatMode m : kModes) {
    for (bool native : {false, true}) {
      if (native && m != FlatMode::Long64) continue;
      const GenConfig g = config(m, native);
      std::set<Bytes> distinct;
      for (uint64_t seed = 0; seed < 50; ++seed) {
        const CaseImage a = link(generate(seed, g));
        const CaseImage b = link(generate(seed, g));
        REQUIRE(a.code == b.code);
        REQUIRE(a.undefined_flags == b.undefined_flags);
        distinct.insert(a.code);
      }
      CHECK(distinct.size() == 50);
    }
  }
}

TEST_CASE("every generated instruction decodes with softvt's decoder as intended") {
  Decoder dec(default_cpu_model());
  for (FlatMode m : kModes) {
    for (uint64_t seed = 100; seed < 300; ++seed) {
      const TestCase tc = generate(seed, config(m));
      const CaseImage img = link(tc);
      // The body is a contiguous run of the recorded instructions.
      uint32_t expect_offset = uint32_t(tc.prologue.size());
      for (const BodyInsn& bi : tc.body) {
        INFO("mode " << flat_mode_name(m) << " seed " << seed << " offset " << bi.offset << " "
                     << ZydisMnemonicGetString(bi.mnemonic));
        REQUIRE(bi.offset == expect_offset);
        expect_offset += uint32_t(bi.bytes.size());
        Insn insn;
        REQUIRE(dec.decode(img.code.data() + bi.offset, img.code.size() - bi.offset, decode_mode(m),
                           insn) == DecodeStatus::Ok);
        CHECK(insn.mnemonic == bi.mnemonic);
        CHECK(insn.len == bi.bytes.size());
        REQUIRE(bi.row >= 0);
        CHECK(row_at(uint16_t(bi.row)).mnemonic == bi.mnemonic);
        if (bi.role != Role::Main) CHECK(bi.mnemonic == ZYDIS_MNEMONIC_MOV);
      }
      CHECK(img.epilogue_offset == expect_offset);
    }
  }
}

TEST_CASE("over 1000 seeds every implemented, non-excluded row appears in each mode") {
  for (FlatMode m : kModes) {
    for (bool native : {false, true}) {
      if (native && m != FlatMode::Long64) continue;
      const GenConfig g = config(m, native);
      const std::vector<ZydisMnemonic> eligible = eligible_mnemonics(g);
      REQUIRE(!eligible.empty());
      std::map<ZydisMnemonic, int> seen;
      for (uint64_t seed = 0; seed < 1000; ++seed)
        for (const BodyInsn& bi : generate(seed, g).body)
          if (bi.role == Role::Main) ++seen[bi.mnemonic];
      for (ZydisMnemonic mn : eligible) {
        INFO("mode " << flat_mode_name(m) << (native ? " (native oracle)" : "") << ": "
                     << ZydisMnemonicGetString(mn));
        CHECK(seen.count(mn));
      }
      // Nothing else is generated: every drawn row is eligible.
      for (const auto& [mn, n] : seen) {
        INFO(ZydisMnemonicGetString(mn));
        CHECK(std::find(eligible.begin(), eligible.end(), mn) != eligible.end());
      }
    }
  }
}

TEST_CASE("every table row is either generated or excluded with a reason") {
  for (const InsnRow& row : all_rows()) {
    for (FlatMode m : kModes) {
      const std::string why = exclusion_reason(row, m, Oracles{m == FlatMode::Long64, false});
      const std::vector<ZydisMnemonic> e = eligible_mnemonics(config(m, m == FlatMode::Long64));
      const bool eligible = std::find(e.begin(), e.end(), row.mnemonic) != e.end();
      INFO(ZydisMnemonicGetString(row.mnemonic) << " in " << flat_mode_name(m) << ": " << why);
      CHECK(eligible == why.empty());
    }
  }
  for (const Exclusion& x : exclusion_list()) CHECK(std::string(x.reason).size() > 10);
}

TEST_CASE("exclusions: HLT never, CPUID only without a real-CPU oracle, LZCNT without KVM, JMP as a skip") {
  const InsnRow* hlt = find_row(ZYDIS_MNEMONIC_HLT);
  REQUIRE(hlt);
  CHECK(!exclusion_reason(*hlt, FlatMode::Long64, Oracles{}).empty());
  const InsnRow* jmp = find_row(ZYDIS_MNEMONIC_JMP);
  REQUIRE(jmp);
  CHECK(is_forward_branch(ZYDIS_MNEMONIC_JMP));
  CHECK(exclusion_reason(*jmp, FlatMode::Long64, Oracles{true, true}).empty());
  InsnRow cpuid{ZYDIS_MNEMONIC_CPUID, nullptr, 0, 0, Feature::Base, 0};
  CHECK(exclusion_reason(cpuid, FlatMode::Long64, Oracles{false, false}).empty());
  CHECK(!exclusion_reason(cpuid, FlatMode::Long64, Oracles{false, true}).empty());
  CHECK(!exclusion_reason(cpuid, FlatMode::Long64, Oracles{true, false}).empty());
  InsnRow lzcnt{ZYDIS_MNEMONIC_LZCNT, nullptr, 0, 0, Feature::Lzcnt, 0};
  CHECK(exclusion_reason(lzcnt, FlatMode::Long64, Oracles{true, false}).empty());
  CHECK(!exclusion_reason(lzcnt, FlatMode::Long64, Oracles{false, true}).empty());
  InsnRow ret{ZYDIS_MNEMONIC_RET, nullptr, 0, 0, Feature::Base, 1};
  CHECK(!exclusion_reason(ret, FlatMode::Long64, Oracles{}).empty());
  GenConfig g = config(FlatMode::Long64);
  g.avoid.insert(ZYDIS_MNEMONIC_ADD);
  const std::vector<ZydisMnemonic> e = eligible_mnemonics(g);
  CHECK(std::find(e.begin(), e.end(), ZYDIS_MNEMONIC_ADD) == e.end());
}

TEST_CASE("memory operands stay in the data area, branches land on unit starts or the epilogue") {
  for (FlatMode m : kModes) {
    for (uint64_t seed = 0; seed < 300; ++seed) {
      const TestCase tc = generate(seed, config(m, false, 40));
      const std::vector<uint32_t> cuts = cut_points(tc);
      for (uint32_t cut : {cuts[cuts.size() / 3], cuts[cuts.size() / 2], cuts.back()}) {
        const CaseImage img = link(tc, cut);
        std::set<uint32_t> starts = {img.epilogue_offset};
        for (const Unit& u : tc.units)
          if (u.first < cut) starts.insert(tc.body[u.first].offset);
        for (uint32_t i = 0; i < cut; ++i) {
          const BodyInsn& bi = tc.body[i];
          Decoded d;
          REQUIRE(decode(m, img.code.data() + bi.offset, bi.bytes.size(), d));
          const uint64_t next = kLoad + bi.offset + bi.bytes.size();
          INFO("mode " << flat_mode_name(m) << " seed " << seed << " "
                       << disassemble(m, img.code.data() + bi.offset, bi.bytes.size(),
                                      kLoad + bi.offset));
          for (unsigned k = 0; k < d.zi.operand_count_visible; ++k) {
            const ZydisDecodedOperand& o = d.zo[k];
            if (o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.mem.type == ZYDIS_MEMOP_TYPE_MEM) {
              int64_t lin;
              if (o.mem.base == ZYDIS_REGISTER_RIP) {
                lin = int64_t(next) + o.mem.disp.value;
              } else {
                REQUIRE(gpr_number(o.mem.base) == kPtrGpr);
                REQUIRE(o.mem.index == ZYDIS_REGISTER_NONE);
                lin = int64_t(kDataPtr) + o.mem.disp.value;
              }
              CHECK(lin >= int64_t(kData));
              CHECK(lin + o.size / 8 <= int64_t(kData + kDataSize));
            }
            if (bi.is_branch() && o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o.imm.is_relative) {
              const uint64_t target = next + o.imm.value.u - kLoad;
              CHECK(starts.count(uint32_t(target)));
              CHECK(target > bi.offset);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("the stack pointer stays in the stack region at every unit") {
  for (FlatMode m : kModes) {
    const int64_t init = int64_t(guest_offset(m, kStackInit));
    for (uint64_t seed = 0; seed < 300; ++seed) {
      const TestCase tc = generate(seed, config(m, false, 60));
      for (const Unit& u : tc.units) {
        CHECK(std::abs(int64_t(u.sp_after) - init) <= kStackDriftMax);
        CHECK(std::abs(int64_t(u.sp_before) - init) <= kStackDriftMax);
      }
    }
  }
}

// ---- constraints ----------------------------------------------------------

namespace {

struct RuleRun {
  RuleResult result;
  ZydisEncoderRequest req;
};

RuleRun run_rule(FlatMode m, ZydisMnemonic mn, std::initializer_list<ZydisEncoderOperand> ops,
                 Prng& rng, uint64_t sp = 0x19000) {
  RuleRun r;
  r.req = make_request(m, mn, ops);
  Bytes b;
  REQUIRE(encode(r.req, kLoad, b));
  Decoded d;
  REQUIRE(decode(m, b.data(), b.size(), d));
  RuleContext ctx{rng, m, sp, Oracles{}};
  r.result = apply_rules(r.req, d, ctx);
  return r;
}

uint64_t fixup_value(const RuleResult& r, ZydisRegister reg) {
  for (const Fixup& f : r.setup)
    if (f.target.type == ZYDIS_OPERAND_TYPE_REGISTER && f.target.reg.value == reg) return f.value;
  FAIL("no fixup for " << ZydisRegisterGetString(reg));
  return 0;
}

}  // namespace

TEST_CASE("DIV and IDIV fixups never make the quotient overflow (no #DE)") {
  Prng rng(3);
  const ZydisRegister divisors[] = {ZYDIS_REGISTER_CL, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_ECX,
                                    ZYDIS_REGISTER_RCX};
  for (int i = 0; i < 4000; ++i) {
    const ZydisRegister dv = divisors[i % 4];
    const unsigned n = 1u << (i % 4);
    const bool sign = (i / 4) % 2;
    RuleRun r = run_rule(FlatMode::Long64, sign ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV,
                         {reg_operand(dv)}, rng);
    REQUIRE(r.result.reject.empty());
    const uint64_t mask = width_mask(n);
    const uint64_t d = fixup_value(r.result, dv) & mask;
    REQUIRE(d != 0);
    unsigned __int128 hi, lo;
    if (n == 1) {
      const uint64_t ax = fixup_value(r.result, ZYDIS_REGISTER_AX);
      hi = (ax >> 8) & 0xff, lo = ax & 0xff;
    } else {
      hi = fixup_value(r.result, gpr(2, n)) & mask;
      lo = fixup_value(r.result, gpr(0, n)) & mask;
    }
    const unsigned __int128 dividend = (hi << (8 * n)) | lo;
    if (!sign) {
      CHECK(dividend / d <= mask);  // SDM Vol. 2 DIV: #DE if the quotient is too large
    } else {
      const unsigned bits = 16 * n;  // signed dividend of 2n bytes
      __int128 sd = __int128(dividend << (128 - bits)) >> (128 - bits);
      const __int128 sdiv = sign_extend(d, n);
      const __int128 q = sd / sdiv;  // truncates towards zero, like IDIV
      const __int128 lim = __int128(1) << (8 * n - 1);
      CHECK(q >= -lim);
      CHECK(q < lim);
    }
  }
  // A divisor inside the dividend registers cannot be made safe.
  for (ZydisRegister bad : {ZYDIS_REGISTER_AH, ZYDIS_REGISTER_AL, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_RAX,
                            ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_BX}) {
    RuleRun r = run_rule(FlatMode::Long64, ZYDIS_MNEMONIC_DIV, {reg_operand(bad)}, rng);
    CHECK(!r.result.reject.empty());
  }
}

TEST_CASE("BT-family bit offsets keep the accessed unit inside the data area") {
  Prng rng(5);
  for (int i = 0; i < 2000; ++i) {
    const unsigned n = 2u << (i % 3);
    const int64_t disp = rng.range(-kDispMax, kDispMax - int64_t(n));
    RuleRun r = run_rule(FlatMode::Long64, ZYDIS_MNEMONIC_BTS,
                         {mem_operand(ZYDIS_REGISTER_RBX, disp, n), reg_operand(gpr(1, n))}, rng);
    REQUIRE(r.result.reject.empty());
    const int64_t off = sign_extend(fixup_value(r.result, gpr(1, n)), n);
    // SDM Vol. 2 BT: the unit at EA + n * floor(offset / 8n).
    const int64_t unit = off >= 0 ? off / (8 * int64_t(n)) : -((-off + 8 * int64_t(n) - 1) / (8 * int64_t(n)));
    const int64_t at = disp + unit * int64_t(n);
    CHECK(at >= -kDispMax);
    CHECK(at + int64_t(n) <= kDispMax);
  }
}

TEST_CASE("16-bit SHLD/SHRD counts stay at most 16; BSF/BSR sources are non-zero") {
  Prng rng(9);
  for (int c = 0; c < 256; ++c) {
    RuleRun r = run_rule(FlatMode::Prot32, ZYDIS_MNEMONIC_SHLD,
                         {reg_operand(ZYDIS_REGISTER_AX), reg_operand(ZYDIS_REGISTER_DX), imm_operand(c)}, rng);
    REQUIRE(r.result.reject.empty());
    CHECK((r.req.operands[2].imm.u & 0x1f) <= 16);
    RuleRun cl = run_rule(FlatMode::Prot32, ZYDIS_MNEMONIC_SHRD,
                          {reg_operand(ZYDIS_REGISTER_AX), reg_operand(ZYDIS_REGISTER_DX),
                           reg_operand(ZYDIS_REGISTER_CL)}, rng);
    CHECK((fixup_value(cl.result, ZYDIS_REGISTER_CL) & 0x1f) <= 16);
    RuleRun bsf = run_rule(FlatMode::Prot32, ZYDIS_MNEMONIC_BSF,
                           {reg_operand(ZYDIS_REGISTER_EAX), reg_operand(ZYDIS_REGISTER_ESI)}, rng);
    CHECK(fixup_value(bsf.result, ZYDIS_REGISTER_ESI) != 0);
  }
}

TEST_CASE("ENTER and LEAVE get a known RSP change inside the stack region") {
  Prng rng(11);
  for (int i = 0; i < 500; ++i) {
    RuleRun e = run_rule(FlatMode::Long64, ZYDIS_MNEMONIC_ENTER, {imm_operand(8), imm_operand(0)}, rng);
    REQUIRE(e.result.has_stack_delta);
    const uint64_t size = e.req.operands[0].imm.u, level = e.req.operands[1].imm.u;
    CHECK(size <= 64);
    CHECK(level <= 3);
    CHECK(e.result.stack_delta == -int64_t(8 * (level == 0 ? 1 : level + 1) + size));
    RuleRun l = run_rule(FlatMode::Long64, ZYDIS_MNEMONIC_LEAVE, {}, rng);
    REQUIRE(l.result.has_stack_delta);
    const uint64_t rbp = fixup_value(l.result, ZYDIS_REGISTER_RBP);
    CHECK(l.result.stack_delta == int64_t(rbp) - 0x19000 + 8);
    CHECK(std::abs(l.result.stack_delta) <= 64);
  }
}

// ---- flag model -------------------------------------------------------------

namespace {

FlagEffect effect_of(FlatMode m, const InsnRow& row, std::initializer_list<ZydisEncoderOperand> ops) {
  ZydisEncoderRequest r = make_request(m, row.mnemonic, ops);
  Bytes b;
  REQUIRE(encode(r, kLoad, b));
  Decoded d;
  REQUIRE(decode(m, b.data(), b.size(), d));
  return flag_effect(&row, d);
}

constexpr uint32_t CF = fl::CF, OF = fl::OF, AF = fl::AF, SZP = fl::SF | fl::ZF | fl::PF;

}  // namespace

TEST_CASE("flag model: shift counts decide which flags are written and defined") {
  // A row as the SDM describes SHL: CF, SF, ZF, PF defined; OF and AF
  // undefined in general.
  const InsnRow shl{ZYDIS_MNEMONIC_SHL, nullptr, CF | SZP, OF | AF, Feature::Base, 0};
  const auto eax = reg_operand(ZYDIS_REGISTER_EAX), al = reg_operand(ZYDIS_REGISTER_AL);
  FlagEffect e0 = effect_of(FlatMode::Long64, shl, {eax, imm_operand(32)});  // masked count 0
  CHECK(e0.defined == 0);
  CHECK(e0.undefined == 0);
  FlagEffect e1 = effect_of(FlatMode::Long64, shl, {eax, imm_operand(1)});
  CHECK(e1.defined == (CF | SZP | OF));
  CHECK(e1.undefined == AF);
  FlagEffect e5 = effect_of(FlatMode::Long64, shl, {eax, imm_operand(5)});
  CHECK(e5.defined == (CF | SZP));
  CHECK(e5.undefined == (OF | AF));
  FlagEffect big = effect_of(FlatMode::Long64, shl, {al, imm_operand(9)});  // count >= 8 bits
  CHECK((big.undefined & CF));
  FlagEffect cl = effect_of(FlatMode::Long64, shl, {eax, reg_operand(ZYDIS_REGISTER_CL)});
  CHECK(cl.may_keep);
  CHECK(cl.undefined == (OF | AF));
  const InsnRow adc{ZYDIS_MNEMONIC_ADC, nullptr, uint32_t(fl::ARITH), 0, Feature::Base, 0};
  CHECK(effect_of(FlatMode::Long64, adc, {eax, eax}).tested == CF);
}

TEST_CASE("flag tracker: last writer decides, branch paths join at the target") {
  FlagTracker t;
  t.enter_unit(0);
  t.apply(FlagEffect{0, SZP | CF, OF | AF, false});  // e.g. a MUL-like writer
  CHECK(t.possibly_undefined() == (OF | AF));
  t.apply(FlagEffect{0, uint32_t(fl::ARITH), 0, false});  // ADD defines everything
  CHECK(t.possibly_undefined() == 0);
  t.apply(FlagEffect{0, CF, OF, false});
  t.branch_to(3, t.possibly_undefined());  // taken path: OF undefined
  t.enter_unit(1);
  t.apply(FlagEffect{0, uint32_t(fl::ARITH), 0, false});
  CHECK(t.possibly_undefined() == 0);
  CHECK(t.at_cut(2) == OF);  // cut before the target: the branch lands on the epilogue
  t.enter_unit(2);
  t.enter_unit(3);  // join
  CHECK(t.possibly_undefined() == OF);
  t.apply(FlagEffect{0, 0, AF, true});  // may keep: adds, never removes
  CHECK(t.possibly_undefined() == (OF | AF));
}

TEST_CASE("x87/SSE: register and memory slots, FP state in the prologue, excluded for KVM at CPL 0") {
  // ST0/ST(i), MM, XMM and 10-byte/environment memory forms are discovered.
  auto has_form = [](ZydisMnemonic m, FlatMode mode, std::vector<Slot> slots) {
    for (const Form& f : forms_of(m, mode).forms)
      if (f.count == slots.size() && std::equal(slots.begin(), slots.end(), f.slot)) return true;
    return false;
  };
  for (FlatMode m : kModes) {
    INFO(flat_mode_name(m));
    CHECK(has_form(ZYDIS_MNEMONIC_FADD, m, {Slot::ST0, Slot::STi}));
    CHECK(has_form(ZYDIS_MNEMONIC_FADD, m, {Slot::STi, Slot::ST0}));
    CHECK(has_form(ZYDIS_MNEMONIC_FLD, m, {Slot::M80}));
    CHECK(has_form(ZYDIS_MNEMONIC_PADDB, m, {Slot::MM, Slot::MM}));
    CHECK(has_form(ZYDIS_MNEMONIC_PADDB, m, {Slot::XMM, Slot::M128}));
    CHECK(has_form(ZYDIS_MNEMONIC_SHUFPS, m, {Slot::XMM, Slot::XMM, Slot::Imm}));
    CHECK(has_form(ZYDIS_MNEMONIC_FLDENV, m, {m == FlatMode::Real16 ? Slot::M14 : Slot::M28}));
  }
  // Without KVM every case loads (FXRSTOR) and stores (FXSAVE, FNSTENV)
  // the FP state; with KVM none does, and the FP rows are excluded.
  auto contains = [](const Bytes& code, FlatMode m, ZydisMnemonic mn) {
    for (size_t off = 0; off < code.size();) {
      Decoded d;
      if (!decode(m, code.data() + off, code.size() - off, d)) return false;
      if (d.zi.mnemonic == mn) return true;
      off += d.zi.length;
    }
    return false;
  };
  for (FlatMode m : kModes) {
    const TestCase native = generate(7, config(m, true));
    const CaseImage ni = link(native);
    CHECK(ni.fp_state);
    CHECK(contains(native.prologue, m, ZYDIS_MNEMONIC_FXRSTOR));
    const Bytes epi(ni.code.begin() + ni.epilogue_offset, ni.code.end());
    CHECK(contains(epi, m, ZYDIS_MNEMONIC_FXSAVE));
    CHECK(contains(epi, m, ZYDIS_MNEMONIC_FNSTENV));
    GenConfig k = config(m);
    k.oracles = Oracles{false, true};
    const TestCase kvm = generate(7, k);
    CHECK(!link(kvm).fp_state);
    CHECK(!contains(kvm.prologue, m, ZYDIS_MNEMONIC_FXRSTOR));
    const InsnRow* fld1 = find_row(ZYDIS_MNEMONIC_FLD1);
    REQUIRE(fld1);
    CHECK(exclusion_reason(*fld1, m, Oracles{false, true}).find("emulator") != std::string::npos);
    CHECK(exclusion_reason(*fld1, m, Oracles{true, false}).empty());
  }
}
