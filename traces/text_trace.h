// The --trace FILE text trace: each executed instruction (address, bytes,
// Capstone disassembly) and each exception, one line each. The binary
// trace format and its tools come with the traces issue.
#pragma once
#include <cstdio>
#include <string>

#include "emu/cpu.h"

namespace softvt {

class TextTrace : public Cpu::Tracer {
 public:
  // Opens `path` for writing; throws std::runtime_error naming it on failure.
  explicit TextTrace(const std::string& path);
  ~TextTrace() override;
  void insn(const Cpu&, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) override;
  void exception(const Cpu&, const GuestException&) override;
  void note(const Cpu&, const std::string&) override;
  // Flushes the file; false if a write failed (a full disk).
  bool flush();

 private:
  FILE* f_;
  size_t cs_handle_[3] = {0, 0, 0};  // capstone handles for 16/32/64-bit code
};

}  // namespace softvt
