#include "emu/fuzz/encoding.h"

#include <cstring>

#include "decoder/decoder.h"
#include "emu/cpu_model.h"
#include "emu/fuzz/layout.h"

namespace softvt::fuzz {

ZydisEncoderOperand reg_operand(ZydisRegister r) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_REGISTER;
  o.reg.value = r;
  return o;
}

ZydisEncoderOperand mem_operand(ZydisRegister base, int64_t disp, unsigned size) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_MEMORY;
  o.mem.base = base;
  o.mem.index = ZYDIS_REGISTER_NONE;
  o.mem.displacement = disp;
  o.mem.size = uint16_t(size);
  return o;
}

ZydisEncoderOperand imm_operand(int64_t v) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
  o.imm.s = v;
  return o;
}

ZydisEncoderRequest make_request(FlatMode mode, ZydisMnemonic m,
                                 std::initializer_list<ZydisEncoderOperand> ops) {
  ZydisEncoderRequest r;
  std::memset(&r, 0, sizeof r);
  r.machine_mode = machine_mode(mode);
  // Legacy and VEX encodings only: XOP (AMD TBM's BEXTR r, r/m, imm), EVEX
  // and the rest belong to extensions softvt's CPU model does not have.
  r.allowed_encodings =
      ZydisEncodableEncoding(ZYDIS_ENCODABLE_ENCODING_LEGACY | ZYDIS_ENCODABLE_ENCODING_VEX);
  r.mnemonic = m;
  for (const auto& o : ops) r.operands[r.operand_count++] = o;
  return r;
}

namespace {

bool has_rip_operand(const ZydisEncoderRequest& req) {
  for (unsigned i = 0; i < req.operand_count; ++i)
    if (req.operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY && req.operands[i].mem.base == ZYDIS_REGISTER_RIP)
      return true;
  return false;
}

}  // namespace

bool encode(const ZydisEncoderRequest& req, uint64_t addr, Bytes& out) {
  uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
  ZyanUSize len = sizeof buf;
  ZyanStatus st;
  if (has_rip_operand(req)) {
    ZydisEncoderRequest copy = req;  // the encoder rewrites the displacement
    st = ZydisEncoderEncodeInstructionAbsolute(&copy, buf, &len, addr);
  } else {
    st = ZydisEncoderEncodeInstruction(&req, buf, &len);
  }
  if (!ZYAN_SUCCESS(st)) return false;
  out.assign(buf, buf + len);
  return true;
}

namespace {

// softvt's own decoder configuration (which opcodes mean LZCNT/TZCNT or
// BSR/BSF for the CPU model, CET and MPX prefixes ignored), so the
// generator sees every instruction exactly as the interpreter will.
struct Decoders {
  Decoder dec{default_cpu_model()};
  ZydisFormatter fmt;
  Decoders() { ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL); }
  static DecodeMode of(FlatMode m) {
    switch (m) {
      case FlatMode::Long64: return DecodeMode::Long64;
      case FlatMode::Prot32: return DecodeMode::Prot32;
      default: return DecodeMode::Real16;
    }
  }
};

const Decoders& decoders() {
  static const Decoders d;
  return d;
}

}  // namespace

bool decode(FlatMode mode, const uint8_t* bytes, size_t len, Decoded& out) {
  return ZYAN_SUCCESS(decoders().dec.decode_raw(bytes, len, Decoders::of(mode), out.zi, out.zo));
}

std::string disassemble(FlatMode mode, const uint8_t* bytes, size_t len, uint64_t addr) {
  Decoded d;
  if (!decode(mode, bytes, len, d)) return "(undecodable)";
  char text[256];
  if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&decoders().fmt, &d.zi, d.zo,
                                                    d.zi.operand_count_visible, text,
                                                    sizeof text, addr, nullptr)))
    return "(unformattable)";
  return text;
}

ZydisRegister gpr(unsigned num, unsigned bytes) {
  switch (bytes) {
    case 1:
      if (num < 4) return ZydisRegister(ZYDIS_REGISTER_AL + num);
      if (num < 8) return ZydisRegister(ZYDIS_REGISTER_SPL + (num - 4));
      return ZydisRegister(ZYDIS_REGISTER_R8B + (num - 8));
    case 2: return ZydisRegister(ZYDIS_REGISTER_AX + num);
    case 4: return ZydisRegister(ZYDIS_REGISTER_EAX + num);
    default: return ZydisRegister(ZYDIS_REGISTER_RAX + num);
  }
}

ZydisRegister high_byte(unsigned n) { return ZydisRegister(ZYDIS_REGISTER_AH + n); }

int gpr_number(ZydisRegister r) {
  if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL) return r - ZYDIS_REGISTER_AL;
  if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) return r - ZYDIS_REGISTER_AH;
  if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_DIL) return 4 + (r - ZYDIS_REGISTER_SPL);
  if (r >= ZYDIS_REGISTER_R8B && r <= ZYDIS_REGISTER_R15B) return 8 + (r - ZYDIS_REGISTER_R8B);
  if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W) return r - ZYDIS_REGISTER_AX;
  if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D) return r - ZYDIS_REGISTER_EAX;
  if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) return r - ZYDIS_REGISTER_RAX;
  return -1;
}

unsigned gpr_size(ZydisRegister r) {
  if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) return 1;
  if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W) return 2;
  if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D) return 4;
  return 8;
}

}  // namespace softvt::fuzz
