// The VMX MSR areas (vmx/msr_areas.h).
#include "vmx/msr_areas.h"

#include <string>

#include "emu/cpu.h"
#include "emu/interp/system_msrs.h"
#include "vmx/vmcs_fields.h"

namespace softvt::vmx {
namespace {

constexpr uint32_t FS_BASE = 0xc0000100, GS_BASE = 0xc0000101;
constexpr uint32_t SMM_MONITOR_CTL = 0x9b, SMBASE = 0x9e;
constexpr uint32_t BIOS_UPDT_TRIG = 0x79, BIOS_SIGN_ID = 0x8b;

// x2APIC MSRs 800H-8FFH: bits 31:8 = 000008H.
bool x2apic_msr(uint32_t index) { return (index >> 8) == 8; }

// An entry's MSR may be loaded (SDM 28.4 and 29.6): not IA32_FS_BASE or
// IA32_GS_BASE, not an x2APIC MSR, not writable only in SMM
// (IA32_SMM_MONITOR_CTL; IA32_SMBASE), and not refused for model-specific
// reasons - softvt's model refuses the microcode-update MSRs, as KVM does.
bool loadable(uint32_t index) {
  return index != FS_BASE && index != GS_BASE && !x2apic_msr(index) && index != SMM_MONITOR_CTL &&
         index != SMBASE && index != BIOS_UPDT_TRIG && index != BIOS_SIGN_ID;
}

// An entry's MSR may be stored (SDM 29.4): not an x2APIC MSR, not readable
// only in SMM (IA32_SMBASE).
bool storable(uint32_t index) { return !x2apic_msr(index) && index != SMBASE; }

}  // namespace

uint32_t load_msr_area(Cpu& cpu, uint64_t addr, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t entry = addr + 16 * uint64_t(i);
    const uint64_t head = cpu.mem.read_phys(entry, 8);
    const uint32_t index = uint32_t(head);
    const uint64_t data = cpu.mem.read_phys(entry + 8, 8);
    if ((head >> 32) || !loadable(index) || !msr_write_as_wrmsr(cpu, index, data)) return i + 1;
  }
  return 0;
}

bool store_msr_area(Cpu& cpu, uint64_t addr, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t entry = addr + 16 * uint64_t(i);
    const uint64_t head = cpu.mem.read_phys(entry, 8);
    const uint32_t index = uint32_t(head);
    uint64_t value = 0;
    if ((head >> 32) || !storable(index) || !msr_read_as_rdmsr(cpu, index, value)) return false;
    cpu.mem.write_phys(entry + 8, 8, value);
  }
  return true;
}

void vmx_abort(Cpu& cpu, uint32_t indicator) {
  cpu.mem.write_phys(cpu.vmx.current_vmcs + vmcs_layout::ABORT, 4, indicator);
  cpu.vmx.non_root = false;
  cpu.stop = StopReason::Shutdown;
  cpu.stop_detail = "VMX abort, indicator " + std::to_string(indicator);
  if (cpu.tracer) cpu.tracer->note(cpu, cpu.stop_detail);
}

}  // namespace softvt::vmx
