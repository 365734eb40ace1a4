#include "vmx/vmcs_cache.h"

#include <array>
#include <cstring>
#include <stdexcept>

#include "emu/memory.h"

namespace softvt::vmx {
namespace {

// Region bytes [from, to) between the cache and guest memory, 4 bytes at a
// time (every boundary of the layout is 4-byte aligned). Physical accesses:
// the VMCS region is referenced by physical address (SDM 25.2); addresses
// outside RAM read as open bus and drop writes, as any physical access.
void load_bytes(uint8_t* cache, Memory& mem, uint64_t addr, uint32_t from, uint32_t to) {
  for (uint32_t off = from; off < to; off += 4) {
    const uint32_t v = uint32_t(mem.read_phys(addr + off, 4));
    std::memcpy(cache + off, &v, 4);
  }
}

void store_bytes(const uint8_t* cache, Memory& mem, uint64_t addr, uint32_t from, uint32_t to) {
  for (uint32_t off = from; off < to; off += 4) {
    uint32_t v;
    std::memcpy(&v, cache + off, 4);
    mem.write_phys(addr + off, 4, v);
  }
}

}  // namespace

void write_back_current(const VmxState& v, Memory& mem) {
  if (!v.has_current_vmcs()) return;
  store_bytes(v.cache.data(), mem, v.current_vmcs, vmcs_layout::LAUNCH_STATE, vmcs_layout::data_end());
}

void make_current(VmxState& v, Memory& mem, uint64_t addr, bool shadow) {
  if (v.current_vmcs != addr) {
    write_back_current(v, mem);
    v.cache.fill(0);
    load_bytes(v.cache.data(), mem, addr, vmcs_layout::LAUNCH_STATE, vmcs_layout::data_end());
  }
  v.current_vmcs = addr;
  v.current_is_shadow = shadow;
}

void clear_vmcs(VmxState& v, Memory& mem, uint64_t addr) {
  if (v.current_vmcs == addr) {
    write_back_current(v, mem);
    v.current_vmcs = INVALID_VMCS_POINTER;
    v.current_is_shadow = false;
  }
  mem.write_phys(addr + vmcs_layout::LAUNCH_STATE, 4, uint32_t(LaunchState::Clear));
}

namespace field_location {

namespace {
std::array<Location, kKeys> build() {
  std::array<Location, kKeys> t{};
  for (const VmcsField& f : vmcs_fields())
    if (keyable(f.encoding)) t[key_of(f.encoding)] = {f.offset, uint8_t(f.size())};
  return t;
}
}  // namespace

const std::array<Location, kKeys> kTable = build();

void no_such_field(uint32_t encoding) {
  throw std::logic_error("vmx: no VMCS field with encoding " + std::to_string(encoding));
}

}  // namespace field_location

LaunchState launch_state(const VmxState& v) {
  uint32_t s;
  std::memcpy(&s, v.cache.data() + vmcs_layout::LAUNCH_STATE, 4);
  return s == uint32_t(LaunchState::Launched) ? LaunchState::Launched : LaunchState::Clear;
}

void set_launch_state(VmxState& v, LaunchState s) {
  const uint32_t raw = uint32_t(s);
  std::memcpy(v.cache.data() + vmcs_layout::LAUNCH_STATE, &raw, 4);
}

}  // namespace softvt::vmx
