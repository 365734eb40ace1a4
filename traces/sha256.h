// SHA-256 (FIPS 180-4) of the image files a trace header names, so that a
// replay can tell the image it runs is the one that was recorded.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace softvt {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(const uint8_t* data, size_t len);
// Lower-case hexadecimal, 64 characters.
std::string sha256_hex(const Sha256Digest& d);

}  // namespace softvt
