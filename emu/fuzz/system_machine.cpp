// The machine every system scenario starts from (system_cases.h): GDT,
// TSS, IDT with one recording stub per exception vector, the identity map
// of the low 2 MiB, and the initial segment state.
#include <cstdio>
#include <cstring>

#include "emu/cpu_features.h"
#include "emu/fuzz/system_asm.h"
#include "emu/fuzz/system_cases.h"
#include "emu/loader/loader_state.h"

namespace softvt::fuzz {

const char* sys_family_name(SysFamily f) { return f == SysFamily::Paging ? "paging" : "fastcall"; }

bool parse_sys_family(const std::string& s, SysFamily& out) {
  if (s == "paging") out = SysFamily::Paging;
  else if (s == "fastcall") out = SysFamily::FastCall;
  else return false;
  return true;
}

const char* paging_mode_name(PagingMode m) {
  switch (m) {
    case PagingMode::Bits32: return "32-bit";
    case PagingMode::Pae: return "PAE";
    case PagingMode::Level4: return "4-level";
    case PagingMode::Level5: return "5-level";
    default: return "no";
  }
}

const CpuModel& sys_model() {
  static const CpuModel m = [] {
    CpuModel c = default_cpu_model();
    for (const char* name : kFeaturesKvmLacks) set_model_feature(c, *find_cpu_feature(name), false);
    return c;
  }();
  return m;
}

SysCase build_sys_case(SysFamily f, uint64_t seed) {
  return f == SysFamily::Paging ? build_paging_case(seed) : build_fastcall_case(seed);
}

namespace sysgen {
namespace {

using namespace sysmap;

// Flat code/data descriptors (SDM 3.4.5): base 0, limit 0xfffff, G = 1.
constexpr uint64_t kFlatDescriptors[7] = {
    0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
    0x00cff3000000ffffull, 0x00affb000000ffffull, 0x00cffb000000ffffull};

// A system-segment descriptor (TSS, LDT): the low 8 bytes (SDM 3.5,
// 7.2.2); in long mode the next 8 bytes hold base 63:32.
uint64_t system_descriptor(uint64_t base, uint32_t limit, uint8_t type) {
  return (limit & 0xffffull) | ((base & 0xffffffull) << 16) | (uint64_t(type | 0x80) << 40) |
         (uint64_t((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

SegReg hidden(uint16_t sel, uint64_t descriptor) {
  SegReg r{};
  r.sel = sel;
  r.attr = uint32_t((descriptor >> 40) & 0xff) | uint32_t(((descriptor >> 52) & 0xf) << 12);
  r.limit = 0xffffffff;
  return r;
}

// A stub per vector: MOV DWORD [marker], 0x100 + vector; HLT.
Bytes stub(FlatMode mode, unsigned vector) {
  Asm a(mode, kStubs + vector * kStubSize);
  a.op(ZYDIS_MNEMONIC_MOV, {mem_operand(ZYDIS_REGISTER_NONE, int64_t(kMarker), 4),
                            imm_operand(0x100 + vector)});
  a.hlt();
  return a.bytes();
}

// An interrupt gate to stub `vector` (SDM 6.11, 6.14.1).
void put_gate(SysCase& c, FlatMode mode, unsigned vector) {
  const uint64_t target = kStubs + vector * kStubSize;
  const uint64_t low = (target & 0xffff) | (uint64_t(mode == FlatMode::Long64 ? kCode64 : kCode32) << 16) |
                       (uint64_t(0x8e) << 40) | (((target >> 16) & 0xffff) << 48);
  if (mode == FlatMode::Long64) {
    put64(c, kIdt + 16 * vector, low);
    put64(c, kIdt + 16 * vector + 8, target >> 32);
  } else {
    put64(c, kIdt + 8 * vector, low);
  }
}

}  // namespace

uint64_t TablePool::alloc(uint64_t align) {
  next = (next + align - 1) & ~(align - 1);
  const uint64_t t = next;
  next += 0x1000;
  if (next > kTablePoolEnd) throw std::logic_error("system case generator: page-table pool exhausted");
  return t;
}

void put(SysCase& c, uint64_t addr, const Bytes& b) { c.memory.push_back({addr, b}); }
void put64(SysCase& c, uint64_t addr, uint64_t v) {
  Bytes b(8);
  std::memcpy(b.data(), &v, 8);
  put(c, addr, b);
}
void put32(SysCase& c, uint64_t addr, uint32_t v) {
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);
  put(c, addr, b);
}

void init_machine(SysCase& c, FlatMode mode) {
  const bool lm = mode == FlatMode::Long64;
  for (unsigned i = 0; i < 7; ++i) put64(c, kGdt + 8 * i, kFlatDescriptors[i]);
  // Busy TSS (TR is loaded directly in the initial state, SDM 7.2.2).
  put64(c, kGdt + kTssSel, system_descriptor(kTss, 0x67, 0xb));
  if (lm) put64(c, kGdt + kTssSel + 8, 0);
  // TSS: RSP0 (64-bit TSS +4) or SS0:ESP0 (32-bit TSS +4/+8), SDM 7.7, 7.2.1;
  // the I/O map base beyond the limit (no I/O bitmap).
  Bytes tss(0x68, 0);
  const uint64_t rsp0 = kKernelStack + 0x1000;
  std::memcpy(tss.data() + 4, &rsp0, lm ? 8 : 4);
  if (!lm) tss[8] = uint8_t(kData);
  tss[0x66] = 0x68;
  put(c, kTss, tss);
  for (unsigned v = 0; v < 32; ++v) {
    put(c, kStubs + v * kStubSize, stub(mode, v));
    put_gate(c, mode, v);
  }
  CpuState& s = c.init;
  s = loader_base_state();
  s.gdtr = DescTable{kGdt, 0x5f, 0};
  s.idtr = DescTable{kIdt, lm ? 32u * 16 - 1 : 32u * 8 - 1, 0};
  const uint16_t cs = lm ? kCode64 : kCode32;
  s.seg[CS] = hidden(cs, kFlatDescriptors[cs >> 3]);
  for (int sg : {ES, SS, DS, FS, GS}) s.seg[sg] = hidden(kData, kFlatDescriptors[kData >> 3]);
  s.tr = SegReg{kTssSel, 0, 0x8b, 0x67, 0, kTss};
  s.rip = kKernelCode;
  s.gpr[RSP] = kKernelStack + 0xf00;
  s.cr0 = cr0::PE | cr0::MP | cr0::ET | cr0::NE | cr0::PG;
  s.cr4 = cr4::OSFXSR | cr4::OSXMMEXCPT;
  s.mode = lm ? Mode::Long64 : Mode::Prot32;
  s.code_size = lm ? 8 : 4;
  s.stack_size = lm ? 8 : 4;
  if (lm) {
    s.cr4 |= cr4::PAE;
    s.efer = efer::LME | efer::LMA;
  }
}

uint64_t identity_map(SysCase& c, PagingMode pm, TablePool& pool) {
  // Upper levels allow everything (P, R/W, U/S, A); the leaves are
  // supervisor pages except the user pages; A and D are preset so the
  // system pages' entries never change (the target's path is compared).
  auto user_page = [](uint64_t a) { return a == kUserCode || a == kUserStack || a == kUserData; };
  const uint64_t up = 0x27;
  if (pm == PagingMode::Bits32) {
    const uint64_t pd = pool.alloc(), pt = pool.alloc();
    put32(c, pd, uint32_t(pt | up));
    Bytes ptes(4096);
    for (uint64_t i = 0; i < 1024; ++i) {
      const uint32_t e = uint32_t((i << 12) | 0x63 | (user_page(i << 12) ? 4 : 0));
      std::memcpy(ptes.data() + 4 * i, &e, 4);
    }
    put(c, pt, ptes);
    return pd;
  }
  Bytes ptes(4096);
  for (uint64_t i = 0; i < 512; ++i) {
    const uint64_t e = (i << 12) | 0x63 | (user_page(i << 12) ? 4 : 0);
    std::memcpy(ptes.data() + 8 * i, &e, 8);
  }
  const uint64_t pt = pool.alloc(), pd = pool.alloc();
  put(c, pt, ptes);
  put64(c, pd, pt | up);
  if (pm == PagingMode::Pae) {
    // PDPTEs have only P, PWT, PCD (SDM 4.4.1); 32-byte aligned.
    const uint64_t pdpt = pool.alloc();
    put64(c, pdpt, pd | 1);
    return pdpt;
  }
  uint64_t table = pd;
  const int levels = pm == PagingMode::Level5 ? 5 : 4;
  for (int l = 3; l <= levels; ++l) {
    const uint64_t t = pool.alloc();
    put64(c, t, table | up);
    table = t;
  }
  return table;
}

void emit_enter_user(Asm& a, uint64_t rip, uint64_t rsp, uint64_t rflags, bool code32) {
  const bool lm = a.mode() == FlatMode::Long64;
  // SDM Vol. 2 IRET: the frame is RIP, CS, RFLAGS, RSP, SS from the top.
  a.push_imm(kUserDataSel);
  a.push_imm(int64_t(rsp));
  a.mov_imm(lm ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX, rflags);
  a.push_reg(lm ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX);
  a.push_imm(lm && !code32 ? kUserCode64 : kUserCode32);
  a.push_imm(int64_t(rip));
  if (lm) a.op(ZYDIS_MNEMONIC_IRETQ, {});
  else a.op(ZYDIS_MNEMONIC_IRETD, {});
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}

void set_ac(Asm& a) {
  const bool lm = a.mode() == FlatMode::Long64;
  a.op(lm ? ZYDIS_MNEMONIC_PUSHFQ : ZYDIS_MNEMONIC_PUSHFD, {});
  a.op(ZYDIS_MNEMONIC_OR, {mem_operand(lm ? ZYDIS_REGISTER_RSP : ZYDIS_REGISTER_ESP, 0, 4), imm_operand(int64_t(fl::AC))});
  a.op(lm ? ZYDIS_MNEMONIC_POPFQ : ZYDIS_MNEMONIC_POPFD, {});
}

void user_data_segments(SysCase& c) {
  for (int sg : {ES, DS, FS, GS}) c.init.seg[sg] = hidden(kUserDataSel, kFlatDescriptors[kUserDataSel >> 3]);
}

void compare_standard(SysCase& c, uint64_t tables_end) {
  c.compared.push_back({kTablePool, tables_end - kTablePool});
  c.compared.push_back({kKernelStack, 0x2000});  // kernel and user stacks
  c.compared.push_back({kResult, 0x2000});       // result and user data
}

}  // namespace sysgen
}  // namespace softvt::fuzz
