// CpuState <-> vCPU transfers (see kvm_transfer.h).
#include "emu/accel/kvm_transfer.h"

#include <sys/ioctl.h>

#include <cstdio>

#include "emu/accel/kvm_state.h"

namespace softvt::kvm {
namespace {

constexpr uint32_t MAX_CPUID_ENTRIES = 256;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

List<kvm_msr_entry> msr_list(const CpuState& s) {
  auto msrs = transferred_msrs();
  List<kvm_msr_entry> list(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) list.put(i, kvm_msr_entry{msrs[i].index, 0, s.*msrs[i].field});
  return list;
}

}  // namespace

std::string guest_cpuid_for(const Vm& vm, const CpuModel& model, int apic_id,
                            std::vector<kvm_cpuid_entry2>& out) {
  List<kvm_cpuid_entry2> host(MAX_CPUID_ENTRIES);
  if (ioctl(vm.system_fd(), IOCTL_GET_SUPPORTED_CPUID, host.data()) < 0)
    return sys_error("KVM_GET_SUPPORTED_CPUID");
  std::vector<kvm_cpuid_entry2> supported;
  for (size_t i = 0; i < host.count(); ++i) supported.push_back(host.get(i));
  out = guest_cpuid(model, supported);
  if (apic_id < 0) return "";
  // SDM Vol. 2 CPUID: leaf 1 EBX[31:24] is the initial APIC ID; leaves
  // 0BH and 1FH report the x2APIC ID in EDX.
  for (kvm_cpuid_entry2& e : out) {
    if (e.function == 1) e.ebx = (e.ebx & 0x00ffffff) | (uint32_t(apic_id) << 24);
    if (e.function == 0xb || e.function == 0x1f) e.edx = uint32_t(apic_id);
  }
  return "";
}

std::string set_cpuid(const Vm& vm, unsigned vcpu, const std::vector<kvm_cpuid_entry2>& entries) {
  List<kvm_cpuid_entry2> list(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) list.put(i, entries[i]);
  return vcpu_ioctl(vm, vcpu, IOCTL_SET_CPUID2, list.data(), "KVM_SET_CPUID2");
}

std::string set_registers(const Vm& vm, unsigned vcpu, const CpuState& s) {
  kvm_sregs sregs = to_kvm_sregs(s);
  std::string e = vcpu_ioctl(vm, vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
  if (!e.empty()) return e;
  kvm_regs regs = to_kvm_regs(s);
  return vcpu_ioctl(vm, vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

// XCR0 travels with the XSAVE image: an XRSTOR or XSAVE one backend runs
// must see the XCR0 the other set (SDM Vol. 1 13.3: XSTATE_BV bits outside
// XCR0 make XRSTOR #GP).
static std::string set_xcr0(const Vm& vm, unsigned vcpu, uint64_t xcr0) {
  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = 1;
  xcrs.xcrs[0].xcr = 0;
  xcrs.xcrs[0].value = xcr0;
  return vcpu_ioctl(vm, vcpu, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS");
}

static std::string get_xcr0(const Vm& vm, unsigned vcpu, uint64_t& xcr0) {
  kvm_xcrs xcrs{};
  std::string e = vcpu_ioctl(vm, vcpu, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
  if (!e.empty()) return e;
  for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; ++i)
    if (xcrs.xcrs[i].xcr == 0) xcr0 = xcrs.xcrs[i].value;
  return "";
}

std::string set_fpu_and_msrs(const Vm& vm, unsigned vcpu, const CpuState& s,
                             const std::vector<uint8_t>& kept_xsave) {
  std::vector<uint8_t> xsave = to_kvm_xsave(s, vm.xsave_size(), kept_xsave);
  std::string e = vcpu_ioctl(vm, vcpu, IOCTL_SET_XSAVE, xsave.data(), "KVM_SET_XSAVE");
  if (!e.empty()) return e;
  if (!(e = set_xcr0(vm, vcpu, s.xcr0)).empty()) return e;
  auto msrs = transferred_msrs();
  List<kvm_msr_entry> list = msr_list(s);
  const int n = ioctl(vm.vcpu_fd(vcpu), IOCTL_SET_MSRS, list.data());
  if (n < 0) return sys_error("KVM_SET_MSRS");
  if (size_t(n) < msrs.size())
    return std::string("KVM_SET_MSRS: KVM refused ") + msrs[size_t(n)].name + " = " + hex(s.*msrs[size_t(n)].field);
  return "";
}

std::string get_state(const Vm& vm, unsigned vcpu, CpuState& s, std::vector<uint8_t>* xsave_image) {
  kvm_regs regs{};
  kvm_sregs sregs{};
  std::vector<uint8_t> xsave(vm.xsave_size());
  const bool big = xsave.size() > XSAVE_REGION;
  std::string e;
  if (!(e = vcpu_ioctl(vm, vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS")).empty()) return e;
  if (!(e = vcpu_ioctl(vm, vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS")).empty()) return e;
  if (!(e = vcpu_ioctl(vm, vcpu, big ? IOCTL_GET_XSAVE2 : IOCTL_GET_XSAVE, xsave.data(),
                       big ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE")).empty())
    return e;
  from_kvm_regs(regs, s);
  from_kvm_sregs(sregs, s);
  from_kvm_xsave(xsave, s);
  if (xsave_image) *xsave_image = std::move(xsave);
  if (!(e = get_xcr0(vm, vcpu, s.xcr0)).empty()) return e;
  auto msrs = transferred_msrs();
  List<kvm_msr_entry> list = msr_list(s);
  const int n = ioctl(vm.vcpu_fd(vcpu), IOCTL_GET_MSRS, list.data());
  if (n < 0) return sys_error("KVM_GET_MSRS");
  if (size_t(n) < msrs.size()) return std::string("KVM_GET_MSRS failed at ") + msrs[size_t(n)].name;
  for (size_t i = 0; i < msrs.size(); ++i) s.*msrs[i].field = list.get(i).data;
  return "";
}

}  // namespace softvt::kvm
