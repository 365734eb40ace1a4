// The flat-runner contract (README "The flat-binary runner"): the initial
// state of each mode, how a run ends, the JSON dump, and bad input (exit 2
// with a message naming the input).
#include <catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "emu/accel/accel.h"
#include "emu/loader/flat.h"

using namespace softvt;

namespace {

struct CliResult {
  int status;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Runs build/softvt (env SOFTVT) with `args` after `prefix` in the same
// shell (e.g. a ulimit), capturing stdout and stderr.
CliResult softvt_cli_in_shell(const std::string& prefix, const std::string& args) {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  const std::string out = "/tmp/softvt_flat_out_" + std::to_string(getpid());
  const std::string err = out + ".err";
  const std::string cmd = prefix + std::string(exe) + " " + args + " >" + out + " 2>" + err;
  const int raw = std::system(cmd.c_str());
  CliResult r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

// Runs build/softvt (env SOFTVT) with `args`, capturing stdout and stderr.
CliResult softvt_cli(const std::string& args) { return softvt_cli_in_shell("", args); }

std::string write_image(const std::vector<uint8_t>& bytes, const char* name) {
  const std::string path = "/tmp/softvt_flat_" + std::to_string(getpid()) + "_" + name;
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

std::string json_value(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": \"";
  const size_t p = json.find(k);
  if (p == std::string::npos) return "<absent>";
  const size_t b = p + k.size();
  return json.substr(b, json.find('"', b) - b);
}

RunOutcome run_image(const std::vector<uint8_t>& img, FlatMode mode, uint64_t max = ~uint64_t(0)) {
  Memory mem(64 << 20);
  CpuState s = setup_flat(mem, img, FLAT_DEFAULT_LOAD, mode);
  RunOptions o;
  o.max_insns = max;
  return run_interp(mem, s, default_cpu_model(), o);
}

}  // namespace

TEST_CASE("long64 initial state follows the contract") {
  Memory mem(64 << 20);
  std::vector<uint8_t> img = {0xf4};
  CpuState s = setup_flat(mem, img, 0x10000, FlatMode::Long64);
  CHECK(s.rip == 0x10000);
  CHECK(s.gpr[RSP] == 0x10000);
  CHECK(s.rflags == 0x2);
  CHECK(s.cr0 == 0x80010033);
  CHECK(s.cr4 == 0x620);
  CHECK(s.efer == 0xd01);
  CHECK(s.cr3 == 0x1000);
  CHECK(s.seg[CS].sel == 0x08);
  CHECK(s.seg[SS].sel == 0x10);
  CHECK(s.gdtr.base == 0x500);
  CHECK(s.gdtr.limit == 31);
  CHECK(s.idtr.limit == 0);
  uint64_t gdt[4], pml4, pdpt0, pd_last;
  std::memcpy(gdt, mem.ram() + 0x500, sizeof gdt);
  CHECK(gdt[1] == 0x00af9b000000ffffull);
  CHECK(gdt[2] == 0x00cf93000000ffffull);
  CHECK(gdt[3] == 0x00cf9b000000ffffull);
  std::memcpy(&pml4, mem.ram() + 0x1000, 8);
  std::memcpy(&pdpt0, mem.ram() + 0x2000 + 3 * 8, 8);
  std::memcpy(&pd_last, mem.ram() + 0x6ff8, 8);
  CHECK(pml4 == (0x2000 | 0x7));
  CHECK(pdpt0 == (0x6000 | 0x7));
  CHECK(pd_last == ((uint64_t(2047) << 21) | 0x87));
  RunOutcome o = run_interp(mem, s, default_cpu_model(), RunOptions{});
  CHECK(o.stop == StopReason::Hlt);
  CHECK(o.state.rip == 0x10001);  // after the HLT, as hardware leaves it
  CHECK(o.state.insn_count == 1);
}

TEST_CASE("prot32 and real16 initial states follow the contract") {
  Memory mem(64 << 20);
  std::vector<uint8_t> img = {0xf4};
  CpuState p = setup_flat(mem, img, 0x20000, FlatMode::Prot32);
  CHECK(p.rip == 0x20000);
  CHECK(p.seg[CS].sel == 0x18);
  CHECK(p.seg[DS].sel == 0x10);
  CHECK(p.cr0 == 0x33);
  CHECK(p.cr4 == 0x600);
  CHECK(p.efer == 0);
  CHECK(p.gpr[RSP] == 0x20000);
  CpuState r = setup_flat(mem, img, 0x20000, FlatMode::Real16);
  CHECK(r.rip == 0);
  for (int sg : {ES, CS, SS, DS, FS, GS}) {
    CHECK(r.seg[sg].sel == 0x2000);
    CHECK(r.seg[sg].base == 0x20000);
  }
  CHECK(r.gpr[RSP] == 0xfff0);
  CHECK(r.cr0 == 0x60000010);
}

TEST_CASE("a run ends by HLT, shutdown or the instruction limit") {
  // jmp $ : never ends by itself.
  RunOutcome lim = run_image({0xeb, 0xfe}, FlatMode::Long64, 1000);
  CHECK(lim.stop == StopReason::Limit);
  CHECK(lim.state.insn_count == 1000);
  CHECK(lim.state.rip == 0x10000);
  // ud2 with IDTR limit 0: #UD -> #GP (gate beyond the limit) -> #DF -> shutdown.
  for (FlatMode m : {FlatMode::Long64, FlatMode::Prot32, FlatMode::Real16}) {
    RunOutcome sd = run_image({0x0f, 0x0b}, m);
    INFO(flat_mode_name(m));
    CHECK(sd.stop == StopReason::Shutdown);
    CHECK(sd.state.insn_count == 0);
  }
}

TEST_CASE("softvt run --dump-state writes the contract's JSON") {
  // mov eax, 0x12345678 ; mov [0x20000], eax ; hlt
  const std::string img = write_image(
      {0xb8, 0x78, 0x56, 0x34, 0x12, 0xa3, 0x00, 0x00, 0x02, 0x00, 0xf4}, "json.bin");
  CliResult r = softvt_cli("run --flat " + img + " --mode prot32 --dump-state - --dump-mem 0x20000:4");
  CHECK(r.status == 0);
  CHECK(json_value(r.out, "exit") == "hlt");
  CHECK(json_value(r.out, "insns") == "0x3");
  CHECK(json_value(r.out, "rax") == "0x12345678");
  CHECK(json_value(r.out, "rip") == "0x1000b");
  CHECK(json_value(r.out, "rflags") == "0x2");
  CHECK(json_value(r.out, "cr0") == "0x33");
  CHECK(json_value(r.out, "mem") == "78563412");
  for (const char* k : {"rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r15", "cr2", "cr3",
                        "cr4", "efer", "xmm0", "xmm15"})
    CHECK(json_value(r.out, k) != "<absent>");
  CHECK(json_value(r.out, "xmm0") == "0x00000000000000000000000000000000");
  std::remove(img.c_str());
}

TEST_CASE("softvt run --trace writes each instruction and exception") {
  const std::string img = write_image({0x31, 0xc0, 0x0f, 0x0b}, "trace.bin");  // xor eax,eax; ud2
  const std::string trace = "/tmp/softvt_flat_trace_" + std::to_string(getpid());
  CliResult r = softvt_cli("run --flat " + img + " --trace " + trace);
  CHECK(r.status == 0);
  const std::string t = slurp(trace);
  CHECK(t.find("xor eax, eax") != std::string::npos);
  CHECK(t.find("exception vector 6") != std::string::npos);
  CHECK(t.find("shutdown") != std::string::npos);
  std::remove(img.c_str());
  std::remove(trace.c_str());
}

TEST_CASE("bad input gets a message naming it and exit status 2") {
  const std::string img = write_image({0xf4}, "bad.bin");
  const std::string empty = write_image({}, "empty.bin");
  // mov al, 'x'; out 0xe9, al; hlt (long64)
  const std::string debug = write_image({0xb0, 0x78, 0xe6, 0xe9, 0xf4}, "debugcon.bin");
  struct Case {
    std::string args, mentions;
  };
  const std::vector<Case> cases = {
      {"run --flat /nonexistent/image.bin", "/nonexistent/image.bin"},
      {"run --flat " + img + " --mode long32", "long32"},
      {"run --flat " + img + " --load 0x1z", "--load"},
      {"run --flat " + img + " -m 1 --load 0x100000", "does not fit"},
      {"run --flat " + img + " --mode real16 --load 0x10008", "16-byte aligned"},
      {"run --flat " + img + " --mode real16 --load 0x100000", "below 1 MiB"},
      {"run --flat " + img + " --load 0x600", "overlaps"},
      {"run --flat " + img + " --accel tcg", "tcg"},
      {"run --flat " + img + " --max-insns many", "--max-insns"},
      {"run --flat " + img + " --dump-mem 0x10000", "ADDR:LEN"},
      {"run --flat " + img + " --dump-mem 0x3fffff0:0x100", "outside RAM"},
      {"run --flat " + img + " --accel kvm --trace /tmp/x", "--trace"},
      {"run --flat " + img + " --bogus", "--bogus"},
      {"run", "--flat"},
      {"run --flat " + img + " -m 0", "-m"},
      {"run --flat " + img + " -m 1048577", "-m"},
      {"run --flat " + img + " -m 99999999999999999999", "-m"},
      // 2^54 + 1 GiB: the size in MiB wraps to 1024 when multiplied.
      {"run --flat " + img + " -m 18014398509481985G", "-m"},
      {"run --flat " + img + " -m G", "-m"},
      {"run --flat " + img + " --load 0x10000000000000000", "--load"},
      {"run --flat " + img + " --load 0xffffffffffffffff", "does not fit"},
      {"run --flat " + img + " --max-insns -1", "--max-insns"},
      {"run --flat " + img + " --dump-mem 0xffffffffffffffff:2", "--dump-mem"},
      {"run --flat " + img + " --dump-mem 0x10:0xfffffffffffffff0", "--dump-mem"},
      {"run --flat " + img + " --dump-mem 0x10:", "--dump-mem"},
      {"run --flat " + img + " --mode", "--mode"},
      {"run --flat " + empty, "empty"},
      {"run --flat /tmp", "/tmp': is a directory"},
      // Not a regular file, and endless: read only as far as RAM goes.
      {"run --flat /dev/zero -m 1", "/dev/zero"},
      {"run --flat " + img + " --dump-state /nonexistent/dir/s.json", "/nonexistent/dir/s.json"},
      {"run --flat " + img + " --dump-state /tmp", "--dump-state"},
      // Opens, but every write fails (ENOSPC): the JSON must not be lost silently.
      {"run --flat " + img + " --dump-state /dev/full", "/dev/full"},
      {"run --flat " + debug + " --debugcon /dev/full", "--debugcon"},
      {"run --flat " + img + " --trace /dev/full", "--trace"},
      {"run --flat " + img + " --trace /tmp", "--trace"},
      {"run --flat " + img + " --debugcon /nonexistent/dir/con", "--debugcon"},
      {"demo --fast", "--fast"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    CliResult r = softvt_cli(c.args);
    CHECK(r.status == 2);
    CHECK(r.err.find(c.mentions) != std::string::npos);
  }
  {
    // Standard output that cannot take the JSON (softvt_cli redirects it).
    const std::string err = "/tmp/softvt_flat_full_" + std::to_string(getpid()) + ".err";
    const std::string cmd =
        std::string(std::getenv("SOFTVT")) + " run --flat " + img + " --dump-state - >/dev/full 2>" + err;
    const int raw = std::system(cmd.c_str());
    CHECK((WIFEXITED(raw) ? WEXITSTATUS(raw) : -1) == 2);
    CHECK(slurp(err).find("--dump-state") != std::string::npos);
    std::remove(err.c_str());
  }
  std::remove(img.c_str());
  std::remove(empty.c_str());
  std::remove(debug.c_str());
}

TEST_CASE("RAM the host cannot give and dumps larger than the host could hold as one string") {
  // With the address space limited (ulimit -v), the first allocation of a
  // large -m fails: exit 2 naming -m, not an exception's text and status 1.
  // A --dump-mem of half the limit must still be written (the JSON is
  // streamed): before, it was built as one string and failed with
  // std::bad_alloc. A sanitizer build cannot start under such a limit.
  const std::string img = write_image({0xf4}, "limited.bin");
  const std::string limit = "ulimit -v 1200000; ";
  CliResult probe = softvt_cli_in_shell(limit, "help");
  if (probe.status != 0) {
    WARN("skipped: softvt does not start under 'ulimit -v' here (a sanitizer build?)");
    std::remove(img.c_str());
    return;
  }
  CliResult r = softvt_cli_in_shell(limit, "run --flat " + img + " -m 4096");
  CHECK(r.status == 2);
  CHECK(r.err.find("-m: cannot allocate 4096 MiB") != std::string::npos);
  r = softvt_cli_in_shell(limit, "run --flat " + img + " -m 512 --dump-mem 0:0x20000000 --dump-state /dev/null");
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  std::remove(img.c_str());
}
