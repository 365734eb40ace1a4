// Command-line parsing helpers shared by the subcommands: every malformed
// option gets a message naming it and exit status 2 (README "Bad input").
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace softvt {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses a decimal or 0x-prefixed hexadecimal unsigned number; throws
// UsageError naming `what` otherwise.
uint64_t parse_number(const std::string& text, const std::string& what);
// Parses a RAM size in MiB, optionally with an M or G suffix (as QEMU's -m).
uint64_t parse_mib(const std::string& text, const std::string& what);

// Walks argv: next() returns the next argument, value() the argument of the
// current option (throwing if it is missing).
class ArgReader {
 public:
  ArgReader(int argc, char** argv, int start) : args_(argv + start, argv + argc) {}
  bool done() const { return pos_ >= args_.size(); }
  std::string next() { return args_[pos_++]; }
  std::string value(const std::string& option) {
    if (done()) throw UsageError("option " + option + " needs a value");
    return next();
  }

 private:
  std::vector<std::string> args_;
  size_t pos_ = 0;
};

// Reads a whole file (or pipe) of at most `max_bytes`; throws UsageError
// naming `what` and the path if it cannot be read, is a directory or is
// larger.
std::vector<uint8_t> read_file(const std::string& path, const std::string& what, uint64_t max_bytes);

}  // namespace softvt
