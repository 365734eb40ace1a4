// Running softvt's command line from a test: a shell command's exit
// status and its standard output and error, captured through temporary
// files named after the test process.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace softvt::test {

struct CliResult {
  int status;  // the exit status, -1 if the command did not exit normally
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline CliResult shell(const std::string& cmd) {
  const std::string base = "/tmp/softvt_cli_" + std::to_string(getpid());
  const std::string out = base + ".out", err = base + ".err";
  const int raw = std::system((cmd + " >" + out + " 2>" + err).c_str());
  CliResult r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace softvt::test
