// The one table of VMCS fields (DESIGN.md "One table, many users"): every
// field of the SDM's field-encoding appendix (SDM Vol. 3D Appendix B), with
// its encoding, name, width, type, the capability that makes it exist on a
// processor, and its offset in softvt's VMCS-region layout (vmx/README.md).
// VMREAD/VMWRITE, the VM-entry checks, the CLI's pretty-printers and the
// tests read it.
#pragma once
#include <cstdint>
#include <span>

namespace softvt::vmx {

struct VmxCapabilities;

// Encoding bits 14:13 (SDM Vol. 3C 25.11.2 "VMREAD, VMWRITE, and Encodings
// of VMCS Fields", Table 25-21).
enum class FieldWidth : uint8_t { W16 = 0, W64 = 1, W32 = 2, Natural = 3 };
// Encoding bits 11:10: control, VM-exit information (read-only data, with
// the VM-instruction error field), guest state, host state.
enum class FieldType : uint8_t { Control = 0, ExitInfo = 1, Guest = 2, Host = 3 };

// The capability MSR word a gating bit lives in (SDM Vol. 3D Appendix A).
// Proc3 (tertiary controls, IA32_VMX_PROCBASED_CTLS3) and Exit2 (secondary
// VM-exit controls, IA32_VMX_EXIT_CTLS2) are not modelled: no softvt model
// can set them, so their fields never exist.
enum class CapWord : uint8_t { Always, Pin, Proc, Proc2, Proc3, Exit, Exit2, Entry, VmFunc };

// "This field exists only on processors that support the 1-setting of ..."
// (the footnotes of SDM Vol. 3D Appendix B): the field exists if either
// alternative's control may be 1 (a second alternative of Always = none).
struct FieldGate {
  CapWord word = CapWord::Always;
  uint8_t bit = 0;
  CapWord word2 = CapWord::Always;
  uint8_t bit2 = 0;
};

struct VmcsField {
  uint32_t encoding;  // the "full" encoding (bit 0 = 0)
  const char* name;   // the SDM's field as Linux (arch/x86/include/asm/vmx.h) names it
  FieldGate gate;
  uint16_t offset;    // byte offset of the field's data in the VMCS region

  FieldWidth width() const { return FieldWidth((encoding >> 13) & 3); }
  FieldType type() const { return FieldType((encoding >> 10) & 3); }
  unsigned index() const { return (encoding >> 1) & 0x1ff; }
  // Bytes of storage in the region: natural-width fields have 64 bits on
  // processors supporting Intel 64 (SDM 25.11.2).
  unsigned size() const {
    switch (width()) {
      case FieldWidth::W16: return 2;
      case FieldWidth::W32: return 4;
      default: return 8;
    }
  }
  bool read_only() const { return type() == FieldType::ExitInfo; }
};

std::span<const VmcsField> vmcs_fields();

// The field an encoding names, with `high` set for the "high" access of a
// 64-bit field (bit 0 = 1); nullptr when the encoding names no field of the
// table (reserved bits set, bit 0 set on a field that is not 64-bit, an
// index the SDM does not define).
const VmcsField* find_vmcs_field(uint64_t encoding, bool& high);
const VmcsField* find_vmcs_field(const char* name);

// Does the field exist on a processor with these capabilities?
bool field_exists(const VmxCapabilities& caps, const VmcsField& f);

// Highest index (encoding bits 9:1) of any field that exists: bits 9:1 of
// IA32_VMX_VMCS_ENUM (SDM Vol. 3D A.9).
unsigned highest_field_index(const VmxCapabilities& caps);

// softvt's VMCS-region layout (vmx/README.md): revision identifier and
// shadow-VMCS indicator at 0, VMX-abort indicator at 4 (both architectural,
// SDM 25.2), launch state at 8, then the fields in table order, each
// naturally aligned, from FIELDS_START to data_end().
namespace vmcs_layout {
constexpr uint32_t REVISION = 0;
constexpr uint32_t ABORT = 4;
constexpr uint32_t LAUNCH_STATE = 8;  // 0 = clear, 1 = launched
constexpr uint32_t FIELDS_START = 16;
constexpr uint32_t REGION_SIZE = 4096;  // IA32_VMX_BASIC bits 44:32
uint32_t data_end();
}  // namespace vmcs_layout

}  // namespace softvt::vmx
