// Segment register loads and descriptor handling (SDM Vol. 3A 3.4, 5.5-5.8,
// Vol. 2 MOV/POP Sreg), plus the descriptor helpers of emu/segments.h.
#include "emu/segments.h"

namespace softvt {

// ---- descriptor fields ------------------------------------------------------

uint64_t desc::base(uint64_t d) {
  return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

uint32_t desc::limit(uint64_t d) {
  uint32_t raw = uint32_t((d & 0xffff) | (((d >> 48) & 0xf) << 16));
  // G = 1: the limit counts 4-KiB units (SDM 3.4.5 "G flag").
  return (d & (1ull << 55)) ? (raw << 12) | 0xfff : raw;
}

uint64_t mask_of_size(unsigned bytes) {
  return bytes >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * bytes)) - 1;
}

bool is_canonical(const Cpu& cpu, uint64_t addr) {
  const unsigned bits = (cpu.s.cr4 & cr4::LA57) ? 57 : 48;
  return uint64_t(int64_t(addr << (64 - bits)) >> (64 - bits)) == addr;
}

// ---- descriptor tables ------------------------------------------------------

uint64_t descriptor_address(const Cpu& cpu, uint16_t sel) {
  const uint64_t base = (sel & 4) ? cpu.s.ldtr.base : cpu.s.gdtr.base;
  const uint64_t lin = base + (sel & ~7u);
  // Outside IA-32e mode linear addresses are 32 bits wide (SDM 3.3.6).
  return cpu.long_mode() ? lin : (lin & 0xffffffffull);
}

namespace {

// The limit of the table `sel` refers to; raises fault_vector(sel) for an
// LDT reference while LDTR is unusable (SDM 5.4: a null LDTR makes every
// TI = 1 reference fault).
uint32_t table_limit(Cpu& cpu, uint16_t sel, uint8_t fault_vector) {
  if (!(sel & 4)) return cpu.s.gdtr.limit;
  if (cpu.s.ldtr.attr & ar::UNUSABLE) cpu.raise(fault_vector, selector_error(sel));
  return cpu.s.ldtr.limit;
}

}  // namespace

uint64_t Cpu::read_descriptor(uint16_t selector, uint8_t fault_vector) {
  const uint32_t limit = table_limit(*this, selector, fault_vector);
  // All 8 bytes must lie inside the table (SDM 5.4 "limit checks").
  if ((selector | 7u) > limit) raise(fault_vector, selector_error(selector));
  return read_sys(descriptor_address(*this, selector), 8);
}

uint64_t read_descriptor_high(Cpu& cpu, uint16_t sel, uint8_t fault_vector) {
  const uint32_t limit = table_limit(cpu, sel, fault_vector);
  if (uint64_t(sel & ~7u) + 15 > limit) cpu.raise(fault_vector, selector_error(sel));
  return cpu.read_sys(descriptor_address(cpu, sel) + 8, 8);
}

void Cpu::set_descriptor_accessed(uint16_t selector, uint64_t d) {
  // The processor sets the accessed bit when it loads a segment register
  // (SDM 3.4.5 "Type field"); a locked write of the type byte.
  if (d & (uint64_t(desc::TYPE_ACCESSED) << 40)) return;
  write_sys(descriptor_address(*this, selector) + 5, 1, ((d >> 40) & 0xff) | desc::TYPE_ACCESSED);
}

SegReg Cpu::segment_from_descriptor(uint16_t selector, uint64_t d) {
  SegReg r{};
  r.sel = selector;
  r.base = desc::base(d);
  r.limit = desc::limit(d);
  r.attr = uint32_t((d >> 40) & 0xff) | uint32_t(((d >> 52) & 0xf) << 12);
  return r;
}

// A null selector load clears the hidden base (and limit). Intel does so;
// AMD parts before Zen 2 left the base stale (Xen's XSA-191 test notes;
// Linux's X86_BUG_NULL_SEG probe), later ones clear it (CPUID
// 8000_0021H EAX[6], NullSelectorClearsBase). Both models here clear it:
// the amd model is a family 19H (Zen 3) part, and this project's AMD EPYC
// host, in ring 3, reads GS base 0 with RDGSBASE after MOV GS, 0.
SegReg null_segment(uint16_t sel, uint8_t dpl) {
  SegReg r{};
  r.sel = sel;
  r.attr = ar::UNUSABLE | (uint32_t(dpl) << ar::DPL_SHIFT);
  return r;
}

// ---- segment register loads -------------------------------------------------

void Cpu::load_real_segment(uint8_t seg, uint16_t selector) {
  SegReg& r = s.seg[seg];
  r.sel = selector;
  r.base = uint64_t(selector) << 4;
  if (s.mode == Mode::V86) {
    // Virtual-8086 segments: limit 64 KiB, present read/write accessed data
    // at DPL 3 (SDM 20.1.1; the state VM entry checks, SDM 26.3.1.2).
    r.limit = 0xffff;
    r.attr = 0xf3;
    return;
  }
  // Real mode changes only selector and base: limit and attributes loaded in
  // protected mode stay in effect ("unreal" mode, SDM 9.9.2). A register left
  // unusable by a null load becomes a usable read/write data segment.
  if (r.attr & ar::UNUSABLE) {
    r.attr = ar::P | ar::S | ar::TYPE_RW | ar::TYPE_ACCESSED;
    r.limit = 0xffff;
  }
}

namespace {

// MOV/POP SS in protected mode (SDM Vol. 2 MOV "IF SS is loaded").
void load_ss_protected(Cpu& cpu, uint16_t sel) {
  if (null_selector(sel)) {
    // 64-bit mode allows a null SS at CPL < 3 when RPL = CPL (SDM Vol. 2
    // MOV, "64-Bit Mode Exceptions"; SDM 3.4.4).
    if (cpu.in_64bit() && cpu.s.cpl < 3 && (sel & 3) == cpu.s.cpl) {
      cpu.s.seg[SS] = null_segment(sel, cpu.s.cpl);
      cpu.update_mode();
      return;
    }
    cpu.raise_gp0();
  }
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  if ((sel & 3) != cpu.s.cpl || !desc::writable_data(d) || desc::dpl(d) != cpu.s.cpl)
    cpu.raise(vec::GP, selector_error(sel));
  if (!desc::present(d)) cpu.raise(vec::SS, selector_error(sel));
  load_ss_checked(cpu, sel, d);
}

// MOV DS/ES/FS/GS in protected mode (SDM Vol. 2 MOV).
void load_data_protected(Cpu& cpu, uint8_t seg, uint16_t sel) {
  if (null_selector(sel)) {
    cpu.s.seg[seg] = null_segment(sel, 0);
    return;
  }
  const uint64_t d = cpu.read_descriptor(sel, vec::GP);
  bool ok = desc::code_or_data(d) && desc::readable(d);
  // Data and non-conforming code: DPL must be >= both CPL and RPL.
  if (ok && !desc::conforming(d) && ((sel & 3) > desc::dpl(d) || cpu.s.cpl > desc::dpl(d)))
    ok = false;
  if (!ok) cpu.raise(vec::GP, selector_error(sel));
  if (!desc::present(d)) cpu.raise(vec::NP, selector_error(sel));
  cpu.set_descriptor_accessed(sel, d);
  cpu.s.seg[seg] = Cpu::segment_from_descriptor(sel, d | (uint64_t(desc::TYPE_ACCESSED) << 40));
}

}  // namespace

void load_ss_checked(Cpu& cpu, uint16_t ss, uint64_t d) {
  cpu.set_descriptor_accessed(ss, d);
  cpu.s.seg[SS] = Cpu::segment_from_descriptor(ss, d | (uint64_t(desc::TYPE_ACCESSED) << 40));
  cpu.update_mode();  // SS.B selects the stack-address size
}

void Cpu::load_segment(uint8_t seg, uint16_t selector) {
  if (seg == CS) raise_ud();  // CS changes only through far transfers
  if (s.mode == Mode::Real || s.mode == Mode::V86) {
    load_real_segment(seg, selector);
  } else if (seg == SS) {
    load_ss_protected(*this, selector);
  } else {
    load_data_protected(*this, seg, selector);
  }
  if (seg == SS) {
    update_mode();
    // MOV SS and POP SS block interrupts and debug traps until the next
    // instruction completes (SDM Vol. 2 MOV, 6.8.3). LSS restores the
    // previous value: it is not one of them.
    s.interrupt_shadow = shadow::MOV_SS;
  }
}

void Cpu::load_cs_from_descriptor(uint16_t selector, uint64_t descriptor, uint8_t new_cpl) {
  s.seg[CS] = segment_from_descriptor(selector, descriptor | (uint64_t(desc::TYPE_ACCESSED) << 40));
  s.seg[CS].sel = uint16_t((selector & ~3) | new_cpl);
  s.cpl = new_cpl;
  update_mode();
  end_block = true;
}

// ---- stacks from the TSS ------------------------------------------------------

TssStack tss_stack_legacy(Cpu& cpu, uint8_t dpl, uint32_t ext) {
  const SegReg& tr = cpu.s.tr;
  const uint32_t err = selector_error(tr.sel) | ext;
  const uint8_t type = tr.attr & ar::TYPE_MASK;
  const auto lin = [&](uint64_t off) {
    return cpu.long_mode() ? tr.base + off : ((tr.base + off) & 0xffffffffull);
  };
  if (type == desc::TSS16_BUSY || type == desc::TSS16_AVAIL) {
    // 16-bit TSS: SPn at 2 + 4n, SSn at 4 + 4n (SDM 7.6).
    const uint32_t at = (uint32_t(dpl) << 2) + 2;
    if (at + 3 > tr.limit) cpu.raise(vec::TS, err);
    return TssStack{uint16_t(cpu.read_sys(lin(at + 2), 2)), cpu.read_sys(lin(at), 2)};
  }
  // 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n (SDM 7.2.1).
  const uint32_t at = (uint32_t(dpl) << 3) + 4;
  if (at + 5 > tr.limit) cpu.raise(vec::TS, err);
  return TssStack{uint16_t(cpu.read_sys(lin(at + 4), 2)), cpu.read_sys(lin(at), 4)};
}

uint64_t tss_stack_64(Cpu& cpu, uint8_t dpl, unsigned ist, uint32_t ext) {
  const SegReg& tr = cpu.s.tr;
  // RSPn at 4 + 8n; ISTn at 0x24 + 8(n-1) = 28 + 8n (SDM 7.7, Figure 7-11).
  const uint32_t at = ist ? (ist << 3) + 28 : (uint32_t(dpl) << 3) + 4;
  if (at + 7 > tr.limit) cpu.raise(vec::TS, selector_error(tr.sel) | ext);
  return cpu.read_sys(tr.base + at, 8);
}

uint64_t check_new_stack_segment(Cpu& cpu, uint16_t ss, uint8_t new_cpl, uint32_t ext) {
  if (null_selector(ss)) cpu.raise(vec::TS, ext);
  const uint32_t err = selector_error(ss) | ext;
  const uint32_t limit = (ss & 4) ? ((cpu.s.ldtr.attr & ar::UNUSABLE) ? 0 : cpu.s.ldtr.limit)
                                  : cpu.s.gdtr.limit;
  if (((ss & 4) && (cpu.s.ldtr.attr & ar::UNUSABLE)) || (ss | 7u) > limit || (ss & 3) != new_cpl)
    cpu.raise(vec::TS, err);
  const uint64_t d = cpu.read_sys(descriptor_address(cpu, ss), 8);
  if (desc::dpl(d) != new_cpl || !desc::writable_data(d)) cpu.raise(vec::TS, err);
  if (!desc::present(d)) cpu.raise(vec::SS, err);
  return d;
}

void null_inaccessible_data_segments(Cpu& cpu) {
  for (uint8_t seg : {ES, DS, FS, GS}) {
    const SegReg& r = cpu.s.seg[seg];
    const uint32_t type = r.attr & ar::TYPE_MASK;
    const bool conforming_code = (type & ar::TYPE_CODE) && (type & ar::TYPE_DC);
    // SDM Vol. 2 RET/IRET: "IF segment register points to data or
    // non-conforming code segment AND CPL > segment descriptor DPL THEN
    // load null selector" (an already-null register stays null).
    if (!(r.attr & ar::UNUSABLE) && !conforming_code && cpu.s.cpl > r.dpl())
      cpu.s.seg[seg] = null_segment(0, 0);
  }
}

bool offset_in_limit(const SegReg& r, uint64_t off, unsigned size) {
  const uint32_t type = r.attr & ar::TYPE_MASK;
  const bool expand_down = !(type & ar::TYPE_CODE) && (type & ar::TYPE_DC);
  const uint64_t last = off + size - 1;
  if (expand_down) {
    // Expand-down: valid offsets are limit+1 .. 0xffff or 0xffffffff (B).
    const uint64_t upper = (r.attr & ar::DB) ? 0xffffffffull : 0xffffull;
    return off > r.limit && last <= upper;
  }
  return last <= r.limit;
}

// ---- stack frames on a new stack ------------------------------------------------

StackFrame::StackFrame(Cpu& cpu, const SegReg& ss, unsigned addr_size, uint64_t sp, bool user,
                       uint32_t fault_err)
    : cpu_(cpu), ss_(ss), addr_size_(addr_size), sp_(sp), user_(user), fault_err_(fault_err) {}

void StackFrame::push(uint64_t value, unsigned size) {
  const uint64_t mask = mask_of_size(addr_size_);
  const uint64_t prev = n_ ? offsets_[n_ - 1] : (sp_ & mask);
  offsets_[n_] = (prev - size) & mask;
  values_[n_] = value;
  sizes_[n_] = uint8_t(size);
  ++n_;
}

uint64_t StackFrame::linear_of(unsigned i) const {
  if (addr_size_ == 8) return offsets_[i];  // 64-bit mode: SS base ignored
  return (ss_.base + offsets_[i]) & 0xffffffffull;
}

void StackFrame::check() {
  for (unsigned i = 0; i < n_; ++i) {
    if (addr_size_ == 8) {
      if (!is_canonical(cpu_, offsets_[i]) || !is_canonical(cpu_, offsets_[i] + sizes_[i] - 1))
        cpu_.raise(vec::SS, fault_err_);
    } else if (!offset_in_limit(ss_, offsets_[i], sizes_[i])) {
      cpu_.raise(vec::SS, fault_err_);
    }
  }
}

uint64_t StackFrame::write() {
  check();
  for (unsigned i = 0; i < n_; ++i) cpu_.probe_write_lin(linear_of(i), sizes_[i], user_);
  for (unsigned i = 0; i < n_; ++i) cpu_.write_lin(linear_of(i), sizes_[i], values_[i], user_);
  const uint64_t mask = mask_of_size(addr_size_);
  const uint64_t last = n_ ? offsets_[n_ - 1] : (sp_ & mask);
  return (sp_ & ~mask) | last;
}

}  // namespace softvt
