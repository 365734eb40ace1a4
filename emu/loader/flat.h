// The flat-binary loader: places an image in zeroed RAM and builds the
// fixed initial machine state of the `softvt run --flat` contract (README,
// "The flat-binary runner"), identical for every accelerator.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/cpu_state.h"
#include "emu/memory.h"

namespace softvt {

enum class FlatMode : uint8_t { Long64, Prot32, Real16 };

bool parse_flat_mode(const std::string& s, FlatMode& out);
const char* flat_mode_name(FlatMode m);

constexpr uint64_t FLAT_GDT_BASE = 0x500;
constexpr uint64_t FLAT_PML4 = 0x1000;
constexpr uint64_t FLAT_DEFAULT_LOAD = 0x10000;

// Checks that an image of `size` bytes may be loaded at `load` in `mode`
// with `ram` bytes of RAM; returns an empty string or the problem.
std::string check_flat_layout(uint64_t load, uint64_t size, FlatMode mode, uint64_t ram);

// Writes the GDT (and for long64 the page tables) and the image into RAM
// and returns the initial CPU state. Call check_flat_layout first.
CpuState setup_flat(Memory& mem, const std::vector<uint8_t>& image, uint64_t load, FlatMode mode);

}  // namespace softvt
