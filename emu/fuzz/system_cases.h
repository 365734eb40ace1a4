// Randomized system scenarios (`softvt fuzz --suite system`): small
// generated machines that exercise the system architecture - paging and
// protection, fast system calls and their relatives - run at CPL 0 on the
// interpreter and on host KVM and compared by their final state.
//
// A case is a whole machine: physical memory contents (page tables, GDT,
// IDT, TSS, exception stubs, code) plus the initial CpuState (paging mode,
// control registers, MSRs), built from a seed by a splitmix/xoshiro PRNG
// (emu/fuzz/prng.h), so the same seed gives the same bytes everywhere.
// Every exception vector 0-31 has a stub that writes 0x100 + vector to the
// result area and halts: the vector is in the result area, the error code
// and the faulting RIP/CS/RFLAGS/RSP in the compared stack pages, CR2 in
// the final state.
//
// Physical layout (identity-mapped below 2 MiB, supervisor-only unless
// noted; the page tables come from kTablePool):
//   0x01000-0x07fff  page-table pool
//   0x08000  GDT (kGdt*), 0x08800 TSS
//   0x09000  IDT, 0x0a000 exception stubs (16 bytes per vector)
//   0x10000  kernel code        0x11000 user code (U)
//   0x12000  kernel stack page  0x13000 user stack page (U)
//   0x14000  result area        0x15000 user data page (U)
//   0x20000, 0x200000, 0x400000  the paging family's target frames
//                                (4 KiB, 2 MiB and 4 MiB pages)
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emu/cpu_model.h"
#include "emu/cpu_state.h"
#include "emu/fuzz/encoding.h"
#include "emu/loader/flat.h"

namespace softvt::fuzz {

enum class SysFamily : uint8_t { Paging, FastCall };
constexpr unsigned kSysFamilies = 2;
const char* sys_family_name(SysFamily f);
bool parse_sys_family(const std::string& s, SysFamily& out);

namespace sysmap {
constexpr uint64_t kTablePool = 0x1000, kTablePoolEnd = 0x8000;
constexpr uint64_t kGdt = 0x8000, kTss = 0x8800;
constexpr uint64_t kIdt = 0x9000, kStubs = 0xa000, kStubSize = 16;
constexpr uint64_t kKernelCode = 0x10000, kUserCode = 0x11000;
constexpr uint64_t kKernelStack = 0x12000, kUserStack = 0x13000;
constexpr uint64_t kResult = 0x14000, kUserData = 0x15000;
constexpr uint64_t kFrame4K = 0x20000, kFrame2M = 0x200000, kFrame4M = 0x400000;
constexpr uint64_t kRamBytes = 8ull << 20;
// GDT selectors: ring-0 64-bit code, data, 32-bit code; ring-3 data,
// 64-bit code, 32-bit code (RPL 3); the busy TSS; an LDT whose base a
// case chooses (the paging family's implicit-access target).
constexpr uint16_t kCode64 = 0x08, kData = 0x10, kCode32 = 0x18;
constexpr uint16_t kUserDataSel = 0x23, kUserCode64 = 0x2b, kUserCode32 = 0x33;
constexpr uint16_t kTssSel = 0x38, kLdtSel = 0x48;
// Result area: +0 the stub's marker (0x100 + vector), +8.. what a case's
// code stores (RDMSR results, SGDT images, ...).
constexpr uint64_t kMarker = kResult;
}  // namespace sysmap

// The paging structures of a case, the kind of paging the CPU is in.
enum class PagingMode : uint8_t { Bits32, Pae, Level4, Level5, Off };
const char* paging_mode_name(PagingMode m);

struct MemChunk {
  uint64_t addr;
  Bytes bytes;
};

struct SysCase {
  SysFamily family = SysFamily::Paging;
  uint64_t seed = 0;
  std::string kind;                 // the scenario (e.g. "syscall", "4-level")
  PagingMode paging = PagingMode::Level4;
  // The paging family's parameters, for tests that check outcomes against
  // the SDM: the target linear address, its paging-structure entries (top
  // level first: physical address, value) and the accesses in order
  // ('r' read, 'w' write, 'm' read-modify-write, 'f' fetch, 'i' implicit)
  // with their operand sizes.
  uint64_t target = 0;
  std::vector<std::pair<uint64_t, uint64_t>> target_path;
  std::vector<std::pair<char, unsigned>> accesses;
  std::string summary;              // the randomized parameters, one line
  std::vector<MemChunk> memory;     // initial RAM contents (physical)
  CpuState init{};
  // Physical ranges compared after the run (tables, stacks, result, data).
  std::vector<std::pair<uint64_t, uint64_t>> compared;
  // RFLAGS and CR2 bits the final comparison ignores (documented where set).
  uint64_t rflags_ignore = 0, cr2_ignore = 0;
  // Bits of 8-byte words of compared memory ignored when both runs ended
  // in a #PF (documented where set): physical address, mask.
  std::vector<std::pair<uint64_t, uint64_t>> pf_ignore;
};

// The CPU model both backends run with: the default model without the
// features this host's KVM does not give its guest although the model has
// them, so that both sides agree on what exists (measured with the
// default model; KVM_GET_SUPPORTED_CPUID lacks each of them):
//   pdpe1gb  a PDPTE with PS = 1 is a reserved-bit #PF under KVM
//   rdtscp, rdpid  WRMSR to IA32_TSC_AUX is #GP(0), RDPID #UD under KVM
//   invpcid  INVPCID is #UD under KVM (at CPL 3 too, before the CPL check)
//   pcid     KVM_SET_SREGS refuses CR4.PCIDE = 1
// With them, the interpreter alone is checked (tests/unit/test_fuzz_system.cpp).
constexpr const char* kFeaturesKvmLacks[] = {"pdpe1gb", "rdtscp", "rdpid", "invpcid", "pcid"};
const CpuModel& sys_model();

SysCase build_sys_case(SysFamily f, uint64_t seed);

// What the families share (system_machine.cpp).
namespace sysgen {
// A fresh machine: GDT, TSS (RSP0/ESP0 = top of the kernel stack), IDT
// with a stub per exception vector, in `mode` (Long64: 64-bit gates and
// TSS; otherwise 32-bit); the state's segments, GDTR, IDTR, TR and LDTR
// (null) are set up for CPL 0 in the code segment of `mode`.
void init_machine(SysCase& c, FlatMode mode);
// Identity maps [0, 2 MiB) in 4-KiB pages with the paging structures of
// `pm` rooted at a table from `pool` (returned as CR3): user pages are the
// user code, stack and data pages. Returns the table root.
struct TablePool {
  uint64_t next = sysmap::kTablePool;
  uint64_t alloc(uint64_t align = 0x1000);
};
uint64_t identity_map(SysCase& c, PagingMode pm, TablePool& pool);
// Writes bytes/values into the case's memory (later chunks win).
void put(SysCase& c, uint64_t addr, const Bytes& b);
void put64(SysCase& c, uint64_t addr, uint64_t v);
void put32(SysCase& c, uint64_t addr, uint32_t v);
// The code that moves to CPL 3: an IRETQ/IRETD frame (SS, RSP, RFLAGS, CS,
// RIP) built with pushes; `code32` selects the compatibility-mode user
// code segment in long mode.
void emit_enter_user(class Asm& a, uint64_t rip, uint64_t rsp, uint64_t rflags, bool code32);
// Sets EFLAGS.AC with PUSHF; OR [xSP], AC; POPF. (This host's KVM drops
// AC from the RFLAGS given with KVM_SET_REGS at CPL 0 - measured - so the
// cases set it in code, which both backends execute.)
void set_ac(class Asm& a);
// Loads ES, DS, FS and GS with the DPL-3 data selector in the initial
// state. A case that enters CPL 3 with IRET uses them: IRET to an outer
// level nulls a data segment register whose DPL is below the new CPL (SDM
// Vol. 2 IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL), which the interpreter
// does and this host's KVM does not (measured: the selectors stay 0x10),
// and a 32-bit exception stub cannot use a null DS.
void user_data_segments(SysCase& c);
// Lower-case hexadecimal without prefix (case summaries).
std::string hex(uint64_t v);
// The standard compared ranges: stacks, result area, user data, tables.
void compare_standard(SysCase& c, uint64_t tables_end);
}  // namespace sysgen

SysCase build_paging_case(uint64_t seed);
SysCase build_fastcall_case(uint64_t seed);

}  // namespace softvt::fuzz
