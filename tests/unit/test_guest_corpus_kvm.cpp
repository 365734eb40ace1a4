// Runs the guest corpus (tests/guest/*.asm) on host KVM (`softvt run --flat
// --accel kvm`) and checks the same header expectations as the interpreter
// run (test_guest_corpus.cpp), so each program's expected values are also
// confirmed by a real CPU. Programs whose header says `; kvm: skip REASON`
// are not run (the reason is printed). The main (catch_main_kvm.cpp) skips
// the whole executable where /dev/kvm is unusable.
#include <catch.hpp>

#include <cstdio>

#include "tests/unit/test_guest_corpus_support.h"

TEST_CASE("guest corpus on host KVM") {
  auto programs = corpus::load_corpus();
  REQUIRE(!programs.empty());
  for (const auto& p : programs) {
    if (!p.kvm_skip.empty()) {
      std::printf("skipped under KVM: %s: %s\n", p.name.c_str(), p.kvm_skip.c_str());
      continue;
    }
    DYNAMIC_SECTION(p.name) {
      REQUIRE(p.header_errors.empty());
      const corpus::Verdict v = corpus::check_program(p, "kvm");
      INFO(p.name << " (" << p.mode << ") under KVM: " << corpus::describe(v));
      REQUIRE(v.error.empty());
      // A backend error (e.g. KVM's emulator refusing an instruction) is a
      // failure unless the program is marked `; kvm: skip REASON`.
      CHECK(v.exit_reason != "error");
      for (const auto& m : v.mismatches) {
        INFO(p.name << ": " << m.key << " expected " << m.expected << ", got " << m.actual);
        CHECK(m.expected == m.actual);
      }
    }
  }
}
