// The softvt subcommands (emu/cli/main.cpp dispatches to them).
#pragma once

namespace softvt {

int run_command(int argc, char** argv);    // softvt run ...
int run_machine_command(int argc, char** argv);  // softvt run --kernel ... (emu/cli/run_machine.cpp)
int demo_command(int argc, char** argv);   // softvt demo
int fuzz_command(int argc, char** argv);   // softvt fuzz ...
int trace_command(int argc, char** argv);  // softvt trace show|stats|diff (emu/cli/trace_command.cpp)
int replay_command(int argc, char** argv); // softvt replay FILE

}  // namespace softvt
