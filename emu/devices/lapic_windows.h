// Where the xAPIC MMIO pages are (SDM 11.4.1, 11.4.5 "Relocating the Local
// APIC Registers"): each CPU's page is at the base address of its own
// IA32_APIC_BASE, 0xfee00000 until the guest moves it, and several CPUs
// may use the same page or different ones. One MMIO window is mapped at
// every base some CPU uses; an access reaches the *executing* CPU's APIC
// when the window is at that CPU's base, and is open bus otherwise (the
// APIC answers open bus itself when disabled or in x2APIC mode). A window
// nobody uses any more is unmapped, so a guest moving its base around
// keeps at most one window per CPU.
// Not modelled: a base inside RAM (RAM stays visible there: no supported
// guest puts its APIC over memory) or over another device's MMIO range
// (that device keeps answering); the APIC then has no window there.
#pragma once
#include <cstdint>
#include <functional>
#include <set>
#include <vector>

namespace softvt {

class LocalApic;
class Memory;

class LapicWindows {
 public:
  struct Hooks {
    std::function<LocalApic&()> executing;    // the APIC of the CPU making the access
    std::function<uint64_t()> now_ns;         // guest time for the APIC
    std::function<void()> after_write;        // e.g. re-arm that APIC's timer
  };
  LapicWindows(Memory& mem, Hooks hooks) : mem_(mem), hooks_(std::move(hooks)) {}

  // Maps and unmaps windows so that there is one at each APIC's current
  // base: call after any IA32_APIC_BASE change.
  void update(const std::vector<const LocalApic*>& apics);
  const std::set<uint64_t>& bases() const { return mapped_; }

 private:
  void map_window(uint64_t base);

  Memory& mem_;
  Hooks hooks_;
  std::set<uint64_t> mapped_;
};

}  // namespace softvt
