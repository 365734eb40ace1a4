// The binary trace format (traces/README.md has the byte-level layout):
// a header describing the run, then a stream of delta-encoded records of
// executed instructions and events. TraceEncoder turns records into bytes,
// TraceDecoder bytes into records; both keep the same small state (per-CPU
// last address and count, a cache of instruction bytes), so a sequential
// instruction whose bytes were seen before costs one byte.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "traces/leb128.h"
#include "traces/sha256.h"

namespace softvt::trace {

constexpr char MAGIC[8] = {'S', 'V', 'T', 'T', 'R', 'A', 'C', 'E'};
// Version 2 added the input records (SerialIn, HostClock, StopRequest) and the
// INPUTS header flag; version 1 files are still read (they have neither).
constexpr uint16_t FORMAT_VERSION = 2;
constexpr uint16_t OLDEST_READABLE_VERSION = 1;

// A malformed trace: names the file, the byte offset and the problem.
struct TraceError : std::runtime_error {
  TraceError(const std::string& file, uint64_t offset, const std::string& problem);
  std::string file;
  uint64_t offset;
  std::string problem;
};

// ---- header ---------------------------------------------------------------
namespace header_flag {
constexpr uint64_t REGS = 1;  // Regs records after instructions (--record-regs)
constexpr uint64_t MEM = 2;   // MemWrite records (--record-mem)
// The run took inputs from outside the machine (COM1 bytes from standard
// input, --clock host readings): SerialIn/HostClock records (version 2).
constexpr uint64_t INPUTS = 4;
}  // namespace header_flag

struct ImageHash {
  std::string option;  // "--flat", "--kernel", "--initrd"
  std::string path;    // absolute, as the run read it
  uint64_t size = 0;
  Sha256Digest sha256{};
};

struct TraceHeader {
  uint16_t version = FORMAT_VERSION;
  std::string softvt_version;
  std::string machine;      // "flat" or "pc"
  std::string description;  // one line: RAM, mode, CPUs, clock...
  std::string cpu_model;    // one line: name, vendor, feature bits
  uint64_t flags = 0;       // header_flag::
  std::vector<std::string> options;  // the `softvt run` arguments (image paths absolute)
  std::vector<ImageHash> images;
};

// ---- records --------------------------------------------------------------
enum class Kind : uint8_t {
  Insn,           // an instruction about to execute
  Mode,           // the CPU's operating mode changed (before the next Insn)
  Exception,      // an exception raised (vector, error code, CR2 for #PF)
  Interrupt,      // an event delivered through the IDT (vector, EventType)
  VmEntry,        // VMLAUNCH/VMRESUME/VMRUN reached guest mode
  VmExit,         // a VM exit (VMX reason or SVM exit code, qualification)
  VmEntryFailed,  // a VM entry refused: the failed check's name
  Io,             // port I/O (port, size, value, direction)
  Mmio,           // an MMIO access (physical address, size, value, direction)
  Note,           // a free-text remark from the core (shutdown, ...)
  Regs,           // registers changed since the previous Regs of this CPU
  MemWrite,       // a guest memory write (linear address, size, value)
  End,            // the run ended (stop reason, total instructions, detail)
  SerialIn,       // bytes COM1 received from outside (poll number, bytes)
  HostClock,      // a host-clock reading the machine took (HostReading, value)
  StopRequest,    // SIGINT (Ctrl-C) stopped the run here
};
const char* kind_name(Kind k);

// Register numbers of Regs records: 0-15 the GPRs (RAX..R15), then these.
namespace treg {
constexpr unsigned RFLAGS = 16, CR0 = 17, CR2 = 18, CR3 = 19, CR4 = 20, EFER = 21;
constexpr unsigned ES = 22;  // ES, CS, SS, DS, FS, GS selectors: 22..27
constexpr unsigned FS_BASE = 28, GS_BASE = 29;
constexpr unsigned COUNT = 30;
}  // namespace treg
const char* reg_name(unsigned r);

struct RegValue {
  uint8_t reg;
  uint64_t value;
  bool operator==(const RegValue&) const = default;
};

struct Record {
  Kind kind = Kind::Insn;
  uint32_t cpu = 0;
  uint64_t icount = 0;  // the CPU's retired-instruction count at the record
  uint64_t offset = 0;  // byte offset in the file (set by the decoder)
  // Insn
  uint64_t rip = 0, phys = 0;
  uint8_t len = 0;
  uint8_t bytes[15] = {};
  // Mode: the Mode value; Interrupt: the EventType; VmEntry: VmEntryKind;
  // VmExit: VmArch; Io/Mmio: size | 0x80 for a write; End: StopReason.
  uint8_t sub = 0;
  uint8_t vector = 0;               // Exception, Interrupt
  uint32_t error = 0xffffffffu;     // Exception: the error code or NO_ERROR_CODE
  // Exception: CR2 (#PF); VmExit: reason; Io: port; Mmio/MemWrite: address;
  // End: instructions; SerialIn: the machine's poll number; HostClock: the value.
  uint64_t a = 0;
  uint64_t b = 0;  // VmExit: qualification; Io/Mmio/MemWrite: value
  uint8_t size = 0;                  // MemWrite: bytes
  std::string text;                  // Note, VmEntryFailed, End (detail), SerialIn (the bytes)
  std::vector<RegValue> regs;        // Regs

  // Equal in everything a replay must reproduce (not the file offset).
  bool same_as(const Record& o) const;
};

// ---- the byte stream --------------------------------------------------------
// Encodes records into a growing buffer; the caller drains it.
class TraceEncoder {
 public:
  TraceEncoder();
  void encode(const Record& r);
  // The same for an instruction record, without building a Record. The
  // common case (the same CPU, the next instruction in sequence, bytes
  // already in the cache) is inline: one tag byte.
  void encode_insn(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes, unsigned len) {
    CpuPos& p = pos_[cur_cpu_];
    const CacheSlot& slot = cache_[cache_index(phys)];
    if (cpu == cur_cpu_ && p.seen && icount == p.icount + 1 && rip == p.rip + p.len && phys == p.phys + p.len &&
        staged_ < stage_limit_ && slot.phys == phys && slot.len == len && same_bytes(slot.bytes, bytes, len)) {
      p.rip = rip, p.phys = phys, p.len = uint8_t(len), p.icount = icount;
      *staged_++ = uint8_t(len);
      return;
    }
    encode_insn_slow(cpu, icount, rip, phys, bytes, len);
  }
  // A Regs record of the registers that differ from this CPU's previous
  // Regs record (all of them if `all`), without building a Record
  // (--record-regs writes one per instruction): `gpr` RAX..R15 (16 in a
  // row), `rflags`, and `sys` the rest in treg:: order (CR0..GS base), or
  // nullptr when the caller knows they are those of the previous record.
  // Returns false, writing nothing, if none differs.
  bool encode_changed_regs(uint32_t cpu, uint64_t icount, const uint64_t* gpr, uint64_t rflags, const uint64_t* sys,
                           bool all);
  // The same record when the caller knows that, since this CPU's previous
  // Regs record, only RFLAGS and the GPRs of `candidates` (bit r: GPR r)
  // can have changed (the instruction in between could write no others):
  // only those are compared. The bytes are those encode_changed_regs
  // writes for the same values.
  bool encode_candidate_regs(uint32_t cpu, uint64_t icount, const uint64_t* gpr, uint64_t rflags,
                             uint32_t candidates);
  // encode_candidate_regs, then encode_insn for the same instruction
  // count: --record-regs's common step, inline (TraceWriter::insn), the
  // two records built with plain stores in the staging area.
  [[gnu::always_inline]] void encode_candidate_regs_and_insn(uint32_t cpu, uint64_t icount, const uint64_t* gpr,
                                                             uint64_t rflags, uint32_t candidates, uint64_t rip,
                                                             uint64_t phys, const uint8_t* bytes, unsigned len) {
    if (cpu != cur_cpu_ || staged_ >= stage_limit_) [[unlikely]]
      return encode_candidate_regs_then_insn(cpu, icount, gpr, rflags, candidates, rip, phys, bytes, len);
    CpuPos& p = pos_[cur_cpu_];
    uint64_t* prev = p.regs.data();
    uint32_t m = candidate_mask(p, gpr, rflags, candidates);
    uint8_t* o = staged_;
    if (m) {
      *o++ = REGS_TAG;
      o = leb::put_sleb_fast(o, int64_t(icount - p.icount));
      o = leb::put_uleb56_fast(o, m);
      for (; m && __builtin_ctz(m) < 16; m &= m - 1) {
        const unsigned i = unsigned(__builtin_ctz(m));
        o = leb::put_sleb_fast(o, int64_t(gpr[i] - prev[i]));
        prev[i] = gpr[i];
      }
      if (m) {  // RFLAGS, the only other bit
        o = leb::put_sleb_fast(o, int64_t(rflags - prev[treg::RFLAGS]));
        prev[treg::RFLAGS] = rflags;
      }
    }
    const CacheSlot& slot = cache_[cache_index(phys)];
    if (p.seen && icount == p.icount + 1 && rip == p.rip + p.len && phys == p.phys + p.len && slot.phys == phys &&
        slot.len == len && same_bytes(slot.bytes, bytes, len)) {
      p.rip = rip, p.phys = phys, p.len = uint8_t(len), p.icount = icount;
      *o++ = uint8_t(len);
      staged_ = o;
      return;
    }
    staged_ = o;
    encode_insn_slow(cpu, icount, rip, phys, bytes, len);
  }
  // Whether the staging area is near its end (the encoder commits it
  // before it stages its next record): a writer's inline path then steps
  // aside for one that may commit.
  bool stage_nearly_full() const { return staged_ >= stage_limit_; }
  // The bytes encoded so far (the staged ones appended first).
  std::vector<uint8_t>& buffer() {
    commit();
    return out_;
  }
  // The size of buffer() without the staged bytes (at most 64 KiB less;
  // cheap: for a writer deciding when to drain).
  size_t committed_size() const { return out_.size(); }

  // The bytes cache: slots of the last bytes recorded at a physical address.
  static constexpr unsigned CACHE_SLOTS = 1u << 16;
  static unsigned cache_index(uint64_t phys) {
    return unsigned((phys ^ (phys >> 16) ^ (phys >> 32)) & (CACHE_SLOTS - 1));
  }
  // Equal instruction bytes (1..15), with fixed-size loads instead of a
  // memcmp call: the first and last 8 (or 4) bytes cover the whole range.
  [[gnu::always_inline]] static bool same_bytes(const uint8_t* a, const uint8_t* b, unsigned len) {
    if (len >= 8) {
      uint64_t x0, y0, x1, y1;
      std::memcpy(&x0, a, 8), std::memcpy(&y0, b, 8);
      std::memcpy(&x1, a + len - 8, 8), std::memcpy(&y1, b + len - 8, 8);
      return x0 == y0 && x1 == y1;
    }
    if (len >= 4) {
      uint32_t x0, y0, x1, y1;
      std::memcpy(&x0, a, 4), std::memcpy(&y0, b, 4);
      std::memcpy(&x1, a + len - 4, 4), std::memcpy(&y1, b + len - 4, 4);
      return x0 == y0 && x1 == y1;
    }
    // 1..3 bytes: the first, middle and last cover them all.
    return a[0] == b[0] && a[len >> 1] == b[len >> 1] && a[len - 1] == b[len - 1];
  }

 private:
  struct CpuPos {
    uint64_t rip = 0, phys = 0, icount = 0;
    uint8_t len = 0;
    bool seen = false;
    // Each register's value in the last Regs record (deltas are from it).
    std::array<uint64_t, treg::COUNT> regs{};
  };
  // The last HostClock value of each reading kind (deltas are from it).
  std::array<uint64_t, 2> last_clock_{};
  struct CacheSlot {
    uint64_t phys = ~uint64_t(0);
    uint8_t len = 0;
    uint8_t bytes[15];
  };
  void switch_cpu(uint32_t cpu);
  void put_reg(CpuPos& p, const RegValue& v);
  void encode_insn_slow(uint32_t cpu, uint64_t icount, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                        unsigned len);
  // The Regs record of the registers in `mask` (sys as in encode_changed_regs).
  void stage_regs(CpuPos& p, uint64_t icount, uint32_t mask, const uint64_t* gpr, uint64_t rflags,
                  const uint64_t* sys);
  // The GPRs of `candidates` and RFLAGS that differ from `p`'s last Regs record.
  static uint32_t candidate_mask(const CpuPos& p, const uint64_t* gpr, uint64_t rflags, uint32_t candidates) {
    const uint64_t* prev = p.regs.data();
    uint32_t mask = uint32_t(rflags != prev[treg::RFLAGS]) << treg::RFLAGS;
    for (uint32_t c = candidates & 0xffff; c; c &= c - 1) {
      const unsigned i = unsigned(__builtin_ctz(c));
      mask |= uint32_t(gpr[i] != prev[i]) << i;
    }
    return mask;
  }
  // encode_candidate_regs_and_insn's way when the CPU changes or the
  // staging area is near its end.
  void encode_candidate_regs_then_insn(uint32_t cpu, uint64_t icount, const uint64_t* gpr, uint64_t rflags,
                                       uint32_t candidates, uint64_t rip, uint64_t phys, const uint8_t* bytes,
                                       unsigned len);
  static constexpr uint8_t REGS_TAG = 0x80 | 10;  // an event record, code 10 (traces/README.md)
  // Appends the staged bytes to out_ (before anything else writes there).
  void commit() {
    if (staged_ != stage_.get()) {
      out_.insert(out_.end(), stage_.get(), staged_);
      staged_ = stage_.get();
    }
  }
  // The hot records (a sequential instruction, a Regs record) are written
  // with plain stores into a fixed staging area, without the vector's
  // capacity checks and its insert call; the other records go to out_
  // after commit(). A hot record is staged only below stage_limit_:
  // STAGE_SLACK is more than one record writes (a Regs record of 30
  // registers with the spill of put_sleb_fast), else it commits first.
  static constexpr size_t STAGE_BYTES = size_t(1) << 16, STAGE_SLACK = 1024;
  std::unique_ptr<uint8_t[]> stage_;
  uint8_t* staged_;       // the end of the staged bytes
  uint8_t* stage_limit_;  // stage_ + STAGE_BYTES - STAGE_SLACK
  std::vector<uint8_t> out_;
  std::vector<CpuPos> pos_;
  std::vector<CacheSlot> cache_;
  uint32_t cur_cpu_ = 0;
  friend class TraceDecoder;
};

// Decodes records from a buffer holding a whole trace file (header first).
class TraceDecoder {
 public:
  // Parses the header; throws TraceError naming `file`.
  TraceDecoder(const uint8_t* data, size_t size, std::string file);
  const TraceHeader& header() const { return header_; }
  // The next record; false after the End record. Throws TraceError for a
  // malformed record, or for a file that ends without an End record.
  bool next(Record& r);
  uint64_t offset() const { return pos_; }
  const std::string& file() const { return file_; }

 private:
  [[noreturn]] void fail(uint64_t at, const std::string& problem) const;
  uint8_t byte();
  uint64_t uleb();
  int64_t sleb();
  std::string str();
  void parse_header();
  void decode_insn(uint8_t tag, Record& r);
  void decode_event(uint8_t tag, Record& r);
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string file_;
  TraceHeader header_;
  bool ended_ = false;
  std::vector<TraceEncoder::CpuPos> cpus_;
  std::vector<TraceEncoder::CacheSlot> cache_;
  std::array<uint64_t, 2> last_clock_{};
  uint32_t cur_cpu_ = 0;
};

// The header's bytes (magic, version, length, body).
std::vector<uint8_t> encode_header(const TraceHeader& h);

// Reads a whole trace file; throws TraceError naming it if it cannot.
std::vector<uint8_t> read_trace_file(const std::string& path);

// The highest CPU number a trace may name (a guard against corrupt files).
constexpr uint32_t MAX_CPU = 255;

}  // namespace softvt::trace
