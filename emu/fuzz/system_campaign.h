// Running system scenarios (system_cases.h) on two backends, comparing
// their final states, and campaigns of N cases with per-family counts.
// Case i of a campaign uses seed S + i and family families[i mod n], so
// `softvt fuzz --suite system --family F --seed S+i --count 1` reruns it.
// A backend that cannot run a case (KVM's instruction emulator fails, a
// timeout, KVM refusing the initial state) is an oracle error, counted by
// reason, never a mismatch.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "emu/fuzz/backends.h"
#include "emu/fuzz/system_cases.h"

namespace softvt::fuzz {

struct SysRun {
  enum class End : uint8_t { Hlt, Shutdown, Limit, Error };
  End end = End::Error;
  std::string detail;
  CpuState state{};
  std::vector<Bytes> memory;  // one per SysCase::compared range
};
const char* sys_end_name(SysRun::End e);

using SysBackend = std::function<SysRun(const SysCase&)>;
// interp or kvm (the only backends that run whole machines at CPL 0), with
// sys_model() or (interp only, for tests) another model.
SysBackend make_sys_backend(BackendKind k, const CpuModel* model = nullptr);

// The differences between two runs of `c` (empty: they agree).
std::vector<std::string> compare_sys_runs(const SysCase& c, const SysRun& a, const SysRun& b,
                                          const std::string& name_a, const std::string& name_b);
// The exception stub's marker (0x100 + vector) in a run's result area, or
// 0 when no stub ran.
uint32_t result_marker(const SysCase& c, const SysRun& r);
// The reason an oracle error is counted under: the KVM failure without the
// addresses ("instruction emulation failed: wrmsr", "timeout", ...).
std::string oracle_error_reason(const std::string& detail);

struct SysCampaignConfig {
  std::string name_a = "interp", name_b = "kvm";
  uint64_t seed = 1;
  uint64_t count = 100;
  std::vector<SysFamily> families = {SysFamily::Paging, SysFamily::FastCall};
  bool verbose = false;
  FILE* out = stdout;        // reports and progress; nullptr: silent
  uint64_t max_reports = 20; // detailed mismatch reports; later ones one line
  uint64_t progress_every = 0;
};

struct SysFamilyStats {
  uint64_t cases = 0, agreed = 0, mismatched = 0, oracle_errors = 0;
  std::map<std::string, uint64_t> kinds;          // scenario kind -> cases
  std::map<std::string, uint64_t> kinds_agreed;   // scenario kind -> agreed
  std::map<std::string, uint64_t> error_reasons;  // reason -> cases
  std::map<std::string, uint64_t> ends;           // "hlt #PF" ... -> agreed cases
};

struct SysCampaignSummary {
  SysFamilyStats family[kSysFamilies];
  std::vector<std::string> reproducers;  // one per mismatch
  uint64_t cases() const;
  uint64_t mismatched() const;
  uint64_t agreed() const;
  std::string line() const;    // one line
  std::string report() const;  // per family and kind, reasons
};

std::string sys_reproducer(const SysCampaignConfig& cfg, SysFamily f, uint64_t seed);

SysCampaignSummary run_sys_campaign(const SysCampaignConfig& cfg, const SysBackend& a,
                                    const SysBackend& b);

}  // namespace softvt::fuzz
