// The CpuState <-> KVM conversions of emu/accel/kvm_state.h that need no
// /dev/kvm: CPL from the segment registers KVM reports, and the XSAVE
// image softvt writes back after running an instruction for KVM.
#include <catch.hpp>

#include <cstring>
#include <vector>

#include "emu/accel/kvm_state.h"

namespace {

using namespace softvt;

kvm_sregs flat_64bit_sregs(uint8_t dpl) {
  kvm_sregs k{};
  for (kvm_segment* seg : {&k.cs, &k.ss, &k.ds, &k.es, &k.fs, &k.gs}) {
    seg->present = 1;
    seg->s = 1;
    seg->dpl = dpl;
    seg->limit = 0xffffffff;
    seg->g = 1;
    seg->type = 3;  // read/write data, accessed
  }
  k.cs.type = 0xb;  // execute/read code, accessed
  k.cs.l = 1;
  k.cs.selector = dpl ? 0x33 : 0x10;
  k.ss.selector = dpl ? 0x2b : 0x18;
  k.cr0 = 0x80050033;
  k.cr4 = 0x6f0;
  k.efer = 0xd01;
  return k;
}

uint64_t xstate_bv(const std::vector<uint8_t>& image) {
  uint64_t v;
  std::memcpy(&v, image.data() + 512, sizeof v);
  return v;
}

}  // namespace

// SDM Vol. 3A 5.7: SS always holds DPL = CPL in protected mode, and KVM
// has no CPL field of its own. A CPL left over from the last instruction
// the interpreter ran would be wrong for the next one.
TEST_CASE("kvm_state: CPL is the DPL of the SS that KVM reports") {
  CpuState s{};
  kvm::from_kvm_sregs(flat_64bit_sregs(3), s);
  CHECK(s.cpl == 3);
  kvm::from_kvm_sregs(flat_64bit_sregs(0), s);
  CHECK(s.cpl == 0);
  // A null SS at CPL 0 (64-bit mode after an interrupt): unusable, DPL 0.
  kvm_sregs k = flat_64bit_sregs(0);
  k.ss = kvm_segment{};
  k.ss.unusable = 1;
  s.cpl = 3;
  kvm::from_kvm_sregs(k, s);
  CHECK(s.cpl == 0);
}

// The standard XSAVE layout (SDM Vol. 1 13.4): legacy region 0-511, header
// at 512 (XSTATE_BV first), AVX's upper YMM halves at 576 (CPUID.(EAX=0DH,
// ECX=2):EBX) for 256 bytes.
TEST_CASE("kvm_state: the XSAVE image written back keeps the components softvt does not model") {
  CpuState s{};
  for (unsigned i = 0; i < 512; ++i) s.xsave[i] = uint8_t(i * 7);
  std::vector<uint8_t> kept(4096, 0);
  const uint64_t x87_sse_avx = 7;
  std::memcpy(kept.data() + 512, &x87_sse_avx, sizeof x87_sse_avx);
  for (unsigned i = 0; i < 512; ++i) kept[i] = 0xee;  // KVM's stale legacy bytes
  for (unsigned i = 576; i < 576 + 256; ++i) kept[i] = uint8_t(i ^ 0x5a);

  const std::vector<uint8_t> image = kvm::to_kvm_xsave(s, 4096, kept);
  REQUIRE(image.size() == 4096);
  CHECK(std::memcmp(image.data(), s.xsave, 512) == 0);             // softvt's x87/SSE
  CHECK(xstate_bv(image) == 7);                                     // AVX still in use
  CHECK(std::memcmp(image.data() + 576, kept.data() + 576, 256) == 0);  // its registers

  // Without an image read from KVM, only x87 and SSE are loaded.
  const std::vector<uint8_t> fresh = kvm::to_kvm_xsave(s, 4096);
  CHECK(std::memcmp(fresh.data(), s.xsave, 512) == 0);
  CHECK(xstate_bv(fresh) == 3);
  CHECK(fresh[576] == 0);
}
