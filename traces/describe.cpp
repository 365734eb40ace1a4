#include "traces/describe.h"

#include <capstone/capstone.h>

#include <cstdio>

#include "emu/cpu.h"
#include "svm/vmcb.h"
#include "vmx/exit_reasons.h"

namespace softvt::trace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// Bytes as a C string literal: printable ASCII as is, the rest escaped.
std::string quoted_bytes(const std::string& bytes) {
  std::string o = "\"";
  for (unsigned char c : bytes) {
    if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else if (c == '"' || c == '\\') o += '\\', o += char(c);
    else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else o += char(c);
  }
  return o + "\"";
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += char(c);
    else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += char(c);
  }
  return o;
}

const char* exception_mnemonic(uint8_t v) {
  // SDM Vol. 3A Table 6-1.
  static const char* const names[22] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "",   "#TS",
                                         "#NP", "#SS", "#GP", "#PF", "",    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};
  return v < 22 ? names[v] : "";
}

std::string vm_exit_name(uint8_t arch, uint64_t reason) {
  if (arch == 1) {
    const char* n = svm::exit_code_name(reason);
    return n ? n : "unknown SVM exit code " + hex(reason);
  }
  std::string n = vmx::exit_reason_name(uint32_t(reason & 0xffff));
  if ((reason & vmx::exit_reason::ENTRY_FAILURE) && n.find("VM-entry failure") == std::string::npos)
    n += " (VM-entry failure)";
  return n;
}

const char* mode_name(uint8_t m) {
  switch (Mode(m)) {
    case Mode::Real: return "real mode";
    case Mode::V86: return "virtual-8086 mode";
    case Mode::Prot16: return "16-bit protected mode";
    case Mode::Prot32: return "32-bit protected mode";
    case Mode::Compat16: return "16-bit compatibility mode";
    case Mode::Compat32: return "32-bit compatibility mode";
    case Mode::Long64: return "64-bit mode";
  }
  return "unknown mode";
}

const char* interrupt_source(uint8_t t) {
  switch (EventType(t)) {
    case EventType::ExternalInterrupt: return "external interrupt";
    case EventType::Nmi: return "NMI";
    case EventType::HardwareException: return "hardware exception";
    case EventType::SoftwareInterrupt: return "software interrupt (INT n)";
    case EventType::PrivilegedSoftware: return "INT1";
    case EventType::SoftwareException: return "software exception (INT3/INTO)";
  }
  return "unknown source";
}

const char* stop_name(uint8_t s) {
  if (s > uint8_t(StopReason::Error)) return "unknown";
  return stop_reason_name(StopReason(s));
}

RecordPrinter::RecordPrinter() {
  modes_.fill(uint8_t(Mode::Long64));
  const cs_mode modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
  for (int i = 0; i < 3; ++i) {
    csh h;
    if (cs_open(CS_ARCH_X86, modes[i], &h) == CS_ERR_OK) cs_[i] = h;
  }
}

RecordPrinter::~RecordPrinter() {
  for (size_t& h : cs_) {
    csh c = h;
    if (c) cs_close(&c);
  }
}

void RecordPrinter::observe(const Record& r) {
  if (r.kind == Kind::Mode) modes_[r.cpu & MAX_CPU] = r.sub;
}

std::string RecordPrinter::disassemble(const Record& r) const {
  const Mode m = Mode(modes_[r.cpu & MAX_CPU]);
  // The code size of the mode; 16/32-bit protected mode as CS.D says
  // (Prot16/Prot32, Compat16/Compat32).
  const int k = m == Mode::Long64 ? 2 : (m == Mode::Prot32 || m == Mode::Compat32) ? 1 : 0;
  if (!cs_[k]) return "(no disassembler)";
  cs_insn* ci = nullptr;
  const size_t n = cs_disasm(cs_[k], r.bytes, r.len, r.rip, 1, &ci);
  if (n == 0) return "(bad)";
  std::string t = std::string(ci[0].mnemonic) + (ci[0].op_str[0] ? " " : "") + ci[0].op_str;
  cs_free(ci, n);
  return t;
}

std::string RecordPrinter::event_words(const Record& r) const {
  const unsigned size = r.sub & 0x7f;
  const bool write = r.sub & 0x80;
  switch (r.kind) {
    case Kind::Insn: return disassemble(r);
    case Kind::Mode: return std::string("mode: ") + mode_name(r.sub);
    case Kind::Exception: {
      std::string s = std::string("exception ") + exception_mnemonic(r.vector) + "(" + std::to_string(r.vector) + ")";
      if (r.error != NO_ERROR_CODE) s += " error " + hex(r.error);
      if (r.vector == vec::PF) s += " cr2 " + hex(r.a);
      return s;
    }
    case Kind::Interrupt:
      return "interrupt vector " + hex(r.vector) + " (" + interrupt_source(r.sub) + ")";
    case Kind::VmEntry:
      return std::string("VM entry (") + (r.sub == 0 ? "VMLAUNCH" : r.sub == 1 ? "VMRESUME" : "VMRUN") + ")";
    case Kind::VmExit:
      return "VM exit: " + vm_exit_name(r.sub, r.a) + " (" + (r.sub ? "exit code " : "reason ") + hex(r.a) +
             "), qualification " + hex(r.b);
    case Kind::VmEntryFailed: return "VM entry failed: check '" + r.text + "'";
    case Kind::Io:
      return std::string(write ? "out" : "in") + " port " + hex(r.a) + " size " + std::to_string(size) + " value " +
             hex(r.b);
    case Kind::Mmio:
      return std::string("mmio ") + (write ? "write " : "read ") + hex(r.a) + " size " + std::to_string(size) +
             " value " + hex(r.b);
    case Kind::Note: return "note: " + r.text;
    case Kind::Regs: {
      std::string s = "regs:";
      for (const RegValue& v : r.regs) s += std::string(" ") + reg_name(v.reg) + "=" + hex(v.value);
      return s;
    }
    case Kind::MemWrite:
      return "write [" + hex(r.a) + "] size " + std::to_string(r.size) + " value " + hex(r.b);
    case Kind::End:
      return std::string("end: ") + stop_name(r.sub) + " after " + std::to_string(r.a) + " instructions" +
             (r.text.empty() ? "" : " (" + r.text + ")");
    case Kind::SerialIn:
      return "input: COM1 receives " + std::to_string(r.text.size()) + (r.text.size() == 1 ? " byte " : " bytes ") +
             quoted_bytes(r.text) + " (poll " + std::to_string(r.a) + ")";
    case Kind::HostClock:
      return r.sub == 0 ? "input: host clock reads " + std::to_string(r.a) + " ns since power-on"
                        : "input: host wall clock reads " + std::to_string(r.a) + " s since 1970";
    case Kind::StopRequest: return "input: SIGINT (Ctrl-C) stops the run";
  }
  return "?";
}

std::string RecordPrinter::text(const Record& r) const {
  char head[64];
  std::snprintf(head, sizeof head, "%10llu cpu%u ", (unsigned long long)r.icount, r.cpu);
  if (r.kind != Kind::Insn) return head + std::string("-- ") + event_words(r);
  char hexb[48] = {0};
  for (unsigned i = 0; i < r.len; ++i) std::snprintf(hexb + 2 * i, 3, "%02x", r.bytes[i]);
  const bool wide = modes_[r.cpu & MAX_CPU] == uint8_t(Mode::Long64) || r.rip > 0xffffffffull;
  char addr[64];
  std::snprintf(addr, sizeof addr, wide ? "%016llx" : "%08llx", (unsigned long long)r.rip);
  std::string s = head + std::string(addr);
  if (r.phys != r.rip) s += " (phys " + hex(r.phys) + ")";
  char body[96];
  std::snprintf(body, sizeof body, "  %-30s ", hexb);
  return s + body + disassemble(r);
}

std::string RecordPrinter::json(const Record& r) const {
  std::string s = "{\"icount\":" + std::to_string(r.icount) + ",\"cpu\":" + std::to_string(r.cpu) + ",\"kind\":\"" +
                  kind_name(r.kind) + "\"";
  const auto field = [&s](const char* k, const std::string& v) { s += std::string(",\"") + k + "\":\"" + json_escape(v) + "\""; };
  switch (r.kind) {
    case Kind::Insn: {
      std::string b;
      char x[3];
      for (unsigned i = 0; i < r.len; ++i) std::snprintf(x, 3, "%02x", r.bytes[i]), b += x;
      field("rip", hex(r.rip));
      field("phys", hex(r.phys));
      field("bytes", b);
      field("asm", disassemble(r));
      break;
    }
    case Kind::Exception:
      s += ",\"vector\":" + std::to_string(r.vector);
      field("name", exception_mnemonic(r.vector));
      if (r.error != NO_ERROR_CODE) field("error", hex(r.error));
      if (r.vector == vec::PF) field("cr2", hex(r.a));
      break;
    case Kind::Interrupt:
      s += ",\"vector\":" + std::to_string(r.vector);
      field("source", interrupt_source(r.sub));
      break;
    case Kind::VmExit:
      field("arch", r.sub ? "svm" : "vmx");
      field("reason", hex(r.a));
      field("name", vm_exit_name(r.sub, r.a));
      field("qualification", hex(r.b));
      break;
    case Kind::Io:
    case Kind::Mmio:
      field(r.kind == Kind::Io ? "port" : "address", hex(r.a));
      s += ",\"size\":" + std::to_string(r.sub & 0x7f);
      field("direction", (r.sub & 0x80) ? "write" : "read");
      field("value", hex(r.b));
      break;
    case Kind::Regs:
      for (const RegValue& v : r.regs) field(reg_name(v.reg), hex(v.value));
      break;
    case Kind::MemWrite:
      field("address", hex(r.a));
      s += ",\"size\":" + std::to_string(r.size);
      field("value", hex(r.b));
      break;
    case Kind::SerialIn:
      field("device", "com1");
      s += ",\"poll\":" + std::to_string(r.a);
      field("bytes", r.text);
      break;
    case Kind::HostClock:
      field("clock", r.sub == 0 ? "monotonic-ns" : "wall-seconds");
      s += ",\"value\":" + std::to_string(r.a);
      break;
    case Kind::End:
      field("stop", stop_name(r.sub));
      s += ",\"instructions\":" + std::to_string(r.a);
      field("detail", r.text);
      break;
    default: field("text", event_words(r)); break;
  }
  return s + "}";
}

std::string header_text(const TraceHeader& h) {
  std::string s = "# softvt trace, format version " + std::to_string(h.version) + ", recorded by softvt " +
                  h.softvt_version + "\n";
  s += "# machine: " + h.description + "\n# cpu model: " + h.cpu_model + "\n# options:";
  for (const std::string& o : h.options) s += " " + o;
  s += "\n";
  if (h.flags) s += std::string("# detail:") + (h.flags & header_flag::REGS ? " registers" : "") +
                    (h.flags & header_flag::MEM ? " memory-writes" : "") +
                    (h.flags & header_flag::INPUTS ? " inputs" : "") + "\n";
  for (const ImageHash& i : h.images)
    s += "# image " + i.option + " " + i.path + " (" + std::to_string(i.size) + " bytes, sha256 " + sha256_hex(i.sha256) +
         ")\n";
  return s;
}

std::string header_json(const TraceHeader& h) {
  std::string s = "{\"kind\":\"header\",\"format_version\":" + std::to_string(h.version) + ",\"softvt_version\":\"" +
                  json_escape(h.softvt_version) + "\",\"machine\":\"" + json_escape(h.machine) +
                  "\",\"description\":\"" + json_escape(h.description) + "\",\"cpu_model\":\"" +
                  json_escape(h.cpu_model) + "\",\"flags\":" + std::to_string(h.flags) + ",\"options\":[";
  for (size_t i = 0; i < h.options.size(); ++i) s += (i ? ",\"" : "\"") + json_escape(h.options[i]) + "\"";
  s += "],\"images\":[";
  for (size_t i = 0; i < h.images.size(); ++i)
    s += std::string(i ? "," : "") + "{\"option\":\"" + json_escape(h.images[i].option) + "\",\"path\":\"" +
         json_escape(h.images[i].path) + "\",\"size\":" + std::to_string(h.images[i].size) + ",\"sha256\":\"" +
         sha256_hex(h.images[i].sha256) + "\"}";
  return s + "]}";
}

}  // namespace softvt::trace
