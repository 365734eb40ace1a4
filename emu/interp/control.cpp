// Control transfer: JMP, Jcc, CALL, RET, LOOP, JCXZ, INT, IRET (SDM Vol. 2,
// and Vol. 3A 5.8 for far transfers through call gates). Handlers commit
// registers only after the last check that can fault, so a fault leaves
// the state of the faulting instruction.
#include "emu/interp/flags.h"
#include "emu/interp/table.h"
#include "emu/segments.h"
#include "emu/task_switch.h"
#include "vmx/event_exits.h"
#include "svm/intercepts.h"

namespace softvt {
namespace {

bool legacy_segments(const Cpu& cpu) { return cpu.s.mode == Mode::Real || cpu.s.mode == Mode::V86; }

// ---- near transfers -----------------------------------------------------------

// The target of a near branch: 64-bit mode requires a canonical address,
// other modes wrap it to the operand size and check the CS limit; either
// fault is #GP(0) reported on the branch itself (SDM Vol. 2 JMP, Jcc, CALL).
uint64_t near_target(Cpu& cpu, unsigned opsize, uint64_t target) {
  if (cpu.in_64bit()) {
    if (!is_canonical(cpu, target)) cpu.raise_gp0();
    return target;
  }
  target &= mask_of(opsize);
  if (target > cpu.s.seg[CS].limit) cpu.raise_gp0();
  return target;
}

uint64_t relative_target(const Cpu& cpu, const Insn& in) { return cpu.next_rip + in.imm; }

// The near-branch operand size: always 64 bits in 64-bit mode (Intel).
unsigned near_size(const Cpu& cpu, const Insn& in) { return cpu.in_64bit() ? 8 : in.opsize; }

uint64_t indirect_operand(Cpu& cpu, const Insn& in, unsigned size) {
  switch (size) {
    case 2: return read_operand<2>(cpu, in, 0);
    case 4: return read_operand<4>(cpu, in, 0);
    default: return read_operand<8>(cpu, in, 0);
  }
}

void jmp_rel(Cpu& cpu, const Insn& in) {
  cpu.next_rip = near_target(cpu, near_size(cpu, in), relative_target(cpu, in));
}

void jmp_indirect(Cpu& cpu, const Insn& in) {
  const unsigned size = near_size(cpu, in);
  cpu.next_rip = near_target(cpu, size, indirect_operand(cpu, in, size));
}

template <unsigned CC>
void jcc(Cpu& cpu, const Insn& in) {
  if (condition(cpu, CC)) cpu.next_rip = near_target(cpu, near_size(cpu, in), relative_target(cpu, in));
}

// CALL near: the target is checked before the return address is pushed
// (SDM Vol. 2 CALL: #GP(0) for the target, then #SS(0) for the push).
void call_near(Cpu& cpu, unsigned size, uint64_t target) {
  const uint64_t checked = near_target(cpu, size, target);
  cpu.push(cpu.next_rip, size);
  cpu.next_rip = checked;
}

void call_rel(Cpu& cpu, const Insn& in) {
  call_near(cpu, near_size(cpu, in), relative_target(cpu, in));
}

void call_indirect(Cpu& cpu, const Insn& in) {
  const unsigned size = near_size(cpu, in);
  call_near(cpu, size, indirect_operand(cpu, in, size));
}

// RET near [imm16]: the return address is read, checked, and only then is
// RSP released (SDM Vol. 2 RET).
void ret_near(Cpu& cpu, const Insn& in) {
  const unsigned size = near_size(cpu, in);
  const uint64_t target = near_target(cpu, size, cpu.read_stack(0, size));
  const uint64_t release = in.nops ? (in.imm & 0xffff) : 0;
  const uint64_t m = cpu.sp_mask();
  cpu.s.gpr[RSP] = (cpu.s.gpr[RSP] & ~m) | ((cpu.s.gpr[RSP] + size + release) & m);
  cpu.next_rip = target;
}

// ---- LOOP / JCXZ: the count register has the address size ----------------------

uint64_t count_reg(const Cpu& cpu, const Insn& in) { return cpu.get_reg(RCX, in.addrsize); }

template <int ZF_WANTED>  // -1: LOOP, 1: LOOPE, 0: LOOPNE
void loop(Cpu& cpu, const Insn& in) {
  const uint64_t count = (count_reg(cpu, in) - 1) & mask_of(in.addrsize);
  bool taken = count != 0;
  if (ZF_WANTED >= 0) taken = taken && (bool(cpu.s.rflags & fl::ZF) == bool(ZF_WANTED));
  uint64_t target = cpu.next_rip;
  if (taken) target = near_target(cpu, near_size(cpu, in), relative_target(cpu, in));
  cpu.set_reg(RCX, in.addrsize, count);
  cpu.next_rip = target;
}

void jcxz(Cpu& cpu, const Insn& in) {
  if (count_reg(cpu, in) == 0)
    cpu.next_rip = near_target(cpu, near_size(cpu, in), relative_target(cpu, in));
}

// ---- far transfers ----------------------------------------------------------

struct FarPointer {
  uint16_t sel;
  uint64_t offset;
};

// ptr16:16/32 or m16:16/32/64: the offset comes first in memory.
FarPointer far_operand(Cpu& cpu, const Insn& in) {
  if (in.op[0].kind == OpKind::Ptr) return FarPointer{uint16_t(in.imm2), in.imm};
  const uint64_t ea = effective_address(cpu, in);
  const uint64_t off = cpu.read(in.seg, ea, in.opsize);
  const uint16_t sel = uint16_t(cpu.read(in.seg, (ea + in.opsize) & mask_of(in.addrsize), 2));
  return FarPointer{sel, off};
}

// The offset of a far target is checked against the new code segment: its
// limit for a legacy or compatibility-mode target, canonical form for a
// 64-bit one (SDM Vol. 2 JMP/CALL "tempEIP").
void check_far_offset(Cpu& cpu, uint64_t cd, uint64_t offset) {
  if (cpu.long_mode() && desc::long_bit(cd)) {
    if (!is_canonical(cpu, offset)) cpu.raise_gp0();
  } else if (offset > desc::limit(cd)) {
    cpu.raise_gp0();
  }
}

// A code segment named directly by a far JMP/CALL (SDM Vol. 2 JMP
// "CONFORMING-CODE-SEGMENT" / "NONCONFORMING-CODE-SEGMENT").
void check_direct_code(Cpu& cpu, uint16_t sel, uint64_t d) {
  const uint32_t err = selector_error(sel);
  if (cpu.long_mode() && desc::long_bit(d) && desc::db_bit(d)) cpu.raise(vec::GP, err);
  if (desc::conforming(d)) {
    if (desc::dpl(d) > cpu.s.cpl) cpu.raise(vec::GP, err);
  } else if ((sel & 3) > cpu.s.cpl || desc::dpl(d) != cpu.s.cpl) {
    cpu.raise(vec::GP, err);
  }
  if (!desc::present(d)) cpu.raise(vec::NP, err);
}

// A call gate's target code segment (SDM Vol. 2 CALL "CALL-GATE").
// JMP cannot change privilege: a non-conforming target needs DPL = CPL.
uint64_t gate_code_segment(Cpu& cpu, uint16_t cs, bool for_jmp) {
  if (null_selector(cs)) cpu.raise_gp0();
  const uint64_t d = cpu.read_descriptor(cs, vec::GP);
  const uint32_t err = selector_error(cs);
  if (!desc::is_code(d) || desc::dpl(d) > cpu.s.cpl) cpu.raise(vec::GP, err);
  if (for_jmp && !desc::conforming(d) && desc::dpl(d) != cpu.s.cpl) cpu.raise(vec::GP, err);
  if (cpu.long_mode() && (!desc::long_bit(d) || desc::db_bit(d))) cpu.raise(vec::GP, err);
  if (!desc::present(d)) cpu.raise(vec::NP, err);
  return d;
}

struct CallGate {
  uint16_t cs;
  uint64_t offset;
  unsigned size;    // 2, 4 or 8: the width of the pushed slots
  unsigned params;  // parameter count (legacy gates)
};

// Checks a call gate referenced by a far JMP/CALL (SDM Vol. 2 CALL/JMP
// "CALL-GATE"); in IA-32e mode the gate is 16 bytes and 64-bit.
CallGate read_call_gate(Cpu& cpu, uint16_t sel, uint64_t d) {
  const uint32_t err = selector_error(sel);
  if (desc::dpl(d) < cpu.s.cpl || desc::dpl(d) < (sel & 3)) cpu.raise(vec::GP, err);
  if (!desc::present(d)) cpu.raise(vec::NP, err);
  CallGate g{desc::gate_selector(d), desc::gate_offset32(d), 4, desc::gate_param_count(d)};
  if (cpu.long_mode()) {
    const uint64_t hi = read_descriptor_high(cpu, sel, vec::GP);
    // The upper half's type field must be 0 (SDM 5.8.3.1).
    if (((hi >> 40) & 0x1f) != 0) cpu.raise(vec::GP, err);
    g.offset = desc::gate_offset64(d, hi);
    g.size = 8;
    g.params = 0;
  } else if (desc::type(d) == desc::CALL_GATE16) {
    g.offset &= 0xffff;
    g.size = 2;
  }
  return g;
}

bool is_call_gate(const Cpu& cpu, uint64_t d) {
  if (desc::system_type(d, desc::CALL_GATE)) return true;
  return !cpu.long_mode() && desc::system_type(d, desc::CALL_GATE16);
}

bool is_task_target(const Cpu& cpu, uint64_t d) {
  if (cpu.long_mode()) return false;
  return desc::system_type(d, desc::TASK_GATE) || desc::system_type(d, desc::TSS_AVAIL) ||
         desc::system_type(d, desc::TSS16_AVAIL) || desc::system_type(d, desc::TSS_BUSY) ||
         desc::system_type(d, desc::TSS16_BUSY);
}

// The descriptor a protected-mode far JMP/CALL names (SDM Vol. 2 JMP).
uint64_t far_target_descriptor(Cpu& cpu, uint16_t sel) {
  if (null_selector(sel)) cpu.raise_gp0();
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  if (!desc::is_code(d) && !is_call_gate(cpu, d) && !is_task_target(cpu, d))
    cpu.raise(vec::GP, selector_error(sel));
  return d;
}

void enter_code_segment(Cpu& cpu, uint16_t sel, uint64_t d, uint8_t cpl, uint64_t offset) {
  cpu.set_descriptor_accessed(sel, d);
  cpu.load_cs_from_descriptor(sel, d, cpl);
  cpu.next_rip = offset;
}

void real_far_jump(Cpu& cpu, uint16_t sel, uint64_t offset) {
  // Real and virtual-8086 mode: the CS limit in force stays (SDM 20.1.1).
  if (offset > cpu.s.seg[CS].limit) cpu.raise_gp0();
  cpu.load_real_segment(CS, sel);
  cpu.next_rip = offset;
  cpu.end_block = true;
}

void jmp_far(Cpu& cpu, const Insn& in) {
  FarPointer fp = far_operand(cpu, in);
  if (in.opsize == 2) fp.offset &= 0xffff;
  if (legacy_segments(cpu)) return real_far_jump(cpu, fp.sel, fp.offset);
  const uint64_t d = far_target_descriptor(cpu, fp.sel);
  if (desc::is_code(d)) {
    check_direct_code(cpu, fp.sel, d);
    check_far_offset(cpu, d, fp.offset);
    return enter_code_segment(cpu, fp.sel, d, cpu.s.cpl, fp.offset);
  }
  if (is_task_target(cpu, d))
    return far_task_transfer(cpu, fp.sel, d, TaskSwitchReason::Jmp, cpu.next_rip);
  // JMP through a call gate: no privilege change, so the target must be a
  // conforming segment with DPL <= CPL or a non-conforming one with DPL = CPL.
  const CallGate g = read_call_gate(cpu, fp.sel, d);
  const uint64_t cd = gate_code_segment(cpu, g.cs, true);
  check_far_offset(cpu, cd, g.offset);
  enter_code_segment(cpu, g.cs, cd, cpu.s.cpl, g.offset);
}

// Pushes CS and the return address with the current stack (same privilege).
void push_return(Cpu& cpu, unsigned size, uint64_t target_check_cd, bool check, uint64_t off) {
  StackFrame frame(cpu, cpu.s.seg[SS], cpu.s.stack_size, cpu.s.gpr[RSP], cpu.s.cpl == 3, 0);
  frame.push(cpu.s.seg[CS].sel, size);
  frame.push(cpu.next_rip & mask_of(size), size);
  frame.check();
  if (check) check_far_offset(cpu, target_check_cd, off);
  cpu.s.gpr[RSP] = frame.write();
}

void real_far_call(Cpu& cpu, const Insn& in, uint16_t sel, uint64_t offset) {
  if (offset > cpu.s.seg[CS].limit) cpu.raise_gp0();
  cpu.push(cpu.s.seg[CS].sel, in.opsize);
  // The second push may fault after the first changed RSP: undo it.
  const uint64_t sp_after_cs = cpu.s.gpr[RSP];
  try {
    cpu.push(cpu.next_rip, in.opsize);
  } catch (...) {
    const uint64_t m = cpu.sp_mask();
    cpu.s.gpr[RSP] = (sp_after_cs & ~m) | ((sp_after_cs + in.opsize) & m);
    throw;
  }
  cpu.load_real_segment(CS, sel);
  cpu.next_rip = offset;
  cpu.end_block = true;
}

// CALL through a call gate to a more privileged non-conforming segment:
// switch to the stack of the new CPL from the TSS, push the old SS:ESP, copy
// the parameters (legacy gates) and push the return address (SDM Vol. 2
// CALL "MORE-PRIVILEGE", SDM 5.8.5).
void call_gate_inner(Cpu& cpu, const CallGate& g, uint64_t cd) {
  const uint8_t new_cpl = desc::dpl(cd);
  const unsigned slot = g.size;
  SegReg new_ss;
  uint16_t ss_sel;
  uint64_t ss_desc = 0;
  uint64_t sp;
  unsigned addr_size;
  if (cpu.long_mode()) {
    sp = tss_stack_64(cpu, new_cpl, 0, 0);
    ss_sel = new_cpl;  // a null selector with RPL = new CPL
    new_ss = null_segment(ss_sel, new_cpl);
    addr_size = 8;
  } else {
    const TssStack st = tss_stack_legacy(cpu, new_cpl, 0);
    ss_desc = check_new_stack_segment(cpu, st.ss, new_cpl, 0);
    ss_sel = st.ss;
    new_ss = Cpu::segment_from_descriptor(st.ss, ss_desc);
    sp = st.sp;
    addr_size = (new_ss.attr & ar::DB) ? 4 : 2;
  }
  // Parameters are read from the caller's stack at the caller's privilege.
  uint64_t params[32];
  for (unsigned i = 0; i < g.params; ++i) params[i] = cpu.read_stack(uint64_t(i) * slot, slot);
  StackFrame frame(cpu, new_ss, addr_size, sp, false, cpu.long_mode() ? 0 : selector_error(ss_sel));
  frame.push(cpu.s.seg[SS].sel, slot);
  frame.push(cpu.s.gpr[RSP] & mask_of(slot), slot);
  for (unsigned i = g.params; i-- > 0;) frame.push(params[i], slot);
  frame.push(cpu.s.seg[CS].sel, slot);
  frame.push(cpu.next_rip & mask_of(slot), slot);
  frame.check();
  check_far_offset(cpu, cd, g.offset);
  const uint64_t new_sp = frame.write();
  if (cpu.long_mode()) cpu.s.seg[SS] = new_ss;
  else load_ss_checked(cpu, ss_sel, ss_desc);
  cpu.s.gpr[RSP] = new_sp;
  enter_code_segment(cpu, g.cs, cd, new_cpl, g.offset);
}

void call_far(Cpu& cpu, const Insn& in) {
  FarPointer fp = far_operand(cpu, in);
  if (in.opsize == 2) fp.offset &= 0xffff;
  if (legacy_segments(cpu)) return real_far_call(cpu, in, fp.sel, fp.offset);
  const uint64_t d = far_target_descriptor(cpu, fp.sel);
  if (desc::is_code(d)) {
    check_direct_code(cpu, fp.sel, d);
    // A compatibility-mode target uses the low 32 bits of the offset.
    if (cpu.long_mode() && !desc::long_bit(d)) fp.offset &= 0xffffffffull;
    push_return(cpu, in.opsize, d, true, fp.offset);
    return enter_code_segment(cpu, fp.sel, d, cpu.s.cpl, fp.offset);
  }
  if (is_task_target(cpu, d))
    return far_task_transfer(cpu, fp.sel, d, TaskSwitchReason::Call, cpu.next_rip);
  const CallGate g = read_call_gate(cpu, fp.sel, d);
  const uint64_t cd = gate_code_segment(cpu, g.cs, false);
  if (!desc::conforming(cd) && desc::dpl(cd) < cpu.s.cpl) return call_gate_inner(cpu, g, cd);
  // Same privilege: the slots have the gate's size (SDM 5.8.5).
  push_return(cpu, g.size, cd, true, g.offset);
  enter_code_segment(cpu, g.cs, cd, cpu.s.cpl, g.offset);
}

// ---- RET far ----------------------------------------------------------------

// The checks on a return code segment shared by RET far and IRET (SDM Vol. 2
// RET "PROTECTED-MODE").
uint64_t check_return_code(Cpu& cpu, uint16_t cs) {
  if (null_selector(cs)) cpu.raise_gp0();
  const uint64_t d = cpu.read_descriptor(cs, vec::GP);
  const uint32_t err = selector_error(cs);
  const uint8_t rpl = cs & 3;
  if (!desc::is_code(d) || rpl < cpu.s.cpl) cpu.raise(vec::GP, err);
  if (desc::conforming(d) ? desc::dpl(d) > rpl : desc::dpl(d) != rpl) cpu.raise(vec::GP, err);
  if (cpu.long_mode() && desc::long_bit(d) && desc::db_bit(d)) cpu.raise(vec::GP, err);
  if (!desc::present(d)) cpu.raise(vec::NP, err);
  return d;
}

// The stack segment popped by a return to an outer level (SDM Vol. 2 RET
// "RETURN-TO-OUTER-PRIVILEGE-LEVEL", IRET); returns 0 for a null SS that
// 64-bit mode allows below CPL 3.
uint64_t check_return_stack(Cpu& cpu, uint16_t ss, uint8_t rpl, bool to_64bit) {
  if (null_selector(ss)) {
    if (to_64bit && rpl != 3) return 0;
    cpu.raise_gp0();
  }
  const uint64_t d = cpu.read_descriptor(ss, vec::GP);
  if ((ss & 3) != rpl || !desc::writable_data(d) || desc::dpl(d) != rpl)
    cpu.raise(vec::GP, selector_error(ss));
  if (!desc::present(d)) cpu.raise(vec::SS, selector_error(ss));
  return d;
}

void add_to_sp(Cpu& cpu, uint64_t n) {
  const uint64_t m = cpu.sp_mask();
  cpu.s.gpr[RSP] = (cpu.s.gpr[RSP] & ~m) | ((cpu.s.gpr[RSP] + n) & m);
}

void install_stack(Cpu& cpu, uint16_t ss, uint64_t ss_desc, uint8_t cpl, uint64_t sp) {
  if (ss_desc) load_ss_checked(cpu, ss, ss_desc);
  else {
    cpu.s.seg[SS] = null_segment(ss, cpl);
    cpu.update_mode();
  }
  cpu.s.gpr[RSP] = sp;
}

void ret_far(Cpu& cpu, const Insn& in) {
  const unsigned size = in.opsize;
  const uint64_t release = in.nops ? (in.imm & 0xffff) : 0;
  uint64_t offset = cpu.read_stack(0, size) & mask_of(size);
  const uint16_t cs = uint16_t(cpu.read_stack(size, size));
  if (legacy_segments(cpu)) {
    if (offset > cpu.s.seg[CS].limit) cpu.raise_gp0();
    add_to_sp(cpu, 2 * size + release);
    cpu.load_real_segment(CS, cs);
    cpu.next_rip = offset;
    cpu.end_block = true;
    return;
  }
  const uint64_t cd = check_return_code(cpu, cs);
  const uint8_t rpl = cs & 3;
  if (rpl == cpu.s.cpl) {
    check_far_offset(cpu, cd, offset);
    add_to_sp(cpu, 2 * size + release);
    enter_code_segment(cpu, cs, cd, rpl, offset);
    return;
  }
  // Return to an outer privilege level: SS:eSP follow the parameters.
  const uint64_t sp_at = 2 * size + release;
  const uint64_t new_sp = cpu.read_stack(sp_at, size);
  const uint16_t ss = uint16_t(cpu.read_stack(sp_at + size, size));
  const bool to_64bit = cpu.long_mode() && desc::long_bit(cd);
  const uint64_t ss_desc = check_return_stack(cpu, ss, rpl, to_64bit);
  check_far_offset(cpu, cd, offset);
  enter_code_segment(cpu, cs, cd, rpl, offset);
  install_stack(cpu, ss, ss_desc, rpl, new_sp & mask_of(size));
  add_to_sp(cpu, release);  // the parameters on the outer stack too
  null_inaccessible_data_segments(cpu);
}

// ---- INT n, INT3, INTO, INT1 -------------------------------------------------

void deliver_software(Cpu& cpu, uint8_t vector, EventType type) {
  cpu.deliver_event(vector, type, NO_ERROR_CODE, cpu.next_rip);
  cpu.next_rip = cpu.s.rip;
  cpu.end_block = true;
}

void int_n(Cpu& cpu, const Insn& in) {
  // SVM: the INTn intercept precedes the instruction's exceptions (APM 15.7).
  if (cpu.svm.guest_mode && svm::intercept_intn(cpu, uint8_t(in.imm))) return;
  deliver_software(cpu, uint8_t(in.imm), EventType::SoftwareInterrupt);
}

void int3(Cpu& cpu, const Insn&) { deliver_software(cpu, vec::BP, EventType::SoftwareException); }

void into(Cpu& cpu, const Insn&) {
  if (cpu.in_64bit()) cpu.raise_ud();  // invalid in 64-bit mode (SDM Vol. 2 INTO)
  if (cpu.s.rflags & fl::OF) deliver_software(cpu, vec::OF, EventType::SoftwareException);
}

void int1(Cpu& cpu, const Insn&) {
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Icebp)) return;  // APM 15.7
  deliver_software(cpu, vec::DB, EventType::PrivilegedSoftware);
}

// ---- IRET -------------------------------------------------------------------

// EFLAGS bits an IRET may load (SDM Vol. 2 IRET): the arithmetic flags,
// TF, DF, NT, RF, AC, ID; IF only if CPL <= IOPL; IOPL and VIF/VIP only at
// CPL 0. VM is handled separately.
uint64_t iret_flags(const Cpu& cpu, uint64_t popped, unsigned size) {
  uint64_t loadable = fl::ARITH | fl::TF | fl::DF | fl::NT | fl::RF | fl::AC | fl::ID;
  const unsigned iopl = unsigned((cpu.s.rflags & fl::IOPL) >> 12);
  if (cpu.s.cpl <= iopl) loadable |= fl::IF;
  if (cpu.s.cpl == 0) loadable |= fl::IOPL | (size >= 4 ? (fl::VIF | fl::VIP) : 0);
  if (size == 2) loadable &= 0xffff;
  return (cpu.s.rflags & ~loadable) | (popped & loadable) | fl::FIXED1;
}

void iret_real(Cpu& cpu, const Insn& in) {
  const unsigned size = in.opsize;
  const uint64_t ip = cpu.read_stack(0, size);
  const uint16_t cs = uint16_t(cpu.read_stack(size, size));
  const uint64_t flags = cpu.read_stack(2 * size, size);
  if (ip > cpu.s.seg[CS].limit) cpu.raise_gp0();
  add_to_sp(cpu, 3 * size);
  if (size == 4) {
    // SDM Vol. 2 IRET real mode: EFLAGS <- (temp AND 257FD5H) OR (EFLAGS AND 1A0000H).
    cpu.s.rflags = (flags & 0x257fd5) | (cpu.s.rflags & 0x1a0000) | fl::FIXED1;
  } else {
    cpu.s.rflags = (cpu.s.rflags & ~uint64_t(0xffff)) | (flags & 0x7fd5) | fl::FIXED1;
  }
  cpu.load_real_segment(CS, cs);
  cpu.next_rip = ip;
  cpu.end_block = true;
}

// IRET from CPL 0 with VM = 1 in the popped EFLAGS (SDM Vol. 2 IRET
// "RETURN-TO-VIRTUAL-8086-MODE"): 32-bit frame of EIP, CS, EFLAGS, ESP, SS,
// ES, DS, FS, GS.
// EFLAGS <- tempEFLAGS loads every defined flag; the reserved bits (1, 3,
// 5, 15, 22-31) keep their fixed values (SDM Vol. 1 3.4.3).
void iret_to_v86(Cpu& cpu, uint64_t eip, uint16_t cs, uint64_t flags) {
  constexpr uint64_t DEFINED = fl::ARITH | fl::TF | fl::IF | fl::DF | fl::IOPL | fl::NT | fl::RF |
                               fl::VM | fl::AC | fl::VIF | fl::VIP | fl::ID;
  uint64_t v[6];
  for (unsigned i = 0; i < 6; ++i) v[i] = cpu.read_stack(12 + 4 * uint64_t(i), 4);
  if ((eip & 0xffffffff) > 0xffff) cpu.raise_gp0();
  cpu.s.rflags = (flags & DEFINED) | fl::FIXED1;
  cpu.update_mode();  // now V86: the segment loads below are 8086-style
  const uint8_t segs[4] = {ES, DS, FS, GS};
  for (unsigned i = 0; i < 4; ++i) cpu.load_real_segment(segs[i], uint16_t(v[2 + i]));
  cpu.load_real_segment(SS, uint16_t(v[1]));
  cpu.load_real_segment(CS, cs);
  cpu.s.gpr[RSP] = v[0] & 0xffffffffull;
  cpu.update_mode();
  cpu.next_rip = eip & 0xffff;
  cpu.end_block = true;
}

void iret_protected(Cpu& cpu, const Insn& in) {
  if (cpu.s.rflags & fl::NT) {
    // IA-32e mode has no task return: #GP(0). Otherwise a return to the
    // task named by the TSS's previous-task link (SDM 7.3, 7.4).
    if (cpu.long_mode()) cpu.raise_gp0();
    return task_return(cpu, cpu.next_rip);
  }
  const unsigned size = in.opsize;
  const uint64_t ip = cpu.read_stack(0, size) & mask_of(size);
  const uint16_t cs = uint16_t(cpu.read_stack(size, size));
  const uint64_t flags = cpu.read_stack(2 * size, size) & mask_of(size);
  if (!cpu.long_mode() && size == 4 && (flags & fl::VM) && cpu.s.cpl == 0)
    return iret_to_v86(cpu, ip, cs, flags);
  const uint64_t cd = check_return_code(cpu, cs);
  const uint8_t rpl = cs & 3;
  // 64-bit mode pops SS:RSP unconditionally (SDM 6.14.3).
  const bool pops_stack = rpl > cpu.s.cpl || cpu.in_64bit();
  uint16_t ss = 0;
  uint64_t sp = 0, ss_desc = 0;
  if (pops_stack) {
    sp = cpu.read_stack(3 * size, size) & mask_of(size);
    ss = uint16_t(cpu.read_stack(4 * size, size));
    // A null SS is allowed when returning to 64-bit mode at CPL < 3.
    ss_desc = check_return_stack(cpu, ss, rpl, cpu.long_mode() && desc::long_bit(cd));
  }
  check_far_offset(cpu, cd, ip);
  const uint64_t new_flags = iret_flags(cpu, flags, size);
  const bool outer = rpl > cpu.s.cpl;
  if (!pops_stack) add_to_sp(cpu, 3 * size);
  cpu.s.rflags = new_flags;
  enter_code_segment(cpu, cs, cd, rpl, ip);
  if (pops_stack) install_stack(cpu, ss, ss_desc, rpl, sp);
  if (outer) null_inaccessible_data_segments(cpu);
}

void iret(Cpu& cpu, const Insn& in) {
  // SVM: the IRET intercept comes before IRET does anything (APM 15.7).
  if (cpu.svm.guest_mode && svm::intercept_instruction(cpu, svm::Intercept::Iret)) return;
  // IRET ends the blocking of NMIs that delivering an NMI started, even
  // when it then faults (SDM 6.7.1; Vol. 3C 26.3 "IRET ... even if it
  // causes a fault").
  if (cpu.vmx.non_root) vmx::note_guest_iret(cpu);  // "NMI unblocking due to IRET"
  cpu.s.nmi_blocked = 0;
  if (cpu.s.mode == Mode::Real) return iret_real(cpu, in);
  if (cpu.s.mode == Mode::V86) {
    // Without VME, IRET in virtual-8086 mode is IOPL-sensitive (SDM 20.2.7).
    if (((cpu.s.rflags & fl::IOPL) >> 12) < 3) cpu.raise_gp0();
    const uint64_t flags_before = cpu.s.rflags;
    iret_real(cpu, in);
    // IOPL and VM cannot change in virtual-8086 mode (SDM Vol. 2 IRET).
    cpu.s.rflags = (cpu.s.rflags & ~(fl::IOPL | fl::VM)) | (flags_before & (fl::IOPL | fl::VM));
    return;
  }
  iret_protected(cpu, in);
}

// ---- selectors -----------------------------------------------------------------

Handler select_jmp(const Insn& in) {
  if (in.far_branch) return in.op[0].kind == OpKind::Reg ? nullptr : jmp_far;
  return in.op[0].kind == OpKind::Imm ? jmp_rel : jmp_indirect;
}

Handler select_call(const Insn& in) {
  if (in.far_branch) return in.op[0].kind == OpKind::Reg ? nullptr : call_far;
  return in.op[0].kind == OpKind::Imm ? call_rel : call_indirect;
}

Handler select_ret(const Insn& in) { return in.far_branch ? ret_far : ret_near; }

#define JCC_ROW(m, cc) {ZYDIS_MNEMONIC_##m, SOFTVT_FIXED(jcc<cc>), 0, 0, Feature::Base, 1}

const InsnRow kRows[] = {
    {ZYDIS_MNEMONIC_JMP, select_jmp, 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_CALL, select_call, 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_RET, select_ret, 0, 0, Feature::Base, 1},
    JCC_ROW(JO, 0x0), JCC_ROW(JNO, 0x1), JCC_ROW(JB, 0x2), JCC_ROW(JNB, 0x3),
    JCC_ROW(JZ, 0x4), JCC_ROW(JNZ, 0x5), JCC_ROW(JBE, 0x6), JCC_ROW(JNBE, 0x7),
    JCC_ROW(JS, 0x8), JCC_ROW(JNS, 0x9), JCC_ROW(JP, 0xa), JCC_ROW(JNP, 0xb),
    JCC_ROW(JL, 0xc), JCC_ROW(JNL, 0xd), JCC_ROW(JLE, 0xe), JCC_ROW(JNLE, 0xf),
    {ZYDIS_MNEMONIC_LOOP, SOFTVT_FIXED(loop<-1>), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_LOOPE, SOFTVT_FIXED(loop<1>), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_LOOPNE, SOFTVT_FIXED(loop<0>), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_JCXZ, SOFTVT_FIXED(jcxz), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_JECXZ, SOFTVT_FIXED(jcxz), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_JRCXZ, SOFTVT_FIXED(jcxz), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INT, SOFTVT_FIXED(int_n), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INT3, SOFTVT_FIXED(int3), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INTO, SOFTVT_FIXED(into), 0, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_INT1, SOFTVT_FIXED(int1), 0, 0, Feature::Base, 1},
    // IRET loads all of EFLAGS' status flags from the stack.
    {ZYDIS_MNEMONIC_IRET, SOFTVT_FIXED(iret), fl::ARITH, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_IRETD, SOFTVT_FIXED(iret), fl::ARITH, 0, Feature::Base, 1},
    {ZYDIS_MNEMONIC_IRETQ, SOFTVT_FIXED(iret), fl::ARITH, 0, Feature::Base, 1},
};

#undef JCC_ROW

}  // namespace

std::span<const InsnRow> rows_control() { return kRows; }

}  // namespace softvt
