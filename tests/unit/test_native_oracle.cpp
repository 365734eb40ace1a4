// The native execution oracle (emu/accel/native.cpp): snippets run on the
// host CPU at CPL 3; the expected values follow from the SDM's definition
// of each instruction, so these tests check the oracle's plumbing (entry
// state, register and memory read-back, fault and HLT recognition,
// timeout, refusal of bad layouts).
#include <signal.h>

#include <algorithm>
#include <catch.hpp>
#include <chrono>
#include <cstring>

#include "emu/accel/accel.h"

using namespace softvt;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint64_t LOAD = 0x10000;
constexpr uint64_t DATA = 0x20000;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes HLT = {0xf4};

}  // namespace

TEST_CASE("native: mov/add/hlt leave the architectural registers") {
  const Bytes img = cat({{0xb8, 0x05, 0x00, 0x00, 0x00},     // mov eax, 5
                         {0x48, 0x83, 0xc0, 0x07},           // add rax, 7
                         {0xbb, 0x34, 0x12, 0x00, 0x00},     // mov ebx, 0x1234
                         {0x49, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff},  // mov r15, -1
                         HLT});
  NativeOutcome o = run_native(img, LOAD, {});
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  CHECK(o.signal == SIGSEGV);
  CHECK(o.detail == "hlt");
  CHECK(o.state.gpr[RAX] == 12);
  CHECK(o.state.gpr[RBX] == 0x1234);
  CHECK(o.state.gpr[R15] == ~uint64_t(0));
  // Untouched registers keep the entry values: 0, RSP = load.
  for (int r : {RCX, RDX, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14}) CHECK(o.state.gpr[r] == 0);
  CHECK(o.state.gpr[RSP] == LOAD);
  // RIP after the HLT, as hardware leaves it.
  CHECK(o.state.rip == LOAD + img.size());
  // 5 + 7 = 12 = 0b1100: even parity, no carries, not zero, positive.
  CHECK((o.state.rflags & fl::ARITH) == fl::PF);
  CHECK((o.state.rflags & fl::IF));
}

TEST_CASE("native: entry state") {
  NativeOutcome o = run_native(HLT, LOAD, {});
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  CHECK(o.state.rip == LOAD + 1);
  for (int r = 0; r < 16; ++r) CHECK(o.state.gpr[r] == (r == RSP ? LOAD : 0));
  // RFLAGS 0x202 at entry; the image the kernel saved for the #GP of the
  // HLT also has RF set (SDM Vol. 3B 17.3.1.1: faults set RF in the
  // pushed image).
  CHECK(o.state.rflags == (0x202 | fl::RF));
  // x87 after FNINIT: FCW 0x37f, FSW 0, all registers empty (abridged tag 0).
  uint16_t fcw, fsw;
  std::memcpy(&fcw, o.state.xsave, 2);
  std::memcpy(&fsw, o.state.xsave + 2, 2);
  CHECK(fcw == 0x37f);
  CHECK(fsw == 0);
  CHECK(o.state.xsave[4] == 0);
}

TEST_CASE("native: ADD flags for carry, zero, auxiliary carry and overflow") {
  // 0xff + 1 = 0x00 with CF, ZF, AF, PF (SDM Vol. 2 ADD, Vol. 1 3.4.3.1).
  NativeOutcome o = run_native(cat({{0xb0, 0xff}, {0x04, 0x01}, HLT}), LOAD, {});
  REQUIRE(o.ran);
  CHECK((o.state.gpr[RAX] & 0xff) == 0);
  CHECK((o.state.rflags & fl::ARITH) == (fl::CF | fl::ZF | fl::AF | fl::PF));
  // 0x7f + 1 = 0x80: signed overflow, sign, AF; 0x80 has odd parity.
  o = run_native(cat({{0xb0, 0x7f}, {0x04, 0x01}, HLT}), LOAD, {});
  REQUIRE(o.ran);
  CHECK((o.state.gpr[RAX] & 0xff) == 0x80);
  CHECK((o.state.rflags & fl::ARITH) == (fl::OF | fl::SF | fl::AF));
  // 0x80000000 + 0x80000000 in 32 bits: 0 with CF, OF, ZF, PF; the
  // 32-bit write zero-extends into RCX.
  o = run_native(cat({{0xb9, 0x00, 0x00, 0x00, 0x80}, {0x01, 0xc9}, HLT}), LOAD, {});
  REQUIRE(o.ran);
  CHECK(o.state.gpr[RCX] == 0);
  CHECK((o.state.rflags & fl::ARITH) == (fl::CF | fl::OF | fl::ZF | fl::PF));
}

TEST_CASE("native: stores land in a region and come back") {
  const Bytes img = cat({{0xbf, 0x00, 0x00, 0x02, 0x00},              // mov edi, 0x20000
                         {0x48, 0xc7, 0x07, 0x44, 0x33, 0x22, 0x11},  // mov qword [rdi], 0x11223344
                         {0xc6, 0x47, 0x08, 0x55},                    // mov byte [rdi+8], 0x55
                         HLT});
  NativeOutcome o = run_native(img, LOAD, {{DATA, 0x1000}});
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  REQUIRE(o.regions.size() == 1);
  REQUIRE(o.regions[0].size() == 0x1000);
  const Bytes want = {0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, 0x55, 0};
  CHECK(Bytes(o.regions[0].begin(), o.regions[0].begin() + 10) == want);
  // The rest of the region stays zero-filled.
  CHECK(std::all_of(o.regions[0].begin() + 10, o.regions[0].end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("native: the stack grows below the load address") {
  // mov eax, 5; push rax; hlt with a region holding the page below LOAD.
  NativeOutcome o = run_native(cat({{0xb8, 0x05, 0x00, 0x00, 0x00}, {0x50}, HLT}), LOAD,
                               {{LOAD - 0x1000, 0x1000}});
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  CHECK(o.state.gpr[RSP] == LOAD - 8);
  uint64_t pushed;
  std::memcpy(&pushed, o.regions[0].data() + 0x1000 - 8, 8);
  CHECK(pushed == 5);
  // Without that region the push faults: #PF on a write to an unmapped
  // user page (error code P=0, W=1, U=1), RIP on the PUSH, RSP unchanged.
  o = run_native(cat({{0xb8, 0x05, 0x00, 0x00, 0x00}, {0x50}, HLT}), LOAD, {});
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGSEGV);
  CHECK(o.vector == 14);
  CHECK(o.error_code == 0x6);
  CHECK(o.fault_addr == LOAD - 8);
  CHECK(o.state.rip == LOAD + 5);
  CHECK(o.state.gpr[RSP] == LOAD);
}

TEST_CASE("native: a prefixed HLT is still a HLT; a F4 byte inside MOV is not") {
  NativeOutcome o = run_native({0x66, 0xf4}, LOAD, {});
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  CHECK(o.state.rip == LOAD + 2);
  // mov al, 0xf4; ud2: the fault is the UD2, not a HLT.
  o = run_native({0xb0, 0xf4, 0x0f, 0x0b}, LOAD, {});
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK((o.state.gpr[RAX] & 0xff) == 0xf4);
}

TEST_CASE("native: a fault other than HLT is reported as that fault") {
  // UD2: #UD, SIGILL, RIP on the UD2 (a fault: the instruction did not run).
  NativeOutcome o = run_native(cat({{0xb0, 0x07}, {0x0f, 0x0b}}), LOAD, {});
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGILL);
  CHECK(o.vector == 6);
  CHECK(o.state.rip == LOAD + 2);
  CHECK((o.state.gpr[RAX] & 0xff) == 7);
  CHECK(o.detail.find("vector 6") != std::string::npos);
  // A store to an unmapped page: #PF, SIGSEGV, CR2 = the address.
  o = run_native({0xc6, 0x04, 0x25, 0x00, 0x00, 0x03, 0x00, 0x01}, LOAD, {});  // mov byte [0x30000], 1
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGSEGV);
  CHECK(o.vector == 14);
  CHECK(o.fault_addr == 0x30000);
  CHECK(o.state.rip == LOAD);
}

TEST_CASE("native: SSE registers come back in the FXSAVE layout") {
  const Bytes img = cat({{0xb8, 0x00, 0x00, 0x80, 0x3f},  // mov eax, 0x3f800000
                         {0x66, 0x0f, 0x6e, 0xd8},        // movd xmm3, eax
                         HLT});
  NativeOutcome o = run_native(img, LOAD, {});
  REQUIRE(o.ran);
  uint32_t lanes[4];
  std::memcpy(lanes, o.state.xsave + XSAVE_XMM0_OFFSET + 16 * 3, 16);
  // MOVD zero-extends into the whole register (SDM Vol. 2 MOVD).
  CHECK(lanes[0] == 0x3f800000);
  CHECK(lanes[1] == 0);
  CHECK(lanes[2] == 0);
  CHECK(lanes[3] == 0);
  // Other XMM registers start at zero; MXCSR at its reset value.
  uint8_t zero[16] = {};
  CHECK(std::memcmp(o.state.xsave + XSAVE_XMM0_OFFSET, zero, 16) == 0);
  uint32_t mxcsr;
  std::memcpy(&mxcsr, o.state.xsave + 24, 4);
  CHECK(mxcsr == 0x1f80);
}

TEST_CASE("native: an endless loop ends in a timeout") {
  const auto t0 = std::chrono::steady_clock::now();
  NativeOutcome o = run_native({0xeb, 0xfe}, LOAD, {}, 300);  // jmp $
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  CHECK_FALSE(o.ran);
  CHECK(o.detail.rfind("timeout", 0) == 0);
  CHECK(ms >= 300);
  CHECK(ms < 2000);
}

TEST_CASE("native: a system call kills the child (seccomp strict mode)") {
  // mov eax, 39 (getpid); syscall
  NativeOutcome o = run_native({0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4}, LOAD, {});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("killed") != std::string::npos);
}

TEST_CASE("native: bad layouts are refused with the reason") {
  NativeOutcome o = run_native(HLT, 0, {});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("mmap_min_addr") != std::string::npos);
  o = run_native(HLT, LOAD + 1, {});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("page aligned") != std::string::npos);
  o = run_native(HLT, LOAD, {{LOAD, 0x1000}});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("overlaps") != std::string::npos);
  o = run_native({}, LOAD, {});
  CHECK_FALSE(o.ran);
  // An address this process already uses (the page holding this
  // function's code): the child's mapping fails with EEXIST.
  const uint64_t taken = reinterpret_cast<uint64_t>(&run_native) & ~uint64_t(0xfff);
  o = run_native(HLT, taken, {});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("already in use") != std::string::npos);
}
