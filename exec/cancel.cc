#include "exec/cancel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

#include "exec/executor.h"

namespace clustertwin::exec {

WakePipe::WakePipe() {
  int fds[2];
  if (::pipe(fds) != 0) throw RunError(fmt::format("exec: cannot create a pipe: {}", describe_errno(errno)));
  read_.reset(fds[0]);
  write_.reset(fds[1]);
  for (int fd : fds) {
    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    set_nonblocking(fd);
  }
}

void WakePipe::notify() {
  char c = 1;
  // A full pipe is already readable: nothing is lost when this write would block.
  [[maybe_unused]] ssize_t n = ::write(write_.get(), &c, 1);
}

void WakePipe::drain() {
  char buf[64];
  while (::read(read_.get(), buf, sizeof buf) > 0) {
  }
}

bool Cancel::cancel(std::string reason, std::string kind) {
  {
    std::lock_guard lock(mu_);
    if (flag_.load()) return false;
    reason_ = std::move(reason);
    kind_ = std::move(kind);
    flag_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  pipe_.notify();
  return true;
}

std::string Cancel::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

std::string Cancel::kind() const {
  std::lock_guard lock(mu_);
  return kind_;
}

bool Cancel::sleep_for(double seconds) {
  std::unique_lock lock(mu_);
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return !cv_.wait_until(lock, until, [&] { return flag_.load(); });
}

}  // namespace clustertwin::exec
