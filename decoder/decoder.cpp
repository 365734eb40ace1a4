#include "decoder/decoder.h"

#include <algorithm>

#include "emu/cpu.h"
#include "emu/cpu_model.h"
#include "emu/interp/table.h"

namespace softvt {

void handler_ud(Cpu& cpu, const Insn&) { cpu.raise_ud(); }

Decoder::Decoder(const CpuModel& model) : model_(model) {
  struct M {
    ZydisMachineMode m;
    ZydisStackWidth w;
  };
  const M modes[] = {
      {ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16},
      {ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16},
      {ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32},
      {ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_STACK_WIDTH_16},
      {ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32},
      {ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64},
  };
  for (size_t i = 0; i < size_t(DecodeMode::Count); ++i) {
    ZydisDecoderInit(&zy_[i], modes[i].m, modes[i].w);
    // Without LZCNT/TZCNT in CPUID, F3 0F BD/BC execute as BSR/BSF.
    ZydisDecoderEnableMode(&zy_[i], ZYDIS_DECODER_MODE_LZCNT, model.has(Feature::Lzcnt));
    ZydisDecoderEnableMode(&zy_[i], ZYDIS_DECODER_MODE_TZCNT, model.has(Feature::Bmi1));
    // MPX and CET prefixes decode as the plain instruction (no such features).
    ZydisDecoderEnableMode(&zy_[i], ZYDIS_DECODER_MODE_MPX, false);
    ZydisDecoderEnableMode(&zy_[i], ZYDIS_DECODER_MODE_CET, false);
  }
}


namespace {

uint8_t map_register(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return reg::NONE;
  if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP) return reg::RIP;
  const ZydisRegisterClass cls = ZydisRegisterGetClass(r);
  const int8_t id = ZydisRegisterGetId(r);
  switch (cls) {
    case ZYDIS_REGCLASS_GPR8:
      // Zydis order: AL CL DL BL AH CH DH BH SPL BPL SIL DIL R8B..R15B.
      if (id < 4) return uint8_t(id);
      if (id < 8) return uint8_t(reg::AH + id - 4);
      return uint8_t(id - 4);
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: return uint8_t(id);
    case ZYDIS_REGCLASS_SEGMENT: return uint8_t(reg::SEG0 + id);
    case ZYDIS_REGCLASS_CONTROL: return uint8_t(reg::CR0 + id);
    case ZYDIS_REGCLASS_DEBUG: return uint8_t(reg::DR0 + id);
    case ZYDIS_REGCLASS_XMM: return uint8_t(reg::XMM0 + id);
    case ZYDIS_REGCLASS_X87: return uint8_t(reg::ST0 + id);
    case ZYDIS_REGCLASS_MMX: return uint8_t(reg::MM0 + id);
    default: return reg::NONE;
  }
}

uint8_t map_segment(ZydisRegister r) {
  switch (r) {
    case ZYDIS_REGISTER_ES: return ES;
    case ZYDIS_REGISTER_CS: return CS;
    case ZYDIS_REGISTER_SS: return SS;
    case ZYDIS_REGISTER_FS: return FS;
    case ZYDIS_REGISTER_GS: return GS;
    default: return DS;
  }
}

uint8_t override_segment(const ZydisDecodedInstruction& zi) {
  const auto a = zi.attributes;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) return ES;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) return CS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) return SS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) return FS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) return GS;
  return DS;
}

// Zydis's real-mode tables reject SYSENTER and SYSEXIT (0F 34/35), but
// the processor recognizes them there and raises #GP(0) because CR0.PE = 0
// (SDM Vol. 2 SYSENTER/SYSEXIT "Real-Address Mode Exceptions"; AMD APM
// Vol. 3 likewise): they decode as in 16-bit protected mode and their
// handlers raise the fault.
bool recognized_in_real_mode(ZydisMnemonic m) {
  return m == ZYDIS_MNEMONIC_SYSENTER || m == ZYDIS_MNEMONIC_SYSEXIT;
}

}  // namespace

ZyanStatus Decoder::decode_raw(const uint8_t* bytes, size_t avail, DecodeMode mode,
                               ZydisDecodedInstruction& insn, ZydisDecodedOperand* ops) const {
  const ZyanStatus st = ZydisDecoderDecodeFull(&zy_[size_t(mode)], bytes, avail, &insn, ops);
  if (ZYAN_SUCCESS(st) || mode != DecodeMode::Real16) return st;
  ZydisDecodedInstruction pi;
  ZydisDecodedOperand po[ZYDIS_MAX_OPERAND_COUNT];
  const size_t prot16 = size_t(DecodeMode::Prot16);
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zy_[prot16], bytes, avail, &pi, po)) ||
      !recognized_in_real_mode(pi.mnemonic))
    return st;
  insn = pi;
  std::copy(po, po + ZYDIS_MAX_OPERAND_COUNT, ops);
  return ZYAN_STATUS_SUCCESS;
}

DecodeStatus Decoder::decode(const uint8_t* bytes, size_t avail, DecodeMode mode, Insn& out) const {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  ZyanStatus st = decode_raw(bytes, avail, mode, zi, zo);
  if (st == ZYDIS_STATUS_NO_MORE_DATA) return avail >= 15 ? DecodeStatus::TooLong : DecodeStatus::NeedMore;
  if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) return DecodeStatus::TooLong;
  if (!ZYAN_SUCCESS(st)) return DecodeStatus::Invalid;

  out = Insn{};
  out.len = zi.length;
  out.mnemonic = uint16_t(zi.mnemonic);
  out.opsize = uint8_t(zi.operand_width / 8);
  if (out.opsize == 0) out.opsize = mode == DecodeMode::Long64 ? 4 : 2;
  out.addrsize = uint8_t(zi.address_width / 8);
  const auto a = zi.attributes;
  if (a & ZYDIS_ATTRIB_HAS_LOCK) out.prefixes |= pfx::LOCK;
  if (a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) out.prefixes |= pfx::REP;
  if (a & ZYDIS_ATTRIB_HAS_REPNE) out.prefixes |= pfx::REPNE;
  if (a & ZYDIS_ATTRIB_HAS_OPERANDSIZE) out.prefixes |= pfx::OPSIZE;
  if (a & ZYDIS_ATTRIB_HAS_ADDRESSSIZE) out.prefixes |= pfx::ADDRSIZE;
  if (zi.raw.rex.W) out.prefixes |= pfx::REX_W;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT) out.prefixes |= pfx::SEG_OVERRIDE;
  out.seg = override_segment(zi);
  out.base = out.index = reg::NONE;
  out.mem_op = 0xff;
  out.far_branch = zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
  out.nops = zi.operand_count_visible;
  if (out.nops > 4) out.nops = 4;
  bool have_imm = false;
  for (unsigned i = 0; i < out.nops; ++i) {
    const ZydisDecodedOperand& o = zo[i];
    Operand& d = out.op[i];
    d.size = uint8_t((o.size + 7) / 8);
    switch (o.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER:
        d.kind = OpKind::Reg;
        d.reg = map_register(o.reg.value);
        break;
      case ZYDIS_OPERAND_TYPE_MEMORY:
        d.kind = OpKind::Mem;
        out.mem_op = uint8_t(i);
        out.seg = map_segment(o.mem.segment);
        out.base = map_register(o.mem.base);
        out.index = map_register(o.mem.index);
        out.scale = o.mem.index == ZYDIS_REGISTER_NONE ? 0 : o.mem.scale;
        out.disp = o.mem.disp.has_displacement ? o.mem.disp.value : 0;
        break;
      case ZYDIS_OPERAND_TYPE_POINTER:
        d.kind = OpKind::Ptr;
        out.imm = o.ptr.offset;
        out.imm2 = o.ptr.segment;
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        d.kind = OpKind::Imm;
        if (!have_imm) {
          out.imm = o.imm.value.u;
          have_imm = true;
        } else {
          out.imm2 = o.imm.value.u;
        }
        break;
      default: d.kind = OpKind::None; break;
    }
  }

  const InsnRow* row = find_row(zi.mnemonic);
  Handler h = nullptr;
  if (row && model_.has(row->feature)) h = row->select(out);
  if (h) {
    out.row = row_index(row);
    out.ends_block = row->ends_block;
  } else {
    out.row = 0xffff;
    out.ends_block = 1;
    h = handler_ud;
  }
  out.handler = h;
  return DecodeStatus::Ok;
}

}  // namespace softvt
