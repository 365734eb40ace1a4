// The trace tools through the command line (traces/README.md): record
// guest runs with `softvt run --record`, and check `trace show`, `trace
// stats`, `trace diff` and `replay` against facts of the programs run,
// the VMX test kernel's exits by name, and bad input (missing, truncated,
// corrupt traces; changed images) answered with a message and an exit
// status, never a crash.
#include <catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.h"
#include "flat_run_support.h"
#include "nasm_support.h"
#include "trace_test_support.h"

using softvt::test::CliResult;
using softvt::test::shell;
using softvt::test::slurp;

namespace {

using softvt::test::env_path;
std::string softvt_exe() { return env_path("SOFTVT"); }
std::string tmp(const std::string& name) { return "/tmp/softvt_trace_" + std::to_string(getpid()) + "_" + name; }

using softvt::test::read_bytes;
using softvt::test::write_bytes;

// A long64 flat image from nasm source (org 0x10000 prepended).
std::string flat_image(const std::string& name, const std::string& body) {
  const std::string path = tmp(name + ".bin");
  write_bytes(path, softvt::test::assemble_nasm("bits 64\norg 0x10000\n" + body));
  return path;
}

CliResult run(const std::string& args) { return shell(softvt_exe() + " " + args); }

// The "insns" of a --dump-state JSON document.
uint64_t json_insns(const std::string& json) {
  std::smatch m;
  REQUIRE(std::regex_search(json, m, std::regex("\"insns\": \"(0x[0-9a-f]+)\"")));
  return std::stoull(m[1].str(), nullptr, 16);
}

uint64_t stats_number(const std::string& out, const std::string& label) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(label + ": ([0-9]+)")));
  return std::stoull(m[1].str());
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// The instruction count a show line starts with (-1 for header lines).
long long line_icount(const std::string& l) {
  if (l.empty() || l[0] == '#') return -1;
  return std::stoll(l);
}

const char* const kIoProgram =
    "mov eax, 1\n"
    "mov ebx, 2\n"
    "add eax, ebx\n"
    "mov al, 0x41\n"
    "out 0xe9, al\n"
    "hlt\n";

}  // namespace

TEST_CASE("the demo's trace: retired count, its #DE and INT3, and its way from real to 64-bit mode") {
  const std::string demo = softvt_exe().substr(0, softvt_exe().rfind('/')) + "/demo.bin";
  const std::string t = tmp("demo.trace"), st = tmp("demo.json");
  const CliResult r = run("run --flat " + demo + " --mode real16 --record " + t + " --dump-state " + st);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const CliResult s = run("trace stats " + t);
  INFO(s.out << s.err);
  REQUIRE(s.status == 0);
  CHECK(stats_number(s.out, "instructions retired") == json_insns(slurp(st)));
  CHECK(s.out.find("end: hlt") != std::string::npos);
  CHECK(s.out.find("#DE  ( 0): 1") != std::string::npos);
  CHECK(s.out.find("0x03 software exception (INT3/INTO): 1") != std::string::npos);
  CHECK(s.out.find("VM exits by reason: 0") != std::string::npos);
  const CliResult e = run("trace show " + t + " --events-only");
  REQUIRE(e.status == 0);
  std::vector<std::string> modes;
  for (const std::string& l : lines(e.out)) {
    CHECK(l.find("  ") != 10);  // no instruction lines
    const size_t m = l.find("-- mode: ");
    if (m != std::string::npos) modes.push_back(l.substr(m + 9));
  }
  CHECK(modes == std::vector<std::string>{"real mode", "16-bit protected mode", "32-bit protected mode",
                                          "32-bit compatibility mode", "64-bit mode"});
  std::remove(t.c_str());
  std::remove(st.c_str());
}

TEST_CASE("an unhandled #UD in the flat runner: the exception cascade of SDM 6.15 in the trace") {
  // IDTR limit 0: delivering #UD faults with #GP(IDT entry 6 | IDT | EXT =
  // 0x33), delivering that with #GP(0x6b) (a double fault), delivering the
  // #DF with #GP(0x43): shutdown.
  const std::string img = flat_image("ud", "mov eax, 1\nmov ebx, 2\nud2\n");
  const std::string t = tmp("ud.trace");
  REQUIRE(run("run --flat " + img + " --record " + t).status == 0);
  const CliResult s = run("trace show " + t + " --events-only");
  INFO(s.out << s.err);
  REQUIRE(s.status == 0);
  const std::vector<std::string> want = {"exception #UD(6)", "exception #GP(13) error 0x33",
                                         "exception #GP(13) error 0x6b", "exception #GP(13) error 0x43"};
  size_t at = 0;
  for (const std::string& w : want) {
    at = s.out.find("         2 cpu0 -- " + w, at);
    CHECK(at != std::string::npos);
  }
  CHECK(s.out.find("end: shutdown after 2 instructions") != std::string::npos);
  const CliResult all = run("trace show " + t);
  CHECK(all.out.find("ud2") != std::string::npos);
  CHECK(all.out.find("mov ebx, 2") != std::string::npos);
  std::remove(t.c_str());
  std::remove(img.c_str());
}

TEST_CASE("trace show: --from/--to, --cpu, JSON, registers and memory writes") {
  const std::string img = flat_image("io", std::string("mov qword [0x20000], 0x1234\n") + kIoProgram);
  const std::string t = tmp("io.trace");
  REQUIRE(run("run --flat " + img + " --record " + t + " --record-regs --record-mem").status == 0);
  SECTION("range") {
    const CliResult r = run("trace show " + t + " --from 2 --to 3");
    REQUIRE(r.status == 0);
    std::vector<long long> counts;
    for (const std::string& l : lines(r.out))
      if (line_icount(l) >= 0 && l.find("-- end:") == std::string::npos) counts.push_back(line_icount(l));
    REQUIRE(!counts.empty());
    for (long long c : counts) CHECK((c >= 2 && c <= 3));
    CHECK(r.out.find("mov ebx, 2") != std::string::npos);  // instruction 2 (the store is 0)
    CHECK(r.out.find("mov al, 0x41") == std::string::npos);
  }
  SECTION("another CPU has nothing") {
    const CliResult r = run("trace show " + t + " --cpu 1 --events-only");
    REQUIRE(r.status == 0);
    for (const std::string& l : lines(r.out)) CHECK((line_icount(l) < 0 || l.find("end:") != std::string::npos));
  }
  SECTION("registers changed and memory written") {
    const CliResult r = run("trace show " + t);
    INFO(r.out);
    CHECK(r.out.find("write [0x20000] size 8 value 0x1234") != std::string::npos);
    CHECK(r.out.find("regs: rax=0x1\n") != std::string::npos);  // after mov eax, 1
    CHECK(r.out.find("regs: rax=0x3 rflags=0x6\n") != std::string::npos);  // 1 + 2: PF set (3 has two bits)
    CHECK(r.out.find("out port 0xe9 size 1 value 0x41") != std::string::npos);
  }
  SECTION("JSON") {
    const CliResult r = run("trace show " + t + " --format json");
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind("[\n{\"kind\":\"header\"", 0) == 0);
    CHECK(r.out.size() > 3);
    CHECK(r.out.substr(r.out.size() - 3) == "\n]\n");
    CHECK(r.out.find("{\"icount\":5,\"cpu\":0,\"kind\":\"io\",\"port\":\"0xe9\",\"size\":1,\"direction\":\"write\","
                     "\"value\":\"0x41\"}") != std::string::npos);
    CHECK(r.out.find("\"asm\":\"add eax, ebx\"") != std::string::npos);
  }
  SECTION("bad options") {
    CHECK(run("trace show " + t + " --format xml").status == 2);
    CHECK(run("trace show").status == 2);
    CHECK(run("trace frobnicate " + t).status == 2);
  }
  std::remove(t.c_str());
  std::remove(img.c_str());
}

TEST_CASE("trace diff names the first instruction where two programs part") {
  const std::string a = flat_image("a", "mov eax, 1\nmov ebx, 2\nadd eax, ebx\nhlt\n");
  const std::string b = flat_image("b", "mov eax, 1\nmov ebx, 2\nsub eax, ebx\nhlt\n");
  const std::string ta = tmp("a.trace"), tb = tmp("b.trace");
  REQUIRE(run("run --flat " + a + " --record " + ta).status == 0);
  REQUIRE(run("run --flat " + b + " --record " + tb).status == 0);
  const CliResult same = run("trace diff " + ta + " " + ta);
  CHECK(same.status == 0);
  CHECK(same.out.find("identical") != std::string::npos);
  const CliResult d = run("trace diff " + ta + " " + tb);
  INFO(d.out << d.err);
  CHECK(d.status == 1);
  CHECK(d.out.find("(instruction count 2, cpu 0)") != std::string::npos);
  CHECK(d.out.find("add eax, ebx") != std::string::npos);
  CHECK(d.out.find("sub eax, ebx") != std::string::npos);
  CHECK(d.out.find("differs: instruction bytes") != std::string::npos);
  CHECK(d.out.find("mov ebx, 2") != std::string::npos);  // the context before it
  CHECK(d.out.find("the headers differ in options") != std::string::npos);
  // Register and memory detail recorded on one side only is not compared.
  const std::string tr = tmp("a_regs.trace");
  REQUIRE(run("run --flat " + a + " --record " + tr + " --record-regs --record-mem").status == 0);
  const CliResult detail = run("trace diff " + ta + " " + tr);
  INFO(detail.out);
  CHECK(detail.status == 0);
  CHECK(detail.out.find("the headers differ in recorded detail") != std::string::npos);
  for (const std::string& f : {a, b, ta, tb, tr}) std::remove(f.c_str());
}

TEST_CASE("replay: an unchanged run retraces exactly; a changed image or a tampered trace is named") {
  const std::string img = flat_image("replay", kIoProgram);
  const std::string t = tmp("replay.trace");
  REQUIRE(run("run --flat " + img + " --record " + t).status == 0);
  SECTION("identical") {
    const CliResult r = run("replay " + t);
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("retraced the recording exactly") != std::string::npos);
  }
  SECTION("a recorded I/O value changed: the replay names that record") {
    std::vector<uint8_t> f = read_bytes(t);
    // The OUT's record: tag 0x87, count delta 0, write of 1 byte (0x81),
    // port 0xe9 (LEB128 e9 01), value 0x41 (traces/README.md).
    const std::vector<uint8_t> io = {0x87, 0x00, 0x81, 0xe9, 0x01, 0x41};
    auto it = std::search(f.begin(), f.end(), io.begin(), io.end());
    REQUIRE(it != f.end());
    it[5] = 0x42;
    write_bytes(t, f);
    const CliResult r = run("replay " + t);
    INFO(r.out << r.err);
    CHECK(r.status == 1);
    CHECK(r.out.find("replay diverges at instruction count 4, cpu 0") != std::string::npos);
    CHECK(r.out.find("recorded:          4 cpu0 -- out port 0xe9 size 1 value 0x42") != std::string::npos);
    CHECK(r.out.find("replayed:          4 cpu0 -- out port 0xe9 size 1 value 0x41") != std::string::npos);
    CHECK(r.out.find("differs: value") != std::string::npos);
  }
  SECTION("the image changed since the recording") {
    std::vector<uint8_t> b = read_bytes(img);
    b[1] ^= 1;
    write_bytes(img, b);
    const CliResult r = run("replay " + t);
    CHECK(r.status == 2);
    CHECK(r.err.find("has changed since the recording") != std::string::npos);
    CHECK(r.err.find(img) != std::string::npos);
  }
  SECTION("a run that stops earlier than the recording") {
    const std::string shorter = tmp("short.trace");
    REQUIRE(run("run --flat " + img + " --record " + shorter + " --max-insns 3").status == 0);
    const CliResult d = run("trace diff " + t + " " + shorter);
    CHECK(d.status == 1);
    CHECK(d.out.find("end: limit after 3 instructions") != std::string::npos);
    std::remove(shorter.c_str());
  }
  std::remove(t.c_str());
  std::remove(img.c_str());
}

TEST_CASE("the VMX test kernel: its VM exits by name in stats and the SVG, guest time, replay") {
  const std::string bin = env_path("SOFTVT_GUEST_DIR") + "/vmx_exits_long64.bin";
  const std::string t = tmp("vmx.trace"), svg = tmp("vmx.svg");
  REQUIRE(run("run --flat " + bin + " --record " + t).status == 0);
  const CliResult s = run("trace stats " + t + " --svg " + svg);
  INFO(s.out << s.err);
  REQUIRE(s.status == 0);
  // Exits the kernel provokes (tests/guest/vmx_exits_long64.asm), by the SDM's names.
  for (const char* name : {"CPUID", "VMCALL", "HLT", "RDMSR", "WRMSR", "Control-register accesses", "I/O instruction",
                           "RDTSC", "INVLPG", "Triple fault", "VM-entry failure due to invalid guest state"})
    CHECK(s.out.find(name) != std::string::npos);
  CHECK(s.out.find("VMLAUNCH 1") != std::string::npos);
  CHECK(s.out.find("guest CS DPL: 1") != std::string::npos);  // a failed check, by name
  std::smatch m;
  REQUIRE(std::regex_search(s.out, m, std::regex("in L2 \\(guest mode\\): ([0-9]+)")));
  CHECK(std::stoull(m[1].str()) > 0);
  const std::string pic = slurp(svg);
  CHECK(pic.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(pic.find("CPUID") != std::string::npos);
  CHECK(pic.find("</svg>") != std::string::npos);
  const CliResult e = run("trace show " + t + " --events-only");
  CHECK(e.out.find("VM exit: VMCALL (reason 0x12)") != std::string::npos);
  CHECK(e.out.find("VM entry (VMLAUNCH)") != std::string::npos);
  CHECK(e.out.find("VM entry failed: check 'guest CS DPL'") != std::string::npos);
  const CliResult r = run("replay " + t);
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  std::remove(t.c_str());
  std::remove(svg.c_str());
}

TEST_CASE("the PC machine: record a multiboot kernel and replay it") {
  const std::string k = env_path("SOFTVT_KERNEL_DIR") + "/pc_devices.elf";
  const std::string t = tmp("pc.trace");
  const CliResult r = run("run --kernel " + k + " --serial none --record " + t);
  INFO(r.err);
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex("after ([0-9]+) instructions")));
  const CliResult s = run("trace stats " + t);
  CHECK(stats_number(s.out, "instructions retired") == std::stoull(m[1].str()));
  CHECK(s.out.find("external interrupt") != std::string::npos);  // its timer interrupts
  CHECK(s.out.find("[0x3f8: ") != std::string::npos);             // COM1
  const CliResult p = run("replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  std::remove(t.c_str());
}

TEST_CASE("the PC machine: a kernel named by a relative path replays from any directory") {
  // The multiboot command line starts with the kernel's path as given,
  // and pc_devices prints it: a replay that named the kernel by its
  // absolute path ran 16 instructions more per character and parted from
  // the recording at the first OUT to COM1 of the path.
  const std::string dir = env_path("SOFTVT_KERNEL_DIR"), t = tmp("relative.trace");
  const CliResult r = shell("cd " + dir + " && " + softvt_exe() + " run --kernel ./pc_devices.elf --serial stdio --record " + t +
                            " </dev/null");
  INFO(r.err);
  REQUIRE(r.status == 33);
  CHECK(r.out.find("cmdline: ./pc_devices.elf \n") != std::string::npos);
  CHECK(run("trace show " + t + " --to 0").out.find("# options: --kernel ./pc_devices.elf\n") != std::string::npos);
  const CliResult p = shell("cd / && " + softvt_exe() + " replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  std::remove(t.c_str());
}

TEST_CASE("recording options: bad paths and combinations are named") {
  const std::string img = flat_image("opts", "hlt\n");
  CliResult r = run("run --flat " + img + " --record /nonexistent/dir/x.trace");
  CHECK(r.status == 2);
  CHECK(r.err.find("--record: cannot write '/nonexistent/dir/x.trace'") != std::string::npos);
  r = run("run --flat " + img + " --record-regs");
  CHECK(r.status == 2);
  CHECK(r.err.find("--record-regs/--record-mem need --record FILE") != std::string::npos);
  r = run("run --flat " + img + " --record " + tmp("k.trace") + " --accel kvm");
  CHECK(r.status == 2);
  CHECK(r.err.find("--record needs --accel interp") != std::string::npos);
  // --trace and --record together: both files are written.
  const std::string t = tmp("both.trace"), txt = tmp("both.txt");
  REQUIRE(run("run --flat " + img + " --record " + t + " --trace " + txt).status == 0);
  CHECK(slurp(txt).find("hlt") != std::string::npos);
  CHECK(run("trace show " + t).out.find("hlt") != std::string::npos);
  for (const std::string& f : {img, t, txt}) std::remove(f.c_str());
}

TEST_CASE("fuzz: every tool answers truncated and corrupt traces with a message, never a crash") {
  const std::string img = flat_image("fuzz", std::string("mov ecx, 20\nl: dec ecx\njnz l\n") + kIoProgram);
  const std::string good = tmp("good.trace"), bad = tmp("bad.trace");
  REQUIRE(run("run --flat " + img + " --record " + good + " --record-regs").status == 0);
  const std::vector<uint8_t> g = read_bytes(good);
  REQUIRE(g.size() > 100);
  std::mt19937_64 rng(42);
  const std::vector<std::string> tools = {"trace show " + bad, "trace show " + bad + " --format json",
                                          "trace stats " + bad, "trace diff " + good + " " + bad, "replay " + bad};
  for (int i = 0; i < 60; ++i) {
    std::vector<uint8_t> f = g;
    const bool truncated = i % 2 == 0;
    if (truncated) f.resize(rng() % f.size());
    else
      for (int k = 0; k < 1 + i % 5; ++k) f[rng() % f.size()] ^= uint8_t(1 + rng() % 255);
    write_bytes(bad, f);
    for (const std::string& tool : tools) {
      const CliResult r = run(tool);
      INFO(tool << " on mutation " << i << " (" << f.size() << " bytes)\n" << r.err);
      REQUIRE(r.status >= 0);  // exited: no crash, no signal
      CHECK(r.status <= 2);
      if (r.status == 2) CHECK(!r.err.empty());
      if (truncated && tool.rfind("trace diff", 0) != 0) {
        // A truncated trace always lacks its end record: rejected with the
        // file and the offset named.
        CHECK(r.status == 2);
        CHECK(r.err.find(bad) != std::string::npos);
        CHECK(r.err.find("byte offset") != std::string::npos);
      }
    }
  }
  const CliResult missing = run("trace stats " + tmp("missing.trace"));
  CHECK(missing.status == 2);
  CHECK(missing.err.find("No such file") != std::string::npos);
  for (const std::string& f : {img, good, bad}) std::remove(f.c_str());
}
