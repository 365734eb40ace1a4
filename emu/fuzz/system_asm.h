// A tiny code emitter for the system-scenario generator (system_cases.h):
// instructions are encoded with the Zydis encoder (emu/fuzz/encoding.h) at
// a known linear address, so generated code is machine code built in C++
// (no assembler at run time). An encoding the encoder rejects is a bug in
// the generator and throws std::logic_error naming the mnemonic.
#pragma once
#include <Zydis/Zydis.h>

#include <initializer_list>
#include <stdexcept>
#include <string>

#include "emu/fuzz/encoding.h"

namespace softvt::fuzz {

class Asm {
 public:
  Asm(FlatMode mode, uint64_t origin) : mode_(mode), origin_(origin) {}

  void op(ZydisMnemonic m, std::initializer_list<ZydisEncoderOperand> ops) {
    Bytes b;
    if (!encode(make_request(mode_, m, ops), here(), b)) {
      std::string what = std::string("system case generator: cannot encode ") + ZydisMnemonicGetString(m);
      for (const ZydisEncoderOperand& o : ops) {
        if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) what += std::string(" ") + ZydisRegisterGetString(o.reg.value);
        else if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) what += " mem" + std::to_string(o.mem.size * 8);
        else what += " imm " + std::to_string(o.imm.s);
      }
      throw std::logic_error(what);
    }
    bytes_.insert(bytes_.end(), b.begin(), b.end());
  }
  void raw(std::initializer_list<uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }

  // Common shapes.
  // The encoder takes immediates as signed values of the operand's width.
  void mov_imm(ZydisRegister r, uint64_t v) {
    const unsigned size = gpr_size(r);
    const int64_t imm = size == 8 ? int64_t(v) : size == 4 ? int64_t(int32_t(uint32_t(v))) : int64_t(int16_t(uint16_t(v)));
    op(ZYDIS_MNEMONIC_MOV, {reg_operand(r), imm_operand(imm)});
  }
  void mov_reg(ZydisRegister dst, ZydisRegister src) { op(ZYDIS_MNEMONIC_MOV, {reg_operand(dst), reg_operand(src)}); }
  void push_imm(int64_t v) { op(ZYDIS_MNEMONIC_PUSH, {imm_operand(int64_t(int32_t(uint32_t(v))))}); }
  void push_reg(ZydisRegister r) { op(ZYDIS_MNEMONIC_PUSH, {reg_operand(r)}); }
  void hlt() { raw({0xf4}); }

  uint64_t here() const { return origin_ + bytes_.size(); }
  uint64_t origin() const { return origin_; }
  FlatMode mode() const { return mode_; }
  const Bytes& bytes() const { return bytes_; }

 private:
  FlatMode mode_;
  uint64_t origin_;
  Bytes bytes_;
};

}  // namespace softvt::fuzz
