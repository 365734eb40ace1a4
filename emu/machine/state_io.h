// Saving and restoring the state of the PC's devices for snapshots
// (traces/gdb_pc_target.cpp, docs/decisions.md "Reverse execution in
// gdb"): a device names the fields that change as the machine runs once,
// in `template <class Io> void state_io(Io& io)`, and that one list both
// writes them (StateWriter) and reads them back (StateReader) into the
// same device of the same machine. What never changes after the machine
// is built (wiring, callbacks, timer ids, configuration) is not listed.
#pragma once
#include <cstdint>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace softvt {

class StateWriter {
 public:
  explicit StateWriter(std::vector<uint8_t>& out) : out_(out) {}
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void operator()(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  template <class T>
  void operator()(const std::deque<T>& d) {
    (*this)(uint64_t(d.size()));
    for (const T& e : d) (*this)(e);
  }
  template <class T>
  void operator()(const std::vector<T>& d) {
    (*this)(uint64_t(d.size()));
    for (const T& e : d) (*this)(e);
  }

 private:
  std::vector<uint8_t>& out_;
};

class StateReader {
 public:
  explicit StateReader(const std::vector<uint8_t>& in) : in_(in) {}
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void operator()(T& v) {
    if (in_.size() - pos_ < sizeof v) throw std::runtime_error("snapshot: device state shorter than its fields");
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
  }
  template <class T>
  void operator()(std::deque<T>& d) {
    d.clear();
    for (uint64_t n = count(); n; --n) d.push_back(element<T>());
  }
  template <class T>
  void operator()(std::vector<T>& d) {
    d.clear();
    for (uint64_t n = count(); n; --n) d.push_back(element<T>());
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  uint64_t count() {
    uint64_t n = 0;
    (*this)(n);
    return n;
  }
  template <class T>
  T element() {
    T e{};
    (*this)(e);
    return e;
  }
  const std::vector<uint8_t>& in_;
  size_t pos_ = 0;
};

}  // namespace softvt
