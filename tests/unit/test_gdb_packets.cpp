// The gdb stub without gdb: the packet layer (framing, checksums, escaping,
// a parser fed garbage) and the protocol's replies on a flat-runner target
// (registers, memory, breakpoints, stepping, reverse execution, bad
// packets), including a fuzz of both: bad input gets an error reply, never
// a crash.
#include <catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "emu/cpu_model.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"
#include "traces/gdb_flat_target.h"
#include "traces/gdb_monitor.h"
#include "traces/gdb_packets.h"
#include "traces/gdb_stub.h"
#include "traces/gdb_target_xml.h"

using namespace softvt;
using namespace softvt::gdb;

TEST_CASE("gdb packets: checksum and framing", "[gdb]") {
  // The gdb manual's example: "$m1000,4#..": sum of the characters mod 256.
  CHECK(checksum("") == 0);
  CHECK(checksum("OK") == uint8_t('O' + 'K'));
  CHECK(frame("OK") == "$OK#9a");
  // A reply containing framing characters is escaped: } then XOR 0x20.
  CHECK(frame("a#b") == "$a}\x03" "b#" + std::string(1, "0123456789abcdef"[checksum("a}\x03" "b") >> 4]) +
                           "0123456789abcdef"[checksum("a}\x03" "b") & 15]);
  CHECK(escape_binary("$#}*") == "}\x04}\x03}]}\x0a");
  CHECK(unescape_binary("}\x04}\x03}]}\x0a").value() == "$#}*");
  CHECK_FALSE(unescape_binary("ab}").has_value());
}

TEST_CASE("gdb packets: hex helpers", "[gdb]") {
  CHECK(to_hex(std::string("\x01\xab", 2)) == "01ab");
  CHECK(from_hex("01aB").value() == std::vector<uint8_t>{1, 0xab});
  CHECK_FALSE(from_hex("abc").has_value());
  CHECK_FALSE(from_hex("zz").has_value());
  CHECK(parse_hex_number("ffffffffffffffff").value() == ~uint64_t(0));
  CHECK_FALSE(parse_hex_number("1ffffffffffffffff").has_value());
  CHECK_FALSE(parse_hex_number("").has_value());
  CHECK_FALSE(parse_hex_number("-1").has_value());
  CHECK(hex_number(0) == "0");
  CHECK(hex_number(0x10010) == "10010");
}

TEST_CASE("gdb packets: the parser separates packets, acks and interrupts", "[gdb]") {
  PacketParser p;
  const std::string in = "+" + frame("qSupported") + "-\x03" "garbage$g#00" + frame("m10,4");
  p.feed(in.data(), in.size());
  auto e = p.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Ack);
  e = p.next();
  REQUIRE(e);
  CHECK(e->kind == Event::Packet);
  CHECK(e->payload == "qSupported");
  CHECK(p.next()->kind == Event::Nack);
  CHECK(p.next()->kind == Event::Interrupt);
  // "$g#00": wrong checksum (g = 0x67).
  CHECK(p.next()->kind == Event::BadPacket);
  e = p.next();
  REQUIRE(e);
  CHECK(e->payload == "m10,4");
  CHECK_FALSE(p.next());
}

TEST_CASE("gdb packets: a packet split across reads, and one too long", "[gdb]") {
  PacketParser p(16);
  const std::string f = frame("vCont;s:1");
  for (char c : f) p.feed(&c, 1);
  auto e = p.next();
  REQUIRE(e);
  CHECK(e->payload == "vCont;s:1");
  const std::string big = frame(std::string(100, 'a'));
  p.feed(big.data(), big.size());
  CHECK(p.next()->kind == Event::BadPacket);
  // take_interrupt keeps the other events in order.
  const std::string mix = frame("a") + "\x03" + frame("b");
  p.feed(mix.data(), mix.size());
  CHECK(p.take_interrupt());
  CHECK(p.next()->payload == "a");
  CHECK(p.next()->payload == "b");
}

TEST_CASE("gdb packets: the parser survives random bytes", "[gdb][fuzz]") {
  std::mt19937_64 rng(6);
  const std::string alphabet = "$#+-}*\x03" "0123456789abcdefgmqZ,:;";
  PacketParser p(64);
  size_t packets = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string chunk;
    const int n = int(rng() % 40);
    for (int i = 0; i < n; ++i) chunk += alphabet[rng() % alphabet.size()];
    if (round % 7 == 0) chunk += frame("ok" + std::to_string(round));
    p.feed(chunk.data(), chunk.size());
    while (auto e = p.next())
      if (e->kind == Event::Packet) {
        CHECK(e->payload.size() <= 64);
        ++packets;
      }
  }
  // Noise may swallow a following frame (a '$' inside it restarts), but
  // most well-formed packets come through.
  CHECK(packets > 100);
}

TEST_CASE("gdb target description: every register once, in gdb's amd64 order", "[gdb]") {
  const auto regs = registers();
  REQUIRE(regs.size() == 16 + 2 + 6 + 8 + 8 + 16 + 1 + 2 + 6);
  CHECK(std::string(regs[0].name) == "rax");
  CHECK(std::string(regs[1].name) == "rbx");
  CHECK(std::string(regs[16].name) == "rip");
  CHECK(std::string(regs[17].name) == "eflags");
  CHECK(std::string(regs[24].name) == "st0");
  CHECK(regs[24].bits == 80);
  CHECK(std::string(regs[40].name) == "xmm0");
  CHECK(std::string(regs[56].name) == "mxcsr");
  const std::string& x = target_xml();
  CHECK(x.find("<architecture>i386:x86-64</architecture>") != std::string::npos);
  for (const char* f : {"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments"})
    CHECK(x.find(f) != std::string::npos);
  for (const RegisterInfo& r : regs) CHECK(x.find(std::string("name=\"") + r.name + "\"") != std::string::npos);
}

namespace {

// The program of tests/guest/gdb_target_long64.asm, in small RAM.
const char* const kProgram = R"(
bits 64
org 0x10000
  xor eax, eax
  xor ebx, ebx
  mov ecx, 5
  times 0x10 - ($ - $$) nop
loop_top:
  add rax, 3
  mov [rel counter], rax
  inc rbx
  dec ecx
  jnz loop_top
  hlt
  times 0x100 - ($ - $$) db 0
counter:
  dq 0
)";

struct Fixture {
  Memory mem{2 << 20};
  CpuModel model = default_cpu_model();
  std::unique_ptr<FlatTarget> target;
  std::unique_ptr<Stub> stub;
  Fixture() {
    const auto image = test::assemble_nasm(kProgram);
    const CpuState init = setup_flat(mem, image, FLAT_DEFAULT_LOAD, FlatMode::Long64);
    target = std::make_unique<FlatTarget>(mem, init, model, nullptr, nullptr);
    stub = std::make_unique<Stub>(*target, StubOptions{});
    target->set_host_debugger(stub.get());
  }
  uint64_t reg(unsigned n) {
    std::string b;
    REQUIRE(gdb::read_register(target->cpu(0), n, b));
    uint64_t v = 0;
    std::memcpy(&v, b.data(), std::min<size_t>(8, b.size()));
    return v;
  }
};

constexpr unsigned GDB_RAX = 0, GDB_RIP = 16;

}  // namespace

TEST_CASE("gdb stub: registers, memory and the stop reply", "[gdb]") {
  Fixture f;
  CHECK(f.stub->handle("?").rfind("T", 0) == 0);
  CHECK(f.stub->handle("qfThreadInfo") == "m1");
  CHECK(f.stub->handle("qsThreadInfo") == "l");
  CHECK(f.stub->handle("p10") == "0000010000000000");  // rip = 0x10000
  CHECK(f.stub->handle("m10000,4") == "31c031db");       // xor eax,eax; xor ebx,ebx
  // Beyond the identity map of 4 GiB: not present - an error, no crash.
  CHECK(f.stub->handle("m200000000,4").rfind("E", 0) == 0);
  // Non-canonical.
  CHECK(f.stub->handle("m8000000000000000,4").rfind("E", 0) == 0);
  // Mapped, but beyond RAM (2 MiB here): not readable either.
  CHECK(f.stub->handle("m300000,4").rfind("E", 0) == 0);
  CHECK(f.stub->handle("P0=0100000000000000") == "OK");
  CHECK(f.reg(GDB_RAX) == 1);
  CHECK(f.stub->handle("M10100,2:abcd") == "OK");
  CHECK(f.stub->handle("m10100,2") == "abcd");
  CHECK(f.stub->handle("X10100,2:\x01\x02") == "OK");
  CHECK(f.stub->handle("m10100,2") == "0102");
  const std::string g = f.stub->handle("g");
  size_t bytes = 0;
  for (const RegisterInfo& r : registers()) bytes += r.bits / 8;
  CHECK(g.size() == 2 * bytes);
  CHECK(f.stub->handle("G" + g) == "OK");
}

TEST_CASE("gdb stub: breakpoints, steps, watchpoints, reverse execution", "[gdb]") {
  Fixture f;
  CHECK(f.stub->handle("Z0,10010,1") == "OK");
  CHECK(f.stub->handle("c") == "T05swbreak:;thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x10010);
  CHECK(f.reg(GDB_RAX) == 0);
  // Continuing from the breakpoint does not stop at it again at once.
  CHECK(f.stub->handle("vCont;s:1") == "T05thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x10014);
  CHECK(f.reg(GDB_RAX) == 3);
  CHECK(f.stub->handle("c") == "T05swbreak:;thread:1;");
  CHECK(f.reg(GDB_RAX) == 3);
  // The write watchpoint stops after the MOV that wrote.
  CHECK(f.stub->handle("Z2,10100,8") == "OK");
  CHECK(f.stub->handle("z0,10010,1") == "OK");
  CHECK(f.stub->handle("c") == "T05watch:10100;thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x1001b);
  CHECK(f.stub->handle("m10100,1") == "06");
  // One instruction back: before the MOV, with the old value in memory.
  CHECK(f.stub->handle("bs") == "T05thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x10014);
  CHECK(f.stub->handle("m10100,1") == "03");
  // Back to the previous write (a watchpoint in reverse stops before the writer).
  CHECK(f.stub->handle("bc") == "T05watch:10100;thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x10014);
  CHECK(f.reg(GDB_RAX) == 3);
  CHECK(f.stub->handle("m10100,1") == "00");
  // Nothing earlier: the start of the recording.
  CHECK(f.stub->handle("bc") == "T05replaylog:begin;thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x10000);
  CHECK(f.stub->handle("bs") == "T05replaylog:begin;thread:1;");
  // And forward again: the same run.
  CHECK(f.stub->handle("z2,10100,8") == "OK");
  const std::string end = f.stub->handle("c");
  CHECK(end.rfind("T05", 0) == 0);
  CHECK(f.reg(GDB_RAX) == 15);
}

TEST_CASE("gdb stub: read and access watchpoints, hardware breakpoints", "[gdb]") {
  Fixture f;
  CHECK(f.stub->handle("Z1,1001e,1") == "OK");  // dec ecx
  CHECK(f.stub->handle("c") == "T05hwbreak:;thread:1;");
  CHECK(f.reg(GDB_RIP) == 0x1001e);
  CHECK(f.stub->handle("z1,1001e,1") == "OK");
  // The program never reads counter: a read watchpoint never fires.
  CHECK(f.stub->handle("Z3,10100,8") == "OK");
  CHECK(f.stub->handle("Z4,10104,4") == "OK");
  CHECK(f.stub->handle("c") == "T05awatch:10104;thread:1;");
}

TEST_CASE("gdb stub: bad packets get error replies", "[gdb]") {
  Fixture f;
  for (const char* p : {"m", "mzz,4", "m10000", "M10000,2:abc", "M10000,3:abcd", "X10000,2:a", "p", "pzz",
                        "p9999", "P1=zz", "P1", "G12", "Z9,1,1", "Z0", "Z0,zz,1", "Z2,10100,0", "Hx1", "Hg99",
                        "T99", "vCont;x", "vCont;", "qXfer:features:read:target.xml:zz",
                        "qXfer:features:read:other.xml:0,10", "qRcmd,zz", "c10000"}) {
    INFO(p);
    const std::string r = f.stub->handle(p);
    CHECK((r.empty() || r[0] == 'E'));
  }
}

TEST_CASE("gdb stub: the target description is served in pieces", "[gdb]") {
  Fixture f;
  std::string doc;
  for (uint64_t off = 0;;) {
    const std::string r = f.stub->handle("qXfer:features:read:target.xml:" + hex_number(off) + ",100");
    REQUIRE(!r.empty());
    REQUIRE((r[0] == 'm' || r[0] == 'l'));
    doc += r.substr(1);
    off += r.size() - 1;
    if (r[0] == 'l') break;
  }
  CHECK(doc == target_xml());
}

TEST_CASE("gdb stub: monitor commands", "[gdb]") {
  Fixture f;
  const auto run = [&](const std::string& cmd) {
    const auto bytes = from_hex(f.stub->handle("qRcmd," + to_hex(cmd)));
    REQUIRE(bytes);
    return std::string(bytes->begin(), bytes->end());
  };
  CHECK(run("help").find("monitor walk ADDR") != std::string::npos);
  CHECK(run("level") == "L1\n");
  CHECK(run("vmcs").find("not in VMX operation") != std::string::npos);
  CHECK(run("vmcb").find("no VMRUN") != std::string::npos);
  CHECK(run("last-exit").find("no VM exit") != std::string::npos);
  CHECK(run("failed-check").find("no failed") != std::string::npos);
  // The flat runner's tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000 with 2-MiB pages.
  const std::string w = run("walk 0x10010");
  CHECK(w.find("PML4E  at 0x0000001000") != std::string::npos);
  CHECK(w.find("PDE    at 0x0000003000") != std::string::npos);
  CHECK(w.find("physical 0x10010 (2-MiB page)") != std::string::npos);
  CHECK(run("walk 0x800000000000").find("not canonical") != std::string::npos);
  CHECK(run("walk 0x200000000").find("not present at PDPTE") != std::string::npos);
  CHECK(run("walk xyz").find("expected a hex") != std::string::npos);
  CHECK(run("frobnicate").find("unknown monitor command") != std::string::npos);
}

TEST_CASE("gdb stub: random packets never crash it", "[gdb][fuzz]") {
  Fixture f;
  std::mt19937_64 rng(0x6db);
  const std::vector<std::string> heads = {"m", "M", "X", "p", "P", "g", "G", "Z", "z", "H", "T", "s", "vCont",
                                          "qXfer:features:read:target.xml:", "qRcmd,", "bs", "bc", "?", "q", "Q"};
  const std::string alphabet = "0123456789abcdefABCDEF,:;=-xyz}$#*";
  for (int i = 0; i < 3000; ++i) {
    std::string p = heads[rng() % heads.size()];
    const int n = int(rng() % 24);
    for (int k = 0; k < n; ++k) p += alphabet[rng() % alphabet.size()];
    INFO(p);
    CHECK_NOTHROW(f.stub->handle(p));
  }
}

namespace {

// A minimal gdb for the socket-level tests: sends packets, reads replies.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200 && connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0; ++i) {
      close(fd_);
      fd_ = socket(AF_INET, SOCK_STREAM, 0);
      usleep(10000);
    }
  }
  ~Client() { close(fd_); }
  void send_raw(const std::string& s) { REQUIRE(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size())); }
  // The next packet's payload (acks skipped); "" on timeout.
  std::string reply(int timeout_ms = 10000) {
    PacketParser p;
    for (;;) {
      while (auto e = pending_.next())
        if (e->kind == Event::Packet) return e->payload;
      pollfd pf{fd_, POLLIN, 0};
      if (poll(&pf, 1, timeout_ms) <= 0) return "";
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return "";
      pending_.feed(buf, size_t(n));
    }
  }
  std::string ask(const std::string& payload) {
    send_raw(frame(payload));
    return reply();
  }
  int fd_ = -1;
  PacketParser pending_;
};

int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("gdb stub over TCP: acks, no-ack mode, Ctrl-C while running, kill", "[gdb]") {
  Memory mem{2 << 20};
  const CpuModel model = default_cpu_model();
  // An endless loop: only Ctrl-C stops it.
  const auto image = test::assemble_nasm("bits 64\norg 0x10000\nloop: inc rax\njmp loop\n");
  const CpuState init = setup_flat(mem, image, FLAT_DEFAULT_LOAD, FlatMode::Long64);
  FlatTarget target(mem, init, model, nullptr, nullptr);
  const int port = unused_port();
  Stub stub(target, StubOptions{"tcp:127.0.0.1:" + std::to_string(port), true, 20000});
  std::thread server([&] { stub.serve(); });
  {
    Client c(port);
    c.send_raw(frame("qSupported:swbreak+"));
    char ack = 0;
    REQUIRE(::read(c.fd_, &ack, 1) == 1);
    CHECK(ack == '+');
    CHECK(c.reply().find("PacketSize=4000") != std::string::npos);
    // A corrupted packet is answered '-'; a '-' from gdb makes the stub resend.
    c.send_raw("$g#00");
    REQUIRE(::read(c.fd_, &ack, 1) == 1);
    CHECK(ack == '-');
    c.send_raw("-");
    CHECK(c.reply().find("PacketSize=4000") != std::string::npos);
    CHECK(c.ask("QStartNoAckMode") == "OK");
    CHECK(c.ask("?").rfind("T", 0) == 0);
    c.send_raw(frame("c"));
    usleep(100000);
    c.send_raw("\x03");
    CHECK(c.reply() == "T02thread:1;");
    // It ran: RAX counts the loop's iterations.
    const std::string rax = c.ask("p0");
    CHECK(rax != "0000000000000000");
    CHECK(target.position() > 1000);
    c.send_raw(frame("k"));
  }
  server.join();
  CHECK(stub.killed());
}
