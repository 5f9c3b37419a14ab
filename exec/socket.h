// TCP endpoints and sockets for the executor, on plain POSIX calls (poll(), never epoll) so the same
// code runs on Linux, macOS and Raspberry Pi OS. Every wait has a deadline and every error names
// the peer, with strerror text and the likely cause.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/fd.h"

namespace clustertwin::exec {

using Clock = std::chrono::steady_clock;
inline constexpr Clock::time_point kNoDeadline = Clock::time_point::max();
Clock::time_point deadline_after(double seconds);
// Milliseconds to pass to poll() so it returns by `deadline` (-1 for kNoDeadline).
int poll_timeout_ms(Clock::time_point deadline);

// Sockets and pipes share one descriptor owner (core/fd.h).
using core::Fd;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string str() const;  // "host:port", "[v6]:port"
};

// "HOST:PORT" (or "[V6]:PORT"). Throws RunError naming `what` (e.g. "--listen") when malformed.
Endpoint parse_endpoint(const std::string& text, std::string_view what);

// A write to a socket the peer has closed must be an error value, not a process-killing signal.
void ignore_sigpipe();

// A listening socket on `ep` (port 0 picks a free one). Throws RunError "exec: cannot listen on ...".
Fd listen_on(const Endpoint& ep);
uint16_t local_port(int fd);
// One connection, or an invalid Fd when the deadline passes first.
Fd accept_until(int listen_fd, Clock::time_point deadline);
// One connection already waiting on a non-blocking listener, or an invalid Fd when none is.
Fd accept_now(int listen_fd);
// The remote end of a connected socket, "10.0.0.3:51234" ("[::1]:51234"); "an unknown address" when
// the system cannot tell (the peer already reset it).
std::string peer_address(int fd);
// Connects, retrying while the peer refuses (it may still be starting) until the deadline. Throws
// RunError naming `who` with the cause.
Fd connect_until(const Endpoint& ep, Clock::time_point deadline, const std::string& who);

void set_nonblocking(int fd);
// Data sockets: no Nagle delay, 4 MiB kernel buffers so a ring step keeps the link busy.
void tune_data_socket(int fd);

// strerror text plus what usually causes it here: "Connection refused — worker not running or port blocked".
std::string describe_errno(int err);

// Waits until `fd` has `events` (POLLIN/POLLOUT); false when the deadline passes first.
bool wait_fd(int fd, short events, Clock::time_point deadline);

// Non-blocking steps: bytes moved (0 when the call would block). Throw PeerLost on EOF/reset and
// RunError on other errors, naming `who`.
size_t send_some(int fd, const void* const* parts, const size_t* sizes, int count, const std::string& who);
size_t recv_some(int fd, void* data, size_t n, const std::string& who);

// Whole buffers on a non-blocking socket, bounded by `deadline` (Timeout names `who`).
void write_all(int fd, const void* data, size_t n, Clock::time_point deadline, const std::string& who);
void read_all(int fd, void* data, size_t n, Clock::time_point deadline, const std::string& who);

}  // namespace clustertwin::exec
