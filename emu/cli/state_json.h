// The --dump-state JSON object of the flat-runner contract (README).
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "emu/accel/accel.h"

namespace softvt {

struct MemRange {
  uint64_t addr;
  uint64_t len;
};

// Writes the JSON object to `f`; the caller checks ferror(f).
void write_state_json(std::FILE* f, const RunOutcome& out, const Memory& mem,
                      std::optional<MemRange> dump);

}  // namespace softvt
