// Snapshots of a machine's state for reverse execution (docs/decisions.md
// "Reverse execution in gdb"): the CPUs' state (architectural, VMX/SVM,
// pins and pending events), guest RAM, stored as the pages that differ
// from one base image, and for the PC its devices' state as bytes
// (Pc::save_state). Determinism (DESIGN.md) makes "restore the latest
// snapshot at or before N, then execute to N" rebuild the exact state at
// instruction count N.
#pragma once
#include <cstdint>
#include <vector>

#include "emu/cpu.h"

namespace softvt {

// What of one CPU a snapshot keeps: everything that influences how it goes
// on executing. The TLB and the decoded-block cache are caches (rebuilt on
// demand, so a restored CPU starts with them empty).
struct CpuSnapshot {
  CpuState s{};
  vmx::VmxState vmx;
  svm::SvmState svm;
  bool intr_line = false, nmi_pending = false, ferr = false, ignne = false;
  bool wait_for_sipi = false, a20 = true;
  uint32_t init_sipi_epoch = 0;
  uint64_t debug_pending = 0;
  bool debug_tf_after = false;
  uint64_t idle_step_total = 0;  // the run loop's progress (emu/cpu.h)
  bool resuming_rep = false;

  static CpuSnapshot take(const Cpu& cpu);
  void restore(Cpu& cpu) const;
};

struct Snapshot {
  uint64_t position = 0;            // instructions retired (the machine's clock)
  std::vector<CpuSnapshot> cpus;
  std::vector<uint8_t> devices;     // the PC's device state (Pc::save_state); empty for the flat runner
  std::vector<uint32_t> pages;      // RAM pages that differ from the base
  std::vector<uint8_t> page_data;   // their contents, 4 KiB each, in `pages` order
};

// The snapshots of one run, in position order, at most MAX_SNAPSHOTS: when
// full, every other one is dropped (the first is kept) and the interval
// doubles, so memory stays bounded and snapshots thin out with age.
class SnapshotStore {
 public:
  static constexpr size_t MAX_SNAPSHOTS = 48;
  static constexpr uint64_t FIRST_INTERVAL = 1000000;

  // Starts a new history at `position` whose RAM base is `mem`'s contents.
  void reset(const Memory& mem, uint64_t position, std::vector<CpuSnapshot> cpus,
             std::vector<uint8_t> devices = {});
  bool empty() const { return snaps_.empty(); }
  // Whether a snapshot is due at `position` (one interval after the last).
  bool due(uint64_t position) const;
  void take(const Memory& mem, uint64_t position, std::vector<CpuSnapshot> cpus, std::vector<uint8_t> devices = {});
  // The latest snapshot at or before `position` (the first if none is).
  const Snapshot& at_or_before(uint64_t position) const;
  const Snapshot& first() const { return snaps_.front(); }
  const Snapshot& last() const { return snaps_.back(); }
  // Writes the snapshot's RAM into `mem` (and forgets which pages held
  // decoded code: the caller starts with a fresh block cache).
  void restore_ram(const Snapshot& snap, Memory& mem) const;
  size_t count() const { return snaps_.size(); }
  uint64_t interval() const { return interval_; }
  uint64_t bytes() const;

 private:
  void thin_out();
  std::vector<uint8_t> base_;
  std::vector<Snapshot> snaps_;
  uint64_t interval_ = FIRST_INTERVAL;
};

}  // namespace softvt
