// The ACPI fixed-hardware power-management registers (ACPI 6.4 section 4.8
// "ACPI Hardware Model"): the PM1a event block (PM1_STS, PM1_EN), the PM1a
// control block (SCI_EN, SLP_TYP, SLP_EN) and the 24-bit 3.579545 MHz PM
// timer, at I/O ports like QEMU's PIIX4 PM function (base 0x600):
//   base+0 PM1a_STS (2 bytes), base+2 PM1a_EN (2), base+4 PM1a_CNT (2),
//   base+8 PM_TMR (4).
// The machine reports the FADT's SMI_CMD as 0, so the platform is always in
// ACPI mode: SCI_EN is 1 from reset (ACPI 6.4 4.8.2.5, 5.2.9 "SMI_CMD").
// Sleep types follow the PIIX4: SLP_TYP 0 is S5 (soft off), the value the
// DSDT's \_S5 package names (emu/machine/acpi_tables.cpp). Other sleep
// states are not offered and their SLP_EN writes do nothing.
#pragma once
#include <cstdint>
#include <functional>

namespace softvt {

class AcpiPm {
 public:
  static constexpr uint16_t DEFAULT_BASE = 0x600;
  static constexpr uint16_t PM1_EVT_OFFSET = 0, PM1_CNT_OFFSET = 4, PM_TMR_OFFSET = 8;
  static constexpr uint16_t PORT_COUNT = 12;
  static constexpr uint8_t PM1_EVT_LEN = 4, PM1_CNT_LEN = 2, PM_TMR_LEN = 4;
  static constexpr uint8_t SLP_TYP_S5 = 0;
  static constexpr uint64_t PM_TIMER_HZ = 3579545;

  // PM1 status / enable bits (ACPI 6.4 Tables 4.16, 4.17).
  static constexpr uint16_t TMR_STS = 1u << 0, BM_STS = 1u << 4, GBL_STS = 1u << 5;
  static constexpr uint16_t PWRBTN_STS = 1u << 8, SLPBTN_STS = 1u << 9, RTC_STS = 1u << 10;
  static constexpr uint16_t WAK_STS = 1u << 15;
  static constexpr uint16_t TMR_EN = 1u << 0, GBL_EN = 1u << 5, PWRBTN_EN = 1u << 8;
  static constexpr uint16_t SLPBTN_EN = 1u << 9, RTC_EN = 1u << 10;
  // PM1 control bits (ACPI 6.4 Table 4.18).
  static constexpr uint16_t SCI_EN = 1u << 0, BM_RLD = 1u << 1, GBL_RLS = 1u << 2;
  static constexpr unsigned SLP_TYP_SHIFT = 10;
  static constexpr uint16_t SLP_TYP = 7u << 10, SLP_EN = 1u << 13;

  struct Callbacks {
    std::function<void()> power_off;     // SLP_EN written with the S5 sleep type
    std::function<void(bool level)> sci;  // the SCI line (ISA IRQ 9 / GSI 9, level, active high)
  };

  AcpiPm(uint16_t base, Callbacks callbacks);
  void reset(uint64_t now_ns);

  uint16_t base() const { return base_; }
  bool handles_port(uint16_t port) const { return port >= base_ && port < base_ + PORT_COUNT; }
  uint64_t io_read(uint64_t now_ns, uint16_t port, unsigned size);
  void io_write(uint64_t now_ns, uint16_t port, unsigned size, uint64_t value);

  // The PM timer: 24 bits counting at 3.579545 MHz from guest time 0.
  static uint32_t pm_timer(uint64_t now_ns);
  // When TMR_STS will next be set (the counter's bit 23 toggles) while
  // TMR_EN asks for an SCI on it; UINT64_MAX if nothing is due.
  uint64_t next_deadline_ns(uint64_t now_ns) const;
  void tick(uint64_t now_ns) { update_sci(now_ns); }
  // The fixed-feature power button was pressed (sets PWRBTN_STS).
  void press_power_button(uint64_t now_ns);

  uint16_t status(uint64_t now_ns) const;
  uint16_t enable() const { return en_; }
  uint16_t control() const { return cnt_; }
  bool sci_level() const { return sci_; }

  // Snapshots (emu/machine/state_io.h): the fields that change as the
  // machine runs.
  template <class Io>
  void state_io(Io& io) {
    io(sts_);
    io(en_);
    io(cnt_);
    io(tmr_sts_since_ns_);
    io(sci_);
  }

 private:
  static uint64_t timer_ticks(uint64_t now_ns);
  uint16_t read16(uint64_t now_ns, unsigned reg_offset) const;
  void write16(uint64_t now_ns, unsigned reg_offset, uint16_t value, uint16_t byte_mask);
  void update_sci(uint64_t now_ns);

  uint16_t base_;
  Callbacks cb_;
  uint16_t sts_ = 0;  // status bits other than TMR_STS
  uint16_t en_ = 0;
  uint16_t cnt_ = SCI_EN;
  uint64_t tmr_sts_since_ns_ = 0;  // TMR_STS = a bit-23 toggle since this time
  bool sci_ = false;
};

}  // namespace softvt
