// The Linux boot protocol loader (emu/loader/bzimage.cpp) against
// boot.rst/zero-page.rst: header checks with their messages, placement of
// kernel, initrd and command line, boot_params contents, and the 64-bit
// entry state - checked by a synthetic bzImage whose entry code inspects
// what it was given, run on the interpreter; and the real Debian kernel's
// header when scripts/guest-images has built the images.
#include <catch.hpp>
#include <lzma.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "emu/loader/bzimage.h"
#include "emu/loader/elf.h"
#include "emu/loader/kernel_payload.h"
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

// Runs the loaded entry code on the interpreter until its HLT.
void run_to_hlt(Memory& mem, const CpuState& entry) {
  Cpu cpu(mem, default_cpu_model());
  BlockCache blocks(default_cpu_model());
  cpu.blocks = &blocks;
  cpu.s = entry;
  cpu.update_mode();
  REQUIRE(cpu.run(1000) == StopReason::Hlt);
}

// Loading `kernel` fails with a BzImageError whose message contains `part`.
void expect_load_error(Memory& mem, LinuxBoot& b, const std::vector<uint8_t>& kernel, const std::string& part) {
  b.kernel = kernel;
  try {
    load_linux(mem, b);
    FAIL("accepted; expected an error mentioning '" << part << "'");
  } catch (const BzImageError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
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

  run_to_hlt(mem, s);
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
    expect_load_error(mem, b, k, part);
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

namespace {

// --host-decompress: a vmlinux-like ELF64 whose one PT_LOAD segment sits at
// physical 0x1000000 (virtual 0xffffffff81000000, as Linux links it), with
// 0x2000 bytes of bss after the code. The code records RSI, the first
// initrd dword and a bss qword at 0x500.. and halts.
constexpr uint64_t ELF_LOAD = 0x1000000, ELF_CODE = 0x78, ELF_BSS = 0x2000;

std::vector<uint8_t> tiny_vmlinux(uint32_t entry_offset = ELF_CODE) {
  const std::vector<uint8_t> code = test::assemble_nasm(R"(
bits 64
  mov [0x500], rsi
  mov eax, [rsi + 0x218]     ; ramdisk_image
  mov [0x510], eax
  mov eax, [rax]
  mov [0x518], eax
  mov rax, [)" + std::to_string(ELF_LOAD + 0x1000) + R"(]     ; in the bss
  mov [0x520], rax
  hlt
)");
  std::vector<uint8_t> f(ELF_CODE, 0);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  std::memcpy(f.data(), ident, sizeof ident);
  auto put16 = [&](size_t o, uint16_t v) { std::memcpy(f.data() + o, &v, 2); };
  auto put32 = [&](size_t o, uint32_t v) { std::memcpy(f.data() + o, &v, 4); };
  auto put64 = [&](size_t o, uint64_t v) { std::memcpy(f.data() + o, &v, 8); };
  put16(16, 2);   // ET_EXEC
  put16(18, 62);  // EM_X86_64
  put32(20, 1);
  put64(24, ELF_LOAD + entry_offset);  // e_entry: physical, as vmlinux's phys_startup_64
  put64(32, 64);                       // e_phoff
  put16(52, 64);
  put16(54, 56);
  put16(56, 1);
  put32(64, 1);  // PT_LOAD
  put32(68, 7);
  put64(72, 0);  // p_offset: the headers are part of the segment
  put64(80, 0xffffffff81000000ull);
  put64(88, ELF_LOAD);
  const uint64_t filesz = ELF_CODE + code.size();
  put64(96, filesz);
  put64(104, filesz + ELF_BSS);
  f.resize(filesz);
  std::memcpy(f.data() + ELF_CODE, code.data(), code.size());
  return f;
}

void append_size(std::vector<uint8_t>& out, size_t size) {
  const uint32_t v = uint32_t(size);
  out.insert(out.end(), reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + 4);
}

// Compressed as the kernel build does it: the stream, then the original
// size as a little-endian 32-bit word.
std::vector<uint8_t> xz_payload(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(data.size()));
  size_t pos = 0;
  REQUIRE(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, data.data(), data.size(), out.data(), &pos,
                                  out.size()) == LZMA_OK);
  out.resize(pos);
  append_size(out, data.size());
  return out;
}

std::vector<uint8_t> gzip_payload(const std::vector<uint8_t>& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, uLong(data.size())));
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = uInt(data.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  append_size(out, data.size());
  return out;
}

// The synthetic header with the payload as the whole protected-mode part
// (payload_offset 0, payload_length its size).
std::vector<uint8_t> bzimage_with_payload(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> k = synthetic_bzimage(0x020f, 3, 0x1000000);
  k.resize(1024);
  const uint32_t offset = 0, length = uint32_t(payload.size());
  std::memcpy(k.data() + 0x248, &offset, 4);
  std::memcpy(k.data() + 0x24c, &length, 4);
  k.insert(k.end(), payload.begin(), payload.end());
  return k;
}

void run_host_decompressed(const std::vector<uint8_t>& kernel) {
  Memory mem(128 << 20);
  // Stale bytes where the bss goes: the loader must zero it as the ELF
  // says (memsz > filesz).
  std::memset(mem.ram() + ELF_LOAD + 0x1000, 0xa5, 8);
  LinuxBoot b;
  b.kernel = kernel;
  b.initrd = {0x11, 0x22, 0x33, 0x44};
  b.e820 = pc_map(128 << 20);
  b.host_decompress = true;
  const CpuState s = load_linux(mem, b);
  CHECK(s.rip == ELF_LOAD + ELF_CODE);
  CHECK(s.gpr[RSI] == linux_layout::BOOT_PARAMS);
  CHECK(s.cr3 == linux_layout::PAGE_TABLES);

  run_to_hlt(mem, s);
  CHECK(at<uint64_t>(mem, 0x500) == linux_layout::BOOT_PARAMS);
  CHECK(at<uint32_t>(mem, 0x518) == 0x44332211);
  CHECK(at<uint64_t>(mem, 0x520) == 0);  // bss zeroed
  CHECK(at<uint32_t>(mem, 0x510) >= ELF_LOAD + 0x1000 + ELF_BSS);  // initrd above the kernel's end
}

}  // namespace

TEST_CASE("--host-decompress loads the vmlinux of an xz or gzip payload and enters it with boot_params",
          "[bzimage][decompress]") {
  const std::vector<uint8_t> elf = tiny_vmlinux();
  SECTION("xz") {
    const std::vector<uint8_t> p = xz_payload(elf);
    CHECK(payload_format(p.data(), p.size()) == PayloadFormat::Xz);
    run_host_decompressed(bzimage_with_payload(p));
  }
  SECTION("gzip") {
    const std::vector<uint8_t> p = gzip_payload(elf);
    CHECK(payload_format(p.data(), p.size()) == PayloadFormat::Gzip);
    run_host_decompressed(bzimage_with_payload(p));
  }
}

TEST_CASE("--host-decompress rejects payloads it cannot use, naming the problem", "[bzimage][decompress]") {
  Memory mem(64 << 20);
  LinuxBoot b;
  b.e820 = pc_map(64 << 20);
  b.host_decompress = true;
  auto expect_error = [&](const std::vector<uint8_t>& k, const std::string& part) {
    expect_load_error(mem, b, k, part);
  };
  const std::vector<uint8_t> elf = tiny_vmlinux();
  std::vector<uint8_t> zstd = {0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0x10, 0, 0, 0};
  expect_error(bzimage_with_payload(zstd), "compressed with zstd");
  expect_error(bzimage_with_payload(std::vector<uint8_t>(64, 0x42)), "not recognised");
  std::vector<uint8_t> xz = xz_payload(elf);
  std::vector<uint8_t> cut(xz.begin(), xz.begin() + long(xz.size() / 2));
  append_size(cut, elf.size());
  expect_error(bzimage_with_payload(cut), "xz payload is truncated");
  std::vector<uint8_t> bad = xz;
  bad[bad.size() / 2] ^= 0xff;
  expect_error(bzimage_with_payload(bad), "xz payload");
  std::vector<uint8_t> wrong_size = xz;
  wrong_size[wrong_size.size() - 4] ^= 1;  // the recorded size, one off
  expect_error(bzimage_with_payload(wrong_size), "recorded");
  std::vector<uint8_t> huge = gzip_payload(elf);
  huge[huge.size() - 1] = 0xff;  // claims ~4 GiB
  expect_error(bzimage_with_payload(huge), "implausible");
  expect_error(bzimage_with_payload(gzip_payload(std::vector<uint8_t>(256, 0x90))), "not an ELF file");
  expect_error(bzimage_with_payload(xz_payload(tiny_vmlinux(0x10000))), "entry point");
  std::vector<uint8_t> beyond = bzimage_with_payload(xz);
  const uint32_t long_length = uint32_t(xz.size() + 1);
  std::memcpy(beyond.data() + 0x24c, &long_length, 4);
  expect_error(beyond, "beyond the end of the file");
  Memory small(8 << 20);  // the kernel wants RAM at 16 MiB
  b.e820 = pc_map(8 << 20);
  expect_load_error(small, b, bzimage_with_payload(xz), "not in usable RAM");
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
  // Its payload is xz (Debian's choice) and decompresses to the vmlinux,
  // entered at startup_64's physical address, LOAD_PHYSICAL_ADDR.
  const std::span<const uint8_t> payload = bzimage_payload(k, h);
  CHECK(payload_format(payload.data(), payload.size()) == PayloadFormat::Xz);
  const std::vector<uint8_t> vmlinux = decompress_payload(payload);
  const ElfImage elf = parse_elf(vmlinux);
  CHECK(elf.is64);
  CHECK(elf.entry == 0x1000000);
  CHECK(elf.low() == 0x1000000);
}
