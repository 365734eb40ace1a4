#include "emu/loader/multiboot.h"

#include <cstring>

#include "emu/loader/elf.h"
#include "emu/loader/loader_state.h"
#include "emu/memory.h"

namespace softvt {

namespace {

constexpr uint32_t FLAG_AOUT_KLUDGE = 1u << 16;
constexpr uint32_t PAGE = 4096;

// Information structure offsets and flags (Multiboot 0.6.96 section 3.3).
constexpr unsigned MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_BOOT_DEVICE = 12;
constexpr unsigned MBI_CMDLINE = 16, MBI_MODS_COUNT = 20, MBI_MODS_ADDR = 24;
constexpr unsigned MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48, MBI_BOOT_LOADER_NAME = 64;
constexpr uint32_t INFO_MEMORY = 1u << 0, INFO_BOOT_DEVICE = 1u << 1, INFO_CMDLINE = 1u << 2;
constexpr uint32_t INFO_MODS = 1u << 3, INFO_MMAP = 1u << 6, INFO_BOOT_LOADER_NAME = 1u << 9;
constexpr unsigned MODULE_ENTRY_SIZE = 16;
const char BOOT_LOADER_NAME[] = "qemu";  // the name QEMU gives

uint32_t get32(const std::vector<uint8_t>& f, uint64_t off) {
  uint32_t v;
  std::memcpy(&v, f.data() + off, 4);
  return v;
}
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint64_t page_align(uint64_t v) { return (v + PAGE - 1) & ~uint64_t(PAGE - 1); }

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

struct KernelImage {
  uint32_t load_addr, entry;
  std::vector<uint8_t> bytes;  // load_addr .. end of bss
};

// The a.out kludge: the header's address fields say where the file goes.
KernelImage aout_kludge_image(const std::vector<uint8_t>& f, const MultibootHeader& h) {
  if (uint64_t(h.offset) + 32 > f.size()) throw LoadError("multiboot header with the a.out kludge is truncated");
  const uint32_t header_addr = get32(f, h.offset + 12), load_addr = get32(f, h.offset + 16);
  const uint32_t load_end = get32(f, h.offset + 20), bss_end = get32(f, h.offset + 24);
  KernelImage k{load_addr, get32(f, h.offset + 28), {}};
  if (header_addr < load_addr) throw LoadError("multiboot header_addr lies below load_addr");
  if (header_addr - load_addr > h.offset)
    throw LoadError("multiboot load_addr lies before the start of the file");
  const uint64_t text_offset = h.offset - (header_addr - load_addr);
  uint64_t load_size;
  if (load_end) {
    if (load_end < load_addr) throw LoadError("multiboot load_end_addr lies below load_addr");
    load_size = load_end - load_addr;
  } else {
    load_size = f.size() - text_offset;
  }
  if (load_size > f.size() - text_offset)
    throw LoadError("multiboot load_end_addr asks for " + std::to_string(load_size) + " bytes from offset " +
                    hex(text_offset) + " but the file has " + std::to_string(f.size()) + " (truncated?)");
  uint64_t total = load_size;
  if (bss_end) {
    if (bss_end < load_addr + load_size) throw LoadError("multiboot bss_end_addr lies below load_end_addr");
    total = bss_end - load_addr;
  }
  k.bytes.assign(total, 0);
  std::memcpy(k.bytes.data(), f.data() + text_offset, load_size);
  return k;
}

KernelImage elf_image(const std::vector<uint8_t>& f) {
  const ElfImage elf = parse_elf(f);
  if (elf.machine == EM_X86_64)
    throw LoadError("a 64-bit ELF multiboot kernel without the a.out kludge (header flag bit 16); QEMU "
                    "refuses it too - link it as elf_i386 (32-bit ELF holding 64-bit code)");
  const uint64_t low = elf.low(), high = elf.high();
  if (high > 0x100000000ull) throw LoadError("ELF segments reach beyond 4 GiB");
  KernelImage k{uint32_t(low), uint32_t(elf.entry), std::vector<uint8_t>(high - low, 0)};
  for (const ElfSegment& s : elf.load) std::memcpy(k.bytes.data() + (s.paddr - low), f.data() + s.offset, s.filesz);
  return k;
}

// mem_upper as QEMU's option ROM computes it: the RAM contiguous from
// 1 MiB in the map, in KiB.
uint32_t upper_memory_kb(const std::vector<E820Range>& map) {
  uint64_t end = 0x100000;
  for (bool grew = true; grew;) {
    grew = false;
    for (const E820Range& e : map)
      if (e.type == e820::RAM && e.addr <= end && end < e.addr + e.size && e.addr + e.size <= 0x100000000ull) {
        end = e.addr + e.size;
        grew = true;
      }
  }
  return uint32_t((end - 0x100000) >> 10);
}

}  // namespace

std::optional<MultibootHeader> find_multiboot_header(const std::vector<uint8_t>& f) {
  // The header (magic, flags, checksum) is 32-bit aligned within the first
  // 8192 bytes; QEMU looks at offsets below 8192 - 48.
  for (uint64_t i = 0; i + 12 <= f.size() && i < 8192 - 48; i += 4) {
    if (get32(f, i) != MULTIBOOT_HEADER_MAGIC) continue;
    const uint32_t flags = get32(f, i + 4);
    if (uint32_t(MULTIBOOT_HEADER_MAGIC + flags + get32(f, i + 8)) == 0)
      return MultibootHeader{uint32_t(i), flags};
  }
  return std::nullopt;
}

CpuState multiboot_entry_state(Memory& mem, uint32_t entry) {
  // The option ROM's GDT: null, 0x08 flat 32-bit code, 0x10 flat data,
  // 0x18 16-bit code, 0x20 16-bit data.
  const uint64_t gdt[5] = {0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00009e000000ffffull,
                           0x000092000000ffffull};
  std::memcpy(mem.ram() + bios::GDT, gdt, sizeof gdt);
  CpuState s = loader_base_state();  // RFLAGS 0x2: CLI, CLD
  s.rip = entry;
  s.cr0 = cr0::PE | cr0::ET;
  s.gdtr = DescTable{bios::GDT, sizeof gdt - 1, 0};
  s.idtr = DescTable{0, 0x3ff, 0};  // the BIOS's real-mode IVT
  // Loaded segments have their accessed bit set in the hidden part.
  s.seg[CS] = SegReg{0x08, 0, 0x9b | ar::DB | ar::G, 0xffffffff, 0, 0};
  for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = SegReg{0x10, 0, 0x93 | ar::DB | ar::G, 0xffffffff, 0, 0};
  s.gpr[RSP] = MULTIBOOT_ENTRY_ESP;
  s.mode = Mode::Prot32;
  s.code_size = 4;
  s.stack_size = 4;
  return s;
}

MultibootLoad load_multiboot(Memory& mem, const std::vector<uint8_t>& kernel, const std::string& kernel_path,
                             const std::string& cmdline, const std::vector<MultibootModule>& modules,
                             const std::vector<E820Range>& memory_map) {
  const std::optional<MultibootHeader> h = find_multiboot_header(kernel);
  if (!h) throw LoadError("no multiboot header in the first 8 KiB");
  KernelImage k = (h->flags & FLAG_AOUT_KLUDGE) ? aout_kludge_image(kernel, *h) : elf_image(kernel);

  // The buffer, laid out as QEMU lays it out: the kernel (to the end of
  // its bss), page-aligned; the module table; the strings (module strings,
  // then the kernel's command line, then the boot loader name) and,
  // page-aligned, each module.
  const std::string kernel_cmdline = kernel_path + " " + cmdline;
  uint64_t strings_len = kernel_path.size() + 1 + cmdline.size() + 1;
  std::string initrd_option;
  for (size_t i = 0; i < modules.size(); ++i) initrd_option += (i ? "," : "") + modules[i].arg;
  if (!modules.empty()) strings_len += initrd_option.size() + 1;
  const uint64_t info_off = page_align(k.bytes.size());
  const uint64_t strings_off = info_off + MODULE_ENTRY_SIZE * modules.size();
  const uint64_t name_off = strings_off + strings_len;
  uint64_t size = page_align(name_off + sizeof BOOT_LOADER_NAME);
  std::vector<uint64_t> module_off;
  for (const MultibootModule& m : modules) {
    module_off.push_back(size);
    size = page_align(size + m.data.size());
  }
  if (uint64_t(k.load_addr) + size > mem.ram_size())
    throw LoadError("the kernel and its modules (" + std::to_string(size) + " bytes at " + hex(k.load_addr) +
                    ") do not fit in RAM (" + std::to_string(mem.ram_size()) + " bytes)");
  const auto overlaps = [&](uint64_t start, uint64_t end) { return k.load_addr < end && k.load_addr + size > start; };
  if (overlaps(MULTIBOOT_MMAP_ADDR, MULTIBOOT_INFO_ADDR + MULTIBOOT_INFO_SIZE))
    throw LoadError("the kernel (at " + hex(k.load_addr) + ") overlaps the multiboot information at 0x9000-0x9557");
  if (overlaps(0, 0x500) || overlaps(bios::EBDA_BASE, 0x100000))
    throw LoadError("the kernel (at " + hex(k.load_addr) + ", " + std::to_string(size) +
                    " bytes) overlaps the IVT, the BIOS data area, the EBDA or the BIOS area (0xa0000-0xfffff)");

  MultibootLoad out;
  out.entry = k.entry;
  out.load_addr = k.load_addr;
  std::vector<uint8_t>& buf = out.buffer;
  buf.assign(size, 0);
  std::memcpy(buf.data(), k.bytes.data(), k.bytes.size());
  const uint32_t phys = k.load_addr;
  uint64_t str = strings_off;
  const auto add_string = [&](const std::string& text) {
    std::memcpy(buf.data() + str, text.c_str(), text.size() + 1);
    const uint32_t addr = uint32_t(phys + str);
    str += text.size() + 1;
    return addr;
  };
  for (size_t i = 0; i < modules.size(); ++i) {
    const uint32_t arg_addr = add_string(modules[i].arg);
    std::memcpy(buf.data() + module_off[i], modules[i].data.data(), modules[i].data.size());
    uint8_t* e = buf.data() + info_off + MODULE_ENTRY_SIZE * i;
    put32(e + 0, uint32_t(phys + module_off[i]));                           // mod_start
    put32(e + 4, uint32_t(phys + module_off[i] + modules[i].data.size()));  // mod_end
    put32(e + 8, arg_addr);                                                 // string
  }
  const uint32_t cmdline_addr = add_string(kernel_cmdline);
  std::memcpy(buf.data() + name_off, BOOT_LOADER_NAME, sizeof BOOT_LOADER_NAME);

  // The information as QEMU passes it to its option ROM...
  std::vector<uint8_t>& info = out.initial_info;
  info.assign(MULTIBOOT_INFO_SIZE, 0);
  put32(&info[MBI_FLAGS], INFO_MEMORY | INFO_BOOT_DEVICE | INFO_CMDLINE | INFO_MODS | INFO_MMAP |
                              INFO_BOOT_LOADER_NAME);
  put32(&info[MBI_BOOT_DEVICE], 0x8000ffff);
  put32(&info[MBI_CMDLINE], cmdline_addr);
  put32(&info[MBI_MODS_COUNT], uint32_t(modules.size()));
  put32(&info[MBI_MODS_ADDR], uint32_t(phys + info_off));
  put32(&info[MBI_MMAP_ADDR], MULTIBOOT_MMAP_ADDR);
  put32(&info[MBI_BOOT_LOADER_NAME], uint32_t(phys + name_off));

  // ...and as the ROM completes it: mem_lower from INT 12h, the E820 map
  // (each entry preceded by its size, 20), mem_upper from that map.
  uint8_t* ram = mem.ram();
  std::vector<uint8_t> mbi = info;
  put32(&mbi[MBI_MEM_LOWER], bios::BASE_MEMORY_KB);
  put32(&mbi[MBI_MEM_UPPER], upper_memory_kb(memory_map));
  uint32_t mmap_len = 0;
  for (const E820Range& e : memory_map) {
    uint8_t* p = ram + MULTIBOOT_MMAP_ADDR + mmap_len;
    put32(p, 20);
    put64(p + 4, e.addr);
    put64(p + 12, e.size);
    put32(p + 20, e.type);
    mmap_len += 24;
  }
  put32(&mbi[MBI_MMAP_LENGTH], mmap_len);
  std::memcpy(ram + MULTIBOOT_INFO_ADDR, mbi.data(), mbi.size());
  std::memcpy(ram + phys, buf.data(), buf.size());

  out.state = multiboot_entry_state(mem, out.entry);
  out.state.gpr[RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
  out.state.gpr[RBX] = MULTIBOOT_INFO_ADDR;
  out.state.gpr[RCX] = out.entry;  // the option ROM jumps through ECX
  return out;
}

CpuState load_elf64_kernel(Memory& mem, const std::vector<uint8_t>& kernel) {
  const ElfImage elf = parse_elf(kernel);
  if (!elf.is64) throw LoadError("a 32-bit ELF file without a multiboot header");
  constexpr uint64_t TABLES_END = 0x7000;
  for (const ElfSegment& s : elf.load) {
    if (s.paddr + s.memsz > mem.ram_size())
      throw LoadError("ELF segment at " + hex(s.paddr) + " (" + std::to_string(s.memsz) + " bytes) lies outside RAM");
    if (s.paddr < TABLES_END)
      throw LoadError("ELF segment at " + hex(s.paddr) + " overlaps the page tables at 0x1000-0x6fff");
  }
  uint8_t* ram = mem.ram();
  for (const ElfSegment& s : elf.load) {
    std::memset(ram + s.paddr, 0, s.memsz);
    std::memcpy(ram + s.paddr, kernel.data() + s.offset, s.filesz);
  }
  CpuState st = multiboot_entry_state(mem, 0);
  // GDT entry 0x18 becomes 64-bit code for the long-mode entry.
  const uint64_t code64 = 0x00af9b000000ffffull;
  std::memcpy(ram + bios::GDT + 0x18, &code64, 8);
  const auto put = [&](uint64_t a, uint64_t v) { std::memcpy(ram + a, &v, 8); };
  put(0x1000, 0x2000 | 0x3);
  for (uint64_t i = 0; i < 4; ++i) put(0x2000 + 8 * i, (0x3000 + 0x1000 * i) | 0x3);
  for (uint64_t i = 0; i < 2048; ++i) put(0x3000 + 8 * i, (i << 21) | 0x83);
  st.rip = elf.entry;
  st.seg[CS] = SegReg{0x18, 0, 0x9b | ar::L | ar::G, 0xffffffff, 0, 0};
  st.cr0 = cr0::PE | cr0::ET | cr0::PG;
  st.cr4 = cr4::PAE;
  st.efer = efer::LME | efer::LMA;
  st.cr3 = 0x1000;
  st.mode = Mode::Long64;
  st.code_size = 8;
  st.stack_size = 8;
  return st;
}

}  // namespace softvt
