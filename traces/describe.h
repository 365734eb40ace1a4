// Records in words (traces/README.md): disassembly by Capstone in the
// CPU's current mode, exception mnemonics, VM exit reasons by name.
#pragma once
#include <array>
#include <cstddef>
#include <string>

#include "traces/format.h"

namespace softvt::trace {

const char* exception_mnemonic(uint8_t vector);  // "#GP", or "" if none
std::string vm_exit_name(uint8_t arch, uint64_t reason);  // "VMCALL", "VMEXIT_VMMCALL", ...
const char* mode_name(uint8_t mode);
const char* interrupt_source(uint8_t event_type);
const char* stop_name(uint8_t stop);
std::string hex(uint64_t v);
std::string json_escape(const std::string& s);
std::string quoted_bytes(const std::string& bytes);  // "ab\n\x01": a C string literal

class RecordPrinter {
 public:
  RecordPrinter();
  ~RecordPrinter();
  RecordPrinter(const RecordPrinter&) = delete;
  RecordPrinter& operator=(const RecordPrinter&) = delete;
  // Follows Mode records (call for every record in order, shown or not).
  void observe(const Record& r);
  // Sets CPU `cpu`'s mode (a Mode value) directly.
  void set_mode(uint32_t cpu, uint8_t mode) { modes_[cpu & MAX_CPU] = mode; }
  std::string disassemble(const Record& r) const;
  // One line of text (no newline).
  std::string text(const Record& r) const;
  // One JSON object (no newline).
  std::string json(const Record& r) const;
  // The event part of text() ("exception #GP(13) error 0x0", ...).
  std::string event_words(const Record& r) const;

 private:
  std::array<uint8_t, MAX_CPU + 1> modes_;
  size_t cs_[3] = {0, 0, 0};  // capstone handles: 16, 32, 64-bit code
};

std::string header_text(const TraceHeader& h);
std::string header_json(const TraceHeader& h);

}  // namespace softvt::trace
