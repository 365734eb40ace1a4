// The gdb stub's access to guest state (traces/gdb_stub.h): registers,
// memory through the CPU's paging, and the breakpoints and watchpoints it
// keeps for the run loop (emu/debug.h HostDebugger).
#include <algorithm>

#include "traces/gdb_stub.h"
#include "traces/gdb_stub_util.h"
#include "traces/gdb_target_xml.h"
#include "traces/gdb_walk.h"

namespace softvt::gdb {

using namespace detail;

// ---- HostDebugger ---------------------------------------------------------

unsigned Stub::cpu_index(const Cpu& cpu) {
  for (unsigned i = 0; i < t_.cpu_count(); ++i)
    if (&t_.cpu(i) == &cpu) return i;
  return 0;
}

bool Stub::stop_before(const Cpu& cpu) {
  const uint64_t pc = pc_of(cpu);
  for (const Breakpoint& b : breakpoints_) {
    if (b.addr != pc) continue;
    const unsigned i = cpu_index(cpu);
    if (skip_active_ && skip_cpu_ == i && skip_rip_ == pc && skip_position_ == t_.position()) return false;
    hit_ = Hit{true, b.hardware, i, 0, 0};
    return true;
  }
  return false;
}

bool Stub::page_watched(uint64_t lin) const {
  const uint64_t page = lin & ~uint64_t(0xfff);
  for (const Watchpoint& w : watchpoints_)
    if (w.addr < page + 0x1000 && page < w.addr + w.len) return true;
  return false;
}

bool Stub::data_access(const Cpu& cpu, uint64_t lin, unsigned size, bool write) {
  for (const Watchpoint& w : watchpoints_) {
    if (!(lin < w.addr + w.len && w.addr < lin + size)) continue;
    if ((w.type == 2 && !write) || (w.type == 3 && write)) continue;
    hit_ = Hit{false, false, cpu_index(cpu), w.addr, w.type};
    return true;
  }
  return false;
}

// ---- registers --------------------------------------------------------------

std::string Stub::read_registers() {
  std::string all, b;
  for (unsigned r = 0; r < registers().size(); ++r) {
    gdb::read_register(selected_cpu(), r, b);
    all += b;
  }
  return to_hex(all);
}

std::string Stub::write_registers(const std::string& hex) {
  const auto bytes = from_hex(hex);
  if (!bytes) return kBadPacket;
  size_t total = 0;
  for (const RegisterInfo& r : registers()) total += r.bits / 8;
  if (bytes->size() != total) return kBadArg;
  size_t off = 0;
  for (unsigned r = 0; r < registers().size(); ++r) {
    const size_t n = registers()[r].bits / 8;
    gdb::write_register(selected_cpu(), r, bytes->data() + off, n);
    off += n;
  }
  t_.state_edited();
  return "OK";
}

std::string Stub::read_register(const std::string& arg) {
  const auto r = parse_hex_number(arg);
  std::string b;
  if (!r || *r > 0xffff || !gdb::read_register(selected_cpu(), unsigned(*r), b)) return kBadArg;
  return to_hex(b);
}

std::string Stub::write_register(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) return kBadPacket;
  const auto r = parse_hex_number(arg.substr(0, eq));
  const auto bytes = from_hex(arg.substr(eq + 1));
  if (!r || !bytes || *r > 0xffff) return kBadPacket;
  if (!gdb::write_register(selected_cpu(), unsigned(*r), bytes->data(), bytes->size())) return kBadArg;
  t_.state_edited();
  return "OK";
}

// ---- memory -----------------------------------------------------------------

// Reads through the selected CPU's paging; stops at the first byte that has
// no translation to RAM (an error if that is the first one).
std::string Stub::read_memory(const std::string& arg) {
  uint64_t addr, len;
  if (!parse_addr_len(arg, addr, len)) return kBadPacket;
  len = std::min<uint64_t>(len, PACKET_SIZE / 2 - 8);
  Cpu& cpu = selected_cpu();
  std::string out;
  while (out.size() < len) {
    const uint64_t lin = addr + out.size();
    const WalkResult w = debug_walk(cpu, lin);
    if (!w.ok || w.phys >= cpu.mem.ram_size()) break;
    const uint64_t in_page = std::min<uint64_t>(0x1000 - (lin & 0xfff), cpu.mem.ram_size() - w.phys);
    const uint64_t n = std::min<uint64_t>(in_page, len - out.size());
    out.append(reinterpret_cast<const char*>(cpu.mem.ram() + w.phys), n);
  }
  if (out.empty() && len) return kBadMemory;
  return to_hex(out);
}

std::string Stub::write_memory(const std::string& arg, bool binary) {
  const size_t colon = arg.find(':');
  if (colon == std::string::npos) return kBadPacket;
  uint64_t addr, len;
  if (!parse_addr_len(arg.substr(0, colon), addr, len)) return kBadPacket;
  std::string data;
  if (binary) {
    const auto d = unescape_binary(arg.substr(colon + 1));
    if (!d) return kBadPacket;
    data = *d;
  } else {
    const auto d = from_hex(arg.substr(colon + 1));
    if (!d) return kBadPacket;
    data.assign(d->begin(), d->end());
  }
  if (data.size() != len) return kBadArg;
  Cpu& cpu = selected_cpu();
  // Every byte must be writable RAM before any is written.
  std::vector<uint64_t> phys(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const WalkResult w = debug_walk(cpu, addr + i);
    if (!w.ok || w.phys >= cpu.mem.ram_size()) return kBadMemory;
    phys[i] = w.phys;
  }
  // write_phys drops decoded blocks on the written bytes (self-modifying code).
  for (size_t i = 0; i < data.size(); ++i) cpu.mem.write_phys(phys[i], 1, uint8_t(data[i]));
  if (!data.empty()) t_.state_edited();
  return "OK";
}

// ---- breakpoints and watchpoints ------------------------------------------------

std::string Stub::breakpoint(const std::string& p, bool insert) {
  // "TYPE,ADDR,KIND" (KIND: the breakpoint's length; conditions after ';' are not supported).
  if (p.size() < 2 || p[1] != ',') return kBadPacket;
  const unsigned type = unsigned(p[0] - '0');
  if (type > 4) return "";
  std::string rest = p.substr(2);
  if (const size_t semi = rest.find(';'); semi != std::string::npos) rest = rest.substr(0, semi);
  uint64_t addr, kind;
  if (!parse_addr_len(rest, addr, kind)) return kBadPacket;
  if (type <= 1) {
    auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(),
                           [&](const Breakpoint& b) { return b.addr == addr && b.hardware == (type == 1); });
    if (insert && it == breakpoints_.end()) breakpoints_.push_back(Breakpoint{addr, type == 1});
    if (!insert && it != breakpoints_.end()) breakpoints_.erase(it);
  } else {
    if (kind == 0 || kind > 0x1000) return kBadArg;
    auto it = std::find_if(watchpoints_.begin(), watchpoints_.end(), [&](const Watchpoint& w) {
      return w.addr == addr && w.len == kind && w.type == type;
    });
    if (insert && it == watchpoints_.end()) watchpoints_.push_back(Watchpoint{addr, kind, type});
    if (!insert && it != watchpoints_.end()) watchpoints_.erase(it);
  }
  return "OK";
}

}  // namespace softvt::gdb
