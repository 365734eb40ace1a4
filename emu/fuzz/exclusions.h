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

// When an exclusion applies: always, or only when a given oracle takes
// part (what it cannot compare or mis-executes).
enum class Scope : uint8_t { Always, Native, Kvm };

struct Exclusion {
  ZydisMnemonic mnemonic;
  Scope scope;
  const char* reason;
};

// The oracles taking part in a campaign.
struct Oracles {
  bool native = false;
  bool kvm = false;
};

std::span<const Exclusion> exclusion_list();

// Relative branches the generator uses as forward skips over a few of the
// following instructions (never backwards, never out of the body).
bool is_forward_branch(ZydisMnemonic m);

// Why `row` is never generated in `mode` with these oracles; empty when it
// is generated.
std::string exclusion_reason(const InsnRow& row, FlatMode mode, Oracles oracles);

}  // namespace softvt::fuzz
