// Thin helpers over the Zydis 4 encoder and softvt's decoder for the
// generator: operand builders, encoding at an address (RIP-relative
// operands are given as absolute addresses), full decoding for analysis
// (with softvt's decoder configuration), and disassembly text.
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "emu/loader/flat.h"

namespace softvt::fuzz {

using Bytes = std::vector<uint8_t>;

ZydisEncoderOperand reg_operand(ZydisRegister r);
ZydisEncoderOperand mem_operand(ZydisRegister base, int64_t disp, unsigned size);
ZydisEncoderOperand imm_operand(int64_t v);

ZydisEncoderRequest make_request(FlatMode mode, ZydisMnemonic m,
                                 std::initializer_list<ZydisEncoderOperand> ops);

// Encodes `req` as the instruction at linear address `addr`; a memory
// operand based on RIP holds the absolute address it refers to. Returns
// false when the encoder rejects the combination.
bool encode(const ZydisEncoderRequest& req, uint64_t addr, Bytes& out);

struct Decoded {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
};
bool decode(FlatMode mode, const uint8_t* bytes, size_t len, Decoded& out);
// Intel-syntax text of one instruction at `addr` (for reports).
std::string disassemble(FlatMode mode, const uint8_t* bytes, size_t len, uint64_t addr);

// The GPR numbered `num` (ModRM order, 0-15) at `bytes` (1, 2, 4, 8); for
// one byte, 4-7 are SPL..DIL (which need REX). high_byte(n) is AH..BH.
ZydisRegister gpr(unsigned num, unsigned bytes);
ZydisRegister high_byte(unsigned n);
// The number (0-15) of the 64-bit register containing `r` (AH -> 0), or -1
// if `r` is not a general-purpose register.
int gpr_number(ZydisRegister r);
// Size in bytes of a GPR operand.
unsigned gpr_size(ZydisRegister r);

}  // namespace softvt::fuzz
