#include "emu/fuzz/flag_model.h"

namespace softvt::fuzz {
namespace {

enum class ShiftKind { None, ShiftLeftRight, ShiftArith, Rotate, DoubleShift };

ShiftKind shift_kind(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:  // Zydis decodes SAL (/6) as SHL
      return ShiftKind::ShiftLeftRight;
    case ZYDIS_MNEMONIC_SAR: return ShiftKind::ShiftArith;
    case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR: return ShiftKind::Rotate;
    case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD: return ShiftKind::DoubleShift;
    default: return ShiftKind::None;
  }
}

// The count operand of a shift: the last visible operand, an immediate
// (known count) or CL (unknown).
bool known_count(const Decoded& d, uint64_t& count) {
  const unsigned n = d.zi.operand_count_visible;
  if (n == 0) return false;
  const ZydisDecodedOperand& o = d.zo[n - 1];
  if (o.type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return false;
  count = o.imm.value.u;
  return true;
}

// SDM Vol. 2 SAL/SAR/SHL/SHR "Flags Affected", RCL/RCR/ROL/ROR, SHLD/SHRD.
void refine_shift(ShiftKind kind, const Decoded& d, FlagEffect& e) {
  const unsigned bits = d.zi.operand_width;
  const uint64_t mask = bits == 64 ? 0x3f : 0x1f;
  const uint32_t written = e.defined | e.undefined;
  const bool cf_may_be_lost = kind == ShiftKind::ShiftLeftRight && bits <= 16;
  uint64_t count;
  if (!known_count(d, count)) {
    e.may_keep = true;
    e.undefined |= written & uint32_t(fl::OF);
    if (cf_may_be_lost) e.undefined |= written & uint32_t(fl::CF);
    e.defined &= ~e.undefined;
    return;
  }
  count &= mask;
  if (count == 0) {
    e.defined = e.undefined = 0;
    return;
  }
  if (count == 1) {
    e.undefined &= ~uint32_t(fl::OF);
    e.defined |= written & uint32_t(fl::OF);
  } else {
    e.undefined |= written & uint32_t(fl::OF);
  }
  if (cf_may_be_lost && count >= bits) e.undefined |= written & uint32_t(fl::CF);
  if (kind == ShiftKind::DoubleShift && count > bits) e.undefined |= written;
  e.defined &= ~e.undefined;
}

bool flags_conditionally_written(const Decoded& d) {
  for (unsigned i = 0; i < d.zi.operand_count; ++i) {
    const ZydisDecodedOperand& o = d.zo[i];
    if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    if (o.reg.value != ZYDIS_REGISTER_RFLAGS && o.reg.value != ZYDIS_REGISTER_EFLAGS &&
        o.reg.value != ZYDIS_REGISTER_FLAGS)
      continue;
    return (o.actions & ZYDIS_OPERAND_ACTION_CONDWRITE) && !(o.actions & ZYDIS_OPERAND_ACTION_WRITE);
  }
  return false;
}

}  // namespace

FlagEffect flag_effect(const InsnRow* row, const Decoded& d) {
  FlagEffect e;
  e.tested = d.zi.cpu_flags ? d.zi.cpu_flags->tested & kComparedFlags : 0;
  if (!row) return e;
  e.undefined = row->flags_undef & kComparedFlags;
  e.defined = row->flags_def & kComparedFlags & ~e.undefined;
  const ShiftKind kind = shift_kind(ZydisMnemonic(row->mnemonic));
  if (kind != ShiftKind::None) refine_shift(kind, d, e);
  else if (flags_conditionally_written(d)) e.may_keep = true;
  return e;
}

void FlagTracker::enter_unit(unsigned u) {
  auto it = pending_.find(u);
  if (it == pending_.end()) return;
  taint_ |= it->second;
  pending_.erase(it);
}

void FlagTracker::apply(const FlagEffect& e) {
  if (e.may_keep) {
    // Either unchanged or written: a flag is possibly undefined after it if
    // it was before or the instruction may leave it undefined.
    taint_ |= e.undefined;
    return;
  }
  taint_ = (taint_ & ~(e.defined | e.undefined)) | e.undefined;
}

void FlagTracker::branch_to(unsigned target_unit, uint32_t taint) {
  pending_[target_unit] |= taint;
}

uint32_t FlagTracker::at_cut(unsigned cut) const {
  uint32_t t = taint_;
  for (const auto& [target, taint] : pending_)
    if (target >= cut) t |= taint;
  return t;
}

}  // namespace softvt::fuzz
