// Retired-instruction counting from KVM single-step traps (see kvm_step.h).
#include "emu/accel/kvm_step.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "emu/block_cache.h"

namespace softvt::kvm {
namespace {

bool is_string_mnemonic(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ: case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_STOSQ: case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD: case ZYDIS_MNEMONIC_LODSQ:
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD:
    case ZYDIS_MNEMONIC_CMPSQ: case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW:
    case ZYDIS_MNEMONIC_SCASD: case ZYDIS_MNEMONIC_SCASQ: case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD: case ZYDIS_MNEMONIC_OUTSB:
    case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
      return true;
    default:
      return false;
  }
}

// Instructions whose next RIP is not the fall-through address when they
// retire: branches, calls, returns, software interrupts, SYSCALL & co.
bool transfers_control(const ZydisDecodedInstruction& insn) {
  switch (insn.meta.category) {
    case ZYDIS_CATEGORY_COND_BR: case ZYDIS_CATEGORY_UNCOND_BR: case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET: case ZYDIS_CATEGORY_INTERRUPT: case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
      return true;
    default:
      return false;
  }
}

// DR6 (SDM 17.2.3): B0 = breakpoint 0 matched, BS = single-step trap.
constexpr uint64_t DR6_B0 = 1, DR6_BS = 1u << 14;

uint64_t ip_mask(const CpuState& s) {
  return s.code_size == 8 ? ~uint64_t(0) : s.code_size == 4 ? 0xffffffffull : 0xffffull;
}

uint64_t linear_of_ip(const CpuState& s, uint64_t ip) {
  if (s.mode == Mode::Long64) return ip;
  return (s.seg[CS].base + ip) & 0xffffffffull;
}

}  // namespace

unsigned GuestView::read(uint64_t lin, uint8_t* buf, unsigned max) const {
  unsigned n = 0;
  while (n < max) {
    kvm_translation t{};
    t.linear_address = lin + n;
    if (ioctl(vcpu_fd_, KVM_TRANSLATE, &t) < 0 || !t.valid) break;
    const uint64_t phys = t.physical_address;
    if (phys >= mem_.ram_size()) break;
    const uint64_t take =
        std::min<uint64_t>({0x1000 - (phys & 0xfff), uint64_t(max - n), mem_.ram_size() - phys});
    std::memcpy(buf + n, mem_.ram() + phys, take);
    n += unsigned(take);
  }
  return n;
}

uint64_t linear_rip(const CpuState& s) { return linear_of_ip(s, s.rip); }

bool decode_guest(const GuestView& view, const Decoder& dec, DecodeMode mode, uint64_t lin,
                  ZydisDecodedInstruction& insn, uint8_t* bytes, unsigned& nbytes) {
  nbytes = view.read(lin, bytes, 15);
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  return nbytes > 0 && ZYAN_SUCCESS(dec.decode_raw(bytes, nbytes, mode, insn, ops));
}

DecodeMode StepCounter::decode_mode(const CpuState& s) {
  scratch_.s.mode = s.mode;
  return decode_mode_of(scratch_);
}

void StepCounter::before_step(const CpuState& s) {
  pending_ = Pending{};
  pending_.start = linear_rip(s);
  ZydisDecodedInstruction insn;
  uint8_t bytes[15];
  unsigned n;
  if (!decode_guest(view_, dec_, decode_mode(s), pending_.start, insn, bytes, n)) return;
  pending_.known = true;
  pending_.fallthrough = linear_of_ip(s, (s.rip + insn.length) & ip_mask(s));
  pending_.hlt = insn.mnemonic == ZYDIS_MNEMONIC_HLT;
  pending_.rep_string = is_string_mnemonic(insn.mnemonic) &&
                        (insn.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
                                            ZYDIS_ATTRIB_HAS_REPNE));
  pending_.transfers_control = transfers_control(insn);
}

StepKind StepCounter::after_step(uint64_t pc, uint64_t dr6, const CpuState& s) {
  const Pending& p = pending_;
  if ((dr6 & DR6_B0) && !(dr6 & DR6_BS)) return after_breakpoint(pc, s);
  if (p.known && p.rep_string && pc == p.start) return StepKind::RepIteration;
  if (p.known && pc == p.fallthrough) return p.hlt ? StepKind::Halted : StepKind::Retired;
  if (p.known && p.transfers_control) return StepKind::Retired;
  // The instruction faulted (or could not even be fetched or decoded): it
  // did not retire, the exception was delivered and the handler's first
  // instruction retired in this same step.
  return handler_starts_with_hlt_ending_at(pc, s) ? StepKind::Halted : StepKind::Retired;
}

// The breakpoint on the fall-through address stopped the vCPU before the
// instruction there. Either the pending instruction retired without a
// single-step trap, or it faulted and the exception's handler starts right
// at the fall-through address (then nothing retired yet).
StepKind StepCounter::after_breakpoint(uint64_t pc, const CpuState& s) {
  for (uint64_t entry : handler_entries(s))
    if (entry == pc) return StepKind::Delivered;
  return pending_.hlt ? StepKind::Halted : StepKind::Retired;
}

uint64_t StepCounter::breakpoint() const {
  const Pending& p = pending_;
  return p.known && !p.transfers_control ? p.fallthrough : 0;
}

bool StepCounter::finished_at(uint64_t pc) const {
  const Pending& p = pending_;
  return p.known && pc == p.fallthrough && !(p.rep_string && pc == p.start);
}

// The linear entry points of the IDT/IVT's handlers. Offsets are relative
// to the handler's CS, which is the current CS after a delivery.
std::vector<uint64_t> StepCounter::handler_entries(const CpuState& s) {
  std::vector<uint64_t> out;
  const bool real = !(s.cr0 & cr0::PE);
  const bool long_mode = s.efer & efer::LMA;
  // Entry sizes: IVT 4 (SDM 20.1.4), 32-bit IDT 8, 64-bit IDT 16 (SDM 6.14.1).
  const unsigned entry = real ? 4 : long_mode ? 16 : 8;
  // KVM's real-mode delivery does not check the IVT limit (measured: a
  // flat real16 guest with IDTR.limit 0 still dispatches through 0:0), so
  // in real mode every one of the 256 entries may be the handler.
  const uint64_t listed = real ? 256 : (uint64_t(s.idtr.limit) + 1) / entry;
  const uint64_t count = std::min<uint64_t>(listed, 256);
  for (uint64_t v = 0; v < count; ++v) {
    uint8_t g[16] = {};
    if (view_.read(s.idtr.base + v * entry, g, entry) != entry) continue;
    if (real) {
      out.push_back((uint64_t(g[2] | g[3] << 8) << 4) + (g[0] | g[1] << 8));
      continue;
    }
    if (!(g[5] & 0x80)) continue;  // gate not present
    uint64_t off = uint64_t(g[0] | g[1] << 8) | uint64_t(g[6] | g[7] << 8) << 16;
    if (long_mode) off |= uint64_t(g[8] | g[9] << 8 | g[10] << 16 | uint32_t(g[11]) << 24) << 32;
    out.push_back(long_mode ? off : (s.seg[CS].base + off) & 0xffffffffull);
  }
  return out;
}

// Whether some IDT/IVT entry points at a HLT that ends at `pc`: the
// handler's first instruction was that HLT.
bool StepCounter::handler_starts_with_hlt_ending_at(uint64_t pc, const CpuState& s) {
  uint8_t last = 0;
  if (view_.read(pc - 1, &last, 1) != 1 || last != 0xf4) return false;
  const DecodeMode mode = decode_mode(s);
  for (uint64_t start : handler_entries(s))
    if (hlt_spans(start, pc, mode)) return true;
  return false;
}

bool StepCounter::hlt_spans(uint64_t start, uint64_t pc, DecodeMode mode) {
  if (start >= pc || pc - start > 15) return false;
  ZydisDecodedInstruction insn;
  uint8_t bytes[15];
  unsigned n;
  return decode_guest(view_, dec_, mode, start, insn, bytes, n) &&
         insn.mnemonic == ZYDIS_MNEMONIC_HLT && start + insn.length == pc;
}

}  // namespace softvt::kvm
