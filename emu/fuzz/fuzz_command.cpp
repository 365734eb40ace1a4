// softvt fuzz: differential campaigns between two backends.
//   softvt fuzz --a interp --b kvm|kvm-user|native [--seed S] [--count N]
//               [--mode long64|prot32|real16|all] [--insns K]
//               [--avoid MNEMONIC,...] [--max-reports N] [--verbose]
//   softvt fuzz --suite system --b kvm [--family paging|fastcall|all]
//               [--seed S] [--count N] [--max-reports N] [--verbose]
// Exit status: 0 no mismatch, 1 mismatches, 2 bad options, 3 a requested
// backend is unavailable on this host.
#include <Zydis/Zydis.h>

#include <cctype>
#include <cstdio>
#include <set>
#include <strings.h>

#include "emu/cli/commands.h"
#include "emu/cli/options.h"
#include "emu/fuzz/backends.h"
#include "emu/fuzz/campaign.h"
#include "emu/fuzz/system_campaign.h"

namespace softvt {
namespace {

struct FuzzOptions {
  std::string a = "interp", b;
  uint64_t seed = 1;
  uint64_t count = 100;
  std::string mode = "all";
  unsigned insns = fuzz::kDefaultInsns;
  std::set<ZydisMnemonic> avoid;
  uint64_t max_reports = 20;
  bool verbose = false;
  std::string suite = "instructions";  // or "system" (system_cases.h)
  std::string family = "all";          // system suite: paging, fastcall or all
  bool mode_given = false, insns_given = false;
};

ZydisMnemonic parse_mnemonic(const std::string& name) {
  for (int m = 1; m <= ZYDIS_MNEMONIC_MAX_VALUE; ++m) {
    const char* s = ZydisMnemonicGetString(ZydisMnemonic(m));
    if (s && strcasecmp(s, name.c_str()) == 0) return ZydisMnemonic(m);
  }
  throw UsageError("--avoid: unknown instruction mnemonic '" + name + "'");
}

std::set<ZydisMnemonic> parse_mnemonics(const std::string& list) {
  std::set<ZydisMnemonic> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw UsageError("--avoid: empty mnemonic in '" + list + "'");
    out.insert(parse_mnemonic(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void check_backend(const std::string& option, const std::string& name) {
  fuzz::BackendKind k;
  if (!fuzz::parse_backend(name, k))
    throw UsageError(option + ": unknown backend '" + name + "' (expected interp, kvm, kvm-user or native)");
}

FuzzOptions parse(int argc, char** argv) {
  FuzzOptions o;
  ArgReader r(argc, argv, 2);
  while (!r.done()) {
    const std::string opt = r.next();
    if (opt == "--a") o.a = r.value(opt), check_backend(opt, o.a);
    else if (opt == "--b") o.b = r.value(opt), check_backend(opt, o.b);
    else if (opt == "--seed") o.seed = parse_number(r.value(opt), "--seed");
    else if (opt == "--count") {
      o.count = parse_number(r.value(opt), "--count");
      if (o.count == 0) throw UsageError("--count: must be at least 1");
    } else if (opt == "--mode") {
      o.mode = r.value(opt);
      o.mode_given = true;
      FlatMode m;
      if (o.mode != "all" && !parse_flat_mode(o.mode, m))
        throw UsageError("--mode: unknown mode '" + o.mode + "' (expected long64, prot32, real16 or all)");
    } else if (opt == "--insns") {
      const uint64_t k = parse_number(r.value(opt), "--insns");
      if (k == 0 || k > fuzz::kMaxInsns)
        throw UsageError("--insns: must be between 1 and " + std::to_string(fuzz::kMaxInsns));
      o.insns = unsigned(k);
      o.insns_given = true;
    } else if (opt == "--avoid") {
      for (ZydisMnemonic m : parse_mnemonics(r.value(opt))) o.avoid.insert(m);
    } else if (opt == "--max-reports") {
      o.max_reports = parse_number(r.value(opt), "--max-reports");
    } else if (opt == "--suite") {
      o.suite = r.value(opt);
      if (o.suite != "instructions" && o.suite != "system")
        throw UsageError("--suite: unknown suite '" + o.suite + "' (expected instructions or system)");
    } else if (opt == "--family") {
      o.family = r.value(opt);
      fuzz::SysFamily f;
      if (o.family != "all" && !fuzz::parse_sys_family(o.family, f))
        throw UsageError("--family: unknown family '" + o.family + "' (expected paging, fastcall or all)");
    } else if (opt == "--verbose") {
      o.verbose = true;
    } else {
      throw UsageError("unknown option '" + opt + "'");
    }
  }
  if (o.b.empty()) throw UsageError("missing --b BACKEND (the backend to compare with: kvm, kvm-user or native)");
  if (o.suite == "system") {
    // System scenarios are whole machines at CPL 0: only the interpreter
    // and KVM run them; the instruction suite's options do not apply.
    for (const std::string& name : {o.a, o.b})
      if (name != "interp" && name != "kvm")
        throw UsageError("--suite system: backend '" + name + "' cannot run system scenarios (expected interp or kvm)");
    if (o.mode_given || o.insns_given || !o.avoid.empty())
      throw UsageError("--suite system: --mode, --insns and --avoid apply to the instruction suite only");
  } else if (o.family != "all") {
    throw UsageError("--family applies to --suite system only");
  }
  return o;
}

std::vector<FlatMode> campaign_modes(const FuzzOptions& o) {
  if (o.mode != "all") {
    FlatMode m;
    parse_flat_mode(o.mode, m);
    return {m};
  }
  return {FlatMode::Long64, FlatMode::Prot32, FlatMode::Real16};
}

// Why the backends cannot run `m` here, or "".
std::string unavailable(const FuzzOptions& o, fuzz::BackendKind ka, fuzz::BackendKind kb, FlatMode m) {
  for (const auto& [option, name, kind] : {std::tuple{"--a", o.a, ka}, std::tuple{"--b", o.b, kb}}) {
    const std::string why = fuzz::backend_unavailable_reason(kind, m);
    if (!why.empty()) return std::string(option) + " " + name + ": unavailable in " + flat_mode_name(m) + ": " + why;
  }
  return "";
}

int system_suite(const FuzzOptions& o, fuzz::BackendKind ka, fuzz::BackendKind kb) {
  for (const auto& [option, name, kind] : {std::tuple{"--a", o.a, ka}, std::tuple{"--b", o.b, kb}}) {
    const std::string why = fuzz::backend_unavailable_reason(kind, FlatMode::Long64);
    if (!why.empty()) {
      std::fprintf(stderr, "softvt fuzz: %s %s: unavailable: %s\n", option, name.c_str(), why.c_str());
      return 3;
    }
  }
  fuzz::SysCampaignConfig cfg;
  cfg.name_a = o.a;
  cfg.name_b = o.b;
  cfg.seed = o.seed;
  cfg.count = o.count;
  cfg.verbose = o.verbose;
  cfg.max_reports = o.max_reports;
  cfg.progress_every = o.count >= 1000 ? o.count / 10 : 0;
  fuzz::SysFamily f;
  if (o.family != "all" && fuzz::parse_sys_family(o.family, f)) cfg.families = {f};
  const fuzz::SysCampaignSummary s =
      fuzz::run_sys_campaign(cfg, fuzz::make_sys_backend(ka), fuzz::make_sys_backend(kb));
  std::printf("%s\n%s", s.line().c_str(), s.report().c_str());
  return s.mismatched() ? 1 : 0;
}

}  // namespace

int fuzz_command(int argc, char** argv) {
  const FuzzOptions o = parse(argc, argv);
  fuzz::BackendKind ka, kb;
  fuzz::parse_backend(o.a, ka);
  fuzz::parse_backend(o.b, kb);
  if (o.suite == "system") return system_suite(o, ka, kb);
  fuzz::CampaignConfig cfg;
  cfg.name_a = o.a;
  cfg.name_b = o.b;
  cfg.oracles.native = fuzz::runs_at_cpl3(ka) || fuzz::runs_at_cpl3(kb);
  cfg.oracles.kvm = ka == fuzz::BackendKind::Kvm || kb == fuzz::BackendKind::Kvm;
  cfg.seed = o.seed;
  cfg.count = o.count;
  cfg.insns = o.insns;
  cfg.avoid = o.avoid;
  cfg.verbose = o.verbose;
  cfg.max_reports = o.max_reports;
  cfg.progress_every = o.count >= 1000 ? o.count / 10 : 0;
  // A backend that runs nothing here (it would run long64 if it ran at
  // all) is an error; a mode it cannot run is an error when asked for by
  // name, and left out (with a note) from --mode all.
  for (const auto& [option, name, kind] : {std::tuple{"--a", o.a, ka}, std::tuple{"--b", o.b, kb}}) {
    const std::string why = fuzz::backend_unavailable_reason(kind, FlatMode::Long64);
    if (!why.empty()) {
      std::fprintf(stderr, "softvt fuzz: %s %s: unavailable: %s\n", option, name.c_str(), why.c_str());
      return 3;
    }
  }
  cfg.modes.clear();
  for (FlatMode m : campaign_modes(o)) {
    const std::string why = unavailable(o, ka, kb, m);
    if (why.empty()) {
      cfg.modes.push_back(m);
    } else if (o.mode != "all") {
      std::fprintf(stderr, "softvt fuzz: %s\n", why.c_str());
      return 3;
    } else {
      std::printf("fuzz: not fuzzing %s: %s\n", flat_mode_name(m), why.c_str());
    }
  }
  for (FlatMode m : cfg.modes) {
    fuzz::GenConfig g;
    g.mode = m;
    g.oracles = cfg.oracles;
    g.avoid = o.avoid;
    if (fuzz::eligible_mnemonics(g).empty())
      throw UsageError(std::string("no implemented instruction is left to generate in ") +
                       flat_mode_name(m) + (o.avoid.empty() ? "" : " (see --avoid)"));
  }
  const fuzz::CampaignSummary s =
      fuzz::run_campaign(cfg, fuzz::make_backend(ka), fuzz::make_backend(kb));
  std::printf("%s\n", s.line().c_str());
  return s.mismatched ? 1 : 0;
}

}  // namespace softvt
