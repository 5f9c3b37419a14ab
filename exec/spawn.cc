#include "exec/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "exec/executor.h"

extern char** environ;

namespace clustertwin::exec {

namespace {
constexpr std::string_view kAnnounce = "clustertwin-worker listening on ";

// The parent's environment with ours on top: the token travels here rather than in argv, where
// every local user could read it with ps.
std::vector<std::string> child_environment(const std::string& token) {
  const std::vector<std::string> ours = {"CLUSTERTWIN_TOKEN=" + token, "OPENBLAS_NUM_THREADS=1",
                                         "VECLIB_MAXIMUM_THREADS=1"};
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v = *e;
    bool replaced = false;
    for (const auto& o : ours) replaced = replaced || v.substr(0, v.find('=') + 1) == o.substr(0, o.find('=') + 1);
    if (!replaced) env.emplace_back(v);
  }
  env.insert(env.end(), ours.begin(), ours.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}
}  // namespace

LocalWorkers::LocalWorkers(const std::string& exe, int count, const std::string& token) : exe_(exe) {
  std::vector<std::string> args = {exe, "worker", "--listen", "127.0.0.1:0"};
  std::vector<std::string> env = child_environment(token);
  auto argv = pointers(args), envp = pointers(env);
  for (int r = 0; r < count; ++r) {
    int fds[2];
    if (::pipe(fds) != 0) throw RunError(fmt::format("exec: cannot create a pipe for rank {}: {}", r, std::strerror(errno)));
    // Close-on-exec at once, so no other child inherits them and hides this one's end of output.
    for (int fd : fds) fcntl(fd, F_SETFD, FD_CLOEXEC);
    Fd read_end(fds[0]), write_end(fds[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    Child c;
    int rc = posix_spawn(&c.pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
      throw RunError(fmt::format("exec: cannot start the worker of rank {} ('{} worker'): {} — pass the clustertwin "
                                 "binary's path",
                                 r, exe, std::strerror(rc)));
    set_nonblocking(read_end.get());
    c.out = std::move(read_end);
    children_.push_back(std::move(c));
  }
}

LocalWorkers::~LocalWorkers() { finish(0); }

std::vector<uint16_t> LocalWorkers::read_ports(double timeout_s) {
  const auto deadline = deadline_after(timeout_s);
  std::vector<uint16_t> ports(children_.size(), 0);
  size_t left = children_.size();
  while (left > 0) {
    std::vector<pollfd> fds;
    for (auto& c : children_) fds.push_back({c.out.valid() ? c.out.get() : -1, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(deadline)) == 0 && Clock::now() >= deadline) {
      for (size_t r = 0; r < ports.size(); ++r)
        if (ports[r] == 0)
          throw RunError(fmt::format("exec: rank {}: the worker ('{} worker', pid {}) did not announce its port within "
                                     "{:.0f} s — is it a clustertwin binary?",
                                     r, exe_, children_[r].pid, timeout_s));
    }
    for (size_t r = 0; r < children_.size(); ++r) {
      Child& c = children_[r];
      if (!fds[r].revents || ports[r] != 0) continue;
      char buf[256];
      ssize_t n = ::read(c.out.get(), buf, sizeof buf);
      if (n > 0) c.line.append(buf, static_cast<size_t>(n));
      size_t nl = c.line.find('\n');
      if (n == 0 && nl == std::string::npos) {
        reap(c, true);
        throw RunError(fmt::format("exec: rank {}: the worker ('{} worker') {} before announcing its port — see its error "
                                   "output above",
                                   r, exe_, exit_text(c)));
      }
      if (nl == std::string::npos) continue;
      std::string line = c.line.substr(0, nl);
      if (line.rfind(kAnnounce, 0) != 0 || line.size() == kAnnounce.size() || line.size() > kAnnounce.size() + 5)
        throw RunError(fmt::format("exec: rank {}: the worker printed '{}' instead of '{}PORT' — is '{}' a clustertwin "
                                   "binary of this version?",
                                   r, line, kAnnounce, exe_));
      ports[r] = static_cast<uint16_t>(std::stoi(line.substr(kAnnounce.size())));
      c.out.reset();  // nothing else comes on stdout; a later write fails harmlessly (EPIPE, SIGPIPE ignored)
      --left;
    }
  }
  return ports;
}

bool LocalWorkers::reap(Child& c, bool block) {
  if (c.reaped) return true;
  for (;;) {
    pid_t got = ::waitpid(c.pid, &c.status, block ? 0 : WNOHANG);
    if (got == c.pid) return c.reaped = true;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return c.reaped = true;  // not our child any more: nothing left to reap
    return false;
  }
}

void LocalWorkers::finish(double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  auto all_reaped = [&] {
    bool all = true;
    for (auto& c : children_) all = reap(c, false) && all;
    return all;
  };
  while (!all_reaped() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& c : children_)
    if (!c.reaped) {
      c.signalled = true;
      ::kill(c.pid, SIGTERM);
    }
  const auto term_deadline = deadline_after(1);
  while (!all_reaped() && Clock::now() < term_deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& c : children_)
    if (!c.reaped) {
      ::kill(c.pid, SIGKILL);
      reap(c, true);
    }
}

std::string LocalWorkers::exit_text(const Child& c) const {
  if (!c.reaped) return "is still running";
  if (WIFEXITED(c.status)) return fmt::format("exited with status {}", WEXITSTATUS(c.status));
  if (WIFSIGNALED(c.status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(c.status), strsignal(WTERMSIG(c.status)));
  return "ended";
}

std::string LocalWorkers::abnormal_exits() const {
  std::string out;
  for (size_t r = 0; r < children_.size(); ++r) {
    const Child& c = children_[r];
    // Killed by a signal we did not send: a crash or the out-of-memory killer.
    if (c.reaped && WIFSIGNALED(c.status) && !c.signalled)
      out += fmt::format("\n  rank {}'s worker (pid {}) {}", r, c.pid, exit_text(c));
  }
  return out;
}

}  // namespace clustertwin::exec
