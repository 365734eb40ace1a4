// `softvt run --kernel` on the project's bare-metal multiboot test kernels
// (tests/kernels/): serial output and exit status, the same kernels under
// qemu-system-x86_64 where it is installed (their serial output must be
// identical: softvt runs, unchanged, kernels built for QEMU), how a run
// ends (halt, triple fault, reset, limit, SIGINT) and bad input (exit 2
// with a message naming it).
#include <catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/unit/cli_support.h"
#include "tests/unit/nasm_support.h"

namespace {

using softvt::test::CliResult;
using softvt::test::shell;
using softvt::test::slurp;

std::string tmp_path(const std::string& name) { return "/tmp/softvt_kernels_" + std::to_string(getpid()) + "_" + name; }

std::string softvt_exe() {
  const char* exe = std::getenv("SOFTVT");
  REQUIRE(exe);
  return exe;
}

std::string kernel(const std::string& name) {
  const char* dir = std::getenv("SOFTVT_KERNEL_DIR");
  REQUIRE(dir);
  return std::string(dir) + "/" + name + ".elf";
}

CliResult run_softvt(const std::string& args) { return shell(softvt_exe() + " run " + args); }

// QEMU with the devices the kernels expect; softvt's default CPU model is
// GenuineIntel, so QEMU's CPU gets that vendor too (an AMD vendor adds the
// HyperTransport hole to the memory maps).
std::string qemu_missing() {
  if (std::system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0)
    return "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)";
  return "";
}

CliResult run_qemu(const std::string& args, const std::string& vendor = "GenuineIntel") {
  return shell("timeout 60 qemu-system-x86_64 -cpu qemu64,vendor=" + vendor +
               " -display none -serial stdio "
               "-device isa-debug-exit,iobase=0xf4,iosize=4 -device pc-testdev -no-reboot " + args);
}

std::string write_file(const std::string& name, const std::string& bytes) {
  const std::string path = tmp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string write_bytes(const std::string& name, const std::vector<uint8_t>& bytes) {
  return write_file(name, std::string(bytes.begin(), bytes.end()));
}

// A multiboot kernel in nasm's flat format using the a.out kludge (header
// flag 16): loaded at 1 MiB, entered at `start` with `body`.
std::string aout_kernel(const std::string& name, const std::string& body) {
  const std::string src =
      "bits 32\norg 0x100000\nheader:\n dd 0x1BADB002\n dd 0x00010003\n dd -(0x1BADB002 + 0x00010003)\n"
      " dd header\n dd 0x100000\n dd 0\n dd 0\n dd start\nstart:\n" + body + "\n";
  return write_bytes(name, softvt::test::assemble_nasm(src));
}

unsigned count(const std::string& hay, const std::string& needle) {
  unsigned n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("pc_devices kernel: every device check passes and it exits through isa-debug-exit", "[kernels]") {
  const std::string k = kernel("pc_devices");
  const CliResult r = run_softvt("--kernel " + k + " -m 128 --append 'hello world'");
  INFO(r.out << r.err);
  CHECK(r.status == ((0x10 << 1) | 1));
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(count(r.out, "\nok ") == 19);
  CHECK(r.out.find("cmdline: " + k + " hello world\n") != std::string::npos);
  CHECK(r.out.find("boot loader: qemu\n") != std::string::npos);
  // 128 MiB: 127 MiB above 1 MiB less the 128 KiB firmware area, in KiB.
  CHECK(r.out.find("mem_upper: 0001fb80\n") != std::string::npos);
  CHECK(r.out.find("mmap: 0000000000100000 0000000007ee0000 00000001\n") != std::string::npos);
  CHECK(r.out.find("e820: 0000000000000000 0000000008000000 00000001\n") != std::string::npos);
  CHECK(r.out.find("fw_cfg RAM_SIZE: 08000000\n") != std::string::npos);
  // Extended memory capped at 65535 KiB; memory above 16 MiB in 64 KiB units.
  CHECK(r.out.find("cmos: ext 0000ffff ext2 0000ffff above16m 00000700\n") != std::string::npos);
  CHECK(r.out.find("irq-tx: sent by the THR-empty interrupt\n") != std::string::npos);
  CHECK(r.err.find("isa-debug-exit") != std::string::npos);
}

TEST_CASE("pc_devices kernel: deterministic, and halted time is skipped", "[kernels]") {
  const std::string args = "--kernel " + kernel("pc_devices") + " -m 64";
  const CliResult a = run_softvt(args), b = run_softvt(args);
  REQUIRE(a.status == 33);
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);  // the same instruction count
  // Ten 1 ms PIT periods pass while the CPU halts: without time skipping
  // (1 instruction = 1 ns) they would take 10 million instructions.
  const size_t p = a.err.find(" after ");
  REQUIRE(p != std::string::npos);
  CHECK(std::stoull(a.err.substr(p + 7)) < 200000);
  CHECK(a.out.find("mem_upper: 0000fb80\n") != std::string::npos);
}

TEST_CASE("pc_devices kernel: --initrd files become multiboot modules with their strings", "[kernels]") {
  const std::string m1 = write_file("mod1", "ABCDE"), m2 = write_file("mod2", std::string(5000, 'Z'));
  const CliResult r = run_softvt("--kernel " + kernel("pc_devices") + " --initrd '" + m1 + " arg1 arg2," + m2 + "'");
  INFO(r.out << r.err);
  CHECK(r.status == 33);
  CHECK(r.out.find("module: " + m1 + " arg1 arg2 size 00000005 first byte 00000041\n") != std::string::npos);
  CHECK(r.out.find("module: " + m2 + " size 00001388 first byte 0000005a\n") != std::string::npos);
  std::remove(m1.c_str());
  std::remove(m2.c_str());
}

TEST_CASE("long_mode kernel: an ELF32 multiboot image that enters 64-bit mode", "[kernels]") {
  const CliResult r = run_softvt("--kernel " + kernel("long_mode") + " --serial stdio");
  INFO(r.out << r.err);
  CHECK(r.status == ((0x21 << 1) | 1));
  CHECK(r.out == "long_mode: 32-bit entry\nlong_mode: 64-bit code runs, EFER.LMA set\n");
}

// The expected output of apic_smp with `cpus` CPUs.
std::string apic_smp_output(unsigned cpus) {
  char head[64];
  std::snprintf(head, sizeof head, "apic_smp: CPUs %08x\n", cpus);
  std::string out = std::string(head) +
                    "ok CPUID.01H:EDX.APIC set\n"
                    "ok APIC ID register = CPUID initial APIC ID\n"
                    "ok BSP APIC ID 0\n"
                    "ok one-shot current count decreases\n"
                    "ok periodic timer interrupts: 3\n"
                    "ok self IPI delivered once\n";
  if (cpus > 1)
    out += "ok every AP started (INIT-SIPI-SIPI)\n"
           "ok every AP's CPUID initial APIC ID equals its APIC ID register\n"
           "ok every AP starts with the power-on MXCSR, PAT, DR6 and DR7\n"
           "ok broadcast IPI reached every AP\n";
  return out + "failures: 00000000\n";
}

TEST_CASE("apic_smp kernel: APIC timer, self IPI, INIT-SIPI-SIPI and a broadcast IPI on 1, 2 and 4 CPUs",
          "[kernels]") {
  for (unsigned cpus : {1u, 2u, 4u}) {
    const std::string args = "--kernel " + kernel("apic_smp") + " --smp " + std::to_string(cpus);
    const CliResult r = run_softvt(args);
    INFO(args << "\n" << r.out << r.err);
    CHECK(r.status == 33);
    CHECK(r.out == apic_smp_output(cpus));
    // Deterministic: a second run retires the same instructions.
    CHECK(run_softvt(args).err == r.err);
  }
  // The AMD model (no TSC-deadline timer, APM rules) drives the same APICs.
  const CliResult amd = run_softvt("--kernel " + kernel("apic_smp") + " --smp 2 --cpu amd");
  INFO(amd.out << amd.err);
  CHECK(amd.status == 33);
  CHECK(amd.out == apic_smp_output(2));
}

TEST_CASE("syscall_user kernel: SYSRET to ring 3 and SYSCALL back, return values, FS base, a ring-3 page fault", "[kernels]") {
  for (const char* model : {"intel", "amd"}) {
    const CliResult r = run_softvt("--kernel " + kernel("syscall_user") + " --cpu " + model);
    INFO(model << "\n" << r.out << r.err);
    CHECK(r.status == 33);
    std::string expected = "syscall_user: to ring 3\n";
    for (int call = 1; call <= 3; ++call)
      expected += "call 0000000" + std::to_string(call) +
                  ": cs=00000008 ss=00000010 rflags=00000002 r11=00000602\n"
                  "ok CS is STAR[47:32]\n"
                  "ok SS is STAR[47:32] + 8\n"
                  "ok RCX is the return address\n"
                  "ok R11 is the ring-3 RFLAGS\n"
                  "ok RFLAGS has the FMASK bits cleared\n";
    CHECK(r.out == expected +
                       "ring 3 exits\n"
                       "ok each call's return value reached ring 3\n"
                       "ok the FS base set with WRMSR is ring 3's\n"
                       "ok a ring-3 write to a page mapped at its fault was retried\n"
                       "ok CMPXCHG16B in the kernel swapped kernel data\n"
                       "ok a YMM upper half ring 3 holds survived the call\n"
                       "failures: 00000000\n");
  }
}

TEST_CASE("a plain ELF64 kernel is entered in 64-bit mode", "[kernels]") {
  const CliResult r = run_softvt("--kernel " + kernel("elf64_plain"));
  INFO(r.out << r.err);
  CHECK(r.status == ((0x31 << 1) | 1));
  CHECK(r.out == "elf64_plain: entered in 64-bit mode\n");
}

// Each kernel with QEMU's options and the same options for softvt (QEMU's
// -append/-initrd/-smp are softvt's --append/--initrd/--smp), once with
// softvt's intel model against a GenuineIntel QEMU CPU and once with the
// amd model against an AuthenticAMD one. The whole serial output and the
// exit status must be identical. Exercised whenever qemu-system-x86_64 is
// installed; otherwise the test says why it did nothing.
TEST_CASE("the test kernels print the same under qemu-system-x86_64", "[kernels][qemu]") {
  const std::string why = qemu_missing();
  if (!why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  const std::string m1 = write_file("qmod1", "ABCDE"), m2 = write_file("qmod2", std::string(5000, 'Z'));
  const std::vector<std::pair<std::string, std::string>> runs = {
      {kernel("pc_devices"), "-m 128 -append 'hello world'"},
      {kernel("pc_devices"), "-m 64 -initrd '" + m1 + " arg1 arg2," + m2 + "'"},
      {kernel("long_mode"), "-m 128"},
      {kernel("apic_smp"), "-m 128"},
      {kernel("apic_smp"), "-m 128 -smp 2"},
      {kernel("apic_smp"), "-m 128 -smp 4"},
      {kernel("syscall_user"), "-m 128"},
  };
  const std::pair<const char*, const char*> cpus[] = {{"GenuineIntel", "intel"}, {"AuthenticAMD", "amd"}};
  for (const auto& [vendor, model] : cpus)
    for (const auto& [k, qemu_args] : runs) {
      std::string softvt_args = qemu_args;
      for (const char* opt : {"-append", "-initrd", "-smp"}) {
        const size_t p = softvt_args.find(opt);
        if (p != std::string::npos) softvt_args.replace(p, 1, "--");
      }
      const CliResult q = run_qemu("-kernel " + k + " " + qemu_args, vendor);
      const CliResult s = run_softvt("--kernel " + k + " " + softvt_args + " --cpu " + model);
      INFO(k << " " << qemu_args << " (" << vendor << ")\nqemu stderr: " << q.err << "\nsoftvt stderr: " << s.err);
      CHECK(!q.out.empty());
      CHECK(q.out == s.out);
      CHECK(q.status == s.status);
    }
  std::remove(m1.c_str());
  std::remove(m2.c_str());
}

TEST_CASE("how a run ends: halt, triple fault, reset, limit, SIGINT", "[kernels]") {
  SECTION("HLT with IF=0: exit status 4") {
    const CliResult r = run_softvt("--kernel " + aout_kernel("halt", "cli\nhlt"));
    CHECK(r.status == 4);
    CHECK(r.err.find("interrupts disabled") != std::string::npos);
  }
  SECTION("triple fault: exit status 6") {
    const CliResult r =
        run_softvt("--kernel " + aout_kernel("triple", "lidt [idt]\nud2\nidt: dw 0\ndd 0"));
    CHECK(r.status == 6);
    CHECK(r.err.find("triple fault") != std::string::npos);
  }
  SECTION("i8042 reset pulse: exit status 8") {
    const CliResult r = run_softvt("--kernel " + aout_kernel("kbc_reset", "mov al, 0xfe\nout 0x64, al\njmp $"));
    CHECK(r.status == 8);
    CHECK(r.err.find("i8042") != std::string::npos);
  }
  SECTION("port 0x92 reset: exit status 8") {
    const CliResult r =
        run_softvt("--kernel " + aout_kernel("p92_reset", "in al, 0x92\nor al, 1\nout 0x92, al\njmp $"));
    CHECK(r.status == 8);
    CHECK(r.err.find("0x92") != std::string::npos);
  }
  SECTION("--max-insns: exit status 10 after exactly N instructions") {
    const CliResult r = run_softvt("--kernel " + aout_kernel("spin", "jmp $") + " --max-insns 5000");
    CHECK(r.status == 10);
    CHECK(r.err.find("after 5000 instructions") != std::string::npos);
  }
  SECTION("SIGINT: exit status 130") {
    const CliResult r = shell("timeout --preserve-status -s INT 1 " + softvt_exe() + " run --kernel " +
                              aout_kernel("forever", "jmp $"));
    CHECK(r.status == 130);
    CHECK(r.err.find("SIGINT") != std::string::npos);
  }
  SECTION("--serial file:PATH and none") {
    const std::string out = tmp_path("serial.txt");
    const CliResult r = run_softvt("--kernel " + kernel("long_mode") + " --serial file:" + out);
    CHECK(r.status == 67);
    CHECK(r.out.empty());
    CHECK(slurp(out) == "long_mode: 32-bit entry\nlong_mode: 64-bit code runs, EFER.LMA set\n");
    std::remove(out.c_str());
    const CliResult n = run_softvt("--kernel " + kernel("long_mode") + " --serial none");
    CHECK(n.status == 67);
    CHECK(n.out.empty());
  }
}

TEST_CASE("bad input to run --kernel: exit 2 naming the input", "[kernels]") {
  const std::string good = slurp(kernel("pc_devices"));
  REQUIRE(good.size() > 0x1100);
  const auto expect_bad = [](const std::string& args, const std::string& named, const std::string& why) {
    const CliResult r = run_softvt(args);
    INFO(args << "\n" << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(named) != std::string::npos);
    CHECK(r.err.find(why) != std::string::npos);
  };
  SECTION("missing file") { expect_bad("--kernel /nonexistent/kernel.elf", "/nonexistent/kernel.elf", "No such file"); }
  SECTION("not ELF") {
    const std::string p = write_file("text", "just some text, no kernel here\n");
    expect_bad("--kernel " + p, p, "neither a multiboot kernel nor an ELF file");
    std::remove(p.c_str());
  }
  SECTION("truncated ELF") {
    const std::string p = write_file("trunc", good.substr(0, 0x1100));
    expect_bad("--kernel " + p, p, "truncated");
    std::remove(p.c_str());
  }
  SECTION("ELF without a multiboot header") {
    std::string bytes = good;
    const size_t magic = bytes.find(std::string("\x02\xb0\xad\x1b", 4));
    REQUIRE(magic != std::string::npos);
    bytes[magic] = 0;
    const std::string p = write_file("nomb", bytes);
    expect_bad("--kernel " + p, p, "without a multiboot header");
    std::remove(p.c_str());
  }
  SECTION("bad -m") {
    expect_bad("--kernel " + kernel("long_mode") + " -m 12x", "-m", "not a number");
    expect_bad("--kernel " + kernel("long_mode") + " -m 1", "-m", "at least 2 MiB");
    expect_bad("--kernel " + kernel("long_mode") + " -m 4G", "-m", "at most");
  }
  SECTION("--host-decompress on a kernel that is not a bzImage") {
    const std::string k = kernel("long_mode");
    expect_bad("--kernel " + k + " --host-decompress", k, "--host-decompress: not a bzImage");
  }
  SECTION("bad --serial") { expect_bad("--kernel " + kernel("long_mode") + " --serial tcp:4444", "--serial", "tcp:4444"); }
  SECTION("missing --initrd file") {
    expect_bad("--kernel " + kernel("long_mode") + " --initrd /nonexistent/mod", "/nonexistent/mod", "No such file");
  }
  SECTION("--smp outside 1-255") {
    expect_bad("--kernel " + kernel("long_mode") + " --smp 256", "--smp", "at most 255");
    expect_bad("--kernel " + kernel("long_mode") + " --smp 0", "--smp", "at least one CPU");
  }
}

TEST_CASE("--serial stdio: standard input reaches COM1's receiver", "[kernels]") {
  // Reads three bytes by polling LSR.DR and echoes each uppercased.
  const std::string k = aout_kernel("echo",
                                    "mov ecx, 3\n"
                                    ".next:\nmov dx, 0x3fd\n.wait:\nin al, dx\ntest al, 1\njz .wait\n"
                                    "mov dx, 0x3f8\nin al, dx\nsub al, 0x20\nout dx, al\nloop .next\n"
                                    "mov eax, 0x11\nout 0xf4, eax\nhlt");
  const CliResult r = shell("printf abc | " + softvt_exe() + " run --kernel " + k);
  INFO(r.err);
  CHECK(r.status == 35);
  CHECK(r.out == "ABC");
}

TEST_CASE("--clock host: the PIT runs on the host's clock", "[kernels]") {
  const CliResult r = run_softvt("--kernel " + kernel("pc_devices") + " --clock host");
  INFO(r.out << r.err);
  CHECK(r.status == 33);
  CHECK(r.out.find("ok ten PIT interrupts through IRQ0\n") != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(run_softvt("--kernel " + kernel("pc_devices") + " --clock sundial").status == 2);
}
