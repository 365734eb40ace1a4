#include "emu/cli/state_json.h"

#include <cstdio>
#include <cstring>

namespace softvt {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (uint8_t(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += c;
  }
  return o;
}

}  // namespace

std::string state_json(const RunOutcome& out, const Memory& mem, std::optional<MemRange> dump) {
  const CpuState& s = out.state;
  std::string j = "{\n";
  auto field = [&](const std::string& k, const std::string& v) {
    j += "  \"" + k + "\": \"" + v + "\",\n";
  };
  field("exit", stop_reason_name(out.stop));
  if (!out.detail.empty()) field(out.stop == StopReason::Error ? "error" : "detail", json_escape(out.detail));
  // A free-running KVM guest is not counted: the key is left out rather
  // than reported as a number that is not one.
  if (out.insn_count_known) field("insns", hex(s.insn_count));
  for (int i = 0; i < 16; ++i) field(kGprNames[i], hex(s.gpr[i]));
  field("rip", hex(s.rip));
  field("rflags", hex(s.rflags));
  field("cr0", hex(s.cr0));
  field("cr2", hex(s.cr2));
  field("cr3", hex(s.cr3));
  field("cr4", hex(s.cr4));
  field("efer", hex(s.efer));
  for (int i = 0; i < 16; ++i) {
    uint64_t lo, hi;
    std::memcpy(&lo, s.xsave + XSAVE_XMM0_OFFSET + 16 * i, 8);
    std::memcpy(&hi, s.xsave + XSAVE_XMM0_OFFSET + 16 * i + 8, 8);
    char b[40];
    snprintf(b, sizeof b, "0x%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
    field("xmm" + std::to_string(i), b);
  }
  if (dump) {
    std::string h;
    h.reserve(dump->len * 2);
    for (uint64_t i = 0; i < dump->len; ++i) {
      char b[4];
      snprintf(b, sizeof b, "%02x", mem.ram()[dump->addr + i]);
      h += b;
    }
    field("mem", h);
  }
  j.erase(j.size() - 2);  // trailing ",\n"
  j += "\n}\n";
  return j;
}

}  // namespace softvt
