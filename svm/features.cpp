#include "svm/features.h"

#include <cstring>

#include "emu/cpu.h"
#include "emu/cpu_features.h"
#include "emu/cpu_model.h"
#include "svm/svm_state.h"

namespace softvt::svm {

bool model_has_svm(const CpuModel& m) { return model_has(m, "svm"); }

void add_svm_leaves(CpuModel& m) {
  if (CpuidLeaf* e0 = m.find_leaf(0x80000000, 0)) e0->eax = SVM_LEAF;
  m.leaves.push_back({0x80000009, 0, 0, 0, 0, 0});
  m.leaves.push_back({SVM_LEAF, 0, SVM_REVISION, NUMBER_OF_ASIDS, 0, 0});
}

void drop_svm_leaf_if_absent(CpuModel& m) {
  if (model_has_svm(m)) return;
  if (CpuidLeaf* l = m.find_leaf(SVM_LEAF, 0)) *l = CpuidLeaf{SVM_LEAF, 0, 0, 0, 0, 0};
}

bool is_svm_feature(const char* name) {
  static constexpr const char* kNames[] = {"svm",         "npt",           "nrip-save",    "tsc-scale",
                                           "vmcb-clean",  "flushbyasid",   "decodeassists", "pause-filter",
                                           "pfthreshold", "v-vmsave-vmload", "vgif"};
  for (const char* n : kNames)
    if (std::strcmp(n, name) == 0) return true;
  return false;
}

namespace {

// VM_HSAVE_PA: a 4-Kbyte aligned physical address below MAXPHYADDR;
// anything else is #GP (APM 15.30.4 "VM_HSAVE_PA MSR").
bool valid_hsave_pa(const Cpu& cpu, uint64_t v) { return (v & 0xfff) == 0 && (v >> cpu.model.phys_addr_bits) == 0; }

// VM_CR (APM 15.30.1): bits 63:5 reserved (#GP). LOCK = 1 makes LOCK and
// SVMDIS read-only (writes to them are ignored; only SVM_KEY, which softvt
// does not offer, clears LOCK). Setting SVMDIS while EFER.SVME = 1 is #GP
// whatever LOCK says.
bool write_vm_cr(Cpu& cpu, uint64_t v) {
  SvmState& st = cpu.svm;
  if (v & ~vm_cr::DEFINED) return false;
  if ((v & vm_cr::SVMDIS) && (cpu.s.efer & efer::SVME)) return false;
  if (st.vm_cr & vm_cr::LOCK) v = (v & ~(vm_cr::LOCK | vm_cr::SVMDIS)) | (st.vm_cr & (vm_cr::LOCK | vm_cr::SVMDIS));
  st.vm_cr = v;
  return true;
}

// TSC_RATIO (APM 15.30.5): bits 63:40 reserved (#GP); the ratio applies
// to guests only (guest mode is the next increment).
constexpr uint64_t TSC_RATIO_RESERVED = 0xffffff0000000000ull;

}  // namespace

bool read_svm_msr(const Cpu& cpu, uint32_t index, uint64_t& v, bool& ok) {
  if (index != msr::VM_CR && index != msr::VM_HSAVE_PA && index != msr::TSC_RATIO) return false;
  ok = model_has_svm(cpu.model) && (index != msr::TSC_RATIO || model_has(cpu.model, "tsc-scale"));
  if (!ok) return true;
  v = index == msr::VM_CR ? cpu.svm.vm_cr : index == msr::VM_HSAVE_PA ? cpu.svm.hsave_pa : cpu.svm.tsc_ratio;
  return true;
}

bool write_svm_msr(Cpu& cpu, uint32_t index, uint64_t v, bool& ok) {
  if (index != msr::VM_CR && index != msr::VM_HSAVE_PA && index != msr::TSC_RATIO) return false;
  ok = model_has_svm(cpu.model) && (index != msr::TSC_RATIO || model_has(cpu.model, "tsc-scale"));
  if (!ok) return true;
  switch (index) {
    case msr::VM_CR: ok = write_vm_cr(cpu, v); break;
    case msr::VM_HSAVE_PA:
      ok = valid_hsave_pa(cpu, v);
      if (ok) cpu.svm.hsave_pa = v;
      break;
    default:
      ok = !(v & TSC_RATIO_RESERVED);
      if (ok) cpu.svm.tsc_ratio = v;
      break;
  }
  return true;
}

bool efer_svme_write_allowed(const Cpu& cpu, uint64_t new_efer) {
  return !(new_efer & efer::SVME) || !(cpu.svm.vm_cr & vm_cr::SVMDIS);
}

}  // namespace softvt::svm
