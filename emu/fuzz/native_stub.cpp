// Placeholder for the native oracle until emu/accel/native.cpp defines
// run_native (branch `kvm`): a weak definition, so the real one replaces it
// when both are linked. It reports that the oracle could not run, which the
// fuzzer treats as "native oracle unavailable". Delete this file (and its
// meson entry) once native.cpp provides run_native.
#include "emu/accel/accel.h"

namespace softvt {

__attribute__((weak)) NativeOutcome run_native(const std::vector<uint8_t>&, uint64_t,
                                               const std::vector<NativeRegion>&, uint64_t) {
  NativeOutcome o;
  o.detail = "the native oracle is not built into this softvt (emu/accel/native.cpp has no run_native)";
  return o;
}

}  // namespace softvt
