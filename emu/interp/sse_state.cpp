// SSE state management (SDM Vol. 2 of each instruction; Vol. 1 chapter 13):
// LDMXCSR/STMXCSR, FXSAVE/FXRSTOR (and the REX.W forms), XSAVE/XRSTOR/
// XSAVEOPT (standard form, components x87 and SSE), XSETBV/XGETBV, the
// fences and the prefetch hints (no architectural effect).
//
// The x87 instruction and data pointers: the REX.W forms save and load
// bytes 8-23 of the image as they are (64-bit FIP and FDP); the other forms
// use the 32-bit layout: FIP[31:0], FCS, FDP[31:0], FDS, with bytes 14-15
// and 22-23 reserved (written as 0 and ignored on load; SDM Vol. 2 FXSAVE
// Tables 3-43 and 3-47).
#include <array>

#include "emu/interp/sse_common.h"
#include "emu/interp/sse_rows.h"
#include "emu/interp/table.h"
#include "svm/intercepts.h"
#include "vmx/exit_reasons.h"
#include "vmx/nonroot.h"

namespace softvt {
namespace {

using namespace sse;

using Image = std::array<uint8_t, 576>;  // legacy region + XSAVE header

constexpr uint32_t kMxcsrMask = mxcsr::WRITABLE;
constexpr uint64_t kXcr0Supported = xstate::X87 | xstate::SSE;

// ---- memory blocks -----------------------------------------------------------
// A state area is located with mem_linear (segment limit checks over the
// whole area, then the alignment rule: #GP(0), SDM FXSAVE/XSAVE
// "Exceptions"); these move it in 8-byte pieces.

// Reads [lin, lin + len) (len a multiple of 8) into `out`.
void read_block(Cpu& cpu, uint64_t lin, unsigned len, uint8_t* out) {
  for (unsigned o = 0; o < len; o += 8) {
    const uint64_t v = cpu.read_lin(lin_plus(cpu, lin, o), 8, Acc::Read, cpu.user_access());
    std::memcpy(out + o, &v, 8);
  }
}

// Checks every page of [lin, lin + len) for writing, so that a fault comes
// before any byte is stored.
void probe_block(Cpu& cpu, uint64_t lin, unsigned len) {
  for (unsigned o = 0; o < len; o += 8) {
    const uint64_t a = lin_plus(cpu, lin, o);
    if (o == 0 || (a & 0xfff) < 8) cpu.probe_write_lin(a, 8, cpu.user_access());
  }
}

// Writes the 8-byte-aligned pieces [from, to) of `img` to lin + from.
void write_block(Cpu& cpu, uint64_t lin, const uint8_t* img, unsigned from, unsigned to) {
  for (unsigned o = from; o < to; o += 8) {
    uint64_t v;
    std::memcpy(&v, img + o, 8);
    cpu.write_lin(lin_plus(cpu, lin, o), 8, v, cpu.user_access());
  }
}

unsigned xmm_count(const Cpu& cpu) { return cpu.in_64bit() ? 16 : 8; }

// ---- the legacy region -------------------------------------------------------

// The x87 part of the image (bytes 0-23 except MXCSR, 32-159) as an
// instruction with or without REX.W stores it.
void save_x87(Cpu& cpu, uint8_t* img, bool rex_w) {
  std::memcpy(img, cpu.s.xsave, 24);
  img[5] = 0;  // reserved byte after the abridged tag
  if (!rex_w) {
    img[14] = img[15] = 0;
    img[22] = img[23] = 0;
  }
  std::memcpy(img + fxs::ST0, cpu.s.xsave + fxs::ST0, 128);
}

void load_x87(Cpu& cpu, const uint8_t* img, bool rex_w) {
  std::memcpy(cpu.s.xsave, img, 24);
  cpu.s.xsave[5] = 0;
  if (!rex_w) {
    cpu.s.xsave[14] = cpu.s.xsave[15] = 0;
    cpu.s.xsave[22] = cpu.s.xsave[23] = 0;
  }
  // Each ST slot holds 80 bits; bytes 10-15 are reserved.
  for (unsigned i = 0; i < 8; ++i) {
    uint8_t* slot = cpu.s.xsave + fxs::ST0 + 16 * i;
    std::memcpy(slot, img + fxs::ST0 + 16 * i, 10);
    std::memset(slot + 10, 0, 6);
  }
}

// The x87 initial configuration (SDM Vol. 1 13.6): FCW 037FH, FSW 0, all
// registers empty, pointers and opcode 0, ST0-ST7 0.
void init_x87(Cpu& cpu) {
  std::memset(cpu.s.xsave, 0, 24);
  std::memset(cpu.s.xsave + fxs::ST0, 0, 128);
  fx_store<uint16_t>(cpu, fxs::FCW, 0x37f);
}

void save_mxcsr(Cpu& cpu, uint8_t* img) {
  const uint32_t m = get_mxcsr(cpu);
  std::memcpy(img + fxs::MXCSR, &m, 4);
  std::memcpy(img + fxs::MXCSR_MASK, &kMxcsrMask, 4);
}

uint32_t image_mxcsr(const uint8_t* img) {
  uint32_t m;
  std::memcpy(&m, img + fxs::MXCSR, 4);
  return m;
}

// XINUSE (SDM Vol. 1 13.6): a component not in its initial configuration.
// softvt derives it from the register contents, which the manual allows
// (the processor may report a component in use at any time; it reports it
// unused only in its initial configuration).
uint64_t xinuse(Cpu& cpu) {
  uint64_t r = 0;
  uint8_t init[160] = {};
  init[0] = 0x7f;
  init[1] = 0x03;
  if (std::memcmp(cpu.s.xsave, init, 24) != 0 || std::memcmp(cpu.s.xsave + fxs::ST0, init + 32, 128) != 0)
    r |= xstate::X87;
  static const uint8_t zero[256] = {};
  if (std::memcmp(cpu.s.xsave + fxs::XMM0, zero, 256) != 0) r |= xstate::SSE;
  return r;
}

// ---- LDMXCSR / STMXCSR ---------------------------------------------------------

void ldmxcsr(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  const uint32_t v = uint32_t(cpu.read(in.seg, effective_address(cpu, in), 4));
  // Reserved bits set: #GP(0) (SDM Vol. 2 LDMXCSR).
  if (v & ~kMxcsrMask) cpu.raise_gp0();
  set_mxcsr(cpu, v);
}

void stmxcsr(Cpu& cpu, const Insn& in) {
  check_sse_available(cpu);
  cpu.write(in.seg, effective_address(cpu, in), 4, get_mxcsr(cpu));
}

// ---- FXSAVE / FXRSTOR ----------------------------------------------------------

// FXSAVE/FXRSTOR: #NM if CR0.EM or CR0.TS (SDM Vol. 2 FXSAVE "Exceptions");
// CR4.OSFXSR is not required.
void check_fxsr_available(Cpu& cpu) {
  if (cpu.s.cr0 & (cr0::EM | cr0::TS)) cpu.raise(vec::NM);
}

// XMM8-15 are saved and restored in 64-bit mode only; bytes 464-511 are
// left to software and 416-463 are reserved: neither is written.
template <bool RexW>
void fxsave(Cpu& cpu, const Insn& in) {
  check_fxsr_available(cpu);
  const uint64_t lin = mem_linear(cpu, in, 512, Acc::Write, 16);
  Image img{};
  save_x87(cpu, img.data(), RexW);
  save_mxcsr(cpu, img.data());
  const unsigned end = fxs::XMM0 + 16 * xmm_count(cpu);
  std::memcpy(img.data() + fxs::XMM0, cpu.s.xsave + fxs::XMM0, end - fxs::XMM0);
  probe_block(cpu, lin, 512);
  write_block(cpu, lin, img.data(), 0, end);
}

template <bool RexW>
void fxrstor(Cpu& cpu, const Insn& in) {
  check_fxsr_available(cpu);
  const uint64_t lin = mem_linear(cpu, in, 512, Acc::Read, 16);
  Image img{};
  read_block(cpu, lin, 512, img.data());
  // An image MXCSR with reserved bits set: #GP(0), nothing loaded.
  if (image_mxcsr(img.data()) & ~kMxcsrMask) cpu.raise_gp0();
  load_x87(cpu, img.data(), RexW);
  set_mxcsr(cpu, image_mxcsr(img.data()));
  std::memcpy(cpu.s.xsave + fxs::XMM0, img.data() + fxs::XMM0, 16 * xmm_count(cpu));
}

// ---- XSAVE family ----------------------------------------------------------------

// XSAVE, XRSTOR, XSAVEOPT: #UD without CR4.OSXSAVE, #NM with CR0.TS (SDM
// Vol. 2 XSAVE "Exceptions"); the area must be 64-byte aligned.
void check_xsave_available(Cpu& cpu) {
  if (!(cpu.s.cr4 & cr4::OSXSAVE)) cpu.raise_ud();
  if (cpu.s.cr0 & cr0::TS) cpu.raise(vec::NM);
}

uint64_t requested_features(const Cpu& cpu) {
  const uint64_t edx_eax = (cpu.s.gpr[RDX] << 32) | (cpu.s.gpr[RAX] & 0xffffffffull);
  return cpu.s.xcr0 & edx_eax;
}

uint64_t header_u64(const uint8_t* img, unsigned off) {
  uint64_t v;
  std::memcpy(&v, img + fxs::XSAVE_HEADER + off, 8);
  return v;
}

// XSAVE and XSAVEOPT (SDM Vol. 2 pseudocode): RFBM = XCR0 & EDX:EAX. XSAVE
// stores every requested component; XSAVEOPT only those in use (the init
// optimization; its modified optimization is optional and not modelled),
// the SSE component also when MXCSR is not 1F80H. MXCSR and MXCSR_MASK go
// with the SSE component. XSTATE_BV := (old & ~RFBM) | (XINUSE & RFBM);
// the rest of the header is not written.
template <bool RexW, bool Opt>
void xsave(Cpu& cpu, const Insn& in) {
  check_xsave_available(cpu);
  const uint64_t lin = mem_linear(cpu, in, 576, Acc::Write, 64);
  const uint64_t rfbm = requested_features(cpu);
  const uint64_t inuse = xinuse(cpu);
  uint64_t save = rfbm;
  if (Opt) {
    save &= inuse;
    if ((rfbm & xstate::SSE) && get_mxcsr(cpu) != mxcsr::DEFAULT) save |= xstate::SSE;
  }
  Image img{};
  const uint64_t old_bv = cpu.read_lin(lin_plus(cpu, lin, fxs::XSAVE_HEADER), 8, Acc::Read, cpu.user_access());
  probe_block(cpu, lin, 576);
  if (save & xstate::X87) {
    save_x87(cpu, img.data(), RexW);
    write_block(cpu, lin, img.data(), 0, 24);
    write_block(cpu, lin, img.data(), fxs::ST0, fxs::XMM0);
  }
  if (save & xstate::SSE) {
    save_mxcsr(cpu, img.data());
    write_block(cpu, lin, img.data(), 24, 32);
    const unsigned end = fxs::XMM0 + 16 * xmm_count(cpu);
    std::memcpy(img.data() + fxs::XMM0, cpu.s.xsave + fxs::XMM0, end - fxs::XMM0);
    write_block(cpu, lin, img.data(), fxs::XMM0, end);
  }
  const uint64_t bv = (old_bv & ~rfbm) | (inuse & rfbm);
  cpu.write_lin(lin_plus(cpu, lin, fxs::XSAVE_HEADER), 8, bv, cpu.user_access());
}

// XRSTOR, standard form (SDM Vol. 2 XRSTOR, Vol. 1 13.8): #GP(0) if
// XSTATE_BV sets a bit XCR0 lacks, if header bytes 23:8 (XCOMP_BV and the
// first reserved quadword) are not zero - softvt has no compacted form
// (XSAVEC) - or if the MXCSR to load has reserved bits set. A requested
// component is loaded when its XSTATE_BV bit is set and initialized
// otherwise; MXCSR is loaded whenever the SSE component is requested.
template <bool RexW>
void xrstor(Cpu& cpu, const Insn& in) {
  check_xsave_available(cpu);
  const uint64_t lin = mem_linear(cpu, in, 576, Acc::Read, 64);
  Image img{};
  read_block(cpu, lin, 576, img.data());
  const uint64_t rfbm = requested_features(cpu);
  const uint64_t xstate_bv = header_u64(img.data(), 0);
  if (xstate_bv & ~cpu.s.xcr0) cpu.raise_gp0();
  if (header_u64(img.data(), 8) != 0 || header_u64(img.data(), 16) != 0) cpu.raise_gp0();
  if ((rfbm & xstate::SSE) && (image_mxcsr(img.data()) & ~kMxcsrMask)) cpu.raise_gp0();
  if (rfbm & xstate::X87) {
    if (xstate_bv & xstate::X87) load_x87(cpu, img.data(), RexW);
    else init_x87(cpu);
  }
  if (rfbm & xstate::SSE) {
    const unsigned n = 16 * xmm_count(cpu);
    if (xstate_bv & xstate::SSE) std::memcpy(cpu.s.xsave + fxs::XMM0, img.data() + fxs::XMM0, n);
    else std::memset(cpu.s.xsave + fxs::XMM0, 0, n);
    set_mxcsr(cpu, image_mxcsr(img.data()));
  }
}

// ---- XSETBV / XGETBV -------------------------------------------------------------

// XSETBV (SDM Vol. 2): #UD without CR4.OSXSAVE; #GP(0) at CPL > 0, for ECX
// other than 0 (XCR0), for a value with bit 0 clear, with a bit softvt does
// not support (only x87 and SSE), or with AVX (bit 2) but not SSE.
void xsetbv(Cpu& cpu, const Insn& in) {
  // SVM: the XSETBV intercept precedes its exceptions (APM 15.7).
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Xsetbv)) return;
  if (!(cpu.s.cr4 & cr4::OSXSAVE)) cpu.raise_ud();
  if (cpu.s.cpl != 0 || cpu.s.mode == Mode::V86) cpu.raise_gp0();
  // XSETBV exits unconditionally in VMX non-root operation, after the #UD
  // and privilege checks (SDM Vol. 3C 27.1.1, 27.1.2).
  if (cpu.vmx.non_root) return vmx::exit_unconditional(cpu, in, vmx::exit_reason::XSETBV);
  if ((cpu.s.gpr[RCX] & 0xffffffffull) != 0) cpu.raise_gp0();
  const uint64_t v = (cpu.s.gpr[RDX] << 32) | (cpu.s.gpr[RAX] & 0xffffffffull);
  if (!(v & xstate::X87) || (v & ~kXcr0Supported)) cpu.raise_gp0();
  if ((v & 4) && !(v & xstate::SSE)) cpu.raise_gp0();
  cpu.s.xcr0 = v;
}

// XGETBV: XCR0 for ECX = 0; ECX = 1 (XINUSE) needs CPUID.(EAX=0DH,
// ECX=1):EAX[2], which softvt does not report: #GP(0) like any other ECX.
void xgetbv(Cpu& cpu, const Insn&) {
  if (!(cpu.s.cr4 & cr4::OSXSAVE)) cpu.raise_ud();
  if ((cpu.s.gpr[RCX] & 0xffffffffull) != 0) cpu.raise_gp0();
  cpu.s.gpr[RAX] = cpu.s.xcr0 & 0xffffffffull;
  cpu.s.gpr[RDX] = cpu.s.xcr0 >> 32;
}

// SFENCE/LFENCE/MFENCE order memory accesses, and PREFETCHh only hints the
// caches: softvt executes accesses in program order with no caches to
// fill, so they have no effect. A prefetch never faults.
void no_effect(Cpu&, const Insn&) {}

constexpr uint32_t NONE = 0;

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_LDMXCSR, SOFTVT_FIXED(ldmxcsr), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_STMXCSR, SOFTVT_FIXED(stmxcsr), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_FXSAVE, SOFTVT_FIXED(fxsave<false>), NONE, NONE, Feature::Fxsr, 0},
    {ZYDIS_MNEMONIC_FXSAVE64, SOFTVT_FIXED(fxsave<true>), NONE, NONE, Feature::Fxsr, 0},
    {ZYDIS_MNEMONIC_FXRSTOR, SOFTVT_FIXED(fxrstor<false>), NONE, NONE, Feature::Fxsr, 0},
    {ZYDIS_MNEMONIC_FXRSTOR64, SOFTVT_FIXED(fxrstor<true>), NONE, NONE, Feature::Fxsr, 0},
    {ZYDIS_MNEMONIC_XSAVE, SOFTVT_FIXED((xsave<false, false>)), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_XSAVE64, SOFTVT_FIXED((xsave<true, false>)), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_XSAVEOPT, SOFTVT_FIXED((xsave<false, true>)), NONE, NONE, Feature::Xsaveopt, 0},
    {ZYDIS_MNEMONIC_XSAVEOPT64, SOFTVT_FIXED((xsave<true, true>)), NONE, NONE, Feature::Xsaveopt, 0},
    {ZYDIS_MNEMONIC_XRSTOR, SOFTVT_FIXED(xrstor<false>), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_XRSTOR64, SOFTVT_FIXED(xrstor<true>), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_XSETBV, SOFTVT_FIXED(xsetbv), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_XGETBV, SOFTVT_FIXED(xgetbv), NONE, NONE, Feature::Xsave, 0},
    {ZYDIS_MNEMONIC_SFENCE, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_LFENCE, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_MFENCE, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse2, 0},
    {ZYDIS_MNEMONIC_PREFETCHNTA, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PREFETCHT0, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PREFETCHT1, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse, 0},
    {ZYDIS_MNEMONIC_PREFETCHT2, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Sse, 0},
    // 0F 0D /1: PREFETCHW; on CPUs without it (no PRFCHW in CPUID) it
    // executes as a NOP (SDM Vol. 2 PREFETCHW), so it needs no feature.
    {ZYDIS_MNEMONIC_PREFETCHW, SOFTVT_FIXED(no_effect), NONE, NONE, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_sse_state() { return kRows; }

}  // namespace softvt
