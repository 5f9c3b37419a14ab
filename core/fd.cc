#include "core/fd.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace clustertwin::core {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void set_cloexec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

void make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "cannot create a pipe");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  set_cloexec(fds[0]);
  set_cloexec(fds[1]);
}

namespace {
// After EAGAIN on a non-blocking descriptor: wait until it is ready. False when poll() fails.
bool wait_ready(int fd, short events) {
  for (;;) {
    pollfd p{fd, events, 0};
    if (::poll(&p, 1, -1) >= 0) return true;
    if (errno != EINTR) return false;
  }
}
}  // namespace

bool write_full(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, POLLOUT)) return false;
    } else if (w == 0 || errno != EINTR) {
      if (w == 0) errno = EIO;  // a zero-byte write of a non-empty buffer: give up rather than spin
      return false;
    }
  }
  return true;
}

size_t read_full(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r == 0) {
      break;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd, POLLIN)) break;
    } else if (errno != EINTR) {
      break;
    }
  }
  return got;
}

}  // namespace clustertwin::core
