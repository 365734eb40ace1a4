// Decoded blocks cached by guest-physical address and decode mode, dropped
// when a write hits a page holding decoded code (DESIGN.md "Decoding").
#pragma once
#include <cstdint>
#include <bitset>
#include <memory>
#include <unordered_map>
#include <vector>

#include "decoder/decoder.h"
#include "decoder/insn.h"

namespace softvt {

class Cpu;

struct Block {
  uint64_t key;                // (phys << 3) | DecodeMode
  uint64_t phys;               // physical address of the first byte
  std::vector<Insn> insns;
  std::vector<uint8_t> bytes;  // the instructions' bytes, back to back (traces)
  bool cached = true;          // false for a one-off page-crossing instruction
};

class BlockCache {
 public:
  explicit BlockCache(const CpuModel& model) : decoder_(model) {}
  // The block starting at the CPU's current RIP. Raises the fetch's faults
  // (#PF, #GP for CS limit or non-canonical RIP, #UD for an invalid first
  // instruction).
  const Block& lookup(Cpu& cpu);
  // Drops every block on a physical page.
  void invalidate_page(uint64_t page);
  // Does a write of `size` bytes at `phys` touch bytes of decoded code?
  bool write_hits_code(uint64_t phys, unsigned size) const;
  void clear();
  const Decoder& decoder() const { return decoder_; }
  uint64_t blocks_built() const { return built_; }
  // CPUs that share this cache (a machine with several): when a page
  // first holds decoded code, every one of them stops caching fast writes
  // to it, so any CPU's write to the code invalidates it. Empty: only the
  // CPU that decoded the block.
  std::vector<Cpu*> sharing_cpus;

 private:
  Block* build(Cpu& cpu, uint64_t lin, uint64_t phys, DecodeMode mode);

  Decoder decoder_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  // Per physical page: the blocks decoded from it and which of its bytes
  // they cover (a write elsewhere on the page keeps them).
  struct CodePage {
    std::vector<uint64_t> keys;
    std::bitset<4096> bytes;
  };
  std::unordered_map<uint64_t, CodePage> pages_;
  // Blocks invalidated while one of them may still be executing: freed at
  // the next lookup.
  std::vector<std::unique_ptr<Block>> retired_;
  std::unique_ptr<Block> uncached_;
  struct FastEntry {
    uint64_t key = ~uint64_t(0);
    Block* block = nullptr;
  };
  static constexpr unsigned FAST_SIZE = 4096;
  FastEntry fast_[FAST_SIZE];
  uint64_t built_ = 0;
};

DecodeMode decode_mode_of(const Cpu& cpu);

}  // namespace softvt
