#include "emu/loader/flat.h"

#include <cstring>

#include "emu/loader/loader_state.h"

namespace softvt {

bool parse_flat_mode(const std::string& s, FlatMode& out) {
  if (s == "long64") out = FlatMode::Long64;
  else if (s == "prot32") out = FlatMode::Prot32;
  else if (s == "real16") out = FlatMode::Real16;
  else return false;
  return true;
}

const char* flat_mode_name(FlatMode m) {
  switch (m) {
    case FlatMode::Long64: return "long64";
    case FlatMode::Prot32: return "prot32";
    default: return "real16";
  }
}

namespace {

// The contract's GDT: null, 64-bit code, flat data, 32-bit code.
constexpr uint64_t GDT[4] = {0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
                             0x00cf9b000000ffffull};

SegReg flat_segment(uint16_t sel) {
  const uint64_t d = GDT[sel >> 3];
  SegReg r{};
  r.sel = sel;
  r.base = 0;
  r.attr = uint32_t((d >> 40) & 0xff) | uint32_t(((d >> 52) & 0xf) << 12);
  r.limit = 0xffffffff;  // limit 0xfffff with G = 1
  return r;
}

SegReg real_segment(uint16_t sel, uint32_t type) {
  SegReg r{};
  r.sel = sel;
  r.base = uint64_t(sel) << 4;
  r.limit = 0xffff;
  r.attr = type | ar::S | ar::P;
  return r;
}

}  // namespace

std::string check_flat_layout(uint64_t load, uint64_t size, FlatMode mode, uint64_t ram) {
  if (size == 0) return "the image is empty";
  if (load >= ram || size > ram - load)
    return "the image (" + std::to_string(size) + " bytes at " + std::to_string(load) +
           ") does not fit in RAM (" + std::to_string(ram) + " bytes)";
  const uint64_t reserved_end = mode == FlatMode::Long64 ? 0x7000 : FLAT_GDT_BASE + 32;
  if (load < reserved_end && load + size > FLAT_GDT_BASE)
    return "the image overlaps the GDT/page tables the runner places at 0x500-0x" +
           [&] { char b[16]; snprintf(b, sizeof b, "%llx", (unsigned long long)reserved_end - 1); return std::string(b); }();
  if (mode == FlatMode::Real16) {
    if (load & 0xf) return "--load must be 16-byte aligned in real16 mode";
    if (load >= 0x100000) return "--load must be below 1 MiB in real16 mode";
  }
  if (mode == FlatMode::Prot32 && load + size > 0x100000000ull)
    return "the image must lie below 4 GiB in prot32 mode";
  return "";
}

CpuState setup_flat(Memory& mem, const std::vector<uint8_t>& image, uint64_t load, FlatMode mode) {
  uint8_t* ram = mem.ram();
  std::memcpy(ram + FLAT_GDT_BASE, GDT, sizeof GDT);
  CpuState s = loader_base_state();
  s.gdtr = DescTable{FLAT_GDT_BASE, 31, 0};
  s.idtr = DescTable{0, 0, 0};
  switch (mode) {
    case FlatMode::Long64: {
      // PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages
      // identity-mapping the first 4 GiB.
      auto put = [&](uint64_t addr, uint64_t v) { std::memcpy(ram + addr, &v, 8); };
      put(0x1000, 0x2000 | 0x7);
      for (uint64_t i = 0; i < 4; ++i) put(0x2000 + 8 * i, (0x3000 + 0x1000 * i) | 0x7);
      for (uint64_t i = 0; i < 2048; ++i) put(0x3000 + 8 * i, (i << 21) | 0x87);
      s.rip = load;
      s.seg[CS] = flat_segment(0x08);
      for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = flat_segment(0x10);
      s.cr0 = 0x80010033;
      s.cr4 = 0x620;
      s.efer = 0xd01;
      s.cr3 = FLAT_PML4;
      s.gpr[RSP] = load;
      s.mode = Mode::Long64;
      s.code_size = 8;
      s.stack_size = 8;
      break;
    }
    case FlatMode::Prot32:
      s.rip = load;
      s.seg[CS] = flat_segment(0x18);
      for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = flat_segment(0x10);
      s.cr0 = 0x33;
      s.cr4 = 0x600;
      s.gpr[RSP] = load;
      s.mode = Mode::Prot32;
      s.code_size = 4;
      s.stack_size = 4;
      break;
    case FlatMode::Real16: {
      const uint16_t sel = uint16_t(load >> 4);
      s.rip = 0;
      s.seg[CS] = real_segment(sel, 0xb);
      for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = real_segment(sel, 0x3);
      s.cr0 = 0x60000010;
      s.gpr[RSP] = 0xfff0;
      s.mode = Mode::Real;
      s.code_size = 2;
      s.stack_size = 2;
      break;
    }
  }
  std::memcpy(ram + load, image.data(), image.size());
  return s;
}

}  // namespace softvt
