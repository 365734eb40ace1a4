#include "emu/devices/cmos_rtc.h"

#include <ctime>

#include "emu/machine/io_bus.h"

namespace softvt {

namespace {
// Register numbers and bits (MC146818A data sheet).
constexpr unsigned SEC = 0, SEC_ALARM = 1, MIN = 2, MIN_ALARM = 3, HOUR = 4, HOUR_ALARM = 5;
constexpr unsigned WEEKDAY = 6, DAY = 7, MONTH = 8, YEAR = 9, REG_A = 10, REG_B = 11, REG_C = 12, REG_D = 13;
constexpr unsigned CENTURY = 0x32;  // the century byte QEMU uses (ACPI FADT CENTURY)
constexpr uint8_t A_UIP = 0x80;
constexpr uint8_t B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
constexpr uint8_t C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
constexpr uint8_t D_VRT = 0x80;
constexpr uint64_t NS = 1000000000;
constexpr uint64_t UIP_NS = 244000;  // UIP is set 244 us before the update

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}
}  // namespace

CmosRtc::CmosRtc(Clock& clock, int64_t epoch, std::function<void(bool)> irq8)
    : clock_(clock), irq8_(std::move(irq8)), offset_(epoch) {
  periodic_timer_ = clock_.add_timer([this](uint64_t) { on_timer(true); });
  update_timer_ = clock_.add_timer([this](uint64_t) { on_timer(false); });
  cmos_[REG_A] = 0x26;  // 32.768 kHz time base, 1024 Hz periodic rate
  cmos_[REG_B] = B_24H;
  cmos_[REG_D] = D_VRT;
}

void CmosRtc::set_memory_size(uint64_t ram, unsigned cpus) {
  // QEMU's pc_cmos_init: base memory 640 KiB; extended memory above 1 MiB
  // in KiB (at most 65535) in 0x17/0x18 and 0x30/0x31; memory above 16 MiB
  // in 64 KiB units (at most 65535) in 0x34/0x35; above 4 GiB in 64 KiB
  // units in 0x5b-0x5d; CPUs - 1 in 0x5f.
  cmos_[0x15] = 640 & 0xff;
  cmos_[0x16] = 640 >> 8;
  const uint64_t below_4g = ram < 0x100000000ull ? ram : 0x100000000ull;
  uint64_t ext = below_4g / 1024;
  ext = ext > 1024 ? ext - 1024 : 0;
  if (ext > 65535) ext = 65535;
  cmos_[0x17] = cmos_[0x30] = uint8_t(ext);
  cmos_[0x18] = cmos_[0x31] = uint8_t(ext >> 8);
  uint64_t above16 = below_4g > (16ull << 20) ? (below_4g - (16ull << 20)) / 65536 : 0;
  if (above16 > 65535) above16 = 65535;
  cmos_[0x34] = uint8_t(above16);
  cmos_[0x35] = uint8_t(above16 >> 8);
  const uint64_t above4g = ram > 0x100000000ull ? (ram - 0x100000000ull) / 65536 : 0;
  cmos_[0x5b] = uint8_t(above4g);
  cmos_[0x5c] = uint8_t(above4g >> 8);
  cmos_[0x5d] = uint8_t(above4g >> 16);
  cmos_[0x5f] = uint8_t(cpus - 1);
}

int64_t CmosRtc::unix_time() const { return offset_ + int64_t(clock_.now() / NS); }
uint64_t CmosRtc::ns_in_second() const { return clock_.now() % NS; }

uint8_t CmosRtc::to_bcd(unsigned v) const {
  return (cmos_[REG_B] & B_DM) ? uint8_t(v) : uint8_t(((v / 10) << 4) | (v % 10));
}
unsigned CmosRtc::from_bcd(uint8_t v) const {
  return (cmos_[REG_B] & B_DM) ? v : unsigned((v >> 4) * 10 + (v & 0xf));
}

uint8_t CmosRtc::time_register(unsigned index) const {
  const time_t t = time_t(unix_time());
  std::tm tm{};
  gmtime_r(&t, &tm);
  switch (index) {
    case SEC: return to_bcd(unsigned(tm.tm_sec));
    case MIN: return to_bcd(unsigned(tm.tm_min));
    case HOUR:
      if (cmos_[REG_B] & B_24H) return to_bcd(unsigned(tm.tm_hour));
      // 12-hour mode: 1-12 with bit 7 = PM.
      return uint8_t(to_bcd(unsigned(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12)) | (tm.tm_hour >= 12 ? 0x80 : 0));
    case WEEKDAY: return to_bcd(unsigned(tm.tm_wday + 1));
    case DAY: return to_bcd(unsigned(tm.tm_mday));
    case MONTH: return to_bcd(unsigned(tm.tm_mon + 1));
    case YEAR: return to_bcd(unsigned(tm.tm_year % 100));
    case CENTURY: return to_bcd(unsigned((tm.tm_year + 1900) / 100));
  }
  return 0;
}

void CmosRtc::store_time(int64_t t) { offset_ = t - int64_t(clock_.now() / NS); }

uint64_t CmosRtc::periodic_ns() const {
  // Rate select (register A bits 3-0): 0 = off; 1 and 2 are 256 and 128 Hz;
  // n >= 3 gives 65536 >> n Hz, i.e. a period of 2^(n-1) cycles of 32.768 kHz.
  const unsigned rs = cmos_[REG_A] & 0xf;
  if (rs == 0) return 0;
  const unsigned shift = rs <= 2 ? rs + 6 : rs - 1;
  return (NS << shift) / 32768;
}

bool CmosRtc::alarm_matches(int64_t t) const {
  // An alarm byte of 0xc0-0xff matches any value ("don't care").
  const auto match = [&](unsigned alarm, unsigned reg) {
    const uint8_t a = cmos_[alarm];
    return (a & 0xc0) == 0xc0 || a == time_register(reg);
  };
  (void)t;
  return match(SEC_ALARM, SEC) && match(MIN_ALARM, MIN) && match(HOUR_ALARM, HOUR);
}

void CmosRtc::update_irq() {
  const uint8_t c = cmos_[REG_C] & (C_PF | C_AF | C_UF);
  const uint8_t enabled = cmos_[REG_B] & (B_PIE | B_AIE | B_UIE);  // same bit positions as C
  if (c & enabled) cmos_[REG_C] |= C_IRQF;
  if (irq8_) irq8_(cmos_[REG_C] & C_IRQF);
}

void CmosRtc::reschedule() {
  const uint64_t now = clock_.now();
  const uint64_t p = periodic_ns();
  if (p && (cmos_[REG_B] & B_PIE)) clock_.arm(periodic_timer_, (now / p + 1) * p);
  else clock_.disarm(periodic_timer_);
  if ((cmos_[REG_B] & (B_UIE | B_AIE)) && !(cmos_[REG_B] & B_SET)) clock_.arm(update_timer_, (now / NS + 1) * NS);
  else clock_.disarm(update_timer_);
}

void CmosRtc::on_timer(bool periodic) {
  if (periodic) {
    cmos_[REG_C] |= C_PF;
  } else if (!(cmos_[REG_B] & B_SET)) {
    cmos_[REG_C] |= C_UF;
    if (alarm_matches(unix_time())) cmos_[REG_C] |= C_AF;
  }
  update_irq();
  reschedule();
}

uint8_t CmosRtc::read_data() {
  const unsigned i = index_;
  switch (i) {
    case SEC: case MIN: case HOUR: case WEEKDAY: case DAY: case MONTH: case YEAR: case CENTURY:
      return time_register(i);
    case REG_A: {
      const bool uip = !(cmos_[REG_B] & B_SET) && ns_in_second() >= NS - UIP_NS;
      return uint8_t((cmos_[REG_A] & 0x7f) | (uip ? A_UIP : 0));
    }
    case REG_C: {
      // Flags whose interrupt is disabled are computed here (no timer runs
      // for them): PF after a periodic period, UF after a second boundary.
      const uint64_t now = clock_.now();
      const uint64_t p = periodic_ns();
      if (p && now / p != last_periodic_ns_ / p) cmos_[REG_C] |= C_PF;
      if (now / NS != last_periodic_ns_ / NS && !(cmos_[REG_B] & B_SET)) cmos_[REG_C] |= C_UF;
      last_periodic_ns_ = now;
      const uint8_t v = cmos_[REG_C];
      cmos_[REG_C] = 0;  // reading C clears every flag and IRQF
      update_irq();
      return v;
    }
    case REG_D: return D_VRT;
    default: return cmos_[i];
  }
}

void CmosRtc::write_data(uint8_t v) {
  const unsigned i = index_;
  switch (i) {
    case SEC: case MIN: case HOUR: case DAY: case MONTH: case YEAR: case CENTURY: {
      // Setting a time field: rebuild the time with the new value.
      const time_t now = time_t(unix_time());
      std::tm tm{};
      gmtime_r(&now, &tm);
      unsigned val = from_bcd(uint8_t(i == HOUR ? v & 0x7f : v));
      if (i == HOUR && !(cmos_[REG_B] & B_24H)) val = (val % 12) + ((v & 0x80) ? 12 : 0);
      if (i == SEC) tm.tm_sec = int(val);
      if (i == MIN) tm.tm_min = int(val);
      if (i == HOUR) tm.tm_hour = int(val);
      if (i == DAY) tm.tm_mday = int(val);
      if (i == MONTH) tm.tm_mon = int(val) - 1;
      if (i == YEAR) tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + int(val) - 1900;
      if (i == CENTURY) tm.tm_year = int(val) * 100 + tm.tm_year % 100 - 1900;
      const int64_t t = days_from_civil(tm.tm_year + 1900, unsigned(tm.tm_mon + 1), unsigned(tm.tm_mday)) * 86400 +
                        tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
      store_time(t);
      return;
    }
    case WEEKDAY: return;  // derived from the date
    case REG_A: cmos_[REG_A] = v & 0x7f; reschedule(); return;  // UIP is read-only
    case REG_B:
      cmos_[REG_B] = v;
      if (v & B_SET) cmos_[REG_B] &= ~B_UIE;  // SET clears UIE (data sheet)
      update_irq();
      reschedule();
      return;
    case REG_C: case REG_D: return;  // read-only
    default: cmos_[i] = v; return;
  }
}

void CmosRtc::map_ports(IoBus& io) {
  io.map(0x70, 2,
         IoHandler{[this](uint16_t off, unsigned) -> uint64_t { return off ? read_data() : 0xff; },
                   [this](uint16_t off, unsigned, uint64_t v) {
                     if (off) write_data(uint8_t(v));
                     else write_index(uint8_t(v));
                   }},
         "cmos-rtc");
}

}  // namespace softvt
