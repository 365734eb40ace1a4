// Placeholder for the native oracle while emu/accel/native.cpp does not
// define run_native (branch `kvm`); meson.build compiles this file only in
// that case. It reports that the oracle could not run, which the fuzzer
// treats as "native oracle unavailable". Delete it (and its meson lines)
// once native.cpp provides run_native everywhere.
#include "emu/accel/accel.h"

namespace softvt {

NativeOutcome run_native(const std::vector<uint8_t>&, uint64_t,
                         const std::vector<NativeRegion>&, uint64_t) {
  NativeOutcome o;
  o.detail = "the native oracle is not built into this softvt (emu/accel/native.cpp has no run_native)";
  return o;
}

}  // namespace softvt
