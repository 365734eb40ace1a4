#include "emu/cli/options.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace softvt {

uint64_t parse_number(const std::string& text, const std::string& what) {
  if (text.empty()) throw UsageError(what + ": empty number");
  int base = 10;
  size_t start = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    start = 2;
  }
  uint64_t v = 0;
  for (size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else throw UsageError(what + ": '" + text + "' is not a number");
    if (v > (~uint64_t(0) - uint64_t(d)) / uint64_t(base))
      throw UsageError(what + ": '" + text + "' is too large");
    v = v * uint64_t(base) + uint64_t(d);
  }
  if (start == text.size()) throw UsageError(what + ": '" + text + "' is not a number");
  return v;
}

uint64_t parse_mib(const std::string& text, const std::string& what) {
  std::string t = text;
  uint64_t mult = 1;
  if (!t.empty() && (t.back() == 'M' || t.back() == 'm')) t.pop_back();
  else if (!t.empty() && (t.back() == 'G' || t.back() == 'g')) {
    t.pop_back();
    mult = 1024;
  }
  // At most 1 TiB (MAXPHYADDR 40); checked before the multiplication, which
  // could otherwise wrap to a small size.
  constexpr uint64_t MAX_MIB = 1024 * 1024;
  const uint64_t n = parse_number(t, what);
  if (n > MAX_MIB / mult) throw UsageError(what + ": RAM size '" + text + "' is too large (at most 1 TiB)");
  const uint64_t v = n * mult;
  if (v == 0) throw UsageError(what + ": RAM size must be at least 1 MiB");
  return v;
}

std::vector<uint8_t> read_file(const std::string& path, const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(what + " '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw UsageError(what + " '" + path + "': read error");
  return data;
}

}  // namespace softvt
