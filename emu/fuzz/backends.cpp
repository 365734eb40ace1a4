#include "emu/fuzz/backends.h"

#include <cstdio>
#include <cstring>

#include "emu/accel/accel.h"
#include "emu/fuzz/layout.h"

namespace softvt::fuzz {

bool parse_backend(const std::string& s, BackendKind& out) {
  if (s == "interp") out = BackendKind::Interp;
  else if (s == "kvm") out = BackendKind::Kvm;
  else if (s == "native") out = BackendKind::Native;
  else if (s == "kvm-user") out = BackendKind::KvmUser;
  else return false;
  return true;
}

const char* backend_name(BackendKind k) {
  switch (k) {
    case BackendKind::Interp: return "interp";
    case BackendKind::Kvm: return "kvm";
    case BackendKind::KvmUser: return "kvm-user";
    default: return "native";
  }
}

const char* end_name(BackendRun::End e) {
  switch (e) {
    case BackendRun::End::Hlt: return "hlt";
    case BackendRun::End::Fault: return "fault";
    case BackendRun::End::Limit: return "limit";
    default: return "error";
  }
}

namespace {

// Far more than any case needs (REP counts are at most 8): a runaway is a
// verdict ("limit"), not a hang.
constexpr uint64_t kMaxGuestInsns = 1'000'000;

Bytes copy_ram(const Memory& mem, uint64_t addr, uint64_t len) {
  return Bytes(mem.ram() + addr, mem.ram() + addr + len);
}

using RunFn = RunOutcome (*)(Memory&, const CpuState&, const CpuModel&, const RunOptions&);

// Remembers the first exception of an interpreter run: with the flat
// runner's empty IDT it escalates to a triple fault, whose report names
// only the last one.
struct FirstException : Cpu::Tracer {
  int vector = -1;
  void insn(const Cpu&, uint64_t, uint64_t, const uint8_t*, unsigned) override {}
  void exception(const Cpu&, const GuestException& e) override {
    if (vector < 0) vector = e.vector;
  }
  void note(const Cpu&, const std::string&) override {}
};

// The native oracle's environment (Linux at CPL 3) has CR0.MP/NE and
// CR4.OSFXSR/OSXMMEXCPT set in every mode; the flat runner's real16 state
// has them clear (x87 errors reported externally, SSE #UD). Real16 cases
// run with them set so x87/SSE behave as they do natively (SDM Vol. 3A
// 2.5, 9.2.1; real mode allows both bits).
CpuState fuzz_initial_state(Memory& mem, const CaseImage& img) {
  CpuState s = setup_flat(mem, img.code, kLoad, img.mode);
  if (img.fp_state) {
    s.cr0 |= cr0::MP | cr0::NE;
    s.cr4 |= cr4::OSFXSR | cr4::OSXMMEXCPT;
  }
  return s;
}

// "kvm-user": the flat runner's state moved to CPL 3. DPL-3 copies of its
// code and data descriptors at 0x20 (data), 0x28 (64-bit code) and 0x30
// (32-bit code) of its GDT, selectors with RPL 3, IF = 1 (as at CPL 3
// under Linux, which the generator assumes for CPL-3 oracles). The page
// tables already allow user access (U/S = 1 at every level).
constexpr uint64_t kUserGdt[3] = {0x00cff3000000ffffull, 0x00affb000000ffffull,
                                  0x00cffb000000ffffull};

void move_to_cpl3(Memory& mem, CpuState& s, FlatMode mode) {
  std::memcpy(mem.ram() + s.gdtr.base + 0x20, kUserGdt, sizeof kUserGdt);
  s.gdtr.limit = 0x37;
  auto seg = [](uint16_t sel, uint64_t d) {
    SegReg r{};
    r.sel = sel;
    r.attr = uint32_t((d >> 40) & 0xff) | uint32_t(((d >> 52) & 0xf) << 12);
    r.limit = 0xffffffff;
    return r;
  };
  s.seg[CS] = mode == FlatMode::Long64 ? seg(0x2b, kUserGdt[1]) : seg(0x33, kUserGdt[2]);
  for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = seg(0x23, kUserGdt[0]);
  s.cpl = 3;
  s.rflags |= fl::IF;
}

// At CPL 3 the epilogue's HLT raises #GP, which the flat runner's empty
// IDT turns into a shutdown with RIP at the HLT: that shutdown is the
// end of the case (RIP reported after the HLT, as the interpreter does).
void hlt_at_cpl3(const CaseImage& img, const RunOutcome& o, BackendRun& r) {
  const uint64_t hlt = guest_offset(img.mode, kLoad) + img.code.size() - 1;
  if (o.stop == StopReason::Shutdown && o.state.rip == hlt) {
    r.end = BackendRun::End::Hlt;
    r.rip = hlt + 1;
  } else if (o.stop == StopReason::Shutdown) {
    char at[40];
    std::snprintf(at, sizeof at, " at rip 0x%llx", static_cast<unsigned long long>(o.state.rip));
    r.detail += at;
  }
}

BackendRun run_flat(RunFn fn, const CaseImage& img, bool trace_exceptions, bool user = false) {
  Memory mem(kRamBytes);
  CpuState init = fuzz_initial_state(mem, img);
  if (user) move_to_cpl3(mem, init, img.mode);
  RunOptions opt;
  // KVM single-steps to count instructions; at CPL 3 this host's KVM
  // delivers the single-step #DB to the guest (a shutdown after the first
  // instruction), so kvm-user runs freely under KVM's wall-clock limit.
  if (!user) opt.max_insns = kMaxGuestInsns;
  FirstException first;
  if (trace_exceptions) opt.tracer = &first;
  const RunOutcome o = fn(mem, init, default_cpu_model(), opt);
  BackendRun r;
  r.detail = o.detail;
  r.vector = first.vector;
  switch (o.stop) {
    case StopReason::Hlt: r.end = BackendRun::End::Hlt; break;
    case StopReason::Shutdown: r.end = BackendRun::End::Fault; break;
    case StopReason::Limit: r.end = BackendRun::End::Limit; break;
    default:
      r.end = BackendRun::End::Error;
      if (r.detail.empty()) r.detail = stop_reason_name(o.stop);
      return r;
  }
  std::memcpy(r.gpr, o.state.gpr, sizeof r.gpr);
  r.rip = o.state.rip;
  r.rflags = o.state.rflags;
  r.stack = copy_ram(mem, kStackBase, kStackSize);
  r.data = copy_ram(mem, kData, kDataSize);
  r.result = copy_ram(mem, kResult, kResultSize);
  if (user) hlt_at_cpl3(img, o, r);
  return r;
}

std::vector<NativeRegion> native_regions() {
  return {{kStackBase, kStackSize}, {kDataPage, kRegionPage}, {kResultPage, kRegionPage}};
}

Bytes prefix(const std::vector<uint8_t>& v, uint64_t len) {
  return v.size() >= len ? Bytes(v.begin(), v.begin() + ptrdiff_t(len)) : Bytes();
}

BackendRun run_on_host(const CaseImage& img) {
  BackendRun r;
  NativeOptions opt;
  opt.mode = img.mode;
  const NativeOutcome o = run_native(img.code, kLoad, native_regions(), opt);
  r.detail = o.detail;
  if (!o.ran) {
    if (r.detail.empty()) r.detail = "the native oracle could not run the case";
    return r;
  }
  if (o.regions.size() != 3 || o.regions[0].size() < kStackSize) {
    r.detail = "the native oracle returned no region contents";
    return r;
  }
  r.end = o.ended_by_hlt ? BackendRun::End::Hlt : BackendRun::End::Fault;
  if (!o.ended_by_hlt) r.vector = o.vector;
  std::memcpy(r.gpr, o.state.gpr, sizeof r.gpr);
  r.rip = o.state.rip;
  r.rflags = o.state.rflags;
  r.stack = prefix(o.regions[0], kStackSize);
  r.data = prefix(o.regions[1], kDataSize);
  r.result = prefix(o.regions[2], kResultSize);
  return r;
}

}  // namespace

Backend make_backend(BackendKind k) {
  switch (k) {
    case BackendKind::Interp: return [](const CaseImage& img) { return run_flat(run_interp, img, true); };
    case BackendKind::Kvm: return [](const CaseImage& img) { return run_flat(run_kvm, img, false); };
    case BackendKind::KvmUser:
      return [](const CaseImage& img) { return run_flat(run_kvm, img, false, true); };
    default: return run_on_host;
  }
}

std::string backend_unavailable_reason(BackendKind k, FlatMode m) {
  switch (k) {
    case BackendKind::Interp: return "";
    case BackendKind::Kvm: return kvm_unavailable_reason();
    case BackendKind::KvmUser:
      if (m == FlatMode::Real16) return "real mode has no CPL 3";
      // Measured (docs/oracles.md "KVM at CPL 3"): this PVM host runs
      // guests in long mode only, and in compatibility mode its CPL-3 x87
      // and SSE instructions trap at once.
      if (m == FlatMode::Prot32)
        return "this host's KVM shuts down prot32 cases at CPL 3 on a plain store (measured)";
      return kvm_unavailable_reason();
    default: return native_unavailable_reason(m);
  }
}

}  // namespace softvt::fuzz
