// Small helpers the gdb stub's files share (traces/gdb_stub*.cpp): reply
// codes and argument parsing. Internal to the stub.
#pragma once
#include <cstdint>
#include <string>

#include "emu/cpu.h"
#include "traces/gdb_packets.h"

namespace softvt::gdb::detail {

// Largest packet the stub accepts and announces (qSupported PacketSize).
constexpr size_t PACKET_SIZE = 0x4000;
constexpr unsigned SIGINT_NUM = 2, SIGTRAP_NUM = 5, SIGABRT_NUM = 6, SIGSEGV_NUM = 11;

inline std::string byte_hex(unsigned v) {
  static const char digits[] = "0123456789abcdef";
  return std::string(1, digits[(v >> 4) & 15]) + digits[v & 15];
}

inline std::string error_reply(unsigned code) { return "E" + byte_hex(code); }
// Error numbers (gdb only shows them): 01 bad packet, 0e memory, 16 bad argument.
inline const std::string kBadPacket = error_reply(1), kBadMemory = error_reply(0x0e), kBadArg = error_reply(0x16);

inline bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "ADDR,LEN" (hex numbers).
inline bool parse_addr_len(const std::string& s, uint64_t& addr, uint64_t& len) {
  const size_t comma = s.find(',');
  if (comma == std::string::npos) return false;
  const auto a = parse_hex_number(s.substr(0, comma)), l = parse_hex_number(s.substr(comma + 1));
  if (!a || !l) return false;
  addr = *a;
  len = *l;
  return true;
}

// The address gdb uses for the instruction pointer: RIP (gdb's $pc).
inline uint64_t pc_of(const Cpu& cpu) { return cpu.s.rip; }

}  // namespace softvt::gdb::detail
