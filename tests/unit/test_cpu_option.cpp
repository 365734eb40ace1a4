// CPU models and `--cpu` (emu/cpu_model.h, emu/cpu_features.h,
// emu/cli/cpu_option.h): the models' CPUID conventions (SDM Vol. 2 CPUID,
// AMD APM Vol. 3 CPUID), the consistency between CPUID bits and the
// Feature mask, the option's syntax and its errors on the command line.
#include <catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/cli/cpu_option.h"
#include "emu/cli/options.h"
#include "emu/cpu_features.h"
#include "emu/cpu_state.h"
#include "emu/loader/flat.h"

using namespace softvt;

namespace {

std::string vendor_of(const CpuidLeaf& l) {
  char v[13] = {};
  std::memcpy(v, &l.ebx, 4);
  std::memcpy(v + 4, &l.edx, 4);
  std::memcpy(v + 8, &l.ecx, 4);
  return v;
}

std::string brand_of(const CpuModel& m) {
  char b[49] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    const CpuidLeaf l = m.cpuid(0x80000002 + i, 0);
    std::memcpy(b + 16 * i, &l.eax, 4);
    std::memcpy(b + 16 * i + 4, &l.ebx, 4);
    std::memcpy(b + 16 * i + 8, &l.ecx, 4);
    std::memcpy(b + 16 * i + 12, &l.edx, 4);
  }
  return b;
}

const CpuModel& model(const char* name) {
  const CpuModel* m = find_cpu_model(name);
  REQUIRE(m);
  return *m;
}

uint32_t reg_value(const CpuidLeaf& l, CpuidReg r) {
  switch (r) {
    case CpuidReg::Eax: return l.eax;
    case CpuidReg::Ebx: return l.ebx;
    case CpuidReg::Ecx: return l.ecx;
    default: return l.edx;
  }
}

// The CPUID registers that hold feature flags (SDM Vol. 2 CPUID).
struct FlagReg {
  uint32_t leaf, subleaf;
  CpuidReg reg;
};
const FlagReg kFlagRegs[] = {
    {1, 0, CpuidReg::Ecx},          {1, 0, CpuidReg::Edx},          {6, 0, CpuidReg::Eax},
    {7, 0, CpuidReg::Ebx},          {7, 0, CpuidReg::Ecx},          {7, 0, CpuidReg::Edx},
    {0xd, 1, CpuidReg::Eax},        {0x80000001, 0, CpuidReg::Ecx}, {0x80000001, 0, CpuidReg::Edx},
    {0x80000007, 0, CpuidReg::Edx}, {0x8000000a, 0, CpuidReg::Edx},
};

struct CliResult {
  int status;
  std::string err;
};

CliResult softvt_cli(const std::string& args) {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  const std::string err = "/tmp/softvt_cpuopt_" + std::to_string(getpid()) + ".err";
  const std::string cmd = std::string(exe) + " " + args + " >/dev/null 2>" + err;
  const int raw = std::system(cmd.c_str());
  std::ifstream f(err);
  CliResult r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1,
              std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>())};
  std::remove(err.c_str());
  return r;
}

std::string hlt_image() {
  const std::string path = "/tmp/softvt_cpuopt_" + std::to_string(getpid()) + ".bin";
  std::ofstream(path, std::ios::binary) << char(0xf4);
  return path;
}

}  // namespace

TEST_CASE("models: intel and amd with their vendors; softvt is the default's alias") {
  CHECK(vendor_of(model("intel").cpuid(0, 0)) == "GenuineIntel");
  CHECK(vendor_of(model("amd").cpuid(0, 0)) == "AuthenticAMD");
  CHECK(&model("softvt") == &default_cpu_model());
  CHECK(&model("intel") == &default_cpu_model());
  CHECK(model("intel").intel());
  CHECK(model("amd").amd());
  CHECK(find_cpu_model("nosuch") == nullptr);
  // AMD repeats the vendor string in 80000000H (APM Vol. 3 CPUID Fn8000_0000).
  CHECK(vendor_of(model("amd").cpuid(0x80000000, 0)) == "AuthenticAMD");
  for (const char* n : {"intel", "amd"}) {
    INFO(n);
    CHECK(brand_of(model(n)).find("softvt") != std::string::npos);
  }
}

TEST_CASE("models: signatures (family/model/stepping) as the manuals encode them") {
  // Family = base family + extended family when base is 0FH; model =
  // extended model << 4 | model when family is 06H or 0FH (SDM Vol. 2
  // CPUID Figure 3-6).
  auto family = [](uint32_t eax) {
    const uint32_t base = (eax >> 8) & 0xf;
    return base == 0xf ? base + ((eax >> 20) & 0xff) : base;
  };
  auto model_of = [](uint32_t eax) { return ((eax >> 12) & 0xf0) | ((eax >> 4) & 0xf); };
  CHECK(family(model("intel").cpuid(1, 0).eax) == 6);
  CHECK(model_of(model("intel").cpuid(1, 0).eax) == 0x55);
  CHECK(family(model("amd").cpuid(1, 0).eax) == 0x19);
  // AMD reports the signature in 80000001H EAX as well.
  CHECK(model("amd").cpuid(0x80000001, 0).eax == model("amd").cpuid(1, 0).eax);
}

TEST_CASE("models: a leaf above the maximum: Intel returns the highest basic leaf, AMD zeros") {
  const CpuModel& intel = model("intel");
  const uint32_t max_basic = intel.cpuid(0, 0).eax;
  const CpuidLeaf top = intel.cpuid(max_basic, 0);
  for (uint32_t leaf : {max_basic + 1, 0x40000000u, intel.cpuid(0x80000000, 0).eax + 1}) {
    INFO(std::hex << leaf);
    const CpuidLeaf l = intel.cpuid(leaf, 0);
    CHECK(l.eax == top.eax);
    CHECK(l.ebx == top.ebx);
    CHECK(l.ecx == top.ecx);
    CHECK(l.edx == top.edx);
  }
  const CpuModel& amd = model("amd");
  for (uint32_t leaf : {amd.cpuid(0, 0).eax + 1, 0x40000000u, amd.cpuid(0x80000000, 0).eax + 1}) {
    INFO(std::hex << leaf);
    const CpuidLeaf l = amd.cpuid(leaf, 0);
    CHECK((l.eax | l.ebx | l.ecx | l.edx) == 0);
  }
}

TEST_CASE("models: AMD mirrors leaf 1 EDX in 80000001H EDX; Intel does not") {
  const CpuModel& amd = model("amd");
  CHECK((amd.cpuid(0x80000001, 0).edx & AMD_EXT_EDX_MIRROR) == (amd.cpuid(1, 0).edx & AMD_EXT_EDX_MIRROR));
  CHECK((amd.cpuid(0x80000001, 0).edx & 1) == 1);  // FPU
  CHECK((model("intel").cpuid(0x80000001, 0).edx & AMD_EXT_EDX_MIRROR) == 0);
  // Both: SYSCALL (11), NX (20), 1-GiB pages (26), RDTSCP (27), LM (29).
  for (const char* n : {"intel", "amd"}) {
    const uint32_t edx = model(n).cpuid(0x80000001, 0).edx;
    for (unsigned bit : {11u, 20u, 26u, 27u, 29u}) {
      INFO(n << " bit " << bit);
      CHECK(((edx >> bit) & 1) == 1);
    }
  }
}

TEST_CASE("models: topology, XSAVE sizes, address widths") {
  const CpuModel& intel = model("intel");
  // Leaf 0BH: level 0 SMT with one logical processor, level 1 core with
  // one; level 2 is invalid and echoes the level number (SDM Vol. 2 CPUID).
  CHECK(intel.cpuid(0xb, 0).ebx == 1);
  CHECK(((intel.cpuid(0xb, 0).ecx >> 8) & 0xff) == 1);
  CHECK(((intel.cpuid(0xb, 1).ecx >> 8) & 0xff) == 2);
  CHECK(intel.cpuid(0xb, 2).ebx == 0);
  CHECK(intel.cpuid(0xb, 2).ecx == 2);
  // Leaf 4: one core per package (EAX[31:26] = 0), and a null entry ends it.
  for (uint32_t sub = 0; sub < 4; ++sub) {
    CHECK((intel.cpuid(4, sub).eax & 0x1f) != 0);
    CHECK((intel.cpuid(4, sub).eax >> 26) == 0);
  }
  CHECK((intel.cpuid(4, 4).eax & 0x1f) == 0);
  for (const char* n : {"intel", "amd"}) {
    const CpuModel& m = model(n);
    INFO(n);
    // XCR0 may hold x87 | SSE; their area is 512 + 64 = 576 bytes.
    CHECK(m.cpuid(0xd, 0).eax == 3);
    CHECK(m.cpuid(0xd, 0).ebx == 576);
    CHECK(m.cpuid(0xd, 0).ecx == 576);
    CHECK((m.cpuid(0xd, 1).eax & 1) == 1);  // XSAVEOPT
    CHECK((m.cpuid(0x80000008, 0).eax & 0xff) == m.phys_addr_bits);
    CHECK(((m.cpuid(0x80000008, 0).eax >> 8) & 0xff) == 48);
    // CLFLUSH line size 64 bytes (leaf 1 EBX[15:8] in 8-byte units).
    CHECK(((m.cpuid(1, 0).ebx >> 8) & 0xff) == 8);
  }
  // AMD: no TSC-deadline timer, no IA32_TSC_ADJUST.
  CHECK(!model_has(model("amd"), "tsc-deadline"));
  CHECK(!model_has(model("amd"), "tsc-adjust"));
  CHECK(model_has(model("intel"), "tsc-deadline"));
}

TEST_CASE("feature table: every CPUID feature bit a model reports is a named feature") {
  for (const char* n : {"intel", "amd"}) {
    const CpuModel& m = model(n);
    for (const FlagReg& r : kFlagRegs) {
      const uint32_t v = reg_value(m.cpuid(r.leaf, r.subleaf), r.reg);
      for (unsigned bit = 0; bit < 32; ++bit) {
        if (!((v >> bit) & 1)) continue;
        INFO(n << " leaf " << std::hex << r.leaf << "." << r.subleaf << " reg " << int(r.reg) << " bit "
                << std::dec << bit);
        const CpuFeatureInfo* f = find_cpu_feature(r.leaf, r.subleaf, r.reg, bit);
        const bool amd_mirror = m.amd() && r.leaf == 0x80000001 && r.reg == CpuidReg::Edx &&
                                ((AMD_EXT_EDX_MIRROR >> bit) & 1);
        if (amd_mirror) f = find_cpu_feature(1, 0, CpuidReg::Edx, bit);
        CHECK(f != nullptr);
      }
    }
  }
}

TEST_CASE("feature table: the Feature mask is exactly the gates of the reported features") {
  for (const char* n : {"intel", "amd"}) {
    const CpuModel& m = model(n);
    uint64_t expected = 1ull << unsigned(Feature::Base);
    for (const CpuFeatureInfo& f : cpu_feature_table())
      if (model_reports(m, f)) expected |= 1ull << unsigned(f.gates);
    INFO(n);
    CHECK(m.features == expected);
    // Every instruction feature is gated by exactly one named feature.
    for (unsigned i = 1; i < unsigned(Feature::Count); ++i) {
      unsigned gates = 0;
      for (const CpuFeatureInfo& f : cpu_feature_table()) gates += unsigned(f.gates) == i;
      INFO("Feature " << i);
      CHECK(gates == 1);
    }
  }
  // Names are unique and spelled as QEMU spells them (lower case, '-').
  std::set<std::string> names;
  for (const CpuFeatureInfo& f : cpu_feature_table()) {
    CHECK(names.insert(f.name).second);
    CHECK(std::string(f.name).find('_') == std::string::npos);
  }
  // Features softvt does not implement are not in the table.
  for (const char* absent : {"vme", "pvi", "pku", "avx", "sse3", "lbrv", "avic", "svm-lock"})
    CHECK(!find_cpu_feature(absent));
}

TEST_CASE("--cpu: switching a feature changes both its CPUID bit and its Feature") {
  CpuModel m = parse_cpu_option("intel,-rdrand,sse2=off,+la57,lzcnt=off");
  CHECK(!m.has(Feature::Rdrand));
  CHECK(((m.cpuid(1, 0).ecx >> 30) & 1) == 0);
  CHECK(!m.has(Feature::Sse2));
  CHECK(((m.cpuid(1, 0).edx >> 26) & 1) == 0);
  CHECK(!m.has(Feature::Lzcnt));  // "lzcnt" is QEMU's alias of "abm"
  CHECK(((m.cpuid(0x80000001, 0).ecx >> 5) & 1) == 0);
  CHECK(((m.cpuid(7, 0).ecx >> 16) & 1) == 1);
  CHECK(((m.cpuid(0x80000008, 0).eax >> 8) & 0xff) == 57);  // LA57: 57-bit linear addresses
  CHECK((cr4_writable_bits(m) & cr4::LA57) != 0);
  CHECK(m.has(Feature::Sse));  // untouched
  // Back on again.
  m = parse_cpu_option("amd,-smap,smap=on,-fpu");
  CHECK(m.has(Feature::Smap));
  CHECK(!m.has(Feature::Fpu));
  CHECK((m.cpuid(0x80000001, 0).edx & 1) == 0);  // AMD's mirror follows
  CHECK(m.amd());
  // A CR4 bit follows its feature.
  CHECK((cr4_writable_bits(parse_cpu_option("intel")) & cr4::SMEP) != 0);
  CHECK((cr4_writable_bits(parse_cpu_option("intel,-smep")) & cr4::SMEP) == 0);
  CHECK((cr4_writable_bits(parse_cpu_option("intel,-fsgsbase")) & cr4::FSGSBASE) == 0);
  CHECK((cr4_writable_bits(parse_cpu_option("intel")) & (cr4::VME | cr4::PVI | cr4::PKE)) == 0);
  // VMXE with VMX: the intel model's, not without it, never on AMD.
  CHECK((cr4_writable_bits(parse_cpu_option("intel")) & cr4::VMXE) != 0);
  CHECK((cr4_writable_bits(parse_cpu_option("intel,-vmx")) & cr4::VMXE) == 0);
  CHECK((cr4_writable_bits(parse_cpu_option("amd")) & cr4::VMXE) == 0);
  // "softvt" is accepted as the default's name.
  CHECK(parse_cpu_option("softvt").features == default_cpu_model().features);
}

TEST_CASE("--cpu: unknown models and features are errors listing the valid ones") {
  auto message = [](const std::string& opt) {
    try {
      parse_cpu_option(opt);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  const std::string bad_model = message("nosuch");
  CHECK(bad_model.find("nosuch") != std::string::npos);
  for (const char* n : {"intel", "amd", "softvt"}) CHECK(bad_model.find(n) != std::string::npos);
  const std::string bad_feature = message("intel,+vme");
  CHECK(bad_feature.find("vme") != std::string::npos);
  CHECK(bad_feature.find("fsgsbase") != std::string::npos);
  CHECK(message("intel,sse=maybe").find("sse=on") != std::string::npos);
  CHECK(message("intel,,sse") != "<no error>");
  CHECK(message("") != "<no error>");
}

TEST_CASE("softvt run --cpu: a bad model exits 2 listing the models; a good one runs") {
  const std::string img = hlt_image();
  CliResult r = softvt_cli("run --flat " + img + " --cpu nosuch");
  CHECK(r.status == 2);
  CHECK(r.err.find("nosuch") != std::string::npos);
  CHECK(r.err.find("intel") != std::string::npos);
  CHECK(r.err.find("amd") != std::string::npos);
  r = softvt_cli("run --flat " + img + " --cpu intel,+nosuchfeature");
  CHECK(r.status == 2);
  CHECK(r.err.find("nosuchfeature") != std::string::npos);
  r = softvt_cli("run --flat " + img + " --cpu");
  CHECK(r.status == 2);
  for (const char* ok : {"amd", "intel,-sse2", "softvt"}) {
    INFO(ok);
    CHECK(softvt_cli("run --flat " + img + " --cpu " + ok).status == 0);
  }
  std::remove(img.c_str());
}

TEST_CASE("--cpu reaches the guest: CPUID in the flat runner reports the chosen model") {
  // xor eax, eax; xor ecx, ecx; cpuid; hlt  (long64)
  const std::vector<uint8_t> img = {0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2, 0xf4};
  for (const char* n : {"intel", "amd"}) {
    Memory mem(64 << 20);
    CpuState s = setup_flat(mem, img, FLAT_DEFAULT_LOAD, FlatMode::Long64);
    const CpuModel m = parse_cpu_option(n);
    RunOutcome o = run_interp(mem, s, m, RunOptions{});
    REQUIRE(o.stop == StopReason::Hlt);
    CpuidLeaf l{0, 0, 0, uint32_t(o.state.gpr[RBX]), uint32_t(o.state.gpr[RCX]), uint32_t(o.state.gpr[RDX])};
    CHECK(vendor_of(l) == (std::string(n) == "intel" ? "GenuineIntel" : "AuthenticAMD"));
  }
}
