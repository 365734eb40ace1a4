// CpuState <-> KVM register structures, and the guest CPUID (see kvm_state.h).
#include "emu/accel/kvm_state.h"

#include <algorithm>
#include <cstring>

namespace softvt::kvm {
namespace {

// kvm_regs names the GPRs; CpuState indexes them by their ModRM encoding.
struct GprSlot {
  Gpr index;
  __u64 kvm_regs::*field;
};
constexpr GprSlot kGprSlots[16] = {
    {RAX, &kvm_regs::rax}, {RCX, &kvm_regs::rcx}, {RDX, &kvm_regs::rdx}, {RBX, &kvm_regs::rbx},
    {RSP, &kvm_regs::rsp}, {RBP, &kvm_regs::rbp}, {RSI, &kvm_regs::rsi}, {RDI, &kvm_regs::rdi},
    {R8, &kvm_regs::r8},   {R9, &kvm_regs::r9},   {R10, &kvm_regs::r10}, {R11, &kvm_regs::r11},
    {R12, &kvm_regs::r12}, {R13, &kvm_regs::r13}, {R14, &kvm_regs::r14}, {R15, &kvm_regs::r15},
};

// kvm_sregs names the segment registers; CpuState indexes them by Sreg.
constexpr kvm_segment kvm_sregs::*kSegSlots[6] = {
    &kvm_sregs::es, &kvm_sregs::cs, &kvm_sregs::ss, &kvm_sregs::ds, &kvm_sregs::fs, &kvm_sregs::gs,
};

// MSR addresses (SDM Vol. 4 Table 2-2).
constexpr uint32_t MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;
constexpr uint32_t MSR_PAT = 0x277;
constexpr uint32_t MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083;
constexpr uint32_t MSR_FMASK = 0xc0000084, MSR_KERNEL_GS_BASE = 0xc0000102;

constexpr MsrField kMsrs[] = {
    {MSR_SYSENTER_CS, &CpuState::sysenter_cs, "IA32_SYSENTER_CS"},
    {MSR_SYSENTER_ESP, &CpuState::sysenter_esp, "IA32_SYSENTER_ESP"},
    {MSR_SYSENTER_EIP, &CpuState::sysenter_eip, "IA32_SYSENTER_EIP"},
    {MSR_PAT, &CpuState::pat, "IA32_PAT"},
    {MSR_STAR, &CpuState::star, "IA32_STAR"},
    {MSR_LSTAR, &CpuState::lstar, "IA32_LSTAR"},
    {MSR_CSTAR, &CpuState::cstar, "IA32_CSTAR"},
    {MSR_FMASK, &CpuState::sfmask, "IA32_FMASK"},
    {MSR_KERNEL_GS_BASE, &CpuState::kernel_gs_base, "IA32_KERNEL_GS_BASE"},
};

// XSAVE layout (SDM Vol. 1 13.4): legacy region, then the header whose
// first quadword is XSTATE_BV; state-component bits 0 (x87) and 1 (SSE).
constexpr size_t XSAVE_LEGACY_SIZE = 512, XSAVE_HEADER = 512;
constexpr uint64_t XSTATE_X87 = 1, XSTATE_SSE = 2;

template <typename T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// Registers of a CPUID leaf that consist of feature flags (SDM Vol. 2
// CPUID, Tables 3-8 to 3-11 and the 0x80000001 description). All other
// registers hold numbers (maximum leaf, vendor, signature, brand, sizes) and
// are the model's alone.
struct FeatureRegs {
  uint32_t leaf, subleaf;
  bool eax, ebx, ecx, edx;
};
constexpr FeatureRegs kFeatureRegs[] = {
    {0x1, 0, false, false, true, true},         // ECX, EDX feature flags
    {0x7, 0, false, true, true, true},          // EBX, ECX, EDX; EAX = max subleaf
    {0x7, 1, true, true, true, true},           // all four are flag words
    {0x80000001, 0, false, false, true, true},  // extended ECX, EDX feature flags
};

// Leaves whose output depends on ECX (the same set CpuModel::cpuid honours).
bool subleaf_significant(uint32_t leaf) { return leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd; }

const kvm_cpuid_entry2* find_supported(const std::vector<kvm_cpuid_entry2>& supported,
                                       uint32_t leaf, uint32_t subleaf) {
  for (const auto& e : supported) {
    if (e.function != leaf) continue;
    if (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == subleaf) return &e;
  }
  return nullptr;
}

}  // namespace

kvm_regs to_kvm_regs(const CpuState& s) {
  kvm_regs r{};
  for (const auto& slot : kGprSlots) r.*slot.field = s.gpr[slot.index];
  r.rip = s.rip;
  r.rflags = s.rflags;
  return r;
}

void from_kvm_regs(const kvm_regs& r, CpuState& s) {
  for (const auto& slot : kGprSlots) s.gpr[slot.index] = r.*slot.field;
  s.rip = r.rip;
  s.rflags = r.rflags;
}

// CpuState's attr is the VMCS access-rights layout (SDM 24.4.1): type[3:0]
// S[4] DPL[6:5] P[7] AVL[12] L[13] D/B[14] G[15] unusable[16]; kvm_segment
// has one field per bit group. Both keep the byte-granular limit.
kvm_segment to_kvm_segment(const SegReg& seg) {
  kvm_segment k{};
  k.base = seg.base;
  k.limit = seg.limit;
  k.selector = seg.sel;
  k.type = seg.attr & ar::TYPE_MASK;
  k.s = (seg.attr & ar::S) ? 1 : 0;
  k.dpl = seg.dpl();
  k.present = (seg.attr & ar::P) ? 1 : 0;
  k.avl = (seg.attr & ar::AVL) ? 1 : 0;
  k.l = (seg.attr & ar::L) ? 1 : 0;
  k.db = (seg.attr & ar::DB) ? 1 : 0;
  k.g = (seg.attr & ar::G) ? 1 : 0;
  k.unusable = (seg.attr & ar::UNUSABLE) ? 1 : 0;
  return k;
}

SegReg from_kvm_segment(const kvm_segment& k) {
  SegReg seg{};
  seg.base = k.base;
  seg.limit = k.limit;
  seg.sel = k.selector;
  seg.attr = (k.type & ar::TYPE_MASK) | (k.s ? ar::S : 0) | (uint32_t(k.dpl & 3) << ar::DPL_SHIFT) |
             (k.present ? ar::P : 0) | (k.avl ? ar::AVL : 0) | (k.l ? ar::L : 0) |
             (k.db ? ar::DB : 0) | (k.g ? ar::G : 0) | (k.unusable ? ar::UNUSABLE : 0);
  return seg;
}

kvm_sregs to_kvm_sregs(const CpuState& s) {
  kvm_sregs k{};
  for (int i = 0; i < 6; ++i) k.*kSegSlots[i] = to_kvm_segment(s.seg[i]);
  k.tr = to_kvm_segment(s.tr);
  k.ldt = to_kvm_segment(s.ldtr);
  k.gdt.base = s.gdtr.base;
  k.gdt.limit = uint16_t(s.gdtr.limit);
  k.idt.base = s.idtr.base;
  k.idt.limit = uint16_t(s.idtr.limit);
  k.cr0 = s.cr0;
  k.cr2 = s.cr2;
  k.cr3 = s.cr3;
  k.cr4 = s.cr4;
  k.cr8 = s.cr8;
  k.efer = s.efer;
  k.apic_base = s.apic_base;
  return k;
}

void from_kvm_sregs(const kvm_sregs& k, CpuState& s) {
  for (int i = 0; i < 6; ++i) s.seg[i] = from_kvm_segment(k.*kSegSlots[i]);
  s.tr = from_kvm_segment(k.tr);
  s.ldtr = from_kvm_segment(k.ldt);
  s.gdtr = DescTable{k.gdt.base, k.gdt.limit, 0};
  s.idtr = DescTable{k.idt.base, k.idt.limit, 0};
  s.cr0 = k.cr0;
  s.cr2 = k.cr2;
  s.cr3 = k.cr3;
  s.cr4 = k.cr4;
  s.cr8 = k.cr8;
  s.efer = k.efer;
  s.apic_base = k.apic_base;
  // KVM keeps no CPL field; SS.DPL is CPL in protected mode (SDM Vol. 3A
  // 5.7: SS is only ever loaded with DPL = CPL), as KVM itself reads it.
  // Without this the interpreter would run an instruction KVM hands over
  // at the privilege level of the last one it ran.
  s.cpl = s.seg[SS].dpl();
}

std::vector<uint8_t> to_kvm_xsave(const CpuState& s, size_t image_size,
                                  const std::vector<uint8_t>& kept) {
  std::vector<uint8_t> image = kept;
  image.resize(std::max({image_size, image.size(), XSAVE_HEADER + 64}), 0);
  std::memcpy(image.data(), s.xsave, XSAVE_LEGACY_SIZE);
  // XSTATE_BV; XCOMP_BV stays 0 (standard format, which KVM_GET_XSAVE
  // also returns).
  uint64_t xstate_bv;
  std::memcpy(&xstate_bv, image.data() + XSAVE_HEADER, sizeof xstate_bv);
  store<uint64_t>(image.data() + XSAVE_HEADER, xstate_bv | XSTATE_X87 | XSTATE_SSE);
  return image;
}

void from_kvm_xsave(const std::vector<uint8_t>& image, CpuState& s) {
  std::memcpy(s.xsave, image.data(), std::min(image.size(), XSAVE_LEGACY_SIZE));
}

std::span<const MsrField> transferred_msrs() { return kMsrs; }

std::vector<kvm_cpuid_entry2> guest_cpuid(const CpuModel& model,
                                          const std::vector<kvm_cpuid_entry2>& supported) {
  std::vector<kvm_cpuid_entry2> out;
  for (const CpuidLeaf& l : model.leaves) {
    kvm_cpuid_entry2 e{};
    e.function = l.leaf;
    e.index = l.subleaf;
    e.flags = subleaf_significant(l.leaf) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    e.eax = l.eax;
    e.ebx = l.ebx;
    e.ecx = l.ecx;
    e.edx = l.edx;
    const kvm_cpuid_entry2* host = find_supported(supported, l.leaf, l.subleaf);
    for (const FeatureRegs& f : kFeatureRegs) {
      if (f.leaf != l.leaf || f.subleaf != l.subleaf) continue;
      // A leaf KVM does not know supports none of its features.
      if (f.eax) e.eax &= host ? host->eax : 0;
      if (f.ebx) e.ebx &= host ? host->ebx : 0;
      if (f.ecx) e.ecx &= host ? host->ecx : 0;
      if (f.edx) e.edx &= host ? host->edx : 0;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace softvt::kvm
