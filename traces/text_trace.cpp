#include "traces/text_trace.h"

#include <capstone/capstone.h>

#include <cstring>
#include <stdexcept>

namespace softvt {

TextTrace::TextTrace(const std::string& path) {
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) throw std::runtime_error("cannot write trace file '" + path + "': " + std::strerror(errno));
  const cs_mode modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
  for (int i = 0; i < 3; ++i) {
    csh h;
    if (cs_open(CS_ARCH_X86, modes[i], &h) == CS_ERR_OK) cs_handle_[i] = h;
  }
}

TextTrace::~TextTrace() {
  for (auto& h : cs_handle_) {
    csh c = h;
    if (c) cs_close(&c);
  }
  std::fclose(f_);
}

void TextTrace::insn(const Cpu& cpu, uint64_t rip, uint64_t, const uint8_t* bytes, unsigned len) {
  const int m = cpu.s.code_size == 8 ? 2 : cpu.s.code_size == 4 ? 1 : 0;
  std::string text = "(bad)";
  if (cs_handle_[m]) {
    cs_insn* ci = nullptr;
    size_t n = cs_disasm(cs_handle_[m], bytes, len, rip, 1, &ci);
    if (n > 0) {
      text = std::string(ci[0].mnemonic) + (ci[0].op_str[0] ? " " : "") + ci[0].op_str;
      cs_free(ci, n);
    }
  }
  char hexb[48] = {0};
  for (unsigned i = 0; i < len && i < 15; ++i) snprintf(hexb + 2 * i, 3, "%02x", bytes[i]);
  if (cpu.s.mode == Mode::Long64)
    std::fprintf(f_, "%llu %016llx %-30s %s\n", (unsigned long long)cpu.s.insn_count,
                 (unsigned long long)rip, hexb, text.c_str());
  else
    std::fprintf(f_, "%llu %04x:%08llx %-30s %s\n", (unsigned long long)cpu.s.insn_count,
                 cpu.s.seg[CS].sel, (unsigned long long)rip, hexb, text.c_str());
}

void TextTrace::exception(const Cpu& cpu, const GuestException& e) {
  std::fprintf(f_, "%llu exception vector %u", (unsigned long long)cpu.s.insn_count, e.vector);
  if (e.error_code != NO_ERROR_CODE) std::fprintf(f_, " error 0x%x", e.error_code);
  if (e.vector == 14) std::fprintf(f_, " cr2 0x%llx", (unsigned long long)e.cr2);
  std::fprintf(f_, " at rip 0x%llx\n", (unsigned long long)cpu.s.rip);
}

void TextTrace::note(const Cpu& cpu, const std::string& msg) {
  std::fprintf(f_, "%llu %s\n", (unsigned long long)cpu.s.insn_count, msg.c_str());
}

bool TextTrace::flush() { return std::fflush(f_) == 0 && !std::ferror(f_); }

}  // namespace softvt
