#include "emu/loader/kernel_payload.h"

#include <lzma.h>
#include <zlib.h>

#include <cstring>

namespace softvt {
namespace {

// A vmlinux is tens of MiB; a claimed size beyond this is a corrupt or
// hostile image, not a kernel.
constexpr uint64_t MAX_KERNEL_BYTES = 1ull << 30;

std::string format_error(const char* format, const std::string& what) {
  return std::string("the kernel's ") + format + " payload " + what;
}

// How a decoder run ended, in terms both libraries map onto.
enum class Outcome { StreamEnd, Stuck, Corrupt };

// Throws unless the stream ended having produced exactly `expected` bytes.
void check_outcome(const char* format, Outcome o, int code, size_t produced, size_t expected) {
  if (o == Outcome::Stuck)  // no progress possible: output full or input exhausted
    throw PayloadError(format_error(format, produced == expected ? "decompresses to more than its recorded size"
                                                                 : "is truncated"));
  if (o == Outcome::Corrupt)
    throw PayloadError(format_error(format, "is corrupt (decoder error " + std::to_string(code) + ")"));
  if (produced != expected)
    throw PayloadError(format_error(format, "decompresses to " + std::to_string(produced) +
                                                " bytes, not its recorded " + std::to_string(expected)));
}

// liblzma's stream decoder, without LZMA_CONCATENATED: it stops at the end
// of the first xz stream, so the appended size word is not read as data.
void inflate_xz(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK) throw PayloadError("liblzma cannot start an xz decoder");
  s.next_in = in.data();
  s.avail_in = in.size();
  s.next_out = out.data();
  s.avail_out = out.size();
  lzma_ret r;
  do r = lzma_code(&s, LZMA_FINISH);  // LZMA_OK: progress made, call again
  while (r == LZMA_OK);
  const size_t produced = out.size() - s.avail_out;
  lzma_end(&s);
  const Outcome o = r == LZMA_STREAM_END ? Outcome::StreamEnd : r == LZMA_BUF_ERROR ? Outcome::Stuck : Outcome::Corrupt;
  check_outcome("xz", o, int(r), produced, out.size());
}

// zlib with windowBits 15 + 16: a gzip member (RFC 1952) with its header.
void inflate_gzip(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) throw PayloadError("zlib cannot start a gzip decoder");
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = uInt(in.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  int r;
  do r = inflate(&s, Z_FINISH);
  while (r == Z_OK);
  const size_t produced = out.size() - s.avail_out;
  inflateEnd(&s);
  const Outcome o = r == Z_STREAM_END ? Outcome::StreamEnd : r == Z_BUF_ERROR ? Outcome::Stuck : Outcome::Corrupt;
  check_outcome("gzip", o, r, produced, out.size());
}

}  // namespace

const char* payload_format_name(PayloadFormat f) {
  switch (f) {
    case PayloadFormat::Gzip: return "gzip";
    case PayloadFormat::Bzip2: return "bzip2";
    case PayloadFormat::Lzma: return "lzma";
    case PayloadFormat::Xz: return "xz";
    case PayloadFormat::Lzo: return "lzo";
    case PayloadFormat::Lz4: return "lz4";
    case PayloadFormat::Zstd: return "zstd";
    case PayloadFormat::Unknown: break;
  }
  return "unknown";
}

// The magic numbers the kernel's own decompressor dispatch recognises
// (lib/decompress.c).
PayloadFormat payload_format(const uint8_t* d, size_t n) {
  auto starts = [&](std::initializer_list<uint8_t> m) {
    return n >= m.size() && std::memcmp(d, m.begin(), m.size()) == 0;
  };
  if (starts({0x1f, 0x8b}) || starts({0x1f, 0x9e})) return PayloadFormat::Gzip;
  if (starts({'B', 'Z', 'h'})) return PayloadFormat::Bzip2;
  if (starts({0x5d, 0x00, 0x00})) return PayloadFormat::Lzma;
  if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) return PayloadFormat::Xz;
  if (starts({0x89, 'L', 'Z', 'O'})) return PayloadFormat::Lzo;
  if (starts({0x02, 0x21, 0x4c, 0x18})) return PayloadFormat::Lz4;
  if (starts({0x28, 0xb5, 0x2f, 0xfd})) return PayloadFormat::Zstd;
  return PayloadFormat::Unknown;
}

std::span<const uint8_t> bzimage_payload(const std::vector<uint8_t>& image, const SetupHeader& h) {
  const uint64_t start = (uint64_t(h.setup_sects) + 1) * 512 + h.payload_offset;
  const uint64_t length = h.payload_length;
  if (length == 0) throw PayloadError("the setup header gives an empty payload (payload_length 0)");
  if (start > image.size() || length > image.size() - start)
    throw PayloadError("the payload (" + std::to_string(length) + " bytes at file offset " + std::to_string(start) +
                       ") lies beyond the end of the file (" + std::to_string(image.size()) + " bytes)");
  return std::span<const uint8_t>(image).subspan(start, length);
}

std::vector<uint8_t> decompress_payload(std::span<const uint8_t> payload) {
  const PayloadFormat f = payload_format(payload.data(), payload.size());
  if (f == PayloadFormat::Unknown) throw PayloadError("the compressed kernel's format is not recognised (unknown magic bytes)");
  if (f != PayloadFormat::Xz && f != PayloadFormat::Gzip)
    throw PayloadError(std::string("the kernel is compressed with ") + payload_format_name(f) +
                       ", which --host-decompress does not decompress (xz and gzip are supported)");
  if (payload.size() < 8) throw PayloadError(format_error(payload_format_name(f), "is truncated"));
  uint32_t size;
  std::memcpy(&size, payload.data() + payload.size() - 4, sizeof size);
  if (size == 0 || size > MAX_KERNEL_BYTES)
    throw PayloadError(format_error(payload_format_name(f), "records an implausible decompressed size (" +
                                                                std::to_string(size) + " bytes)"));
  const std::span<const uint8_t> stream = payload.first(payload.size() - 4);
  std::vector<uint8_t> out(size);
  if (f == PayloadFormat::Xz) inflate_xz(stream, out);
  else inflate_gzip(stream, out);
  return out;
}

}  // namespace softvt
