// The instruction exits of SDM Vol. 3C 27.1.3 "Instructions That Cause VM
// Exits Conditionally" beyond those of vmx/nonroot.cpp - PAUSE and
// PAUSE-loop exiting, MWAIT, MONITOR, RDRAND, RDSEED, the descriptor-table
// instructions - and task switches (27.2), with the exit qualifications
// and instruction information of 28.2.1 / 28.2.5 (Tables 28-2, 28-10,
// 28-11, 28-12 in the editions where "VM Exits" is chapter 29: 29-x there).
#include "decoder/insn.h"
#include "emu/cpu.h"
#include "vmx/controls.h"
#include "vmx/exit.h"
#include "vmx/exit_reasons.h"
#include "vmx/instruction_info.h"
#include "vmx/nonroot.h"

namespace softvt::vmx {
namespace {

const ActiveControls& ctl(const Cpu& cpu) { return cpu.vmx.controls; }

constexpr uint32_t RDRAND_EXITING = 1u << 11, RDSEED_EXITING = 1u << 16;  // secondary controls

// Operand size in bits 12:11 of the RDRAND/RDSEED information: 0 16-bit,
// 1 32-bit, 2 64-bit.
uint32_t operand_size_code(unsigned bytes) { return bytes == 2 ? 0 : bytes == 4 ? 1 : 2; }

void exit_with_info(Cpu& cpu, const Insn& in, uint32_t reason, uint64_t qualification, uint32_t info) {
  ExitInfo x;
  x.reason = reason;
  x.qualification = qualification;
  x.has_instruction_length = true;
  x.instruction_length = in.len;
  x.has_instruction_info = true;
  x.instruction_info = info;
  vm_exit(cpu, x);
}

}  // namespace

// ---- PAUSE (27.1.3; PAUSE-loop exiting 26.1.3) ------------------------------------------

// "PAUSE exiting" makes every PAUSE exit. Otherwise, with "PAUSE-loop
// exiting" and CPL 0: a PAUSE more than PLE_Gap TSC ticks after the
// previous one (or the first after VM entry) starts a loop; a PAUSE more
// than PLE_Window ticks after the start of its loop exits.
bool intercept_pause(Cpu& cpu, const Insn& in) {
  const ActiveControls& c = ctl(cpu);
  if (c.proc & proc::PAUSE_EXITING) {
    instruction_exit(cpu, exit_reason::PAUSE, 0, in.len);
    return true;
  }
  if (!(c.proc2 & proc2::PLE) || cpu.s.cpl != 0) return false;
  GuestEvents& ev = cpu.vmx.events;
  const uint64_t now = cpu.tsc();
  if (!ev.ple_started || now - ev.ple_last > c.ple_gap) {
    ev.ple_started = true;
    ev.ple_first = now;
  }
  ev.ple_last = now;
  if (now - ev.ple_first <= c.ple_window) return false;
  instruction_exit(cpu, exit_reason::PAUSE, 0, in.len);
  return true;
}

// ---- MWAIT, MONITOR ----------------------------------------------------------------

// MWAIT's qualification: bit 0 set if the address-monitoring hardware is
// armed (by a MONITOR of this guest run; softvt does not follow MONITOR
// in root operation). An MWAIT that does not exit disarms it (it wakes).
bool intercept_mwait(Cpu& cpu, const Insn& in) {
  GuestEvents& ev = cpu.vmx.events;
  if (!(ctl(cpu).proc & proc::MWAIT_EXITING)) {
    ev.monitor_armed = false;
    return false;
  }
  instruction_exit(cpu, exit_reason::MWAIT, ev.monitor_armed ? 1 : 0, in.len);
  return true;
}

bool intercept_monitor(Cpu& cpu, const Insn& in) {
  if (!(ctl(cpu).proc & proc::MONITOR_EXITING)) return false;
  instruction_exit(cpu, exit_reason::MONITOR, 0, in.len);
  return true;
}

void monitor_armed(Cpu& cpu) { cpu.vmx.events.monitor_armed = true; }

// ---- RDRAND, RDSEED (Table 28-12: destination register 6:3, operand size 12:11) ---------

bool intercept_rdrand(Cpu& cpu, const Insn& in, bool seed) {
  if (!(ctl(cpu).proc2 & (seed ? RDSEED_EXITING : RDRAND_EXITING))) return false;
  const uint32_t info = (uint32_t(in.op[0].reg & 15) << 3) | (operand_size_code(in.opsize) << 11);
  exit_with_info(cpu, in, seed ? exit_reason::RDSEED : exit_reason::RDRAND, 0, info);
  return true;
}

// ---- descriptor tables (Tables 28-10 and 28-11) ------------------------------------------

// LGDT/LIDT/SGDT/SIDT: the memory operand, operand size in bit 11 (0
// 16-bit, 1 32-bit; undefined in 64-bit mode, where softvt reports 1),
// the instruction identity in 29:28.
bool intercept_gdtr_idtr(Cpu& cpu, const Insn& in, unsigned identity) {
  if (!(ctl(cpu).proc2 & proc2::DESC_EXITING)) return false;
  const uint32_t info = memory_operand_info(in) | (uint32_t(in.opsize != 2) << 11) | (identity << 28);
  exit_with_info(cpu, in, exit_reason::GDTR_IDTR, displacement(in), info);
  return true;
}

// LLDT/LTR/SLDT/STR: a register operand in 6:3 with bit 10 set (the
// memory-operand fields undefined: 0), or the memory operand with bit 10
// clear and the displacement as qualification; identity in 29:28.
bool intercept_ldtr_tr(Cpu& cpu, const Insn& in, unsigned identity) {
  if (!(ctl(cpu).proc2 & proc2::DESC_EXITING)) return false;
  uint32_t info = identity << 28;
  uint64_t qualification = 0;
  if (operand_is_memory(in, 0)) {
    info |= memory_operand_info(in);
    qualification = displacement(in);
  } else {
    info |= (uint32_t(in.op[0].reg & 15) << 3) | (1u << 10);
  }
  exit_with_info(cpu, in, exit_reason::LDTR_TR, qualification, info);
  return true;
}

// ---- task switches (Table 28-2: TSS selector 15:0, source 31:30) -------------------------

void task_switch_exit(Cpu& cpu, uint16_t tss_selector, unsigned source, unsigned length) {
  ExitInfo x;
  x.reason = exit_reason::TASK_SWITCH;
  x.qualification = tss_selector | (uint64_t(source) << 30);
  x.has_instruction_length = length != 0;
  x.instruction_length = length;
  vm_exit(cpu, x);
}

// Through a task gate in the IDT: the event being delivered is the
// IDT-vectoring information (SDM 28.2.4); a software interrupt's
// instruction length is recorded.
void task_switch_exit_idt(Cpu& cpu, uint16_t tss_selector, uint8_t vector, unsigned type, uint32_t error,
                          unsigned length) {
  ExitInfo x;
  x.reason = exit_reason::TASK_SWITCH;
  x.qualification = tss_selector | (uint64_t(task_source::IDT_GATE) << 30);
  x.idt_vectoring_info = vector | (type << intr_info::TYPE_SHIFT) | intr_info::VALID;
  if (error != NO_ERROR_CODE) {
    x.idt_vectoring_info |= intr_info::DELIVER_ERROR_CODE;
    x.idt_vectoring_error = error;
  }
  x.has_instruction_length = length != 0;
  x.instruction_length = length;
  vm_exit(cpu, x);
}

}  // namespace softvt::vmx
