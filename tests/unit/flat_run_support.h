// Running assembled snippets and the L1 test kernels through `softvt run
// --flat` from a Catch2 test, and reading its --dump-state JSON: shared by
// the VMX and SVM tests (tests/unit/test_vmx*.cpp, test_svm*.cpp).
#pragma once
#include <catch.hpp>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/cli_support.h"
#include "tests/unit/nasm_support.h"

namespace softvt::test {

// An environment variable the test harness sets (tests/meson.build).
inline std::string env_path(const char* var) {
  const char* v = std::getenv(var);
  REQUIRE(v);
  return v;
}

// A file name of this test process under /tmp.
inline std::string flat_tmp_path(const std::string& name) {
  return "/tmp/softvt_flat_" + std::to_string(getpid()) + "_" + name;
}

// Runs a long64 flat image assembled from `body` (org 0x10000) with
// --dump-state -; `cpu` is the --cpu option.
inline CliResult run_flat(const std::string& body, const std::string& cpu = "intel") {
  const std::vector<uint8_t> bin = assemble_nasm("bits 64\norg 0x10000\n" + body);
  const std::string path = flat_tmp_path("image.bin");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bin.data()), std::streamsize(bin.size()));
  CliResult r = shell(env_path("SOFTVT") + " run --flat " + path + " --cpu " + cpu + " --max-insns 10000 --dump-state -");
  std::remove(path.c_str());
  return r;
}

// The value of "key": "0x..." in the JSON state dump.
inline uint64_t json_value(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\"");
  REQUIRE(at != std::string::npos);
  const size_t q = json.find("\"0x", at + key.size() + 2);
  REQUIRE(q != std::string::npos);
  return std::stoull(json.substr(q + 3), nullptr, 16);
}

// The "exit" string of the JSON state dump (hlt, shutdown, limit, ...).
inline std::string json_exit(const std::string& json) {
  const size_t at = json.find("\"exit\"");
  REQUIRE(at != std::string::npos);
  const size_t q1 = json.find('"', at + 6 + 1);
  const size_t q2 = json.find('"', q1 + 1);
  return json.substr(q1 + 1, q2 - q1 - 1);
}

// An L1 test kernel of tests/guest (`bin`, e.g. "svm_npt_long64.bin") run
// on the `cpu` model with its debug console on stdout, and the final state
// of its --dump-state JSON.
struct KernelRun {
  CliResult r;
  std::string state;
};
inline KernelRun run_l1_kernel(const std::string& bin, const std::string& cpu, uint64_t max_insns = 2000000) {
  const std::string json = flat_tmp_path(bin + ".json");
  KernelRun k{shell(env_path("SOFTVT") + " run --flat " + env_path("SOFTVT_GUEST_DIR") + "/" + bin + " --cpu " + cpu +
                    " --max-insns " + std::to_string(max_insns) + " --debugcon stdio --dump-state " + json),
              ""};
  k.state = slurp(json);
  std::remove(json.c_str());
  return k;
}

// The VMXON/VMCS set-up the VMX instruction snippets share: CR4.VMXE, the
// revision identifier in the regions at 1 MiB (VMXON) and 1 MiB + 4 KiB.
inline constexpr const char* kVmxOn =
    "mov ecx, 0x480\n rdmsr\n mov [0x100000], eax\n mov [0x101000], eax\n"
    "mov rax, cr4\n or rax, 0x2000\n mov cr4, rax\n"
    "mov qword [0x90000], 0x100000\n mov qword [0x90008], 0x101000\n"
    "vmxon [0x90000]\n";

}  // namespace softvt::test
