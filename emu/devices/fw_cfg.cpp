#include "emu/devices/fw_cfg.h"

#include <cstring>

#include "emu/machine/io_bus.h"

namespace softvt {

namespace {
constexpr size_t MAX_FILE_PATH = 56;

template <typename T>
std::vector<uint8_t> le_bytes(T v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);  // the host is little-endian (x86-64)
  return b;
}
void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void put_be16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
}  // namespace

FwCfg::FwCfg() {
  add_bytes(fw_cfg_key::SIGNATURE, {'Q', 'E', 'M', 'U'});
  add_u32(fw_cfg_key::ID, 1);  // traditional interface only (no DMA)
  rebuild_directory();
}

void FwCfg::add_bytes(uint16_t key, std::vector<uint8_t> data) {
  items_[key & ~fw_cfg_key::WRITE_CHANNEL] = std::move(data);
  current_ = nullptr;  // the map may have moved; reselect
}
void FwCfg::add_u16(uint16_t key, uint16_t v) { add_bytes(key, le_bytes(v)); }
void FwCfg::add_u32(uint16_t key, uint32_t v) { add_bytes(key, le_bytes(v)); }
void FwCfg::add_u64(uint16_t key, uint64_t v) { add_bytes(key, le_bytes(v)); }
void FwCfg::add_string(uint16_t key, const std::string& s) {
  add_bytes(key, std::vector<uint8_t>(s.c_str(), s.c_str() + s.size() + 1));
}

void FwCfg::add_file(const std::string& name, std::vector<uint8_t> data) {
  files_[name.substr(0, MAX_FILE_PATH - 1)] = std::move(data);
  rebuild_directory();
}

uint16_t FwCfg::file_key(const std::string& name) const {
  uint16_t key = fw_cfg_key::FILE_FIRST;
  for (const auto& [n, d] : files_) {
    if (n == name) return key;
    ++key;
  }
  return 0xffff;
}

void FwCfg::rebuild_directory() {
  for (auto it = items_.lower_bound(fw_cfg_key::FILE_FIRST); it != items_.end() && it->first < fw_cfg_key::ARCH_LOCAL;)
    it = items_.erase(it);
  std::vector<uint8_t> dir;
  put_be32(dir, uint32_t(files_.size()));
  uint16_t key = fw_cfg_key::FILE_FIRST;
  for (const auto& [name, data] : files_) {
    put_be32(dir, uint32_t(data.size()));
    put_be16(dir, key);
    put_be16(dir, 0);
    char n[MAX_FILE_PATH] = {};
    std::memcpy(n, name.data(), name.size());
    dir.insert(dir.end(), n, n + MAX_FILE_PATH);
    items_[key++] = data;
  }
  items_[fw_cfg_key::FILE_DIR] = std::move(dir);
  current_ = nullptr;
}

void FwCfg::select(uint16_t key) {
  // The write-channel bit does not change which item is read.
  auto it = items_.find(key & ~fw_cfg_key::WRITE_CHANNEL);
  current_ = it == items_.end() ? nullptr : &it->second;
  offset_ = 0;
}

uint8_t FwCfg::read_byte() {
  // Past the end of an item, or with no valid item selected, reads are 0.
  if (!current_ || offset_ >= current_->size()) return 0;
  return (*current_)[offset_++];
}

void FwCfg::map_ports(IoBus& io) {
  // QEMU's combined I/O region: a byte read of either port reads data, a
  // 16-bit write of 0x510 selects; byte writes (the old data-write
  // channel) are ignored, as are other access sizes.
  io.map(PORT, 2,
         IoHandler{[this](uint16_t, unsigned size) -> uint64_t { return size == 1 ? read_byte() : all_ones(size); },
                   [this](uint16_t off, unsigned size, uint64_t v) {
                     if (size == 2 && off == 0) select(uint16_t(v));
                   }},
         "fw_cfg");
}

}  // namespace softvt
