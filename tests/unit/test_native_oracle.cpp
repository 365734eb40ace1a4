// The native execution oracle (emu/accel/native.cpp): snippets run on the
// host CPU at CPL 3 as 64-bit code, as 32-bit code in compatibility mode
// (prot32) and as 16-bit code in LDT segments (real16); the expected values
// follow from the SDM's definition of each instruction, so these tests
// check the oracle's plumbing (entry state, register and memory read-back,
// fault and HLT recognition, timeout, refusal of bad layouts).
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
  // Linux's 64-bit user code and data segments (__USER_CS, __USER_DS).
  CHECK(o.state.seg[CS].sel == 0x33);
  CHECK(o.state.seg[SS].sel == 0x2b);
  CHECK(o.state.mode == Mode::Long64);
  CHECK(o.state.cpl == 3);
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
  const uint64_t taken = reinterpret_cast<uint64_t>(&native_unavailable_reason) & ~uint64_t(0xfff);
  o = run_native(HLT, taken, {});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("already in use") != std::string::npos);
}

// ---- prot32: 32-bit code in compatibility mode ------------------------------

namespace {

NativeOutcome run_mode(FlatMode mode, const Bytes& img, const std::vector<NativeRegion>& regions = {}) {
  NativeOptions opt;
  opt.mode = mode;
  return run_native(img, LOAD, regions, opt);
}

uint16_t le16(const std::vector<uint8_t>& v, size_t off) { return uint16_t(v[off] | v[off + 1] << 8); }
uint32_t le32(const std::vector<uint8_t>& v, size_t off) { return uint32_t(le16(v, off) | le16(v, off + 2) << 16); }

}  // namespace

TEST_CASE("native prot32: entry state") {
  REQUIRE(native_unavailable_reason(FlatMode::Prot32).empty());
  NativeOutcome o = run_mode(FlatMode::Prot32, HLT);
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  CHECK(o.state.rip == LOAD + 1);
  for (int r = 0; r < 8; ++r) CHECK((o.state.gpr[r] & 0xffffffff) == (r == RSP ? LOAD : 0));
  CHECK(o.state.rflags == (0x202 | fl::RF));
  // Linux's compatibility-mode user code segment and its flat data segment
  // in every data segment register.
  CHECK(o.state.seg[CS].sel == 0x23);
  for (int s : {SS, DS, ES, FS, GS}) CHECK(o.state.seg[s].sel == 0x2b);
  CHECK(o.state.mode == Mode::Compat32);
  CHECK(o.state.cpl == 3);
}

TEST_CASE("native prot32: the bytes run as 32-bit code") {
  // 40 is INC EAX here (a REX prefix in 64-bit mode), 27 is DAA (#UD in
  // 64-bit mode). mov eax, 0x0e; inc eax; daa: AL 0x0F has a low nibble
  // above 9, so AL += 6 = 0x15 with AF set; AL was not above 0x99: CF clear
  // (SDM Vol. 2 DAA). Then the result is stored through FS (base 0) and
  // pushed (ESP = load: the page below holds the stack).
  const Bytes img = cat({{0xb8, 0x0e, 0x00, 0x00, 0x00},             // mov eax, 0x0e
                         {0x40},                                     // inc eax
                         {0x27},                                     // daa
                         {0x64, 0xa3, 0x00, 0x00, 0x02, 0x00},       // mov fs:[0x20000], eax
                         {0x50},                                     // push eax
                         HLT});
  NativeOutcome o = run_mode(FlatMode::Prot32, img, {{DATA, 0x1000}, {LOAD - 0x1000, 0x1000}});
  REQUIRE(o.ran);
  REQUIRE(o.ended_by_hlt);
  CHECK((o.state.gpr[RAX] & 0xffffffff) == 0x15);
  CHECK((o.state.rflags & (fl::AF | fl::CF)) == fl::AF);
  CHECK(le32(o.regions[0], 0) == 0x15);
  CHECK((o.state.gpr[RSP] & 0xffffffff) == LOAD - 4);
  CHECK(le32(o.regions[1], 0x1000 - 4) == 0x15);
  CHECK(o.state.rip == LOAD + img.size());
  // The image's pages come back too.
  REQUIRE(o.image.size() == 0x1000);
  CHECK(Bytes(o.image.begin(), o.image.begin() + long(img.size())) == img);
}

TEST_CASE("native prot32: faults are reported as faults") {
  // UD2: #UD, SIGILL, EIP on the UD2.
  NativeOutcome o = run_mode(FlatMode::Prot32, cat({{0xb0, 0x07}, {0x0f, 0x0b}}));
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGILL);
  CHECK(o.vector == 6);
  CHECK(o.state.rip == LOAD + 2);
  // DIV by zero: #DE, SIGFPE.
  o = run_mode(FlatMode::Prot32, cat({{0x31, 0xc9}, {0xf7, 0xf1}, HLT}));  // xor ecx, ecx; div ecx
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGFPE);
  CHECK(o.vector == 0);
  CHECK(o.state.rip == LOAD + 2);
  // A store to an unmapped page: #PF with the address.
  o = run_mode(FlatMode::Prot32, {0xc6, 0x05, 0x00, 0x00, 0x03, 0x00, 0x01});  // mov byte [0x30000], 1
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.vector == 14);
  CHECK(o.fault_addr == 0x30000);
  CHECK(o.state.rip == LOAD);
}

TEST_CASE("native prot32: layouts beyond 4 GiB are refused") {
  NativeOutcome o = run_mode(FlatMode::Prot32, HLT, {{0x100000000ull, 0x1000}});
  CHECK_FALSE(o.ran);
  CHECK(o.detail.find("beyond 4 GiB") != std::string::npos);
}

// ---- real16: 16-bit code in LDT segments based at the load address ---------

TEST_CASE("native real16: entry state") {
  const std::string why = native_unavailable_reason(FlatMode::Real16);
  if (!why.empty()) {
    WARN("real16 not run natively: " << why);
    return;
  }
  NativeOutcome o = run_mode(FlatMode::Real16, HLT);
  REQUIRE(o.ran);
  CHECK(o.ended_by_hlt);
  // IP is the offset in CS (base = load): after the HLT at offset 0.
  CHECK(o.state.rip == 1);
  for (int r = 0; r < 8; ++r) CHECK((o.state.gpr[r] & 0xffffffff) == (r == RSP ? 0xfff0 : 0));
  CHECK(o.state.rflags == (0x202 | fl::RF));
  // LDT selectors (TI = 1, RPL 3): entry 0 the code, entry 1 the data.
  CHECK(o.state.seg[CS].sel == 0x07);
  for (int s : {SS, DS, ES, FS, GS}) CHECK(o.state.seg[s].sel == 0x0f);
  CHECK(o.state.mode == Mode::Compat16);
}

TEST_CASE("native real16: 16-bit code addresses memory from the load address") {
  if (!native_unavailable_reason(FlatMode::Real16).empty()) return;
  // B8 takes a 16-bit immediate here. Offsets 0x2000 and [bx+si] are
  // linear load + 0x2000 (+4); the push goes to load + 0xfff0 - 2.
  const Bytes img = cat({{0xb8, 0x34, 0x12},        // mov ax, 0x1234
                         {0xa3, 0x00, 0x20},        // mov [0x2000], ax
                         {0xbb, 0x00, 0x20},        // mov bx, 0x2000
                         {0xbe, 0x04, 0x00},        // mov si, 4
                         {0xc6, 0x00, 0x55},        // mov byte [bx+si], 0x55
                         {0x64, 0x88, 0x26, 0x05, 0x20},  // mov fs:[0x2005], ah
                         {0x50},                    // push ax
                         HLT});
  NativeOutcome o = run_mode(FlatMode::Real16, img, {{LOAD + 0x2000, 0x1000}, {LOAD + 0xf000, 0x1000}});
  REQUIRE(o.ran);
  REQUIRE(o.ended_by_hlt);
  CHECK((o.state.gpr[RAX] & 0xffff) == 0x1234);
  CHECK(le16(o.regions[0], 0) == 0x1234);
  CHECK(o.regions[0][4] == 0x55);
  CHECK(o.regions[0][5] == 0x12);
  CHECK((o.state.gpr[RSP] & 0xffffffff) == 0xffee);
  CHECK(le16(o.regions[1], 0xfee) == 0x1234);
  CHECK(o.state.rip == img.size());
}

TEST_CASE("native real16: faults are reported as faults") {
  if (!native_unavailable_reason(FlatMode::Real16).empty()) return;
  // A word at offset 0xFFFF crosses the 0xFFFF limit: #GP(0) (SDM Vol. 3A
  // 5.3), SIGSEGV, not a HLT, IP on the MOV.
  NativeOutcome o = run_mode(FlatMode::Real16, cat({{0x90}, {0xa3, 0xff, 0xff}, HLT}));
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.signal == SIGSEGV);
  CHECK(o.vector == 13);
  CHECK(o.error_code == 0);
  CHECK(o.state.rip == 1);
  // Unlike real mode, CS is not writable (SDM Vol. 3A 5.4.1): #GP(0).
  o = run_mode(FlatMode::Real16, cat({{0x2e, 0xa3, 0x00, 0x02}, HLT}));  // mov cs:[0x200], ax
  REQUIRE(o.ran);
  CHECK_FALSE(o.ended_by_hlt);
  CHECK(o.vector == 13);
  CHECK(o.state.rip == 0);
  // AAM 0: #DE, SIGFPE.
  o = run_mode(FlatMode::Real16, cat({{0xd4, 0x00}, HLT}));
  REQUIRE(o.ran);
  CHECK(o.signal == SIGFPE);
  CHECK(o.vector == 0);
}
