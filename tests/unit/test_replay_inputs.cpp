// Recorded inputs (traces/README.md "Inputs"): a PC run that reads COM1
// input from standard input, or guest time from the host clock (--clock
// host), records each input where it enters the machine; `softvt replay`
// feeds the recorded inputs back (with no standard input, and whatever
// the host clock says) and must retrace the run exactly, while an altered
// input record must make it part from the recording.
#include <catch.hpp>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_support.h"
#include "flat_run_support.h"
#include "nasm_support.h"
#include "trace_test_support.h"
#include "traces/format.h"

using softvt::test::CliResult;
using softvt::test::shell;
using softvt::test::slurp;
namespace trace = softvt::trace;

namespace {

std::string tmp(const std::string& name) { return "/tmp/softvt_inputs_" + std::to_string(getpid()) + "_" + name; }
CliResult run(const std::string& args) { return shell(softvt::test::env_path("SOFTVT") + " " + args); }

using softvt::test::read_bytes;
using softvt::test::write_bytes;

// A multiboot kernel (the a.out kludge: loaded at 1 MiB as it is, entered
// in 32-bit protected mode with paging off) from nasm source. `putc` and
// `puthex` (EBX as 8 hex digits) write to COM1; `exit` ends the run
// through isa-debug-exit with value AL (exit status 2 * AL + 1).
std::string multiboot_kernel(const std::string& name, const std::string& body) {
  const std::string src = R"(
bits 32
org 0x100000
COM1 equ 0x3f8
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, 0, 0, start
start:
    mov esp, 0x90000
)" + body + R"(
exit:
    out 0xf4, al
    cli
    hlt
putc:
    push edx
    mov dx, COM1
    out dx, al
    pop edx
    ret
puthex:
    mov ecx, 8
.digit:
    rol ebx, 4
    mov al, bl
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    call putc
    loop .digit
    ret
)";
  const std::string path = tmp(name + ".kernel");
  write_bytes(path, softvt::test::assemble_nasm(src));
  return path;
}

// Echoes every byte COM1 receives until 'q', then exits with status 33;
// without input for 50 M LSR polls it exits with status 35. COM1's FIFO
// stays off (a byte per look for input: the machine looks between
// slices), and the PIT's counter 0 runs at about 12 kHz (IRQ0 masked by
// IF = 0) so that slices, and looks, come every 84 us of guest time.
const char* const kEchoKernel = R"(
    mov al, 0x34               ; counter 0, lobyte/hibyte, mode 2
    out 0x43, al
    mov al, 100
    out 0x40, al
    xor al, al
    out 0x40, al
    xor edi, edi
poll:
    mov dx, COM1 + 5
    in al, dx
    test al, 1                 ; LSR.DR: data ready
    jnz got
    inc edi
    cmp edi, 50000000
    jb poll
    mov al, 0x11
    jmp exit
got:
    mov dx, COM1
    in al, dx
    cmp al, 'q'
    je done
    call putc
    jmp poll
done:
    mov al, 0x10
    jmp exit
)";

// Reads the PIT (counter 0 latched, mode 2), the TSC and the RTC seconds
// 4000 times with IF = 0, folds them into EBX, prints it and exits with
// status 33: under --clock host every value is a host-clock reading.
const char* const kClockKernel = R"(
    mov al, 0x34               ; counter 0, lobyte/hibyte, mode 2
    out 0x43, al
    xor al, al
    out 0x40, al
    out 0x40, al               ; count 65536
    mov esi, 4000
    xor ebx, ebx
again:
    xor al, al                 ; counter latch command for counter 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx eax, ax
    add ebx, eax
    rdtsc
    xor ebx, eax
    xor al, al                 ; RTC register 0: seconds
    out 0x70, al
    in al, 0x71
    rol ebx, 3
    xor bl, al
    dec esi
    jnz again
    call puthex
    mov al, 0x10
    jmp exit
)";

// Decodes `file`, lets `edit` change its records, and writes them back
// encoded as the recorder would.
template <class Edit>
void rewrite_trace(const std::string& file, Edit edit) {
  const std::vector<uint8_t> data = read_bytes(file);
  trace::TraceDecoder dec(data.data(), data.size(), file);
  std::vector<trace::Record> records;
  for (trace::Record r; dec.next(r);) records.push_back(r);
  edit(records);
  std::vector<uint8_t> out = trace::encode_header(dec.header());
  trace::TraceEncoder enc;
  for (const trace::Record& r : records) enc.encode(r);
  out.insert(out.end(), enc.buffer().begin(), enc.buffer().end());
  write_bytes(file, out);
}

std::vector<trace::Record> records_of(const std::string& file) {
  const std::vector<uint8_t> data = read_bytes(file);
  trace::TraceDecoder dec(data.data(), data.size(), file);
  std::vector<trace::Record> records;
  for (trace::Record r; dec.next(r);) records.push_back(r);
  return records;
}

}  // namespace

TEST_CASE("COM1 input from standard input is recorded, and a replay without input retraces it") {
  const std::string k = multiboot_kernel("echo", kEchoKernel);
  const std::string in = tmp("echo.in"), t = tmp("echo.trace");
  const std::string text = "hello from standard input, softvt echo!\nq";
  std::ofstream(in) << text;
  const CliResult r = run("run --kernel " + k + " --record " + t + " < " + in);
  INFO(r.err);
  REQUIRE(r.status == 33);
  CHECK(r.out == text.substr(0, text.size() - 1));

  SECTION("trace show names the input records in words; stats counts them") {
    const std::vector<trace::Record> recs = records_of(t);
    std::string received;
    unsigned inputs = 0;
    for (const trace::Record& x : recs)
      if (x.kind == trace::Kind::SerialIn) received += x.text, ++inputs;
    CHECK(received == text);
    CHECK(inputs == text.size());  // a byte per look: the receiver holds one without its FIFO
    const CliResult s = run("trace show " + t + " --events-only");
    CHECK(s.out.find("# detail: inputs") != std::string::npos);
    CHECK(s.out.find("-- input: COM1 receives 1 byte \"h\" (poll 0)") != std::string::npos);
    CHECK(s.out.find("-- input: COM1 receives 1 byte \"\\n\" (poll ") != std::string::npos);
    CHECK(run("trace stats " + t).out.find("inputs: 41 bytes of COM1 input, 0 host-clock readings") !=
          std::string::npos);
    CHECK(run("trace show " + t + " --format json --events-only").out.find(
              "\"kind\":\"serial-input\",\"device\":\"com1\",\"poll\":") != std::string::npos);
  }
  SECTION("the replay takes the input from the trace, not from standard input") {
    const CliResult p = run("replay " + t + " < /dev/null");
    INFO(p.out << p.err);
    CHECK(p.status == 0);
    CHECK(p.out.find("retraced the recording exactly") != std::string::npos);
  }
  SECTION("an altered input byte makes the replay part where the guest reads it") {
    rewrite_trace(t, [](std::vector<trace::Record>& rs) {
      for (trace::Record& x : rs)
        if (x.kind == trace::Kind::SerialIn) {
          x.text[0] = 'j';  // "hello" -> "jello"
          return;
        }
    });
    const CliResult p = run("replay " + t + " < /dev/null");
    INFO(p.out << p.err);
    CHECK(p.status == 1);
    // The guest's read of RBR: 'h' recorded, 'j' replayed.
    CHECK(p.out.find("recorded:         13 cpu0 -- in port 0x3f8 size 1 value 0x68\n") != std::string::npos);
    CHECK(p.out.find("replayed:         13 cpu0 -- in port 0x3f8 size 1 value 0x6a\n") != std::string::npos);
  }
  SECTION("an input moved to a later poll makes the replay part at the guest's LSR read") {
    rewrite_trace(t, [](std::vector<trace::Record>& rs) {
      for (trace::Record& x : rs)
        if (x.kind == trace::Kind::SerialIn) {
          ++x.a;
          return;
        }
    });
    const CliResult p = run("replay " + t + " < /dev/null");
    INFO(p.out << p.err);
    CHECK(p.status == 1);
  }
  for (const std::string& f : {k, in, t}) std::remove(f.c_str());
}

TEST_CASE("--clock host readings are recorded, and a replay retraces the run whatever the host clock says") {
  const std::string k = multiboot_kernel("clock", kClockKernel);
  const std::string t = tmp("clock.trace");
  const CliResult r = run("run --kernel " + k + " --clock host --serial none --record " + t);
  INFO(r.err);
  REQUIRE(r.status == 33);
  const std::vector<trace::Record> recs = records_of(t);
  unsigned monotonic = 0, wall = 0;
  for (const trace::Record& x : recs)
    if (x.kind == trace::Kind::HostClock) ++(x.sub == 0 ? monotonic : wall);
  CHECK(wall == 1);            // the RTC's start
  CHECK(monotonic >= 8000);    // at least the PIT and RTC reads of the loop

  SECTION("the replay retraces it: every PIT, TSC and RTC value the guest read") {
    const CliResult p = run("replay " + t);
    INFO(p.out << p.err);
    CHECK(p.status == 0);
    const CliResult s = run("trace show " + t + " --events-only");
    CHECK(s.out.find("-- input: host wall clock reads ") != std::string::npos);
    CHECK(s.out.find("-- input: host clock reads ") != std::string::npos);
  }
  SECTION("an altered reading makes the replay part at the PIT read that used it") {
    rewrite_trace(t, [](std::vector<trace::Record>& rs) {
      // The reading that latches the PIT's count the 100th time: it follows
      // the record of the OUT to 0x43 (an OUT is recorded before the device
      // sees it).
      unsigned latches = 0;
      for (size_t i = 0; i + 1 < rs.size(); ++i)
        if (rs[i].kind == trace::Kind::Io && rs[i].a == 0x43 && (rs[i].sub & 0x80) && ++latches == 100) {
          REQUIRE(rs[i + 1].kind == trace::Kind::HostClock);
          rs[i + 1].a += 1000000;  // 1 ms later: about 1193 PIT ticks
          return;
        }
      FAIL("fewer than 100 PIT latches");
    });
    const CliResult p = run("replay " + t);
    INFO(p.out << p.err);
    CHECK(p.status == 1);
    CHECK(p.out.find("in port 0x40 size 1") != std::string::npos);
  }
  for (const std::string& f : {k, t}) std::remove(f.c_str());
}

TEST_CASE("a Ctrl-C that stopped a recording stops its replay at the same instruction") {
  // Spins until SIGINT: the machine takes it between two slices.
  const std::string k = multiboot_kernel("spin", "spin:\njmp spin\n");
  const std::string t = tmp("sigint.trace");
  const CliResult r = shell("{ " + softvt::test::env_path("SOFTVT") + " run --kernel " + k +
                            " --serial none --max-insns 20000000000 --record " + t +
                            " & p=$!; sleep 0.2; kill -INT $p; wait $p; }");
  INFO(r.err);
  REQUIRE(r.status == 130);
  CHECK(r.err.find("stopped by SIGINT") != std::string::npos);
  CHECK(run("trace show " + t + " --events-only").out.find("-- input: SIGINT (Ctrl-C) stops the run") !=
        std::string::npos);
  const CliResult p = run("replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  CHECK(p.out.find("retraced the recording exactly") != std::string::npos);
  for (const std::string& f : {k, t}) std::remove(f.c_str());
}

TEST_CASE("a version 1 trace (no input records) is still read; an unknown version is refused by number") {
  const std::string k = multiboot_kernel("v1", "mov al, 0x10\njmp exit\n");
  const std::string t = tmp("v1.trace");
  REQUIRE(run("run --kernel " + k + " --serial none --record " + t).status == 33);
  std::vector<uint8_t> b = read_bytes(t);
  REQUIRE(b[8] == 2);
  b[8] = 1;  // the records of this run are all version 1 records
  write_bytes(t, b);
  const CliResult p = run("replay " + t);
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  b[8] = 3;
  write_bytes(t, b);
  const CliResult s = run("trace show " + t);
  CHECK(s.status == 2);
  CHECK(s.err.find("format version 3, this softvt reads versions 1 to 2") != std::string::npos);
  for (const std::string& f : {k, t}) std::remove(f.c_str());
}
