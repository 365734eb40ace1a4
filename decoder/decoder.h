// Bytes -> softvt's Insn record, using Zydis (DESIGN.md "decoder/").
#pragma once
#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "decoder/insn.h"

namespace softvt {

struct CpuModel;

// The code-size modes the decoder distinguishes (part of the block-cache key).
enum class DecodeMode : uint8_t { Real16, Prot16, Prot32, Compat16, Compat32, Long64, Count };

enum class DecodeStatus : uint8_t {
  Ok,
  NeedMore,   // the bytes end inside the instruction
  Invalid,    // #UD
  TooLong,    // longer than 15 bytes: #GP(0) (SDM Vol. 2 2.3.11)
};

class Decoder {
 public:
  explicit Decoder(const CpuModel& model);
  // Decodes one instruction. On Ok fills `out`, resolving its handler
  // through the instruction table; an instruction softvt does not implement
  // or the CPU model lacks gets the #UD handler.
  DecodeStatus decode(const uint8_t* bytes, size_t avail, DecodeMode mode, Insn& out) const;
  // Zydis's decode as softvt reads the bytes (Zydis output, except that
  // SYSENTER/SYSEXIT are recognized in real mode as the SDM has them),
  // before the instruction table: used by tests and the cross-checks.
  ZyanStatus decode_raw(const uint8_t* bytes, size_t avail, DecodeMode mode,
                        ZydisDecodedInstruction& insn, ZydisDecodedOperand* ops) const;

 private:
  const CpuModel& model_;
  ZydisDecoder zy_[size_t(DecodeMode::Count)];
};

// Handler for instructions that are invalid in this model or not
// implemented: raises #UD.
void handler_ud(Cpu& cpu, const Insn& in);

}  // namespace softvt
