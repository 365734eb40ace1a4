// The run loop and the block cache: fetch/decode once per physical address
// and mode, then execute each record through its pre-resolved handler.
#include <utility>

#include "emu/block_cache.h"
#include "emu/cpu.h"
#include "vmx/event_exits.h"
#include "svm/intercepts.h"
#include "emu/nested_paging.h"
#include "emu/pmu.h"
#include "vmx/nonroot.h"

namespace softvt {

DecodeMode decode_mode_of(const Cpu& cpu) {
  switch (cpu.s.mode) {
    case Mode::Real:
    case Mode::V86: return DecodeMode::Real16;
    case Mode::Prot16: return DecodeMode::Prot16;
    case Mode::Prot32: return DecodeMode::Prot32;
    case Mode::Compat16: return DecodeMode::Compat16;
    case Mode::Compat32: return DecodeMode::Compat32;
    default: return DecodeMode::Long64;
  }
}

namespace {

// Sequential execution advances the 32-bit EIP outside 64-bit mode even in
// 16-bit code: only branches truncate it to the operand size (SDM Vol. 2
// JMP, "EIP <- EIP AND 0000FFFFH"). Running past CS:FFFF therefore fetches
// at EIP 0x10000, beyond the limit: #GP(0), as this host's KVM shows.
uint64_t sequential_ip_mask(const Cpu& cpu) {
  return cpu.s.code_size == 8 ? ~uint64_t(0) : 0xffffffffull;
}

bool is_iret(const Insn& in) {
  return in.mnemonic == ZYDIS_MNEMONIC_IRET || in.mnemonic == ZYDIS_MNEMONIC_IRETD ||
         in.mnemonic == ZYDIS_MNEMONIC_IRETQ;
}

// Linear address of the instruction byte at `offset` (RIP + i), with the
// CS limit check of SDM 5.3 / canonical check of 3.3.7.1 (#GP(0)).
uint64_t fetch_linear(Cpu& cpu, uint64_t offset) {
  if (cpu.s.mode == Mode::Long64) {
    unsigned bits = (cpu.s.cr4 & cr4::LA57) ? 57 : 48;
    int64_t sx = int64_t(offset << (64 - bits)) >> (64 - bits);
    if (uint64_t(sx) != offset) cpu.raise_gp0();
    return offset;
  }
  if (offset > cpu.s.seg[CS].limit) cpu.raise_gp0();
  return (cpu.s.seg[CS].base + offset) & 0xffffffffull;
}

// Instruction breakpoints, unless RF suppresses them, the instruction is a
// REP string instruction resuming after an iteration (its breakpoint was
// taken when it started), or it follows MOV SS / POP SS, whose shadow
// inhibits them in most situations (SDM 17.3.1.1).
// The host debugger's breakpoints come first and ignore RF and the shadow:
// they are not the guest's (emu/debug.h HostDebugger).
void check_instruction_breakpoint(Cpu& cpu, bool resuming_rep) {
  if (resuming_rep) return;
  if (cpu.dbg.host && cpu.dbg.host->stop_before(cpu)) throw HostBreakpointStop{};
  if ((cpu.s.rflags & fl::RF) || (cpu.s.interrupt_shadow & shadow::MOV_SS)) return;
  debug_check_instruction(cpu);
}

// An instruction that started with TF = 1 completed (or finished an
// iteration): a single-step trap follows it (SDM 17.3.1.4) - unless it
// delivered an event through the IDT (INT n, INT3, INTO, INT1), which
// cleared TF: what counts then is the TF it left.
void single_step_completed(Cpu& cpu) {
  if (!cpu.dbg.tf_after || (cpu.s.rflags & fl::TF)) cpu.dbg.pending |= dr6::BS;
  cpu.dbg.tf_after = false;
}

}  // namespace

Block* BlockCache::build(Cpu& cpu, uint64_t lin, uint64_t phys, DecodeMode mode) {
  auto b = std::make_unique<Block>();
  b->phys = phys;
  b->key = (phys << 3) | uint64_t(mode);
  const bool user = cpu.s.cpl == 3;
  const uint64_t ip_mask = sequential_ip_mask(cpu);
  uint64_t rip = cpu.s.rip;
  uint64_t cur_lin = lin;
  uint64_t cur_phys = phys;
  bool crossing = false;
  constexpr unsigned MAX_BLOCK = 64;
  for (unsigned n = 0; n < MAX_BLOCK; ++n) {
    const bool first = n == 0;
    uint8_t buf[16];
    unsigned in_page = 0x1000 - unsigned(cur_lin & 0xfff);
    unsigned avail = in_page < 15 ? in_page : 15;
    // CS limit: bytes beyond it cannot be fetched (non-64-bit modes).
    if (cpu.s.mode != Mode::Long64) {
      uint64_t room = uint64_t(cpu.s.seg[CS].limit) - rip + 1;
      if (rip > cpu.s.seg[CS].limit) room = 0;
      if (room < avail) avail = unsigned(room);
    }
    if (avail == 0) {
      if (first) cpu.raise_gp0();
      break;
    }
    const uint8_t* host = cpu.mem.ram_page(cur_phys);
    for (unsigned i = 0; i < avail; ++i)
      buf[i] = host ? host[(cur_phys & 0xfff) + i]
                    : uint8_t(cpu.mem.read_phys(cur_phys + i, 1));
    Insn in;
    DecodeStatus st = decoder_.decode(buf, avail, mode, in);
    unsigned got = avail;
    if (st == DecodeStatus::NeedMore && avail == in_page) {
      // The instruction continues on the next page: fetch it (this may
      // fault, which is right only for the instruction about to execute).
      if (!first) break;
      uint64_t want = 15 - avail;
      if (cpu.s.mode != Mode::Long64) {
        uint64_t lim = cpu.s.seg[CS].limit;
        uint64_t next_off = rip + avail;
        uint64_t room = next_off > lim ? 0 : lim - next_off + 1;
        if (room < want) want = room;
      }
      if (want == 0) cpu.raise_gp0();
      uint64_t lin2 = fetch_linear(cpu, (rip + avail) & ip_mask);
      uint64_t phys2 = cpu.translate(lin2, Acc::Exec, user).phys;
      for (unsigned i = 0; i < want; ++i) buf[avail + i] = uint8_t(cpu.mem.read_phys(phys2 + i, 1));
      got = avail + unsigned(want);
      st = decoder_.decode(buf, got, mode, in);
      crossing = true;
    }
    if (st != DecodeStatus::Ok) {
      if (!first) break;
      // Bytes end at the CS limit inside the instruction: #GP(0); an
      // instruction longer than 15 bytes: #GP(0); otherwise #UD.
      if (st == DecodeStatus::NeedMore || st == DecodeStatus::TooLong) cpu.raise_gp0();
      cpu.raise_ud();
    }
    b->insns.push_back(in);
    b->bytes.insert(b->bytes.end(), buf, buf + in.len);
    const uint64_t next = rip + in.len;
    rip = next & ip_mask;
    if (crossing || in.ends_block) break;
    // An EIP that wraps at 4 GiB continues at CS:0, not at the next linear
    // address: the block ends there.
    if (rip != next) break;
    cur_lin += in.len;
    cur_phys += in.len;
    if ((cur_lin & 0xfff) == 0) break;  // the block stays within one page
  }
  ++built_;
  if (crossing) {
    // Depends on two pages whose mapping may change independently: keep it
    // out of the cache and decode it afresh each time.
    b->cached = false;
    uncached_ = std::move(b);
    return uncached_.get();
  }
  Block* raw = b.get();
  const uint64_t page = phys >> 12;
  if (!cpu.mem.is_code_page(phys)) {
    cpu.mem.set_code_page(phys, true);
    // Cached translations must stop allowing fast writes to this page.
    if (sharing_cpus.empty()) cpu.set_tlb_code_page(phys & ~uint64_t(0xfff), true);
    for (Cpu* c : sharing_cpus) c->set_tlb_code_page(phys & ~uint64_t(0xfff), true);
  }
  CodePage& cp = pages_[page];
  cp.keys.push_back(raw->key);
  for (size_t i = 0, off = phys & 0xfff; i < raw->bytes.size() && off < 4096; ++i, ++off) cp.bytes.set(off);
  blocks_[raw->key] = std::move(b);
  return raw;
}

const Block& BlockCache::lookup(Cpu& cpu) {
  retired_.clear();
  const uint64_t lin = fetch_linear(cpu, cpu.s.rip);
  const uint64_t phys = cpu.translate(lin, Acc::Exec, cpu.s.cpl == 3).phys | (lin & 0xfff);
  const DecodeMode mode = decode_mode_of(cpu);
  const uint64_t key = (phys << 3) | uint64_t(mode);
  FastEntry& f = fast_[(key >> 3) & (FAST_SIZE - 1)];
  if (f.key == key) return *f.block;
  auto it = blocks_.find(key);
  Block* b = it != blocks_.end() ? it->second.get() : build(cpu, lin, phys, mode);
  if (b->cached) f = FastEntry{key, b};
  return *b;
}

void BlockCache::invalidate_page(uint64_t page) {
  auto it = pages_.find(page);
  if (it == pages_.end()) return;
  for (uint64_t key : it->second.keys) {
    auto bit = blocks_.find(key);
    if (bit == blocks_.end()) continue;
    FastEntry& f = fast_[(key >> 3) & (FAST_SIZE - 1)];
    if (f.key == key) f = FastEntry{};
    retired_.push_back(std::move(bit->second));
    blocks_.erase(bit);
  }
  pages_.erase(it);
}

bool BlockCache::write_hits_code(uint64_t phys, unsigned size) const {
  auto it = pages_.find(phys >> 12);
  if (it == pages_.end()) return false;
  for (unsigned i = 0, off = phys & 0xfff; i < size && off < 4096; ++i, ++off)
    if (it->second.bytes.test(off)) return true;
  return false;
}

void BlockCache::clear() {
  for (auto& [k, b] : blocks_) retired_.push_back(std::move(b));
  blocks_.clear();
  pages_.clear();
  for (auto& f : fast_) f = FastEntry{};
}

void Cpu::handle_exception(const GuestException& e) {
  if (tracer) tracer->exception(*this, e);
  // In VMX non-root operation the exception bitmap may turn it into a VM
  // exit, before CR2 is written (SDM Vol. 3C 27.2).
  if (vmx.non_root && vmx::intercept_exception(*this, e)) return;
  // SVM guest mode: the exception intercepts, before CR2 is written (APM 15.12).
  if (svm.guest_mode && svm::intercept_exception(*this, e)) return;
  if (e.vector == vec::PF) s.cr2 = e.cr2;
  deliver_event(e.vector, EventType::HardwareException, e.error_code, s.rip);
  // With the monitor trap flag, an MTF exit follows the delivery (SDM 26.5.2).
  if (vmx.non_root && vmx.events.boundary_checks) vmx::after_guest_event(*this);
}

namespace {
// Event delivery outside an instruction (an interrupt, a debug trap, an
// exception's delivery) may make a second-level VM exit too, when the IDT,
// the stack or the handler is not mapped (emu/nested_paging.h): the CPU
// then simply continues in the host.
template <class F>
void guard_nested_exit(F f) {
  try {
    f();
  } catch (const NestedPagingExit&) {
  }
}
}  // namespace

StopReason Cpu::run(uint64_t max_insns) {
  stop = StopReason::None;
  if (!blocks) {
    stop = StopReason::Error;
    stop_detail = "no block cache attached";
    return stop;
  }
  // The debug registers may have been written from outside (a loader, a
  // state import): derive the armed breakpoints from them afresh.
  debug_registers_changed(*this);
  // Likewise CR3/CR4: the TLB's current address space follows them.
  refresh_tlb_space();
  mem.on_code_write = [this](uint64_t phys, unsigned size) {
    if (!blocks->write_hits_code(phys, size)) return;
    const uint64_t page = phys >> 12;
    blocks->invalidate_page(page);
    mem.set_code_page(phys, false);
    set_tlb_code_page(page << 12, false);
    end_block = true;
  };
  // Steps since the last retired instruction that retired nothing: a REP
  // string instruction stopping with iterations left (Cpu::insn_unfinished)
  // or an exception delivered. They count toward the limit until an
  // instruction retires, so neither a REP with a count of 2^64 - 1 nor a
  // guest whose handlers fault before retiring anything (which hardware
  // would deliver forever) can run past max_insns; a run whose steps all
  // retire counts exactly one per instruction, a REP as one
  // (docs/decisions.md "REP string instructions and the instruction limit").
  uint64_t idle_steps = 0;
  // Each step that retires nothing counts here and in the CPU's lifetime
  // total (steps_taken(), step_limit); resuming_rep is a member.
  const auto idle_step = [&] {
    ++idle_steps;
    ++idle_step_total;
  };
  const auto budget_spent = [&] { return s.insn_count + idle_steps >= max_insns || steps_taken() >= step_limit; };
  // DR6 conditions pending when the current instruction started: a fault
  // discards what the instruction itself detected (it did not complete).
  uint64_t debug_before = 0;
  // An instruction that faulted or froze did not complete: the debug
  // conditions it detected are dropped, nothing of it stays in progress,
  // and the step retired nothing.
  const auto abandon_step = [&] {
    dbg.pending = debug_before;
    dbg.tf_after = false;
    end_block = false;
    insn_unfinished = false;
    vm_switched = false;  // e.g. an EPT violation while VM entry injected an event
    resuming_rep = false;
    idle_step();
    // A watchpoint hit by an instruction that did not complete does not count.
    if (dbg.host_hit) {
      dbg.host_hit = false;
      if (stop == StopReason::Debug) stop = StopReason::None;
    }
  };
  // The last instruction of the previous block, when that block ran to its
  // end and the loop went straight on to this one: the tracer's first
  // instruction of a block then follows it (emu/insn_sequence.h). A copy,
  // as the lookup may free retired blocks. Whatever takes a step between
  // (an event, a fault, a VM exit) or leaves the loop drops it.
  Insn block_end{};
  bool block_ran_out = false;
  while (stop == StopReason::None) {
    const bool follows_block_end = std::exchange(block_ran_out, false);
    // VMX non-root: the VM exits due at this boundary (INIT/SIPI, MTF, the
    // preemption timer, NMI/interrupt windows, NMI and interrupt exiting)
    // in their priority around the debug traps (vmx/event_exits.h).
    if (vmx.non_root && (vmx.events.boundary_checks || intr_line || nmi_pending) && vmx::boundary_event(*this)) {
      idle_step();
      resuming_rep = false;
      continue;
    }
    // Debug traps of the previous instruction come before NMI and INTR
    // (SDM 6.9, priority 4); MOV SS / POP SS hold them for one more
    // instruction (SDM 6.8.3). A halted CPU takes them when it wakes.
    if (dbg.pending && !(s.interrupt_shadow & shadow::MOV_SS) &&
        (!s.halted || event_deliverable())) {
      s.halted = 0;
      // After an iteration of a REP string instruction that was not its
      // last, the EFLAGS image has RF = 1 (SDM 17.3.1.1).
      if (resuming_rep) s.rflags |= fl::RF;
      guard_nested_exit([&] { debug_deliver_trap(*this); });
      if (vmx.non_root && vmx.events.boundary_checks) vmx::after_guest_event(*this);  // MTF (SDM 26.5.2)
      idle_step();
      resuming_rep = false;
      continue;
    }
    if ((intr_line || nmi_pending || svm.v_irq_pending) && event_deliverable()) {
      if (resuming_rep) s.rflags |= fl::RF;  // as above, for interrupts
      guard_nested_exit([&] { take_pending_event(); });
      if (vmx.non_root && vmx.events.boundary_checks) vmx::after_guest_event(*this);
      idle_step();
      resuming_rep = false;  // an interrupted REP restarts (and is traced) anew
      continue;
    }
    if (s.halted) {
      stop = StopReason::Hlt;
      break;
    }
    if (budget_spent()) {
      stop = StopReason::Limit;
      break;
    }
    try {
      debug_before = dbg.pending;
      // An instruction breakpoint comes before faults from fetching the
      // instruction (SDM 6.9, priorities 7 and 8).
      if (dbg.insn_armed) check_instruction_breakpoint(*this, resuming_rep);
      const Block& b = blocks->lookup(*this);
      const uint64_t ip_mask = sequential_ip_mask(*this);
      const uint8_t* bytes = b.bytes.data();
      if (tracer) insn_sequence.start_block(b.insns.data(), follows_block_end ? &block_end : nullptr);
      auto next_insn = b.insns.begin();
      for (const auto insns_end = b.insns.end(); next_insn != insns_end; ++next_insn) {
        const Insn& in = *next_insn;
        if (budget_spent()) break;
        next_rip = (s.rip + in.len) & ip_mask;
        debug_before = dbg.pending;
        // An instruction breakpoint (the guest's or the debugger's) stops
        // the instruction before it starts: it is not traced as executed.
        if (dbg.insn_armed) check_instruction_breakpoint(*this, resuming_rep);
        // A resumed REP instruction was traced when it started.
        if (tracer && !resuming_rep) {
          insn_sequence.current = &in;
          tracer->insn(*this, s.rip, b.phys + uint64_t(bytes - b.bytes.data()), bytes, in.len);
        }
        bytes += in.len;
        // Blocking by STI / MOV SS lasts for the one instruction after it
        // (SDM 6.8.3, Table 25-3); a shadow set by this instruction survives.
        const uint8_t shadow_before = s.interrupt_shadow;
        const bool rf_before = s.rflags & fl::RF;
        const bool tf_before = s.rflags & fl::TF;
        in.handler(*this, in);
        if (vm_switched) {
          // VMRUN or VMLAUNCH/VMRESUME entered a guest, or a guest
          // instruction exited to the host: it retires, and the state now
          // is the other side's, to which its TF, RF and shadow do not
          // apply (APM 15.5.2; SDM Vol. 3C 28.3.2.3, 28.3.2.5).
          vm_switched = false;
          dbg.tf_after = false;
          idle_steps = 0;
          s.rip = next_rip;
          ++s.insn_count;
          pmu::retire_instruction(s, svm.guest_mode);
          end_block = false;
          break;
        }
        if (tf_before) single_step_completed(*this);
        if (insn_unfinished) {
          // Not retired: RIP stays on it, the count, RF and an interrupt
          // shadow are left for its completion. Back to the top, where the
          // limit is checked and the block at RIP looked up again.
          insn_unfinished = false;
          end_block = false;
          resuming_rep = true;
          idle_step();
          // MTF: an exit follows each iteration (SDM 26.5.2).
          if (vmx.non_root && vmx.events.boundary_checks) vmx::after_guest_instruction(*this);
          break;
        }
        resuming_rep = false;
        idle_steps = 0;
        if (shadow_before) s.interrupt_shadow = 0;
        // RF suppresses instruction breakpoints for one instruction: it is
        // cleared when an instruction completes, except by an IRET that
        // loads it (SDM 17.3.1.1).
        if (rf_before && !is_iret(in)) s.rflags &= ~fl::RF;
        s.rip = next_rip;
        ++s.insn_count;
        pmu::retire_instruction(s, svm.guest_mode);  // emu/pmu.h
        // VMX non-root with boundary checks: one instruction per step.
        if (vmx.non_root && vmx.events.boundary_checks) {
          vmx::after_guest_instruction(*this);
          end_block = false;
          break;
        }
        if (end_block || stop != StopReason::None) {
          end_block = false;
          break;
        }
        // A debug trap is pending, a device raised a line, or this
        // instruction unmasked one (in VMX non-root a raised line may
        // exit whatever RFLAGS.IF says: vmx/event_exits.h).
        if (dbg.pending || ((intr_line || nmi_pending || svm.v_irq_pending) && (event_deliverable() || vmx.non_root)))
          break;
      }
      // The block ran out (its last instruction, a branch or the last that
      // fits, completed its step): the next block's first follows it.
      if (tracer && next_insn == b.insns.end() && !b.insns.empty()) {
        block_end = b.insns.back();
        block_ran_out = true;
      }
    } catch (const GuestException& e) {
      abandon_step();
      guard_nested_exit([&] { handle_exception(e); });
    } catch (const HostBreakpointStop&) {
      // Nothing of the instruction ran: the debugger sees the CPU before it.
      dbg.pending = debug_before;
      end_block = false;
      stop = StopReason::Debug;
    } catch (const NestedPagingExit&) {
      // The second level (EPT/NPT) made a VM exit inside an access of the
      // instruction (emu/nested_paging.h): nothing of it retired, and the
      // CPU now runs the host.
      abandon_step();
    } catch (const InstructionFrozen&) {
      // Nothing of the instruction happened: RIP stays on it and the CPU
      // waits like HLT; the event that wakes it returns to the instruction.
      // As for HLT, the wait is an instruction boundary: an STI or MOV SS
      // shadow ends there, or "STI; FWAIT" could never take the interrupt
      // that ends the freeze (SDM Vol. 1 8.7.2).
      s.interrupt_shadow = 0;
      abandon_step();
      s.halted = 1;
    }
  }
  return stop;
}

}  // namespace softvt
