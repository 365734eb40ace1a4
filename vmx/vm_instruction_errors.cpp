#include "vmx/vm_instruction_errors.h"

namespace softvt::vmx {
namespace {

// SDM Vol. 3C Table 31-1 (errors 16-25 concern the dual-monitor treatment
// of SMM, which softvt does not offer).
constexpr VmErrorInfo kErrors[] = {
    {vm_error::VMCALL_IN_VMX_ROOT, "VMCALL executed in VMX root operation"},
    {vm_error::VMCLEAR_INVALID_ADDRESS, "VMCLEAR with invalid physical address"},
    {vm_error::VMCLEAR_VMXON_POINTER, "VMCLEAR with VMXON pointer"},
    {vm_error::VMLAUNCH_NONCLEAR_VMCS, "VMLAUNCH with non-clear VMCS"},
    {vm_error::VMRESUME_NONLAUNCHED_VMCS, "VMRESUME with non-launched VMCS"},
    {vm_error::VMRESUME_AFTER_VMXOFF, "VMRESUME after VMXOFF"},
    {vm_error::ENTRY_INVALID_CONTROL_FIELD, "VM entry with invalid control field(s)"},
    {vm_error::ENTRY_INVALID_HOST_STATE_FIELD, "VM entry with invalid host-state field(s)"},
    {vm_error::VMPTRLD_INVALID_ADDRESS, "VMPTRLD with invalid physical address"},
    {vm_error::VMPTRLD_VMXON_POINTER, "VMPTRLD with VMXON pointer"},
    {vm_error::VMPTRLD_INCORRECT_REVISION, "VMPTRLD with incorrect VMCS revision identifier"},
    {vm_error::UNSUPPORTED_VMCS_COMPONENT, "VMREAD/VMWRITE from/to unsupported VMCS component"},
    {vm_error::VMWRITE_READ_ONLY_COMPONENT, "VMWRITE to read-only VMCS component"},
    {vm_error::VMXON_IN_VMX_ROOT, "VMXON executed in VMX root operation"},
    {vm_error::ENTRY_EVENTS_BLOCKED_BY_MOV_SS, "VM entry with events blocked by MOV SS"},
    {vm_error::INVALID_INVEPT_INVVPID_OPERAND, "invalid operand to INVEPT/INVVPID"},
};

}  // namespace

std::span<const VmErrorInfo> vm_error_table() { return kErrors; }

const char* vm_error_text(uint32_t number) {
  for (const VmErrorInfo& e : kErrors)
    if (e.number == number) return e.text;
  return "unknown";
}

}  // namespace softvt::vmx
