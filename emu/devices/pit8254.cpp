#include "emu/devices/pit8254.h"

#include "emu/machine/io_bus.h"

namespace softvt {

Pit8254::Pit8254(Clock& clock, std::function<void(bool)> irq0) : clock_(clock), irq0_(std::move(irq0)) {
  timer_ = clock_.add_timer([this](uint64_t) { update_irq0(true); });
  c_[2].gate = false;  // port 0x61 bit 0 starts at 0
}

uint64_t Pit8254::elapsed(const Counter& c) const {
  if (c.paused) return c.paused_at;
  const uint64_t t = ticks();
  return t > c.start ? t - c.start : 0;
}

// OUT as a function of the ticks counted (data sheet "Mode Definitions").
bool Pit8254::out_at(const Counter& c, uint64_t d) const {
  const uint64_t n = c.reload;
  switch (c.mode) {
    case 0: return c.loaded && d >= n;        // low until terminal count
    case 1: return !c.armed || d >= n;        // low from the trigger to terminal count
    case 2: return !c.armed || d % n != n - 1; // low for the tick before reload
    case 3: return !c.armed || d % n < (n + 1) / 2;  // high (N+1)/2 ticks, low N/2
    case 4: case 5: return !c.armed || d != n;       // low for one tick at terminal count
  }
  return true;
}

uint32_t Pit8254::value_at(const Counter& c, uint64_t d) const {
  const uint64_t n = c.reload;
  const uint64_t wrap = c.bcd ? 10000 : 0x10000;
  if (!c.armed) return uint32_t(n % wrap);
  switch (c.mode) {
    case 2: return uint32_t(n - d % n);
    case 3: return uint32_t((n - (2 * d) % n) & ~uint64_t(1));  // decrements by two
    default: return uint32_t((n + wrap - d % wrap) % wrap);    // 0, 1, 4, 5: wraps after terminal count
  }
}

uint16_t Pit8254::encode(const Counter& c, uint32_t v) const {
  v %= c.bcd ? 10000 : 0x10000;
  if (!c.bcd) return uint16_t(v);
  return uint16_t((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

bool Pit8254::out(unsigned i) { return out_at(c_[i], elapsed(c_[i])); }
uint16_t Pit8254::current_count(unsigned i) { return encode(c_[i], value_at(c_[i], elapsed(c_[i]))); }

void Pit8254::update_irq0(bool rising_edge) {
  Counter& c = c_[0];
  const uint64_t d = elapsed(c);
  // IRQ0 is edge-triggered (at the PIC and the I/O APIC alike): what counts
  // is each rising edge of OUT. At one the line is pulsed, so the edge
  // reaches the PIC even when a host-time timer fires late; otherwise the
  // line takes OUT's level (a mode set or new count).
  if (irq0_) {
    if (rising_edge) irq0_(false);
    irq0_(rising_edge || out_at(c, d));
  }
  // The next rising edge of OUT.
  uint64_t next = ~uint64_t(0);
  const uint64_t n = c.reload;
  if (c.armed && !c.paused) {
    switch (c.mode) {
      case 0: if (d < n) next = n; break;                       // terminal count
      case 2: case 3: if (n >= 2) next = d - d % n + n; break;  // each reload
      case 4: case 5: if (d <= n) next = n + 1; break;           // end of the strobe
    }
  }
  if (next == ~uint64_t(0)) clock_.disarm(timer_);
  else clock_.arm(timer_, ticks_to_ns(c.start + next, HZ));
}

void Pit8254::start_counting(unsigned i) {
  Counter& c = c_[i];
  c.loaded = true;
  c.null_count = false;
  c.start = ticks();
  c.paused = false;
  // Modes 1 and 5 wait for a gate trigger; the others count while the
  // gate is high (modes 0/4 pause, 2/3 wait, while it is low).
  const bool gated_start = c.mode == 1 || c.mode == 5;
  c.armed = !gated_start && (c.gate || c.mode == 0 || c.mode == 4);
  if (!gated_start && !c.gate && (c.mode == 0 || c.mode == 4)) {
    c.paused = true;
    c.paused_at = 0;
  }
  if (!gated_start && !c.gate && (c.mode == 2 || c.mode == 3)) c.armed = false;
  if (i == 0) update_irq0(false);
}

void Pit8254::write_counter(unsigned i, uint8_t v) {
  Counter& c = c_[i];
  bool complete = true;
  switch (c.rw) {
    case 1: c.written = v; break;
    case 2: c.written = uint16_t(v << 8); break;
    case 3:
      if (!c.write_msb) {
        c.written = (c.written & 0xff00) | v;
        c.write_msb = true;
        complete = false;
        // Mode 0: writing the first byte stops the count (data sheet Mode 0).
        if (c.mode == 0) {
          c.loaded = false;
          c.armed = false;
          if (i == 0) update_irq0(false);
        }
      } else {
        c.written = uint16_t((c.written & 0x00ff) | (v << 8));
        c.write_msb = false;
      }
      break;
  }
  if (!complete) return;
  uint32_t n = c.written;
  if (c.bcd) n = (n >> 12) * 1000 + ((n >> 8) & 0xf) * 100 + ((n >> 4) & 0xf) * 10 + (n & 0xf);
  if (n == 0) n = c.bcd ? 10000 : 0x10000;
  c.reload = n;
  start_counting(i);
}

void Pit8254::latch_count(Counter& c) {
  if (c.count_latched) return;  // a second latch before reading is ignored
  c.latch = encode(c, value_at(c, elapsed(c)));
  c.count_latched = true;
  c.latch_msb = false;
}

void Pit8254::latch_status(unsigned i) {
  Counter& c = c_[i];
  if (c.status_latched) return;
  c.status = uint8_t((out(i) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) | c.control);
  c.status_latched = true;
}

void Pit8254::control_word(uint8_t v) {
  const unsigned sc = v >> 6;
  if (sc == 3) {
    // Read-back command: bit 5 = 0 latches counts, bit 4 = 0 latches status
    // of the counters selected by bits 1-3.
    for (unsigned i = 0; i < 3; ++i) {
      if (!(v & (2u << i))) continue;
      if (!(v & 0x10)) latch_status(i);
      if (!(v & 0x20)) latch_count(c_[i]);
    }
    return;
  }
  Counter& c = c_[sc];
  const unsigned rw = (v >> 4) & 3;
  if (rw == 0) {
    latch_count(c);  // counter latch command
    return;
  }
  c.control = v & 0x3f;
  c.rw = rw;
  c.mode = (v >> 1) & 7;
  if (c.mode >= 6) c.mode -= 4;  // 6 and 7 are modes 2 and 3
  c.bcd = v & 1;
  c.write_msb = c.read_msb = false;
  c.count_latched = c.status_latched = false;
  c.loaded = false;
  c.armed = false;
  c.paused = false;
  c.null_count = true;
  if (sc == 0) update_irq0(false);
}

uint8_t Pit8254::read_counter(Counter& c) {
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  uint16_t v;
  bool* msb;
  if (c.count_latched) {
    v = c.latch;
    msb = &c.latch_msb;
  } else {
    v = encode(c, value_at(c, elapsed(c)));
    msb = &c.read_msb;
  }
  uint8_t out;
  switch (c.rw) {
    case 1: out = uint8_t(v); c.count_latched = false; break;
    case 2: out = uint8_t(v >> 8); c.count_latched = false; break;
    default:
      out = *msb ? uint8_t(v >> 8) : uint8_t(v);
      if (*msb) c.count_latched = false;
      *msb = !*msb;
      if (c.count_latched == false) c.latch_msb = false;
      break;
  }
  return out;
}

uint8_t Pit8254::read(unsigned port) {
  if (port >= 3) return 0xff;  // the control word register cannot be read
  return read_counter(c_[port]);
}

void Pit8254::write(unsigned port, uint8_t v) {
  if (port == 3) control_word(v);
  else if (port < 3) write_counter(port, v);
}

void Pit8254::set_gate(unsigned i, bool level) {
  Counter& c = c_[i];
  const bool rising = level && !c.gate;
  const bool falling = !level && c.gate;
  c.gate = level;
  if (!c.loaded) return;
  switch (c.mode) {
    case 0: case 4:
      // Gate low suspends counting; high resumes it.
      if (falling) {
        c.paused_at = elapsed(c);
        c.paused = true;
      } else if (rising && c.paused) {
        c.start = ticks() - c.paused_at;
        c.paused = false;
      }
      break;
    case 1: case 5: case 2: case 3:
      // A rising edge (re)starts the count; in modes 2/3 a low gate stops
      // it with OUT high.
      if (rising) {
        c.start = ticks();
        c.armed = true;
      } else if (falling && (c.mode == 2 || c.mode == 3)) {
        c.armed = false;
      }
      break;
  }
  if (i == 0) update_irq0(false);
}

uint8_t Pit8254::read_port61() {
  // Bit 4 toggles with each DRAM refresh request (every 15.085 us on the
  // PC/AT); bit 5 is counter 2's OUT.
  const bool refresh = (clock_.now() / 15085) & 1;
  return uint8_t((port61_ & 3) | (refresh ? 0x10 : 0) | (out(2) ? 0x20 : 0));
}

void Pit8254::write_port61(uint8_t v) {
  port61_ = v & 0x0f;
  set_gate(2, v & 1);
}

void Pit8254::map_ports(IoBus& io) {
  io.map(0x40, 4,
         IoHandler{[this](uint16_t off, unsigned) -> uint64_t { return read(off); },
                   [this](uint16_t off, unsigned, uint64_t v) { write(off, uint8_t(v)); }},
         "pit");
  io.map(0x61, 1,
         IoHandler{[this](uint16_t, unsigned) -> uint64_t { return read_port61(); },
                   [this](uint16_t, unsigned, uint64_t v) { write_port61(uint8_t(v)); }},
         "port61");
}

}  // namespace softvt
