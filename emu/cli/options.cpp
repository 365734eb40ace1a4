#include "emu/cli/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

std::vector<uint8_t> read_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  const std::string name = what + " '" + path + "'";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError(name + ": " + std::strerror(errno));
  // Anything that is not a directory is read up to `max_bytes`: a pipe may
  // carry an image, but /dev/zero must not fill the host's memory.
  const auto fail = [&](const std::string& why) {
    close(fd);
    throw UsageError(name + ": " + why);
  };
  struct stat st {};
  if (fstat(fd, &st) != 0) fail(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("is a directory");
  const std::string too_large = "is larger than the " + std::to_string(max_bytes) + " bytes allowed";
  if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > max_bytes) fail(too_large);
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    const ssize_t n = read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::strerror(errno));
    if (n == 0) break;
    if (uint64_t(n) > max_bytes - data.size()) fail(too_large);
    data.insert(data.end(), chunk.begin(), chunk.begin() + n);
  }
  close(fd);
  return data;
}

}  // namespace softvt
