// The compressed kernel inside a bzImage (boot.rst, "payload_offset" and
// "payload_length", protocol 2.08+): finds it, names its format from its
// magic bytes, and decompresses xz and gzip payloads on the host. The result
// is the kernel's vmlinux ELF file, which `--host-decompress` loads directly
// instead of running the kernel's own decompressor in the guest.
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "emu/loader/bzimage.h"

namespace softvt {

struct PayloadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The compression formats a bzImage payload can have (arch/x86/boot/compressed
// selects one at kernel build time); only Xz and Gzip are decompressed here.
enum class PayloadFormat { Gzip, Bzip2, Lzma, Xz, Lzo, Lz4, Zstd, Unknown };

const char* payload_format_name(PayloadFormat f);
PayloadFormat payload_format(const uint8_t* data, size_t size);

// The payload bytes (a view into `image`) of a bzImage whose setup header
// parse_setup_header returned as `h`. Throws PayloadError when the header
// places it outside the file.
std::span<const uint8_t> bzimage_payload(const std::vector<uint8_t>& image, const SetupHeader& h);

// Decompresses a payload. The kernel build appends the decompressed size as
// a little-endian 32-bit word after the compressed stream; the result must
// have exactly that size. Throws PayloadError naming the format and problem.
std::vector<uint8_t> decompress_payload(std::span<const uint8_t> payload);

}  // namespace softvt
