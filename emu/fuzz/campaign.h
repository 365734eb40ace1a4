// A differential fuzzing campaign: N cases with seeds S, S+1, ... (case i
// uses mode modes[i % modes.size()]), each generated, run on two backends
// and compared; mismatches are bisected and reported with a reproducer,
// oracle errors (a backend that could not run a case) are attributed to an
// instruction and counted by reason. An instruction an oracle cannot run is
// then avoided for the rest of the campaign (the reproducer names it).
#pragma once
#include <Zydis/Zydis.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "emu/fuzz/backends.h"
#include "emu/fuzz/generator.h"

namespace softvt::fuzz {

struct CampaignConfig {
  std::string name_a = "interp", name_b = "kvm";
  Oracles oracles;                      // which oracles take part
  uint64_t seed = 1;
  uint64_t count = 100;
  std::vector<FlatMode> modes = {FlatMode::Long64};
  unsigned insns = kDefaultInsns;
  std::set<ZydisMnemonic> avoid;
  bool learn_avoid = true;              // avoid what an oracle failed on
  bool verbose = false;
  FILE* out = stdout;                   // reports and progress; nullptr: silent
  uint64_t max_reports = 20;            // detailed mismatch reports; later
                                        // mismatches get one line (all are
                                        // bisected, for the summary)
  uint64_t progress_every = 0;          // 0: no progress lines
};

struct CampaignSummary {
  uint64_t cases = 0, agreed = 0, mismatched = 0, oracle_errors = 0, faulted = 0;
  // Of `agreed`: cases with a random x87/SSE state that ended in the same
  // exception vector on both sides (#MF, #XM, #GP of a misaligned operand).
  uint64_t agreed_on_fault = 0;
  std::map<std::string, uint64_t> error_reasons;  // reason -> cases
  std::map<std::string, uint64_t> mismatch_at;    // first differing instruction -> cases
  std::vector<std::string> reproducers;           // one per mismatch
  std::set<ZydisMnemonic> learned_avoid;
  std::string line() const;                       // the one-line summary
};

// The command line that reruns one case.
std::string reproducer(const CampaignConfig& cfg, uint64_t case_seed, FlatMode mode,
                       const std::set<ZydisMnemonic>& avoid);

CampaignSummary run_campaign(const CampaignConfig& cfg, const Backend& a, const Backend& b);

}  // namespace softvt::fuzz
