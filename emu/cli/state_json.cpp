#include "emu/cli/state_json.h"

#include <algorithm>
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

void write_state_json(std::FILE* f, const RunOutcome& out, const Memory& mem,
                      std::optional<MemRange> dump) {
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
  if (!dump) {
    j.erase(j.size() - 2);  // trailing ",\n"
    j += "\n}\n";
    std::fputs(j.c_str(), f);
    return;
  }
  // The memory dump is written in pieces: it may be far larger than what
  // the host can hold as one string (up to twice the guest's RAM).
  j += "  \"mem\": \"";
  std::fputs(j.c_str(), f);
  static const char digits[] = "0123456789abcdef";
  constexpr uint64_t PIECE = 1 << 16;
  std::string h;
  for (uint64_t at = 0; at < dump->len; at += PIECE) {
    const uint64_t n = std::min(PIECE, dump->len - at);
    const uint8_t* p = mem.ram() + dump->addr + at;
    h.resize(2 * n);
    for (uint64_t i = 0; i < n; ++i) {
      h[2 * i] = digits[p[i] >> 4];
      h[2 * i + 1] = digits[p[i] & 0xf];
    }
    if (std::fwrite(h.data(), 1, h.size(), f) != h.size()) return;  // the caller sees ferror
  }
  std::fputs("\"\n}\n", f);
}

}  // namespace softvt
