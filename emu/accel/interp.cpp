#include "emu/accel/accel.h"
#include "emu/block_cache.h"

namespace softvt {

RunOutcome run_interp(Memory& mem, const CpuState& init, const CpuModel& model,
                      const RunOptions& opt) {
  Cpu cpu(mem, model);
  BlockCache blocks(model);
  cpu.blocks = &blocks;
  cpu.s = init;
  cpu.update_mode();
  cpu.tracer = opt.tracer;
  if (opt.io_write) cpu.io_write = opt.io_write;
  RunOutcome out;
  out.stop = cpu.run(opt.max_insns);
  out.detail = cpu.stop_detail;
  out.state = cpu.s;
  return out;
}

}  // namespace softvt
