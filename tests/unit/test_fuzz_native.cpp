// Differential fuzzing of the interpreter against the host CPU (the
// strongest oracle, BRIEFING "Standards"): random long64 instruction
// sequences run at CPL 3 in a child process and on the interpreter must
// end in the same registers, flags (except SDM-undefined ones) and memory.
// The native oracle always works on x86-64 Linux, so "could not run" is a
// failure here, not a skip.
#include <catch.hpp>

#include <cstdio>

#include "emu/fuzz/backends.h"
#include "emu/fuzz/campaign.h"

using namespace softvt;
using namespace softvt::fuzz;

namespace {

CampaignSummary campaign(const char* a, const char* b, bool native, uint64_t seed, uint64_t count,
                         std::vector<FlatMode> modes, unsigned insns = kDefaultInsns) {
  CampaignConfig cfg;
  cfg.name_a = a;
  cfg.name_b = b;
  cfg.oracles.native = native;
  cfg.seed = seed;
  cfg.count = count;
  cfg.modes = std::move(modes);
  cfg.insns = insns;
  cfg.out = stdout;
  BackendKind ka, kb;
  REQUIRE(parse_backend(a, ka));
  REQUIRE(parse_backend(b, kb));
  CampaignSummary s = run_campaign(cfg, make_backend(ka), make_backend(kb));
  std::printf("%s\n", s.line().c_str());
  std::fflush(stdout);
  return s;
}

}  // namespace

TEST_CASE("the interpreter agrees with itself on generated cases (every case reaches HLT)") {
  const CampaignSummary s = campaign("interp", "interp", false, 0x5eed0000, 300,
                                     {FlatMode::Long64, FlatMode::Prot32, FlatMode::Real16});
  INFO(s.line());
  CHECK(s.mismatched == 0);
  CHECK(s.faulted == 0);
  CHECK(s.oracle_errors == 0);
  CHECK(s.agreed == s.cases);
}

TEST_CASE("the interpreter agrees with the host CPU on random long64 instruction sequences") {
  const std::string why = backend_unavailable_reason(BackendKind::Native);
  INFO("native oracle: " << why);
  REQUIRE(why.empty());
  // About 10 s on this host: 5000 cases of 24 random instructions, then
  // 500 of 200 (longer dependency chains through flags and memory).
  for (const auto& [count, insns] : {std::pair{5000u, kDefaultInsns}, std::pair{500u, 200u}}) {
    const CampaignSummary s =
        campaign("interp", "native", true, 0x6e617469 + insns, count, {FlatMode::Long64}, insns);
    INFO(s.line());
    CHECK(s.mismatched == 0);
    CHECK(s.faulted == 0);
    CHECK(s.oracle_errors == 0);
    CHECK(s.agreed == s.cases);
  }
}
