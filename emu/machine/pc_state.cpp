// Snapshots of the PC machine (emu/machine/pc.h save_state/restore_state):
// every device's changing state, the clock, the interrupt lines and the
// scheduler, through the devices' state_io lists (emu/machine/state_io.h).
#include <stdexcept>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/cmos_rtc.h"
#include "emu/devices/fpu_error.h"
#include "emu/devices/fw_cfg.h"
#include "emu/devices/hpet.h"
#include "emu/devices/i8042.h"
#include "emu/devices/ioapic.h"
#include "emu/devices/lapic.h"
#include "emu/devices/pc_testdev.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/port92.h"
#include "emu/devices/uart16550.h"
#include "emu/machine/pc.h"
#include "emu/machine/state_io.h"

namespace softvt {

template <class Io>
void Pc::state_io(Io& io) {
  clock_->state_io(io);
  irq_->state_io(io);
  pic_->state_io(io);
  pit_->state_io(io);
  com1_->state_io(io);
  com2_->state_io(io);
  rtc_->state_io(io);
  i8042_->state_io(io);
  port92_->state_io(io);
  testdev_->state_io(io);
  fw_cfg_->state_io(io);
  pci_->state_io(io);
  fpu_error_->state_io(io);
  ioapic_->state_io(io);
  pm_->state_io(io);
  hpet_->state_io(io);
  for (CpuSlot& slot : cpus_) {
    slot.apic->state_io(io);
    io(slot.tsc_synced_ns);
  }
  io(running_);
  io(next_rr_);
  io(slice_);
  io(slice_cut_);
  io(serial_polls_);
  io(between_slices_done_);
  io(tsc_sync_due_);
}

std::vector<uint8_t> Pc::save_state() {
  std::vector<uint8_t> bytes;
  StateWriter w(bytes);
  state_io(w);
  return bytes;
}

void Pc::restore_state(const std::vector<uint8_t>& bytes) {
  StateReader r(bytes);
  state_io(r);
  if (!r.done()) throw std::runtime_error("snapshot: device state longer than its fields");
  exit_.reset();  // snapshots are taken while the machine runs
  // The MMIO windows follow the APIC bases just restored.
  update_apic_windows();
  drop_decoded_code();
}

// A fresh cache of decoded code, shared by every CPU (the restored RAM
// may hold other code than what was decoded).
void Pc::drop_decoded_code() {
  blocks_ = std::make_unique<BlockCache>(model_);
  for (CpuSlot& slot : cpus_) {
    slot.cpu->blocks = blocks_.get();
    if (cpus_.size() > 1) blocks_->sharing_cpus.push_back(slot.cpu.get());
  }
}

}  // namespace softvt
