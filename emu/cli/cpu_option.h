// `--cpu MODEL[,+feat,-feat,feat=on|off]` (QEMU's -cpu syntax): a built-in
// model (emu/cpu_model.h) with features switched on or off by their names
// in the feature table (emu/cpu_features.h).
#pragma once
#include <string>

#include "emu/cpu_model.h"

namespace softvt {

// Returns the model; throws UsageError (exit 2) naming the bad part and
// listing the valid models or features.
CpuModel parse_cpu_option(const std::string& text);

}  // namespace softvt
