#include "exec/spawn.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "exec/executor.h"

namespace clustertwin::exec {

namespace {
constexpr std::string_view kAnnounce = "clustertwin-worker listening on ";

core::Process start(const WorkerLaunch& l, const std::vector<std::string>& env, size_t rank) {
  try {
    return core::Process({.argv = l.argv, .env = env, .pipe_stdin = !l.stdin_text.empty(), .pipe_stdout = true});
  } catch (const core::SpawnError& e) {
    const auto& args = l.argv;
    bool local = args.size() > 1 && args[1] == "worker";
    throw RunError(fmt::format("exec: cannot start the worker of rank {} ('{}'): {} — {}", rank,
                               local ? args[0] + " worker" : args[0], std::strerror(e.code().value()),
                               local ? "pass the clustertwin binary's path" : "is it installed and in PATH?"));
  } catch (const std::system_error& e) {
    throw RunError(fmt::format("exec: rank {}: {}", rank, e.what()));
  }
}
}  // namespace

WorkerLaunch local_worker_launch(const std::string& exe) {
  WorkerLaunch l;
  l.argv = {exe, "worker", "--listen", "127.0.0.1:0"};
  l.what = fmt::format("the worker ('{} worker')", exe);
  return l;
}

std::vector<std::string> local_worker_env(const std::string& token) {
  return {"CLUSTERTWIN_TOKEN=" + token, "OPENBLAS_NUM_THREADS=1", "VECLIB_MAXIMUM_THREADS=1"};
}

WorkerProcesses::WorkerProcesses(std::vector<WorkerLaunch> launches, const std::vector<std::string>& env)
    : launches_(std::move(launches)) {
  for (size_t r = 0; r < launches_.size(); ++r) {
    const WorkerLaunch& l = launches_[r];
    Child c;
    c.process = start(l, env, r);
    set_nonblocking(c.process.out().get());
    // A few bytes into an empty pipe: they fit, the write does not wait for the child. EPIPE means
    // the child has already gone (an ssh that could not reach its host): read_ports reports how it
    // exited, which says more than the broken pipe.
    if (!l.stdin_text.empty() && !core::write_full(c.process.in().get(), l.stdin_text.data(), l.stdin_text.size()) &&
        errno != EPIPE)
      throw RunError(fmt::format("exec: rank {}: cannot write to the stdin of '{}': {}", r, core::joined(l.argv),
                                 std::strerror(errno)));
    children_.push_back(std::move(c));
  }
}

WorkerProcesses::~WorkerProcesses() { finish(0); }

std::vector<uint16_t> WorkerProcesses::read_ports(double timeout_s) {
  const auto deadline = deadline_after(timeout_s);
  std::vector<uint16_t> ports(children_.size(), 0);
  size_t left = children_.size();
  while (left > 0) {
    std::vector<pollfd> fds;
    for (auto& c : children_) fds.push_back({c.process.out().get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(deadline)) == 0 && Clock::now() >= deadline) {
      for (size_t r = 0; r < ports.size(); ++r)
        if (ports[r] == 0)
          throw RunError(fmt::format("exec: rank {}: {} (pid {}) did not announce its port within {:.0f} s — is it a "
                                     "clustertwin binary?",
                                     r, launches_[r].what, children_[r].process.pid(), timeout_s));
    }
    for (size_t r = 0; r < children_.size(); ++r) {
      Child& c = children_[r];
      if (!fds[r].revents || ports[r] != 0) continue;
      char buf[256];
      ssize_t n = ::read(c.process.out().get(), buf, sizeof buf);
      if (n > 0) c.line.append(buf, static_cast<size_t>(n));
      size_t nl = c.line.find('\n');
      if (n == 0 && nl == std::string::npos) {
        int status = c.process.wait();
        const auto& l = launches_[r];
        std::string why = l.explain_exit ? l.explain_exit(status) : " — see its error output above";
        throw RunError(fmt::format("exec: rank {}: {} {} before announcing its port{}", r, l.what, c.process.describe(), why));
      }
      if (nl == std::string::npos) continue;
      std::string line = c.line.substr(0, nl);
      if (line.rfind(kAnnounce, 0) != 0 || line.size() == kAnnounce.size() || line.size() > kAnnounce.size() + 5)
        throw RunError(fmt::format("exec: rank {}: {} printed '{}' instead of '{}PORT' — is it a clustertwin binary of "
                                   "this version?",
                                   r, launches_[r].what, line, kAnnounce));
      ports[r] = static_cast<uint16_t>(std::stoi(line.substr(kAnnounce.size())));
      c.process.out().reset();  // nothing else comes on stdout; a later write fails harmlessly (EPIPE, SIGPIPE ignored)
      --left;
    }
  }
  return ports;
}

void WorkerProcesses::finish(double timeout_s) {
  for (auto& c : children_) c.process.in().reset();
  // Every child gets the same time: the first waits out what is left of it, the others only check.
  auto left_s = [](Clock::time_point d) { return std::max(0.0, std::chrono::duration<double>(d - Clock::now()).count()); };
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  for (auto& c : children_) c.process.wait_for(left_s(deadline));
  for (auto& c : children_)
    if (!c.process.try_wait()) {
      c.signalled = true;
      c.process.signal(SIGTERM);
      c.process.signal(SIGCONT);  // a stopped worker (the hung rank, often) acts on the SIGTERM at once
    }
  const auto term_deadline = Clock::now() + std::chrono::seconds(1);
  for (auto& c : children_)
    if (!c.process.wait_for(left_s(term_deadline))) {
      c.process.signal(SIGKILL);
      c.process.wait();
    }
}

std::string WorkerProcesses::abnormal_exits() const {
  std::string out;
  for (size_t r = 0; r < children_.size(); ++r) {
    const Child& c = children_[r];
    // Killed by a signal we did not send: a crash or the out-of-memory killer.
    if (c.process.reaped() && WIFSIGNALED(c.process.status()) && !c.signalled)
      out += fmt::format("\n  rank {}'s worker (pid {}) {}", r, c.process.pid(), c.process.describe());
  }
  return out;
}

std::string read_token_line(int fd, double timeout_s) {
  const auto deadline = deadline_after(timeout_s);
  std::string line;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw RunError(fmt::format("exec: no run token on stdin within {:.0f} s", timeout_s));
    char c;
    ssize_t n = ::read(fd, &c, 1);  // byte by byte: nothing after the line is consumed
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
    if (line.size() > 1024) throw RunError("exec: the run token on stdin is longer than 1 KiB");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw RunError("exec: expected the run token on the first line of stdin, got an empty line or EOF");
  return line;
}

}  // namespace clustertwin::exec
