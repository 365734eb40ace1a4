// The VMCS field table (vmx/vmcs_fields.h). Encodings and existence
// conditions: SDM Vol. 3D Appendix B "Field Encoding in VMCS" (Tables B-1
// to B-15 and their footnotes), cross-checked against the encodings of
// Linux's arch/x86/include/asm/vmx.h `enum vmcs_field`; names follow Linux
// where it has the field and the SDM's wording otherwise.
#include "vmx/vmcs_fields.h"

#include <array>
#include <cstring>

#include "vmx/capabilities.h"

namespace softvt::vmx {
namespace {

using W = CapWord;

constexpr FieldGate ALWAYS{};
constexpr FieldGate gate(W w, uint8_t bit) { return FieldGate{w, bit, W::Always, 0}; }
constexpr FieldGate gate2(W w, uint8_t bit, W w2, uint8_t bit2) { return FieldGate{w, bit, w2, bit2}; }

// The capability bits named by the gates (SDM Vol. 3C 25.6 and 25.7,
// Tables 25-5 to 25-18).
namespace pin { constexpr uint8_t PREEMPTION_TIMER = 6, POSTED_INTERRUPTS = 7; }
namespace proc {
constexpr uint8_t TERTIARY = 17, TPR_SHADOW = 21, MSR_BITMAPS = 28, SECONDARY = 31;
}
namespace proc2 {
constexpr uint8_t APIC_ACCESS = 0, EPT = 1, VPID = 5, VINTR_DELIVERY = 9, PLE = 10, VMFUNC = 13,
                  SHADOW_VMCS = 14, ENCLS = 15, PML = 17, EPT_VE = 18, XSAVES = 20, SPP = 23,
                  TSC_SCALING = 25, PCONFIG = 27, ENCLV = 28, NOTIFY = 31;
}
// Tertiary controls (IA32_VMX_PROCBASED_CTLS3), not modelled.
namespace proc3 { constexpr uint8_t HLAT = 1, IPI_VIRT = 4, SPEC_CTRL = 7, PASID = 8, SHARED_EPTP = 9; }
namespace exit_ {
constexpr uint8_t LOAD_PERF = 12, SAVE_PAT = 18, LOAD_PAT = 19, SAVE_EFER = 20, LOAD_EFER = 21,
                  CLEAR_BNDCFGS = 23, CLEAR_RTIT = 25, CLEAR_LBR = 26, CLEAR_UINV = 27, LOAD_CET = 28,
                  LOAD_PKRS = 29, SAVE_PERF = 30, SECONDARY = 31;
}
namespace exit2 { constexpr uint8_t SAVE_FRED = 0, LOAD_FRED = 1; }
namespace entry {
constexpr uint8_t LOAD_PERF = 13, LOAD_PAT = 14, LOAD_EFER = 15, LOAD_BNDCFGS = 16, LOAD_RTIT = 18,
                  LOAD_UINV = 19, LOAD_CET = 20, LOAD_LBR = 21, LOAD_PKRS = 22, LOAD_FRED = 23;
}

struct RawField {
  uint32_t encoding;
  const char* name;
  FieldGate gate;
};

// In the appendix's order: 16-bit, 64-bit, 32-bit, natural-width; each
// control, read-only data, guest state, host state.
constexpr RawField kRaw[] = {
    // B.1.1 16-bit control fields
    {0x0000, "VIRTUAL_PROCESSOR_ID", gate(W::Proc2, proc2::VPID)},
    {0x0002, "POSTED_INTR_NV", gate(W::Pin, pin::POSTED_INTERRUPTS)},
    {0x0004, "EPTP_INDEX", gate(W::Proc2, proc2::EPT_VE)},
    {0x0006, "HLAT_PREFIX_SIZE", gate(W::Proc3, proc3::HLAT)},
    {0x0008, "LAST_PID_POINTER_INDEX", gate(W::Proc3, proc3::IPI_VIRT)},
    // B.1.2 16-bit guest-state fields
    {0x0800, "GUEST_ES_SELECTOR", ALWAYS},
    {0x0802, "GUEST_CS_SELECTOR", ALWAYS},
    {0x0804, "GUEST_SS_SELECTOR", ALWAYS},
    {0x0806, "GUEST_DS_SELECTOR", ALWAYS},
    {0x0808, "GUEST_FS_SELECTOR", ALWAYS},
    {0x080a, "GUEST_GS_SELECTOR", ALWAYS},
    {0x080c, "GUEST_LDTR_SELECTOR", ALWAYS},
    {0x080e, "GUEST_TR_SELECTOR", ALWAYS},
    {0x0810, "GUEST_INTR_STATUS", gate(W::Proc2, proc2::VINTR_DELIVERY)},
    {0x0812, "GUEST_PML_INDEX", gate(W::Proc2, proc2::PML)},
    {0x0814, "GUEST_UINV", gate2(W::Entry, entry::LOAD_UINV, W::Exit, exit_::CLEAR_UINV)},
    // B.1.3 16-bit host-state fields
    {0x0c00, "HOST_ES_SELECTOR", ALWAYS},
    {0x0c02, "HOST_CS_SELECTOR", ALWAYS},
    {0x0c04, "HOST_SS_SELECTOR", ALWAYS},
    {0x0c06, "HOST_DS_SELECTOR", ALWAYS},
    {0x0c08, "HOST_FS_SELECTOR", ALWAYS},
    {0x0c0a, "HOST_GS_SELECTOR", ALWAYS},
    {0x0c0c, "HOST_TR_SELECTOR", ALWAYS},
    // B.2.1 64-bit control fields
    {0x2000, "IO_BITMAP_A", ALWAYS},
    {0x2002, "IO_BITMAP_B", ALWAYS},
    {0x2004, "MSR_BITMAP", gate(W::Proc, proc::MSR_BITMAPS)},
    {0x2006, "VM_EXIT_MSR_STORE_ADDR", ALWAYS},
    {0x2008, "VM_EXIT_MSR_LOAD_ADDR", ALWAYS},
    {0x200a, "VM_ENTRY_MSR_LOAD_ADDR", ALWAYS},
    {0x200c, "EXECUTIVE_VMCS_POINTER", ALWAYS},
    {0x200e, "PML_ADDRESS", gate(W::Proc2, proc2::PML)},
    {0x2010, "TSC_OFFSET", ALWAYS},
    {0x2012, "VIRTUAL_APIC_PAGE_ADDR", gate(W::Proc, proc::TPR_SHADOW)},
    {0x2014, "APIC_ACCESS_ADDR", gate(W::Proc2, proc2::APIC_ACCESS)},
    {0x2016, "POSTED_INTR_DESC_ADDR", gate(W::Pin, pin::POSTED_INTERRUPTS)},
    {0x2018, "VM_FUNCTION_CONTROL", gate(W::Proc2, proc2::VMFUNC)},
    {0x201a, "EPT_POINTER", gate(W::Proc2, proc2::EPT)},
    {0x201c, "EOI_EXIT_BITMAP0", gate(W::Proc2, proc2::VINTR_DELIVERY)},
    {0x201e, "EOI_EXIT_BITMAP1", gate(W::Proc2, proc2::VINTR_DELIVERY)},
    {0x2020, "EOI_EXIT_BITMAP2", gate(W::Proc2, proc2::VINTR_DELIVERY)},
    {0x2022, "EOI_EXIT_BITMAP3", gate(W::Proc2, proc2::VINTR_DELIVERY)},
    {0x2024, "EPTP_LIST_ADDRESS", gate(W::VmFunc, 0)},  // EPTP switching (VM function 0)
    {0x2026, "VMREAD_BITMAP", gate(W::Proc2, proc2::SHADOW_VMCS)},
    {0x2028, "VMWRITE_BITMAP", gate(W::Proc2, proc2::SHADOW_VMCS)},
    {0x202a, "VE_INFORMATION_ADDRESS", gate(W::Proc2, proc2::EPT_VE)},
    {0x202c, "XSS_EXIT_BITMAP", gate(W::Proc2, proc2::XSAVES)},
    {0x202e, "ENCLS_EXITING_BITMAP", gate(W::Proc2, proc2::ENCLS)},
    {0x2030, "SPP_TABLE_POINTER", gate(W::Proc2, proc2::SPP)},
    {0x2032, "TSC_MULTIPLIER", gate(W::Proc2, proc2::TSC_SCALING)},
    {0x2034, "TERTIARY_VM_EXEC_CONTROL", gate(W::Proc, proc::TERTIARY)},
    {0x2036, "ENCLV_EXITING_BITMAP", gate(W::Proc2, proc2::ENCLV)},
    {0x2038, "LOW_PASID_DIRECTORY_ADDRESS", gate(W::Proc3, proc3::PASID)},
    {0x203a, "HIGH_PASID_DIRECTORY_ADDRESS", gate(W::Proc3, proc3::PASID)},
    {0x203c, "SHARED_EPT_POINTER", gate(W::Proc3, proc3::SHARED_EPTP)},
    {0x203e, "PCONFIG_EXITING_BITMAP", gate(W::Proc2, proc2::PCONFIG)},
    {0x2040, "HLAT_POINTER", gate(W::Proc3, proc3::HLAT)},
    {0x2042, "PID_POINTER_TABLE", gate(W::Proc3, proc3::IPI_VIRT)},
    {0x2044, "SECONDARY_VM_EXIT_CONTROLS", gate(W::Exit, exit_::SECONDARY)},
    {0x204a, "SPEC_CTRL_MASK", gate(W::Proc3, proc3::SPEC_CTRL)},
    {0x204c, "SPEC_CTRL_SHADOW", gate(W::Proc3, proc3::SPEC_CTRL)},
    {0x2052, "INJECTED_EVENT_DATA", gate(W::Entry, entry::LOAD_FRED)},
    // B.2.2 64-bit read-only data fields
    {0x2400, "GUEST_PHYSICAL_ADDRESS", gate(W::Proc2, proc2::EPT)},
    {0x2404, "ORIGINAL_EVENT_DATA", gate(W::Entry, entry::LOAD_FRED)},
    // B.2.3 64-bit guest-state fields
    {0x2800, "VMCS_LINK_POINTER", ALWAYS},
    {0x2802, "GUEST_IA32_DEBUGCTL", ALWAYS},
    {0x2804, "GUEST_IA32_PAT", gate2(W::Entry, entry::LOAD_PAT, W::Exit, exit_::SAVE_PAT)},
    {0x2806, "GUEST_IA32_EFER", gate2(W::Entry, entry::LOAD_EFER, W::Exit, exit_::SAVE_EFER)},
    {0x2808, "GUEST_IA32_PERF_GLOBAL_CTRL", gate2(W::Entry, entry::LOAD_PERF, W::Exit, exit_::SAVE_PERF)},
    {0x280a, "GUEST_PDPTR0", gate(W::Proc2, proc2::EPT)},
    {0x280c, "GUEST_PDPTR1", gate(W::Proc2, proc2::EPT)},
    {0x280e, "GUEST_PDPTR2", gate(W::Proc2, proc2::EPT)},
    {0x2810, "GUEST_PDPTR3", gate(W::Proc2, proc2::EPT)},
    {0x2812, "GUEST_BNDCFGS", gate2(W::Entry, entry::LOAD_BNDCFGS, W::Exit, exit_::CLEAR_BNDCFGS)},
    {0x2814, "GUEST_IA32_RTIT_CTL", gate2(W::Entry, entry::LOAD_RTIT, W::Exit, exit_::CLEAR_RTIT)},
    {0x2816, "GUEST_IA32_LBR_CTL", gate2(W::Entry, entry::LOAD_LBR, W::Exit, exit_::CLEAR_LBR)},
    {0x2818, "GUEST_IA32_PKRS", gate(W::Entry, entry::LOAD_PKRS)},
    {0x281a, "GUEST_IA32_FRED_CONFIG", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x281c, "GUEST_IA32_FRED_RSP1", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x281e, "GUEST_IA32_FRED_RSP2", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x2820, "GUEST_IA32_FRED_RSP3", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x2822, "GUEST_IA32_FRED_STKLVLS", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x2824, "GUEST_IA32_FRED_SSP1", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x2826, "GUEST_IA32_FRED_SSP2", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    {0x2828, "GUEST_IA32_FRED_SSP3", gate2(W::Entry, entry::LOAD_FRED, W::Exit2, exit2::SAVE_FRED)},
    // B.2.4 64-bit host-state fields
    {0x2c00, "HOST_IA32_PAT", gate(W::Exit, exit_::LOAD_PAT)},
    {0x2c02, "HOST_IA32_EFER", gate(W::Exit, exit_::LOAD_EFER)},
    {0x2c04, "HOST_IA32_PERF_GLOBAL_CTRL", gate(W::Exit, exit_::LOAD_PERF)},
    {0x2c06, "HOST_IA32_PKRS", gate(W::Exit, exit_::LOAD_PKRS)},
    {0x2c08, "HOST_IA32_FRED_CONFIG", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c0a, "HOST_IA32_FRED_RSP1", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c0c, "HOST_IA32_FRED_RSP2", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c0e, "HOST_IA32_FRED_RSP3", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c10, "HOST_IA32_FRED_STKLVLS", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c12, "HOST_IA32_FRED_SSP1", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c14, "HOST_IA32_FRED_SSP2", gate(W::Exit2, exit2::LOAD_FRED)},
    {0x2c16, "HOST_IA32_FRED_SSP3", gate(W::Exit2, exit2::LOAD_FRED)},
    // B.3.1 32-bit control fields
    {0x4000, "PIN_BASED_VM_EXEC_CONTROL", ALWAYS},
    {0x4002, "CPU_BASED_VM_EXEC_CONTROL", ALWAYS},
    {0x4004, "EXCEPTION_BITMAP", ALWAYS},
    {0x4006, "PAGE_FAULT_ERROR_CODE_MASK", ALWAYS},
    {0x4008, "PAGE_FAULT_ERROR_CODE_MATCH", ALWAYS},
    {0x400a, "CR3_TARGET_COUNT", ALWAYS},
    {0x400c, "VM_EXIT_CONTROLS", ALWAYS},
    {0x400e, "VM_EXIT_MSR_STORE_COUNT", ALWAYS},
    {0x4010, "VM_EXIT_MSR_LOAD_COUNT", ALWAYS},
    {0x4012, "VM_ENTRY_CONTROLS", ALWAYS},
    {0x4014, "VM_ENTRY_MSR_LOAD_COUNT", ALWAYS},
    {0x4016, "VM_ENTRY_INTR_INFO_FIELD", ALWAYS},
    {0x4018, "VM_ENTRY_EXCEPTION_ERROR_CODE", ALWAYS},
    {0x401a, "VM_ENTRY_INSTRUCTION_LEN", ALWAYS},
    {0x401c, "TPR_THRESHOLD", gate(W::Proc, proc::TPR_SHADOW)},
    {0x401e, "SECONDARY_VM_EXEC_CONTROL", gate(W::Proc, proc::SECONDARY)},
    {0x4020, "PLE_GAP", gate(W::Proc2, proc2::PLE)},
    {0x4022, "PLE_WINDOW", gate(W::Proc2, proc2::PLE)},
    {0x4024, "NOTIFY_WINDOW", gate(W::Proc2, proc2::NOTIFY)},  // the SDM's "instruction-timeout control"
    // B.3.2 32-bit read-only data fields
    {0x4400, "VM_INSTRUCTION_ERROR", ALWAYS},
    {0x4402, "VM_EXIT_REASON", ALWAYS},
    {0x4404, "VM_EXIT_INTR_INFO", ALWAYS},
    {0x4406, "VM_EXIT_INTR_ERROR_CODE", ALWAYS},
    {0x4408, "IDT_VECTORING_INFO_FIELD", ALWAYS},
    {0x440a, "IDT_VECTORING_ERROR_CODE", ALWAYS},
    {0x440c, "VM_EXIT_INSTRUCTION_LEN", ALWAYS},
    {0x440e, "VMX_INSTRUCTION_INFO", ALWAYS},
    // B.3.3 32-bit guest-state fields
    {0x4800, "GUEST_ES_LIMIT", ALWAYS},
    {0x4802, "GUEST_CS_LIMIT", ALWAYS},
    {0x4804, "GUEST_SS_LIMIT", ALWAYS},
    {0x4806, "GUEST_DS_LIMIT", ALWAYS},
    {0x4808, "GUEST_FS_LIMIT", ALWAYS},
    {0x480a, "GUEST_GS_LIMIT", ALWAYS},
    {0x480c, "GUEST_LDTR_LIMIT", ALWAYS},
    {0x480e, "GUEST_TR_LIMIT", ALWAYS},
    {0x4810, "GUEST_GDTR_LIMIT", ALWAYS},
    {0x4812, "GUEST_IDTR_LIMIT", ALWAYS},
    {0x4814, "GUEST_ES_AR_BYTES", ALWAYS},
    {0x4816, "GUEST_CS_AR_BYTES", ALWAYS},
    {0x4818, "GUEST_SS_AR_BYTES", ALWAYS},
    {0x481a, "GUEST_DS_AR_BYTES", ALWAYS},
    {0x481c, "GUEST_FS_AR_BYTES", ALWAYS},
    {0x481e, "GUEST_GS_AR_BYTES", ALWAYS},
    {0x4820, "GUEST_LDTR_AR_BYTES", ALWAYS},
    {0x4822, "GUEST_TR_AR_BYTES", ALWAYS},
    {0x4824, "GUEST_INTERRUPTIBILITY_INFO", ALWAYS},
    {0x4826, "GUEST_ACTIVITY_STATE", ALWAYS},
    {0x4828, "GUEST_SMBASE", ALWAYS},
    {0x482a, "GUEST_SYSENTER_CS", ALWAYS},
    {0x482e, "VMX_PREEMPTION_TIMER_VALUE", gate(W::Pin, pin::PREEMPTION_TIMER)},
    // B.3.4 32-bit host-state field
    {0x4c00, "HOST_IA32_SYSENTER_CS", ALWAYS},
    // B.4.1 natural-width control fields
    {0x6000, "CR0_GUEST_HOST_MASK", ALWAYS},
    {0x6002, "CR4_GUEST_HOST_MASK", ALWAYS},
    {0x6004, "CR0_READ_SHADOW", ALWAYS},
    {0x6006, "CR4_READ_SHADOW", ALWAYS},
    {0x6008, "CR3_TARGET_VALUE0", ALWAYS},
    {0x600a, "CR3_TARGET_VALUE1", ALWAYS},
    {0x600c, "CR3_TARGET_VALUE2", ALWAYS},
    {0x600e, "CR3_TARGET_VALUE3", ALWAYS},
    // B.4.2 natural-width read-only data fields
    {0x6400, "EXIT_QUALIFICATION", ALWAYS},
    {0x6402, "IO_RCX", ALWAYS},
    {0x6404, "IO_RSI", ALWAYS},
    {0x6406, "IO_RDI", ALWAYS},
    {0x6408, "IO_RIP", ALWAYS},
    {0x640a, "GUEST_LINEAR_ADDRESS", ALWAYS},
    // B.4.3 natural-width guest-state fields
    {0x6800, "GUEST_CR0", ALWAYS},
    {0x6802, "GUEST_CR3", ALWAYS},
    {0x6804, "GUEST_CR4", ALWAYS},
    {0x6806, "GUEST_ES_BASE", ALWAYS},
    {0x6808, "GUEST_CS_BASE", ALWAYS},
    {0x680a, "GUEST_SS_BASE", ALWAYS},
    {0x680c, "GUEST_DS_BASE", ALWAYS},
    {0x680e, "GUEST_FS_BASE", ALWAYS},
    {0x6810, "GUEST_GS_BASE", ALWAYS},
    {0x6812, "GUEST_LDTR_BASE", ALWAYS},
    {0x6814, "GUEST_TR_BASE", ALWAYS},
    {0x6816, "GUEST_GDTR_BASE", ALWAYS},
    {0x6818, "GUEST_IDTR_BASE", ALWAYS},
    {0x681a, "GUEST_DR7", ALWAYS},
    {0x681c, "GUEST_RSP", ALWAYS},
    {0x681e, "GUEST_RIP", ALWAYS},
    {0x6820, "GUEST_RFLAGS", ALWAYS},
    {0x6822, "GUEST_PENDING_DBG_EXCEPTIONS", ALWAYS},
    {0x6824, "GUEST_SYSENTER_ESP", ALWAYS},
    {0x6826, "GUEST_SYSENTER_EIP", ALWAYS},
    {0x6828, "GUEST_S_CET", gate(W::Entry, entry::LOAD_CET)},
    {0x682a, "GUEST_SSP", gate(W::Entry, entry::LOAD_CET)},
    {0x682c, "GUEST_INTR_SSP_TABLE", gate(W::Entry, entry::LOAD_CET)},
    // B.4.4 natural-width host-state fields
    {0x6c00, "HOST_CR0", ALWAYS},
    {0x6c02, "HOST_CR3", ALWAYS},
    {0x6c04, "HOST_CR4", ALWAYS},
    {0x6c06, "HOST_FS_BASE", ALWAYS},
    {0x6c08, "HOST_GS_BASE", ALWAYS},
    {0x6c0a, "HOST_TR_BASE", ALWAYS},
    {0x6c0c, "HOST_GDTR_BASE", ALWAYS},
    {0x6c0e, "HOST_IDTR_BASE", ALWAYS},
    {0x6c10, "HOST_IA32_SYSENTER_ESP", ALWAYS},
    {0x6c12, "HOST_IA32_SYSENTER_EIP", ALWAYS},
    {0x6c14, "HOST_RSP", ALWAYS},
    {0x6c16, "HOST_RIP", ALWAYS},
    {0x6c18, "HOST_S_CET", gate(W::Exit, exit_::LOAD_CET)},
    {0x6c1a, "HOST_SSP", gate(W::Exit, exit_::LOAD_CET)},
    {0x6c1c, "HOST_INTR_SSP_TABLE", gate(W::Exit, exit_::LOAD_CET)},
};

constexpr size_t N = std::size(kRaw);

constexpr unsigned storage_size(uint32_t encoding) {
  switch ((encoding >> 13) & 3) {
    case 0: return 2;
    case 2: return 4;
    default: return 8;
  }
}

// The layout: fields in table order, each aligned to its own size.
constexpr std::array<VmcsField, N> build_table() {
  std::array<VmcsField, N> t{};
  uint32_t off = vmcs_layout::FIELDS_START;
  for (size_t i = 0; i < N; ++i) {
    const unsigned size = storage_size(kRaw[i].encoding);
    off = (off + size - 1) & ~uint32_t(size - 1);
    t[i] = VmcsField{kRaw[i].encoding, kRaw[i].name, kRaw[i].gate, uint16_t(off)};
    off += size;
  }
  return t;
}

constexpr std::array<VmcsField, N> kFields = build_table();

constexpr uint32_t layout_end() {
  const VmcsField& last = kFields[N - 1];
  return last.offset + storage_size(last.encoding);
}
static_assert(layout_end() <= vmcs_layout::REGION_SIZE, "the VMCS data must fit the region");

// Reserved encoding bits: 31:15 and 12 (SDM 25.11.2, Table 25-21).
constexpr uint64_t RESERVED_ENCODING_BITS = ~uint64_t(0x6fff);

// Lookup of a "full" encoding in O(1): bits 14:1 (width, the reserved bit
// 12, type and index) are the key; the slot holds the table position + 1.
constexpr unsigned INDEX_SIZE = 1u << 14;
constexpr unsigned key_of(uint32_t full) { return (full >> 1) & (INDEX_SIZE - 1); }

constexpr std::array<uint8_t, INDEX_SIZE> build_index() {
  std::array<uint8_t, INDEX_SIZE> idx{};
  for (size_t i = 0; i < N; ++i) idx[key_of(kFields[i].encoding)] = uint8_t(i + 1);
  return idx;
}
static_assert(N < 255, "the index stores positions in a byte");
constexpr std::array<uint8_t, INDEX_SIZE> kIndex = build_index();

uint32_t allowed1(const VmxCapabilities& c, CapWord w) {
  switch (w) {
    case CapWord::Always: return ~0u;
    case CapWord::Pin: return c.pin.allowed1;
    case CapWord::Proc: return c.proc.allowed1;
    case CapWord::Proc2: return c.secondary_allowed1();
    case CapWord::Exit: return c.exit.allowed1;
    case CapWord::Entry: return c.entry.allowed1;
    case CapWord::VmFunc: return c.vmfunc_controls();
    default: return 0;  // Proc3, Exit2: not modelled
  }
}

}  // namespace

std::span<const VmcsField> vmcs_fields() { return kFields; }

uint32_t vmcs_layout::data_end() { return layout_end(); }

const VmcsField* find_vmcs_field(uint64_t encoding, bool& high) {
  high = encoding & 1;
  if (encoding & RESERVED_ENCODING_BITS) return nullptr;
  const uint32_t full = uint32_t(encoding & ~uint64_t(1));
  const uint8_t slot = kIndex[key_of(full)];
  if (!slot) return nullptr;
  const VmcsField& f = kFields[slot - 1];
  // Only 64-bit fields have a "high" access (SDM 25.11.2 "Access type").
  if (high && f.width() != FieldWidth::W64) return nullptr;
  return &f;
}

const VmcsField* find_vmcs_field(const char* name) {
  for (const VmcsField& f : kFields)
    if (std::strcmp(f.name, name) == 0) return &f;
  return nullptr;
}

bool field_exists(const VmxCapabilities& caps, const VmcsField& f) {
  const FieldGate& g = f.gate;
  if (g.word == CapWord::Always) return true;
  if ((allowed1(caps, g.word) >> g.bit) & 1) return true;
  return g.word2 != CapWord::Always && ((allowed1(caps, g.word2) >> g.bit2) & 1);
}

unsigned highest_field_index(const VmxCapabilities& caps) {
  unsigned highest = 0;
  for (const VmcsField& f : kFields)
    if (field_exists(caps, f) && f.index() > highest) highest = f.index();
  return highest;
}

}  // namespace softvt::vmx
