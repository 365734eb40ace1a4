#include "emu/fuzz/differential.h"

#include <cinttypes>
#include <cstdio>

#include "emu/fuzz/layout.h"
#include "emu/fuzz/values.h"

namespace softvt::fuzz {
namespace {

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, i ? " %02x" : "%02x", p[i]);
    s += b;
  }
  return s;
}

std::string flag_names(uint64_t bits) {
  static const struct { uint64_t bit; const char* name; } kFlags[] = {
      {fl::CF, "CF"}, {fl::PF, "PF"}, {fl::AF, "AF"}, {fl::ZF, "ZF"},
      {fl::SF, "SF"}, {fl::DF, "DF"}, {fl::OF, "OF"}};
  std::string s;
  for (const auto& f : kFlags)
    if (bits & f.bit) s += (s.empty() ? "" : ",") + std::string(f.name);
  return s.empty() ? "none" : s;
}

// Byte ranges where `a` and `b` differ (within [from, to), skipping
// [skip_from, skip_to)), reported against linear address `base`.
void compare_bytes(const char* area, uint64_t base, const Bytes& a, const Bytes& b, size_t from,
                   size_t to, size_t skip_from, size_t skip_to, std::vector<Difference>& out) {
  if (a.size() != b.size()) {
    out.push_back({std::string(area) + " size", std::to_string(a.size()), std::to_string(b.size())});
    return;
  }
  to = std::min(to, a.size());
  size_t i = from;
  while (i < to) {
    if ((i >= skip_from && i < skip_to) || a[i] == b[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < to && j - i < 16 && !(j >= skip_from && j < skip_to) && a[j] != b[j]) ++j;
    out.push_back({std::string(area) + " " + hex(base + i) + ".." + hex(base + j - 1),
                   hex_bytes(a.data() + i, j - i), hex_bytes(b.data() + i, j - i)});
    i = j;
  }
}

uint64_t load_le(const Bytes& v, size_t off, unsigned n) {
  uint64_t x = 0;
  for (unsigned i = 0; i < n && off + i < v.size(); ++i) x |= uint64_t(v[off + i]) << (8 * i);
  return x;
}

// The FXSAVE image (SDM Vol. 1 Table 10-2), field by field. Not compared:
// FOP, FIP, FCS, FDP and FDS (AMD's FXSAVE stores the pointers only while
// an x87 exception is pending, AMD APM Vol. 5 FXSAVE; Intel's always; the
// selectors are the native oracle's kernel's), MXCSR_MASK (the CPU's
// supported MXCSR bits: the host's include AMD's misaligned-exception
// mask, bit 17), and bytes 464-511, which FXSAVE does not write.
void compare_fp_image(const Bytes& a, const Bytes& b, std::vector<Difference>& out) {
  struct Field { size_t from, to; const char* name; };
  static constexpr Field kFields[] = {
      {0, 6, "fxsave fcw/fsw/ftw"}, {24, 28, "fxsave mxcsr"}, {32, 160, "fxsave st/mm"},
      {160, 416, "fxsave xmm"},     {416, 464, "fxsave reserved"}};
  const size_t base = kFpResult - kResult;
  if (a.size() < base + kFpBytes || b.size() < base + kFpBytes) return;
  for (const Field& f : kFields)
    compare_bytes(f.name, kResult, a, b, base + f.from, base + f.to, 0, 0, out);
}

// The x87 pointers from the epilogue's FNSTENV (32-bit protected-mode
// layout, SDM Vol. 1 Fig. 8-9): FIP at +12, FOP in bits 16-26 of +16 (FCS
// in bits 0-15 is the kernel's natively), FDP at +20. Not in real16, where
// the interpreter stores the real-mode layout with linear addresses and
// the native oracle (16-bit protected mode) offsets and selectors.
void compare_x87_pointers(FlatMode mode, const Bytes& a, const Bytes& b,
                          std::vector<Difference>& out) {
  if (mode == FlatMode::Real16) return;
  const size_t base = kFpEnvResult - kResult;
  struct Field { size_t off; uint64_t mask; const char* name; };
  static constexpr Field kFields[] = {{12, 0xffffffff, "fnstenv x87 pointers (fip)"},
                                      {16, 0x07ff0000, "fnstenv x87 pointers (fop)"},
                                      {20, 0xffffffff, "fnstenv x87 pointers (fdp)"}};
  for (const Field& f : kFields) {
    const uint64_t va = load_le(a, base + f.off, 4) & f.mask, vb = load_le(b, base + f.off, 4) & f.mask;
    if (va != vb) out.push_back({f.name, hex(va), hex(vb)});
  }
}

}  // namespace

bool only_x87_pointers(const std::vector<Difference>& diffs) {
  for (const Difference& d : diffs)
    if (d.what.find("x87 pointers") == std::string::npos) return false;
  return !diffs.empty();
}

std::vector<Difference> compare_runs(const CaseImage& img, const BackendRun& a, const BackendRun& b) {
  std::vector<Difference> out;
  if (a.end != b.end) {
    out.push_back({"end", std::string(end_name(a.end)) + (a.detail.empty() ? "" : " (" + a.detail + ")"),
                   std::string(end_name(b.end)) + (b.detail.empty() ? "" : " (" + b.detail + ")")});
    return out;
  }
  if (a.end == BackendRun::End::Fault && a.vector >= 0 && b.vector >= 0 && a.vector != b.vector)
    out.push_back({"fault vector", std::to_string(a.vector) + " (" + a.detail + ")",
                   std::to_string(b.vector) + " (" + b.detail + ")"});
  if (a.end != BackendRun::End::Hlt) return out;  // nothing else comparable after a fault
  const FlatMode mode = img.mode;
  const uint64_t gmask = width_mask(gpr_bytes(mode));
  for (unsigned i = 0; i < gpr_count(mode); ++i)
    if ((a.gpr[i] ^ b.gpr[i]) & gmask)
      out.push_back({kGprNames[i], hex(a.gpr[i] & gmask), hex(b.gpr[i] & gmask)});
  if ((a.rip ^ b.rip) & gmask) out.push_back({"rip", hex(a.rip & gmask), hex(b.rip & gmask)});
  const uint64_t fmask = kComparedFlags & ~uint64_t(img.undefined_flags);
  if ((a.rflags ^ b.rflags) & fmask)
    out.push_back({"rflags (" + flag_names((a.rflags ^ b.rflags) & fmask) + ")",
                   hex(a.rflags & fmask), hex(b.rflags & fmask)});
  compare_bytes("data", kData, a.data, b.data, 0, kDataSize, 0, 0, out);
  // Result area: the GPR slots exactly, the PUSHF image under the flag mask.
  compare_bytes("result", kResult, a.result, b.result, 0, kResultFlags - kResult, 0, 0, out);
  const unsigned fw = stack_bytes(mode);
  const uint64_t fa = load_le(a.result, kResultFlags - kResult, fw) & fmask;
  const uint64_t fb = load_le(b.result, kResultFlags - kResult, fw) & fmask;
  if (fa != fb) out.push_back({"result flags slot (" + flag_names(fa ^ fb) + ")", hex(fa), hex(fb)});
  if (img.fp_state) {
    compare_fp_image(a.result, b.result, out);
    compare_x87_pointers(mode, a.result, b.result, out);
  }
  // Stack: from the red zone below the final RSP up, minus the PUSHF slot.
  const uint64_t sp_lin = img.mode == FlatMode::Real16 ? kLoad + img.final_sp : img.final_sp;
  const uint64_t sp_off = sp_lin - kStackBase;
  const size_t from = sp_off >= 128 ? size_t(sp_off - 128) : 0;
  compare_bytes("stack", kStackBase, a.stack, b.stack, from, kStackSize, size_t(sp_off - fw),
                size_t(sp_off), out);
  return out;
}

Bisection bisect(const TestCase& c, const std::function<Probe(uint32_t)>& probe) {
  Bisection r;
  const std::vector<uint32_t> cuts = cut_points(c);
  size_t lo = 0, hi = cuts.size() - 1;
  switch (probe(cuts[lo])) {
    case Probe::Bad:
      r.note = "already with an empty body (prologue and epilogue only)";
      return r;
    case Probe::Unknown:
      r.note = "a backend could not run the empty body";
      return r;
    default: break;
  }
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    switch (probe(cuts[mid])) {
      case Probe::Good: lo = mid; break;
      case Probe::Bad: hi = mid; break;
      default:
        r.note = "a backend could not run a shortened case";
        return r;
    }
  }
  r.found = true;
  r.first = cuts[lo];
  r.end = cuts[hi];
  return r;
}

std::string describe_step(const TestCase& c, const CaseImage& img, const Bisection& b) {
  const FlatMode mode = c.config.mode;
  std::string s;
  for (uint32_t i = b.first; i < b.end && i < img.cut; ++i) {
    const BodyInsn& bi = c.body[i];
    const uint64_t addr = guest_offset(mode, kLoad + bi.offset);
    const uint8_t* bytes = img.code.data() + bi.offset;  // with branch displacements
    const char* role = bi.role == Role::Main ? "" : bi.role == Role::Setup ? "  (setup fixup)" : "  (restore)";
    char line[96];
    std::snprintf(line, sizeof line, "    #%u.%u %s  %-40s ", bi.unit, i, hex(addr).c_str(),
                  hex_bytes(bytes, bi.bytes.size()).c_str());
    s += line + disassemble(mode, bytes, bi.bytes.size(), addr) + role + "\n";
  }
  return s;
}

std::string describe_differences(const std::vector<Difference>& diffs, const std::string& name_a,
                                 const std::string& name_b) {
  std::string s;
  for (const Difference& d : diffs)
    s += "    " + d.what + ": " + name_a + "=" + d.a + "  " + name_b + "=" + d.b + "\n";
  return s;
}

std::string describe_case(const TestCase& c) {
  std::string s = "  prologue: " + std::to_string(c.prologue.size()) + " bytes at " +
                  hex(guest_offset(c.config.mode, kLoad)) + "\n";
  Bisection all;
  all.first = 0;
  all.end = uint32_t(c.body.size());
  return s + describe_step(c, link(c), all);
}

}  // namespace softvt::fuzz
