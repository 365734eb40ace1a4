// The cost of VM entry's consistency checks (vmx/entry_checks.cpp): runs
// the whole ordered table on a VMCS that passes every check (the tests'
// valid 64-bit guest and host, tests/unit/vmx_valid_vmcs.h) many times and
// prints the host CPU time of one full pass. Run by bench/vmx_roundtrip.sh; it
// reports, it asserts nothing.
#include <cstdio>
#include <ctime>

#include "vmx_valid_vmcs.h"

int main() {
  using namespace softvt;
  test::Vmcs vmcs;
  if (const vmx::EntryCheck* f = vmcs.first_failure()) {
    std::fprintf(stderr, "bench_vmx_entry_checks: the valid VMCS fails check '%s'\n", f->name);
    return 1;
  }
  const vmx::EntryContext ctx(vmcs.v, vmcs.model, vmcs.mem, vmcs.current_efer);
  constexpr int kPasses = 200000;
  // CPU time of this process: a loaded machine does not skew it.
  const std::clock_t t0 = std::clock();
  unsigned failures = 0;
  for (int i = 0; i < kPasses; ++i) failures += vmx::first_failing_check(ctx) != nullptr;
  const std::clock_t t1 = std::clock();
  const double ns = double(t1 - t0) / CLOCKS_PER_SEC * 1e9 / kPasses;
  std::printf("entry checks: all %zu checks of the table in %.0f ns per VM entry (%d passes%s)\n",
              vmx::entry_checks().size(), ns, kPasses, failures ? ", some failed!" : "");
  return failures ? 1 : 0;
}
