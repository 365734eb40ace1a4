// VMCS shadowing (vmx/shadow_vmcs.h).
#include "vmx/shadow_vmcs.h"

#include "emu/cpu.h"
#include "vmx/controls.h"
#include "vmx/vmcs_cache.h"
#include "vmx/vmcs_encodings.h"
#include "vmx/vmcs_fields.h"

namespace softvt::vmx {
namespace {

// The link pointer, read from the current VMCS: while the guest runs no
// VMWRITE reaches the current VMCS, so the cache holds what VM entry
// checked (SDM 28.3.1.5).
uint64_t link_pointer(const Cpu& cpu) { return read_field(cpu.vmx, field::VMCS_LINK_POINTER); }

// Bit x = encoding[14:0] of the bitmap: bit (x & 7) of the byte at
// bitmap + (x >> 3) (the footnotes of SDM Vol. 3C 31.3 VMREAD/VMWRITE).
bool bitmap_bit(const Cpu& cpu, uint32_t bitmap_field, uint32_t x) {
  const uint64_t bitmap = read_field(cpu.vmx, bitmap_field);
  return (cpu.mem.read_phys(bitmap + (x >> 3), 1) >> (x & 7)) & 1;
}

}  // namespace

bool shadowed_access(const Cpu& cpu, uint64_t encoding, bool write) {
  if (!(cpu.vmx.controls.proc2 & proc2::SHADOW_VMCS)) return false;
  // Bits 63:15 (31:15 outside 64-bit mode: the operand is zero-extended)
  // always exit.
  if (encoding >> 15) return false;
  return !bitmap_bit(cpu, write ? field::VMWRITE_BITMAP : field::VMREAD_BITMAP, uint32_t(encoding));
}

bool shadow_vmcs_valid(const Cpu& cpu) { return link_pointer(cpu) != ~uint64_t(0); }

uint64_t read_shadow_field(Cpu& cpu, const VmcsField& f) {
  return cpu.mem.read_phys(link_pointer(cpu) + f.offset, f.size());
}

void write_shadow_field(Cpu& cpu, const VmcsField& f, uint64_t value) {
  const unsigned size = f.size();
  const uint64_t mask = size == 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * size)) - 1;
  cpu.mem.write_phys(link_pointer(cpu) + f.offset, size, value & mask);
}

}  // namespace softvt::vmx
