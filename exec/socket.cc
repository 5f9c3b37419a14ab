#include "exec/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "exec/errors.h"

namespace clustertwin::exec {

namespace {
using core::set_cloexec;

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // macOS: SO_NOSIGPIPE is set on every socket instead
#endif

// Sockets never leak into spawned workers and never raise SIGPIPE.
int new_socket(int family) {
  int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  set_cloexec(fd);
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return fd;
}

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list) freeaddrinfo(list);
  }
};

void resolve(AddrInfo& out, const Endpoint& ep, bool passive, const std::string& who) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &out.list);
  if (rc != 0)
    throw RunError(fmt::format("exec: {}: cannot resolve '{}': {} — check the address in the topology", who, ep.host,
                               gai_strerror(rc)));
}

double seconds_left(Clock::time_point deadline) {
  return std::chrono::duration<double>(deadline - Clock::now()).count();
}
}  // namespace

Clock::time_point deadline_after(double seconds) {
  if (seconds <= 0 || seconds > 1e9) return kNoDeadline;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

int poll_timeout_ms(Clock::time_point deadline) {
  if (deadline == kNoDeadline) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
  return static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX));
}

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Endpoint parse_endpoint(const std::string& text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return RunError(fmt::format("exec: {} '{}': {} (expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:7000)", what, text, why));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw bad("no port");
  Endpoint ep;
  ep.host = text.substr(0, colon);
  if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (ep.host.empty()) throw bad("no host");
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw bad("the port is not a number");
  long p = std::stol(port);
  if (p > 65535) throw bad("the port is above 65535");
  ep.port = static_cast<uint16_t>(p);
  return ep;
}

void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

std::string describe_errno(int err) {
  std::string text = std::strerror(err);
  switch (err) {
    case ECONNREFUSED: return text + " — worker not running or port blocked";
    case ETIMEDOUT:
      return text + " — host down, wrong address, traffic leaving by the wrong interface (Wi-Fi instead of the cluster "
                    "link: check the routes), a loose cable, or a firewall dropping packets";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return text + " — on macOS usually the pf firewall (`sudo pfctl -s info`; `sudo pfctl -d` turns it off), else a "
                    "missing route (`netstat -rn` / `ip route`) or a wrong address";
    case EADDRINUSE: return text + " — another worker or program holds this port; pick another port or 0";
    case EADDRNOTAVAIL: return text + " — this host has no such address; check the node's address in the topology";
    case EACCES: return text + " — ports below 1024 need privileges";
    case ECONNRESET:
    case EPIPE: return text + " — the peer's worker failed or exited";
    default: return text;
  }
}

Fd listen_on(const Endpoint& ep) {
  AddrInfo ai;
  resolve(ai, ep, true, "listen");
  int last_err = 0;
  for (addrinfo* a = ai.list; a; a = a->ai_next) {
    Fd fd(new_socket(a->ai_family));
    if (!fd.valid()) {
      last_err = errno;
      continue;
    }
    int one = 1;
    // Lets a restarted worker rebind a port still in TIME_WAIT; a live listener still conflicts.
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), 128) == 0) {
      set_nonblocking(fd.get());
      return fd;
    }
    last_err = errno;
  }
  throw RunError(fmt::format("exec: cannot listen on {}: {}", ep.str(), describe_errno(last_err)));
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "an unknown address";
  return Endpoint{host, static_cast<uint16_t>(std::atoi(port))}.str();
}

Fd accept_now(int listen_fd) {
  for (;;) {
    int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd >= 0) {
      set_cloexec(fd);
#ifdef SO_NOSIGPIPE
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
      set_nonblocking(fd);
      return Fd(fd);
    }
    if (errno == EINTR) continue;
    // The client may have given up between poll and accept; anything else is a real fault.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return Fd();
    throw RunError(fmt::format("exec: accept failed: {}", describe_errno(errno)));
  }
}

Fd accept_until(int listen_fd, Clock::time_point deadline) {
  for (;;) {
    if (!wait_fd(listen_fd, POLLIN, deadline)) return Fd();
    if (Fd fd = accept_now(listen_fd); fd.valid()) return fd;
  }
}

namespace {
// One attempt; returns 0 or the errno of the failure (ETIMEDOUT when the deadline passes).
int try_connect(Fd& out, const addrinfo* a, Clock::time_point deadline) {
  Fd fd(new_socket(a->ai_family));
  if (!fd.valid()) return errno;
  set_nonblocking(fd.get());
  if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return errno;
    if (!wait_fd(fd.get(), POLLOUT, deadline)) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return err;
  }
  out = std::move(fd);
  return 0;
}
}  // namespace

Fd connect_until(const Endpoint& ep, Clock::time_point deadline, const std::string& who) {
  AddrInfo ai;
  resolve(ai, ep, false, who);
  const auto started = Clock::now();
  for (;;) {
    int err = 0;
    for (const addrinfo* a = ai.list; a; a = a->ai_next) {
      Fd fd;
      err = try_connect(fd, a, deadline);
      if (err == 0) return fd;
    }
    // Refused means nothing listens yet: a worker started by hand may still be coming up.
    bool retry = (err == ECONNREFUSED || err == EINTR) && seconds_left(deadline) > 0.1;
    if (!retry) {
      double waited = std::chrono::duration<double>(Clock::now() - started).count();
      throw RunError(fmt::format("exec: {}: cannot connect{}: {}", who,
                                 err == ETIMEDOUT ? fmt::format(" within {:.1f} s", waited) : "", describe_errno(err)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void tune_data_socket(int fd) {
  int one = 1, buf = 4 << 20;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (rc > 0) return true;  // ready, or an error the next call reports
    if (rc < 0 && errno != EINTR) return true;
    if (rc == 0 && Clock::now() >= deadline) return false;
  }
}

size_t send_some(int fd, const void* const* parts, const size_t* sizes, int count, const std::string& who) {
  iovec iov[4];
  count = std::min(count, 4);
  for (int i = 0; i < count; ++i) iov[i] = {const_cast<void*>(parts[i]), sizes[i]};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, kSendFlags);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == EPIPE || errno == ECONNRESET) throw PeerLost(fmt::format("exec: {}: send failed: {}", who, describe_errno(errno)));
    throw RunError(fmt::format("exec: {}: send failed: {}", who, describe_errno(errno)));
  }
}

size_t recv_some(int fd, void* data, size_t n, const std::string& who) {
  for (;;) {
    ssize_t got = ::recv(fd, data, n, 0);
    if (got > 0) return static_cast<size_t>(got);
    if (got == 0 && n > 0)
      throw PeerLost(fmt::format("exec: {}: closed the connection — its worker failed or exited (see its own error)", who));
    if (got == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == ECONNRESET) throw PeerLost(fmt::format("exec: {}: receive failed: {}", who, describe_errno(errno)));
    throw RunError(fmt::format("exec: {}: receive failed: {}", who, describe_errno(errno)));
  }
}

void write_all(int fd, const void* data, size_t n, Clock::time_point deadline, const std::string& who) {
  auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const void* parts[] = {p};
    size_t sent = send_some(fd, parts, &n, 1, who);
    p += sent;
    n -= sent;
    if (n > 0 && sent == 0 && !wait_fd(fd, POLLOUT, deadline))
      throw Timeout(fmt::format("exec: {}: send timed out — the peer stopped reading (hung or overloaded)", who));
  }
}

void read_all(int fd, void* data, size_t n, Clock::time_point deadline, const std::string& who) {
  auto* p = static_cast<uint8_t*>(data);
  while (n > 0) {
    size_t got = recv_some(fd, p, n, who);
    p += got;
    n -= got;
    if (n > 0 && got == 0 && !wait_fd(fd, POLLIN, deadline))
      throw Timeout(fmt::format("exec: {}: no answer in time — the peer hung, or is not a clustertwin worker", who));
  }
}

}  // namespace clustertwin::exec
