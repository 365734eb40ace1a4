// x87 control instructions (SDM Vol. 1 chapter 8, "x87 FPU Control Instructions";
// Vol. 2 FINIT, FCLEX, FSTCW, FLDCW, FSTSW, FSTENV, FLDENV, FSAVE, FRSTOR,
// WAIT, FINCSTP, FDECSTP, FFREE, FNOP). The control instructions do not
// update FIP/FDP/FOP (SDM Vol. 1 8.1.8); the FN* forms do not wait, i.e.
// do not report a pending exception (8.6). FINCSTP, FDECSTP, FFREE(P) and
// FNOP are ordinary (non-control) instructions run on the host FPU.
#include <cstring>

#include "emu/fpu/x87_state.h"
#include "emu/interp/operands.h"
#include "emu/interp/table.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

using x87::Env;

// FNSTSW AX / m16: the status word as it stands, without waiting.
void fnstsw(Cpu& cpu, const Insn& in) {
  check_x87_available(cpu);
  write_operand<2>(cpu, in, 0, x87::fsw(cpu));
}

void fnstcw(Cpu& cpu, const Insn& in) {
  check_x87_available(cpu);
  write_operand<2>(cpu, in, 0, x87::fcw(cpu));
}

// FNCLEX: clears the exception flags, SF, ES and B; C0-C3 and TOP stay
// (the reference host keeps C0-C3; the SDM leaves them undefined).
void fnclex(Cpu& cpu, const Insn&) {
  check_x87_available(cpu);
  x87::set_fsw(cpu, x87::fsw(cpu) & ~(x87::sw::STICKY | x87::sw::SUMMARY));
  x87::release_ferr_if_clear(cpu);
}

void fninit(Cpu& cpu, const Insn&) {
  check_x87_available(cpu);
  x87::reinitialize(cpu);
}

// WAIT/FWAIT: #NM only with CR0.TS and CR0.MP both set; then reports a
// pending unmasked exception (SDM Vol. 2 WAIT/FWAIT).
void fwait(Cpu& cpu, const Insn&) {
  check_wait_available(cpu);
  x87::check_pending(cpu);
}

// FENI/FDISI/FSETPM (DB E0, E1, E4): 8087/287 controls that the 387 and
// later FPUs execute as no-operations. Like the other FN* controls they
// neither wait nor touch FIP/FOP (the reference host leaves both as they
// were; tests/unit/test_x87.cpp).
void legacy_control_nop(Cpu& cpu, const Insn&) { check_x87_available(cpu); }

// ---- environment images (SDM Vol. 1 8.1.10, Figures 8-9 to 8-12) ---------
// The format follows the mode (real-address and virtual-8086 mode use the
// real-mode layout, with 20/32-bit linear pointers) and the operand size
// (16-bit: 14 bytes, 32-bit: 28 bytes; 64-bit mode uses the 32-bit one).
// Reserved halves of the 32-bit format are stored as 1s, as the reference
// host does.
struct EnvFormat {
  bool real;
  bool op16;
  unsigned size() const { return op16 ? 14 : 28; }
};

EnvFormat env_format(const Cpu& cpu, const Insn& in) {
  return {cpu.s.mode == Mode::Real || cpu.s.mode == Mode::V86, in.opsize == 2};
}

void put16(uint8_t* p, unsigned i, uint32_t v) {
  const uint16_t w = uint16_t(v);
  std::memcpy(p + 2 * i, &w, 2);
}
void put32(uint8_t* p, unsigned i, uint32_t v) { std::memcpy(p + 4 * i, &v, 4); }
uint32_t get16(const uint8_t* p, unsigned i) {
  uint16_t w;
  std::memcpy(&w, p + 2 * i, 2);
  return w;
}
uint32_t get32(const uint8_t* p, unsigned i) {
  uint32_t v;
  std::memcpy(&v, p + 4 * i, 4);
  return v;
}

void encode_env(const Env& e, EnvFormat f, uint8_t* out) {
  const uint32_t fip = uint32_t(e.fip), fdp = uint32_t(e.fdp);
  if (f.op16) {
    put16(out, 0, e.fcw), put16(out, 1, e.fsw), put16(out, 2, e.ftw);
    if (f.real) {
      put16(out, 3, fip), put16(out, 4, ((fip >> 16) & 0xf) << 12 | e.fop);
      put16(out, 5, fdp), put16(out, 6, ((fdp >> 16) & 0xf) << 12);
    } else {
      put16(out, 3, fip), put16(out, 4, e.fcs), put16(out, 5, fdp), put16(out, 6, e.fds);
    }
    return;
  }
  const uint32_t hi = 0xffff0000u;
  put32(out, 0, hi | e.fcw), put32(out, 1, hi | e.fsw), put32(out, 2, hi | e.ftw);
  if (f.real) {
    put32(out, 3, hi | (fip & 0xffff)), put32(out, 4, (fip >> 16) << 12 | e.fop);
    put32(out, 5, hi | (fdp & 0xffff)), put32(out, 6, (fdp >> 16) << 12);
  } else {
    put32(out, 3, fip), put32(out, 4, uint32_t(e.fop) << 16 | e.fcs);
    put32(out, 5, fdp), put32(out, 6, hi | e.fds);
  }
}

Env decode_env(const uint8_t* in, EnvFormat f) {
  Env e{};
  if (f.op16) {
    e.fcw = uint16_t(get16(in, 0)), e.fsw = uint16_t(get16(in, 1)), e.ftw = uint16_t(get16(in, 2));
    if (f.real) {
      e.fip = get16(in, 3) | (get16(in, 4) >> 12) << 16;
      e.fop = uint16_t(get16(in, 4) & 0x7ff);
      e.fdp = get16(in, 5) | (get16(in, 6) >> 12) << 16;
    } else {
      e.fip = get16(in, 3), e.fcs = uint16_t(get16(in, 4));
      e.fdp = get16(in, 5), e.fds = uint16_t(get16(in, 6));
    }
    return e;
  }
  e.fcw = uint16_t(get32(in, 0)), e.fsw = uint16_t(get32(in, 1)), e.ftw = uint16_t(get32(in, 2));
  if (f.real) {
    e.fip = (get32(in, 3) & 0xffff) | ((get32(in, 4) >> 12) & 0xffff) << 16;
    e.fop = uint16_t(get32(in, 4) & 0x7ff);
    e.fdp = (get32(in, 5) & 0xffff) | ((get32(in, 6) >> 12) & 0xffff) << 16;
  } else {
    e.fip = get32(in, 3), e.fcs = uint16_t(get32(in, 4)), e.fop = uint16_t((get32(in, 4) >> 16) & 0x7ff);
    e.fdp = get32(in, 5), e.fds = uint16_t(get32(in, 6));
  }
  return e;
}

constexpr unsigned REGS_BYTES = 80;  // ST(0)..ST(7), 10 bytes each

// FNSTENV / FNSAVE: the image is built, the destination checked for
// writing as a whole, then written; only then does the state change.
template <bool Save>
void store_environment(Cpu& cpu, const Insn& in) {
  check_x87_available(cpu);
  const EnvFormat f = env_format(cpu, in);
  uint8_t image[28 + REGS_BYTES];
  encode_env(x87::read_env(cpu), f, image);
  unsigned n = f.size();
  if constexpr (Save) {
    for (unsigned i = 0; i < 8; ++i) std::memcpy(image + n + 10 * i, x87_slot(cpu, i), 10);
    n += REGS_BYTES;
  }
  const uint64_t lin = x87::probe_block(cpu, in.seg, effective_address(cpu, in), n);
  x87::write_block_lin(cpu, lin, n, image);
  if constexpr (Save) {
    // FSAVE then initialises the FPU (SDM Vol. 2 FSAVE).
    x87::reinitialize(cpu);
  } else {
    // FSTENV then masks all exceptions (SDM Vol. 2 FSTENV).
    const uint16_t fcw = x87::fcw(cpu) | x87::sw::EXCEPTIONS;
    x87::set_fcw(cpu, fcw);
    x87::set_fsw(cpu, x87::with_summary(x87::fsw(cpu), fcw));
  }
}

// FLDENV / FRSTOR: all bytes are read before any state changes.
template <bool Restore>
void load_environment(Cpu& cpu, const Insn& in) {
  check_x87_available(cpu);
  x87::check_pending(cpu);
  const EnvFormat f = env_format(cpu, in);
  uint8_t image[28 + REGS_BYTES];
  const unsigned n = f.size() + (Restore ? REGS_BYTES : 0);
  x87::read_block(cpu, in.seg, effective_address(cpu, in), n, image);
  x87::write_env(cpu, decode_env(image, f));
  if constexpr (Restore)
    for (unsigned i = 0; i < 8; ++i) {
      uint8_t* slot = x87_slot(cpu, i);
      std::memcpy(slot, image + f.size() + 10 * i, 10);
      std::memset(slot + 10, 0, 6);
    }
}

Handler select_store_word(const Insn& in) {
  if (in.op[0].kind == OpKind::Reg && in.op[0].reg != RAX) return nullptr;
  return fnstsw;
}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_FNINIT, SOFTVT_FIXED(fninit), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNCLEX, SOFTVT_FIXED(fnclex), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNSTCW, SOFTVT_FIXED(fnstcw), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDCW, select_x87_load_control, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNSTSW, select_store_word, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNSTENV, SOFTVT_FIXED(store_environment<false>), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FLDENV, SOFTVT_FIXED(load_environment<false>), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNSAVE, SOFTVT_FIXED(store_environment<true>), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FRSTOR, SOFTVT_FIXED(load_environment<true>), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FWAIT, SOFTVT_FIXED(fwait), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FENI8087_NOP, SOFTVT_FIXED(legacy_control_nop), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FDISI8087_NOP, SOFTVT_FIXED(legacy_control_nop), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FSETPM287_NOP, SOFTVT_FIXED(legacy_control_nop), 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FINCSTP, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FDECSTP, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FFREE, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FFREEP, select_x87_compute, 0, 0, Feature::Fpu, 0},
    {ZYDIS_MNEMONIC_FNOP, select_x87_compute, 0, 0, Feature::Fpu, 0},
};

}  // namespace

std::span<const InsnRow> rows_x87_control() { return kRows; }

}  // namespace softvt
