// Memory access paths of a CPU: segmentation checks (SDM Vol. 3A 5.3,
// 3.4.5), the software TLB in front of the page walker, page-crossing and
// MMIO slow paths, and the stack.
#include "emu/cpu.h"
#include "emu/nested_paging.h"
#include "emu/paging.h"
#include "vmx/apic_virtualization.h"

namespace softvt {

namespace {
inline bool canonical(uint64_t a, unsigned bits) {
  int64_t s = int64_t(a << (64 - bits)) >> (64 - bits);
  return uint64_t(s) == a;
}

// The alignment an operand of `size` bytes needs under alignment checking
// (SDM Vol. 3A 6.15 "Interrupt 17", Table 6-7): words 2, doublewords 4,
// quadwords 8, 48-bit far pointers 4, 80-bit extended reals 8; 0 when not
// checked here (bytes, and the larger images whose instructions have
// their own rules).
inline unsigned ac_alignment(unsigned size) {
  switch (size) {
    case 2: return 2;
    case 4: case 6: return 4;
    case 8: case 10: return 8;
    default: return 0;
  }
}

// Alignment check of a data access's linear address, after segmentation
// and before paging (SDM 6.15 "Interrupt 17"): CR0.AM = 1, EFLAGS.AC = 1
// and CPL 3 make a misaligned access #AC(0). It takes precedence over the
// access's page fault (measured on this AMD host's CPU through KVM at CPL
// 3: a misaligned read of a not-present page raises #AC). Implicit
// supervisor accesses (descriptor tables, TSS) do not come through
// Cpu::linear and are never checked.
uint64_t alignment_checked(Cpu& cpu, uint64_t lin, unsigned size) {
  const CpuState& s = cpu.s;
  if (s.cpl == 3 && (s.cr0 & cr0::AM) && (s.rflags & fl::AC)) {
    const unsigned align = ac_alignment(size);
    if (align && (lin & (align - 1))) cpu.raise(vec::AC, 0);
  }
  return lin;
}
}  // namespace

uint64_t Cpu::linear(uint8_t seg, uint64_t off, unsigned size, Acc acc) {
  const uint8_t fault_vec = seg == SS ? vec::SS : vec::GP;
  if (s.mode == Mode::Long64) {
    // 64-bit mode: no limit or type checks; FS/GS keep their base; the
    // address must be canonical (SDM 3.3.7.1, 5.3.1).
    uint64_t lin = off + ((seg == FS || seg == GS) ? s.seg[seg].base : 0);
    unsigned bits = (s.cr4 & cr4::LA57) ? 57 : 48;
    if (!canonical(lin, bits) || !canonical(lin + size - 1, bits)) raise(fault_vec, 0);
    return alignment_checked(*this, lin, size);
  }
  const SegReg& sr = s.seg[seg];
  if (s.mode != Mode::Real && s.mode != Mode::V86) {
    if (sr.attr & ar::UNUSABLE) raise(fault_vec, 0);
    const uint32_t type = sr.attr & ar::TYPE_MASK;
    const bool code = type & ar::TYPE_CODE;
    if (acc == Acc::Write && (code || !(type & ar::TYPE_RW))) raise(fault_vec, 0);
    if (acc == Acc::Read && code && !(type & ar::TYPE_RW)) raise(fault_vec, 0);
  }
  const uint32_t type = sr.attr & ar::TYPE_MASK;
  const bool expand_down = !(type & ar::TYPE_CODE) && (type & ar::TYPE_DC) &&
                           s.mode != Mode::Real && s.mode != Mode::V86;
  const uint64_t last = off + size - 1;
  if (expand_down) {
    // Valid offsets are limit+1 .. 0xffff or 0xffffffff (SDM 5.3).
    uint64_t upper = (sr.attr & ar::DB) ? 0xffffffffull : 0xffffull;
    if (off <= sr.limit || last > upper) raise(fault_vec, 0);
  } else if (last > sr.limit) {
    raise(fault_vec, 0);
  }
  return alignment_checked(*this, (sr.base + off) & 0xffffffffull, size);
}

namespace {
// The TLB permission bits a second-level translation allows (for both
// privilege levels: the second level knows no user/supervisor distinction
// without mode-based execute control, which no model offers).
uint32_t tlb_perm_of_nested(uint32_t nested) {
  using namespace tlb_perm;
  uint32_t p = 0;
  if (nested & nested_perm::READ) p |= READ_S | READ_U;
  if (nested & nested_perm::WRITE) p |= WRITE_S | WRITE_U;
  if (nested & nested_perm::EXEC) p |= EXEC_S | EXEC_U;
  return p;
}
}  // namespace

const TlbEntry& Cpu::fill_tlb(uint64_t lin, Acc acc, bool user) {
  using namespace tlb_perm;
  uint64_t phys;
  uint32_t perm;
  unsigned page_shift = 12;
  bool global = false;
  if (!(s.cr0 & cr0::PG)) {
    phys = lin & ~uint64_t(0xfff);
    perm = READ_S | WRITE_S | EXEC_S | READ_U | WRITE_U | EXEC_U;
  } else {
    Translation t = walk_page_tables(*this, lin, acc, user);
    phys = t.phys & ~uint64_t(0xfff);
    global = t.global;
    const bool smap_blocks = t.user && (s.cr4 & cr4::SMAP);
    const bool sup_write = t.dirty && (t.writable || !(s.cr0 & cr0::WP));
    perm = 0;
    // Supervisor access to user pages under SMAP depends on EFLAGS.AC:
    // never cache it, so every such access re-checks.
    if (!smap_blocks) perm |= READ_S | (sup_write ? WRITE_S : 0);
    if (!t.nx && !(t.user && (s.cr4 & cr4::SMEP))) perm |= EXEC_S;
    if (t.user) {
      perm |= READ_U;
      if (t.writable && t.dirty) perm |= WRITE_U;
      if (!t.nx) perm |= EXEC_U;
    }
    page_shift = t.page_shift;
  }
  phys = apply_a20(phys);
  // Guest mode with a second level: the guest-physical page goes through
  // it, and the entry caches the combined translation with the
  // intersection of both levels' permissions (emu/nested_paging.h).
  if (nested_paging) {
    const uint64_t gpa = phys | (lin & 0xfff);  // the exit reports the access's own address
    const NestedTranslation nt = nested_paging->translate(*this, gpa, NestedAccess{acc, NestedKind::Final, lin, user});
    phys = nt.hpa & ~uint64_t(0xfff);
    perm &= tlb_perm_of_nested(nt.perm);
  }
  // VMX "virtualize APIC accesses": an access to the APIC-access page exits
  // or, at VTPR, is finished by the slow paths; no access is cached
  // (vmx/apic_virtualization.h).
  if (vmx.non_root && phys == vmx.controls.apic_access_page) {
    vmx::check_apic_access_page(*this, lin, acc);
    perm = APIC_ACCESS;
  }
  // Writes to pages holding decoded code take the slow path so that the
  // blocks on them are invalidated (self-modifying code).
  if (mem.is_code_page(phys)) perm = (perm & ~WRITE) | ((perm & WRITE) << CODE_SHIFT);
  const unsigned index = unsigned(lin >> 12) & (TLB_SIZE - 1);
  TlbEntry& e = tlb[index];
  if (!e.tag) log_tlb_fill(index);
  e.tag = tlb_key(lin);
  e.phys = phys;
  e.host = mem.ram_page(phys);
  // A page holding an enabled data breakpoint gets no host pointer: every
  // access to it takes the slow path, which compares (emu/debug.h).
  if ((dbg.data_armed && debug_page_watched(*this, lin)) || trace_writes()) e.host = nullptr;
  e.perm = perm | (page_shift << PAGE_SHIFT_POS) | (global ? GLOBAL : 0);
  e.space = tlb_space_;
  return e;
}

void Cpu::set_tlb_code_page(uint64_t phys_page, bool code) {
  using namespace tlb_perm;
  for_each_tlb_entry([&](TlbEntry& e) {
    if (!e.tag || e.phys != phys_page) return;
    if (code) e.perm = (e.perm & ~WRITE) | ((e.perm & WRITE) << CODE_SHIFT);
    else e.perm = (e.perm & ~CODE_WRITE) | ((e.perm & CODE_WRITE) >> CODE_SHIFT);
  });
}

const TlbEntry& Cpu::translate(uint64_t lin, Acc acc, bool user) {
  TlbEntry& e = tlb[(lin >> 12) & (TLB_SIZE - 1)];
  const uint32_t need = tlb_need(acc, user);
  const uint64_t key = tlb_key(lin);
  // A global translation cached under another slot of this context (another
  // PCID, or this one before a flush) serves every PCID (SDM 4.10.2.4):
  // adopt it into the current space.
  if (e.tag != key && e.tag && (e.tag ^ key) < 0x1000 && (e.perm & tlb_perm::GLOBAL) &&
      tlb_space::same_context(e.space, tlb_space_)) {
    e.tag = key;
    e.space = tlb_space_;
  }
  if (e.tag == key && (e.perm & (need | ((need << tlb_perm::CODE_SHIFT) & tlb_perm::CODE_WRITE))))
    return e;
  // A miss, or a cached entry that does not allow this access: walk again
  // (the walk raises #PF, or sets the D bit for a first write).
  return fill_tlb(lin, acc, user);
}

namespace {
// Linear address of the second page of a page-crossing access; linear
// addresses wrap at 4 GiB outside IA-32e mode.
inline uint64_t next_page_lin(const Cpu& c, uint64_t lin) {
  uint64_t n = (lin | 0xfff) + 1;
  return (c.s.efer & efer::LMA) ? n : (n & 0xffffffffull);
}
}  // namespace

uint64_t Cpu::read_lin_slow(uint64_t lin, unsigned size, Acc acc, bool user) {
  if (dbg.data_armed && acc == Acc::Read) debug_data_access(*this, lin, size, false);
  unsigned in_page = 0x1000 - unsigned(lin & 0xfff);
  if (size <= in_page) {
    const TlbEntry& e = translate(lin, acc, user);
    if (e.perm & tlb_perm::APIC_ACCESS) return vmx::read_apic_access_page(*this, lin, size);
    return mem.read_phys(e.phys | (lin & 0xfff), size);
  }
  uint64_t lin2 = next_page_lin(*this, lin);
  uint64_t p1 = translate(lin, acc, user).phys | (lin & 0xfff);
  uint64_t p2 = translate(lin2, acc, user).phys;
  uint64_t lo = mem.read_phys(p1, in_page);
  uint64_t hi = mem.read_phys(p2, size - in_page);
  return lo | (hi << (8 * in_page));
}

void Cpu::probe_write_lin(uint64_t lin, unsigned size, bool user) {
  const TlbEntry& e = translate(lin, Acc::Write, user);
  if (e.perm & tlb_perm::APIC_ACCESS) vmx::probe_apic_access_page(*this, lin, size);
  if ((lin & 0xfff) + size > 0x1000) translate(next_page_lin(*this, lin), Acc::Write, user);
}

void Cpu::write_lin_slow(uint64_t lin, unsigned size, uint64_t value, bool user) {
  if (dbg.data_armed) debug_data_access(*this, lin, size, true);
  unsigned in_page = 0x1000 - unsigned(lin & 0xfff);
  if (size <= in_page) {
    const TlbEntry& e = translate(lin, Acc::Write, user);
    if (e.perm & tlb_perm::APIC_ACCESS) vmx::write_apic_access_page(*this, lin, size, value);
    else mem.write_phys(e.phys | (lin & 0xfff), size, value);
    if (trace_writes()) tracer->mem_write(*this, lin, size, value);
    return;
  }
  // Both pages are checked before either is written, so a fault on the
  // second page leaves memory unchanged.
  uint64_t lin2 = next_page_lin(*this, lin);
  uint64_t p1 = translate(lin, Acc::Write, user).phys | (lin & 0xfff);
  uint64_t p2 = translate(lin2, Acc::Write, user).phys;
  mem.write_phys(p1, in_page, value);
  mem.write_phys(p2, size - in_page, value >> (8 * in_page));
  if (trace_writes()) tracer->mem_write(*this, lin, size, value);
}

uint64_t Cpu::sp_mask() const {
  switch (s.stack_size) {
    case 8: return ~uint64_t(0);
    case 4: return 0xffffffffull;
    default: return 0xffffull;
  }
}

void Cpu::push(uint64_t value, unsigned size) {
  const uint64_t m = sp_mask();
  const uint64_t nsp = (s.gpr[RSP] - size) & m;
  write(SS, nsp, size, value);
  s.gpr[RSP] = (s.gpr[RSP] & ~m) | nsp;
}

uint64_t Cpu::pop(unsigned size) {
  const uint64_t m = sp_mask();
  const uint64_t sp = s.gpr[RSP] & m;
  uint64_t v = read(SS, sp, size);
  s.gpr[RSP] = (s.gpr[RSP] & ~m) | ((sp + size) & m);
  return v;
}

uint64_t Cpu::read_stack(uint64_t offset_from_sp, unsigned size) {
  const uint64_t m = sp_mask();
  return read(SS, (s.gpr[RSP] + offset_from_sp) & m, size);
}

}  // namespace softvt
