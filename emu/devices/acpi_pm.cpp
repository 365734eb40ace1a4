// ACPI PM1 event/control registers and the PM timer (ACPI 6.4 4.8.3).
#include "emu/devices/acpi_pm.h"

namespace softvt {

namespace {
constexpr uint64_t NS_PER_S = 1000000000;
constexpr uint16_t STS_W1C = AcpiPm::TMR_STS | AcpiPm::BM_STS | AcpiPm::GBL_STS | AcpiPm::PWRBTN_STS |
                             AcpiPm::SLPBTN_STS | AcpiPm::RTC_STS | AcpiPm::WAK_STS;
constexpr uint16_t EN_BITS = AcpiPm::TMR_EN | AcpiPm::GBL_EN | AcpiPm::PWRBTN_EN | AcpiPm::SLPBTN_EN |
                             AcpiPm::RTC_EN;
// SCI_EN, BM_RLD and SLP_TYP hold their value; GBL_RLS and SLP_EN are
// write-only and read as 0 (ACPI 6.4 Table 4.18).
constexpr uint16_t CNT_STORED = AcpiPm::SCI_EN | AcpiPm::BM_RLD | AcpiPm::SLP_TYP;
}  // namespace

AcpiPm::AcpiPm(uint16_t base, Callbacks callbacks) : base_(base), cb_(std::move(callbacks)) { reset(0); }

void AcpiPm::reset(uint64_t now_ns) {
  sts_ = 0;
  en_ = 0;
  cnt_ = SCI_EN;
  tmr_sts_since_ns_ = now_ns;
  update_sci(now_ns);
}

uint64_t AcpiPm::timer_ticks(uint64_t now_ns) {
  return uint64_t((unsigned __int128)now_ns * PM_TIMER_HZ / NS_PER_S);
}

uint32_t AcpiPm::pm_timer(uint64_t now_ns) { return uint32_t(timer_ticks(now_ns) & 0xffffff); }

// TMR_STS is set whenever bit 23 of the timer changes (ACPI 6.4 4.8.3.3).
uint16_t AcpiPm::status(uint64_t now_ns) const {
  const bool toggled = (timer_ticks(now_ns) >> 23) != (timer_ticks(tmr_sts_since_ns_) >> 23);
  return sts_ | (toggled ? TMR_STS : 0);
}

uint64_t AcpiPm::next_deadline_ns(uint64_t now_ns) const {
  if (!(en_ & TMR_EN) || (status(now_ns) & TMR_STS)) return UINT64_MAX;
  const uint64_t next_toggle = ((timer_ticks(tmr_sts_since_ns_) >> 23) + 1) << 23;
  // The first ns at which timer_ticks() reaches next_toggle.
  return uint64_t(((unsigned __int128)next_toggle * NS_PER_S + PM_TIMER_HZ - 1) / PM_TIMER_HZ);
}

void AcpiPm::update_sci(uint64_t now_ns) {
  const bool level = (cnt_ & SCI_EN) && (status(now_ns) & en_);
  if (level != sci_) {
    sci_ = level;
    if (cb_.sci) cb_.sci(level);
  }
}

void AcpiPm::press_power_button(uint64_t now_ns) {
  sts_ |= PWRBTN_STS;
  update_sci(now_ns);
}

uint16_t AcpiPm::read16(uint64_t now_ns, unsigned reg_offset) const {
  switch (reg_offset) {
    case 0: return status(now_ns);
    case 2: return en_;
    case 4: return cnt_ & CNT_STORED;
    default: return 0;
  }
}

void AcpiPm::write16(uint64_t now_ns, unsigned reg_offset, uint16_t value, uint16_t byte_mask) {
  const uint16_t v = value & byte_mask;
  switch (reg_offset) {
    case 0:  // write 1 to clear
      sts_ &= ~(v & STS_W1C);
      if (v & TMR_STS) tmr_sts_since_ns_ = now_ns;
      break;
    case 2: en_ = (en_ & ~byte_mask) | (v & EN_BITS); break;
    case 4:
      cnt_ = (cnt_ & ~(byte_mask & CNT_STORED)) | (v & CNT_STORED);
      if ((v & SLP_EN) && ((cnt_ & SLP_TYP) >> SLP_TYP_SHIFT) == SLP_TYP_S5 && cb_.power_off)
        cb_.power_off();
      break;
    default: break;
  }
  update_sci(now_ns);
}

// Accesses of 1, 2 or 4 bytes at any offset: each byte goes to the
// register that holds it (the PM1 registers are 16 bits, PM_TMR 32).
uint64_t AcpiPm::io_read(uint64_t now_ns, uint16_t port, unsigned size) {
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const unsigned off = unsigned(port - base_) + i;
    uint8_t b = 0xff;  // beyond the block: open bus
    if (off < PM_TMR_OFFSET) b = uint8_t(read16(now_ns, off & ~1u) >> (8 * (off & 1)));
    else if (off < PM_TMR_OFFSET + 4) b = uint8_t(pm_timer(now_ns) >> (8 * (off - PM_TMR_OFFSET)));
    v |= uint64_t(b) << (8 * i);
  }
  return v;
}

void AcpiPm::io_write(uint64_t now_ns, uint16_t port, unsigned size, uint64_t value) {
  const unsigned first = unsigned(port - base_);
  // Gather the bytes per 16-bit register so that a register written whole
  // (SLP_TYP with SLP_EN) sees both bytes at once.
  for (unsigned reg = 0; reg < PM_TMR_OFFSET; reg += 2) {
    uint16_t v = 0, mask = 0;
    for (unsigned i = 0; i < size; ++i) {
      const unsigned off = first + i;
      if (off == reg || off == reg + 1) {
        v |= uint16_t(((value >> (8 * i)) & 0xff) << (8 * (off - reg)));
        mask |= uint16_t(0xff << (8 * (off - reg)));
      }
    }
    if (mask) write16(now_ns, reg, v, mask);
  }
  // PM_TMR is read-only.
}

}  // namespace softvt
