#include "emu/fuzz/forms.h"

#include <algorithm>
#include <array>
#include <map>

#include "emu/fuzz/encoding.h"
#include "emu/fuzz/layout.h"

namespace softvt::fuzz {

unsigned slot_bytes(Slot s) {
  switch (s) {
    case Slot::R8: case Slot::CL: case Slot::M8: return 1;
    case Slot::R16: case Slot::M16: return 2;
    case Slot::R32: case Slot::M32: return 4;
    case Slot::R64: case Slot::M64: return 8;
    case Slot::MM: return 8;
    case Slot::M128: case Slot::XMM: return 16;
    case Slot::ST0: case Slot::STi: case Slot::M80: return 10;
    case Slot::M14: return 14;
    case Slot::M28: return 28;
    case Slot::M94: return 94;
    case Slot::M108: return 108;
    case Slot::M512: return 512;
    default: return 0;
  }
}

namespace {

constexpr Slot kSlots[] = {Slot::R8,  Slot::R16,  Slot::R32,  Slot::R64, Slot::CL,
                           Slot::ST0, Slot::STi,  Slot::MM,   Slot::XMM, Slot::M8,
                           Slot::M16, Slot::M32,  Slot::M64,  Slot::M128, Slot::M80,
                           Slot::M14, Slot::M28,  Slot::M94,  Slot::M108, Slot::M512,
                           Slot::Imm};

// Which slots may appear together: the big memory images only alone
// (FLD m80, FLDENV, FXSAVE), x87 registers only in forms of at most two
// operands (no x87 instruction takes three).
bool slot_allowed(Slot s, unsigned position, unsigned count) {
  if (slot_is_big_mem(s)) return count == 1;
  if (slot_is_x87(s)) return count <= 2;
  (void)position;
  return true;
}

ZydisRegister pointer_register(FlatMode mode) {
  return gpr(kPtrGpr, mode == FlatMode::Real16 ? 2 : mode == FlatMode::Prot32 ? 4 : 8);
}

// A representative operand for a slot: registers that no encoding treats
// specially (DL, SI/ESI/RSI), the data pointer as base, immediate 1 (which
// fits every immediate width).
ZydisEncoderOperand sample_operand(Slot s, FlatMode mode) {
  switch (s) {
    case Slot::R8: return reg_operand(ZYDIS_REGISTER_DL);
    case Slot::R16: return reg_operand(ZYDIS_REGISTER_SI);
    case Slot::R32: return reg_operand(ZYDIS_REGISTER_ESI);
    case Slot::R64: return reg_operand(ZYDIS_REGISTER_RSI);
    case Slot::CL: return reg_operand(ZYDIS_REGISTER_CL);
    case Slot::ST0: return reg_operand(ZYDIS_REGISTER_ST0);
    case Slot::STi: return reg_operand(ZYDIS_REGISTER_ST3);
    case Slot::MM: return reg_operand(ZYDIS_REGISTER_MM3);
    case Slot::XMM: return reg_operand(ZYDIS_REGISTER_XMM3);
    case Slot::Imm: return imm_operand(1);
    default: return mem_operand(pointer_register(mode), 16, slot_bytes(s));
  }
}

struct Probe {
  FlatMode mode;
  ZydisMnemonic m;

  // Encodes the form with sample operands; the result must decode back to
  // the same mnemonic (a prefix can turn an encoding into another
  // instruction, e.g. F3 0F BC is TZCNT, not REP BSF).
  bool try_form(const Form& f, Bytes& out) const {
    ZydisEncoderRequest r = make_request(mode, m, {});
    r.prefixes = f.prefixes;
    r.operand_size_hint = f.size_hint;
    r.operand_count = f.count;
    for (unsigned i = 0; i < f.count; ++i) r.operands[i] = sample_operand(f.slot[i], mode);
    if (!encode(r, kLoad, out)) return false;
    Decoded d;
    return decode(mode, out.data(), out.size(), d) && d.zi.mnemonic == m;
  }
};

bool only_immediates(const Form& f) {
  for (unsigned i = 0; i < f.count; ++i)
    if (f.slot[i] != Slot::Imm) return false;
  return true;
}

bool has_mem(const Form& f) {
  for (unsigned i = 0; i < f.count; ++i)
    if (slot_is_mem(f.slot[i])) return true;
  return false;
}

// Adds `base` and its prefix and size-hint variants that encode, each
// distinct encoding once.
void add_variants(const Probe& p, const Form& base, std::vector<Form>& out,
                  std::vector<Bytes>& seen) {
  std::vector<ZydisOperandSizeHint> hints = {ZYDIS_OPERAND_SIZE_HINT_NONE};
  if (only_immediates(base))
    hints = {ZYDIS_OPERAND_SIZE_HINT_NONE, ZYDIS_OPERAND_SIZE_HINT_16, ZYDIS_OPERAND_SIZE_HINT_32,
             ZYDIS_OPERAND_SIZE_HINT_64};
  const ZydisInstructionAttributes prefixes[] = {0, ZYDIS_ATTRIB_HAS_LOCK, ZYDIS_ATTRIB_HAS_REP,
                                                 ZYDIS_ATTRIB_HAS_REPE, ZYDIS_ATTRIB_HAS_REPNE};
  for (auto hint : hints) {
    for (auto pfx : prefixes) {
      if (pfx == ZYDIS_ATTRIB_HAS_LOCK && !has_mem(base)) continue;
      Form f = base;
      f.size_hint = hint;
      f.prefixes = pfx;
      Bytes b;
      if (!p.try_form(f, b)) continue;
      if (std::find(seen.begin(), seen.end(), b) != seen.end()) continue;
      seen.push_back(b);
      out.push_back(f);
    }
  }
}

void classify(const Probe& p, FormSet& set) {
  if (set.forms.empty()) return;
  Bytes b;
  Decoded d;
  if (!p.try_form(set.forms.front(), b) || !decode(p.mode, b.data(), b.size(), d)) return;
  set.category = d.zi.meta.category;
  set.privileged = d.zi.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED;
}

FormSet discover(ZydisMnemonic m, FlatMode mode) {
  const Probe p{mode, m};
  FormSet set;
  std::vector<Form>& out = set.forms;
  std::vector<Bytes> seen;
  Form f;
  add_variants(p, f, out, seen);
  for (Slot a : kSlots) {
    f = Form{};
    f.count = 1;
    f.slot[0] = a;
    add_variants(p, f, out, seen);
    if (!slot_allowed(a, 0, 2)) continue;
    for (Slot b : kSlots) {
      if (slot_is_mem(a) && slot_is_mem(b)) continue;
      if (!slot_allowed(b, 1, 2)) continue;
      f.count = 2;
      f.slot[1] = b;
      add_variants(p, f, out, seen);
      if (!slot_allowed(a, 0, 3) || !slot_allowed(b, 1, 3)) continue;
      // Three-operand forms (IMUL r, r/m, imm; SHLD r/m, r, CL; ANDN r, r,
      // r/m) need not extend an encodable two-operand form: try them all.
      for (Slot c : kSlots) {
        if (slot_is_mem(c) && (slot_is_mem(a) || slot_is_mem(b))) continue;
        if (!slot_allowed(c, 2, 3)) continue;
        f.count = 3;
        f.slot[2] = c;
        add_variants(p, f, out, seen);
      }
      f.count = 2;
    }
  }
  classify(p, set);
  return set;
}

}  // namespace

const FormSet& forms_of(ZydisMnemonic m, FlatMode mode) {
  static std::map<std::pair<int, int>, FormSet> cache;
  auto key = std::make_pair(int(m), int(mode));
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, discover(m, mode)).first;
  return it->second;
}

}  // namespace softvt::fuzz
