// Snapshots for reverse execution (emu/snapshot.h).
#include "emu/snapshot.h"

#include <algorithm>
#include <cstring>

namespace softvt {
namespace {
constexpr uint64_t PAGE = 4096;
}

CpuSnapshot CpuSnapshot::take(const Cpu& cpu) {
  CpuSnapshot c;
  c.s = cpu.s;
  c.vmx = cpu.vmx;
  c.svm = cpu.svm;
  c.intr_line = cpu.intr_line;
  c.nmi_pending = cpu.nmi_pending;
  c.ferr = cpu.ferr;
  c.ignne = cpu.ignne;
  c.wait_for_sipi = cpu.wait_for_sipi;
  c.a20 = cpu.a20_enabled();
  c.init_sipi_epoch = cpu.init_sipi_epoch;
  c.debug_pending = cpu.dbg.pending;
  c.debug_tf_after = cpu.dbg.tf_after;
  c.idle_step_total = cpu.idle_step_total;
  c.resuming_rep = cpu.resuming_rep;
  return c;
}

void CpuSnapshot::restore(Cpu& cpu) const {
  cpu.s = s;
  cpu.vmx = vmx;
  cpu.svm = svm;
  cpu.intr_line = intr_line;
  cpu.nmi_pending = nmi_pending;
  cpu.ferr = ferr;
  cpu.ignne = ignne;
  cpu.wait_for_sipi = wait_for_sipi;
  cpu.set_a20(a20);
  cpu.init_sipi_epoch = init_sipi_epoch;
  cpu.dbg.pending = debug_pending;
  cpu.dbg.tf_after = debug_tf_after;
  cpu.idle_step_total = idle_step_total;
  cpu.resuming_rep = resuming_rep;
  cpu.update_mode();
  cpu.flush_tlb();
}

void SnapshotStore::reset(const Memory& mem, uint64_t position, std::vector<CpuSnapshot> cpus,
                          std::vector<uint8_t> devices) {
  base_.assign(mem.ram(), mem.ram() + mem.ram_size());
  snaps_.clear();
  interval_ = FIRST_INTERVAL;
  Snapshot s;
  s.position = position;
  s.cpus = std::move(cpus);
  s.devices = std::move(devices);
  snaps_.push_back(std::move(s));
}

bool SnapshotStore::due(uint64_t position) const {
  return !snaps_.empty() && position >= snaps_.back().position + interval_;
}

void SnapshotStore::take(const Memory& mem, uint64_t position, std::vector<CpuSnapshot> cpus,
                         std::vector<uint8_t> devices) {
  if (snaps_.empty() || position <= snaps_.back().position) return;
  Snapshot s;
  s.position = position;
  s.cpus = std::move(cpus);
  s.devices = std::move(devices);
  const uint64_t n = mem.ram_size() / PAGE;
  for (uint64_t p = 0; p < n; ++p) {
    const uint8_t* cur = mem.ram() + p * PAGE;
    if (std::memcmp(cur, base_.data() + p * PAGE, PAGE) == 0) continue;
    s.pages.push_back(uint32_t(p));
    s.page_data.insert(s.page_data.end(), cur, cur + PAGE);
  }
  snaps_.push_back(std::move(s));
  if (snaps_.size() > MAX_SNAPSHOTS) thin_out();
}

void SnapshotStore::thin_out() {
  std::vector<Snapshot> kept;
  for (size_t i = 0; i < snaps_.size(); ++i)
    if (i % 2 == 0) kept.push_back(std::move(snaps_[i]));
  snaps_ = std::move(kept);
  interval_ *= 2;
}

const Snapshot& SnapshotStore::at_or_before(uint64_t position) const {
  auto it = std::upper_bound(snaps_.begin(), snaps_.end(), position,
                             [](uint64_t pos, const Snapshot& s) { return pos < s.position; });
  return it == snaps_.begin() ? snaps_.front() : *(it - 1);
}

void SnapshotStore::restore_ram(const Snapshot& snap, Memory& mem) const {
  std::memcpy(mem.ram(), base_.data(), std::min<uint64_t>(base_.size(), mem.ram_size()));
  for (size_t i = 0; i < snap.pages.size(); ++i)
    std::memcpy(mem.ram() + uint64_t(snap.pages[i]) * PAGE, snap.page_data.data() + i * PAGE, PAGE);
  for (uint64_t p = 0; p < mem.ram_size(); p += PAGE) mem.set_code_page(p, false);
}

uint64_t SnapshotStore::bytes() const {
  uint64_t n = base_.size();
  for (const Snapshot& s : snaps_) n += s.page_data.size() + s.devices.size() + sizeof(Snapshot) + s.cpus.size() * sizeof(CpuSnapshot);
  return n;
}

}  // namespace softvt
