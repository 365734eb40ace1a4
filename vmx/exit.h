// VM exits (SDM Vol. 3C chapter "VM Exits", 29.x in the editions where
// "VM Entries" is chapter 28): recording the exit information, saving the
// guest state into the current VMCS, loading the host state. Also the
// VM-entry failure exit of a guest-state check (SDM 28.8), which records the
// information and loads the host state without saving guest state.
#pragma once
#include <cstdint>

namespace softvt {
class Cpu;
}

namespace softvt::vmx {

// The exit-information fields a VM exit writes (SDM 25.9 "VM-Exit
// Information Fields"); a field left unset is not written (the SDM leaves
// it undefined for that exit; softvt keeps its old value).
struct ExitInfo {
  uint32_t reason = 0;              // basic reason (vmx/exit_reasons.h) and flag bits
  uint64_t qualification = 0;
  bool has_instruction_length = false;
  uint32_t instruction_length = 0;
  bool has_instruction_info = false;
  uint32_t instruction_info = 0;
  bool has_guest_linear = false;
  uint64_t guest_linear = 0;
  uint32_t interruption_info = 0;   // VM-exit interruption information (bit 31 = valid)
  uint32_t interruption_error = 0;  // written when bit 11 of interruption_info is set
  uint32_t idt_vectoring_info = 0;  // bit 31 = valid
  uint32_t idt_vectoring_error = 0;
  // The exit replaces the delivery of a fault-class exception: the saved
  // RFLAGS has RF = 1, as the image the delivery would push (SDM 29.3.3).
  bool saved_rf = false;
  // Saved in the pending-debug-exceptions field (exits at instruction
  // boundaries with debug traps still pending; 0 otherwise).
  uint64_t pending_debug = 0;
  bool timer_exit = false;  // the VMX-preemption timer expired (its saved value is 0)
  bool nmi_exit = false;    // an NMI caused the exit: NMIs are blocked after it
  bool at_boundary = false; // between instructions (not inside one)
};

// A VM exit from VMX non-root operation: the CPU continues in the host
// (RIP = host RIP; Cpu::next_rip too, so an instruction handler may call it).
void vm_exit(Cpu& cpu, const ExitInfo& info);

// The VM-entry failure of SDM 28.8: exit reason (with bit 31) and
// qualification recorded, the host state loaded, no guest state saved.
void vm_entry_failure_exit(Cpu& cpu, uint32_t reason, uint64_t qualification);

// A VM exit for an instruction: reason, qualification and length.
void instruction_exit(Cpu& cpu, uint32_t reason, uint64_t qualification, unsigned length);

// The exits made inside a memory access (EPT violation and
// misconfiguration, APIC access): during the delivery of an event through
// the IDT (Cpu::delivering) the IDT-vectoring information describes it
// (SDM 29.2.4; a software event with its instruction length) and RF is
// saved as that delivery would push it; otherwise RF is saved as 1 (SDM
// 29.3.3). Returns whether an event was being delivered.
bool record_access_exit_context(const Cpu& cpu, ExitInfo& x);

}  // namespace softvt::vmx
