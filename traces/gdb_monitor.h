// gdb `monitor` commands (qRcmd): what gdb cannot show by itself - the
// current VMCS and the last VMCB decoded field by field (from the field
// tables vmx/vmcs_fields.h and svm/vmcb.h), the last VM exit by name, the
// check a failed VM entry or VMRUN stopped at, a page-table walk, and the
// level (L1/L2) the CPU runs at.
#pragma once
#include <string>

namespace softvt {
class Cpu;
}

namespace softvt::gdb {

// The command's output text (one or more lines), or an error message.
std::string monitor_command(const Cpu& cpu, const std::string& line);

// "L1 (VMX root operation)", "L2 (VMX non-root operation)", "L1", ...
std::string level_name(const Cpu& cpu);

}  // namespace softvt::gdb
