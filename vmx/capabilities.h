// The VMX capability MSRs (SDM Vol. 3D Appendix A) as data of a CPU model
// (DESIGN.md "Virtualization"): which controls may be 0 or 1, the
// miscellaneous data, the EPT/VPID and VM-function capabilities. A model
// holds one VmxCapabilities (emu/cpu_model.h); `--cpu intel,-vmx-ept,...`
// narrows it through the named switches below (QEMU's FEAT_VMX_* names);
// RDMSR of IA32_VMX_* and every VMX check read the values through
// read_vmx_capability_msr / the accessors here.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace softvt {
struct CpuModel;
}

namespace softvt::vmx {

// Capability MSR indices (SDM Vol. 4 Table 2-2, Vol. 3D Appendix A).
namespace msr {
constexpr uint32_t FEATURE_CONTROL = 0x3a;
constexpr uint32_t BASIC = 0x480, PINBASED_CTLS = 0x481, PROCBASED_CTLS = 0x482, EXIT_CTLS = 0x483;
constexpr uint32_t ENTRY_CTLS = 0x484, MISC = 0x485, CR0_FIXED0 = 0x486, CR0_FIXED1 = 0x487;
constexpr uint32_t CR4_FIXED0 = 0x488, CR4_FIXED1 = 0x489, VMCS_ENUM = 0x48a, PROCBASED_CTLS2 = 0x48b;
constexpr uint32_t EPT_VPID_CAP = 0x48c, TRUE_PINBASED_CTLS = 0x48d, TRUE_PROCBASED_CTLS = 0x48e;
constexpr uint32_t TRUE_EXIT_CTLS = 0x48f, TRUE_ENTRY_CTLS = 0x490, VMFUNC = 0x491;
constexpr uint32_t FIRST = BASIC, LAST = VMFUNC;
}  // namespace msr

// IA32_FEATURE_CONTROL bits (SDM Vol. 3C 24.7 "Enabling and Entering VMX
// Operation").
namespace feature_control {
constexpr uint64_t LOCK = 1, VMX_IN_SMX = 2, VMX_OUTSIDE_SMX = 4;
}

// The "default1" controls: reported as must-be-1 (allowed-0 bit set) in the
// non-TRUE MSRs (SDM Vol. 3D A.2, A.3.1, A.4, A.5).
namespace default1 {
constexpr uint32_t PIN = 0x00000016;
constexpr uint32_t PROC = 0x0401e172;
constexpr uint32_t EXIT = 0x00036dff;
constexpr uint32_t ENTRY = 0x000011ff;
}  // namespace default1

// One control word: bit X of `must_be_1` set = the control must be 1
// (as the TRUE_ MSR reports it: SDM A.3.1 "allowed 0-settings"); bit X of
// `allowed1` clear = the control must be 0.
struct ControlCaps {
  uint32_t must_be_1 = 0;
  uint32_t allowed1 = 0;
};

struct VmxCapabilities {
  uint32_t revision = 0;      // IA32_VMX_BASIC bits 30:0
  bool ins_outs_info = false; // BASIC bit 54: INS/OUTS instruction information
  bool true_controls = false; // BASIC bit 55: the TRUE_ MSRs exist
  ControlCaps pin, proc, proc2, exit, entry;
  uint64_t misc = 0;          // IA32_VMX_MISC
  uint64_t ept_vpid = 0;      // IA32_VMX_EPT_VPID_CAP
  uint64_t vmfunc = 0;        // IA32_VMX_VMFUNC

  // Secondary controls exist only when "activate secondary controls" may
  // be 1 (SDM A.3.3); VM functions only with "enable VM functions" (A.11).
  uint32_t secondary_allowed1() const { return (proc.allowed1 >> 31) & 1 ? proc2.allowed1 : 0; }
  uint64_t vmfunc_controls() const { return (secondary_allowed1() >> 13) & 1 ? vmfunc : 0; }
};

// Named bits of the controls (SDM Vol. 3C 25.6.1-25.6.2, 25.7.1, 25.8.1)
// that the instructions of this increment read.
namespace proc2_bit {
constexpr unsigned EPT = 1, VPID = 5, UNRESTRICTED_GUEST = 7, VMFUNC = 13, SHADOW_VMCS = 14;
}
namespace misc_bit {
constexpr unsigned VMWRITE_EXIT_INFO = 29;  // VMWRITE may write VM-exit information fields
}

// The capabilities softvt implements, as the "intel" model reports them.
VmxCapabilities softvt_vmx_capabilities();

// The capabilities of a model; all zero (and no MSR) without CPUID.1:ECX.VMX.
bool model_has_vmx(const CpuModel& m);
const VmxCapabilities& vmx_capabilities(const CpuModel& m);

// RDMSR of 0x480-0x491: false when the MSR does not exist on the model
// (no VMX, an AMD model, the TRUE_ MSRs without BASIC bit 55, PROCBASED2,
// EPT_VPID_CAP and VMFUNC without the controls that enumerate them: SDM
// Vol. 3D A.1, A.3.3, A.10, A.11), which is #GP(0).
bool read_vmx_capability_msr(const CpuModel& m, uint32_t index, uint64_t& value);

// CR0/CR4 bits fixed in VMX operation (SDM Vol. 3D A.7, A.8): a bit set
// in FIXED0 must be 1, a bit clear in FIXED1 must be 0.
uint64_t cr0_fixed0(const CpuModel& m);
uint64_t cr0_fixed1(const CpuModel& m);
uint64_t cr4_fixed0(const CpuModel& m);
uint64_t cr4_fixed1(const CpuModel& m);

// ---- narrowing (`--cpu intel,-vmx-ept`) -----------------------------------
enum class CapField : uint8_t { Pin, Proc, Proc2, Exit, Entry, TruePin0, TrueProc0, TrueExit0, TrueEntry0,
                                Misc, EptVpid, VmFunc, Basic };
struct VmxFeatureInfo {
  const char* name;  // QEMU's spelling (target/i386/cpu.c feature_word_info, FEAT_VMX_*)
  CapField field;    // True*0: the name means "this default1 control may be 0"
  uint8_t bit;
  const char* what;
};
std::span<const VmxFeatureInfo> vmx_feature_table();
const VmxFeatureInfo* find_vmx_feature(const std::string& name);
// Switches the capability on or off, then drops what depends on it
// (secondary controls on "vmx-secondary-ctls", unrestricted guest and EPT
// capabilities on "vmx-ept", ...), so the model stays consistent.
void set_vmx_feature(VmxCapabilities& caps, const VmxFeatureInfo& f, bool on);
bool vmx_feature_on(const VmxCapabilities& caps, const VmxFeatureInfo& f);
// Drops the VMX controls of instructions the model's CPUID no longer
// reports (RDTSCP, INVPCID, RDRAND, RDSEED exiting/enabling; IA-32e mode
// guest and host address-space size without long mode), as QEMU does:
// `--cpu intel,-rdtscp` takes "enable RDTSCP" with it.
void drop_controls_of_absent_features(CpuModel& m);

}  // namespace softvt::vmx
