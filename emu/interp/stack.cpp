// Stack instructions (SDM Vol. 2): PUSH, POP (register, memory, immediate,
// segment register), PUSHA/PUSHAD, POPA/POPAD, PUSHF/PUSHFD/PUSHFQ,
// POPF/POPFD/POPFQ, ENTER, LEAVE.
//
// The operand size (from the decoder: 2/4/8, 8 by default in 64-bit mode)
// sets how many bytes move; the stack-address size (cpu.s.stack_size: SS.B
// or 64-bit mode) sets how rSP wraps (SDM Vol. 1 6.2.3). A handler changes
// rSP and other registers only after its last access that can fault, so a
// faulting instruction restarts from unchanged registers.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"
#include "svm/intercepts.h"

namespace softvt {
namespace {

// rSP moved by `delta` at the stack-address size; bits above it keep their
// value (a 16-bit stack changes only SP).
uint64_t sp_moved(const Cpu& cpu, uint64_t sp, uint64_t delta) {
  const uint64_t m = cpu.sp_mask();
  return (sp & ~m) | ((sp + delta) & m);
}

uint8_t sreg_of(const Operand& o) { return uint8_t(o.reg - reg::SEG0); }

bool is_gpr(const Operand& o) { return o.kind == OpKind::Reg && o.reg < reg::SEG0; }
bool is_sreg(const Operand& o) {
  return o.kind == OpKind::Reg && o.reg >= reg::SEG0 && o.reg < reg::SEG0 + 6;
}

// PUSH CS/SS/DS/ES and POP SS/DS/ES do not exist in 64-bit mode (SDM PUSH,
// POP: "Invalid" in the 64-bit column); the decoder already rejects their
// encodings, this keeps the handlers safe on their own.
void check_sreg_exists_in_mode(Cpu& cpu, uint8_t sr) {
  if (cpu.in_64bit() && sr != FS && sr != GS) cpu.raise_ud();
}

// ---- PUSH ------------------------------------------------------------------

// PUSH rSP pushes the value rSP had before the instruction (SDM PUSH).
template <unsigned N>
void push_reg(Cpu& cpu, const Insn& in) {
  cpu.push(cpu.get_reg(in.op[0].reg, N), N);
}

// A memory operand based on rSP uses rSP from before the push (SDM PUSH).
template <unsigned N>
void push_mem(Cpu& cpu, const Insn& in) {
  cpu.push(read_operand<N>(cpu, in, 0), N);
}

// The immediate is sign-extended to the operand size (by the decoder).
template <unsigned N>
void push_imm(Cpu& cpu, const Insn& in) {
  cpu.push(in.imm & size_mask<N>(), N);
}

// SDM PUSH: with a 32- or 64-bit operand size the processor either pushes
// the zero-extended selector or writes only its 16 bits ("all recent Intel
// Core and Intel Atom processors perform a 16-bit move, leaving the upper
// portion of the stack location unmodified"). softvt reports GenuineIntel
// and does the latter: rSP moves by the operand size, two bytes are
// written. (AMD Zen 4, this project's host, writes the zero-extended
// selector instead: a known, documented difference.)
template <unsigned N>
void push_sreg(Cpu& cpu, const Insn& in) {
  const uint8_t sr = sreg_of(in.op[0]);
  check_sreg_exists_in_mode(cpu, sr);
  const uint64_t nsp = sp_moved(cpu, cpu.s.gpr[RSP], uint64_t(0) - N);
  cpu.write(SS, nsp & cpu.sp_mask(), 2, cpu.s.seg[sr].sel);
  cpu.s.gpr[RSP] = nsp;
}

Handler select_push(const Insn& in) {
  const Operand& o = in.op[0];
  if (is_sreg(o)) return SOFTVT_SIZED_WDQ(push_sreg)(in);
  if (is_gpr(o)) return SOFTVT_SIZED_WDQ(push_reg)(in);
  if (o.kind == OpKind::Mem) return SOFTVT_SIZED_WDQ(push_mem)(in);
  if (o.kind == OpKind::Imm) return SOFTVT_SIZED_WDQ(push_imm)(in);
  return nullptr;
}

// ---- POP -------------------------------------------------------------------

// POP rSP: rSP is incremented before the popped value is written to it, so
// the result is the popped value (SDM POP).
template <unsigned N>
void pop_reg(Cpu& cpu, const Insn& in) {
  const uint64_t v = cpu.pop(N);
  cpu.set_reg(in.op[0].reg, N, v);
}

// A memory destination based on rSP uses rSP after the increment (SDM POP);
// if the store faults, rSP is restored so the instruction restarts.
template <unsigned N>
void pop_mem(Cpu& cpu, const Insn& in) {
  const uint64_t old_sp = cpu.s.gpr[RSP];
  const uint64_t v = cpu.read_stack(0, N);
  cpu.s.gpr[RSP] = sp_moved(cpu, old_sp, N);
  try {
    write_operand<N>(cpu, in, 0, v);
  } catch (const GuestException&) {
    cpu.s.gpr[RSP] = old_sp;
    throw;
  }
}

// The selector is loaded with the checks of a segment load (the system
// group's Cpu::load_segment); rSP moves only if the load succeeds. Loading
// SS inhibits interrupts and debug exceptions until after the next
// instruction (SDM POP, "Loading the SS register with a POP ...").
template <unsigned N>
void pop_sreg(Cpu& cpu, const Insn& in) {
  const uint8_t sr = sreg_of(in.op[0]);
  check_sreg_exists_in_mode(cpu, sr);
  const uint64_t old_sp = cpu.s.gpr[RSP];
  const uint64_t new_sp = sp_moved(cpu, old_sp, N);  // at the old SS's stack size
  const uint64_t v = cpu.read_stack(0, N);
  cpu.load_segment(sr, uint16_t(v));
  cpu.s.gpr[RSP] = new_sp;
  if (sr == SS) cpu.s.interrupt_shadow = shadow::MOV_SS;
}

Handler select_pop(const Insn& in) {
  const Operand& o = in.op[0];
  if (is_sreg(o)) {
    if (sreg_of(o) == CS) return nullptr;  // POP CS does not exist (0F is an escape)
    return SOFTVT_SIZED_WDQ(pop_sreg)(in);
  }
  if (is_gpr(o)) return SOFTVT_SIZED_WDQ(pop_reg)(in);
  if (o.kind == OpKind::Mem) return SOFTVT_SIZED_WDQ(pop_mem)(in);
  return nullptr;
}

// ---- PUSHA / POPA (not encodable in 64-bit mode: the decoder rejects 60/61) --

// Pushes AX, CX, DX, BX, the original SP, BP, SI, DI (SDM PUSHA). The eight
// stores precede the rSP update, so a fault leaves rSP unchanged.
template <unsigned N>
void pusha(Cpu& cpu, const Insn&) {
  const uint64_t sp = cpu.s.gpr[RSP];
  for (unsigned r = RAX; r <= RDI; ++r) {
    const uint64_t slot = sp_moved(cpu, sp, uint64_t(0) - N * (r + 1)) & cpu.sp_mask();
    cpu.write(SS, slot, N, cpu.s.gpr[r] & size_mask<N>());
  }
  cpu.s.gpr[RSP] = sp_moved(cpu, sp, uint64_t(0) - 8 * N);
}

// Pops DI, SI, BP, (SP: skipped), BX, DX, CX, AX (SDM POPA).
template <unsigned N>
void popa(Cpu& cpu, const Insn&) {
  uint64_t v[8];
  for (unsigned r = RAX; r <= RDI; ++r)
    if (r != RSP) v[r] = cpu.read_stack(N * (RDI - r), N);
  for (unsigned r = RAX; r <= RDI; ++r)
    if (r != RSP) cpu.set_reg(uint8_t(r), N, v[r]);
  cpu.s.gpr[RSP] = sp_moved(cpu, cpu.s.gpr[RSP], 8 * N);
}

// ---- PUSHF / POPF ----------------------------------------------------------

unsigned iopl(const Cpu& cpu) { return unsigned((cpu.s.rflags & fl::IOPL) >> 12); }

// The flags of FLAGS (bits 15:0) a POPF can load: bit 1 is fixed to 1,
// bits 3, 5 and 15 are reserved (SDM Vol. 1 3.4.3).
constexpr uint64_t FLAGS16_LOADABLE = fl::CF | fl::PF | fl::AF | fl::ZF | fl::SF | fl::TF |
                                      fl::IF | fl::DF | fl::OF | fl::IOPL | fl::NT;
// POPFD/POPFQ also load AC and ID; RF is cleared and VM, VIF, VIP and the
// reserved bits 63:22 are never loaded (SDM POPF, Table 4-15).
constexpr uint64_t FLAGS32_LOADABLE = FLAGS16_LOADABLE | fl::AC | fl::ID;

// SDM PUSHF: the image has VM and RF cleared (EFLAGS AND 00FCFFFFH); the
// 16-bit form pushes FLAGS. In virtual-8086 mode with IOPL < 3 the
// instruction faults unless CR4.VME = 1 and the operand size is 16, in
// which case the image carries VIF in place of IF and IOPL = 3.
template <unsigned N>
void pushf(Cpu& cpu, const Insn&) {
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Pushf)) return;  // before #GP (APM 15.7)
  uint64_t f = cpu.s.rflags;
  if (cpu.s.mode == Mode::V86 && iopl(cpu) < 3) {
    if (!(cpu.s.cr4 & cr4::VME) || N != 2) cpu.raise_gp0();
    f = (f & ~(fl::IF | fl::IOPL)) | ((f & fl::VIF) ? fl::IF : 0) | fl::IOPL;
  }
  f &= N == 2 ? 0xffffull : 0x00fcffffull;
  cpu.push(f, N);
}

// The bits of RFLAGS a POPF of this size loads from the stack image at the
// current privilege (SDM POPF, Table 4-15); the others keep their value.
// Outside virtual-8086 mode: IOPL only at CPL 0 (real mode counts as 0),
// IF only if CPL <= IOPL.
template <unsigned N>
uint64_t popf_loadable(const Cpu& cpu) {
  uint64_t m = N == 2 ? FLAGS16_LOADABLE : FLAGS32_LOADABLE;
  if (cpu.s.mode == Mode::V86) return m & ~fl::IOPL;  // IOPL = 3 here
  if (cpu.s.mode == Mode::Real || cpu.s.cpl == 0) return m;
  m &= ~fl::IOPL;
  if (cpu.s.cpl > iopl(cpu)) m &= ~fl::IF;
  return m;
}

// SDM POPF, virtual-8086 mode with IOPL < 3 and CR4.VME = 1, 16-bit
// operand: IF and IOPL are kept, VIF takes the image's IF; #GP(0) if the
// image sets TF, or sets IF while VIP = 1.
uint64_t popf_vme(Cpu& cpu, uint64_t image) {
  const uint64_t old = cpu.s.rflags;
  if (((old & fl::VIP) && (image & fl::IF)) || (image & fl::TF)) cpu.raise_gp0();
  const uint64_t m = FLAGS16_LOADABLE & ~(fl::IOPL | fl::IF);
  uint64_t f = (old & ~m) | (image & m);
  return (image & fl::IF) ? (f | fl::VIF) : (f & ~fl::VIF);
}

template <unsigned N>
void popf(Cpu& cpu, const Insn&) {
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Popf)) return;  // before #GP (APM 15.7)
  const uint64_t old = cpu.s.rflags;
  if (cpu.s.mode == Mode::V86 && iopl(cpu) < 3 && (N != 2 || !(cpu.s.cr4 & cr4::VME)))
    cpu.raise_gp0();
  const uint64_t image = cpu.read_stack(0, N);
  uint64_t f;
  if (cpu.s.mode == Mode::V86 && iopl(cpu) < 3) {
    f = popf_vme(cpu, image);
  } else {
    const uint64_t m = popf_loadable<N>(cpu);
    f = (old & ~m) | (image & m);
  }
  // RF is zero after POPF (SDM POPF, note 1); bit 1 always reads 1.
  f = (f & ~fl::RF) | fl::FIXED1;
  cpu.s.gpr[RSP] = sp_moved(cpu, cpu.s.gpr[RSP], N);
  cpu.s.rflags = f;
  // IF, TF and AC changes matter to the run loop (interrupt windows,
  // single-step, alignment checks): let it look before the next one.
  if ((old ^ f) & (fl::IF | fl::TF | fl::AC | fl::VIF)) cpu.end_block = true;
}

// ---- ENTER / LEAVE ---------------------------------------------------------

// SDM ENTER, Operation: push rBP; FrameTemp := rSP; copy NestingLevel - 1
// frame pointers from the old frame ([rBP - k*N], rBP stepping at the
// stack-address size), push FrameTemp (for any level >= 1); then rBP :=
// FrameTemp (only BP for a 16-bit operand size, the upper bits keeping the
// stepped rBP of the copy loop, as the pseudocode writes it) and rSP -=
// AllocSize. A write at the final rSP must be possible (#SS/#PF otherwise).
// Registers are committed only after every access succeeded.
template <unsigned N>
void enter(Cpu& cpu, const Insn& in) {
  const uint64_t alloc = in.imm & 0xffff;
  const unsigned level = unsigned(in.imm2 & 31);  // NestingLevel := imm8 MOD 32
  const uint64_t m = cpu.sp_mask();
  uint64_t sp = cpu.s.gpr[RSP];
  uint64_t bp = cpu.s.gpr[RBP];
  auto push = [&](uint64_t v) {
    sp = sp_moved(cpu, sp, uint64_t(0) - N);
    cpu.write(SS, sp & m, N, v & size_mask<N>());
  };
  push(bp);
  const uint64_t frame_temp = sp & size_mask<N>();
  if (level > 0) {
    for (unsigned i = 1; i < level; ++i) {
      bp = sp_moved(cpu, bp, uint64_t(0) - N);
      push(cpu.read(SS, bp & m, N));
    }
    push(frame_temp);
  }
  const uint64_t final_sp = sp_moved(cpu, sp, uint64_t(0) - alloc);
  const uint64_t lin = cpu.linear(SS, final_sp & m, N, Acc::Write);
  cpu.probe_write_lin(lin, N, cpu.user_access());
  cpu.s.gpr[RBP] = bp;
  cpu.set_reg(RBP, N, frame_temp);
  cpu.s.gpr[RSP] = final_sp;
}

// SDM LEAVE: rSP := rBP (at the stack-address size), then rBP := Pop().
template <unsigned N>
void leave(Cpu& cpu, const Insn&) {
  const uint64_t m = cpu.sp_mask();
  const uint64_t frame = cpu.s.gpr[RBP] & m;
  const uint64_t v = cpu.read(SS, frame, N);
  cpu.s.gpr[RSP] = (cpu.s.gpr[RSP] & ~m) | ((frame + N) & m);
  cpu.set_reg(RBP, N, v);
}

constexpr uint32_t NONE = 0;
constexpr uint32_t POPF_FLAGS = uint32_t(FLAGS32_LOADABLE | fl::RF | fl::VIF);

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_PUSH, select_push, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POP, select_pop, NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PUSHA, SOFTVT_SIZED_WDQ(pusha), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PUSHAD, SOFTVT_SIZED_WDQ(pusha), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPA, SOFTVT_SIZED_WDQ(popa), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPAD, SOFTVT_SIZED_WDQ(popa), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PUSHF, SOFTVT_SIZED_WDQ(pushf), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PUSHFD, SOFTVT_SIZED_WDQ(pushf), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_PUSHFQ, SOFTVT_SIZED_WDQ(pushf), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPF, SOFTVT_SIZED_WDQ(popf), POPF_FLAGS, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPFD, SOFTVT_SIZED_WDQ(popf), POPF_FLAGS, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_POPFQ, SOFTVT_SIZED_WDQ(popf), POPF_FLAGS, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_ENTER, SOFTVT_SIZED_WDQ(enter), NONE, NONE, Feature::Base, 0},
    {ZYDIS_MNEMONIC_LEAVE, SOFTVT_SIZED_WDQ(leave), NONE, NONE, Feature::Base, 0},
};

}  // namespace

std::span<const InsnRow> rows_stack() { return kRows; }

}  // namespace softvt
