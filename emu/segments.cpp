// Segment register loads and descriptor handling (SDM Vol. 3A 3.4, 5.5-5.8).
#include "emu/cpu.h"

namespace softvt {

void Cpu::load_real_segment(uint8_t seg, uint16_t selector) {
  s.seg[seg].sel = selector;
  s.seg[seg].base = uint64_t(selector) << 4;
}

void Cpu::load_segment(uint8_t seg, uint16_t selector) {
  if (s.mode == Mode::Real || s.mode == Mode::V86) {
    load_real_segment(seg, selector);
    return;
  }
  raise_ud();
}

uint64_t Cpu::read_descriptor(uint16_t selector, uint8_t fault_vector) {
  raise(fault_vector, selector & 0xfffc);
}

void Cpu::set_descriptor_accessed(uint16_t, uint64_t) {}

SegReg Cpu::segment_from_descriptor(uint16_t selector, uint64_t d) {
  SegReg r{};
  r.sel = selector;
  r.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
  uint32_t limit = uint32_t((d & 0xffff) | (((d >> 48) & 0xf) << 16));
  r.attr = uint32_t((d >> 40) & 0xff) | uint32_t(((d >> 52) & 0xf) << 12);
  if (r.attr & ar::G) limit = (limit << 12) | 0xfff;
  r.limit = limit;
  return r;
}

void Cpu::load_cs_from_descriptor(uint16_t selector, uint64_t descriptor, uint8_t new_cpl) {
  s.seg[CS] = segment_from_descriptor(selector, descriptor);
  s.seg[CS].sel = uint16_t((selector & ~3) | new_cpl);
  s.cpl = new_cpl;
  update_mode();
}

}  // namespace softvt
