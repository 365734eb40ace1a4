// The Linux boot protocol loader (emu/loader/bzimage.cpp) against
// boot.rst/zero-page.rst: header checks with their messages, placement of
// kernel, initrd and command line, boot_params contents, and the 64-bit
// entry state - checked by a synthetic bzImage whose entry code inspects
// what it was given, run on the interpreter; and the real Debian kernel's
// header when scripts/guest-images has built the images.
#include <catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/bzimage.h"
#include "tests/unit/nasm_support.h"

using namespace softvt;

namespace {

// A bzImage built by nasm: one setup sector + boot sector with the header
// fields the loader reads, then the "protected-mode kernel" whose 64-bit
// entry (offset 0x200) records RSI, the first cmdline bytes, the initrd
// pointer/size and the first initrd dword at 0x500.., then halts.
std::vector<uint8_t> synthetic_bzimage(uint16_t version = 0x020f, uint16_t xloadflags = 3,
                                       uint32_t init_size = 0x100000) {
  const std::string src = R"(
bits 16
org 0
times 0x1f1 db 0
setup_sects: db 1
times 0x1fe - ($ - $$) db 0
dw 0xaa55
jmp short hdr_end
db 'HdrS'
dw )" + std::to_string(version) + R"(
times 0x211 - ($ - $$) db 0
db 1                ; loadflags: LOADED_HIGH
times 0x22c - ($ - $$) db 0
dd 0x37ffffff       ; initrd_addr_max
dd 0x200000         ; kernel_alignment
db 1                ; relocatable
db 0
dw )" + std::to_string(xloadflags) + R"(
dd 2047             ; cmdline_size
times 0x258 - ($ - $$) db 0
dq 0x1000000        ; pref_address
dd )" + std::to_string(init_size) + R"(
hdr_end:
times 1024 - ($ - $$) db 0
; protected-mode kernel, loaded at pref_address
times 0x200 db 0x90
bits 64
entry:
  mov [0x500], rsi
  mov eax, [rsi + 0x228]     ; cmd_line_ptr
  mov rax, [rax]
  mov [0x508], rax
  mov eax, [rsi + 0x218]     ; ramdisk_image
  mov [0x510], eax
  mov eax, [rsi + 0x21c]     ; ramdisk_size
  mov [0x514], eax
  mov eax, [rsi + 0x218]
  mov eax, [rax]
  mov [0x518], eax
  mov ax, cs
  mov [0x51c], ax
  mov ax, ss
  mov [0x51e], ax
  pushfq
  pop rax
  mov [0x520], rax
  hlt
)";
  return test::assemble_nasm(src);
}

std::vector<E820Range> pc_map(uint64_t ram) {
  return {{0, 0x9fc00, e820::RAM}, {0x9fc00, 0x400, e820::RESERVED},
          {0xf0000, 0x10000, e820::RESERVED}, {0x100000, ram - 0x100000, e820::RAM}};
}

template <typename T>
T at(Memory& m, uint64_t a) {
  T v;
  std::memcpy(&v, m.ram() + a, sizeof v);
  return v;
}

}  // namespace

TEST_CASE("A synthetic bzImage starts at its 64-bit entry with boot_params in RSI", "[bzimage]") {
  Memory mem(128 << 20);
  LinuxBoot b;
  b.kernel = synthetic_bzimage();
  b.initrd = {0x11, 0x22, 0x33, 0x44, 0x55};
  b.cmdline = "console=ttyS0 quiet";
  b.e820 = pc_map(128 << 20);
  b.acpi_rsdp = 0xf5000;
  CpuState s = load_linux(mem, b);
  CHECK(s.rip == 0x1000000 + 0x200);
  CHECK(s.gpr[RSI] == linux_layout::BOOT_PARAMS);

  Cpu cpu(mem, default_cpu_model());
  BlockCache blocks(default_cpu_model());
  cpu.blocks = &blocks;
  cpu.s = s;
  cpu.update_mode();
  REQUIRE(cpu.run(1000) == StopReason::Hlt);
  CHECK(at<uint64_t>(mem, 0x500) == linux_layout::BOOT_PARAMS);
  CHECK(std::string(reinterpret_cast<const char*>(mem.ram() + 0x508), 8) == "console=");
  const uint32_t initrd = at<uint32_t>(mem, 0x510);
  CHECK(at<uint32_t>(mem, 0x514) == 5);
  CHECK(at<uint32_t>(mem, 0x518) == 0x44332211);
  // As QEMU places it: page-aligned, as high as RAM allows.
  CHECK(initrd % 4096 == 0);
  CHECK(initrd + 5 <= (128u << 20));
  CHECK(initrd >= (128u << 20) - 8192);
  CHECK(at<uint16_t>(mem, 0x51c) == 0x10);  // __BOOT_CS
  CHECK(at<uint16_t>(mem, 0x51e) == 0x18);  // __BOOT_DS
  CHECK((at<uint64_t>(mem, 0x520) & 0x200) == 0);  // IF = 0
  // boot_params: the e820 map, the loader type, the RSDP pointer.
  const uint64_t bp = linux_layout::BOOT_PARAMS;
  CHECK(at<uint8_t>(mem, bp + 0x1e8) == 4);
  CHECK(at<uint64_t>(mem, bp + 0x2d0 + 20 * 3) == 0x100000);
  CHECK(at<uint32_t>(mem, bp + 0x2d0 + 20 * 1 + 16) == e820::RESERVED);
  CHECK(at<uint8_t>(mem, bp + 0x210) == 0xff);
  CHECK(at<uint64_t>(mem, bp + 0x70) == 0xf5000);
  CHECK(std::memcmp(mem.ram() + bp + 0x202, "HdrS", 4) == 0);
}

TEST_CASE("Bad bzImages are rejected with the reason", "[bzimage]") {
  Memory mem(64 << 20);
  LinuxBoot b;
  b.e820 = pc_map(64 << 20);
  auto expect_error = [&](const std::vector<uint8_t>& k, const std::string& part) {
    b.kernel = k;
    try {
      load_linux(mem, b);
      FAIL("accepted; expected an error mentioning '" << part << "'");
    } catch (const BzImageError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  expect_error(std::vector<uint8_t>(100, 0), "too small");
  expect_error(std::vector<uint8_t>(4096, 0), "0xAA55");
  std::vector<uint8_t> k = synthetic_bzimage();
  std::memcpy(k.data() + 0x202, "XXXX", 4);
  expect_error(k, "HdrS");
  expect_error(synthetic_bzimage(0x020a), "too old");
  expect_error(synthetic_bzimage(0x020f, 0), "64-bit entry");
  expect_error(synthetic_bzimage(0x020f, 3, 16), "init_size");
  // A kernel needing more RAM than the machine has.
  expect_error(synthetic_bzimage(0x020f, 3, 200u << 20), "give more memory");
  b.cmdline = std::string(3000, 'x');
  expect_error(synthetic_bzimage(), "cmdline_size");
}

TEST_CASE("The Debian kernel's setup header", "[bzimage][debian]") {
  const char* dir = std::getenv("SOFTVT_IMAGE_CACHE");
  const std::string path = std::string(dir ? dir : "") + "/vmlinuz";
  std::ifstream f(path, std::ios::binary);
  if (!dir || !f) {
    WARN("skipped: no guest images (run scripts/guest-images and set SOFTVT_IMAGE_CACHE)");
    return;
  }
  std::vector<uint8_t> k((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const SetupHeader h = parse_setup_header(k);
  CHECK(h.version >= 0x020f);      // Linux 6.1 speaks protocol 2.15
  CHECK((h.xloadflags & 1) == 1);  // XLF_KERNEL_64
  CHECK(h.relocatable == 1);
  CHECK(h.pref_address == 0x1000000);
}
