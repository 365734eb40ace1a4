// gdb monitor commands (traces/gdb_monitor.h).
#include "traces/gdb_monitor.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "emu/cpu.h"
#include "svm/exit_text.h"
#include "svm/vmcb.h"
#include "traces/gdb_packets.h"
#include "traces/gdb_walk.h"
#include "vmx/capabilities.h"
#include "vmx/entry_checks.h"
#include "vmx/exit_reasons.h"
#include "vmx/vmcs_fields.h"

namespace softvt::gdb {
namespace {

const char* const kHelp =
    "softvt monitor commands:\n"
    "  monitor vmcs          the current VMCS, field by field (VMX)\n"
    "  monitor vmcb          the VMCB of the last VMRUN, field by field (SVM)\n"
    "  monitor last-exit     the last VM exit: reason by name, qualification\n"
    "  monitor failed-check  the check the last failed VM entry / VMRUN stopped at\n"
    "  monitor walk ADDR     the page-table walk of linear address ADDR (hex), through EPT/NPT in an L2\n"
    "  monitor walk-gpa GPA  guest-physical GPA (hex) through the EPT/NPT of the L2 (running, or set up by L1)\n"
    "  monitor level         L1 or L2: VMX root/non-root operation, SVM\n"
    "  monitor trace-position  where the machine is in the recording it replays (softvt replay --gdb)\n"
    "  monitor help          this list\n";

std::string hex64(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

uint64_t vmcs_value(const Cpu& cpu, const vmx::VmcsField& f) {
  uint64_t v = 0;
  std::memcpy(&v, cpu.vmx.cache.data() + f.offset, f.size());
  return v;
}

uint64_t vmcs_named(const Cpu& cpu, const char* name) {
  const vmx::VmcsField* f = vmx::find_vmcs_field(name);
  return f ? vmcs_value(cpu, *f) : 0;
}

const char* field_type_name(vmx::FieldType t) {
  switch (t) {
    case vmx::FieldType::Control: return "control";
    case vmx::FieldType::ExitInfo: return "exit information";
    case vmx::FieldType::Guest: return "guest state";
    default: return "host state";
  }
}

std::string show_vmcs(const Cpu& cpu) {
  if (!cpu.vmx.in_vmx_operation) return "not in VMX operation (no VMXON)\n";
  if (!cpu.vmx.has_current_vmcs()) return "no current VMCS (none loaded by VMPTRLD)\n";
  const vmx::VmxCapabilities& caps = vmx::vmx_capabilities(cpu.model);
  std::string out = "current VMCS at " + hex64(cpu.vmx.current_vmcs) +
                    (cpu.vmx.current_is_shadow ? " (shadow)" : "") + "\n";
  for (int type = 0; type < 4; ++type) {
    out += std::string("-- ") + field_type_name(vmx::FieldType(type)) + " --\n";
    for (const vmx::VmcsField& f : vmx::vmcs_fields()) {
      if (int(f.type()) != type || !vmx::field_exists(caps, f)) continue;
      char line[128];
      std::snprintf(line, sizeof line, "  %-36s %04x = 0x%" PRIx64 "\n", f.name, unsigned(f.encoding),
                    vmcs_value(cpu, f));
      out += line;
    }
  }
  return out;
}

bool read_vmcb(const Cpu& cpu, uint32_t off, unsigned size, uint64_t& v) {
  const uint64_t pa = cpu.svm.vmcb_pa + off;
  if (pa + size > cpu.mem.ram_size()) return false;
  v = 0;
  std::memcpy(&v, cpu.mem.ram() + pa, size < 8 ? size : 8);
  return true;
}

std::string show_vmcb(const Cpu& cpu) {
  if (!cpu.svm.vmcb_pa) return "no VMRUN yet (no VMCB)\n";
  std::string out = "VMCB at " + hex64(cpu.svm.vmcb_pa) + " (the last VMRUN's rAX)\n";
  for (int area = 0; area < 2; ++area) {
    out += area == 0 ? "-- control area --\n" : "-- state save area --\n";
    for (const svm::VmcbField& f : svm::vmcb_fields()) {
      if (int(f.area) != area) continue;
      char line[160];
      if (f.size > 8) {
        std::snprintf(line, sizeof line, "  %-28s +%03x (%u bytes)\n", f.name, unsigned(f.offset), unsigned(f.size));
      } else {
        uint64_t v = 0;
        if (!read_vmcb(cpu, f.offset, f.size, v)) return out + "  (the VMCB lies outside RAM)\n";
        if (f.bits) v = (v >> f.bit) & ((f.bits >= 64 ? 0 : (uint64_t(1) << f.bits)) - 1);
        std::snprintf(line, sizeof line, "  %-28s +%03x = 0x%" PRIx64 "\n", f.name, unsigned(f.offset), v);
      }
      out += line;
    }
  }
  return out;
}

std::string show_last_exit(const Cpu& cpu) {
  std::string out;
  if (cpu.vmx.has_current_vmcs()) {
    const uint64_t reason = vmcs_named(cpu, "VM_EXIT_REASON");
    const uint64_t qual = vmcs_named(cpu, "EXIT_QUALIFICATION");
    const uint32_t basic = uint32_t(reason & 0xffff);
    out += "VMX: exit reason " + std::to_string(basic) + " (" + vmx::exit_reason_name(basic) + ")";
    if (reason & vmx::exit_reason::ENTRY_FAILURE) out += ", VM-entry failure";
    out += ", qualification " + hex64(qual) + "\n";
  }
  if (cpu.svm.vmcb_pa) {
    uint64_t code = 0, info1 = 0, info2 = 0;
    uint64_t intinfo = 0;
    if (read_vmcb(cpu, 0x70, 8, code) && read_vmcb(cpu, 0x78, 8, info1) && read_vmcb(cpu, 0x80, 8, info2) &&
        read_vmcb(cpu, 0x88, 8, intinfo)) {
      // The exit information in words too (svm/exit_text.h).
      // The VMCB is guest memory: its EXITCODE may be any value (L1 can write it).
      const char* name = svm::exit_code_name(code);
      const std::string details = svm::exit_details(code, info1, info2, intinfo);
      out += "SVM: #VMEXIT " + hex64(code) + " (" + (name ? name : "unknown exit code") + "), EXITINFO1 " +
             hex64(info1) + ", EXITINFO2 " + hex64(info2) + (details.empty() ? "" : ": " + details) + "\n";
    }
  }
  return out.empty() ? "no VM exit yet (no current VMCS, no VMRUN)\n" : out;
}

std::string show_failed_check(const Cpu& cpu) {
  std::string out;
  if (const vmx::EntryCheck* c = cpu.vmx.failed_check)
    out += std::string("VMX: the last VM entry failed check \"") + c->name + "\" (SDM " + c->section + ")\n";
  if (cpu.svm.failed_check) out += std::string("SVM: the last VMRUN failed check \"") + cpu.svm.failed_check + "\"\n";
  return out.empty() ? "no failed VM entry or VMRUN check\n" : out;
}

std::optional<uint64_t> hex_argument(const std::string& arg) {
  std::string a = arg;
  if (a.rfind("0x", 0) == 0 || a.rfind("0X", 0) == 0) a = a.substr(2);
  return parse_hex_number(a);
}

std::string walk(const Cpu& cpu, const std::string& arg) {
  const auto lin = hex_argument(arg);
  if (!lin) return "monitor walk: expected a hex linear address, got '" + arg + "'\n";
  return format_walk(*lin, debug_walk(cpu, *lin));
}

std::string walk_gpa(const Cpu& cpu, const std::string& arg) {
  const auto gpa = hex_argument(arg);
  if (!gpa) return "monitor walk-gpa: expected a hex guest-physical address, got '" + arg + "'\n";
  const SecondLevel second = configured_second_level(cpu);
  return format_gpa_walk(*gpa, second, debug_walk_gpa(cpu, second, *gpa));
}

}  // namespace

std::string level_name(const Cpu& cpu) {
  if (cpu.vmx.non_root) return "L2 (VMX non-root operation)";
  if (cpu.vmx.in_vmx_operation) return "L1 (VMX root operation)";
  if (cpu.svm.guest_mode) return "L2 (SVM guest mode)";
  if (cpu.s.efer & efer::SVME) return "L1 (EFER.SVME = 1, SVM host)";
  return "L1";
}

std::string monitor_command(const Cpu& cpu, const std::string& line) {
  std::istringstream in(line);
  std::string cmd, arg, extra;
  in >> cmd >> arg >> extra;
  if (cmd.empty() || cmd == "help") return kHelp;
  if (!extra.empty()) return "monitor " + cmd + ": too many arguments\n";
  if (cmd == "walk") return walk(cpu, arg);
  if (cmd == "walk-gpa") return walk_gpa(cpu, arg);
  if (!arg.empty()) return "monitor " + cmd + ": takes no argument\n";
  if (cmd == "vmcs") return show_vmcs(cpu);
  if (cmd == "vmcb") return show_vmcb(cpu);
  if (cmd == "last-exit") return show_last_exit(cpu);
  if (cmd == "failed-check") return show_failed_check(cpu);
  if (cmd == "level") return level_name(cpu) + "\n";
  return "unknown monitor command '" + cmd + "' (monitor help lists them)\n";
}

}  // namespace softvt::gdb
