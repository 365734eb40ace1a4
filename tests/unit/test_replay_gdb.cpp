// `softvt replay FILE --gdb tcp:127.0.0.1:PORT --wait-gdb` driven by the
// real gdb in batch mode (traces/README.md "Replay in gdb"): a recorded
// flat run is replayed under the stub, stepped forwards and backwards,
// its registers compared with the values the recording holds at the same
// instruction count, and a replay that leaves its recording stops with
// SIGABRT and the replay's divergence report. Skipped (with the reason)
// where gdb is not installed.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/gdb_cli_support.h"

using namespace softvt::test;

namespace {

const std::string kProgram = kGuestDir + "/gdb_target_long64.bin";

std::string tmp(const std::string& name) { return "/tmp/softvt_replay_gdb_" + std::to_string(getpid()) + "_" + name; }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// The registers the recording holds before the instruction with count
// `icount` of CPU 0: the values of its regs records up to that count
// (`softvt trace show`: "N cpu0 -- regs: rax=0x6 rcx=0x3").
std::map<std::string, uint64_t> recorded_registers(const std::string& trace, uint64_t icount) {
  const CliResult r = shell(kSoftvt + " trace show " + trace);
  REQUIRE(r.status == 0);
  std::map<std::string, uint64_t> regs;
  std::istringstream in(r.out);
  const std::regex line(R"(^\s*(\d+) cpu0 -- regs:(.*)$)");
  const std::regex value(R"(([a-z0-9_]+)=0x([0-9a-f]+))");
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, line) || std::stoull(m[1].str()) > icount) continue;
    const std::string vals = m[2].str();
    for (auto it = std::sregex_iterator(vals.begin(), vals.end(), value); it != std::sregex_iterator(); ++it)
      regs[(*it)[1].str()] = std::stoull((*it)[2].str(), nullptr, 16);
  }
  return regs;
}

// The instruction counts `monitor trace-position` reported, in order.
std::vector<uint64_t> reported_counts(const std::string& o) {
  std::vector<uint64_t> v;
  for (const std::string& n : captures(o, R"(CPU 0 at instruction count (\d+), RIP)")) v.push_back(std::stoull(n));
  return v;
}

}  // namespace

TEST_CASE("replay --gdb: break, step, reverse-stepi and reverse-continue on a recorded run", "[gdb][replay][cli]") {
  REQUIRE_GDB();
  const std::string trace = tmp("loop.trace");
  REQUIRE(shell(kSoftvt + " run --flat " + kProgram + " --record " + trace + " --record-regs").status == 0);
  Softvt s({"replay", trace});
  const std::string o = s.gdb({"monitor trace-position", "break *0x10014", "continue", "continue",
                               "p/x $rax", "p/x $rbx", "p/x $rcx", "p/x $eflags", "monitor trace-position",
                               "stepi", "stepi", "p/x $rip", "reverse-stepi", "reverse-stepi", "p/x $rip",
                               "p/x $rax", "reverse-continue", "p/x $rip", "p/x $rax", "p/x $rbx", "p/x $rcx",
                               "p/x $eflags", "monitor trace-position", "delete", "continue"});
  INFO(o);
  const std::vector<uint64_t> at = reported_counts(o);
  REQUIRE(at.size() == 3);
  CHECK(at[0] == 0);
  CHECK(contains(o, "its next instruction is record "));
  CHECK(contains(o, "xor eax, eax"));  // the first instruction's record, disassembled
  // The second stop at `store` (0x10014): two ADDs done; the first stop
  // is one loop iteration (5 instructions) earlier.
  CHECK(at[2] + 5 == at[1]);
  CHECK(contains(o, "mov qword ptr [rip + 0xe5], rax"));
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 12);
  CHECK(v[0] == 6);
  CHECK(v[1] == 1);
  CHECK(v[2] == 4);
  CHECK(v[4] == 0x1001e);  // stepi over mov [counter], rax (7 bytes) and inc rbx (3)
  CHECK(v[5] == 0x10014);  // two back: where the stop was
  CHECK(v[6] == 6);
  CHECK(v[7] == 0x10014);  // reverse-continue: the first stop
  CHECK(v[8] == 3);
  CHECK(v[9] == 0);
  CHECK(v[10] == 5);
  // gdb's values are the recording's at the same instruction count.
  const auto second = recorded_registers(trace, at[1]);
  CHECK(second.at("rax") == v[0]);
  CHECK(second.at("rbx") == v[1]);
  CHECK(second.at("rcx") == v[2]);
  CHECK(second.at("rflags") == v[3]);
  const auto first = recorded_registers(trace, at[2]);
  CHECK(first.at("rax") == v[8]);
  CHECK(first.at("rbx") == v[9]);
  CHECK(first.at("rcx") == v[10]);
  CHECK(first.at("rflags") == v[11]);
  // gdb -batch detaches at the end: the replay runs to the recording's
  // end and reports it retraced exactly, every record checked once.
  CHECK(s.wait_exit() == 0);
  CHECK(contains(s.out(), "replay: the run retraced the recording exactly"));
  std::remove(trace.c_str());
}

TEST_CASE("replay --gdb: a replay that leaves its recording stops with SIGABRT and the divergence", "[gdb][replay][cli]") {
  REQUIRE_GDB();
  const std::string trace = tmp("io.trace");
  REQUIRE(shell(kSoftvt + " run --flat " + kProgram + " --record " + trace).status == 0);
  // The record of `out dx, al` with AL = 'o': tag 0x87, count delta 0, a
  // 1-byte write (0x81), port 0xe9 (LEB128 e9 01), value 0x6f
  // (traces/README.md); recorded as 'p' instead, the replay parts there.
  std::vector<uint8_t> f = read_bytes(trace);
  const std::vector<uint8_t> io = {0x87, 0x00, 0x81, 0xe9, 0x01, 0x6f};
  auto it = std::search(f.begin(), f.end(), io.begin(), io.end());
  REQUIRE(it != f.end());
  it[5] = 0x70;
  write_bytes(trace, f);
  Softvt s({"replay", trace});
  const std::string o = s.gdb({"break *0x10040", "continue", "continue", "p/x $rip", "monitor trace-position",
                               "reverse-stepi", "p/x $rip", "stepi", "p/x $rip", "stepi", "p/x $rip"});
  INFO(o);
  CHECK(contains(o, "Breakpoint 1, 0x0000000000010040"));
  CHECK(contains(o, "Program received signal SIGABRT"));
  CHECK(contains(o, "softvt: the replay left its recording"));
  CHECK(contains(o, "replay diverges at instruction count"));
  CHECK(contains(o, "out port 0xe9 size 1 value 0x70"));  // recorded
  CHECK(contains(o, "out port 0xe9 size 1 value 0x6f"));  // replayed
  CHECK(contains(o, "differs: value"));
  CHECK(contains(o, "the replay left the recording at instruction count"));
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 4);
  CHECK(v[0] == 0x10046);  // stopped in front of the OUT whose record differs
  CHECK(v[1] == 0x10044);  // one back: mov al, 'o'
  CHECK(v[2] == 0x10046);  // forward again, up to the divergence
  CHECK(v[3] == 0x10046);  // and no further
  // After gdb detaches the replay ends there and reports the divergence.
  CHECK(s.wait_exit() == 1);
  CHECK(contains(s.out(), "replay diverges at instruction count"));
  std::remove(trace.c_str());
}

TEST_CASE("replay --gdb: killed by gdb, the replay reports what it checked", "[gdb][replay][cli]") {
  REQUIRE_GDB();
  const std::string trace = tmp("kill.trace");
  REQUIRE(shell(kSoftvt + " run --flat " + kProgram + " --record " + trace).status == 0);
  Softvt s({"replay", trace});
  const std::string o = s.gdb({"stepi", "stepi", "stepi", "kill"});
  INFO(o);
  CHECK(s.wait_exit() == 0);
  CHECK(contains(s.out(), "replay: stopped by gdb; the "));
  std::remove(trace.c_str());
}

TEST_CASE("replay --gdb: options", "[gdb][replay][cli]") {
  const auto r = shell(kSoftvt + " replay /nonexistent.trace --wait-gdb");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--wait-gdb needs --gdb"));
  REQUIRE_GDB();
  // monitor trace-position outside a replay says so.
  Softvt s({"run", "--flat", kProgram});
  const std::string o = s.gdb({"monitor trace-position", "kill"});
  CHECK(contains(o, "this run replays no recording"));
}
