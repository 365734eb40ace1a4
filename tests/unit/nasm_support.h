// Assembling a nasm snippet at test time (nasm is a build dependency).
#pragma once
#include <catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace softvt::test {

// Flat binary of `src` (nasm -f bin); fails the test if nasm rejects it.
inline std::vector<uint8_t> assemble_nasm(const std::string& src) {
  char dir[] = "/tmp/softvt_nasmXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string asm_path = std::string(dir) + "/t.asm", bin = std::string(dir) + "/t.bin";
  std::ofstream(asm_path) << src;
  const std::string cmd = "nasm -f bin -o " + bin + " " + asm_path;
  const int rc = std::system(cmd.c_str());
  std::ifstream f(bin, std::ios::binary);
  std::vector<uint8_t> out((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(asm_path.c_str());
  std::remove(bin.c_str());
  std::remove(dir);
  INFO(src);
  REQUIRE(rc == 0);
  return out;
}

}  // namespace softvt::test
