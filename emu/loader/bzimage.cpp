#include "emu/loader/bzimage.h"

#include <algorithm>
#include <cstring>

#include "emu/loader/elf.h"
#include "emu/loader/kernel_payload.h"
#include "emu/loader/loader_state.h"

namespace softvt {
namespace {

// Setup-header offsets (boot.rst "The Real-Mode Kernel Header"); the same
// offsets address the header's copy inside boot_params.
namespace hdr {
constexpr size_t SETUP_SECTS = 0x1f1, BOOT_FLAG = 0x1fe, JUMP = 0x200, MAGIC = 0x202;
constexpr size_t VERSION = 0x206, TYPE_OF_LOADER = 0x210, LOADFLAGS = 0x211;
constexpr size_t RAMDISK_IMAGE = 0x218, RAMDISK_SIZE = 0x21c, CMD_LINE_PTR = 0x228;
constexpr size_t INITRD_ADDR_MAX = 0x22c, KERNEL_ALIGNMENT = 0x230, RELOCATABLE = 0x234;
constexpr size_t XLOADFLAGS = 0x236, CMDLINE_SIZE = 0x238, PREF_ADDRESS = 0x258;
constexpr size_t PAYLOAD_OFFSET = 0x248, PAYLOAD_LENGTH = 0x24c, INIT_SIZE = 0x260;
}  // namespace hdr

// boot_params fields outside the header (zero-page.rst).
namespace zp {
constexpr size_t ACPI_RSDP_ADDR = 0x070, EXT_RAMDISK_IMAGE = 0x0c0, EXT_RAMDISK_SIZE = 0x0c4;
constexpr size_t EXT_CMD_LINE_PTR = 0x0c8, E820_ENTRIES = 0x1e8, E820_TABLE = 0x2d0;
constexpr unsigned E820_MAX = 128;
}  // namespace zp

constexpr uint16_t XLF_KERNEL_64 = 1, XLF_CAN_BE_LOADED_ABOVE_4G = 2;
constexpr uint8_t LOADED_HIGH = 1;
constexpr uint16_t MIN_PROTOCOL = 0x020c;  // 2.12: xloadflags and the 64-bit entry

template <typename T>
T get(const std::vector<uint8_t>& b, size_t off) {
  T v{};
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}
template <typename T>
void put(uint8_t* p, size_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// End (exclusive) of the usable e820 range holding [addr, addr + size), or
// 0 if no single usable range holds it.
uint64_t usable_end(const std::vector<E820Range>& map, uint64_t addr, uint64_t size) {
  for (const E820Range& r : map)
    if (r.type == e820::RAM && addr >= r.addr && addr + size <= r.addr + r.size) return r.addr + r.size;
  return 0;
}

// Protected-mode kernel placement: its preferred address when relocation
// is not possible or it fits there, else the first kernel_alignment-aligned
// address at or above 16 MiB with init_size bytes of usable RAM.
uint64_t place_kernel(const SetupHeader& h, const std::vector<E820Range>& map) {
  const uint64_t need = std::max<uint64_t>(h.init_size, 1);
  if (usable_end(map, h.pref_address, need)) return h.pref_address;
  if (!h.relocatable)
    throw BzImageError("the kernel is not relocatable and needs " + std::to_string(need >> 20) +
                       " MiB of RAM at " + hex(h.pref_address) + ": give more memory (-m)");
  const uint64_t align = std::max<uint64_t>(h.kernel_alignment, 0x200000);
  for (const E820Range& r : map) {
    if (r.type != e820::RAM) continue;
    uint64_t a = (std::max<uint64_t>(r.addr, 0x1000000) + align - 1) & ~(align - 1);
    if (a + need <= r.addr + r.size) return a;
  }
  throw BzImageError("no usable RAM range holds the kernel's " + std::to_string(need >> 20) +
                     " MiB (init_size): give more memory (-m)");
}

// Initrd placement as QEMU does it: page-aligned, as high as possible below
// initrd_addr_max (below 4 GiB unless the kernel accepts more), in a usable
// range, above the kernel's image.
uint64_t place_initrd(uint64_t size, uint64_t limit, uint64_t kernel_end,
                      const std::vector<E820Range>& map) {
  uint64_t best = 0;
  for (const E820Range& r : map) {
    if (r.type != e820::RAM) continue;
    const uint64_t top = std::min(r.addr + r.size, limit);
    if (top < size) continue;
    const uint64_t a = (top - size) & ~uint64_t(0xfff);
    if (a >= r.addr && a >= kernel_end && a > best) best = a;
  }
  if (!best)
    throw BzImageError("the initrd (" + std::to_string(size) + " bytes) does not fit in RAM above the kernel: give more memory (-m)");
  return best;
}

// Identity map of the first 4 GiB with 2 MiB pages: PML4 -> PDPT -> four
// page directories (the 64-bit protocol needs the kernel, boot_params and
// the command line mapped; the kernel builds its own tables at once).
void build_identity_map(uint8_t* ram) {
  using namespace linux_layout;
  put<uint64_t>(ram, PAGE_TABLES, (PAGE_TABLES + 0x1000) | 0x3);
  for (uint64_t i = 0; i < 4; ++i)
    put<uint64_t>(ram, PAGE_TABLES + 0x1000 + 8 * i, (PAGE_TABLES + 0x2000 + 0x1000 * i) | 0x3);
  for (uint64_t i = 0; i < 2048; ++i)
    put<uint64_t>(ram, PAGE_TABLES + 0x2000 + 8 * i, (i << 21) | 0x83);
}

SegReg boot_segment(uint16_t sel, uint64_t descriptor) {
  SegReg r{};
  r.sel = sel;
  r.attr = uint32_t((descriptor >> 40) & 0xff) | uint32_t(((descriptor >> 52) & 0xf) << 12);
  r.limit = 0xffffffff;
  return r;
}

struct PlacedKernel {
  uint64_t entry;  // physical address of the first instruction
  uint64_t end;    // end of the memory the kernel occupies
};

// The compressed kernel as the boot protocol places it; its decompressor
// runs in the guest.
PlacedKernel place_compressed(uint8_t* ram, const LinuxBoot& boot, const SetupHeader& h) {
  const uint64_t setup_bytes = (uint64_t(h.setup_sects) + 1) * 512;
  const uint64_t load = place_kernel(h, boot.e820);
  std::memcpy(ram + load, boot.kernel.data() + setup_bytes, boot.kernel.size() - setup_bytes);
  return {load + 0x200, load + h.init_size};  // startup_64: boot.rst "at the offset 0x200"
}

// The vmlinux inside the payload, its PT_LOAD segments at their physical
// addresses (LOAD_PHYSICAL_ADDR, where the kernel runs without relocation).
PlacedKernel place_decompressed(uint8_t* ram, const LinuxBoot& boot, const SetupHeader& h) {
  std::vector<uint8_t> vmlinux;
  ElfImage elf;
  try {
    vmlinux = decompress_payload(bzimage_payload(boot.kernel, h));
    elf = parse_elf(vmlinux);
  } catch (const PayloadError& e) {
    throw BzImageError(std::string("--host-decompress: ") + e.what());
  } catch (const LoadError& e) {
    throw BzImageError(std::string("--host-decompress: the decompressed kernel: ") + e.what());
  }
  if (!elf.is64 || elf.machine != EM_X86_64)
    throw BzImageError("--host-decompress: the decompressed kernel is not an x86-64 ELF file");
  bool entry_loaded = false;
  for (const ElfSegment& seg : elf.load) {
    if (!usable_end(boot.e820, seg.paddr, seg.memsz))
      throw BzImageError("--host-decompress: the kernel's segment at " + hex(seg.paddr) + "-" +
                         hex(seg.paddr + seg.memsz - 1) + " is not in usable RAM: give more memory (-m)");
    std::memcpy(ram + seg.paddr, vmlinux.data() + seg.offset, seg.filesz);
    std::memset(ram + seg.paddr + seg.filesz, 0, seg.memsz - seg.filesz);
    entry_loaded |= elf.entry >= seg.paddr && elf.entry < seg.paddr + seg.filesz;
  }
  if (!entry_loaded)
    throw BzImageError("--host-decompress: the kernel's entry point " + hex(elf.entry) +
                       " is not the physical address of loaded code");
  return {elf.entry, elf.high()};
}

}  // namespace

SetupHeader parse_setup_header(const std::vector<uint8_t>& image) {
  if (image.size() < 0x400) throw BzImageError("too small for a bzImage (" + std::to_string(image.size()) + " bytes)");
  if (get<uint16_t>(image, hdr::BOOT_FLAG) != 0xaa55)
    throw BzImageError("no boot flag 0xAA55 at offset 0x1fe: not a Linux kernel image");
  if (std::memcmp(image.data() + hdr::MAGIC, "HdrS", 4) != 0)
    throw BzImageError("no \"HdrS\" setup-header signature at offset 0x202: not a bzImage");
  SetupHeader h{};
  h.version = get<uint16_t>(image, hdr::VERSION);
  if (h.version < MIN_PROTOCOL)
    throw BzImageError("boot protocol " + std::to_string(h.version >> 8) + "." + std::to_string(h.version & 0xff) +
                       " is too old (2.12 or later is needed for the 64-bit entry)");
  h.setup_sects = get<uint8_t>(image, hdr::SETUP_SECTS);
  if (h.setup_sects == 0) h.setup_sects = 4;  // boot.rst: 0 means 4
  h.loadflags = get<uint8_t>(image, hdr::LOADFLAGS);
  h.initrd_addr_max = get<uint32_t>(image, hdr::INITRD_ADDR_MAX);
  h.kernel_alignment = get<uint32_t>(image, hdr::KERNEL_ALIGNMENT);
  h.relocatable = get<uint8_t>(image, hdr::RELOCATABLE);
  h.xloadflags = get<uint16_t>(image, hdr::XLOADFLAGS);
  h.cmdline_size = get<uint32_t>(image, hdr::CMDLINE_SIZE);
  h.pref_address = get<uint64_t>(image, hdr::PREF_ADDRESS);
  h.init_size = get<uint32_t>(image, hdr::INIT_SIZE);
  h.payload_offset = get<uint32_t>(image, hdr::PAYLOAD_OFFSET);  // protocol 2.08+
  h.payload_length = get<uint32_t>(image, hdr::PAYLOAD_LENGTH);
  if (!(h.xloadflags & XLF_KERNEL_64)) throw BzImageError("the kernel has no 64-bit entry point (xloadflags bit 0 clear)");
  if (!(h.loadflags & LOADED_HIGH)) throw BzImageError("not a bzImage (a zImage loads low; loadflags bit 0 clear)");
  const uint64_t setup_bytes = (uint64_t(h.setup_sects) + 1) * 512;
  if (setup_bytes >= image.size())
    throw BzImageError("truncated: the setup code (" + std::to_string(setup_bytes) + " bytes) is the whole file");
  if (h.init_size < image.size() - setup_bytes)
    throw BzImageError("init_size (" + std::to_string(h.init_size) + ") is smaller than the kernel it must hold");
  if (h.relocatable && (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1))))
    throw BzImageError("kernel_alignment " + hex(h.kernel_alignment) + " is not a power of two");
  return h;
}

CpuState load_linux(Memory& mem, const LinuxBoot& boot) {
  using namespace linux_layout;
  const SetupHeader h = parse_setup_header(boot.kernel);
  uint8_t* ram = mem.ram();
  for (const E820Range& r : boot.e820)
    if (r.type == e820::RAM && r.addr + r.size > mem.ram_size())
      throw BzImageError("the e820 map names RAM at " + hex(r.addr) + "-" + hex(r.addr + r.size - 1) +
                         " beyond the machine's " + std::to_string(mem.ram_size() >> 20) + " MiB");
  if (mem.ram_size() < 0x100000) throw BzImageError("the machine needs at least 1 MiB of RAM");
  const PlacedKernel kernel = boot.host_decompress ? place_decompressed(ram, boot, h) : place_compressed(ram, boot, h);

  if (boot.cmdline.size() + 1 > std::max<uint32_t>(h.cmdline_size, 255) + 1)
    throw BzImageError("the command line (" + std::to_string(boot.cmdline.size()) +
                       " bytes) exceeds the kernel's cmdline_size " + std::to_string(h.cmdline_size));
  std::memset(ram + CMDLINE, 0, boot.cmdline.size() + 1);
  std::memcpy(ram + CMDLINE, boot.cmdline.data(), boot.cmdline.size());

  // boot_params: zeroed, the image's setup header copied to 0x1f1 (its
  // end is 0x202 + the byte at 0x201, boot.rst "64-bit boot protocol").
  uint8_t* bp = ram + BOOT_PARAMS;
  std::memset(bp, 0, 4096);
  const size_t hdr_end = std::min<size_t>(0x202 + boot.kernel[hdr::JUMP + 1], 4096);
  std::memcpy(bp + hdr::SETUP_SECTS, boot.kernel.data() + hdr::SETUP_SECTS, hdr_end - hdr::SETUP_SECTS);
  put<uint8_t>(bp, hdr::TYPE_OF_LOADER, 0xff);  // "undefined" boot loader
  put<uint32_t>(bp, hdr::CMD_LINE_PTR, uint32_t(CMDLINE));
  put<uint32_t>(bp, zp::EXT_CMD_LINE_PTR, 0);

  if (!boot.initrd.empty()) {
    const uint64_t limit = (h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) ? ~uint64_t(0) >> 1
                                                                       : uint64_t(h.initrd_addr_max) + 1;
    const uint64_t at = place_initrd(boot.initrd.size(), std::min<uint64_t>(limit, 0x100000000ull),
                                     kernel.end, boot.e820);
    std::memcpy(ram + at, boot.initrd.data(), boot.initrd.size());
    put<uint32_t>(bp, hdr::RAMDISK_IMAGE, uint32_t(at));
    put<uint32_t>(bp, hdr::RAMDISK_SIZE, uint32_t(boot.initrd.size()));
    put<uint32_t>(bp, zp::EXT_RAMDISK_IMAGE, uint32_t(at >> 32));
    put<uint32_t>(bp, zp::EXT_RAMDISK_SIZE, uint32_t(uint64_t(boot.initrd.size()) >> 32));
  }

  if (boot.e820.size() > zp::E820_MAX) throw BzImageError("the e820 map has more than 128 ranges");
  put<uint8_t>(bp, zp::E820_ENTRIES, uint8_t(boot.e820.size()));
  for (size_t i = 0; i < boot.e820.size(); ++i) {
    put<uint64_t>(bp, zp::E820_TABLE + 20 * i, boot.e820[i].addr);
    put<uint64_t>(bp, zp::E820_TABLE + 20 * i + 8, boot.e820[i].size);
    put<uint32_t>(bp, zp::E820_TABLE + 20 * i + 16, boot.e820[i].type);
  }
  put<uint64_t>(bp, zp::ACPI_RSDP_ADDR, boot.acpi_rsdp);

  // GDT with __BOOT_CS = 0x10 (64-bit code) and __BOOT_DS = 0x18 (flat data).
  const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
  std::memcpy(ram + GDT, gdt, sizeof gdt);
  build_identity_map(ram);

  CpuState s = loader_base_state();
  s.rip = kernel.entry;
  s.gpr[RSI] = BOOT_PARAMS;
  s.gpr[RSP] = STACK_TOP;
  s.seg[CS] = boot_segment(0x10, gdt[2]);
  for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = boot_segment(0x18, gdt[3]);
  s.gdtr = DescTable{GDT, sizeof gdt - 1, 0};
  s.idtr = DescTable{0, 0, 0};
  s.cr0 = 0x80000033;  // PG, NE, ET, MP, PE
  s.cr3 = PAGE_TABLES;
  s.cr4 = 0x20;        // PAE
  s.efer = 0x500;      // LME, LMA
  s.mode = Mode::Long64;  // RFLAGS 0x2 from the base state: interrupts disabled
  s.code_size = 8;
  s.stack_size = 8;
  return s;
}

}  // namespace softvt
