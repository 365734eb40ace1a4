// The real gdb (Debian package gdb) driving softvt's stub in batch mode,
// for the gdb tests (test_gdb_cli.cpp, test_replay_gdb.cpp): softvt runs
// in the background with `--gdb tcp:127.0.0.1:PORT [--wait-gdb]` appended
// to its arguments, and `gdb -batch -ex 'target remote ...' -ex ...`
// connects to it.
#pragma once
#include <catch.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/cli_support.h"

namespace softvt::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}
inline const std::string kSoftvt = env_or("SOFTVT", "build/softvt");
inline const std::string kGuestDir = env_or("SOFTVT_GUEST_DIR", "build/tests/guest");
inline const std::string kSourceDir = env_or("SOFTVT_SOURCE_DIR", ".");

inline bool have_gdb() { return shell("gdb --version").status == 0; }

// A TCP port nobody listens on right now (the kernel picks it).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// softvt running in the background with the stub listening.
class Softvt {
 public:
  explicit Softvt(const std::vector<std::string>& args, bool wait = true) : port_(free_port()) {
    base_ = "/tmp/softvt_gdb_" + std::to_string(getpid()) + "_" + std::to_string(port_);
    std::vector<std::string> argv = {kSoftvt};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--gdb");
    argv.push_back("tcp:127.0.0.1:" + std::to_string(port_));
    if (wait) argv.push_back("--wait-gdb");
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open((base_ + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open((base_ + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> cargv;
      for (std::string& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    // Listening once it says so.
    for (int i = 0; i < 200 && slurp(base_ + ".err").find("listening") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ~Softvt() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove((base_ + ".out").c_str());
    std::remove((base_ + ".err").c_str());
  }
  // gdb's output for the commands, after connecting.
  std::string gdb(const std::vector<std::string>& commands) {
    std::string cmd = "timeout 120 gdb -batch -nx -ex 'set architecture i386:x86-64' -ex 'target remote 127.0.0.1:" +
                      std::to_string(port_) + "'";
    for (const std::string& c : commands) cmd += " -ex '" + c + "'";
    const CliResult r = shell(cmd);
    return r.out + r.err;
  }
  // Waits for softvt to end (gdb detached and the run finished); its exit status.
  int wait_exit() {
    for (int i = 0; i < 400; ++i) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return -2;
  }
  std::string out() const { return slurp(base_ + ".out"); }
  std::string err() const { return slurp(base_ + ".err"); }

 private:
  int port_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string base_;
};

#define REQUIRE_GDB()                                                        \
  if (!have_gdb()) {                                                         \
    WARN("skipped: gdb is not installed (Debian package gdb)");              \
    return;                                                                  \
  }

inline bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// The address of a label in a flat nasm source loaded at 0x10000: from its
// listing, the offset of the label's own line if it emits code, else of
// the first line after it that does.
inline uint64_t label_address(const std::string& source, const std::string& label) {
  const std::string lst = "/tmp/softvt_gdb_lst_" + std::to_string(getpid());
  const CliResult r = shell("nasm -f bin -o /dev/null -l " + lst + " -i " + kSourceDir + "/tests/guest/ " + source);
  REQUIRE(r.status == 0);
  const std::string text = slurp(lst);
  std::remove(lst.c_str());
  const size_t at = text.find(" " + label + ":");
  REQUIRE(at != std::string::npos);
  const size_t line_start = text.rfind('\n', at);
  const std::regex line(R"(\n *\d+ ([0-9A-F]{8}) [0-9A-F])");
  std::smatch m;
  const std::string rest = text.substr(line_start == std::string::npos ? 0 : line_start);
  REQUIRE(std::regex_search(rest, m, line));
  return 0x10000 + std::stoull(m[1].str(), nullptr, 16);
}

// The address of a symbol of an ELF kernel (nm).
inline uint64_t symbol_address(const std::string& elf, const std::string& symbol) {
  const CliResult r = shell("nm " + elf + " | awk '$3 == \"" + symbol + "\" { print $1 }'");
  REQUIRE(r.status == 0);
  REQUIRE(!r.out.empty());
  return std::stoull(r.out, nullptr, 16);
}

inline std::string kernel_path(const std::string& name) {
  return env_or("SOFTVT_KERNEL_DIR", "build/tests/kernels") + "/" + name + ".elf";
}

inline std::string hex_address(uint64_t a) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)a);
  return b;
}

// The first group of every match of `pattern` in a gdb transcript, in order.
inline std::vector<std::string> captures(const std::string& o, const std::string& pattern) {
  std::vector<std::string> v;
  const std::regex p(pattern);
  for (auto it = std::sregex_iterator(o.begin(), o.end(), p); it != std::sregex_iterator(); ++it)
    v.push_back((*it)[1].str());
  return v;
}

// gdb's `p` answers ("$N = VALUE"), in order.
inline std::vector<std::string> printed(const std::string& o) { return captures(o, R"(\$\d+ = ([^\n]*))"); }

// gdb's "p/x $NAME" answers ("$N = 0x..."), in order.
inline std::vector<uint64_t> printed_values(const std::string& o) {
  std::vector<uint64_t> v;
  for (const std::string& hex : captures(o, R"(\$\d+ = 0x([0-9a-f]+))")) v.push_back(std::stoull(hex, nullptr, 16));
  return v;
}

}  // namespace softvt::test
