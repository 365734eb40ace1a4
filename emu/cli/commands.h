// The softvt subcommands (emu/cli/main.cpp dispatches to them).
#pragma once

namespace softvt {

int run_command(int argc, char** argv);    // softvt run ...
int run_machine_command(int argc, char** argv);  // softvt run --kernel ... (emu/cli/run_machine.cpp)
int demo_command(int argc, char** argv);   // softvt demo
int fuzz_command(int argc, char** argv);   // softvt fuzz ...

}  // namespace softvt
