// The system-scenario suite (emu/fuzz/system_cases.h) against host KVM:
// a fixed seed range per family, 0 mismatches required. Oracle errors
// (KVM cannot run a case) are reported, not failures. Skipped (exit 77)
// where /dev/kvm is unusable (catch_main_kvm.cpp).
//
// On this host a case takes about 1-3 ms. Paging: only 4-level cases can
// be compared (KVM shuts down with paging outside long mode: those cases
// are oracle errors, as are the fast-call cases KVM's emulator cannot run:
// SYSENTER, INVPCID, IRETD to CPL 3). The exclusions that keep the rest
// comparable are listed in emu/fuzz/README.md, "System scenarios".
#include <catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "emu/fuzz/system_campaign.h"

using namespace softvt;
using namespace softvt::fuzz;

namespace {

uint64_t cases(uint64_t dflt) {
  const char* env = std::getenv("SOFTVT_FUZZ_SYSTEM_CASES");
  return env && *env ? std::strtoull(env, nullptr, 0) : dflt;
}

SysCampaignSummary campaign(SysFamily f, uint64_t seed, uint64_t count) {
  SysCampaignConfig cfg;
  cfg.families = {f};
  cfg.seed = seed;
  cfg.count = count;
  cfg.out = stdout;
  const SysCampaignSummary s = run_sys_campaign(cfg, make_sys_backend(BackendKind::Interp),
                                                make_sys_backend(BackendKind::Kvm));
  std::printf("%s\n%s", s.line().c_str(), s.report().c_str());
  std::fflush(stdout);
  return s;
}

}  // namespace

TEST_CASE("system scenarios: paging and protection agree with KVM") {
  const SysCampaignSummary s = campaign(SysFamily::Paging, 0x50000000, cases(4000));
  INFO(s.line());
  CHECK(s.mismatched() == 0);
  CHECK(s.family[unsigned(SysFamily::Paging)].kinds_agreed.at("4-level") > 0);
}

TEST_CASE("system scenarios: fast system calls and friends agree with KVM") {
  const SysCampaignSummary s =
      campaign(SysFamily::FastCall, 0x46000000, cases(4000));
  INFO(s.line());
  CHECK(s.mismatched() == 0);
  // Every kind compared something.
  for (const auto& [kind, n] : s.family[unsigned(SysFamily::FastCall)].kinds) {
    INFO(kind);
    CHECK(s.family[unsigned(SysFamily::FastCall)].kinds_agreed.count(kind) == 1);
  }
}
