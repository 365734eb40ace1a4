// Main for test executables that need host /dev/kvm: where it is missing
// or unusable the whole executable reports "skipped" (meson exit code 77)
// and says why.
#define CATCH_CONFIG_RUNNER
#include <catch.hpp>

#include <cstdio>

#include "emu/accel/accel.h"

int main(int argc, char** argv) {
  std::string why = softvt::kvm_unavailable_reason();
  if (!why.empty()) {
    std::printf("SKIP: host KVM is unavailable: %s\n", why.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
