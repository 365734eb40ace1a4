#include "emu/fuzz/constraints.h"

#include <algorithm>

#include "emu/fuzz/layout.h"
#include "emu/fuzz/values.h"

namespace softvt::fuzz {

Fixup set_gpr(int num, unsigned size, uint64_t value) {
  return Fixup{reg_operand(gpr(unsigned(num), size)), size, value};
}

namespace {

using Op = ZydisEncoderOperand;

bool is_reg(const Op& o) { return o.type == ZYDIS_OPERAND_TYPE_REGISTER; }
bool is_mem(const Op& o) { return o.type == ZYDIS_OPERAND_TYPE_MEMORY; }
bool is_imm(const Op& o) { return o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE; }
int reg_num(const Op& o) { return is_reg(o) ? gpr_number(o.reg.value) : -1; }

// A fixup may not target RSP or the data pointer: both are needed intact.
bool reserved(const Op& o) {
  const int n = reg_num(o);
  return n == kSpGpr || n == kPtrGpr;
}

unsigned op_bytes(const Decoded& d) { return d.zi.operand_width / 8; }

// Full-width register values in the mode (what the restores and the
// pointer setups write): 64-bit registers in long64, 32-bit otherwise.
unsigned full_width(FlatMode m) { return gpr_bytes(m); }

// Displacement of a data-area memory operand relative to the data pointer.
int64_t pointer_disp(const Op& m) {
  return m.mem.base == ZYDIS_REGISTER_RIP ? m.mem.displacement - int64_t(kDataPtr)
                                          : m.mem.displacement;
}

uint64_t data_pointer(FlatMode mode) { return guest_offset(mode, kDataPtr); }

void divide(RuleResult& r, const Op& divisor, const Decoded& d, RuleContext& ctx, bool is_signed) {
  const unsigned n = op_bytes(d);
  const int num = reg_num(divisor);
  if (num == kSpGpr || num == kPtrGpr || num == 0 || (n > 1 && num == 2)) {
    r.reject = "divisor overlaps the dividend or a reserved register";
    return;
  }
  const uint64_t mask = width_mask(n);
  uint64_t div, hi, lo;
  if (!is_signed) {
    // Quotient fits in n bytes iff the high half of the dividend is below
    // the divisor (SDM Vol. 2 DIV, #DE).
    div = nonzero_value(ctx.rng, n);
    hi = ctx.rng.below(div);
    lo = edge_value(ctx.rng, n);
  } else {
    // Pick quotient q and divisor v, then the dividend q*v + r with |r| <
    // |v| and r of the dividend's sign: IDIV truncates towards zero and
    // returns exactly q (SDM Vol. 2 IDIV).
    const __int128 v = sign_extend(nonzero_value(ctx.rng, n), n);
    const __int128 q = sign_extend(edge_value(ctx.rng, n), n);
    const __int128 d0 = q * v;
    const uint64_t abs_v = uint64_t(v < 0 ? -v : v);
    __int128 rem = __int128(ctx.rng.below(abs_v));
    if (d0 < 0 || (d0 == 0 && ctx.rng.chance(1, 2))) rem = -rem;
    const __int128 dividend = d0 + rem;
    div = uint64_t(v) & mask;
    lo = uint64_t(dividend) & mask;
    hi = uint64_t(dividend >> (8 * n)) & mask;
  }
  r.setup.push_back(Fixup{divisor, n, div});
  if (n == 1) {
    r.setup.push_back(set_gpr(0, 2, (hi << 8) | lo));  // AX
  } else {
    r.setup.push_back(set_gpr(2, n, hi));  // rDX
    r.setup.push_back(set_gpr(0, n, lo));  // rAX
  }
}

void nonzero_source(RuleResult& r, const Op& src, const Decoded& d, RuleContext& ctx) {
  if (reserved(src)) {
    r.reject = "source is a reserved register";
    return;
  }
  r.setup.push_back(Fixup{src, op_bytes(d), nonzero_value(ctx.rng, op_bytes(d))});
}

void double_shift_count(RuleResult& r, Op& count, const Decoded& d, RuleContext& ctx) {
  if (op_bytes(d) != 2) return;
  // SDM Vol. 2 SHLD: the count is masked to 5 bits; a count greater than
  // the 16-bit operand size leaves the result undefined.
  auto limit = [](uint64_t c) { return (c & 0xe0) | ((c & 0x1f) % 17); };
  if (is_imm(count)) {
    const uint64_t c = count.imm.u & 0xff;
    if ((c & 0x1f) > 16) {
      count.imm.u = limit(c);
      r.changed_request = true;
    }
  } else {
    r.setup.push_back(Fixup{count, 1, limit(ctx.rng.below(256))});
  }
}

void bit_offset(RuleResult& r, const Op& base, const Op& offset, const Decoded& d, RuleContext& ctx) {
  if (!is_mem(base) || !is_reg(offset)) return;
  if (reserved(offset)) {
    r.reject = "bit offset in a reserved register";
    return;
  }
  // SDM Vol. 2 BT: a register bit offset addresses the n-byte unit at
  // EA + n * floor(offset / (8n)); keep that unit in the data area.
  const int64_t n = op_bytes(d);
  const int64_t disp = pointer_disp(base);
  auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const int64_t kmin = -floor_div(kDispMax + disp, n);
  const int64_t kmax = floor_div(kDispMax - n - disp, n);
  if (kmin > kmax) {
    r.reject = "no bit offset keeps the access in the data area";
    return;
  }
  const int64_t k = ctx.rng.range(kmin, kmax);
  const int64_t bit = ctx.rng.range(0, 8 * n - 1);
  r.setup.push_back(Fixup{offset, unsigned(n), uint64_t(k * 8 * n + bit) & width_mask(unsigned(n))});
}

void align16(RuleResult& r, Op& m) {
  if (!is_mem(m)) return;
  const int64_t aligned = m.mem.displacement & ~int64_t(15);  // the pointer is 16-aligned
  if (aligned != m.mem.displacement) {
    m.mem.displacement = aligned;
    r.changed_request = true;
  }
}

bool uses_fp_register(const Decoded& d) {
  for (unsigned i = 0; i < d.zi.operand_count; ++i) {
    if (d.zo[i].type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    switch (ZydisRegisterGetClass(d.zo[i].reg.value)) {
      case ZYDIS_REGCLASS_X87: case ZYDIS_REGCLASS_MMX: case ZYDIS_REGCLASS_XMM: return true;
      default: break;
    }
  }
  return false;
}

// Legacy SSE instructions with a 16-byte memory operand require it aligned
// to 16 (#GP otherwise, SDM Vol. 1 11.6.4; MOVUPS/MOVDQU and friends do
// not): aligned 255 times in 256, so most cases run on and the #GP of a
// misaligned operand is still exercised.
void align_sse(RuleResult& r, ZydisEncoderRequest& req, const Decoded& d, RuleContext& ctx) {
  bool xmm = false;
  for (unsigned i = 0; i < d.zi.operand_count; ++i)
    xmm |= d.zo[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
           ZydisRegisterGetClass(d.zo[i].reg.value) == ZYDIS_REGCLASS_XMM;
  if (!xmm || ctx.rng.chance(1, 256)) return;
  for (unsigned i = 0; i < req.operand_count; ++i)
    if (is_mem(req.operands[i]) && req.operands[i].mem.size == 16) align16(r, req.operands[i]);
}

// A value for RBP inside the stack region, `words` operand-size words
// from RSP.
uint64_t stack_slot(RuleContext& ctx, int64_t words, unsigned opsize) {
  return uint64_t(int64_t(ctx.sp) + words * int64_t(opsize));
}

void enter(RuleResult& r, ZydisEncoderRequest& req, const Decoded& d, RuleContext& ctx) {
  const unsigned opsize = op_bytes(d);
  const uint64_t size = ctx.rng.below(65);
  const uint64_t level = ctx.rng.chance(3, 5) ? 0 : uint64_t(ctx.rng.range(1, 3));
  req.operands[0].imm.u = size;
  req.operands[1].imm.u = level;
  r.changed_request = true;
  if (level > 0)  // frame pointers are copied from [RBP - i*opsize]
    r.setup.push_back(set_gpr(5, full_width(ctx.mode), stack_slot(ctx, ctx.rng.range(4, 12), opsize)));
  // SDM Vol. 2 ENTER: push RBP, then for level L > 0 push L-1 frame
  // pointers and the frame temp; then allocate `size` bytes.
  r.has_stack_delta = true;
  r.stack_delta = -int64_t(opsize * (level == 0 ? 1 : level + 1) + size);
}

void leave(RuleResult& r, const Decoded& d, RuleContext& ctx) {
  const unsigned opsize = op_bytes(d);
  const uint64_t rbp = stack_slot(ctx, ctx.rng.range(-6, 6), opsize);
  r.setup.push_back(set_gpr(5, full_width(ctx.mode), rbp));
  // SDM Vol. 2 LEAVE: RSP <- RBP, then RBP is popped.
  r.has_stack_delta = true;
  r.stack_delta = int64_t(rbp - ctx.sp) + int64_t(opsize);
}

// String operations (MOVS, CMPS, SCAS, LODS, STOS): their hidden memory
// operands are based on RSI/RDI.
void string_registers(RuleResult& r, const Decoded& d, RuleContext& ctx) {
  bool si = false, di = false;
  for (unsigned i = 0; i < d.zi.operand_count; ++i) {
    const ZydisDecodedOperand& o = d.zo[i];
    if (o.type != ZYDIS_OPERAND_TYPE_MEMORY || o.visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN) continue;
    const int n = gpr_number(o.mem.base);
    si |= n == 6;
    di |= n == 7;
  }
  if (!si && !di) return;
  const unsigned w = full_width(ctx.mode);
  const uint64_t ptr = data_pointer(ctx.mode);
  // At most 8 elements of at most 8 bytes either way (DF may be set).
  if (si) r.setup.push_back(set_gpr(6, w, ptr + uint64_t(ctx.rng.range(-64, 56))));
  if (di) r.setup.push_back(set_gpr(7, w, ptr + uint64_t(ctx.rng.range(-64, 56))));
  if (d.zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE))
    r.setup.push_back(set_gpr(1, w, ctx.rng.below(9)));
}

// Real mode lets any segment register be written through (SDM Vol. 3A
// 20.1: no protection checks); the native oracle runs real16 code in a
// protected-mode code segment, which is never writable (SDM Vol. 3A
// 5.4.1: a write through CS raises #GP(0)).
bool writes_through_cs(const Decoded& d) {
  for (unsigned i = 0; i < d.zi.operand_count; ++i) {
    const ZydisDecodedOperand& o = d.zo[i];
    if (o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.mem.segment == ZYDIS_REGISTER_CS &&
        (o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
      return true;
  }
  return false;
}

}  // namespace

RuleResult apply_rules(ZydisEncoderRequest& req, const Decoded& d, RuleContext& ctx) {
  RuleResult r;
  if (ctx.oracles.native && ctx.mode == FlatMode::Real16 && writes_through_cs(d)) {
    r.reject = "the native oracle runs real16 code in a code segment, which is not writable";
    return r;
  }
  if (ctx.oracles.kvm && uses_fp_register(d)) {
    // MOVSD and CMPSD share their mnemonic (and table row) with the SSE2
    // scalar-double forms: the row is generated for KVM, its XMM forms
    // are not (KVM's emulator fails on them at CPL 0, exclusions.cpp).
    r.reject = "x87/MMX/SSE register operand: KVM's instruction emulator cannot run it";
    return r;
  }
  Op* op = req.operands;
  align_sse(r, req, d, ctx);
  switch (d.zi.mnemonic) {
    case ZYDIS_MNEMONIC_DIV: divide(r, op[0], d, ctx, false); break;
    case ZYDIS_MNEMONIC_IDIV: divide(r, op[0], d, ctx, true); break;
    case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR: nonzero_source(r, op[1], d, ctx); break;
    case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
      if (req.operand_count == 3) double_shift_count(r, op[2], d, ctx);
      break;
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
      bit_offset(r, op[0], op[1], d, ctx);
      break;
    case ZYDIS_MNEMONIC_BSWAP:
      if (op_bytes(d) == 2) r.reject = "BSWAP of a 16-bit register is undefined";
      break;
    case ZYDIS_MNEMONIC_AAM:
      if (req.operand_count == 1 && (op[0].imm.u & 0xff) == 0) {
        op[0].imm.u = 1 + ctx.rng.below(255);
        r.changed_request = true;
      }
      break;
    case ZYDIS_MNEMONIC_CMPXCHG16B: align16(r, op[0]); break;
    case ZYDIS_MNEMONIC_PEXTRW:
      // 66 0F 3A 15 (PEXTRW to memory) is SSE4.1, which the CPU model lacks
      // (#UD) and the host has: not comparable with the native oracle.
      if (ctx.oracles.native && d.zi.opcode_map == ZYDIS_OPCODE_MAP_0F3A)
        r.reject = "SSE4.1 form: #UD in the CPU model, executed by the host";
      break;
    case ZYDIS_MNEMONIC_FLDCW: case ZYDIS_MNEMONIC_FLDENV: case ZYDIS_MNEMONIC_FRSTOR:
      // The control word (the first word of an environment image, SDM Vol.
      // 1 Figs. 8-9..8-12) from the biased set: random words unmask
      // exceptions almost always, and the next x87 instruction would #MF.
      r.setup.push_back(Fixup{op[0], 2, fcw_value(ctx.rng)});
      break;
    case ZYDIS_MNEMONIC_LDMXCSR:
      // A random dword sets reserved MXCSR bits (#GP, SDM Vol. 2 LDMXCSR)
      // almost always: store a valid value from the biased set first.
      r.setup.push_back(Fixup{op[0], 4, mxcsr_value(ctx.rng)});
      break;
    case ZYDIS_MNEMONIC_CMPXCHG:
      if (ctx.oracles.kvm && ctx.mode == FlatMode::Long64 && is_reg(op[0]) && op_bytes(d) == 4)
        r.reject = "KVM's emulator zero-extends a failed CMPXCHG's 32-bit register destination";
      break;
    case ZYDIS_MNEMONIC_ENTER:
      if (req.operand_count == 2) enter(r, req, d, ctx);
      break;
    case ZYDIS_MNEMONIC_LEAVE: leave(r, d, ctx); break;
    case ZYDIS_MNEMONIC_NOP:
      // Only the documented forms, 90 and 0F 1F /0 (SDM Vol. 2 NOP): the
      // other "hint NOP" opcodes are vendor-specific (0F 0D is PREFETCH on
      // AMD and #UD with a register operand).
      if (!(d.zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && d.zi.opcode == 0x90) &&
          !(d.zi.opcode_map == ZYDIS_OPCODE_MAP_0F && d.zi.opcode == 0x1f))
        r.reject = "vendor-specific hint NOP encoding";
      break;
    default: string_registers(r, d, ctx); break;
  }
  return r;
}

}  // namespace softvt::fuzz
