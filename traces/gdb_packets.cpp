// GDB remote protocol framing (gdb manual, "Overview": packets, checksums,
// escaping; "Packet Acknowledgment"; "Interrupts": the 0x03 byte).
#include "traces/gdb_packets.h"

namespace softvt::gdb {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool needs_escape(char c) { return c == '$' || c == '#' || c == '}' || c == '*'; }

constexpr char kDigits[] = "0123456789abcdef";

}  // namespace

uint8_t checksum(const std::string& payload) {
  unsigned sum = 0;
  for (unsigned char c : payload) sum += c;
  return uint8_t(sum);
}

std::string escape_binary(const std::string& data) {
  std::string out;
  out.reserve(data.size());
  for (char c : data) {
    if (needs_escape(c)) {
      out += '}';
      out += char(c ^ 0x20);
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape_binary(const std::string& data) {
  std::string out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '}') {
      out += data[i];
      continue;
    }
    if (++i == data.size()) return std::nullopt;
    out += char(data[i] ^ 0x20);
  }
  return out;
}

std::string frame(const std::string& payload) {
  const std::string body = escape_binary(payload);
  const uint8_t sum = checksum(body);
  std::string out;
  out.reserve(body.size() + 4);
  out += '$';
  out += body;
  out += '#';
  out += kDigits[sum >> 4];
  out += kDigits[sum & 15];
  return out;
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

std::string to_hex(const std::string& bytes) {
  return to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::optional<std::vector<uint8_t>> from_hex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

std::optional<uint64_t> parse_hex_number(const std::string& s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | unsigned(d);
  }
  return v;
}

std::string hex_number(uint64_t v) {
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v);
  return out;
}

void PacketParser::finish_packet() {
  const int hi = hex_digit(sum_[0]), lo = hex_digit(sum_[1]);
  const bool good = !overflow_ && hi >= 0 && lo >= 0 && uint8_t(hi << 4 | lo) == checksum(body_);
  events_.push_back(Event{good ? Event::Packet : Event::BadPacket, good ? std::move(body_) : std::string()});
  body_.clear();
  overflow_ = false;
  state_ = State::Idle;
}

void PacketParser::feed(const char* data, size_t n) {
  if (head_ == events_.size()) {
    events_.clear();
    head_ = 0;
  }
  for (size_t i = 0; i < n; ++i) {
    const char c = data[i];
    switch (state_) {
      case State::Idle:
        // Between packets only acks, the interrupt byte and a packet start
        // mean something; anything else is line noise and ignored.
        if (c == '$') {
          state_ = State::Body;
          body_.clear();
          overflow_ = false;
        } else if (c == '+') {
          events_.push_back(Event{Event::Ack, {}});
        } else if (c == '-') {
          events_.push_back(Event{Event::Nack, {}});
        } else if (c == '\x03') {
          events_.push_back(Event{Event::Interrupt, {}});
        }
        break;
      case State::Body:
        if (c == '#') {
          state_ = State::Sum1;
        } else if (c == '$') {
          // A new start inside a packet: the earlier one was cut short
          // (gdb retransmits); report it and begin again.
          events_.push_back(Event{Event::BadPacket, {}});
          body_.clear();
          overflow_ = false;
        } else if (body_.size() < max_) {
          body_ += c;
        } else {
          overflow_ = true;
        }
        break;
      case State::Sum1:
        sum_[0] = c;
        state_ = State::Sum2;
        break;
      case State::Sum2:
        sum_[1] = c;
        finish_packet();
        break;
    }
  }
}

bool PacketParser::take_interrupt() {
  bool found = false;
  std::vector<Event> kept;
  for (size_t i = head_; i < events_.size(); ++i) {
    if (events_[i].kind == Event::Interrupt) found = true;
    else kept.push_back(std::move(events_[i]));
  }
  events_ = std::move(kept);
  head_ = 0;
  return found;
}

std::optional<Event> PacketParser::next() {
  if (head_ >= events_.size()) return std::nullopt;
  return std::move(events_[head_++]);
}

}  // namespace softvt::gdb
