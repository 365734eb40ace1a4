// The flat-runner contract (README): initial state, exits, JSON, bad input.
#include <catch.hpp>

#include "emu/accel/accel.h"
#include "emu/loader/flat.h"

using namespace softvt;

TEST_CASE("long64 initial state follows the contract") {
  Memory mem(64 << 20);
  std::vector<uint8_t> img = {0xf4};
  CpuState s = setup_flat(mem, img, 0x10000, FlatMode::Long64);
  CHECK(s.rip == 0x10000);
  CHECK(s.gpr[RSP] == 0x10000);
  CHECK(s.cr0 == 0x80010033);
  CHECK(s.cr4 == 0x620);
  CHECK(s.efer == 0xd01);
  CHECK(s.cr3 == 0x1000);
  RunOutcome o = run_interp(mem, s, default_cpu_model(), RunOptions{});
  CHECK(o.stop == StopReason::Hlt);
  CHECK(o.state.rip == 0x10001);
  CHECK(o.state.insn_count == 1);
}
