// VM-instruction error numbers (SDM Vol. 3C 31.4 "VM Instruction Error
// Numbers", Table 31-1): the value VMfailValid stores in the
// VM-instruction error field (encoding 4400H). One table, with names for
// diagnostics.
#pragma once
#include <cstdint>
#include <span>

namespace softvt::vmx {

namespace vm_error {
constexpr uint32_t VMCALL_IN_VMX_ROOT = 1;
constexpr uint32_t VMCLEAR_INVALID_ADDRESS = 2;
constexpr uint32_t VMCLEAR_VMXON_POINTER = 3;
constexpr uint32_t VMLAUNCH_NONCLEAR_VMCS = 4;
constexpr uint32_t VMRESUME_NONLAUNCHED_VMCS = 5;
constexpr uint32_t VMRESUME_AFTER_VMXOFF = 6;
constexpr uint32_t ENTRY_INVALID_CONTROL_FIELD = 7;
constexpr uint32_t ENTRY_INVALID_HOST_STATE_FIELD = 8;
constexpr uint32_t VMPTRLD_INVALID_ADDRESS = 9;
constexpr uint32_t VMPTRLD_VMXON_POINTER = 10;
constexpr uint32_t VMPTRLD_INCORRECT_REVISION = 11;
constexpr uint32_t UNSUPPORTED_VMCS_COMPONENT = 12;
constexpr uint32_t VMWRITE_READ_ONLY_COMPONENT = 13;
constexpr uint32_t VMXON_IN_VMX_ROOT = 15;
constexpr uint32_t ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26;
constexpr uint32_t INVALID_INVEPT_INVVPID_OPERAND = 28;
}  // namespace vm_error

struct VmErrorInfo {
  uint32_t number;
  const char* text;  // the SDM's description
};

std::span<const VmErrorInfo> vm_error_table();
// The SDM's description of an error number ("unknown" if none).
const char* vm_error_text(uint32_t number);

}  // namespace softvt::vmx
