// Runs the guest corpus (tests/guest/*.asm) directly on the host CPU and
// checks the same header expectations, so every expected value in the
// corpus is confirmed by real hardware, not only by softvt.
//
// Each program runs through the native oracle (emu/accel/native.cpp,
// run_native) in its mode: long64 as 64-bit code, prot32 as 32-bit code in
// compatibility mode (flat segments), real16 as 16-bit code in LDT
// segments based at the load address, so it sees the addresses it sees in
// real mode (segment base load, 16-bit offsets, IP = 0, SP = 0xFFF0).
// Segment register loads and privileged instructions would differ, so
// programs that use them say `; native: skip REASON`. The image is mapped at
// its load address with room for the stack below it and data after it.
//
// What cannot be compared natively: "insns", cr*, efer, xmm*; RFLAGS is
// compared under the program's flags mask (default: the arithmetic flags
// and DF) without IF, which user mode cannot clear; in prot32 and real16
// only the low 32 bits of the GPRs are architectural.
#include <catch.hpp>

#include <fstream>

#include "emu/accel/accel.h"
#include "tests/unit/test_guest_corpus_support.h"

using softvt::FlatMode;
using softvt::NativeOutcome;
using softvt::NativeRegion;

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kMapStart = 0x4000;     // stack room below the usual load address
constexpr uint64_t kMapTail = 0x100000;    // data room after the image
constexpr uint64_t kDefaultFlagsMask = 0xcd5;  // OF DF SF ZF AF PF CF
constexpr uint64_t kTimeoutMs = 5000;

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

uint64_t mmap_min_addr() {
  std::ifstream f("/proc/sys/vm/mmap_min_addr");
  uint64_t v = 65536;
  f >> v;
  return v;
}

FlatMode flat_mode(const std::string& m) {
  FlatMode f = FlatMode::Long64;
  softvt::parse_flat_mode(m, f);
  return f;
}

// The stack below the image (RSP = load in long64 and prot32) and the data
// room after it (real16's SP = 0xFFF0 lies there too).
std::vector<NativeRegion> regions_around(uint64_t load, uint64_t image_size) {
  std::vector<NativeRegion> r;
  const uint64_t below = std::max(kMapStart, page_up(mmap_min_addr()));
  if (load > below) r.push_back({below, load - below});
  const uint64_t after = load + page_up(image_size);
  const uint64_t end = load + page_up(std::max<uint64_t>(image_size, 0x10000)) + kMapTail;
  r.push_back({after, end - after});
  return r;
}

// The bytes [addr, addr + n) of the image's pages or a region after the
// run; empty when they lie outside.
std::vector<uint8_t> bytes_at(const NativeOutcome& o, uint64_t load, const std::vector<NativeRegion>& regions,
                              uint64_t addr, uint64_t n) {
  auto slice = [&](const std::vector<uint8_t>& m, uint64_t base) -> std::vector<uint8_t> {
    if (addr < base || addr - base + n > m.size()) return {};
    return {m.begin() + long(addr - base), m.begin() + long(addr - base + n)};
  };
  if (auto b = slice(o.image, load); !b.empty()) return b;
  for (size_t i = 0; i < regions.size() && i < o.regions.size(); ++i)
    if (auto b = slice(o.regions[i], regions[i].addr); !b.empty()) return b;
  return {};
}

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

bool native_comparable(const std::string& key) {
  return key != "insns" && key.rfind("cr", 0) != 0 && key != "efer" && key.rfind("xmm", 0) != 0;
}

}  // namespace

TEST_CASE("guest corpus on the host CPU") {
  auto programs = corpus::load_corpus();
  REQUIRE(!programs.empty());
  for (const auto& p : programs) {
    if (!p.native_skip.empty()) {
      std::printf("not run natively: %s: %s\n", p.name.c_str(), p.native_skip.c_str());
      continue;
    }
    DYNAMIC_SECTION(p.name) {
      REQUIRE(p.header_errors.empty());
      const FlatMode mode = flat_mode(p.mode);
      const std::string why = softvt::native_unavailable_reason(mode);
      if (!why.empty()) {
        WARN(p.name << ": not run: the native oracle cannot run " << p.mode << " code here: " << why);
        continue;
      }
      const std::string img = corpus::slurp(p.bin);
      const std::vector<uint8_t> image(img.begin(), img.end());
      const std::vector<NativeRegion> regions = regions_around(p.load, image.size());
      softvt::NativeOptions opt;
      opt.mode = mode;
      opt.timeout_ms = kTimeoutMs;
      const NativeOutcome n = softvt::run_native(image, p.load, regions, opt);
      INFO(p.name << " (" << p.mode << ") on the host CPU");
      INFO("native oracle: " << n.detail);
      REQUIRE(n.ran);
      const uint64_t width = p.mode == "long64" ? ~uint64_t(0) : 0xffffffffull;
      std::map<std::string, std::string> st;
      for (int i = 0; i < 16; ++i) st[kGprNames[i]] = corpus::hex(n.state.gpr[i] & width);
      st["rip"] = corpus::hex(n.state.rip & width);
      st["rflags"] = corpus::hex(n.state.rflags);
      st["exit"] = n.ended_by_hlt ? "hlt" : "signal " + std::to_string(n.signal);
      corpus::Program q = p;
      q.expects.clear();
      for (const auto& kv : p.expects)
        if (native_comparable(kv.first)) q.expects.push_back(kv);
      q.flags_mask = (p.flags_mask ? *p.flags_mask : kDefaultFlagsMask) & ~uint64_t(0x200);
      for (const auto& m : corpus::compare_state(q, st)) {
        INFO(p.name << ": " << m.key << " expected " << m.expected << ", host CPU gave " << m.actual);
        CHECK(m.expected == m.actual);
      }
      for (const auto& [start, end] : corpus::dump_ranges(p)) {
        const std::vector<uint8_t> mem = bytes_at(n, p.load, regions, start, end - start);
        INFO(p.name << ": memory " << corpus::hex(start) << ".." << corpus::hex(end) << " is mapped natively");
        CHECK(!mem.empty());
        for (const auto& m : corpus::compare_mem(p, start, corpus::bytes_hex(mem))) {
          INFO(p.name << ": " << m.key << " expected " << m.expected << ", host CPU gave " << m.actual);
          CHECK(m.expected == m.actual);
        }
      }
    }
  }
}
