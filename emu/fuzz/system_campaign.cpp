#include "emu/fuzz/system_campaign.h"

#include <cinttypes>
#include <cstring>

#include "emu/accel/accel.h"

namespace softvt::fuzz {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// Far more than any case executes: a few dozen instructions, or - when a
// write turned the target's code into other instructions before a fetch
// ran it - a run through a zero-filled 4-MiB page (2 M instructions).
constexpr uint64_t kMaxInsns = 4'000'000;
// A KVM case runs freely (single-stepping shows TF in exception frames,
// docs/oracles.md) under this wall-clock limit.
constexpr uint64_t kKvmTimeoutMs = 5000;

using RunFn = RunOutcome (*)(Memory&, const CpuState&, const CpuModel&, const RunOptions&);

SysRun run_machine(RunFn fn, const SysCase& c, bool interp, const CpuModel& model = sys_model()) {
  Memory mem(sysmap::kRamBytes);
  for (const MemChunk& m : c.memory) std::memcpy(mem.ram() + m.addr, m.bytes.data(), m.bytes.size());
  RunOptions opt;
  if (interp) opt.max_insns = kMaxInsns;
  else opt.timeout_ms = kKvmTimeoutMs;
  const RunOutcome o = fn(mem, c.init, model, opt);
  SysRun r;
  r.detail = o.detail;
  switch (o.stop) {
    case StopReason::Hlt: r.end = SysRun::End::Hlt; break;
    case StopReason::Shutdown: r.end = SysRun::End::Shutdown; break;
    case StopReason::Limit: r.end = SysRun::End::Limit; break;
    default:
      r.end = SysRun::End::Error;
      if (r.detail.empty()) r.detail = stop_reason_name(o.stop);
      return r;
  }
  r.state = o.state;
  for (const auto& [addr, len] : c.compared)
    r.memory.emplace_back(mem.ram() + addr, mem.ram() + addr + len);
  return r;
}

const char* kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                             "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* kSegNames[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

struct Differ {
  const std::string& na;
  const std::string& nb;
  std::vector<std::string> out;
  void value(const std::string& what, uint64_t a, uint64_t b) {
    if (a != b) out.push_back(what + ": " + na + " " + hex(a) + ", " + nb + " " + hex(b));
  }
};

// The hidden attribute bits that describe a segment (type, S, DPL, P, L,
// D/B, G); KVM and the interpreter may differ in what they keep of an
// unusable segment's other bits.
constexpr uint32_t kAttrCompared = 0xf0ff;

void compare_state(Differ& d, const CpuState& a, const CpuState& b, uint64_t rflags_ignore, uint64_t cr2_ignore) {
  const bool lm = a.mode == Mode::Long64 || b.mode == Mode::Long64;
  const uint64_t gmask = lm || a.mode == Mode::Compat32 || b.mode == Mode::Compat32 ? ~0ull : 0xffffffffull;
  for (int i = 0; i < (lm ? 16 : 8); ++i) d.value(kGprNames[i], a.gpr[i] & gmask, b.gpr[i] & gmask);
  d.value("rip", a.rip, b.rip);
  d.value("rflags", a.rflags & ~rflags_ignore, b.rflags & ~rflags_ignore);
  d.value("cr0", a.cr0, b.cr0);
  d.value("cr2", a.cr2 & ~cr2_ignore, b.cr2 & ~cr2_ignore);
  d.value("cr3", a.cr3, b.cr3);
  d.value("cr4", a.cr4, b.cr4);
  d.value("efer", a.efer, b.efer);
  d.value("cpl", a.cpl, b.cpl);
  for (int s = 0; s < 6; ++s) d.value(std::string(kSegNames[s]) + ".sel", a.seg[s].sel, b.seg[s].sel);
  for (int s : {CS, SS})
    d.value(std::string(kSegNames[s]) + ".attr", a.seg[s].attr & kAttrCompared, b.seg[s].attr & kAttrCompared);
  for (int s : {FS, GS}) d.value(std::string(kSegNames[s]) + ".base", a.seg[s].base, b.seg[s].base);
  d.value("ldtr.sel", a.ldtr.sel, b.ldtr.sel);
  d.value("kernel_gs_base", a.kernel_gs_base, b.kernel_gs_base);
  d.value("star", a.star, b.star);
  d.value("lstar", a.lstar, b.lstar);
  d.value("cstar", a.cstar, b.cstar);
  d.value("sfmask", a.sfmask, b.sfmask);
  d.value("sysenter_cs", a.sysenter_cs, b.sysenter_cs);
  d.value("sysenter_esp", a.sysenter_esp, b.sysenter_esp);
  d.value("sysenter_eip", a.sysenter_eip, b.sysenter_eip);
}

void compare_memory(Differ& d, const SysCase& c, const SysRun& a, const SysRun& b) {
  const bool both_pf = result_marker(c, a) == 0x10e && result_marker(c, b) == 0x10e;
  for (size_t i = 0; i < c.compared.size() && i < a.memory.size() && i < b.memory.size(); ++i) {
    const Bytes& x = a.memory[i];
    const Bytes& y = b.memory[i];
    for (size_t off = 0; off + 8 <= x.size(); off += 8) {
      uint64_t vx, vy;
      std::memcpy(&vx, x.data() + off, 8);
      std::memcpy(&vy, y.data() + off, 8);
      if (both_pf)
        for (const auto& [addr, mask] : c.pf_ignore)
          if (addr == c.compared[i].first + off) vx &= ~mask, vy &= ~mask;
      if (vx != vy) d.value("mem[" + hex(c.compared[i].first + off) + "]", vx, vy);
    }
  }
}

// Paging outside long mode on KVM. This host's PVM-based KVM shuts the
// guest down as soon as it runs with CR0.PG = 1 in 32-bit protected mode,
// with 32-bit or PAE paging (measured: a MOV to CR0 that sets PG, or an
// initial state with PG set, ends in KVM_EXIT_SHUTDOWN before the next
// instruction), so such cases cannot be compared. A one-HLT probe machine
// finds out once per mode; when it does not halt, the cases of that mode
// are oracle errors with this reason instead of being run.
std::string legacy_paging_problem(PagingMode pm) {
  static std::string cached[2];
  static bool probed[2] = {false, false};
  const unsigned i = pm == PagingMode::Pae ? 1 : 0;
  if (!probed[i]) {
    probed[i] = true;
    SysCase c;
    sysgen::init_machine(c, FlatMode::Prot32);
    sysgen::TablePool pool;
    c.init.cr3 = sysgen::identity_map(c, pm, pool);
    if (pm == PagingMode::Pae) c.init.cr4 |= cr4::PAE;
    sysgen::put(c, sysmap::kKernelCode, Bytes{0xf4});
    const SysRun r = run_machine(run_kvm, c, false);
    if (r.end != SysRun::End::Hlt)
      cached[i] = std::string("KVM cannot run ") + paging_mode_name(pm) +
                  " paging (a probe that only halts ended in " + sys_end_name(r.end) + ")";
  }
  return cached[i];
}

SysRun run_on_kvm(const SysCase& c) {
  if (c.paging == PagingMode::Bits32 || c.paging == PagingMode::Pae) {
    const std::string why = legacy_paging_problem(c.paging);
    if (!why.empty()) {
      SysRun r;
      r.detail = why;
      return r;
    }
  }
  return run_machine(run_kvm, c, false);
}

}  // namespace

const char* sys_end_name(SysRun::End e) {
  switch (e) {
    case SysRun::End::Hlt: return "hlt";
    case SysRun::End::Shutdown: return "shutdown";
    case SysRun::End::Limit: return "limit";
    default: return "error";
  }
}

SysBackend make_sys_backend(BackendKind k, const CpuModel* model) {
  if (k == BackendKind::Kvm) return run_on_kvm;
  const CpuModel& m = model ? *model : sys_model();
  return [&m](const SysCase& c) { return run_machine(run_interp, c, true, m); };
}

std::vector<std::string> compare_sys_runs(const SysCase& c, const SysRun& a, const SysRun& b,
                                          const std::string& name_a, const std::string& name_b) {
  Differ d{name_a, name_b, {}};
  if (a.end != b.end) {
    d.out.push_back(std::string("end: ") + name_a + " " + sys_end_name(a.end) + " (" + a.detail + "), " +
                    name_b + " " + sys_end_name(b.end) + " (" + b.detail + ")");
  }
  // After a triple fault the register state is the CPU's business (SDM
  // 6.15 "Interrupt 8": the processor enters shutdown); memory is not.
  if (a.end == b.end && a.end != SysRun::End::Shutdown) compare_state(d, a.state, b.state, c.rflags_ignore, c.cr2_ignore);
  compare_memory(d, c, a, b);
  return d.out;
}

std::string oracle_error_reason(const std::string& detail) {
  const std::string emul = "instruction emulation failed";
  if (detail.find(emul) != std::string::npos) {
    // "... (linear L), bytes b0 b1 ... (mnemonic)": the mnemonic when KVM's
    // record or the decoder names one, else the first opcode byte.
    const size_t open = detail.rfind('('), close = detail.rfind(')');
    if (open != std::string::npos && close != std::string::npos && close > open &&
        detail.compare(open + 1, 6, "linear") != 0)
      return emul + ": " + detail.substr(open + 1, close - open - 1);
    const size_t bytes = detail.find("bytes ");
    if (bytes != std::string::npos) return emul + ": opcode byte " + detail.substr(bytes + 6, 2);
    return emul;
  }
  if (detail.rfind("timeout", 0) == 0) return "timeout";
  const size_t at = detail.find(" at ");
  return at == std::string::npos ? detail : detail.substr(0, at);
}

uint64_t SysCampaignSummary::cases() const {
  uint64_t n = 0;
  for (const auto& f : family) n += f.cases;
  return n;
}
uint64_t SysCampaignSummary::mismatched() const {
  uint64_t n = 0;
  for (const auto& f : family) n += f.mismatched;
  return n;
}
uint64_t SysCampaignSummary::agreed() const {
  uint64_t n = 0;
  for (const auto& f : family) n += f.agreed;
  return n;
}

std::string SysCampaignSummary::line() const {
  std::string s = "fuzz system: " + std::to_string(cases()) + " cases, " + std::to_string(agreed()) +
                  " agreed, " + std::to_string(mismatched()) + " mismatched";
  uint64_t errors = 0;
  for (const auto& f : family) errors += f.oracle_errors;
  s += ", " + std::to_string(errors) + " oracle errors";
  return s;
}

std::string SysCampaignSummary::report() const {
  std::string s;
  for (unsigned i = 0; i < kSysFamilies; ++i) {
    const SysFamilyStats& f = family[i];
    if (!f.cases) continue;
    s += std::string("  ") + sys_family_name(SysFamily(i)) + ": " + std::to_string(f.cases) + " cases, " +
         std::to_string(f.agreed) + " agreed, " + std::to_string(f.mismatched) + " mismatched, " +
         std::to_string(f.oracle_errors) + " oracle errors\n";
    for (const auto& [k, n] : f.kinds) {
      const auto it = f.kinds_agreed.find(k);
      s += "    " + k + ": " + std::to_string(n) + " cases, " +
           std::to_string(it == f.kinds_agreed.end() ? 0 : it->second) + " agreed\n";
    }
    for (const auto& [k, n] : f.ends) s += "    ended " + k + ": " + std::to_string(n) + "\n";
    for (const auto& [k, n] : f.error_reasons) s += "    oracle error: " + k + ": " + std::to_string(n) + "\n";
  }
  return s;
}

std::string sys_reproducer(const SysCampaignConfig& cfg, SysFamily f, uint64_t seed) {
  return "softvt fuzz --suite system --a " + cfg.name_a + " --b " + cfg.name_b + " --family " +
         sys_family_name(f) + " --seed " + std::to_string(seed) + " --count 1";
}

uint32_t result_marker(const SysCase& c, const SysRun& r) {
  for (size_t i = 0; i < c.compared.size() && i < r.memory.size(); ++i) {
    const auto& [addr, len] = c.compared[i];
    if (addr <= sysmap::kMarker && sysmap::kMarker + 4 <= addr + len) {
      uint32_t v;
      std::memcpy(&v, r.memory[i].data() + (sysmap::kMarker - addr), 4);
      return v;
    }
  }
  return 0;
}

SysCampaignSummary run_sys_campaign(const SysCampaignConfig& cfg, const SysBackend& a,
                                    const SysBackend& b) {
  SysCampaignSummary sum;
  uint64_t reported = 0;
  auto say = [&](const std::string& s) {
    if (cfg.out) std::fputs(s.c_str(), cfg.out), std::fflush(cfg.out);
  };
  for (uint64_t i = 0; i < cfg.count; ++i) {
    if (cfg.progress_every && i && i % cfg.progress_every == 0)
      say("fuzz system: " + std::to_string(i) + "/" + std::to_string(cfg.count) + " cases\n");
    const uint64_t seed = cfg.seed + i;
    const SysFamily fam = cfg.families[i % cfg.families.size()];
    SysFamilyStats& st = sum.family[unsigned(fam)];
    const SysCase c = build_sys_case(fam, seed);
    ++st.cases;
    ++st.kinds[c.kind];
    const SysRun ra = a(c), rb = b(c);
    if (cfg.verbose) say("case " + std::to_string(seed) + " " + c.summary + "\n");
    // A backend that could not run the case is an oracle error, but only
    // the oracle's: the interpreter is the reference and must run every case.
    const bool a_err = ra.end == SysRun::End::Error && cfg.name_a != "interp";
    const bool b_err = rb.end == SysRun::End::Error && cfg.name_b != "interp";
    if (a_err || b_err) {
      ++st.oracle_errors;
      const std::string reason = oracle_error_reason(a_err ? ra.detail : rb.detail);
      ++st.error_reasons[c.kind + ": " + reason];
      if (cfg.verbose) say("  oracle error: " + (a_err ? ra.detail : rb.detail) + "\n");
      continue;
    }
    const std::vector<std::string> diff = compare_sys_runs(c, ra, rb, cfg.name_a, cfg.name_b);
    if (diff.empty()) {
      ++st.agreed;
      ++st.kinds_agreed[c.kind];
      const uint32_t m = result_marker(c, ra);
      ++st.ends[sys_end_name(ra.end) + (m >= 0x100 && m < 0x120 ? " after #" + std::to_string(m - 0x100) : "")];
      continue;
    }
    ++st.mismatched;
    const std::string repro = sys_reproducer(cfg, fam, seed);
    sum.reproducers.push_back(repro);
    if (reported++ < cfg.max_reports) {
      std::string s = "MISMATCH " + std::string(sys_family_name(fam)) + " " + c.kind + " seed " +
                      std::to_string(seed) + ": " + c.summary + "\n";
      for (const std::string& line : diff) s += "  " + line + "\n";
      s += "  reproduce: " + repro + "\n";
      say(s);
    } else {
      say("MISMATCH (" + diff.front() + "): " + repro + "\n");
    }
  }
  return sum;
}

}  // namespace softvt::fuzz
