// The cached current VMCS (vmx/vmx_state.h): loading it from its region,
// writing it back, its fields and its launch state.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>

#include "vmx/vmcs_fields.h"
#include "vmx/vmx_state.h"

namespace softvt {
class Memory;
}

namespace softvt::vmx {

enum class LaunchState : uint8_t { Clear = 0, Launched = 1 };

// Makes the VMCS at `addr` current: the cached one (if another) is
// written back first, then the region's data is read into the cache.
void make_current(VmxState& v, Memory& mem, uint64_t addr, bool shadow);
// Writes the current VMCS back to its region (the data part: launch state
// and fields; the revision identifier and the abort indicator stay).
void write_back_current(const VmxState& v, Memory& mem);
// VMCLEAR: the VMCS at `addr` has its data in memory and launch state
// "clear"; if it was current, there is no current VMCS any more.
void clear_vmcs(VmxState& v, Memory& mem, uint64_t addr);

// Where each field's data lives in the cache, by encoding: VM entry reads
// hundreds of fields (checks, guest state) and every exit writes dozens,
// so the named-encoding accessors below are inline and take one load from
// a 4-KB table instead of a search. The key: width (encoding bits 14:13),
// type (11:10) and index (9:1), the index below 64 (the appendix's highest
// is 41; test_vmx_entry checks every field of the table is reachable).
namespace field_location {
struct Location {
  uint16_t offset;
  uint8_t size;  // 0: no field has this encoding
};
constexpr unsigned kIndexBits = 6;
constexpr unsigned kKeys = 1u << (4 + kIndexBits);
constexpr uint32_t kEncodingBits = 0x6c00 | 0x1fe;  // width, type, index (bit 12 reserved)
constexpr unsigned key_of(uint32_t encoding) {
  return ((encoding >> 13) & 3) << (2 + kIndexBits) | ((encoding >> 10) & 3) << kIndexBits |
         ((encoding >> 1) & ((1u << kIndexBits) - 1));
}
constexpr bool keyable(uint32_t encoding) {
  return (encoding & ~kEncodingBits) == 0 && ((encoding >> 1) & 0x1ff) < (1u << kIndexBits);
}
extern const std::array<Location, kKeys> kTable;
[[noreturn]] void no_such_field(uint32_t encoding);

// Only softvt's own named encodings (full access, bit 0 = 0) come here.
inline const Location& of(uint32_t encoding) {
  const Location& l = kTable[key_of(encoding)];
  if (l.size == 0 || !keyable(encoding)) [[unlikely]] no_such_field(encoding);
  return l;
}
// Fixed-size copies: a copy of a run-time size is a call to memcpy.
inline uint64_t load(const uint8_t* p, unsigned size) {
  uint16_t w;
  uint32_t d;
  uint64_t q;
  switch (size) {
    case 2: std::memcpy(&w, p, 2); return w;
    case 4: std::memcpy(&d, p, 4); return d;
    default: std::memcpy(&q, p, 8); return q;
  }
}
inline void store(uint8_t* p, unsigned size, uint64_t value) {
  const uint16_t w = uint16_t(value);
  const uint32_t d = uint32_t(value);
  switch (size) {
    case 2: std::memcpy(p, &w, 2); break;
    case 4: std::memcpy(p, &d, 4); break;
    default: std::memcpy(p, &value, 8);
  }
}
}  // namespace field_location

// The full value of a field of the current VMCS (zero-extended).
inline uint64_t read_field(const VmxState& v, const VmcsField& f) {
  return field_location::load(v.cache.data() + f.offset, f.size());
}
// Stores `value` truncated to the field's width.
inline void write_field(VmxState& v, const VmcsField& f, uint64_t value) {
  field_location::store(v.cache.data() + f.offset, f.size(), value);
}
// The same, by encoding (for fields every processor has, such as
// VM_INSTRUCTION_ERROR); the encoding must be in the table.
inline uint64_t read_field(const VmxState& v, uint32_t encoding) {
  const field_location::Location& l = field_location::of(encoding);
  return field_location::load(v.cache.data() + l.offset, l.size);
}
inline void write_field(VmxState& v, uint32_t encoding, uint64_t value) {
  const field_location::Location& l = field_location::of(encoding);
  field_location::store(v.cache.data() + l.offset, l.size, value);
}

LaunchState launch_state(const VmxState& v);
void set_launch_state(VmxState& v, LaunchState s);

}  // namespace softvt::vmx
