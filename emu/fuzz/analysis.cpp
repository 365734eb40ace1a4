#include "emu/fuzz/analysis.h"

#include "emu/fuzz/layout.h"

namespace softvt::fuzz {
namespace {

bool is_flags_register(ZydisRegister r) {
  return r == ZYDIS_REGISTER_RFLAGS || r == ZYDIS_REGISTER_EFLAGS || r == ZYDIS_REGISTER_FLAGS;
}
bool is_ip_register(ZydisRegister r) {
  return r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP;
}

// x87, MMX and SSE registers, and the x87 control/status/tag words and
// MXCSR that Zydis lists as hidden operands: the prologue loads them all
// and the epilogue's FXSAVE compares them.
bool is_fp_register(ZydisRegister r) {
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_X87: case ZYDIS_REGCLASS_MMX: case ZYDIS_REGCLASS_XMM: return true;
    default: break;
  }
  return r == ZYDIS_REGISTER_X87CONTROL || r == ZYDIS_REGISTER_X87STATUS ||
         r == ZYDIS_REGISTER_X87TAG || r == ZYDIS_REGISTER_MXCSR;
}

bool writes(const ZydisDecodedOperand& o) { return o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE; }
bool hidden(const ZydisDecodedOperand& o) { return o.visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN; }

std::string check_register(const ZydisDecodedOperand& o, bool forward_branch, Analysis& a) {
  const ZydisRegister r = o.reg.value;
  const int n = gpr_number(r);
  if (n >= 0) {
    if (!writes(o)) return "";
    if (n == kPtrGpr) a.writes_ptr = true;
    if (n == kSpGpr) {
      if (hidden(o)) a.implicit_stack = true;
      else a.writes_sp = true;
    }
    return "";
  }
  if (is_flags_register(r) || is_fp_register(r)) return "";
  if (is_ip_register(r)) {
    if (!writes(o) || forward_branch) return "";
    return "writes RIP";
  }
  if (ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_SEGMENT && hidden(o) && !writes(o)) return "";
  return std::string(writes(o) ? "writes " : "reads ") + ZydisRegisterGetString(r);
}

bool in_data_area(int64_t lin, unsigned bytes) {
  return lin >= int64_t(kData) && lin + int64_t(bytes) <= int64_t(kData + kDataSize);
}

std::string check_memory(const Decoded& d, const ZydisDecodedOperand& o, FlatMode mode, uint64_t addr) {
  if (o.mem.type != ZYDIS_MEMOP_TYPE_MEM) return "";  // LEA's address generation
  if (mode == FlatMode::Long64 &&
      (o.mem.segment == ZYDIS_REGISTER_FS || o.mem.segment == ZYDIS_REGISTER_GS))
    return "FS/GS-relative access (bases differ natively)";
  const ZydisRegister base = o.mem.base;
  const unsigned bytes = o.size / 8;
  if (is_ip_register(base)) {
    const int64_t lin = int64_t(addr + d.zi.length) + o.mem.disp.value;
    return in_data_area(lin, bytes) ? "" : "RIP-relative access outside the data area";
  }
  const int n = gpr_number(base);
  if (n == kPtrGpr) {
    if (d.zi.mnemonic == ZYDIS_MNEMONIC_XLAT) return "";  // [RBX + AL]: 256 bytes above the pointer
    if (o.mem.index != ZYDIS_REGISTER_NONE) return "indexed memory operand";
    return in_data_area(int64_t(kDataPtr) + o.mem.disp.value, bytes) ? ""
                                                                     : "access outside the data area";
  }
  if (!hidden(o)) return "memory operand not based on the data pointer";
  if (n == kSpGpr) return "";                              // the stack
  if (n == 6 || n == 7) return "";                         // string operations: RSI/RDI
  if (n == 5 && d.zi.mnemonic == ZYDIS_MNEMONIC_LEAVE) return "";  // LEAVE pops from [RBP]
  return std::string("hidden memory operand based on ") + ZydisRegisterGetString(base);
}

}  // namespace

Analysis analyze(const Decoded& d, FlatMode mode, uint64_t addr, bool forward_branch) {
  Analysis a;
  for (unsigned i = 0; i < d.zi.operand_count && a.reject.empty(); ++i) {
    const ZydisDecodedOperand& o = d.zo[i];
    switch (o.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER: a.reject = check_register(o, forward_branch, a); break;
      case ZYDIS_OPERAND_TYPE_MEMORY: a.reject = check_memory(d, o, mode, addr); break;
      case ZYDIS_OPERAND_TYPE_POINTER: a.reject = "far pointer operand"; break;
      default: break;
    }
  }
  return a;
}

bool implicit_stack_delta(const Decoded& d, int64_t& delta) {
  const int64_t size = d.zi.operand_width / 8;
  switch (d.zi.mnemonic) {
    case ZYDIS_MNEMONIC_PUSH: case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFD:
    case ZYDIS_MNEMONIC_PUSHFQ: case ZYDIS_MNEMONIC_CALL:
      delta = -size;
      return true;
    case ZYDIS_MNEMONIC_POP: delta = size; return true;
    case ZYDIS_MNEMONIC_PUSHA: case ZYDIS_MNEMONIC_PUSHAD: delta = -8 * size; return true;
    case ZYDIS_MNEMONIC_POPA: case ZYDIS_MNEMONIC_POPAD: delta = 8 * size; return true;
    default: return false;
  }
}

}  // namespace softvt::fuzz
