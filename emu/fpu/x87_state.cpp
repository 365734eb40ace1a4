// x87 status, tag and pointer bookkeeping (see x87_state.h).
#include "emu/fpu/x87_state.h"

#include <cstring>

#include "emu/nested_paging.h"
#include "svm/intercepts.h"

namespace softvt::x87 {

uint16_t with_summary(uint16_t fsw, uint16_t fcw) {
  fsw &= ~sw::SUMMARY;
  if (fsw & ~fcw & sw::EXCEPTIONS) fsw |= sw::SUMMARY;
  return fsw;
}

bool exception_pending(const Cpu& cpu) { return fsw(cpu) & ~fcw(cpu) & sw::EXCEPTIONS; }

namespace {

void drive_ferr(Cpu& cpu, bool asserted) {
  if (cpu.ferr == asserted) return;
  cpu.ferr = asserted;
  if (cpu.on_ferr) cpu.on_ferr(asserted);
}

}  // namespace

void release_ferr_if_clear(Cpu& cpu) {
  if (cpu.ferr && !exception_pending(cpu)) drive_ferr(cpu, false);
}

void check_pending(Cpu& cpu) {
  if (!exception_pending(cpu)) {
    // Cleared by FLDENV, FRSTOR, FXRSTOR, FLDCW... since: FERR# goes
    // inactive before this instruction, the first one it matters to.
    drive_ferr(cpu, false);
    return;
  }
  if (cpu.s.cr0 & cr0::NE) cpu.raise(vec::MF);
  // MS-DOS compatibility sub-mode (SDM Vol. 1 8.7.2, Vol. 3A 2.5 CR0.NE):
  // with IGNNE# asserted the error is ignored and the instruction executes;
  // otherwise the processor asserts FERR# and stops "immediately before
  // executing the next waiting floating-point instruction" (Vol. 3A 2.5;
  // Vol. 1 8.7.2 also allows FERR# at the faulting instruction) until an
  // interrupt (IRQ 13 from FERR#, on a PC) is taken.
  if (cpu.ignne) return;
  drive_ferr(cpu, true);
  // SVM guest mode: the FERR_FREEZE intercept takes the freeze's place
  // (AMD APM Vol. 2 15.14.2); nothing of the instruction executed, and the
  // run loop unwinds it as after a second-level exit (the exception
  // NestedPagingExit exists for: a #VMEXIT made inside an instruction).
  if (cpu.svm.guest_mode && svm::intercept_ferr_freeze(cpu)) throw NestedPagingExit{};
  cpu.freeze_before_instruction();
}

namespace {

// Tag of one non-empty register from its 80-bit contents.
unsigned classify(const uint8_t* reg) {
  uint64_t mant;
  uint16_t se;
  std::memcpy(&mant, reg, 8);
  std::memcpy(&se, reg + 8, 2);
  const uint16_t exp = se & 0x7fff;
  if (exp == 0x7fff) return 2;
  if (exp == 0) return mant == 0 ? 1 : 2;
  return (mant >> 63) ? 0 : 2;  // J bit clear: unnormal
}

bool in_real_or_v86(const Cpu& cpu) { return cpu.s.mode == Mode::Real || cpu.s.mode == Mode::V86; }

uint64_t code_linear(const Cpu& cpu, uint64_t offset) {
  if (cpu.in_64bit()) return offset;
  return (cpu.s.seg[CS].base + offset) & 0xffffffffull;
}

// CPUID.(EAX=7,ECX=0):EBX bits about the x87 pointers (SDM Vol. 2 CPUID).
constexpr uint32_t FDP_EXCPTN_ONLY = 1u << 6, FCS_FDS_DEPRECATED = 1u << 13;

bool model_has_leaf7_ebx(const Cpu& cpu, uint32_t bit) { return cpu.model.cpuid(7, 0).ebx & bit; }

}  // namespace

uint16_t full_tag_word(const Cpu& cpu) {
  const uint8_t abridged = fx_load<uint8_t>(cpu, fxs::FTW);
  const unsigned top = x87_top(cpu);
  uint16_t tw = 0;
  for (unsigned phys = 0; phys < 8; ++phys) {
    unsigned tag = 3;
    if (abridged & (1u << phys)) tag = classify(cpu.s.xsave + fxs::ST0 + 16 * ((phys - top) & 7));
    tw |= uint16_t(tag << (2 * phys));
  }
  return tw;
}

uint8_t abridged_tag(uint16_t full) {
  uint8_t a = 0;
  for (unsigned phys = 0; phys < 8; ++phys)
    if (((full >> (2 * phys)) & 3) != 3) a |= uint8_t(1u << phys);
  return a;
}

Opcode fetch_opcode(Cpu& cpu, const Insn& in) {
  const bool user = cpu.user_access();
  const uint64_t mask = cpu.in_64bit() ? ~uint64_t(0) : 0xffffffffull;
  // Prefixes (legacy and REX) never lie in D8-DF: the first such byte is
  // the escape, the next one its ModRM.
  for (unsigned i = 0; i + 1 < in.len; ++i) {
    const uint8_t b = uint8_t(cpu.read_lin(code_linear(cpu, cpu.s.rip + i) & mask, 1, Acc::Exec, user));
    if ((b & 0xf8) == 0xd8) {
      const uint8_t m = uint8_t(cpu.read_lin(code_linear(cpu, cpu.s.rip + i + 1) & mask, 1, Acc::Exec, user));
      return {b, m};
    }
  }
  cpu.raise_ud();  // not an x87 escape (cannot happen for a decoded x87 row)
}

void record_instruction(Cpu& cpu, const Insn& in, Opcode op, bool has_memory, uint64_t ea,
                        bool unmasked_exception) {
  fx_store<uint16_t>(cpu, fxs::FOP, op.fop());
  const bool update_fdp =
      has_memory && (unmasked_exception || !model_has_leaf7_ebx(cpu, FDP_EXCPTN_ONLY));
  if (cpu.in_64bit()) {
    fx_store<uint64_t>(cpu, fxs::FIP, cpu.s.rip);
    if (update_fdp) fx_store<uint64_t>(cpu, fxs::FDP, ea);
    return;
  }
  const bool linear = in_real_or_v86(cpu);
  const bool selectors = !model_has_leaf7_ebx(cpu, FCS_FDS_DEPRECATED);
  fx_store<uint32_t>(cpu, fxs::FIP, uint32_t(linear ? code_linear(cpu, cpu.s.rip) : cpu.s.rip));
  fx_store<uint32_t>(cpu, fxs::FCS, selectors ? cpu.s.seg[CS].sel : 0);
  if (!update_fdp) return;
  const SegReg& ds = cpu.s.seg[in.seg];
  fx_store<uint32_t>(cpu, fxs::FDP, uint32_t(linear ? ds.base + ea : ea));
  fx_store<uint32_t>(cpu, fxs::FDS, selectors ? ds.sel : 0);
}

Env read_env(const Cpu& cpu) {
  Env e{};
  e.fcw = fcw(cpu);
  e.fsw = fsw(cpu);
  e.ftw = full_tag_word(cpu);
  e.fop = fx_load<uint16_t>(cpu, fxs::FOP) & 0x7ff;
  if (cpu.in_64bit()) {
    // The FXSAVE64 image keeps no selectors; the current CS and DS stand
    // in for them, or 0 where the model deprecates them.
    e.fip = fx_load<uint64_t>(cpu, fxs::FIP);
    e.fdp = fx_load<uint64_t>(cpu, fxs::FDP);
    const bool selectors = !model_has_leaf7_ebx(cpu, FCS_FDS_DEPRECATED);
    e.fcs = selectors ? cpu.s.seg[CS].sel : 0;
    e.fds = selectors ? cpu.s.seg[DS].sel : 0;
  } else {
    e.fip = fx_load<uint32_t>(cpu, fxs::FIP);
    e.fdp = fx_load<uint32_t>(cpu, fxs::FDP);
    e.fcs = fx_load<uint16_t>(cpu, fxs::FCS);
    e.fds = fx_load<uint16_t>(cpu, fxs::FDS);
  }
  return e;
}

void set_top(Cpu& cpu, unsigned top) {
  const unsigned old = x87_top(cpu);
  if (top != old) {
    uint8_t regs[8 * 16];
    std::memcpy(regs, cpu.s.xsave + fxs::ST0, sizeof regs);
    for (unsigned j = 0; j < 8; ++j)
      std::memcpy(cpu.s.xsave + fxs::ST0 + 16 * j, regs + 16 * ((top + j - old) & 7), 16);
  }
  set_fsw(cpu, uint16_t((fsw(cpu) & ~sw::TOP) | (top & 7) << sw::TOP_SHIFT));
}

void write_env(Cpu& cpu, const Env& e) {
  set_top(cpu, (e.fsw & sw::TOP) >> sw::TOP_SHIFT);
  // The reserved control-word bits read back fixed: bit 6 as 1, bits 7 and
  // 13-15 as 0 (SDM Vol. 1 Fig. 8-6; the host CPU after FLDENV/FRSTOR of
  // any value shows (v & 0x1f3f) | 0x40, as FLDCW does - found by the
  // differential fuzzer).
  const uint16_t fcw = uint16_t((e.fcw & 0x1f3f) | 0x40);
  set_fcw(cpu, fcw);
  set_fsw(cpu, with_summary(e.fsw, fcw));
  fx_store<uint8_t>(cpu, fxs::FTW, abridged_tag(e.ftw));
  fx_store<uint8_t>(cpu, fxs::FTW + 1, 0);
  fx_store<uint16_t>(cpu, fxs::FOP, e.fop & 0x7ff);
  if (cpu.in_64bit()) {
    fx_store<uint64_t>(cpu, fxs::FIP, e.fip);
    fx_store<uint64_t>(cpu, fxs::FDP, e.fdp);
  } else {
    fx_store<uint32_t>(cpu, fxs::FIP, uint32_t(e.fip));
    fx_store<uint32_t>(cpu, fxs::FCS, e.fcs);
    fx_store<uint32_t>(cpu, fxs::FDP, uint32_t(e.fdp));
    fx_store<uint32_t>(cpu, fxs::FDS, e.fds);
  }
}

void reinitialize(Cpu& cpu) {
  set_top(cpu, 0);
  set_fcw(cpu, FCW_INIT);
  set_fsw(cpu, 0);
  release_ferr_if_clear(cpu);
  fx_store<uint16_t>(cpu, fxs::FTW, 0);
  fx_store<uint16_t>(cpu, fxs::FOP, 0);
  fx_store<uint64_t>(cpu, fxs::FIP, 0);
  fx_store<uint64_t>(cpu, fxs::FDP, 0);
}

namespace {

uint64_t wrap_linear(const Cpu& cpu, uint64_t lin) { return cpu.in_64bit() ? lin : lin & 0xffffffffull; }

}  // namespace

void read_block(Cpu& cpu, uint8_t seg, uint64_t ea, unsigned n, uint8_t* out) {
  const uint64_t lin = cpu.linear(seg, ea, n, Acc::Read);
  const bool user = cpu.user_access();
  for (unsigned i = 0; i < n;) {
    const unsigned k = n - i >= 8 ? 8 : n - i;
    const uint64_t v = cpu.read_lin(wrap_linear(cpu, lin + i), k, Acc::Read, user);
    std::memcpy(out + i, &v, k);
    i += k;
  }
}

uint64_t probe_block(Cpu& cpu, uint8_t seg, uint64_t ea, unsigned n) {
  const uint64_t lin = cpu.linear(seg, ea, n, Acc::Write);
  const bool user = cpu.user_access();
  // One probe per page the block touches (a block may span two pages).
  cpu.probe_write_lin(lin, 1, user);
  cpu.probe_write_lin(wrap_linear(cpu, lin + n - 1), 1, user);
  return lin;
}

void write_block_lin(Cpu& cpu, uint64_t lin, unsigned n, const uint8_t* in) {
  const bool user = cpu.user_access();
  for (unsigned i = 0; i < n;) {
    const unsigned k = n - i >= 8 ? 8 : n - i;
    uint64_t v = 0;
    std::memcpy(&v, in + i, k);
    cpu.write_lin(wrap_linear(cpu, lin + i), k, v, user);
    i += k;
  }
}

}  // namespace softvt::x87
