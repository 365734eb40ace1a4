// Hardware task switching (SDM Vol. 3A chapter 7 "Task Management"; Vol. 2
// JMP, CALL, INT n, IRET "TASK-GATE" / "TASK-STATE-SEGMENT" / "TASK-RETURN"):
// far JMP/CALL to a TSS descriptor or a task gate, interrupts and
// exceptions through a task gate in the IDT, and IRET with NT = 1 back to
// the previous task. Legacy protected mode only: IA-32e mode has no task
// switching (the callers raise #GP there, SDM 7.7). Implemented in
// emu/task_switch.cpp.
#pragma once
#include <cstdint>

namespace softvt {

class Cpu;

// What caused a task switch; it decides the busy bits, NT and the
// previous-task link (SDM 7.3 steps 6-10, Table 7-2).
enum class TaskSwitchReason : uint8_t { Jmp, Call, Iret, Event };

// JMP/CALL far whose selector names a TSS or task-gate descriptor `d`
// (read from the GDT/LDT by the caller): the privilege and descriptor
// checks, then the switch. `return_eip` is saved in the old TSS. On
// return RIP and Cpu::next_rip hold the new task's EIP.
void far_task_transfer(Cpu& cpu, uint16_t sel, uint64_t d, TaskSwitchReason reason,
                       uint64_t return_eip);

// IRET with EFLAGS.NT = 1: back to the task named by the current TSS's
// previous-task link.
void task_return(Cpu& cpu, uint64_t return_eip);

// An interrupt or exception whose IDT entry is the task gate `gate`.
struct TaskGateEvent {
  uint64_t saved_eip;     // the EIP saved in the old TSS (fault: the instruction)
  uint64_t saved_eflags;  // the EFLAGS image saved (RF = 1 for faults, SDM 17.3.1.1)
  bool push_error;        // an exception with an error code: pushed on the new stack
  uint32_t error;
};
void task_gate_event(Cpu& cpu, uint64_t gate, const TaskGateEvent& e);

}  // namespace softvt
