// TCP transport of the gdb stub (POSIX sockets).
#include "traces/gdb_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace softvt::gdb {

std::string parse_address(const std::string& spec, std::string& host, unsigned& port) {
  std::string rest = spec;
  if (rest.rfind("tcp:", 0) == 0) rest = rest.substr(4);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return "expected tcp:HOST:PORT, got '" + spec + "'";
  host = rest.substr(0, colon);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  const std::string p = rest.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return "bad port '" + p + "' in '" + spec + "'";
  port = unsigned(std::stoul(p));
  if (port == 0 || port > 65535) return "port " + p + " out of range (1-65535)";
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return "bad IPv4 address '" + host + "' in '" + spec + "'";
  return "";
}

Socket::~Socket() { close(); }

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Socket Socket::listen_on(const std::string& spec) {
  std::string host;
  unsigned port = 0;
  const std::string bad = parse_address(spec, host, port);
  if (!bad.empty()) throw std::runtime_error(bad);
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (bind(s.fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s.fd_, 1) != 0)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
  return s;
}

Socket Socket::accept_connection(int timeout_ms) {
  if (!readable(timeout_ms)) return Socket();
  Socket c(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
  if (c.valid()) {
    // Packets are small and interactive: send each at once.
    const int one = 1;
    setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return c;
}

bool Socket::readable(int timeout_ms) const {
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    const int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

long Socket::read_some(char* buf, size_t n) {
  for (;;) {
    const ssize_t r = ::read(fd_, buf, n);
    if (r < 0 && errno == EINTR) continue;
    return long(r);
  }
}

bool Socket::write_all(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t r = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += size_t(r);
  }
  return true;
}

}  // namespace softvt::gdb
