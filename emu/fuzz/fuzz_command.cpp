// softvt fuzz: differential campaigns between two backends.
#include <cstdio>

#include "emu/cli/commands.h"
#include "emu/cli/options.h"

namespace softvt {

int fuzz_command(int, char**) { throw UsageError("fuzzing is not implemented yet"); }

}  // namespace softvt
