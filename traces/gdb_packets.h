// The framing layer of the GDB Remote Serial Protocol (gdb manual, appendix
// "GDB Remote Serial Protocol", sections "Overview" and "Packet
// Acknowledgment"): `$payload#cc` packets with a modulo-256 checksum, `+`/`-`
// acknowledgments, `}` escaping of binary data, and the out-of-band 0x03
// byte that asks a running target to stop. Pure functions and a byte-fed
// parser: no sockets here, so the layer is unit-tested and fuzzed alone.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace softvt::gdb {

// Sum of the payload bytes modulo 256 (the two hex digits after '#').
uint8_t checksum(const std::string& payload);

// "$payload#cc", with '$', '#', '}' and '*' in the payload escaped so the
// receiver never mistakes them for framing or run-length encoding.
std::string frame(const std::string& payload);

// Binary data escaped for a packet body (X packets, qXfer replies): each
// of '$', '#', '}', '*' becomes '}' followed by the byte XOR 0x20.
std::string escape_binary(const std::string& data);
// The reverse; nullopt when the data ends in a lone '}'.
std::optional<std::string> unescape_binary(const std::string& data);

// Hex helpers (lowercase digits, two per byte, in memory order).
std::string to_hex(const uint8_t* bytes, size_t n);
std::string to_hex(const std::string& bytes);
// nullopt on an odd length or a non-hex digit.
std::optional<std::vector<uint8_t>> from_hex(const std::string& hex);
// A big-endian hex number as gdb writes addresses and lengths ("1a2b");
// nullopt if empty, not hex, or wider than 64 bits.
std::optional<uint64_t> parse_hex_number(const std::string& s);
std::string hex_number(uint64_t v);

// What the parser found in the byte stream.
struct Event {
  enum Kind : uint8_t {
    Packet,     // a whole packet with a good checksum (`payload`, unescaped of nothing:
                // escapes are command-specific and left to the command)
    BadPacket,  // a packet whose checksum or digits are wrong: answer '-'
    Ack,        // '+'
    Nack,       // '-': resend the last packet
    Interrupt,  // 0x03 outside a packet
  } kind;
  std::string payload;
};

// Feeds bytes from the connection; collects events. Never throws, never
// grows without bound: a packet longer than `max_payload` is dropped as
// BadPacket when it ends (and its excess bytes are not kept).
class PacketParser {
 public:
  explicit PacketParser(size_t max_payload = 1 << 20) : max_(max_payload) {}
  void feed(const char* data, size_t n);
  // Removes and returns the oldest event, if any.
  std::optional<Event> next();
  bool pending() const { return head_ < events_.size(); }
  // Removes the pending Interrupt events (0x03 received while the target
  // runs), keeping the others in order; true if there was one.
  bool take_interrupt();

 private:
  enum class State : uint8_t { Idle, Body, Sum1, Sum2 };
  void finish_packet();
  size_t max_;
  State state_ = State::Idle;
  std::string body_;
  bool overflow_ = false;
  char sum_[2] = {0, 0};
  std::vector<Event> events_;
  size_t head_ = 0;
};

}  // namespace softvt::gdb
