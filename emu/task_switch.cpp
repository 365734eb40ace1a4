// Hardware task switching (SDM Vol. 3A 7.2-7.6, Table 7-1 "Exception
// Conditions Checked During a Task Switch", Table 6-6 "Invalid TSS
// Conditions"; Vol. 2 JMP/CALL/INT n/IRET).
//
// A switch has two halves. Before its commit point every check that
// belongs to the old task is made and every memory access that could page
// fault is done or probed (SDM 7.3 step 5: the old TSS, the new TSS and
// the descriptors used must be accessible): a fault there is reported in
// the old task with nothing changed. After it, the old state is saved, TR,
// the busy bits, NT and the link are updated, CR0.TS is set, and the new
// state is loaded; a fault while the new segment descriptors are
// qualified is reported in the context of the new task (SDM 7.3 step 12).
#include "emu/task_switch.h"

#include "emu/segments.h"
#include "vmx/nonroot.h"
#include "svm/intercepts.h"

namespace softvt {
namespace {

// ---- TSS layouts (SDM Figure 7-2, 32-bit; Figure 7-11, 16-bit) ---------------

struct TssLayout {
  uint32_t eip, eflags, gpr, seg, ldt;  // offsets
  unsigned width;                       // bytes of EIP/EFLAGS/GPR fields
  unsigned seg_stride;                  // bytes between segment selector fields
  unsigned nsegs;                       // ES, CS, SS, DS [, FS, GS]
  uint32_t min_limit;                   // smallest valid limit
  uint32_t dyn_lo, dyn_hi;              // the dynamic fields saved on a switch
};

// 32-bit: EIP 20h, EFLAGS 24h, EAX..EDI 28h-44h, ES..GS 48h-5Ch, LDT 60h.
constexpr TssLayout kTss32{0x20, 0x24, 0x28, 0x48, 0x60, 4, 4, 6, 0x67, 0x20, 0x5f};
// 16-bit: IP 0Eh, FLAGS 10h, AX..DI 12h-20h, ES..DS 22h-28h, LDT 2Ah. Its
// size is 2Ch bytes, so the smallest usable limit is 2Bh (Table 6-6 says
// "less than 2CH"; a 44-byte TSS has limit 2Bh, the value KVM checks too).
constexpr TssLayout kTss16{0x0e, 0x10, 0x12, 0x22, 0x2a, 2, 2, 4, 0x2b, 0x0e, 0x29};
constexpr uint32_t TSS32_CR3 = 0x1c, TSS32_T = 0x64;

bool is_32bit_tss_type(uint8_t type) { return type & 8; }
const TssLayout& layout_of(uint8_t type) { return is_32bit_tss_type(type) ? kTss32 : kTss16; }

bool is_tss(uint64_t d) {
  if (desc::code_or_data(d)) return false;
  const uint8_t t = desc::type(d);
  return t == desc::TSS_AVAIL || t == desc::TSS_BUSY || t == desc::TSS16_AVAIL ||
         t == desc::TSS16_BUSY;
}
bool tss_busy(uint64_t d) { return d & desc::BUSY_BIT; }

// Linear addresses are 32 bits wide outside IA-32e mode.
uint64_t tss_linear(uint64_t base, uint32_t off) { return (base + off) & 0xffffffffull; }

// The state a TSS holds for its task.
struct TaskImage {
  uint32_t eip = 0, eflags = 0, cr3 = 0;
  uint32_t gpr[8] = {};
  uint16_t seg[6] = {};
  uint16_t ldt = 0;
  bool trap = false;  // T flag (32-bit TSS only)
};

TaskImage read_task_image(Cpu& cpu, uint64_t base, const TssLayout& l) {
  TaskImage t;
  const auto rd = [&](uint32_t off, unsigned size) {
    return uint32_t(cpu.read_sys(tss_linear(base, off), size));
  };
  t.eip = rd(l.eip, l.width);
  t.eflags = rd(l.eflags, l.width);
  for (unsigned i = 0; i < 8; ++i) t.gpr[i] = rd(l.gpr + i * l.width, l.width);
  for (unsigned i = 0; i < l.nsegs; ++i) t.seg[i] = uint16_t(rd(l.seg + i * l.seg_stride, 2));
  t.ldt = uint16_t(rd(l.ldt, 2));
  if (&l == &kTss32) {
    t.cr3 = rd(TSS32_CR3, 4);
    t.trap = rd(TSS32_T, 2) & 1;
  }
  return t;
}

// Saves the dynamic fields of the current task (SDM 7.2.1: general-purpose
// registers, segment selectors, EFLAGS, EIP). The static fields (LDT, CR3,
// T, I/O map base, stacks) are not written.
void save_task_image(Cpu& cpu, uint64_t base, const TssLayout& l, uint64_t eip, uint64_t eflags) {
  const auto wr = [&](uint32_t off, unsigned size, uint64_t v) {
    cpu.write_sys(tss_linear(base, off), size, v);
  };
  wr(l.eip, l.width, eip);
  wr(l.eflags, l.width, eflags);
  for (unsigned i = 0; i < 8; ++i) wr(l.gpr + i * l.width, l.width, cpu.s.gpr[i]);
  for (unsigned i = 0; i < l.nsegs; ++i) wr(l.seg + i * l.seg_stride, 2, cpu.s.seg[i].sel);
}

void probe_range(Cpu& cpu, uint64_t base, uint32_t lo, uint32_t hi) {
  for (uint32_t off = lo; off <= hi; off += 8) {
    const unsigned size = hi - off + 1 < 8 ? hi - off + 1 : 8;
    cpu.probe_write_lin(tss_linear(base, off), size, false);
  }
}

// The type byte of a GDT descriptor with the busy bit set or cleared.
void write_busy(Cpu& cpu, uint16_t sel, uint64_t d, bool busy) {
  const uint64_t v = busy ? (d | desc::BUSY_BIT) : (d & ~desc::BUSY_BIT);
  cpu.write_sys(descriptor_address(cpu, sel) + 5, 1, (v >> 40) & 0xff);
}

// ---- loading the new task's segments -------------------------------------------

// A descriptor named by a selector from the new TSS: `valid` when the
// selector is not null and lies inside its table.
struct Named {
  uint16_t sel;
  bool valid = false;
  uint64_t d = 0;
};

Named fetch_descriptor(Cpu& cpu, uint16_t sel) {
  Named n{sel};
  if (null_selector(sel)) return n;
  uint32_t limit;
  if (sel & 4) {
    if (cpu.s.ldtr.attr & ar::UNUSABLE) return n;
    limit = cpu.s.ldtr.limit;
  } else {
    limit = cpu.s.gdtr.limit;
  }
  if ((sel | 7u) > limit) return n;
  n.valid = true;
  n.d = cpu.read_sys(descriptor_address(cpu, sel), 8);
  return n;
}

[[noreturn]] void invalid_tss(Cpu& cpu, uint16_t sel) { cpu.raise(vec::TS, selector_error(sel)); }

// The LDT of the new task: null leaves LDTR unusable; otherwise a GDT
// selector for an LDT descriptor (#TS(LDT selector)).
Named load_task_ldt(Cpu& cpu, uint16_t sel) {
  if (null_selector(sel)) {
    cpu.s.ldtr = null_segment(sel, 0);
    return Named{sel};
  }
  if (sel & 4) invalid_tss(cpu, sel);
  Named n = fetch_descriptor(cpu, sel);
  if (!n.valid || !desc::system_type(n.d, desc::LDT)) invalid_tss(cpu, sel);
  cpu.s.ldtr = Cpu::segment_from_descriptor(sel, n.d);
  return n;
}

bool data_segment_readable(uint64_t d) { return desc::code_or_data(d) && desc::readable(d); }

// DS/ES/FS/GS of the new task, each check over all of them in turn, in the
// order of SDM Table 7-1 (valid, readable, present, DPL).
void load_task_data_segments(Cpu& cpu, const TaskImage& t, unsigned nsegs) {
  static constexpr uint8_t kOrder[4] = {DS, ES, FS, GS};
  Named n[4];
  unsigned count = 0;
  for (uint8_t seg : kOrder) {
    if (seg >= nsegs) continue;  // a 16-bit TSS has no FS/GS: they are left as they are
    n[count++] = fetch_descriptor(cpu, t.seg[seg]);
  }
  const uint8_t cpl = cpu.s.cpl;
  for (unsigned i = 0; i < count; ++i)
    if (!null_selector(n[i].sel) && !n[i].valid) invalid_tss(cpu, n[i].sel);
  for (unsigned i = 0; i < count; ++i)
    if (n[i].valid && !data_segment_readable(n[i].d)) invalid_tss(cpu, n[i].sel);
  for (unsigned i = 0; i < count; ++i)
    if (n[i].valid && !desc::present(n[i].d)) cpu.raise(vec::NP, selector_error(n[i].sel));
  for (unsigned i = 0; i < count; ++i) {
    if (!n[i].valid || desc::conforming(n[i].d)) continue;
    if (desc::dpl(n[i].d) < cpl || desc::dpl(n[i].d) < (n[i].sel & 3)) invalid_tss(cpu, n[i].sel);
  }
  unsigned i = 0;
  for (uint8_t seg : kOrder) {
    if (seg >= nsegs) continue;
    const Named& x = n[i++];
    if (!x.valid) {
      cpu.s.seg[seg] = null_segment(x.sel, 0);
      continue;
    }
    cpu.set_descriptor_accessed(x.sel, x.d);
    cpu.s.seg[seg] = Cpu::segment_from_descriptor(x.sel, x.d | (uint64_t(desc::TYPE_ACCESSED) << 40));
  }
}

// CS, SS and the LDT of a protected-mode task, checked in the order of SDM
// Table 7-1 (its rows 5-13); CPL becomes CS.RPL.
void load_task_segments(Cpu& cpu, const TaskImage& t, unsigned nsegs) {
  const uint16_t cs = t.seg[CS], ss = t.seg[SS];
  const uint8_t cpl = cs & 3;
  cpu.s.cpl = cpl;
  const Named ldt = load_task_ldt(cpu, t.ldt);              // 5: LDT selector valid
  const Named c = fetch_descriptor(cpu, cs);
  const bool cs_code = c.valid && desc::is_code(c.d);
  if (cs_code && (desc::conforming(c.d) ? desc::dpl(c.d) > cpl : desc::dpl(c.d) != cpl))
    invalid_tss(cpu, cs);                                     // 6: CS DPL vs RPL
  const Named s = fetch_descriptor(cpu, ss);
  if (!s.valid || !desc::writable_data(s.d)) invalid_tss(cpu, ss);  // 7: SS valid
  if (!desc::present(s.d)) cpu.raise(vec::SS, selector_error(ss));  // 8: SS present
  if (desc::dpl(s.d) != cpl) invalid_tss(cpu, ss);                   // 9: SS DPL = CPL
  if (ldt.valid && !desc::present(ldt.d)) invalid_tss(cpu, t.ldt);   // 10: LDT present
  if (!cs_code) invalid_tss(cpu, cs);                                // 11: CS valid
  if (!desc::present(c.d)) cpu.raise(vec::NP, selector_error(cs));   // 12: CS present
  if ((ss & 3) != cpl) invalid_tss(cpu, ss);                         // 13: SS RPL = CPL
  cpu.set_descriptor_accessed(cs, c.d);
  cpu.load_cs_from_descriptor(cs, c.d, cpl);
  load_ss_checked(cpu, ss, s.d);
  load_task_data_segments(cpu, t, nsegs);                            // 14-17
}

// A virtual-8086 task (EFLAGS.VM = 1 in a 32-bit TSS): 8086-style segments
// at CPL 3 (SDM 20.2.5).
void load_v86_task_segments(Cpu& cpu, const TaskImage& t) {
  const Named ldt = load_task_ldt(cpu, t.ldt);
  if (ldt.valid && !desc::present(ldt.d)) invalid_tss(cpu, t.ldt);
  for (uint8_t seg : {ES, CS, SS, DS, FS, GS}) cpu.load_real_segment(seg, t.seg[seg]);
  cpu.s.cpl = 3;
  cpu.update_mode();
}

// Selectors first: a fault while the descriptors are qualified finds the
// new selectors in place, each hidden part still the old task's until its
// descriptor is loaded (SDM 7.3 step 12 leaves those parts unspecified;
// KVM's task-switch emulation behaves the same way, and the exception can
// still be delivered on the old stack segment's limits).
void place_selectors(Cpu& cpu, const TaskImage& t, unsigned nsegs) {
  for (unsigned i = 0; i < nsegs; ++i) cpu.s.seg[i].sel = t.seg[i];
  cpu.s.ldtr.sel = t.ldt;
}

// EFLAGS bits a TSS can load: all defined ones (SDM Vol. 1 3.4.3); a
// 16-bit TSS holds only FLAGS, the upper half is cleared.
constexpr uint64_t EFLAGS_DEFINED = 0x3f7fd5;

// ---- the switch ------------------------------------------------------------------

// What a switch works on, gathered before its commit point.
struct SwitchPlan {
  uint16_t new_sel;
  uint64_t new_d;
  const TssLayout* nl;  // the new TSS's format
  const TssLayout* ol;  // the old TSS's format
  SegReg old_tr;
  bool old_in_gdt;      // TR names a GDT descriptor (it was loaded by LTR or a switch)
  uint64_t old_d;
  TaskSwitchReason reason;
  bool nesting;         // CALL, interrupt or exception: link and NT
};

// Before the commit point (SDM 7.3 steps 3-5): the new TSS's limit, its
// image read, and every write of the switch probed, so a fault leaves the
// old task untouched.
SwitchPlan prepare_switch(Cpu& cpu, uint16_t new_sel, uint64_t new_d, TaskSwitchReason reason,
                          TaskImage& t) {
  SwitchPlan p{new_sel, new_d, &layout_of(desc::type(new_d)), nullptr, cpu.s.tr, false, 0, reason,
               reason == TaskSwitchReason::Call || reason == TaskSwitchReason::Event};
  if (desc::limit(new_d) < p.nl->min_limit) invalid_tss(cpu, new_sel);
  p.ol = &layout_of(p.old_tr.attr & ar::TYPE_MASK);
  const uint64_t new_base = desc::base(new_d);
  t = read_task_image(cpu, new_base, *p.nl);
  probe_range(cpu, p.old_tr.base, p.ol->dyn_lo, p.ol->dyn_hi);
  if (p.nesting) cpu.probe_write_lin(tss_linear(new_base, 0), 2, false);
  // The old TSS's descriptor, whose busy bit a JMP or IRET clears (TR
  // never loaded: no descriptor to update).
  p.old_in_gdt = !null_selector(p.old_tr.sel) && !(p.old_tr.sel & 4);
  if (p.old_in_gdt) {
    p.old_d = cpu.read_sys(descriptor_address(cpu, p.old_tr.sel), 8);
    cpu.probe_write_lin(descriptor_address(cpu, p.old_tr.sel) + 5, 1, false);
  }
  cpu.probe_write_lin(descriptor_address(cpu, new_sel) + 5, 1, false);
  return p;
}

// The commit (SDM 7.3 steps 6-11, Table 7-2): busy bits, the old task's
// dynamic state, the link, TR and CR0.TS. Returns the new EFLAGS.
uint64_t commit_switch(Cpu& cpu, const SwitchPlan& p, const TaskImage& t, uint64_t return_eip,
                       uint64_t old_eflags) {
  const bool leaves_old = p.reason == TaskSwitchReason::Jmp || p.reason == TaskSwitchReason::Iret;
  if (p.old_in_gdt && leaves_old) write_busy(cpu, p.old_tr.sel, p.old_d, false);
  uint64_t saved_flags = old_eflags;
  if (p.reason == TaskSwitchReason::Iret) saved_flags &= ~fl::NT;
  save_task_image(cpu, p.old_tr.base, *p.ol, return_eip, saved_flags);
  uint64_t new_flags = (t.eflags & (p.nl->width == 4 ? EFLAGS_DEFINED : 0x7fd5)) | fl::FIXED1;
  if (p.nesting) {
    cpu.write_sys(tss_linear(desc::base(p.new_d), 0), 2, p.old_tr.sel);  // previous-task link
    new_flags |= fl::NT;
  }
  if (p.reason != TaskSwitchReason::Iret) write_busy(cpu, p.new_sel, p.new_d, true);
  cpu.s.tr = Cpu::segment_from_descriptor(p.new_sel, p.new_d | desc::BUSY_BIT);
  // Every task switch sets CR0.TS (SDM 2.5, 7.3 "the TS flag ... is set").
  cpu.s.cr0 |= cr0::TS;
  return new_flags;
}

// The new task's registers (step 12): CR3 (a 32-bit TSS with paging on),
// EFLAGS, EIP, the general-purpose registers, and the debug effects.
void load_task_registers(Cpu& cpu, const SwitchPlan& p, const TaskImage& t, uint64_t new_flags) {
  if (p.nl->width == 4 && (cpu.s.cr0 & cr0::PG)) {
    cpu.s.cr3 = t.cr3;
    cpu.flush_tlb();
  }
  const uint64_t flags_before = cpu.s.rflags;
  cpu.s.rflags = new_flags;
  cpu.s.rip = t.eip;
  cpu.next_rip = t.eip;
  for (unsigned i = 0; i < 8; ++i) {
    // A 16-bit TSS loads the low 16 bits; the SDM leaves the upper halves
    // unspecified and softvt keeps them.
    if (p.nl->width == 4) cpu.s.gpr[i] = t.gpr[i];
    else cpu.set_reg(uint8_t(i), 2, t.gpr[i]);
  }
  // Local breakpoint enables are cleared on every task switch (SDM 17.2.4).
  cpu.s.dr[7] &= ~(dr7::L_BITS | dr7::LE);
  debug_registers_changed(cpu);
  if (t.trap) cpu.dbg.pending |= dr6::BT;  // SDM 17.3.1.5
  // An instruction that switched tasks single-steps by the TF it left (an
  // event through a task gate is noted by its delivery).
  if (p.reason != TaskSwitchReason::Event) debug_note_control_transfer(cpu, flags_before);
  cpu.end_block = true;
}

void switch_tasks(Cpu& cpu, uint16_t new_sel, uint64_t new_d, TaskSwitchReason reason,
                  uint64_t return_eip, uint64_t old_eflags) {
  TaskImage t;
  const SwitchPlan p = prepare_switch(cpu, new_sel, new_d, reason, t);
  const uint64_t new_flags = commit_switch(cpu, p, t, return_eip, old_eflags);
  load_task_registers(cpu, p, t, new_flags);
  // Segments last: faults here belong to the new task.
  place_selectors(cpu, t, p.nl->nsegs);
  cpu.update_mode();
  if (new_flags & fl::VM) load_v86_task_segments(cpu, t);
  else load_task_segments(cpu, t, p.nl->nsegs);
}

// After the switch: the new EIP must lie inside the new CS (SDM Vol. 2
// JMP/CALL/IRET "IF EIP not within code segment limit THEN #GP(0)").
void check_new_eip(Cpu& cpu) {
  if (cpu.s.rip > cpu.s.seg[CS].limit) cpu.raise_gp0();
}

// The TSS descriptor a task gate names (SDM Vol. 2 JMP/CALL/INT n
// "TASK-GATE"): in the GDT, an available TSS, present.
uint64_t tss_of_gate(Cpu& cpu, uint16_t tss_sel) {
  if (tss_sel & 4) cpu.raise(vec::GP, selector_error(tss_sel));
  const uint64_t d = cpu.read_descriptor(tss_sel, vec::GP);
  if (!is_tss(d) || tss_busy(d)) cpu.raise(vec::GP, selector_error(tss_sel));
  if (!desc::present(d)) cpu.raise(vec::NP, selector_error(tss_sel));
  return d;
}

}  // namespace

void far_task_transfer(Cpu& cpu, uint16_t sel, uint64_t d, TaskSwitchReason reason,
                       uint64_t return_eip) {
  const uint32_t err = selector_error(sel);
  // The gate's or TSS's DPL must admit both CPL and RPL (SDM 7.3 step 2).
  if (desc::dpl(d) < cpu.s.cpl || desc::dpl(d) < (sel & 3)) cpu.raise(vec::GP, err);
  uint16_t tss_sel = sel;
  uint64_t tss_d = d;
  if (desc::system_type(d, desc::TASK_GATE)) {
    if (!desc::present(d)) cpu.raise(vec::NP, err);
    tss_sel = desc::gate_selector(d);
    tss_d = tss_of_gate(cpu, tss_sel);
  } else {
    // A TSS descriptor is valid only in the GDT and only when available.
    if ((sel & 4) || tss_busy(d)) cpu.raise(vec::GP, err);
    if (!desc::present(d)) cpu.raise(vec::NP, err);
  }
  // VMX non-root: a task switch exits after these checks (SDM Vol. 3C 27.2).
  if (cpu.vmx.non_root)
    return vmx::task_switch_exit(cpu, tss_sel, reason == TaskSwitchReason::Call ? vmx::task_source::CALL
                                                                               : vmx::task_source::JMP,
                                 unsigned(return_eip - cpu.s.rip));
  // SVM: the task-switch intercept, before the switch (APM "Task Switch Intercept").
  if (cpu.svm.guest_mode &&
      svm::intercept_task_switch(cpu, tss_sel, false, reason == TaskSwitchReason::Jmp, false, 0, true))
    return;
  switch_tasks(cpu, tss_sel, tss_d, reason, return_eip, cpu.s.rflags);
  check_new_eip(cpu);
}

void task_return(Cpu& cpu, uint64_t return_eip) {
  // The previous-task link of the current TSS must name a busy TSS in the
  // GDT (SDM Vol. 2 IRET "TASK-RETURN", Table 6-6).
  const uint16_t link = uint16_t(cpu.read_sys(tss_linear(cpu.s.tr.base, 0), 2));
  if ((link & 4) || null_selector(link)) invalid_tss(cpu, link);
  const uint64_t d = cpu.read_descriptor(link, vec::TS);
  if (!is_tss(d) || !tss_busy(d)) invalid_tss(cpu, link);
  if (!desc::present(d)) cpu.raise(vec::NP, selector_error(link));
  if (cpu.vmx.non_root)
    return vmx::task_switch_exit(cpu, link, vmx::task_source::IRET, unsigned(return_eip - cpu.s.rip));
  if (cpu.svm.guest_mode && svm::intercept_task_switch(cpu, link, true, false, false, 0, true)) return;
  switch_tasks(cpu, link, d, TaskSwitchReason::Iret, return_eip, cpu.s.rflags);
  check_new_eip(cpu);
}

void task_gate_event(Cpu& cpu, uint64_t gate, const TaskGateEvent& e) {
  const uint16_t tss_sel = desc::gate_selector(gate);
  const uint64_t d = tss_of_gate(cpu, tss_sel);
  if (cpu.svm.guest_mode && svm::intercept_task_switch(cpu, tss_sel, false, false, e.push_error, e.error, false))
    return;
  switch_tasks(cpu, tss_sel, d, TaskSwitchReason::Event, e.saved_eip, e.saved_eflags);
  // The error code goes on the new task's stack, a word for a 16-bit TSS
  // (SDM 6.12.2, Vol. 2 INT n "TASK-GATE").
  if (e.push_error) cpu.push(e.error, is_32bit_tss_type(desc::type(d)) ? 4 : 2);
  check_new_eip(cpu);
}

}  // namespace softvt
