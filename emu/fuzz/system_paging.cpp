// The paging-and-protection family (system_cases.h): one target linear
// address mapped through its own paging-structure path with random entry
// bits at every level, random CR0.WP/AM, CR4.PSE/PGE/SMEP/SMAP, EFER.NXE
// and EFLAGS.AC, and one to three accesses to it (read, write,
// read-modify-write, fetch, or an implicit supervisor read of an LDT
// descriptor) made at CPL 0 or from user code entered with IRET. Compared:
// the vector, error code and frame of the fault (if any), CR2, the
// registers and the final paging structures (accessed and dirty bits).
//
// Modes: 32-bit paging (with or without CR4.PSE 4-MiB pages), PAE and
// 4-level paging. 5-level paging is not generated: this host's KVM does
// not support LA57 (KVM_GET_SUPPORTED_CPUID leaf 7 ECX = 0x104, bit 16
// clear; /proc/cpuinfo has no la57), so KVM_SET_SREGS would refuse
// CR4.LA57 and no case could be compared.
#include <cstring>

#include "emu/fuzz/prng.h"
#include "emu/fuzz/system_asm.h"
#include "emu/fuzz/system_cases.h"

namespace softvt::fuzz {
namespace {

using namespace sysmap;
using namespace sysgen;

constexpr uint64_t P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, D = 0x40, PS = 0x80;
constexpr uint64_t G = 0x100, NX = 1ull << 63;
// The model's MAXPHYADDR: bits 51:40 of PAE-format entries are reserved
// (SDM 4.4.2, 4.5.4), as are bits 20:13 of a 2-MiB PDE and bit 21 of a
// 4-MiB PDE with PSE-36 and MAXPHYADDR 40 (SDM Table 4-4).
constexpr unsigned kMaxPhy = 40;

enum class Access : uint8_t { Read, Write, Rmw, Fetch, Implicit };
// Writes and read-modify-writes go to the target + 16, so they never
// rewrite the code a later fetch runs (rewritten code would run arbitrary
// instructions, and at CPL 3 this host's KVM runs them on its AMD CPU,
// whose instructions differ from the Intel model's, e.g. 66H near RET).
constexpr int64_t kDataSlot = 16;
const char* access_name(Access a) {
  switch (a) {
    case Access::Read: return "read";
    case Access::Write: return "write";
    case Access::Rmw: return "rmw";
    case Access::Fetch: return "fetch";
    default: return "implicit";
  }
}

struct Params {
  PagingMode pm;
  FlatMode mode;
  bool cpl3, pse, wp, smep, smap, pge, nxe, am, ac;
  uint64_t lin = 0;
};

// Random bits of one paging-structure entry (SDM Tables 4-4..4-6, 4-14..
// 4-20): usually present and permissive, so that faults come from one or
// two levels; ignored bits 11:9 random.
uint64_t random_entry(Prng& r, bool wide, bool leaf) {
  uint64_t e = 0;
  if (!r.chance(1, 16)) e |= P;
  if (r.chance(3, 4)) e |= RW;
  if (r.chance(3, 4)) e |= US;
  if (r.chance(1, 4)) e |= PWT;
  if (r.chance(1, 4)) e |= PCD;
  if (r.chance(1, 2)) e |= A;
  e |= r.below(8) << 9;
  if (wide && r.chance(1, 5)) e |= NX;
  if (leaf) {
    if (r.chance(1, 2)) e |= D;
    if (r.chance(1, 4)) e |= G;
  }
  return e;
}

struct Path {
  std::vector<std::pair<uint64_t, uint64_t>> entries;  // address, value
  uint64_t frame = 0, page_size = 0;
};

unsigned index_of(const Params& p, int level) {
  if (p.pm == PagingMode::Bits32) return unsigned((p.lin >> (level == 2 ? 22 : 12)) & 0x3ff);
  if (p.pm == PagingMode::Pae && level == 3) return unsigned((p.lin >> 30) & 3);
  return unsigned((p.lin >> (12 + 9 * (level - 1))) & 0x1ff);
}

// A reserved bit for a `level` entry (0 when it has none to offer).
uint64_t reserved_bit(Prng& r, const Params& p, int level, bool large) {
  if (p.pm == PagingMode::Bits32) return large ? (1ull << 21) : 0;
  if (p.pm == PagingMode::Pae && level == 3) return 0;  // #GP at CR3 load instead
  if (large && level == 2 && r.chance(1, 2)) return 1ull << r.range(13, 20);
  return 1ull << r.range(kMaxPhy, 51);
}

Path build_path(Prng& r, SysCase& c, const Params& p, TablePool& pool, uint64_t root) {
  Path path;
  const bool wide = p.pm != PagingMode::Bits32;
  const int levels = p.pm == PagingMode::Bits32 ? 2 : p.pm == PagingMode::Pae ? 3 : 4;
  const int rsvd_level = r.chance(1, 8) ? int(r.range(1, levels)) : 0;
  uint64_t table = root;
  for (int level = levels; level >= 1; --level) {
    const uint64_t addr = table + index_of(p, level) * (wide ? 8 : 4);
    uint64_t e;
    bool large = false;
    if (p.pm == PagingMode::Pae && level == 3) {
      e = (r.chance(1, 16) ? 0 : P) | (r.chance(1, 4) ? PWT : 0) | (r.chance(1, 4) ? PCD : 0);
    } else {
      const bool ps = level == 2 ? r.chance(1, 3) : level >= 3 && r.chance(1, 16);
      large = level == 2 && ps && (p.pm != PagingMode::Bits32 || p.pse);
      e = random_entry(r, wide, level == 1 || large) | (ps ? PS : 0);
    }
    if (level == rsvd_level) e |= reserved_bit(r, p, level, large);
    if (level == 1 || large) {
      path.page_size = level == 1 ? 0x1000 : p.pm == PagingMode::Bits32 ? 0x400000 : 0x200000;
      path.frame = level == 1 ? kFrame4K : path.page_size == 0x400000 ? kFrame4M : kFrame2M;
      e |= path.frame;
      path.entries.push_back({addr, e});
      break;
    }
    const uint64_t next = pool.alloc();
    e |= next;
    path.entries.push_back({addr, e});
    table = next;
  }
  for (const auto& [addr, v] : path.entries) {
    if (wide) put64(c, addr, v);
    else put32(c, addr, uint32_t(v));
  }
  return path;
}

// Exclusion: at CPL 3, this host's KVM answers every access to the
// 512 GiB at PML4 slot 256 (0xffff800000000000-0xffff807fffffffff) with a
// not-present #PF (error code P = 0, no RSVD, I/D as the host's EFER.NXE
// has it; measured for reads, writes and fetches through valid user
// translations), so CPL-3 cases never put their target there: its PVM
// runs user code on the CPU, apparently with that slot reserved for
// itself. The SDM (4.5) gives the slot no special meaning.
constexpr uint64_t kPvmReservedSlot = 256;

uint64_t random_lin(Prng& r, PagingMode pm, bool cpl3) {
  uint64_t lin;
  switch (pm) {
    case PagingMode::Bits32: lin = uint64_t(r.range(1, 1023)) << 22 | r.below(1u << 22); break;
    case PagingMode::Pae: lin = uint64_t(r.range(1, 3)) << 30 | r.below(1u << 30); break;
    default: {
      uint64_t slot = uint64_t(r.range(1, 511));
      if (cpl3 && slot == kPvmReservedSlot) slot = kPvmReservedSlot + 1;
      lin = slot << 39 | r.below(1ull << 39);
      if (lin >> 47) lin |= 0xffff000000000000ull;  // canonical (SDM 3.3.7.1)
    }
  }
  // Leave room for the 24 bytes the target holds; sometimes misaligned.
  lin &= ~uint64_t(0xfff);
  return lin | (r.below(0xfe0 / 8) * 8 + (r.chance(1, 4) ? r.range(1, 7) : 0));
}

// One access to the target (RSI/ESI holds it; RCX/ECX the written value);
// returns its operand size.
unsigned emit_access(Asm& a, Prng& r, Access k, bool lm) {
  const ZydisRegister ptr = lm ? ZYDIS_REGISTER_RSI : ZYDIS_REGISTER_ESI;
  const unsigned sizes[4] = {1, 2, 4, 8};
  const unsigned size = sizes[r.below(lm ? 4 : 3)];
  switch (k) {
    case Access::Read:
      a.op(ZYDIS_MNEMONIC_MOV, {reg_operand(gpr(2, size)), mem_operand(ptr, 0, size)});
      break;
    case Access::Write:
      a.op(ZYDIS_MNEMONIC_MOV, {mem_operand(ptr, kDataSlot, size), reg_operand(gpr(1, size))});
      break;
    case Access::Rmw:
      a.op(ZYDIS_MNEMONIC_ADD, {mem_operand(ptr, kDataSlot, size), reg_operand(gpr(1, size))});
      break;
    case Access::Fetch: a.op(ZYDIS_MNEMONIC_CALL, {reg_operand(ptr)}); break;
    case Access::Implicit:
      // LDT index 1 (TI = 1), RPL 3: a DPL-3 data descriptor loads at any CPL.
      a.mov_imm(ZYDIS_REGISTER_EAX, 0x0f);
      a.op(ZYDIS_MNEMONIC_MOV, {reg_operand(ZYDIS_REGISTER_ES), reg_operand(ZYDIS_REGISTER_AX)});
      break;
  }
  return k == Access::Fetch ? 1 : k == Access::Implicit ? 8 : size;
}

}  // namespace

SysCase build_paging_case(uint64_t seed) {
  Prng r(seed ^ 0x7061676530000000ull);
  SysCase c;
  c.family = SysFamily::Paging;
  c.seed = seed;
  Params p{};
  // 4-level paging half of the time (the only mode this host's KVM runs).
  const PagingMode modes[4] = {PagingMode::Bits32, PagingMode::Pae, PagingMode::Level4, PagingMode::Level4};
  p.pm = modes[r.below(4)];
  p.mode = p.pm == PagingMode::Level4 ? FlatMode::Long64 : FlatMode::Prot32;
  p.cpl3 = r.chance(1, 2);
  p.pse = p.pm == PagingMode::Bits32 && r.chance(2, 3);
  p.wp = r.chance(1, 2), p.smep = r.chance(1, 3), p.smap = r.chance(1, 3), p.pge = r.chance(1, 2);
  p.nxe = p.pm != PagingMode::Bits32 && r.chance(2, 3);
  p.am = r.chance(1, 3), p.ac = r.chance(1, 3);
  // Exclusion: at CPL 3 with EFLAGS.AC = 1 this host's KVM raises #AC on
  // a misaligned access even with CR0.AM = 0 (measured: its PVM runs user
  // code on the CPU under the host's CR0.AM = 1), where the SDM (6.15,
  // "Interrupt 17") requires CR0.AM = 1 for alignment checking. Such cases
  // always set CR0.AM.
  if (p.cpl3 && p.ac) p.am = true;
  p.lin = random_lin(r, p.pm, p.cpl3);
  const bool lm = p.mode == FlatMode::Long64;
  init_machine(c, p.mode);
  TablePool pool;
  const uint64_t root = identity_map(c, p.pm, pool);
  const Path path = build_path(r, c, p, pool, root);

  CpuState& s = c.init;
  s.cr3 = root;
  if (p.pm != PagingMode::Pae) s.cr3 |= (r.chance(1, 4) ? PWT : 0) | (r.chance(1, 4) ? PCD : 0);
  if (p.pm != PagingMode::Bits32) s.cr4 |= cr4::PAE;
  if (p.pse) s.cr4 |= cr4::PSE;
  if (p.pge) s.cr4 |= cr4::PGE;
  if (p.smep) s.cr4 |= cr4::SMEP;
  if (p.smap) s.cr4 |= cr4::SMAP;
  if (p.wp) s.cr0 |= cr0::WP;
  if (p.am) s.cr0 |= cr0::AM;
  if (p.nxe) s.efer |= efer::NXE;

  // The target's bytes: MOV EAX, imm32; RET (the fetch's callee), then
  // at +8 a DPL-3 data descriptor (the implicit access's LDT entry 1;
  // accessed or not: loading one that is not makes the CPU write its
  // accessed bit, SDM 3.4.5.1), then at +16 the data that writes change.
  const uint64_t phys = path.frame + (p.lin & (path.page_size - 1));
  Bytes target(24);
  for (auto& b : target) b = uint8_t(r.next());
  target[0] = 0xb8, target[5] = 0xc3;
  const bool desc_accessed = r.chance(1, 2);
  const uint64_t desc = desc_accessed ? 0x00cff3000000ffffull : 0x00cff2000000ffffull;
  std::memcpy(target.data() + 8, &desc, 8);
  put(c, phys, target);

  // The LDT (base = the target) for the implicit access.
  std::vector<Access> acc;
  const unsigned n = unsigned(r.range(1, 3));
  for (unsigned i = 0; i < n; ++i) acc.push_back(Access(r.below(5)));
  bool implicit = false;
  for (Access k : acc) implicit |= k == Access::Implicit;
  const uint64_t ldt_low = (0xfull) | ((p.lin & 0xffffff) << 16) | (uint64_t(0x82) << 40) |
                           (((p.lin >> 24) & 0xff) << 56);
  put64(c, kGdt + kLdtSel, ldt_low);
  if (lm) put64(c, kGdt + kLdtSel + 8, p.lin >> 32);

  Asm k(p.mode, kKernelCode);
  if (p.ac && !p.cpl3) set_ac(k);
  if (p.cpl3) user_data_segments(c);
  if (implicit) {
    k.mov_imm(ZYDIS_REGISTER_EAX, kLdtSel);
    k.op(ZYDIS_MNEMONIC_LLDT, {reg_operand(ZYDIS_REGISTER_AX)});
  }
  const uint64_t user_rflags = 0x202 | (p.ac ? fl::AC : 0);
  const uint64_t user_rsp = kUserStack + 0x1000 - 8 * r.below(4);
  Asm u(p.mode, kUserCode);
  Asm& body = p.cpl3 ? u : k;
  body.mov_imm(lm ? ZYDIS_REGISTER_RSI : ZYDIS_REGISTER_ESI, p.lin);
  body.mov_imm(lm ? ZYDIS_REGISTER_RCX : ZYDIS_REGISTER_ECX, r.next() & (lm ? ~0ull : 0xffffffffull));
  static const char kLetters[] = "rwmfi";
  for (Access a : acc) c.accesses.push_back({kLetters[unsigned(a)], emit_access(body, r, a, lm)});
  body.hlt();  // at CPL 3: #GP(0), the end of the case (vector 13 at this RIP)
  if (p.cpl3) emit_enter_user(k, kUserCode, user_rsp, user_rflags, false);
  put(c, kKernelCode, k.bytes());
  if (p.cpl3) put(c, kUserCode, u.bytes());

  compare_standard(c, pool.next);
  c.compared.push_back({phys & ~uint64_t(0xfff), 0x1000});
  // Exclusions (this host's KVM, measured; the SDM is not ambiguous):
  // - a fault delivered to the CPL-0 stub leaves EFLAGS.AC cleared under
  //   KVM; interrupt and exception delivery clears only TF, VM, RF, NT and
  //   (interrupt gates) IF (SDM 6.12.1.3), so AC stays as it was. The
  //   frame's RFLAGS image, which shows AC at the fault, is still compared.
  if (p.ac) c.rflags_ignore |= fl::AC;
  // - KVM's instruction emulator performs a read-modify-write as a read
  //   and then a write: when the write faults (read-only page), the read's
  //   translation has already set the accessed flags of the path. The CPU
  //   translates an RMW operand once, as a write (its #PF error code has
  //   W = 1), and sets accessed flags only for a translation it uses (SDM
  //   4.8), so the interpreter sets none. Ignored when a case with an RMW
  //   ends in #PF (other accesses' accessed flags are still compared).
  // - setting a descriptor's accessed flag is a locked write whose width
  //   the SDM does not give (3.4.5.1, 8.1.2.1): the interpreter writes the
  //   dword holding the type byte (descriptor + 5, rounded down to 4),
  //   KVM's emulator the whole descriptor, and when that write faults KVM
  //   reports a CR2 8 to 32 bytes below the descriptor (measured; no
  //   address the write touches). CR2 is then not compared (the vector,
  //   error code and frame are).
  if (implicit && !desc_accessed) c.cr2_ignore = ~uint64_t(0);
  bool rmw = false;
  for (Access a : acc) rmw |= a == Access::Rmw;
  if (rmw)
    for (const auto& [addr, v] : path.entries) c.pf_ignore.push_back({addr & ~uint64_t(7), A << ((addr & 7) * 8)});

  c.kind = paging_mode_name(p.pm);
  c.paging = p.pm;
  c.target = p.lin;
  c.target_path = path.entries;
  std::string sum = std::string(paging_mode_name(p.pm)) + " cpl" + (p.cpl3 ? "3" : "0") + " lin=" + hex(p.lin);
  for (const auto& [addr, v] : path.entries) sum += " e@" + hex(addr) + "=" + hex(v);
  sum += " cr0=" + hex(s.cr0) + " cr4=" + hex(s.cr4) + " efer=" + hex(s.efer) + (p.ac ? " ac" : "");
  for (Access a : acc) sum += std::string(" ") + access_name(a);
  c.summary = sum;
  return c;
}

}  // namespace softvt::fuzz
