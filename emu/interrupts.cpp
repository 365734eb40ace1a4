// Event delivery through the IVT (real mode) and the IDT (protected and
// long mode), with the double-fault and triple-fault rules (SDM Vol. 3A
// chapter 6, Vol. 2 "INT n/INTO/INT3/INT1" operation).
#include "emu/segments.h"
#include "emu/task_switch.h"
#include "svm/intercepts.h"
#include "vmx/nonroot.h"

namespace softvt {
namespace {

struct Event {
  uint8_t vector;
  EventType type;
  uint32_t error;  // NO_ERROR_CODE when none
  uint64_t next;   // return address pushed (fault: the instruction itself)
  // SVM's EVENTINJ (AMD APM Vol. 2 15.20): the event pushes an error code
  // iff EV = 1 ("set to 1 if the exception should push an error code"),
  // whatever its vector or type; without EV `error` is NO_ERROR_CODE.
  bool injected = false;
};

// INT n, INT3 and INTO are "software interrupts" for the gate-DPL check and
// the EXT bit; INT1 (ICEBP) is not (SDM Vol. 2 INT n, 6.13).
bool from_software(EventType t) {
  return t == EventType::SoftwareInterrupt || t == EventType::SoftwareException;
}

// The EXT bit of error codes for faults raised while delivering an event
// external to the program (SDM 6.13).
uint32_t ext_bit(EventType t) { return from_software(t) ? 0 : 1; }

// Exceptions that push an error code (SDM Table 6-1): #DF, #TS, #NP, #SS,
// #GP, #PF, #AC, #CP. Only hardware exceptions push one; INT n with these
// vector numbers does not (SDM 6.13). An SVM-injected event: per EV.
bool pushes_error_code(const Event& e) {
  if (e.injected) return e.error != NO_ERROR_CODE;
  if (e.type != EventType::HardwareException) return false;
  switch (e.vector) {
    case vec::DF: case vec::TS: case vec::NP: case vec::SS: case vec::GP: case vec::PF:
    case vec::AC: case vec::CP: return true;
    default: return false;
  }
}

uint32_t error_value(const Event& e) { return e.error == NO_ERROR_CODE ? 0 : e.error; }

// Fault-class exceptions push RF = 1 (SDM 17.3.1.1, "When calling an event
// handler ... for any fault-class exception ... the value pushed for RF is
// 1"). #DB is not in the list: its traps and the instruction-breakpoint
// fault push the current RF; the general-detect fault sets RF before it is
// raised (emu/debug.cpp).
bool fault_class(const Event& e) {
  if (e.type != EventType::HardwareException) return false;
  switch (e.vector) {
    case vec::DE: case vec::BR: case vec::UD: case vec::NM: case vec::TS: case vec::NP:
    case vec::SS: case vec::GP: case vec::PF: case vec::MF: case vec::AC: case vec::XM:
    case vec::VE: case vec::CP: return true;
    default: return false;
  }
}

uint64_t pushed_rflags(const Cpu& cpu, const Event& e) {
  return fault_class(e) ? (cpu.s.rflags | fl::RF) : cpu.s.rflags;
}

// ---- real mode (SDM 20.1.4, Vol. 2 INT n "REAL-ADDRESS-MODE") -------------

void deliver_real(Cpu& cpu, const Event& e) {
  const uint64_t at = uint64_t(e.vector) * 4;
  if (at + 3 > cpu.s.idtr.limit) cpu.raise_gp0();
  const uint32_t entry = uint32_t(cpu.read_sys((cpu.s.idtr.base + at) & 0xffffffffull, 4));
  // Three 16-bit pushes on the current stack; #SS if they leave the limit.
  StackFrame frame(cpu, cpu.s.seg[SS], cpu.s.stack_size, cpu.s.gpr[RSP], false, 0);
  frame.push(cpu.s.rflags & 0xffff, 2);
  frame.push(cpu.s.seg[CS].sel, 2);
  frame.push(e.next & 0xffff, 2);
  cpu.s.gpr[RSP] = frame.write();
  cpu.s.rflags &= ~(fl::IF | fl::TF | fl::AC);
  cpu.load_real_segment(CS, uint16_t(entry >> 16));
  cpu.s.rip = entry & 0xffff;
  cpu.end_block = true;
}

// ---- the IDT gate and the handler's code segment ---------------------------

struct Gate {
  uint64_t lo, hi;
  uint8_t type;
};

Gate read_gate(Cpu& cpu, const Event& e, uint32_t ext) {
  const bool ia32e = cpu.long_mode();
  const uint32_t idt_err = uint32_t(e.vector) * 8 + 2 + ext;  // IDT bit set
  const uint64_t size = ia32e ? 16 : 8;
  const uint64_t at = uint64_t(e.vector) * size;
  if (at + size - 1 > cpu.s.idtr.limit) cpu.raise(vec::GP, idt_err);
  Gate g{};
  const uint64_t lin = cpu.s.idtr.base + at;
  g.lo = cpu.read_sys(ia32e ? lin : (lin & 0xffffffffull), 8);
  if (ia32e) g.hi = cpu.read_sys(lin + 8, 8);
  g.type = desc::type(g.lo);
  bool valid;
  if (desc::code_or_data(g.lo)) valid = false;
  else if (ia32e) valid = g.type == desc::INT_GATE || g.type == desc::TRAP_GATE;
  else
    valid = g.type == desc::TASK_GATE || g.type == desc::INT_GATE16 ||
            g.type == desc::TRAP_GATE16 || g.type == desc::INT_GATE || g.type == desc::TRAP_GATE;
  if (!valid) cpu.raise(vec::GP, idt_err);
  // Only INT n / INT3 / INTO check the gate's DPL, without EXT (SDM 6.12.1.1).
  if (from_software(e.type) && desc::dpl(g.lo) < cpu.s.cpl)
    cpu.raise(vec::GP, uint32_t(e.vector) * 8 + 2);
  if (!desc::present(g.lo)) cpu.raise(vec::NP, idt_err);
  return g;
}

// The handler's code segment (SDM Vol. 2 INT n "TRAP-OR-INTERRUPT-GATE").
uint64_t read_handler_cs(Cpu& cpu, uint16_t sel, uint32_t ext) {
  if (null_selector(sel)) cpu.raise(vec::GP, ext);
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  if (!desc::is_code(d) || desc::dpl(d) > cpu.s.cpl) cpu.raise(vec::GP, selector_error(sel) | ext);
  if (!desc::present(d)) cpu.raise(vec::NP, selector_error(sel) | ext);
  return d;
}

void clear_flags_on_entry(Cpu& cpu, const Gate& g) {
  uint64_t clear = fl::TF | fl::NT | fl::RF | fl::VM;
  // Interrupt gates also clear IF; trap gates leave it (SDM 6.12.1.3).
  if (g.type == desc::INT_GATE || g.type == desc::INT_GATE16) clear |= fl::IF;
  cpu.s.rflags &= ~clear;
}

// ---- protected mode and virtual-8086 mode ---------------------------------

void deliver_protected(Cpu& cpu, const Event& e) {
  const uint32_t ext = ext_bit(e.type);
  // In virtual-8086 mode INT n is IOPL-sensitive (no VME: CPUID does not
  // report it): IOPL < 3 -> #GP(0) (SDM 20.2.7, Vol. 2 INT n).
  if ((cpu.s.rflags & fl::VM) && e.type == EventType::SoftwareInterrupt &&
      ((cpu.s.rflags & fl::IOPL) >> 12) < 3)
    cpu.raise_gp0();
  const Gate g = read_gate(cpu, e, ext);
  if (g.type == desc::TASK_GATE) {
    // A task switch instead of a handler call (SDM 6.12.2). The old task
    // saves the EIP and EFLAGS image an interrupt gate would push. VMX
    // non-root: the task switch exits instead (SDM Vol. 3C 27.2).
    if (cpu.vmx.non_root)
      return vmx::task_switch_exit_idt(cpu, desc::gate_selector(g.lo), e.vector, unsigned(e.type),
                                       pushes_error_code(e) ? error_value(e) : NO_ERROR_CODE,
                                       unsigned(e.next - cpu.s.rip));
    task_gate_event(cpu, g.lo,
                    TaskGateEvent{e.next, pushed_rflags(cpu, e), pushes_error_code(e), error_value(e)});
    return;
  }
  const uint16_t cs_sel = desc::gate_selector(g.lo);
  const uint64_t cd = read_handler_cs(cpu, cs_sel, ext);
  const bool inner = !desc::conforming(cd) && desc::dpl(cd) < cpu.s.cpl;
  const bool v86 = cpu.s.rflags & fl::VM;
  // From virtual-8086 mode the handler must be a non-conforming DPL-0 code
  // segment (SDM 20.3.1.1).
  if (v86 && (!inner || desc::dpl(cd) != 0)) cpu.raise(vec::GP, selector_error(cs_sel) | ext);
  const uint8_t new_cpl = inner ? desc::dpl(cd) : cpu.s.cpl;
  const bool gate32 = g.type & 8;
  const unsigned slot = gate32 ? 4 : 2;
  const uint64_t target = gate32 ? desc::gate_offset32(g.lo) : (g.lo & 0xffff);

  SegReg new_ss = cpu.s.seg[SS];
  uint16_t new_ss_sel = new_ss.sel;
  uint64_t new_ss_desc = 0;
  uint64_t base_sp = cpu.s.gpr[RSP];
  uint32_t ss_err = ext;
  if (inner) {
    const TssStack st = tss_stack_legacy(cpu, new_cpl, ext);
    new_ss_desc = check_new_stack_segment(cpu, st.ss, new_cpl, ext);
    new_ss = Cpu::segment_from_descriptor(st.ss, new_ss_desc);
    new_ss_sel = st.ss;
    base_sp = st.sp;
    ss_err = selector_error(st.ss) | ext;
  }
  const unsigned addr_size = (new_ss.attr & ar::DB) ? 4 : 2;
  StackFrame frame(cpu, new_ss, addr_size, base_sp, new_cpl == 3, ss_err);
  if (v86) {
    for (uint8_t sg : {GS, FS, DS, ES}) frame.push(cpu.s.seg[sg].sel, slot);
  }
  if (inner) {
    frame.push(cpu.s.seg[SS].sel, slot);  // a 16-bit selector padded to the slot
    frame.push(cpu.s.gpr[RSP] & mask_of_size(slot), slot);
  }
  frame.push(pushed_rflags(cpu, e) & mask_of_size(slot), slot);
  frame.push(cpu.s.seg[CS].sel, slot);
  frame.push(e.next & mask_of_size(slot), slot);
  if (pushes_error_code(e)) frame.push(error_value(e), slot);
  frame.check();
  if (target > desc::limit(cd)) cpu.raise(vec::GP, ext);
  const uint64_t new_sp = frame.write();

  // Everything that can fault has been done: commit.
  if (inner) {
    load_ss_checked(cpu, new_ss_sel, new_ss_desc);
  }
  cpu.set_descriptor_accessed(cs_sel, cd);
  if (v86) {
    for (uint8_t sg : {ES, DS, FS, GS}) cpu.s.seg[sg] = null_segment(0, 0);
  }
  cpu.s.gpr[RSP] = new_sp;
  clear_flags_on_entry(cpu, g);
  cpu.load_cs_from_descriptor(cs_sel, cd, new_cpl);
  cpu.s.rip = target;
}

// ---- IA-32e mode (SDM 6.14) ------------------------------------------------

void deliver_long(Cpu& cpu, const Event& e) {
  const uint32_t ext = ext_bit(e.type);
  const Gate g = read_gate(cpu, e, ext);
  const uint16_t cs_sel = desc::gate_selector(g.lo);
  const uint64_t cd = read_handler_cs(cpu, cs_sel, ext);
  // The handler must run in 64-bit mode: L = 1, D = 0 (SDM 6.14.1).
  if (!desc::long_bit(cd) || desc::db_bit(cd)) cpu.raise(vec::GP, selector_error(cs_sel) | ext);
  const bool inner = !desc::conforming(cd) && desc::dpl(cd) < cpu.s.cpl;
  const uint8_t new_cpl = inner ? desc::dpl(cd) : cpu.s.cpl;
  const unsigned ist = desc::gate_ist(g.lo);
  // A privilege change takes RSPn from the TSS; a non-zero IST always
  // switches to that stack (SDM 6.14.4, 6.14.5).
  uint64_t rsp = cpu.s.gpr[RSP];
  if (inner || ist) rsp = tss_stack_64(cpu, new_cpl, ist, ext);
  // The new RSP is aligned to 16 bytes before the frame is pushed, and
  // SS:RSP is pushed unconditionally (SDM 6.14.2).
  rsp &= ~uint64_t(0xf);
  const uint64_t target = desc::gate_offset64(g.lo, g.hi);
  StackFrame frame(cpu, cpu.s.seg[SS], 8, rsp, new_cpl == 3, ext);
  frame.push(cpu.s.seg[SS].sel, 8);
  frame.push(cpu.s.gpr[RSP], 8);
  frame.push(pushed_rflags(cpu, e), 8);
  frame.push(cpu.s.seg[CS].sel, 8);
  frame.push(e.next, 8);
  if (pushes_error_code(e)) frame.push(error_value(e), 8);
  frame.check();
  if (!is_canonical(cpu, target)) cpu.raise(vec::GP, ext);
  const uint64_t new_rsp = frame.write();

  cpu.set_descriptor_accessed(cs_sel, cd);
  // On a privilege change SS becomes a null selector whose RPL is the new
  // CPL (SDM 6.14.4).
  if (inner) cpu.s.seg[SS] = null_segment(new_cpl, new_cpl);
  cpu.s.gpr[RSP] = new_rsp;
  clear_flags_on_entry(cpu, g);
  cpu.load_cs_from_descriptor(cs_sel, cd, new_cpl);
  cpu.s.rip = target;
}

void deliver_once(Cpu& cpu, const Event& e) {
  if (cpu.s.mode == Mode::Real) deliver_real(cpu, e);
  else if (cpu.long_mode()) deliver_long(cpu, e);
  else deliver_protected(cpu, e);
  cpu.end_block = true;
}

// Exception classes for the double-fault rules (SDM 6.15, Table 6-4).
enum class Klass { Benign, Contributory, PageFault };

Klass klass_of(uint8_t vector, EventType type) {
  if (type != EventType::HardwareException) return Klass::Benign;
  switch (vector) {
    case vec::DE: case vec::TS: case vec::NP: case vec::SS: case vec::GP: return Klass::Contributory;
    case vec::PF: case vec::VE: return Klass::PageFault;
    default: return Klass::Benign;
  }
}

// SDM Table 6-5: which second exception turns into #DF.
bool makes_double_fault(Klass first, Klass second) {
  if (first == Klass::Contributory) return second == Klass::Contributory;
  if (first == Klass::PageFault) return second != Klass::Benign;
  return false;
}

std::string describe(uint8_t vector, uint32_t error) {
  std::string s = "vector " + std::to_string(vector);
  if (error != NO_ERROR_CODE) s += " error " + std::to_string(error);
  return s;
}

}  // namespace

namespace {
// Records the event being delivered (Cpu::delivering) for the duration of
// one delivery attempt; a second-level VM exit inside it reads it.
struct DeliveryRecord {
  DeliveryRecord(Cpu& c, const Event& e) : cpu(c), saved(c.delivering) {
    cpu.delivering = Cpu::EventInDelivery{true, e.vector, e.type, e.error, e.next};
  }
  ~DeliveryRecord() { cpu.delivering = saved; }
  Cpu& cpu;
  Cpu::EventInDelivery saved;
};
void deliver_recorded(Cpu& cpu, const Event& e) {
  DeliveryRecord record(cpu, e);
  deliver_once(cpu, e);
}
}  // namespace

void Cpu::deliver_event(uint8_t vector, EventType type, uint32_t error_code, uint64_t next) {
  Event e{vector, type, error_code, next, svm.injecting};
  if (tracer) tracer->interrupt(*this, vector, type);
  const uint64_t flags_before = s.rflags;
  // VMX non-root: INT3/INTO/INT1 exit when the exception bitmap says so.
  if (vmx.non_root && !vmx.injecting &&
      (type == EventType::SoftwareException || type == EventType::PrivilegedSoftware) &&
      vmx::intercept_software_exception(*this, vector, unsigned(type), unsigned(next - s.rip)))
    return;
  // SVM guest mode: exception intercepts of #DB traps, INT3, INTO, INT1;
  // the event in delivery for EXITINTINFO (APM 15.12, 15.7.2).
  if (svm.guest_mode && svm::intercept_event(*this, vector, type, error_code, next)) return;
  if (from_software(type)) {
    // A fault while delivering INT n / INT3 / INTO is reported on the
    // instruction itself, as an ordinary exception.
    deliver_recorded(*this, e);
    debug_note_control_transfer(*this, flags_before);
    return;
  }
  // Delivery can fault only with #GP/#NP/#SS/#TS/#PF, so the rules below
  // reach #DF and then shutdown within a few rounds; the bound is a guard.
  for (int round = 0; round < 8; ++round) {
    try {
      deliver_recorded(*this, e);
      if (type == EventType::PrivilegedSoftware) debug_note_control_transfer(*this, flags_before);
      return;
    } catch (const GuestException& f) {
      GuestException second = f;
      // Selector-format error codes of faults during the delivery of an
      // event external to the program carry EXT = 1 (SDM 6.13).
      if (second.error_code != NO_ERROR_CODE &&
          (second.vector == vec::TS || second.vector == vec::NP || second.vector == vec::SS ||
           second.vector == vec::GP))
        second.error_code |= 1;
      if (tracer) tracer->exception(*this, second);
      // VMX non-root: the exception bitmap may exit, with the event being
      // delivered as IDT-vectoring information (SDM Vol. 3C 28.2.4).
      if (vmx.non_root &&
          vmx::intercept_exception_in_delivery(*this, second, e.vector, unsigned(e.type), e.error))
        return;
      if (svm.guest_mode && svm::intercept_exception_in_delivery(*this, second, e.vector, e.type, e.error))
        return;
      if (second.vector == vec::PF) s.cr2 = second.cr2;
      if (e.vector == vec::DF && e.type == EventType::HardwareException) {
        // A fault while delivering #DF: shutdown (SDM 6.15 "Interrupt 8").
        shutdown("triple fault: " + describe(second.vector, second.error_code) +
                 " while delivering a double fault");
        return;
      }
      const Klass first = klass_of(e.vector, e.type);
      const Klass then = klass_of(second.vector, EventType::HardwareException);
      if (makes_double_fault(first, then)) {
        // VMX non-root: a #DF the exception bitmap intercepts exits, with
        // the first event as IDT-vectoring information.
        if (vmx.non_root && vmx::intercept_exception_in_delivery(*this, GuestException{vec::DF, 0, 0}, e.vector,
                                                                 unsigned(e.type), e.error))
          return;
        if (svm.guest_mode && svm::intercept_exception_in_delivery(*this, GuestException{vec::DF, 0, 0}, e.vector,
                                                                   e.type, e.error))
          return;
        e = Event{vec::DF, EventType::HardwareException, 0, s.rip};
      } else {
        // Handled serially: the second exception is delivered instead,
        // reported on the same instruction (SDM Table 6-5).
        e = Event{second.vector, EventType::HardwareException, second.error_code, s.rip};
      }
    }
  }
  shutdown("event delivery did not converge (" + describe(vector, error_code) + ")");
}

}  // namespace softvt
