// Event delivery through the IVT (real mode) and the IDT (protected and
// long mode), with the double-fault and triple-fault rules (SDM Vol. 3A
// chapter 6).
#include "emu/cpu.h"

namespace softvt {

void Cpu::deliver_event(uint8_t vector, EventType, uint32_t, uint64_t) {
  shutdown("event delivery not implemented yet (vector " + std::to_string(vector) + ")");
}

}  // namespace softvt
