// The --dump-state JSON object of the flat-runner contract (README).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "emu/accel/accel.h"

namespace softvt {

struct MemRange {
  uint64_t addr;
  uint64_t len;
};

std::string state_json(const RunOutcome& out, const Memory& mem, std::optional<MemRange> dump);

}  // namespace softvt
