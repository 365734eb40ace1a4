// Reverse execution under gdb with inputs from outside the machine
// (traces/trace_gate.h, emu/machine/input_log.h): `run --kernel ... --gdb`
// with COM1 input from standard input and with `--clock host`, and
// `replay FILE --gdb` of recordings that hold inputs. The machine takes
// its inputs at the same places however the debugger stops it, the gate
// keeps every input with its number in the timeline, and a re-execution
// from a snapshot is given the kept ones: stepping back and forward again
// shows the registers and memory of the first pass, the console gets each
// byte once, and a replay still retraces its recording exactly. Driven by
// the real gdb in batch mode; skipped (with the reason) without gdb.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/unit/gdb_cli_support.h"
#include "tests/unit/nasm_support.h"
#include "tests/unit/trace_test_support.h"
#include "traces/format.h"

using namespace softvt::test;
namespace trace = softvt::trace;

namespace {

std::string tmp(const std::string& name) { return "/tmp/softvt_gdb_inputs_" + std::to_string(getpid()) + "_" + name; }

// A multiboot kernel (the a.out kludge: loaded at 1 MiB as it is, entered
// in 32-bit protected mode with paging off) built from nasm source; the
// addresses of its labels come from nasm's listing.
struct Kernel {
  std::string path, source;
  uint64_t address(const std::string& label) const {
    // label_address counts from a flat program's 0x10000; this one is at 1 MiB.
    return label_address(source, label) - 0x10000 + 0x100000;
  }
  ~Kernel() {
    std::remove(path.c_str());
    std::remove(source.c_str());
  }
};

std::unique_ptr<Kernel> multiboot_kernel(const std::string& name, const std::string& body) {
  const std::string src = R"(
bits 32
org 0x100000
COM1 equ 0x3f8
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, 0, 0, start
start:
    mov esp, 0x90000
)" + body;
  auto k = std::make_unique<Kernel>();
  k->source = tmp(name + ".asm");
  k->path = tmp(name + ".kernel");
  std::ofstream(k->source) << src;
  write_bytes(k->path, assemble_nasm(src));
  return k;
}

// Takes every byte COM1 receives (the FIFO off: one byte per look for
// input; the PIT's counter 0 at divisor 100 ends a slice, and so brings a
// look, every 84 us of guest time): at `got` AL holds the byte; the byte
// is stored at 200000H + EDI, EDI counts them, ESI is their FNV-1a hash,
// and each byte but 'q' is echoed to COM1. 'q' stores the hash at
// 200100H and halts with IF = 0 (the machine stays for reverse
// execution); so does a wait of 50 M LSR reads without input.
const char* const kEchoKernel = R"(
    mov al, 0x34               ; counter 0, lobyte/hibyte, mode 2
    out 0x43, al
    mov al, 100
    out 0x40, al
    xor al, al
    out 0x40, al
    xor edi, edi
    mov esi, 0x811c9dc5
    xor ecx, ecx
poll:
    mov dx, COM1 + 5
    in al, dx
    test al, 1                 ; LSR.DR: data ready
    jnz receive
    inc ecx
    cmp ecx, 50000000
    jb poll
    jmp done
receive:
    mov dx, COM1
    in al, dx
got:
    movzx eax, al
    mov [0x200000 + edi], al
    inc edi
    xor esi, eax
    imul esi, esi, 16777619
    cmp al, 'q'
    je done
    mov dx, COM1
    out dx, al
    jmp poll
done:
    mov [0x200100], esi
    cli
    hlt
)";

// Reads the PIT's counter 0 (latched; mode 2, count 65536) into ECX, the
// TSC into EDX:ESI and the RTC's seconds into EBP, counts the samples in
// EDI and folds them into EBX, then spins 300000 instructions: 12
// samples, then CLI; HLT. Under --clock host each PIT and RTC value, and
// the TSC's catching up between slices, are host-clock readings.
const char* const kClockKernel = R"(
    mov al, 0x34
    out 0x43, al
    xor al, al
    out 0x40, al
    out 0x40, al
    xor ebx, ebx
    xor edi, edi
again:
    xor al, al                 ; counter latch command for counter 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx ecx, ax
    rdtsc
    mov esi, eax
    xor al, al                 ; RTC register 0: seconds
    out 0x70, al
    in al, 0x71
    movzx ebp, al
    inc edi
sample:
    add ebx, ecx
    xor ebx, esi
    add ebx, ebp
    mov eax, 150000
delay:
    dec eax
    jnz delay
    cmp edi, 12
    jb again
    cli
    hlt
)";

// The FNV-1a hash of `bytes` (what the echo kernel keeps in ESI).
uint32_t fnv1a(const std::string& bytes) {
  uint32_t h = 0x811c9dc5;
  for (unsigned char b : bytes) h = (h ^ b) * 16777619u;
  return h;
}

// gdb's "x/Nxb ADDR" lines ("0x200000:\t0x78\t0x79..."), in order.
std::vector<std::string> examined(const std::string& o) { return captures(o, R"(0x200000:\t([^\n]*))"); }

// softvt under the stub with standard input read from `input`: the child
// inherits descriptor 0 when the Softvt helper forks it.
std::unique_ptr<Softvt> softvt_with_stdin(const std::vector<std::string>& args, const std::string& input) {
  const int saved = dup(0);
  const int fd = open(input.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  dup2(fd, 0);
  close(fd);
  auto s = std::make_unique<Softvt>(args);
  dup2(saved, 0);
  close(saved);
  return s;
}

std::vector<trace::Record> records_of(const std::string& file) {
  const std::vector<uint8_t> data = read_bytes(file);
  trace::TraceDecoder dec(data.data(), data.size(), file);
  std::vector<trace::Record> records;
  for (trace::Record r; dec.next(r);) records.push_back(r);
  return records;
}

}  // namespace

TEST_CASE("gdb: COM1 input from standard input is fed again to a re-execution, and echoed once", "[gdb][cli]") {
  REQUIRE_GDB();
  const auto k = multiboot_kernel("echo", kEchoKernel);
  const std::string got = hex_address(k->address("got"));
  const std::string in = tmp("echo.in");
  const std::string text = "xyz12q";
  std::ofstream(in) << text;
  auto s = softvt_with_stdin({"run", "--kernel", k->path, "-m", "8"}, in);
  const std::string o = s->gdb({"break *" + got, "continue", "continue", "continue",
                                "p/x $eax", "p/x $esi", "p/x $edi", "x/3xb 0x200000",  // 0-2: the third byte
                                "reverse-continue", "p/x $eax", "p/x $esi",            // 3, 4: the second
                                "reverse-stepi", "p/x $eax",                           // 5: before IN from RBR
                                "stepi", "p/x $eax",                                   // 6: the second byte again
                                "delete", "reverse-continue", "p/x $pc",               // 7: before any input
                                "break *" + got, "continue", "continue", "continue",
                                "p/x $eax", "p/x $esi", "p/x $edi", "x/3xb 0x200000",  // 8-10: the third again
                                "delete", "continue", "p/x $esi", "p/x $edi",          // 11, 12: the end
                                "x/6xb 0x200000", "kill"});
  INFO(o);
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 13);
  CHECK(v[0] == uint8_t(text[2]));
  CHECK(v[1] == fnv1a(text.substr(0, 2)));
  CHECK(v[2] == 2);
  CHECK(v[3] == uint8_t(text[1]));
  CHECK(v[4] == fnv1a(text.substr(0, 1)));
  CHECK((v[5] & 0xff) != uint8_t(text[1]));  // AL holds LSR, not yet the byte
  CHECK((v[6] & 0xff) == uint8_t(text[1]));
  CHECK(contains(o, "No more reverse-execution history."));
  CHECK(v[7] == k->address("start"));  // the history's start: the kernel's entry
  // Forward again through the inputs: the first pass's values.
  CHECK(v[8] == v[0]);
  CHECK(v[9] == v[1]);
  CHECK(v[10] == v[2]);
  CHECK(v[11] == fnv1a(text));
  CHECK(v[12] == text.size());
  const std::vector<std::string> mem = examined(o);
  REQUIRE(mem.size() == 3);
  CHECK(mem[0] == "0x78\t0x79\t0x00");  // "xy", the third not stored yet
  CHECK(mem[1] == mem[0]);
  CHECK(mem[2] == "0x78\t0x79\t0x7a\t0x31\t0x32\t0x71");
  CHECK(s->wait_exit() == 130);
  // Each byte echoed once, however often its OUT was re-executed.
  CHECK(s->out() == text.substr(0, text.size() - 1));
  std::remove(in.c_str());
}

TEST_CASE("gdb: under --clock host a re-execution reads the values the run read", "[gdb][cli]") {
  REQUIRE_GDB();
  const auto k = multiboot_kernel("clock", kClockKernel);
  const std::string sample = hex_address(k->address("sample"));
  Softvt s({"run", "--kernel", k->path, "-m", "8", "--serial", "none", "--clock", "host"});
  const std::vector<std::string> regs = {"p/x $ecx", "p/x $esi", "p/x $ebp", "p/x $edi"};
  std::vector<std::string> cmds = {"break *" + sample, "continue", "continue", "continue"};
  const auto print = [&cmds, &regs] { cmds.insert(cmds.end(), regs.begin(), regs.end()); };
  print();  // 0-3: sample 3
  cmds.insert(cmds.end(), {"continue", "continue", "continue"});
  print();  // 4-7: sample 6 (past the snapshot at 1 M instructions)
  cmds.insert(cmds.end(), {"reverse-continue", "reverse-continue", "reverse-continue"});
  print();  // 8-11: sample 3 again
  // Nine back: before the XCHG of the PIT's bytes (EDI not counted yet),
  // then forward through the PIT, TSC and RTC reads again.
  for (int i = 0; i < 9; ++i) cmds.push_back("reverse-stepi");
  cmds.push_back("p/x $edi");  // 12
  for (int i = 0; i < 9; ++i) cmds.push_back("stepi");
  print();  // 13-16: sample 3 by stepi
  cmds.insert(cmds.end(), {"continue", "continue", "continue"});
  print();  // 17-20: sample 6 again
  cmds.insert(cmds.end(), {"continue"});
  print();  // 21-24: sample 7, new
  cmds.push_back("kill");
  const std::string o = s.gdb(cmds);
  INFO(o);
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 25);
  CHECK(v[3] == 3);
  CHECK(v[7] == 6);
  for (unsigned i = 0; i < 4; ++i) {
    INFO("register " << regs[i]);
    CHECK(v[8 + i] == v[i]);
    CHECK(v[13 + i] == v[i]);
    CHECK(v[17 + i] == v[4 + i]);
  }
  CHECK(v[12] == 2);
  CHECK(v[24] == 7);
  // Guest time went on: the TSC (low half) of sample 6 is past sample 3's.
  CHECK(v[5] != v[1]);
  CHECK(s.wait_exit() == 130);
}

TEST_CASE("replay --gdb: a recording's COM1 input drives the replay forwards and backwards", "[gdb][replay][cli]") {
  REQUIRE_GDB();
  const auto k = multiboot_kernel("replay_echo", kEchoKernel);
  const std::string got = hex_address(k->address("got"));
  const std::string in = tmp("replay_echo.in"), t = tmp("replay_echo.trace");
  const std::string text = "xyz12q";
  std::ofstream(in) << text;
  const CliResult r = shell(kSoftvt + " run --kernel " + k->path + " -m 8 --record " + t + " < " + in);
  INFO(r.err);
  REQUIRE(r.status == 4);  // halted after 'q'
  REQUIRE(r.out == text.substr(0, text.size() - 1));
  unsigned inputs = 0;
  for (const trace::Record& x : records_of(t)) inputs += x.kind == trace::Kind::SerialIn;
  REQUIRE(inputs == text.size());
  // The replay has no standard input: everything comes from the recording.
  Softvt s({"replay", t});
  const std::string o = s.gdb({"break *" + got, "continue", "continue", "p/x $eax",  // 0: the second byte
                               "reverse-stepi", "p/x $eax",                        // 1: LSR
                               "stepi", "p/x $eax",                                // 2: the second byte again
                               "reverse-continue", "p/x $eax",                     // 3: the first byte
                               "continue", "continue", "p/x $eax", "p/x $esi",     // 4, 5: the third byte
                               "delete", "detach"});
  INFO(o);
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 6);
  CHECK(v[0] == uint8_t(text[1]));
  CHECK((v[1] & 0xff) != uint8_t(text[1]));
  CHECK((v[2] & 0xff) == uint8_t(text[1]));
  CHECK((v[3] & 0xff) == uint8_t(text[0]));  // EAX's upper bits: the multiboot magic's until the first MOVZX
  CHECK(v[4] == uint8_t(text[2]));
  CHECK(v[5] == fnv1a(text.substr(0, 2)));
  CHECK_FALSE(contains(o, "SIGABRT"));
  // Detached, the replay runs to the recording's end, checked.
  CHECK(s.wait_exit() == 0);
  CHECK(contains(s.out(), "retraced the recording exactly"));
  for (const std::string& f : {in, t}) std::remove(f.c_str());
}

TEST_CASE("replay --gdb: a --clock host recording is replayed with its readings, forwards and backwards",
          "[gdb][replay][cli]") {
  REQUIRE_GDB();
  const auto k = multiboot_kernel("replay_clock", kClockKernel);
  const std::string sample = hex_address(k->address("sample"));
  const std::string t = tmp("replay_clock.trace");
  const CliResult r = shell(kSoftvt + " run --kernel " + k->path + " -m 8 --serial none --clock host --record " + t);
  INFO(r.err);
  REQUIRE(r.status == 4);
  Softvt s({"replay", t});
  const std::string o = s.gdb({"break *" + sample, "continue", "continue", "p/x $ecx", "p/x $esi", "p/x $ebp",
                               "continue", "continue", "continue", "reverse-continue", "reverse-continue",
                               "reverse-continue", "p/x $ecx", "p/x $esi", "p/x $ebp", "p/x $edi", "delete",
                               "detach"});
  INFO(o);
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 7);
  CHECK(v[3] == v[0]);
  CHECK(v[4] == v[1]);
  CHECK(v[5] == v[2]);
  CHECK(v[6] == 2);
  CHECK_FALSE(contains(o, "SIGABRT"));
  CHECK(s.wait_exit() == 0);
  CHECK(contains(s.out(), "retraced the recording exactly"));
  std::remove(t.c_str());
}

TEST_CASE("replay: host-clock readings a recording took after the run's last instruction are passed over",
          "[replay][cli]") {
  // Recordings made before the machine took its inputs once per slice
  // boundary end with a reading taken as the last slice ended.
  const auto k = multiboot_kernel("trailing", kClockKernel);
  const std::string t = tmp("trailing.trace");
  REQUIRE(shell(kSoftvt + " run --kernel " + k->path + " -m 8 --serial none --clock host --record " + t).status == 4);
  const std::vector<uint8_t> data = read_bytes(t);
  trace::TraceDecoder dec(data.data(), data.size(), t);
  std::vector<trace::Record> recs;
  for (trace::Record x; dec.next(x);) recs.push_back(x);
  REQUIRE(recs.back().kind == trace::Kind::End);
  trace::Record reading;
  reading.kind = trace::Kind::HostClock;
  reading.cpu = recs.back().cpu;
  reading.icount = recs.back().icount + 1;
  reading.sub = 0;
  for (auto it = recs.rbegin(); it != recs.rend(); ++it)
    if (it->kind == trace::Kind::HostClock && it->sub == 0) {
      reading.a = it->a + 1000;
      break;
    }
  recs.insert(recs.end() - 1, reading);
  std::vector<uint8_t> out = trace::encode_header(dec.header());
  trace::TraceEncoder enc;
  for (const trace::Record& x : recs) enc.encode(x);
  out.insert(out.end(), enc.buffer().begin(), enc.buffer().end());
  write_bytes(t, out);
  const CliResult p = shell(kSoftvt + " replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  CHECK(contains(p.out, "retraced the recording exactly"));
  std::remove(t.c_str());
}

TEST_CASE("replay --gdb: a recording stopped by Ctrl-C stops there, before and after stepping back", "[gdb][replay][cli]") {
  REQUIRE_GDB();
  // Spins until SIGINT: the machine takes it between two slices.
  const auto k = multiboot_kernel("spin", "spin:\n    inc ebx\n    jmp spin\n");
  const std::string t = tmp("spin.trace");
  const CliResult r = shell("{ " + kSoftvt + " run --kernel " + k->path +
                            " --serial none --max-insns 20000000000 --record " + t +
                            " & p=$!; sleep 0.2; kill -INT $p; wait $p; }");
  INFO(r.err);
  REQUIRE(r.status == 130);
  Softvt s({"replay", t});
  const std::string o = s.gdb({"continue", "p/x $ebx", "reverse-stepi", "p/x $ebx", "stepi", "p/x $ebx",
                               "continue", "p/x $ebx", "detach"});
  INFO(o);
  const std::vector<uint64_t> v = printed_values(o);
  REQUIRE(v.size() == 4);
  CHECK(v[0] > 0);
  CHECK(v[1] + 1 == v[0]);  // back before the last INC
  CHECK(v[2] == v[0]);
  CHECK(v[3] == v[0]);      // the stop again, where the recording's Ctrl-C came
  CHECK(contains(o, "softvt: stopped by SIGINT (Ctrl-C)"));
  CHECK_FALSE(contains(o, "SIGABRT"));
  CHECK(s.wait_exit() == 0);
  CHECK(contains(s.out(), "retraced the recording exactly"));
  std::remove(t.c_str());
}
