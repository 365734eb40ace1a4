// Helpers of the trace tests (test_trace_cli.cpp, test_replay_inputs.cpp):
// whole files as bytes, to build, damage and inspect trace files.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "cli_support.h"

namespace softvt::test {

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  const std::string s = slurp(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace softvt::test
