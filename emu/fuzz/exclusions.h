// What random bodies never contain, and why. The generator draws from every
// row of the instruction table (emu/interp/table.h) except those excluded
// here: an explicit list of mnemonics, each with its reason, plus generic
// rules (rows that end a block, privileged or system instructions by Zydis's
// classification, features the CPU model lacks, no encodable form).
#pragma once
#include <Zydis/Zydis.h>

#include <span>
#include <string>

#include "emu/interp/table.h"
#include "emu/loader/flat.h"

namespace softvt::fuzz {

struct Exclusion {
  ZydisMnemonic mnemonic;
  bool native_only;     // only excluded when the native oracle takes part
  const char* reason;
};

std::span<const Exclusion> exclusion_list();

// Relative branches the generator uses as forward skips over a few of the
// following instructions (never backwards, never out of the body).
bool is_forward_branch(ZydisMnemonic m);

// Why `row` is never generated in `mode` when the native oracle does (or
// does not) take part; empty when it is generated.
std::string exclusion_reason(const InsnRow& row, FlatMode mode, bool native_oracle);

}  // namespace softvt::fuzz
