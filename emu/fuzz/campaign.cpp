#include "emu/fuzz/campaign.h"

#include <cctype>
#include <cinttypes>
#include <map>

#include "emu/fuzz/differential.h"

namespace softvt::fuzz {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// A backend's error text names the failing address and bytes, which vary
// from case to case: reasons are grouped by the text before " at " with
// numbers replaced by '#' (the instruction is named separately).
std::string normalize(std::string s) {
  const size_t at = s.find(" at ");
  if (at != std::string::npos) s.resize(at);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      size_t j = i;
      if (s.compare(i, 2, "0x") == 0) j += 2;
      while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
      out += '#';
      i = j;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// The random instruction of a bisected step, if it has one.
const BodyInsn* main_of(const TestCase& c, const Bisection& b) {
  for (uint32_t i = b.first; i < b.end; ++i)
    if (c.body[i].role == Role::Main) return &c.body[i];
  return nullptr;
}

class Runner {
 public:
  Runner(const CampaignConfig& cfg, const Backend& a, const Backend& b)
      : cfg_(cfg), a_(a), b_(b), avoid_(cfg.avoid) {}

  CampaignSummary run() {
    for (uint64_t i = 0; i < cfg_.count; ++i) {
      run_case(cfg_.seed + i, cfg_.modes[i % cfg_.modes.size()]);
      if (cfg_.progress_every && (i + 1) % cfg_.progress_every == 0 && i + 1 < cfg_.count)
        say("fuzz: %" PRIu64 "/%" PRIu64 " cases, %" PRIu64 " mismatched, %" PRIu64
            " oracle errors\n",
            i + 1, cfg_.count, sum_.mismatched, sum_.oracle_errors);
    }
    return std::move(sum_);
  }

 private:
  template <typename... Args>
  void say(const char* fmt, Args... args) {
    if (cfg_.out) std::fprintf(cfg_.out, fmt, args...);
  }
  void say_text(const std::string& s) {
    if (cfg_.out) std::fputs(s.c_str(), cfg_.out);
  }

  // Compares; differences only in FOP/FIP/FDP are rechecked with up to
  // three fresh runs of both backends (only_x87_pointers says why).
  std::vector<Difference> compare_rerun(const CaseImage& img, const BackendRun& ra,
                                        const BackendRun& rb) {
    std::vector<Difference> d = compare_runs(img, ra, rb);
    for (int i = 0; i < 3 && only_x87_pointers(d); ++i) {
      const BackendRun a2 = a_(img), b2 = b_(img);
      if (a2.end == BackendRun::End::Error || b2.end == BackendRun::End::Error) break;
      d = compare_runs(img, a2, b2);
    }
    return d;
  }

  // A case with a random x87/SSE state may end in an exception by design:
  // an unmasked x87 (#MF) or SIMD (#XM) exception, a misaligned SSE memory
  // operand (#GP, left in one access in eight), a pending exception loaded
  // by FRSTOR/FLDENV. The same vector on both sides (compare_runs checked
  // it) is an agreement.
  static bool fault_verdict(const CaseImage& img, const BackendRun& a, const BackendRun& b) {
    return img.fp_state && a.end == BackendRun::End::Fault && a.vector >= 0 && b.vector >= 0;
  }

  void run_case(uint64_t seed, FlatMode mode) {
    GenConfig g;
    g.mode = mode;
    g.insns = cfg_.insns;
    g.oracles = cfg_.oracles;
    g.avoid = avoid_;
    const TestCase tc = generate(seed, g);
    const CaseImage img = link(tc);
    const BackendRun ra = a_(img), rb = b_(img);
    ++sum_.cases;
    if (cfg_.verbose)
      say("case seed %s mode %s: %zu instructions, %s=%s %s=%s\n", hex(seed).c_str(),
          flat_mode_name(mode), tc.body.size(), cfg_.name_a.c_str(), end_name(ra.end),
          cfg_.name_b.c_str(), end_name(rb.end));
    if (ra.end == BackendRun::End::Error) return oracle_error(tc, a_, cfg_.name_a, ra);
    if (rb.end == BackendRun::End::Error) return oracle_error(tc, b_, cfg_.name_b, rb);
    const std::vector<Difference> diffs = compare_rerun(img, ra, rb);
    if (diffs.empty()) {
      if (ra.end == BackendRun::End::Hlt || fault_verdict(img, ra, rb)) {
        ++sum_.agreed;
        if (ra.end != BackendRun::End::Hlt) ++sum_.agreed_on_fault;
      } else {
        // Both stopped on a fault: the generator let a faulting case
        // through. Not a verdict on softvt, but a defect worth seeing.
        ++sum_.faulted;
        say("FAULTED on both backends: %s: %s; %s: %s\n  reproduce: %s\n", cfg_.name_a.c_str(),
            ra.detail.c_str(), cfg_.name_b.c_str(), rb.detail.c_str(),
            reproducer(cfg_, seed, mode, g.avoid).c_str());
      }
      return;
    }
    mismatch(tc, g, diffs);
  }

  void mismatch(const TestCase& tc, const GenConfig& g, const std::vector<Difference>& diffs) {
    ++sum_.mismatched;
    const std::string repro = reproducer(cfg_, tc.seed, g.mode, g.avoid);
    sum_.reproducers.push_back(repro);
    std::map<uint32_t, std::vector<Difference>> at;
    const Bisection b = bisect(tc, [&](uint32_t cut) {
      const CaseImage img = link(tc, cut);
      const BackendRun ra = a_(img), rb = b_(img);
      if (ra.end == BackendRun::End::Error || rb.end == BackendRun::End::Error) return Probe::Unknown;
      std::vector<Difference> d = compare_rerun(img, ra, rb);
      if (d.empty()) return Probe::Good;
      at[cut] = std::move(d);
      return Probe::Bad;
    });
    const BodyInsn* m = b.found ? main_of(tc, b) : nullptr;
    ++sum_.mismatch_at[m ? ZydisMnemonicGetString(m->mnemonic) : b.found ? "a setup fixup" : "?"];
    if (sum_.mismatched > cfg_.max_reports) {
      say("MISMATCH seed %s mode %s at %s (details suppressed)\n  reproduce: %s\n",
          hex(tc.seed).c_str(), flat_mode_name(g.mode),
          m ? ZydisMnemonicGetString(m->mnemonic) : "?", repro.c_str());
      return;
    }
    std::string r = "MISMATCH " + cfg_.name_a + " vs " + cfg_.name_b + ": seed " + hex(tc.seed) +
                    " mode " + flat_mode_name(g.mode) + "\n";
    if (b.found) {
      r += "  first differing instruction" +
           (m ? std::string(" (") + ZydisMnemonicGetString(m->mnemonic) + ")" : std::string()) + ":\n";
      r += describe_step(tc, link(tc, b.end), b);
      // The last step ends the body: its differences are the full case's.
      const auto found = at.find(b.end);
      r += "  differences after it:\n" +
           describe_differences(found != at.end() ? found->second : diffs, cfg_.name_a, cfg_.name_b);
    } else {
      r += "  (not bisected: " + b.note + ")\n";
    }
    if (cfg_.verbose || !b.found)
      r += "  differences at the end of the case:\n" +
           describe_differences(diffs, cfg_.name_a, cfg_.name_b);
    if (cfg_.verbose) r += "  case:\n" + describe_case(tc);
    r += "  reproduce: " + repro + "\n";
    say_text(r);
  }

  void oracle_error(const TestCase& tc, const Backend& backend, const std::string& name,
                    const BackendRun& run) {
    ++sum_.oracle_errors;
    // Which instruction the backend cannot run: the first cut that fails.
    const Bisection b = bisect(tc, [&](uint32_t cut) {
      return backend(link(tc, cut)).end == BackendRun::End::Error ? Probe::Bad : Probe::Good;
    });
    std::string reason = name + ": " + normalize(run.detail);
    const BodyInsn* m = b.found ? main_of(tc, b) : nullptr;
    if (m) reason += std::string(" (first at ") + ZydisMnemonicGetString(m->mnemonic) + ")";
    else if (b.found)  // a step of setup fixups only
      reason += std::string(" (first at a setup ") + ZydisMnemonicGetString(tc.body[b.first].mnemonic) + ")";
    else reason += " (" + b.note + ")";
    if (sum_.error_reasons[reason]++ == 0 && cfg_.out) {
      std::string s = "oracle error: " + name + " could not run seed " + hex(tc.seed) + ": " +
                      run.detail + "\n";
      if (b.found) s += describe_step(tc, link(tc, b.end), b);
      say_text(s);
    }
    if (m && cfg_.learn_avoid && !avoid_.count(m->mnemonic)) {
      avoid_.insert(m->mnemonic);
      sum_.learned_avoid.insert(m->mnemonic);
      say("note: %s cannot run %s; not generating it for the rest of this campaign\n", name.c_str(),
          ZydisMnemonicGetString(m->mnemonic));
    }
  }

  const CampaignConfig& cfg_;
  const Backend& a_;
  const Backend& b_;
  std::set<ZydisMnemonic> avoid_;
  CampaignSummary sum_;
};

}  // namespace

std::string CampaignSummary::line() const {
  std::string s = "fuzz summary: " + std::to_string(cases) + " cases, " + std::to_string(agreed) +
                  " agreed" +
                  (agreed_on_fault ? " (" + std::to_string(agreed_on_fault) + " on the same fault)" : "") +
                  ", " + std::to_string(mismatched) + " mismatched, " +
                  std::to_string(oracle_errors) + " oracle errors";
  if (faulted) s += ", " + std::to_string(faulted) + " faulted on both";
  for (const auto& [insn, n] : mismatch_at) s += "; " + std::to_string(n) + "x mismatch first at " + insn;
  for (const auto& [reason, n] : error_reasons) s += "; " + std::to_string(n) + "x " + reason;
  return s;
}

std::string reproducer(const CampaignConfig& cfg, uint64_t case_seed, FlatMode mode,
                       const std::set<ZydisMnemonic>& avoid) {
  std::string s = "softvt fuzz --a " + cfg.name_a + " --b " + cfg.name_b + " --seed " + hex(case_seed) +
                  " --count 1 --mode " + flat_mode_name(mode);
  if (cfg.insns != kDefaultInsns) s += " --insns " + std::to_string(cfg.insns);
  if (!avoid.empty()) {
    s += " --avoid ";
    bool first = true;
    for (ZydisMnemonic m : avoid) {
      s += (first ? "" : ",") + std::string(ZydisMnemonicGetString(m));
      first = false;
    }
  }
  return s;
}

CampaignSummary run_campaign(const CampaignConfig& cfg, const Backend& a, const Backend& b) {
  return Runner(cfg, a, b).run();
}

}  // namespace softvt::fuzz
