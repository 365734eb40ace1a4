// The A20 gate (emu/tlb.cpp, docs/decisions.md "A20"): with A20 masked,
// physical address bit 20 of every CPU access is 0, so real-mode
// FFFF:0010 and up wraps to 0 as on an 8086; the PC's two gates (port 0x92
// bit 1 and the i8042 output port bit 1) drive it, and the page walk's own
// accesses are masked too.
#include <catch.hpp>

#include <cstring>
#include <string>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "emu/machine/pc.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

// A real-mode program on the PC: writes 0xAA at 0:0100 and 0xBB at
// FFFF:0110 (physical 0x100100 with A20 on), reads FFFF:0110 back before
// `disable`, after it and after `enable` into 0:0200..0:0202, and writes
// 0xCC at FFFF:0120 (physical 0x100110 or 0x110) while A20 is off.
struct WrapResult {
  uint8_t before, while_off, after;
  uint8_t low_110, high_110;  // physical 0x110 and 0x100110
  bool a20_at_end;
};

WrapResult run_wrap(const std::string& disable, const std::string& enable) {
  const std::string src = "bits 16\n"
                          " xor ax, ax\n mov ds, ax\n mov ax, 0xffff\n mov es, ax\n"
                          " mov byte [0x100], 0xaa\n mov byte [es:0x110], 0xbb\n"
                          " mov al, [es:0x110]\n mov [0x200], al\n" +
                          disable +
                          " mov al, [es:0x110]\n mov [0x201], al\n mov byte [es:0x120], 0xcc\n" + enable +
                          " mov al, [es:0x110]\n mov [0x202], al\n"
                          " cli\n hlt\n";
  PcConfig c;
  c.ram_bytes = 16ull << 20;
  c.cpus = 1;
  Pc pc(c, default_cpu_model());
  pc.cpu().s = setup_flat(pc.mem(), test::assemble_nasm(src), FLAT_DEFAULT_LOAD, FlatMode::Real16);
  pc.cpu().update_mode();
  INFO(src);
  const PcOutcome out = pc.run();
  INFO(out.message);
  REQUIRE(out.reason == "halted");
  const uint8_t* ram = pc.mem().ram();
  return WrapResult{ram[0x200], ram[0x201], ram[0x202], ram[0x110], ram[0x100110], pc.cpu().a20_enabled()};
}

// Port 0x92 bit 1 without touching bit 0 (a 0 -> 1 change of it resets).
const char* kPort92Off = " in al, 0x92\n and al, 0xfc\n out 0x92, al\n";
const char* kPort92On = " in al, 0x92\n or al, 0x02\n and al, 0xfe\n out 0x92, al\n";
// i8042 command 0xD1: the next data byte is the output port (bit 0 = the
// reset line, inactive at 1; bit 1 = A20).
const char* kKbcOff = " mov al, 0xd1\n out 0x64, al\n mov al, 0xdd\n out 0x60, al\n";
const char* kKbcOn = " mov al, 0xd1\n out 0x64, al\n mov al, 0xdf\n out 0x60, al\n";

void check_wraps(const WrapResult& r) {
  CHECK(r.before == 0xbb);     // A20 on: 0x100100 is its own byte
  CHECK(r.while_off == 0xaa);  // A20 off: FFFF:0110 is physical 0x100
  CHECK(r.after == 0xbb);      // on again: 0x100100 unchanged
  CHECK(r.low_110 == 0xcc);    // the write while off went to 0x110
  CHECK(r.high_110 == 0x00);
  CHECK(r.a20_at_end);
}

}  // namespace

TEST_CASE("A20 through port 0x92: real-mode addresses wrap at 1 MiB while it is off", "[a20]") {
  check_wraps(run_wrap(kPort92Off, kPort92On));
}

TEST_CASE("A20 through the i8042 output port (command 0xD1)", "[a20]") {
  check_wraps(run_wrap(kKbcOff, kKbcOn));
}

TEST_CASE("A20 through the i8042 commands 0xDD and 0xDF", "[a20]") {
  check_wraps(run_wrap(" mov al, 0xdd\n out 0x64, al\n", " mov al, 0xdf\n out 0x64, al\n"));
}

TEST_CASE("A20 is enabled at reset: nothing wraps unless a gate turns it off", "[a20]") {
  const WrapResult r = run_wrap("", "");
  CHECK(r.before == 0xbb);
  CHECK(r.while_off == 0xbb);
  CHECK(r.low_110 == 0x00);
  CHECK(r.high_110 == 0xcc);
  // Writes that keep the gate's bit at 1 keep A20 on.
  const WrapResult k = run_wrap(kPort92On, kKbcOn);
  CHECK(k.while_off == 0xbb);
  CHECK(k.high_110 == 0xcc);
}

TEST_CASE("A20: the last gate written decides (as QEMU's PC)", "[a20]") {
  // Off through port 0x92, on through the i8042, and the other way round.
  const WrapResult a = run_wrap(kPort92Off, kKbcOn);
  CHECK(a.while_off == 0xaa);
  CHECK(a.after == 0xbb);
  const WrapResult b = run_wrap(kKbcOff, kPort92On);
  CHECK(b.while_off == 0xaa);
  CHECK(b.after == 0xbb);
}

TEST_CASE("A20 masks the page walk's accesses and the translated address", "[a20]") {
  // 32-bit paging with 4-MiB pages. CR3 = 0x101000 (bit 20 set) holds one
  // page directory, 0x001000 another: PDE 0 maps 0-4 MiB identically in
  // both; PDE 1 maps linear 4-8 MiB to physical 8 MiB in the one at
  // 0x1000 and to 12 MiB in the one at 0x101000. Linear 0x500000 is then
  // physical 0x900000 (bit 20 set) or 0xd00000.
  for (bool a20 : {true, false}) {
    INFO("A20 enabled = " << a20);
    const CpuModel model = default_cpu_model();
    Memory mem(64 << 20);
    Cpu cpu(mem, model);
    BlockCache blocks(model);
    cpu.blocks = &blocks;
    const std::string src = "bits 32\norg 0x10000\n"
                            " mov eax, cr4\n or eax, 0x10\n mov cr4, eax\n"  // PSE
                            " mov eax, 0x101000\n mov cr3, eax\n"
                            " mov eax, cr0\n or eax, 0x80000000\n mov cr0, eax\n"
                            " mov al, [0x400000]\n mov bl, [0x500000]\n hlt\n";
    cpu.s = setup_flat(mem, test::assemble_nasm(src), FLAT_DEFAULT_LOAD, FlatMode::Prot32);
    cpu.update_mode();
    const auto put32 = [&](uint64_t a, uint32_t v) { std::memcpy(mem.ram() + a, &v, 4); };
    put32(0x1000, 0x00000083);
    put32(0x1004, 0x00800083);
    put32(0x101000, 0x00000083);
    put32(0x101004, 0x00c00083);
    mem.ram()[0x800000] = 0x81;
    mem.ram()[0x900000] = 0x91;
    mem.ram()[0xc00000] = 0xc1;
    mem.ram()[0xd00000] = 0xd1;
    cpu.set_a20(a20);
    REQUIRE(cpu.run(1000) == StopReason::Hlt);
    CHECK(uint8_t(cpu.s.gpr[RAX]) == (a20 ? 0xc1 : 0x81));
    CHECK(uint8_t(cpu.s.gpr[RBX]) == (a20 ? 0xd1 : 0x81));
    // The walk set the accessed bit in the directory it read.
    CHECK(((mem.ram()[0x101004] & 0x20) != 0) == a20);
    CHECK(((mem.ram()[0x1004] & 0x20) != 0) == !a20);
  }
}
