// Runs every guest program of the corpus (tests/guest/*.asm, built into
// SOFTVT_GUEST_DIR) through `softvt run --flat --accel interp` and checks
// the expectations stated in its header (test_guest_corpus_support.h).
#include <catch.hpp>

#include "tests/unit/test_guest_corpus_support.h"

TEST_CASE("every guest source is built and has a well-formed header") {
  auto programs = corpus::load_corpus();
  INFO("SOFTVT_GUEST_DIR=" << corpus::env_or_empty("SOFTVT_GUEST_DIR"));
  REQUIRE(!programs.empty());
  for (const auto& s : corpus::unbuilt_sources()) {
    INFO(s << " is not in tests/guest/meson.build's guest_sources");
    CHECK(false);
  }
  for (const auto& p : programs)
    for (const auto& e : p.header_errors) {
      INFO(p.source.string() << ": " << e);
      CHECK(false);
    }
}

TEST_CASE("guest corpus on the interpreter") {
  for (const auto& p : corpus::load_corpus()) {
    DYNAMIC_SECTION(p.name) {
      REQUIRE(p.header_errors.empty());
      const corpus::Verdict v = corpus::check_program(p, "interp");
      INFO(p.name << " (" << p.mode << "): " << corpus::describe(v));
      REQUIRE(v.error.empty());
      for (const auto& m : v.mismatches) {
        INFO(p.name << ": " << m.key << " expected " << m.expected << ", got " << m.actual);
        CHECK(m.expected == m.actual);
      }
    }
  }
}
