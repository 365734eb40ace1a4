#include "vmx/vmx_operation.h"

#include "emu/cpu.h"
#include "vmx/capabilities.h"
#include "vmx/controls.h"

namespace softvt::vmx {

bool feature_control_writable(const Cpu& cpu, uint64_t value) {
  if (!cpu.model.intel() || (cpu.s.feature_control & feature_control::LOCK)) return false;
  uint64_t writable = feature_control::LOCK;
  if (model_has_vmx(cpu.model)) writable |= feature_control::VMX_OUTSIDE_SMX;
  return !(value & ~writable);
}

uint64_t firmware_feature_control(const CpuModel& m) {
  if (!m.intel()) return 0;
  return feature_control::LOCK | (model_has_vmx(m) ? feature_control::VMX_OUTSIDE_SMX : 0);
}

namespace {
bool violates(uint64_t value, uint64_t fixed0, uint64_t fixed1) {
  return (value & fixed0) != fixed0 || (value & ~fixed1);
}
}  // namespace

void check_cr0_fixed_bits(Cpu& cpu, uint64_t value) {
  if (!cpu.vmx.in_vmx_operation) return;
  uint64_t fixed0 = cr0_fixed0(cpu.model);
  // An unrestricted guest may clear PE and PG (SDM Vol. 3C 25.6.2
  // "unrestricted guest", Vol. 3D A.7).
  if (cpu.vmx.non_root && (cpu.vmx.controls.proc2 & proc2::UNRESTRICTED_GUEST)) fixed0 &= ~(cr0::PE | cr0::PG);
  if (violates(value, fixed0, cr0_fixed1(cpu.model))) cpu.raise_gp0();
}

void check_cr4_fixed_bits(Cpu& cpu, uint64_t value) {
  if (cpu.vmx.in_vmx_operation && violates(value, cr4_fixed0(cpu.model), cr4_fixed1(cpu.model)))
    cpu.raise_gp0();
}

}  // namespace softvt::vmx
