// Assembling a nasm snippet at test time (nasm is a build dependency):
// the one helper every test that builds guest code from source uses.
#pragma once
#include <catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace softvt::test {

// Whether nasm's warnings fail the assembly (-Werror): the generated
// snippets of the differential tests must not rely on nasm guessing.
enum class NasmWarnings { Allow, AreErrors };

// Flat binary of `src` (nasm -f bin); fails the test, showing the source
// and nasm's messages, if nasm rejects it.
inline std::vector<uint8_t> assemble_nasm(const std::string& src,
                                          NasmWarnings warnings = NasmWarnings::Allow) {
  char dir[] = "/tmp/softvt_nasmXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string d = dir, in = d + "/t.asm", out = d + "/t.bin", err = d + "/err";
  std::ofstream(in) << src;
  const std::string flags = warnings == NasmWarnings::AreErrors ? "-Werror " : "";
  const int rc = std::system(("nasm " + flags + "-f bin -o " + out + " " + in + " 2>" + err).c_str());
  std::ifstream ef(err);
  const std::string errors((std::istreambuf_iterator<char>(ef)), {});
  std::ifstream bf(out, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(bf)), {});
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
  rmdir(dir);
  INFO("nasm failed on:\n" << src << "\n" << errors);
  REQUIRE(rc == 0);
  return bytes;
}

}  // namespace softvt::test
