// The APIC bus: routing of interrupt messages to local APICs (SDM 11.6.2
// "Determining IPI Destination", 11.6.2.4 lowest-priority delivery) and
// the EOI broadcast to the I/O APICs (SDM 11.8.5).
#include "emu/devices/lapic.h"

namespace softvt {

using namespace apic;

std::vector<LocalApic*> ApicBus::destinations(const ApicMessage& m, LocalApic* sender) const {
  std::vector<LocalApic*> out;
  for (LocalApic* a : apics_) {
    if (!a->hw_enabled()) continue;  // a globally disabled APIC is not on the bus
    bool hit = false;
    switch (m.shorthand) {
      case Shorthand::None: hit = a->matches(m.dest, m.logical, m.x2apic_format); break;
      case Shorthand::Self: hit = a == sender; break;
      case Shorthand::AllIncludingSelf: hit = true; break;
      case Shorthand::AllExcludingSelf: hit = a != sender; break;
    }
    if (hit) out.push_back(a);
  }
  return out;
}

// Lowest-priority arbitration (SDM 11.6.2.4): the focus processor (one that
// already has the vector in its IRR or ISR, focus checking enabled) wins;
// otherwise the APIC with the lowest arbitration priority, ties going to
// the lowest APIC ID (the tie-break is implementation-specific; this is
// softvt's deterministic choice). Software-disabled APICs take no part.
LocalApic* ApicBus::lowest_priority(const std::vector<LocalApic*>& targets, uint8_t vector) const {
  LocalApic* best = nullptr;
  for (LocalApic* a : targets) {
    if (!a->sw_enabled()) continue;
    if (a->focus_holds(vector)) return a;
    if (!best || a->apr() < best->apr() || (a->apr() == best->apr() && a->id() < best->id())) best = a;
  }
  return best;
}

void ApicBus::send(const ApicMessage& m, LocalApic* sender) {
  std::vector<LocalApic*> targets = destinations(m, sender);
  if (m.mode == Delivery::LowestPriority) {
    if (LocalApic* a = lowest_priority(targets, m.vector)) a->receive(m);
    return;
  }
  for (LocalApic* a : targets) a->receive(m);
}

void ApicBus::broadcast_eoi(uint8_t vector) {
  for (auto& f : eoi_listeners_) f(vector);
}

}  // namespace softvt
