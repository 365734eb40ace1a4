// A CPU of a chosen model running a nasm snippet from the flat-runner
// state (emu/loader/flat.h) through the real run loop (Cpu::run), for the
// tests of single architectural rules.
#pragma once
#include <cstring>
#include <string>

#include "emu/block_cache.h"
#include "emu/cli/cpu_option.h"
#include "emu/cpu.h"
#include "emu/loader/flat.h"
#include "tests/unit/nasm_support.h"

namespace softvt::test {

struct FlatMachine {
  static constexpr uint64_t LOAD = 0x10000;
  CpuModel model;
  Memory mem{16 << 20};
  Cpu cpu{mem, model};
  BlockCache blocks{model};

  // `bits`: "bits 64" code for Long64, "bits 16" for Real16, ...; the
  // snippet starts at LOAD (org 0 in real mode: CS = LOAD >> 4).
  FlatMachine(FlatMode mode, const std::string& src, const std::string& cpu_option = "intel")
      : model(parse_cpu_option(cpu_option)) {
    cpu.s = setup_flat(mem, assemble_nasm(src), LOAD, mode);
    cpu.blocks = &blocks;
    cpu.update_mode();
  }
  uint16_t u16(uint64_t addr) const {
    uint16_t v;
    std::memcpy(&v, mem.ram() + addr, 2);
    return v;
  }
  void put16(uint64_t addr, uint16_t v) { std::memcpy(mem.ram() + addr, &v, 2); }
  // Real mode: IVT entry `vector` -> LOAD_SEGMENT:offset, and the IDTR
  // covering the whole IVT.
  void real_vector(uint8_t vector, uint16_t offset) {
    put16(4 * vector, offset);
    put16(4 * vector + 2, uint16_t(LOAD >> 4));
    cpu.s.idtr = DescTable{0, 0x3ff, 0};
  }
};

}  // namespace softvt::test
