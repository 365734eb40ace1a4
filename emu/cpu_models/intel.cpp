// The "intel" model (the default; "softvt" is its old name): a
// GenuineIntel family 6 model 55H stepping 4 signature (a Skylake-SP-class
// server part), one core and one thread per package, reporting only the
// features softvt implements, VMX among them.
#include "emu/cpu_models/models.h"
#include "emu/pmu.h"

namespace softvt {

CpuModel make_intel_model() {
  using namespace model_build;
  CpuModel m;
  m.name = "intel";
  m.vendor = Vendor::Intel;
  m.phys_addr_bits = 40;
  m.lin_addr_bits = 48;
  // Microcode revision 2007006H, a released update for CPUID signature
  // 50654H. Linux keeps the TSC-deadline timer on this model only from
  // revision 2000014H on (its erratum table, arch/x86/kernel/apic/apic.c
  // deadline_match: SKYLAKE_X stepping 4); with 0 it disables the timer.
  m.microcode_revision = 0x02007006;
  m.leaves.push_back(vendor_leaf(0, 0xd, "GenuineIntel"));
  // Leaf 1: signature; EBX: CLFLUSH line 8 * 8 = 64 bytes (15:8), one
  // logical processor (23:16), initial APIC ID 0 (31:24).
  m.leaves.push_back({1, 0, 0x00050654, 0x00010800, 0, 0});
  // Leaf 4: deterministic cache parameters (type | level << 5 | self-
  // initialising; EBX = ways-1 << 22 | line-1; ECX = sets-1): 32 KiB 8-way
  // L1D and L1I, 1 MiB 16-way L2, 8 MiB 16-way L3, 64-byte lines; one core
  // per package (EAX[31:26] = 0), subleaf 4 ends the list.
  m.leaves.push_back({4, 0, 0x121, 0x01c0003f, 63, 0});
  m.leaves.push_back({4, 1, 0x122, 0x01c0003f, 63, 0});
  m.leaves.push_back({4, 2, 0x143, 0x03c0003f, 1023, 0});
  m.leaves.push_back({4, 3, 0x163, 0x03c0003f, 8191, 0});
  m.leaves.push_back({4, 4, 0, 0, 0, 0});
  // Leaf 5: MONITOR line size 64 bytes; ECX: MWAIT extensions enumerated
  // (0) and interrupts as break events (1); no C-state sub-states.
  m.leaves.push_back({5, 0, 64, 64, 0x3, 0});
  m.leaves.push_back({6, 0, 0, 0, 0, 0});
  m.leaves.push_back({7, 0, 0, 0, 0, 0});
  // Leaf 0AH: architectural performance monitoring version 2 with one
  // fixed-function counter (emu/pmu.h).
  m.leaves.push_back(pmu::cpuid_leaf());
  // Leaf 0BH: x2APIC topology, one thread (level 0, SMT) in one core
  // (level 1): shift 0, one logical processor, x2APIC ID 0 in EDX.
  m.leaves.push_back({0xb, 0, 0, 1, 0x100, 0});
  m.leaves.push_back({0xb, 1, 0, 1, 0x201, 0});
  add_xsave_leaves(m);
  m.leaves.push_back({0x80000000, 0, 0x80000008, 0, 0, 0});
  m.leaves.push_back({0x80000001, 0, 0, 0, 0, 0});
  add_brand(m, "softvt Intel-like x86-64 CPU (intel model)");
  // 80000006H ECX: L2 of 1024 KiB (31:16), 16-way (encoding 8, 15:12),
  // 64-byte lines.
  m.leaves.push_back({0x80000006, 0, 0, 0, 0x04008040, 0});
  m.leaves.push_back({0x80000007, 0, 0, 0, 0, 0});
  m.leaves.push_back({0x80000008, 0, 0, 0, 0, 0});
  sort_leaves(m);
  add_features(m, {"fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
                   "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2",
                   "monitor", "vmx", "cx16", "pcid", "x2apic", "movbe", "popcnt", "tsc-deadline", "xsave",
                   "rdrand", "arat", "fsgsbase", "tsc-adjust", "bmi1", "smep", "bmi2", "invpcid",
                   "rdseed", "adx", "smap", "clflushopt", "clwb", "umip", "rdpid", "xsaveopt",
                   "lahf-lm", "abm", "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "invtsc"});
  // VMX as softvt implements it (issue 4; vmx/capabilities.cpp).
  m.vmx = vmx::softvt_vmx_capabilities();
  return m;
}

}  // namespace softvt
