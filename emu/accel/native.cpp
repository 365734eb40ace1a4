// Native execution oracle: runs a 64-bit user-level snippet directly on the
// host CPU in a child process (filled in with the differential tests).
#include "emu/accel/accel.h"
