// Host-executed x87 forms (see x87_forms.h, emu/fpu/x87_host.h).
#include <cstring>

#include "emu/fpu/x87_host.h"
#include "emu/fpu/x87_state.h"
#include "emu/interp/operands.h"
#include "emu/interp/x87_forms.h"

namespace softvt {
namespace {

using x87::sw::STICKY;
using x87::sw::SUMMARY;

enum class MemKind : uint8_t { None, Load, Store };

// Runs `op` on the host against the guest's x87 state and merges the
// result back; returns the exception flags (and SF) this instruction set.
// The host starts from the guest's status word without its exception
// flags, so nothing is pending on the host and the flags it reports are
// this instruction's own; the guest's sticky flags are ORed back after.
uint16_t run_on_host(Cpu& cpu, x87::Opcode op, uint8_t* mem, uint64_t& rflags) {
  alignas(16) uint8_t st[x87host::STATE_BYTES];
  std::memcpy(st, cpu.s.xsave, sizeof st);
  uint16_t old_fsw;
  std::memcpy(&old_fsw, st + fxs::FSW, 2);
  const uint16_t in_fsw = old_fsw & ~(STICKY | SUMMARY);
  std::memcpy(st + fxs::FSW, &in_fsw, 2);
  x87host::execute(st, op.escape, op.modrm, mem, rflags);
  uint16_t new_fsw, new_fcw;
  std::memcpy(&new_fsw, st + fxs::FSW, 2);
  std::memcpy(&new_fcw, st + fxs::FCW, 2);
  const uint16_t raised = new_fsw & STICKY;
  const uint16_t merged = (new_fsw & ~(STICKY | SUMMARY)) | raised | (old_fsw & STICKY);
  // FCW, FSW, tags and registers come back; FOP/FIP/FDP are the guest's.
  x87::set_fcw(cpu, new_fcw);
  x87::set_fsw(cpu, x87::with_summary(merged, new_fcw));
  cpu.s.xsave[fxs::FTW] = st[fxs::FTW];
  std::memcpy(cpu.s.xsave + fxs::ST0, st + fxs::ST0, 8 * 16);
  return raised;
}

// An unmasked invalid-operation, denormal, zero-divide, overflow or
// underflow exception leaves a memory destination unwritten (SDM Vol. 1
// 8.5.1-8.5.5; an unmasked precision exception still stores).
bool store_suppressed(uint16_t raised, uint16_t fcw) {
  using namespace x87::sw;
  return raised & ~fcw & (IE | DE | ZE | OE | UE);
}

template <unsigned N, MemKind K, bool WritesEflags, bool Control>
void host_form(Cpu& cpu, const Insn& in) {
  check_x87_available(cpu);
  x87::check_pending(cpu);
  const x87::Opcode op = x87::fetch_opcode(cpu, in);
  if (!x87host::host_executable(op.escape, op.modrm)) cpu.raise_ud();
  alignas(16) uint8_t mem[16] = {};
  uint64_t ea = 0, lin = 0;
  if constexpr (K != MemKind::None) ea = effective_address(cpu, in);
  if constexpr (K == MemKind::Load) x87::read_block(cpu, in.seg, ea, N, mem);
  if constexpr (K == MemKind::Store) lin = x87::probe_block(cpu, in.seg, ea, N);
  uint64_t flags = cpu.s.rflags;
  const uint16_t raised = run_on_host(cpu, op, mem, flags);
  if constexpr (K == MemKind::Store)
    if (!store_suppressed(raised, x87::fcw(cpu))) x87::write_block_lin(cpu, lin, N, mem);
  if constexpr (WritesEflags) cpu.s.rflags = (cpu.s.rflags & ~fl::ARITH) | (flags & fl::ARITH);
  if constexpr (!Control)
    x87::record_instruction(cpu, in, op, K != MemKind::None, ea, raised & ~x87::fcw(cpu) & x87::sw::EXCEPTIONS);
}

template <MemKind K, bool WritesEflags = false, bool Control = false>
Handler pick(const Insn& in) {
  if (in.mem_op == 0xff) return host_form<0, MemKind::None, WritesEflags, Control>;
  switch (in.op[in.mem_op].size) {
    case 2: return host_form<2, K, WritesEflags, Control>;
    case 4: return host_form<4, K, WritesEflags, Control>;
    case 8: return host_form<8, K, WritesEflags, Control>;
    case 10: return host_form<10, K, WritesEflags, Control>;
    default: return nullptr;
  }
}

}  // namespace

Handler select_x87_compute(const Insn& in) { return pick<MemKind::Load>(in); }
Handler select_x87_store(const Insn& in) { return pick<MemKind::Store>(in); }
Handler select_x87_eflags(const Insn& in) { return pick<MemKind::Load, true>(in); }
Handler select_x87_load_control(const Insn& in) { return pick<MemKind::Load, false, true>(in); }

}  // namespace softvt
