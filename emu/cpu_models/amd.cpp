// The "amd" model: an AuthenticAMD family 19H model 01H stepping 1
// signature (a Zen 3-class server part), one core per package, reporting
// only the features softvt implements. AMD conventions (APM Vol. 3
// Appendix E): the vendor string repeated in 80000000H, the signature in
// 80000001H EAX, leaf 1 EDX bits mirrored in 80000001H EDX, L1 caches in
// 80000005H, no leaf 4, no TSC-deadline timer and no IA32_TSC_ADJUST.
#include "emu/cpu_models/models.h"
#include "svm/features.h"

namespace softvt {

CpuModel make_amd_model() {
  using namespace model_build;
  constexpr uint32_t signature = 0x00a00f11;  // family 0FH + 0AH, model 01H, stepping 1
  CpuModel m;
  m.name = "amd";
  m.vendor = Vendor::Amd;
  m.phys_addr_bits = 40;
  m.lin_addr_bits = 48;
  // Patch level A0011D1H, a released patch for signature A00F11H (MSR 8BH).
  m.microcode_revision = 0x0a0011d1;
  m.leaves.push_back(vendor_leaf(0, 0xd, "AuthenticAMD"));
  m.leaves.push_back({1, 0, signature, 0x00010800, 0, 0});
  m.leaves.push_back({5, 0, 64, 64, 0x3, 0});
  m.leaves.push_back({6, 0, 0, 0, 0, 0});
  m.leaves.push_back({7, 0, 0, 0, 0, 0});
  add_xsave_leaves(m);
  m.leaves.push_back(vendor_leaf(0x80000000, 0x80000008, "AuthenticAMD"));
  m.leaves.push_back({0x80000001, 0, signature, 0, 0, 0});
  add_brand(m, "softvt AMD-like x86-64 CPU (amd model)");
  // 80000005H: L1 TLBs and 32 KiB 8-way L1D/L1I, 1 line per tag, 64-byte
  // lines (size << 24 | ways << 16 | lines per tag << 8 | line size).
  m.leaves.push_back({0x80000005, 0, 0xff40ff40, 0xff40ff40, 0x20080140, 0x20080140});
  // 80000006H: L2 TLBs; ECX: 512 KiB L2, 8-way (encoding 6); EDX: 32 MiB
  // L3 (64 units of 512 KiB), 16-way (encoding 8).
  m.leaves.push_back({0x80000006, 0, 0x48002200, 0x68004200, 0x02006140, 0x01008140});
  m.leaves.push_back({0x80000007, 0, 0, 0, 0, 0});
  // 80000008H ECX: NC = 0, one core.
  m.leaves.push_back({0x80000008, 0, 0, 0, 0, 0});
  // SVM (issue 5; svm/features.h): 8000000AH with the revision and ASIDs.
  svm::add_svm_leaves(m);
  sort_leaves(m);
  add_features(m, {"fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
                   "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
                   "monitor", "cx16", "pcid", "x2apic", "movbe", "popcnt", "xsave", "rdrand", "arat",
                   "fsgsbase", "bmi1", "smep", "bmi2", "invpcid", "rdseed", "adx", "smap",
                   "clflushopt", "clwb", "umip", "rdpid", "xsaveopt", "lahf-lm", "abm", "syscall",
                   "nx", "pdpe1gb", "rdtscp", "lm", "invtsc",
                   // SVM and the 8000000AH features softvt implements (issue 5)
                   "svm", "npt", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid", "decodeassists",
                   "pause-filter", "pfthreshold", "v-vmsave-vmload", "vgif"});
  return m;
}

}  // namespace softvt
