// SVM as data of a CPU model and its MSRs: CPUID 80000001H:ECX.SVM and leaf
// 8000000AH (AMD APM Vol. 3 Appendix E "CPUID Fn8000_000A"), the named
// switches `--cpu amd,-npt,...` (QEMU's names, in the feature table of
// emu/cpu_features.cpp), and VM_CR, VM_HSAVE_PA and TSC_RATIO (APM Vol. 2
// 15.30), with EFER.SVME's write rule (APM 15.4 "Enabling SVM").
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
struct CpuModel;
}  // namespace softvt

namespace softvt::svm {

namespace msr {
constexpr uint32_t TSC_RATIO = 0xc0000104, VM_CR = 0xc0010114, VM_HSAVE_PA = 0xc0010117;
}

// Leaf 8000000AH as softvt reports it: EAX[7:0] the SVM revision, EBX the
// number of ASIDs; the EDX feature bits are set through the feature table.
constexpr uint32_t SVM_REVISION = 1;
constexpr uint32_t NUMBER_OF_ASIDS = 0x8000;
constexpr uint32_t SVM_LEAF = 0x8000000a;

bool model_has_svm(const CpuModel& m);
// Adds leaves 80000009H (reserved, zero) and 8000000AH and raises the
// extended maximum to 8000000AH.
void add_svm_leaves(CpuModel& m);
// Without SVM, leaf 8000000AH reads as zeros (as QEMU does): called after
// `--cpu` switches.
void drop_svm_leaf_if_absent(CpuModel& m);
// Is `name` one of the SVM switches ("svm", "npt", "nrip-save", ...)?
bool is_svm_feature(const char* name);

// RDMSR/WRMSR of the SVM MSRs: false when `index` is not one of them;
// otherwise `ok` = false means #GP(0).
bool read_svm_msr(const Cpu& cpu, uint32_t index, uint64_t& value, bool& ok);
bool write_svm_msr(Cpu& cpu, uint32_t index, uint64_t value, bool& ok);

// The SVM rule of a WRMSR to EFER: SVME may be set only while VM_CR.SVMDIS
// is 0 (APM 15.4, 15.30.1). The caller has already checked that SVME is a
// defined bit (the model reports SVM).
bool efer_svme_write_allowed(const Cpu& cpu, uint64_t new_efer);

}  // namespace softvt::svm
