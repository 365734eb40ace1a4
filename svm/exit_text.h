// The exit information of a #VMEXIT in words (AMD APM Vol. 2 15.7 - 15.25,
// Table B-1): what the trace's note and `softvt demo` show after the exit
// code's name, e.g. "OUT port 80h, 1 byte" for VMEXIT_IOIO or
// "guest-physical 440010h: not present, read, final address" for
// VMEXIT_NPF. Empty when the exit has nothing worth saying.
#pragma once
#include <cstdint>
#include <string>

namespace softvt::svm {

std::string exit_details(uint64_t code, uint64_t info1, uint64_t info2, uint64_t exitintinfo);

}  // namespace softvt::svm
