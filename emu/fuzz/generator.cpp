#include "emu/fuzz/generator.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "emu/fuzz/analysis.h"
#include "emu/fuzz/constraints.h"
#include "emu/fuzz/exclusions.h"
#include "emu/fuzz/forms.h"
#include "emu/fuzz/layout.h"
#include "emu/fuzz/prng.h"
#include "emu/fuzz/values.h"
#include "emu/interp/table.h"

namespace softvt::fuzz {
namespace {

// ---- what to draw from ------------------------------------------------------

struct Eligible {
  const InsnRow* row;
  std::vector<Form> forms;
  bool branch;
};

std::vector<Eligible> eligible_rows(const GenConfig& cfg) {
  std::vector<Eligible> out;
  for (const InsnRow& row : all_rows()) {
    if (cfg.avoid.count(row.mnemonic)) continue;
    if (!exclusion_reason(row, cfg.mode, cfg.oracles).empty()) continue;
    Eligible e{&row, {}, is_forward_branch(row.mnemonic)};
    for (const Form& f : forms_of(row.mnemonic, cfg.mode).forms) {
      // A forward skip is a branch with one relative immediate and no
      // operand-size override (which would truncate the target to 16 bits
      // outside real mode - and AMD and Intel differ on it in 64-bit mode).
      if (e.branch && (f.count != 1 || f.slot[0] != Slot::Imm ||
                       f.size_hint != ZYDIS_OPERAND_SIZE_HINT_NONE || f.prefixes))
        continue;
      e.forms.push_back(f);
    }
    if (!e.forms.empty()) out.push_back(std::move(e));
  }
  return out;
}

// ---- the random x87/SSE state ------------------------------------------------------

// A data-area qword: two edge-biased dwords, a double, two floats, or
// the low 8 bytes of an extended value (its mantissa, for FLD m80 halves).
uint64_t data_qword(Prng& rng) {
  switch (rng.below(4)) {
    case 0: return edge_value(rng, 4) | edge_value(rng, 4) << 32;
    case 1: return double_value(rng);
    case 2: return float_value(rng) | uint64_t(float_value(rng)) << 32;
    default: {
      uint8_t x[10];
      extended_value(rng, x);
      uint64_t v;
      std::memcpy(&v, x, 8);
      return v;
    }
  }
}

// An FXSAVE image (SDM Vol. 1 10.5.1, Table 10-2) for FXRSTOR: FCW and
// MXCSR from biased sets, FSW with a random TOP and condition codes and
// exception flags (usually only masked ones, so the first x87 instruction
// does not fault; sometimes any, with ES set accordingly), the abridged tag
// word usually all valid, registers biased to special values. FIP, FDP and
// FOP are 0.
Bytes fp_image(Prng& rng, FlatMode mode) {
  Bytes img(kFpBytes, 0);
  auto put16 = [&](size_t off, uint16_t v) { std::memcpy(img.data() + off, &v, 2); };
  auto put32 = [&](size_t off, uint32_t v) { std::memcpy(img.data() + off, &v, 4); };
  auto put64 = [&](size_t off, uint64_t v) { std::memcpy(img.data() + off, &v, 8); };
  const uint16_t fcw = fcw_value(rng);
  uint16_t flags = uint16_t(rng.below(64));
  if (!rng.chance(1, 8)) flags &= fcw & 0x3f;                  // only masked ones
  const uint16_t es = (flags & ~fcw & 0x3f) ? 0x8080 : 0;      // ES and B
  const uint16_t fsw = uint16_t(flags | es | (rng.below(8) << 11) | (rng.next() & 0x4700));
  put16(0, fcw);
  put16(2, fsw);
  img[4] = rng.chance(3, 4) ? 0xff : uint8_t(rng.next());
  put32(24, mxcsr_value(rng));
  for (unsigned i = 0; i < 8; ++i) extended_value(rng, img.data() + 32 + 16 * i);
  const unsigned xmms = mode == FlatMode::Long64 ? 16 : 8;
  for (unsigned i = 0; i < xmms; ++i) {
    const size_t off = 160 + 16 * i;
    switch (rng.below(3)) {
      case 0: put64(off, double_value(rng)); put64(off + 8, double_value(rng)); break;
      case 1: for (int k = 0; k < 4; ++k) put32(off + 4 * k, float_value(rng)); break;
      default: put64(off, data_qword(rng)); put64(off + 8, data_qword(rng)); break;
    }
  }
  return img;
}

// ---- encoding helpers ---------------------------------------------------------

Bytes must_encode(const ZydisEncoderRequest& req, uint64_t addr) {
  Bytes b;
  if (!encode(req, addr, b))
    throw std::logic_error(std::string("fuzz generator: cannot encode ") +
                           ZydisMnemonicGetString(req.mnemonic));
  return b;
}

// Tries the immediates at their chosen width, then narrower, each
// sign-extended and zero-extended, until the encoder accepts one (it wants
// signed values for sign-extended immediates and unsigned ones for others).
bool encode_with_immediates(ZydisEncoderRequest& req, uint64_t addr, unsigned width, Bytes& out) {
  int64_t original[ZYDIS_ENCODER_MAX_OPERANDS];
  bool any = false;
  for (unsigned i = 0; i < req.operand_count; ++i) {
    original[i] = req.operands[i].imm.s;
    any |= req.operands[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
  }
  if (!any) return encode(req, addr, out);
  for (unsigned w = width; w >= 1; w /= 2) {
    for (int sign = 1; sign >= 0; --sign) {
      for (unsigned i = 0; i < req.operand_count; ++i) {
        if (req.operands[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) continue;
        const uint64_t v = uint64_t(original[i]) & width_mask(w);
        req.operands[i].imm.s = sign ? sign_extend(v, w) : int64_t(v);
      }
      if (encode(req, addr, out)) return true;
    }
  }
  return false;
}

// MOV instructions that give `f.target` its value.
std::vector<ZydisEncoderRequest> fixup_requests(FlatMode mode, const Fixup& f) {
  if (f.target.type == ZYDIS_OPERAND_TYPE_MEMORY && f.size == 8) {
    // No MOV stores a full 64-bit immediate to memory: two dword stores.
    ZydisEncoderOperand lo = f.target, hi = f.target;
    lo.mem.size = hi.mem.size = 4;
    hi.mem.displacement += 4;
    return {make_request(mode, ZYDIS_MNEMONIC_MOV, {lo, imm_operand(sign_extend(f.value, 4))}),
            make_request(mode, ZYDIS_MNEMONIC_MOV,
                         {hi, imm_operand(sign_extend(f.value >> 32, 4))})};
  }
  ZydisEncoderOperand t = f.target;
  if (t.type == ZYDIS_OPERAND_TYPE_MEMORY) t.mem.size = uint16_t(f.size);
  return {make_request(mode, ZYDIS_MNEMONIC_MOV, {t, imm_operand(sign_extend(f.value, f.size))})};
}

ZydisRegister pointer_base(FlatMode mode) {
  return gpr(kPtrGpr, mode == FlatMode::Long64 ? 8 : mode == FlatMode::Prot32 ? 4 : 2);
}

int mov_row() {
  const InsnRow* r = find_row(ZYDIS_MNEMONIC_MOV);
  return r ? row_index(r) : -1;
}

// ---- the epilogue (the same bytes for every cut, at any offset) -------------

Bytes epilogue_bytes(FlatMode mode, bool fp_state) {
  Bytes out;
  auto put = [&](const ZydisEncoderRequest& r) {
    Bytes b = must_encode(r, 0);
    out.insert(out.end(), b.begin(), b.end());
  };
  const unsigned w = gpr_bytes(mode);
  for (unsigned i = 0; i < gpr_count(mode); ++i) {
    const int64_t slot = int64_t(guest_offset(mode, kResult + 8 * i));
    put(make_request(mode, ZYDIS_MNEMONIC_MOV,
                     {mem_operand(ZYDIS_REGISTER_NONE, slot, w), reg_operand(gpr(i, w))}));
  }
  const ZydisMnemonic pushf = mode == FlatMode::Long64   ? ZYDIS_MNEMONIC_PUSHFQ
                              : mode == FlatMode::Prot32 ? ZYDIS_MNEMONIC_PUSHFD
                                                         : ZYDIS_MNEMONIC_PUSHF;
  put(make_request(mode, pushf, {}));
  put(make_request(mode, ZYDIS_MNEMONIC_POP,
                   {mem_operand(ZYDIS_REGISTER_NONE, int64_t(guest_offset(mode, kResultFlags)),
                                stack_bytes(mode))}));
  // FXSAVE does not check for pending x87 exceptions (SDM Vol. 2 FXSAVE),
  // so it stores the state even after an unmasked exception was flagged.
  // FNSTENV after it: the x87 pointers (FIP, FDP, FOP), which AMD's FXSAVE
  // stores only while an exception is pending (AMD APM Vol. 5 FXSAVE).
  if (fp_state) {
    put(make_request(mode, ZYDIS_MNEMONIC_FXSAVE,
                     {mem_operand(ZYDIS_REGISTER_NONE, int64_t(guest_offset(mode, kFpResult)),
                                  unsigned(kFpBytes))}));
    put(make_request(mode, ZYDIS_MNEMONIC_FNSTENV,
                     {mem_operand(ZYDIS_REGISTER_NONE, int64_t(guest_offset(mode, kFpEnvResult)),
                                  mode == FlatMode::Real16 ? 14u : 28u)}));
  }
  put(make_request(mode, ZYDIS_MNEMONIC_HLT, {}));
  return out;
}

// ---- the builder ------------------------------------------------------------------

struct Draft {
  std::vector<BodyInsn> insns;
  uint64_t sp_after = 0;
  bool branch = false;
  bool rel8 = false;
  uint32_t end_offset = 0;
};

class Builder {
 public:
  Builder(uint64_t seed, const GenConfig& cfg)
      : rng_(seed), cfg_(cfg), mode_(cfg.mode), rows_(eligible_rows(cfg)),
        epilogue_size_(uint32_t(epilogue_bytes(cfg.mode, uses_fp_state(cfg)).size())),
        mov_row_(mov_row()) {
    tc_.seed = seed;
    tc_.config = cfg;
  }

  TestCase build() {
    if (rows_.empty())
      throw GenerateError(std::string("no instruction of the table can be generated in ") +
                          flat_mode_name(mode_));
    emit_prologue();
    for (uint32_t u = 0; u < cfg_.insns; ++u)
      if (!add_unit(u)) break;  // the code area is full
    if (region_) close_region(uint32_t(tc_.units.size()));
    return std::move(tc_);
  }

 private:
  // -- prologue
  void emit_prologue() {
    auto put = [&](const ZydisEncoderRequest& r) {
      Bytes b = must_encode(r, kLoad + tc_.prologue.size());
      tc_.prologue.insert(tc_.prologue.end(), b.begin(), b.end());
    };
    const unsigned w = gpr_bytes(mode_);
    put(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                     {reg_operand(gpr(kSpGpr, w)), imm_operand(int64_t(guest_offset(mode_, kStackInit)))}));
    put(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                     {reg_operand(gpr(kPtrGpr, w)), imm_operand(int64_t(guest_offset(mode_, kDataPtr)))}));
    const bool fp = uses_fp_state(cfg_);
    for (int64_t d = -kDispMax; d < kDispMax; d += 8) {
      const uint64_t v = fp ? data_qword(rng_) : edge_value(rng_, 4) | edge_value(rng_, 4) << 32;
      for (int64_t half = 0; half < 8; half += 4)
        put(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                         {mem_operand(pointer_base(mode_), d + half, 4),
                          imm_operand(sign_extend(v >> (8 * half), 4))}));
    }
    if (fp) {
      // The image is written by code (the native oracle's pages start
      // zero-filled); only its non-zero dwords need a store.
      const Bytes image = fp_image(rng_, mode_);
      const int64_t base = int64_t(kFpImage) - int64_t(kDataPtr);
      for (size_t i = 0; i < image.size(); i += 4) {
        uint32_t v;
        std::memcpy(&v, image.data() + i, 4);
        if (v)
          put(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                           {mem_operand(pointer_base(mode_), base + int64_t(i), 4),
                            imm_operand(sign_extend(v, 4))}));
      }
      put(make_request(mode_, ZYDIS_MNEMONIC_FXRSTOR,
                       {mem_operand(pointer_base(mode_), base, unsigned(kFpBytes))}));
    }
    // Random arithmetic flags, DF = 0 (SDM Vol. 1 3.4.3), through the stack.
    // With the native oracle IF = 1, as it always is at CPL 3 (POPF there
    // leaves IF alone), so PUSHF pushes the same image on both sides; the
    // interpreter has no interrupt source. KVM keeps IF = 0: its machine
    // may have interrupt sources, and the flat runner has no IDT.
    const uint64_t flags = (rng_.next() & fl::ARITH) | fl::FIXED1 | (cfg_.oracles.native ? fl::IF : 0);
    put(make_request(mode_, ZYDIS_MNEMONIC_PUSH, {imm_operand(int64_t(flags))}));
    put(make_request(mode_, mode_ == FlatMode::Long64   ? ZYDIS_MNEMONIC_POPFQ
                            : mode_ == FlatMode::Prot32 ? ZYDIS_MNEMONIC_POPFD
                                                        : ZYDIS_MNEMONIC_POPF,
                     {}));
    for (unsigned i = 0; i < gpr_count(mode_); ++i) {
      if (int(i) == kSpGpr || int(i) == kPtrGpr) continue;
      const uint64_t v = register_value(rng_) & width_mask(w);
      put(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                       {reg_operand(gpr(i, w)), imm_operand(sign_extend(v, w))}));
    }
    offset_ = uint32_t(tc_.prologue.size());
    sp_ = guest_offset(mode_, kStackInit);
  }

  // -- operands
  ZydisRegister random_register(Slot s) {
    const unsigned n = gpr_count(mode_);
    switch (s) {
      case Slot::R8: {
        // Low bytes of every register (SPL..DIL and R8B.. need REX), and
        // AH..BH (which cannot be combined with REX: the encoder rejects
        // such combinations and another choice is made).
        const unsigned low = mode_ == FlatMode::Long64 ? 16 : 4;
        const unsigned pick = unsigned(rng_.below(low + 4));
        return pick < low ? gpr(pick, 1) : high_byte(pick - low);
      }
      case Slot::R16: return gpr(unsigned(rng_.below(n)), 2);
      case Slot::R32: return gpr(unsigned(rng_.below(n)), 4);
      case Slot::R64: return gpr(unsigned(rng_.below(n)), 8);
      case Slot::ST0: return ZYDIS_REGISTER_ST0;
      case Slot::STi: return ZydisRegister(ZYDIS_REGISTER_ST0 + rng_.below(8));
      case Slot::MM: return ZydisRegister(ZYDIS_REGISTER_MM0 + rng_.below(8));
      case Slot::XMM: return ZydisRegister(ZYDIS_REGISTER_XMM0 + rng_.below(n));
      default: return ZYDIS_REGISTER_CL;
    }
  }

  ZydisEncoderOperand random_memory(unsigned size, ZydisInstructionAttributes& prefixes) {
    int64_t disp;
    switch (rng_.below(4)) {
      case 0: disp = 0; break;
      case 1: disp = rng_.range(-128, 127 - int64_t(size)); break;   // disp8
      default: disp = rng_.range(-kDispMax, kDispMax - int64_t(size)); break;
    }
    ZydisRegister base = pointer_base(mode_);
    if (mode_ == FlatMode::Long64) {
      switch (rng_.below(8)) {
        case 0: base = ZYDIS_REGISTER_EBX; break;  // 67h: 32-bit address
        case 1: return mem_operand(ZYDIS_REGISTER_RIP, int64_t(kDataPtr) + disp, size);
        default: break;
      }
    } else if (mode_ == FlatMode::Real16) {
      if (rng_.chance(1, 8)) base = ZYDIS_REGISTER_EBX;  // 67h: 32-bit address
      // Real mode: every segment has the same base, and none is protected.
      static constexpr ZydisInstructionAttributes kSegs[] = {
          ZYDIS_ATTRIB_HAS_SEGMENT_CS, ZYDIS_ATTRIB_HAS_SEGMENT_DS, ZYDIS_ATTRIB_HAS_SEGMENT_ES,
          ZYDIS_ATTRIB_HAS_SEGMENT_SS, ZYDIS_ATTRIB_HAS_SEGMENT_FS, ZYDIS_ATTRIB_HAS_SEGMENT_GS};
      if (rng_.chance(1, 4)) prefixes |= kSegs[rng_.below(6)];
    } else {
      // Flat data segments; CS is not writable in protected mode.
      static constexpr ZydisInstructionAttributes kSegs[] = {
          ZYDIS_ATTRIB_HAS_SEGMENT_DS, ZYDIS_ATTRIB_HAS_SEGMENT_ES, ZYDIS_ATTRIB_HAS_SEGMENT_SS,
          ZYDIS_ATTRIB_HAS_SEGMENT_FS, ZYDIS_ATTRIB_HAS_SEGMENT_GS};
      if (rng_.chance(1, 4)) prefixes |= kSegs[rng_.below(5)];
    }
    return mem_operand(base, disp, size);
  }

  unsigned random_imm_width() {
    static constexpr unsigned kWidths[] = {1, 1, 2, 4, 4, 8};
    return kWidths[rng_.below(6)];
  }

  // -- one unit
  bool add_unit(uint32_t u) {
    if (region_ && u == region_->planned_target) close_region(u);
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (!entered_) {
        flags_.enter_unit(u);
        entered_ = true;
      }
      std::optional<Draft> d = try_unit(u, bool(region_));
      if (!d) continue;
      if (region_ && region_->rel8 && d->end_offset > region_->limit_offset) {
        // The next unit does not fit in the short branch's reach: the skip
        // ends here, and this unit is drawn again outside it.
        close_region(u);
        flags_.enter_unit(u);  // joins the path that now lands here
        continue;
      }
      if (d->end_offset + epilogue_size_ > kCodeMax) return false;
      accept(u, std::move(*d));
      return true;
    }
    throw GenerateError("fuzz generator: no usable instruction found after 1000 attempts");
  }

  std::optional<Draft> try_unit(uint32_t u, bool in_region) {
    const Eligible& e = rows_[rng_.below(rows_.size())];
    if (in_region && e.branch) return std::nullopt;
    const Form& f = e.forms[rng_.below(e.forms.size())];
    ZydisEncoderRequest req = make_request(mode_, e.row->mnemonic, {});
    req.prefixes = f.prefixes;
    req.operand_size_hint = f.size_hint;
    req.operand_count = f.count;
    for (unsigned i = 0; i < f.count; ++i) {
      const Slot s = f.slot[i];
      if (slot_is_reg(s)) req.operands[i] = reg_operand(random_register(s));
      else if (slot_is_mem(s)) req.operands[i] = random_memory(slot_bytes(s), req.prefixes);
      else req.operands[i] = imm_operand(int64_t(edge_value(rng_, 8)));
    }
    const uint64_t here = kLoad + offset_;
    Bytes bytes;
    bool rel8 = false;
    if (e.branch) {
      rel8 = rng_.chance(1, 2);
      req.operands[0] = imm_operand(0);  // patched when linked
      req.branch_width = rel8 ? ZYDIS_BRANCH_WIDTH_8
                              : mode_ == FlatMode::Real16 ? ZYDIS_BRANCH_WIDTH_16 : ZYDIS_BRANCH_WIDTH_32;
      if (!encode(req, here, bytes)) {
        if (rel8) return std::nullopt;
        rel8 = true;  // LOOP, JrCXZ: rel8 only
        req.branch_width = ZYDIS_BRANCH_WIDTH_8;
        if (!encode(req, here, bytes)) return std::nullopt;
      }
    } else if (!encode_with_immediates(req, here, random_imm_width(), bytes)) {
      return std::nullopt;
    }
    Decoded d;
    if (!decode(mode_, bytes.data(), bytes.size(), d) || d.zi.mnemonic != e.row->mnemonic)
      return std::nullopt;
    const Analysis a = analyze(d, mode_, here, e.branch);
    if (!a.reject.empty()) return std::nullopt;

    RuleContext ctx{rng_, mode_, sp_, cfg_.oracles};
    RuleResult rules = apply_rules(req, d, ctx);
    if (!rules.reject.empty()) return std::nullopt;
    if (rules.changed_request) {
      if (!encode(req, here, bytes) || !decode(mode_, bytes.data(), bytes.size(), d)) return std::nullopt;
    }

    // RSP after the unit.
    uint64_t sp_after = sp_;
    if (a.implicit_stack && !a.writes_sp) {
      int64_t delta;
      if (rules.has_stack_delta) delta = rules.stack_delta;
      else if (!implicit_stack_delta(d, delta)) return std::nullopt;
      if (in_region && delta != 0) return std::nullopt;  // paths would disagree on RSP
      sp_after = uint64_t(int64_t(sp_) + delta);
      const int64_t drift = int64_t(sp_after) - int64_t(guest_offset(mode_, kStackInit));
      if (drift < -kStackDriftMax || drift > kStackDriftMax) return std::nullopt;
    }

    const FlagEffect fx = flag_effect(e.row, d);
    if (fx.tested & flags_.possibly_undefined()) return std::nullopt;

    Draft draft;
    draft.branch = e.branch;
    draft.rel8 = rel8;
    draft.sp_after = sp_after;
    uint32_t off = offset_;
    auto push = [&](Bytes b, ZydisMnemonic m, int row, Role role) {
      BodyInsn bi;
      bi.bytes = std::move(b);
      bi.offset = off;
      bi.mnemonic = m;
      bi.row = row;
      bi.role = role;
      bi.unit = u;
      off += uint32_t(bi.bytes.size());
      draft.insns.push_back(std::move(bi));
    };
    for (const Fixup& fix : rules.setup)
      for (const ZydisEncoderRequest& r : fixup_requests(mode_, fix))
        push(must_encode(r, kLoad + off), ZYDIS_MNEMONIC_MOV, mov_row_, Role::Setup);
    // The random instruction, encoded at its final address (RIP-relative
    // displacements depend on it; its length does not).
    Bytes main;
    if (!encode(req, kLoad + off, main) || main.size() != bytes.size()) return std::nullopt;
    push(std::move(main), e.row->mnemonic, row_index(e.row), Role::Main);
    BodyInsn& mi = draft.insns.back();
    mi.flags = fx;
    if (e.branch) {
      mi.rel_pos = d.zi.raw.imm[0].offset;
      mi.rel_size = uint8_t(d.zi.raw.imm[0].size / 8);
      mi.target_unit = u + 1 + uint32_t(rng_.range(1, 3));
    }
    for (const ZydisEncoderRequest& r : restores(a, d))
      push(must_encode(r, kLoad + off), ZYDIS_MNEMONIC_MOV, mov_row_, Role::Restore);
    draft.end_offset = off;
    return draft;
  }

  // MOVs after an instruction that wrote RBX or RSP: the written value is
  // copied to a register the instruction did not write (so it is still
  // compared), then the register gets its expected value back.
  std::vector<ZydisEncoderRequest> restores(const Analysis& a, const Decoded& d) {
    std::vector<ZydisEncoderRequest> out;
    if (!a.writes_ptr && !a.writes_sp) return out;
    std::vector<unsigned> free;
    for (unsigned i = 0; i < gpr_count(mode_); ++i)
      if (int(i) != kPtrGpr && int(i) != kSpGpr && !written_by(d, int(i))) free.push_back(i);
    const unsigned w = gpr_bytes(mode_);
    auto save_and_reset = [&](int reg, uint64_t value) {
      if (!free.empty()) {
        const size_t k = size_t(rng_.below(free.size()));
        out.push_back(make_request(mode_, ZYDIS_MNEMONIC_MOV,
                                   {reg_operand(gpr(free[k], w)), reg_operand(gpr(unsigned(reg), w))}));
        free.erase(free.begin() + ptrdiff_t(k));
      }
      for (const ZydisEncoderRequest& r : fixup_requests(mode_, set_gpr(reg, w, value))) out.push_back(r);
    };
    if (a.writes_ptr) save_and_reset(kPtrGpr, guest_offset(mode_, kDataPtr));
    if (a.writes_sp) save_and_reset(kSpGpr, sp_);
    return out;
  }

  static bool written_by(const Decoded& d, int num) {
    for (unsigned i = 0; i < d.zi.operand_count; ++i) {
      const ZydisDecodedOperand& o = d.zo[i];
      if (o.type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_number(o.reg.value) == num &&
          (o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
        return true;
    }
    return false;
  }

  void accept(uint32_t u, Draft d) {
    Unit unit;
    unit.first = uint32_t(tc_.body.size());
    unit.sp_before = sp_;
    unit.sp_after = d.sp_after;
    for (BodyInsn& bi : d.insns) {
      if (bi.role == Role::Main) unit.main = uint32_t(tc_.body.size());
      flags_.apply(bi.flags);
      tc_.body.push_back(std::move(bi));
    }
    unit.end = uint32_t(tc_.body.size());
    tc_.units.push_back(unit);
    offset_ = d.end_offset;
    sp_ = d.sp_after;
    entered_ = false;
    if (d.branch) {
      const BodyInsn& b = tc_.body[unit.main];
      region_ = Region{unit.main, b.target_unit, d.rel8,
                       b.offset + uint32_t(b.bytes.size()) + 127, flags_.possibly_undefined()};
    }
    (void)u;
  }

  void close_region(uint32_t target) {
    tc_.body[region_->branch].target_unit = target;
    flags_.branch_to(target, region_->taint);
    region_.reset();
  }

  struct Region {
    uint32_t branch;          // body index of the branch
    uint32_t planned_target;  // unit
    bool rel8;
    uint32_t limit_offset;    // a short branch reaches at most this offset
    uint32_t taint;           // flags possibly undefined on the taken path
  };

  Prng rng_;
  GenConfig cfg_;
  FlatMode mode_;
  std::vector<Eligible> rows_;
  uint32_t epilogue_size_;
  int mov_row_;
  TestCase tc_;
  uint32_t offset_ = 0;
  uint64_t sp_ = 0;
  FlagTracker flags_;
  bool entered_ = false;
  std::optional<Region> region_;
};

}  // namespace

TestCase generate(uint64_t seed, const GenConfig& cfg) {
  if (cfg.insns > kMaxInsns)
    throw GenerateError("at most " + std::to_string(kMaxInsns) + " instructions per case");
  return Builder(seed, cfg).build();
}

std::vector<ZydisMnemonic> eligible_mnemonics(const GenConfig& cfg) {
  std::vector<ZydisMnemonic> out;
  for (const Eligible& e : eligible_rows(cfg)) out.push_back(e.row->mnemonic);
  return out;
}

std::vector<uint32_t> cut_points(const TestCase& c) {
  std::vector<uint32_t> out;
  for (const Unit& u : c.units) {
    out.push_back(u.first);
    if (u.main != u.first) out.push_back(u.main);
  }
  out.push_back(uint32_t(c.body.size()));
  return out;
}

namespace {

uint32_t undefined_flags_at(const TestCase& c, uint32_t cut) {
  FlagTracker t;
  uint32_t entered = 0;
  for (uint32_t i = 0; i < cut; ++i) {
    const BodyInsn& bi = c.body[i];
    if (c.units[bi.unit].first == i) {
      t.enter_unit(bi.unit);
      entered = bi.unit + 1;
    }
    t.apply(bi.flags);
    if (bi.is_branch()) t.branch_to(bi.target_unit, t.possibly_undefined());
  }
  return t.at_cut(entered);
}

void patch_branch(Bytes& code, const BodyInsn& b, uint32_t target_offset) {
  const int64_t next = int64_t(b.offset) + int64_t(b.bytes.size());
  const int64_t rel = int64_t(target_offset) - next;
  const int64_t limit = b.rel_size == 1 ? 127 : b.rel_size == 2 ? 32767 : 0x7fffffff;
  if (rel < 0 || rel > limit) throw std::logic_error("fuzz generator: branch target out of reach");
  std::memcpy(code.data() + b.offset + b.rel_pos, &rel, b.rel_size);  // little endian
}

}  // namespace

CaseImage link(const TestCase& c, uint32_t cut) {
  CaseImage img;
  img.mode = c.config.mode;
  img.cut = cut;
  img.code = c.prologue;
  for (uint32_t i = 0; i < cut; ++i) img.code.insert(img.code.end(), c.body[i].bytes.begin(), c.body[i].bytes.end());
  img.epilogue_offset = uint32_t(img.code.size());
  for (uint32_t i = 0; i < cut; ++i) {
    const BodyInsn& b = c.body[i];
    if (!b.is_branch()) continue;
    uint32_t target = img.epilogue_offset;
    if (b.target_unit < c.units.size() && c.units[b.target_unit].first < cut)
      target = c.body[c.units[b.target_unit].first].offset;
    patch_branch(img.code, b, target);
  }
  img.fp_state = uses_fp_state(c.config);
  const Bytes epi = epilogue_bytes(img.mode, img.fp_state);
  img.code.insert(img.code.end(), epi.begin(), epi.end());
  if (cut == 0) {
    img.final_sp = guest_offset(img.mode, kStackInit);
  } else {
    const Unit& u = unit_of(c, cut - 1);
    // A cut inside a unit is after its setup fixups: RSP is still unchanged.
    img.final_sp = cut == u.end ? u.sp_after : u.sp_before;
  }
  img.undefined_flags = undefined_flags_at(c, cut);
  return img;
}

}  // namespace softvt::fuzz
