// The gdb stub's TCP transport: a listening socket for `--gdb
// tcp:HOST:PORT` and the one connection gdb makes to it.
#pragma once
#include <cstddef>
#include <string>

namespace softvt::gdb {

// Parses "tcp:HOST:PORT" (also "HOST:PORT" and ":PORT" = 127.0.0.1); HOST
// is an IPv4 address or "localhost". Returns "" or what is wrong.
std::string parse_address(const std::string& spec, std::string& host, unsigned& port);

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Listens on the address; throws std::runtime_error naming it on failure.
  static Socket listen_on(const std::string& spec);
  bool valid() const { return fd_ >= 0; }
  // A connection if one is waiting (timeout_ms < 0: wait for one).
  Socket accept_connection(int timeout_ms);
  // Whether bytes (or the peer's close) can be read within timeout_ms.
  bool readable(int timeout_ms) const;
  // Reads what is available (after readable()); 0 = the peer closed, < 0 error.
  long read_some(char* buf, size_t n);
  // Writes everything; false if the connection is gone.
  bool write_all(const std::string& data);
  void close();

 private:
  int fd_ = -1;
};

}  // namespace softvt::gdb
