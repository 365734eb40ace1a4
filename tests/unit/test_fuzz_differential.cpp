// The differential comparison, bisection and campaign logic
// (emu/fuzz/differential.h, campaign.h), driven by synthetic backends so
// that every verdict is known in advance.
#include <catch.hpp>

#include <cstdio>
#include <cstring>

#include "emu/fuzz/campaign.h"
#include "emu/fuzz/differential.h"
#include "emu/fuzz/flag_model.h"
#include "emu/fuzz/layout.h"

using namespace softvt;
using namespace softvt::fuzz;

namespace {

BackendRun halted() {
  BackendRun r;
  r.end = BackendRun::End::Hlt;
  for (int i = 0; i < 16; ++i) r.gpr[i] = 0x1111111111111111ull * uint64_t(i);
  r.rip = 0x10123;
  r.rflags = 0x2;
  r.stack.assign(kStackSize, 0);
  r.data.assign(kDataSize, 0x5a);
  r.result.assign(kResultSize, 0);
  return r;
}

CaseImage image(FlatMode m, uint32_t undefined = 0) {
  CaseImage img;
  img.mode = m;
  img.final_sp = guest_offset(m, kStackInit);
  img.undefined_flags = undefined;
  return img;
}

bool has(const std::vector<Difference>& d, const std::string& what) {
  for (const Difference& x : d)
    if (x.what.find(what) != std::string::npos) return true;
  return false;
}

std::string read_all(FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

}  // namespace

TEST_CASE("identical runs agree") {
  CHECK(compare_runs(image(FlatMode::Long64), halted(), halted()).empty());
}

TEST_CASE("registers: all 64 bits in long64, the low 32 bits in legacy modes") {
  BackendRun a = halted(), b = halted();
  b.gpr[RDX] ^= 0x100000000ull;
  CHECK(has(compare_runs(image(FlatMode::Long64), a, b), "rdx"));
  CHECK(compare_runs(image(FlatMode::Prot32), a, b).empty());
  b.gpr[RDX] ^= 1;
  CHECK(has(compare_runs(image(FlatMode::Real16), a, b), "rdx"));
  BackendRun c = halted();
  c.rip += 1;
  CHECK(has(compare_runs(image(FlatMode::Long64), a, c), "rip"));
}

TEST_CASE("flags: undefined ones are masked, defined ones and DF compared, others ignored") {
  BackendRun a = halted(), b = halted();
  b.rflags |= fl::OF;
  CHECK(has(compare_runs(image(FlatMode::Long64), a, b), "rflags (OF)"));
  CHECK(compare_runs(image(FlatMode::Long64, uint32_t(fl::OF)), a, b).empty());
  b.rflags = a.rflags | fl::DF;
  CHECK(has(compare_runs(image(FlatMode::Long64, uint32_t(fl::ARITH)), a, b), "DF"));
  b.rflags = a.rflags | fl::IF | fl::RF;  // not compared: IF is 1 natively at CPL 3
  CHECK(compare_runs(image(FlatMode::Long64), a, b).empty());
  // The PUSHF image in the result area is masked the same way.
  BackendRun c = halted();
  c.result[kResultFlags - kResult] = uint8_t(fl::CF | fl::IF);
  CHECK(has(compare_runs(image(FlatMode::Long64), a, c), "result flags slot (CF)"));
  CHECK(compare_runs(image(FlatMode::Long64, uint32_t(fl::CF)), a, c).empty());
}

TEST_CASE("memory: data and result areas, and the stack above the red zone minus the PUSHF slot") {
  const CaseImage img = image(FlatMode::Long64);
  const uint64_t sp = kStackInit - kStackBase;
  BackendRun a = halted();
  BackendRun b = halted();
  b.data[17] ^= 1;
  const auto d = compare_runs(img, a, b);
  REQUIRE(d.size() == 1);
  CHECK(d[0].what == "data 0x1a011..0x1a011");
  BackendRun c = halted();
  c.result[8 * RSI] ^= 0x80;
  CHECK(has(compare_runs(img, a, c), "result 0x1b030"));
  BackendRun s = halted();
  s.stack[sp - 8] ^= 0xff;  // the epilogue's PUSHF slot: IF and undefined flags
  s.stack[sp - 200] ^= 0xff;  // below the red zone: a signal frame may be there
  CHECK(compare_runs(img, a, s).empty());
  s.stack[sp - 100] ^= 0xff;  // inside the red zone: compared
  s.stack[sp + 40] ^= 0xff;
  const auto ds = compare_runs(img, a, s);
  CHECK(ds.size() == 2);
  CHECK(has(ds, "stack"));
}

TEST_CASE("how a run ended is compared first") {
  BackendRun a = halted(), b = halted();
  b.end = BackendRun::End::Fault;
  b.detail = "triple fault";
  const auto d = compare_runs(image(FlatMode::Long64), a, b);
  REQUIRE(d.size() == 1);
  CHECK(d[0].what == "end");
  CHECK(d[0].b.find("triple fault") != std::string::npos);
  BackendRun c = b;
  CHECK(compare_runs(image(FlatMode::Long64), b, c).empty());  // both faulted: nothing to compare
}

TEST_CASE("bisection finds the step where the property first holds") {
  GenConfig g;
  g.insns = 40;
  const TestCase tc = generate(42, g);
  const std::vector<uint32_t> cuts = cut_points(tc);
  REQUIRE(cuts.size() > 10);
  for (size_t t = 1; t < cuts.size(); ++t) {
    int probes = 0;
    const Bisection b = bisect(tc, [&](uint32_t cut) {
      ++probes;
      return cut >= cuts[t] ? Probe::Bad : Probe::Good;
    });
    REQUIRE(b.found);
    CHECK(b.first == cuts[t - 1]);
    CHECK(b.end == cuts[t]);
    CHECK(probes <= 2 + 7);  // logarithmic
  }
  const Bisection empty = bisect(tc, [](uint32_t) { return Probe::Bad; });
  CHECK(!empty.found);
  CHECK(empty.note.find("empty body") != std::string::npos);
  const Bisection unknown = bisect(tc, [&](uint32_t cut) { return cut == 0 ? Probe::Good : Probe::Unknown; });
  CHECK(!unknown.found);
}

namespace {

// A deterministic stand-in for a backend: the state is a function of the
// code, so two of them agree unless told to differ.
BackendRun synthetic(const CaseImage& img) {
  BackendRun r = halted();
  uint64_t h = 1469598103934665603ull;
  for (uint8_t byte : img.code) h = (h ^ byte) * 1099511628211ull;
  r.gpr[RAX] = h;
  return r;
}

}  // namespace

TEST_CASE("a campaign reports mismatches with the first differing instruction and a reproducer") {
  constexpr uint32_t kBadFrom = 5;  // b differs once the body has 5 instructions
  const Backend a = synthetic;
  const Backend b = [](const CaseImage& img) {
    BackendRun r = synthetic(img);
    if (img.cut >= kBadFrom) r.gpr[RCX] ^= 1;
    return r;
  };
  FILE* out = std::tmpfile();
  REQUIRE(out);
  CampaignConfig cfg;
  cfg.name_a = "interp";
  cfg.name_b = "kvm";
  cfg.seed = 0x100;
  cfg.count = 6;
  cfg.modes = {FlatMode::Long64, FlatMode::Real16};
  cfg.out = out;
  const CampaignSummary s = run_campaign(cfg, a, b);
  CHECK(s.cases == 6);
  CHECK(s.mismatched == 6);
  CHECK(s.agreed == 0);
  REQUIRE(s.reproducers.size() == 6);
  CHECK(s.reproducers[0] == "softvt fuzz --a interp --b kvm --seed 0x100 --count 1 --mode long64");
  CHECK(s.reproducers[1] == "softvt fuzz --a interp --b kvm --seed 0x101 --count 1 --mode real16");
  const std::string text = read_all(out);
  std::fclose(out);
  CHECK(text.find("MISMATCH interp vs kvm: seed 0x100 mode long64") != std::string::npos);
  CHECK(text.find("first differing instruction") != std::string::npos);
  CHECK(text.find("rcx: interp=") != std::string::npos);
  // The step reported for seed 0x100 contains body instruction kBadFrom-1.
  const TestCase tc = generate(0x100, GenConfig{});
  const BodyInsn& culprit = tc.body[kBadFrom - 1];
  char addr[32];
  std::snprintf(addr, sizeof addr, "0x%x", unsigned(kLoad + culprit.offset));
  CHECK(text.find(addr) != std::string::npos);
  CHECK(s.line().find("6 cases, 0 agreed, 6 mismatched, 0 oracle errors") != std::string::npos);
  uint64_t attributed = 0;
  for (const auto& [insn, n] : s.mismatch_at) attributed += n;
  CHECK(attributed == 6);
  CHECK(s.line().find("x mismatch first at ") != std::string::npos);
}

TEST_CASE("a campaign counts oracle errors by reason, attributes and then avoids the instruction") {
  const Backend a = synthetic;
  // The oracle fails as soon as the body has an instruction, as KVM's
  // instruction emulator does on an instruction it does not know.
  const Backend b = [](const CaseImage& img) {
    BackendRun r = synthetic(img);
    if (img.cut > 0) {
      r.end = BackendRun::End::Error;
      r.detail = "KVM_EXIT_INTERNAL_ERROR suberror 1 at rip 0x" + std::to_string(img.cut);
    }
    return r;
  };
  // A seed whose first unit is its random instruction alone (no setup
  // fixups): the failure is attributed to that instruction.
  uint64_t seed = 1;
  while (generate(seed, GenConfig{}).units[0].main != 0) ++seed;
  const ZydisMnemonic blamed = generate(seed, GenConfig{}).body[0].mnemonic;
  CampaignConfig cfg;
  cfg.seed = seed;
  cfg.count = 4;
  cfg.out = nullptr;
  const CampaignSummary s = run_campaign(cfg, a, b);
  CHECK(s.oracle_errors == 4);
  CHECK(s.mismatched == 0);
  CHECK(s.agreed == 0);
  CHECK(s.learned_avoid.count(blamed));
  // Grouped by the text before " at " (addresses vary), numbers as '#'.
  const std::string first = std::string("kvm: KVM_EXIT_INTERNAL_ERROR suberror # (first at ") +
                            ZydisMnemonicGetString(blamed) + ")";
  CHECK(s.error_reasons.count(first));
  for (const auto& [reason, n] : s.error_reasons)
    CHECK(reason.find("kvm: KVM_EXIT_INTERNAL_ERROR suberror # (") == 0);
  CHECK(s.line().find("4 oracle errors") != std::string::npos);
}

TEST_CASE("a campaign counts cases that fault on both sides separately") {
  const Backend faulting = [](const CaseImage& img) {
    BackendRun r = synthetic(img);
    r.end = BackendRun::End::Fault;
    r.detail = "shutdown";
    return r;
  };
  CampaignConfig cfg;
  cfg.count = 3;
  cfg.out = nullptr;
  const CampaignSummary s = run_campaign(cfg, faulting, faulting);
  CHECK(s.faulted == 3);
  CHECK(s.mismatched == 0);
  CHECK(s.line().find("3 faulted on both") != std::string::npos);
}

TEST_CASE("reproducers carry non-default sizes and avoided instructions") {
  CampaignConfig cfg;
  cfg.name_a = "interp";
  cfg.name_b = "native";
  cfg.insns = 50;
  CHECK(reproducer(cfg, 7, FlatMode::Long64, {ZYDIS_MNEMONIC_POPCNT, ZYDIS_MNEMONIC_DAA}) ==
        "softvt fuzz --a interp --b native --seed 0x7 --count 1 --mode long64 --insns 50 "
        "--avoid daa,popcnt");
}

TEST_CASE("FP state: the FXSAVE image is compared except MXCSR_MASK, selectors and pointers") {
  CaseImage img = image(FlatMode::Long64);
  img.fp_state = true;
  const size_t fx = kFpResult - kResult, env = kFpEnvResult - kResult;
  auto differ_at = [&](size_t off) {
    BackendRun a = halted(), b = halted();
    b.result[off] ^= 0x10;
    return compare_runs(img, a, b);
  };
  CHECK(has(differ_at(fx + 0), "fxsave fcw"));       // FCW
  CHECK(has(differ_at(fx + 3), "fxsave fcw"));       // FSW (TOP)
  CHECK(has(differ_at(fx + 24), "fxsave mxcsr"));
  CHECK(has(differ_at(fx + 32 + 9), "fxsave st/mm"));   // ST0's sign/exponent
  CHECK(has(differ_at(fx + 160 + 16 * 15), "fxsave xmm"));
  CHECK(differ_at(fx + 12).empty());                 // FCS
  CHECK(differ_at(fx + 20).empty());                 // FDS
  CHECK(differ_at(fx + 28).empty());                 // MXCSR_MASK
  CHECK(differ_at(fx + 8).empty());                  // FXSAVE's FIP (vendor-specific)
  CHECK(has(differ_at(env + 12), "x87 pointers (fip)"));
  CHECK(has(differ_at(env + 20), "x87 pointers (fdp)"));
  CHECK(has(differ_at(env + 18), "x87 pointers (fop)"));
  CHECK(differ_at(env + 16).empty());                // FNSTENV's FCS
  CHECK(only_x87_pointers(differ_at(env + 12)));
  CHECK(!only_x87_pointers(differ_at(fx + 0)));
  CHECK(!only_x87_pointers({}));
  // Real16: the interpreter's real-mode layout against the oracle's
  // protected-mode one: no pointers compared.
  img.mode = FlatMode::Real16;
  img.final_sp = guest_offset(FlatMode::Real16, kStackInit);
  CHECK(differ_at(env + 12).empty());
  // Without FP state nothing of it is compared.
  img.fp_state = false;
  CHECK(differ_at(fx + 0).empty());
}

TEST_CASE("faults: the vectors must agree when both backends report one") {
  const CaseImage img = image(FlatMode::Long64);
  BackendRun a = halted(), b = halted();
  a.end = b.end = BackendRun::End::Fault;
  a.vector = 16;
  b.vector = 19;
  CHECK(has(compare_runs(img, a, b), "fault vector"));
  b.vector = 16;
  CHECK(compare_runs(img, a, b).empty());
  b.vector = -1;  // KVM: unknown
  CHECK(compare_runs(img, a, b).empty());
}

TEST_CASE("a difference only in the x87 pointers is rerun before it counts") {
  // The oracle shows zero pointers on its first run only (as after an
  // unlucky preemption on this AMD host); the campaign must not report it.
  int runs = 0;
  Backend interp = [](const CaseImage& img) {
    BackendRun r = halted();
    r.result[kFpEnvResult - kResult + 12] = 0x42;
    (void)img;
    return r;
  };
  Backend oracle = [&](const CaseImage&) {
    BackendRun r = halted();
    if (runs++ > 0) r.result[kFpEnvResult - kResult + 12] = 0x42;
    return r;
  };
  CampaignConfig cfg;
  cfg.name_a = "a";
  cfg.name_b = "b";
  cfg.oracles.native = true;
  cfg.count = 1;
  cfg.out = nullptr;
  CampaignSummary s = run_campaign(cfg, interp, oracle);
  CHECK(s.mismatched == 0);
  CHECK(s.agreed == 1);
  CHECK(runs == 2);
  // An oracle that always differs is a mismatch (after three reruns).
  runs = 0;
  Backend zero = [&](const CaseImage&) { ++runs; return halted(); };
  s = run_campaign(cfg, interp, zero);
  CHECK(s.mismatched == 1);
}
