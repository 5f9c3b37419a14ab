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

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// The parent's environment with ours on top.
std::vector<std::string> child_environment(const std::vector<std::string>& ours) {
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

// A pipe whose ends are close-on-exec at once, so no other child inherits them and keeps this
// one's end of output (or of its stdin) open.
void make_pipe(Fd& read_end, Fd& write_end, int rank) {
  int fds[2];
  if (::pipe(fds) != 0) throw RunError(fmt::format("exec: cannot create a pipe for rank {}: {}", rank, std::strerror(errno)));
  for (int fd : fds) fcntl(fd, F_SETFD, FD_CLOEXEC);
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
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

WorkerProcesses::WorkerProcesses(std::vector<WorkerLaunch> launches, const std::vector<std::string>& extra_env)
    : launches_(std::move(launches)) {
  std::vector<std::string> env = child_environment(extra_env);
  auto envp = pointers(env);
  for (size_t r = 0; r < launches_.size(); ++r) {
    const WorkerLaunch& l = launches_[r];
    std::vector<std::string> args = l.argv;
    auto argv = pointers(args);
    Fd out_read, out_write, in_read, in_write;
    make_pipe(out_read, out_write, static_cast<int>(r));
    if (!l.stdin_text.empty()) make_pipe(in_read, in_write, static_cast<int>(r));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_write.get(), STDOUT_FILENO);
    if (in_read.valid())
      posix_spawn_file_actions_adddup2(&fa, in_read.get(), STDIN_FILENO);
    else
      posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    Child c;
    int rc = posix_spawnp(&c.pid, args.at(0).c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      bool local = args.size() > 1 && args[1] == "worker";
      throw RunError(fmt::format("exec: cannot start the worker of rank {} ('{}'): {} — {}", r,
                                 local ? args[0] + " worker" : args[0], std::strerror(rc),
                                 local ? "pass the clustertwin binary's path" : "is it installed and in PATH?"));
    }
    set_nonblocking(out_read.get());
    c.out = std::move(out_read);
    if (in_write.valid()) {
      // A few bytes into an empty pipe: they fit, the write does not wait for the child.
      ssize_t n = ::write(in_write.get(), l.stdin_text.data(), l.stdin_text.size());
      if (n != static_cast<ssize_t>(l.stdin_text.size()))
        throw RunError(fmt::format("exec: rank {}: cannot write to the stdin of '{}': {}", r, joined(args),
                                   std::strerror(errno)));
      c.in = std::move(in_write);
    }
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
    for (auto& c : children_) fds.push_back({c.out.valid() ? c.out.get() : -1, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(deadline)) == 0 && Clock::now() >= deadline) {
      for (size_t r = 0; r < ports.size(); ++r)
        if (ports[r] == 0)
          throw RunError(fmt::format("exec: rank {}: {} (pid {}) did not announce its port within {:.0f} s — is it a "
                                     "clustertwin binary?",
                                     r, launches_[r].what, children_[r].pid, timeout_s));
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
        const auto& l = launches_[r];
        std::string why = l.explain_exit ? l.explain_exit(c.status) : " — see its error output above";
        throw RunError(fmt::format("exec: rank {}: {} {} before announcing its port{}", r, l.what, exit_text(c), why));
      }
      if (nl == std::string::npos) continue;
      std::string line = c.line.substr(0, nl);
      if (line.rfind(kAnnounce, 0) != 0 || line.size() == kAnnounce.size() || line.size() > kAnnounce.size() + 5)
        throw RunError(fmt::format("exec: rank {}: {} printed '{}' instead of '{}PORT' — is it a clustertwin binary of "
                                   "this version?",
                                   r, launches_[r].what, line, kAnnounce));
      ports[r] = static_cast<uint16_t>(std::stoi(line.substr(kAnnounce.size())));
      c.out.reset();  // nothing else comes on stdout; a later write fails harmlessly (EPIPE, SIGPIPE ignored)
      --left;
    }
  }
  return ports;
}

bool WorkerProcesses::reap(Child& c, bool block) {
  if (c.reaped) return true;
  for (;;) {
    pid_t got = ::waitpid(c.pid, &c.status, block ? 0 : WNOHANG);
    if (got == c.pid) return c.reaped = true;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return c.reaped = true;  // not our child any more: nothing left to reap
    return false;
  }
}

void WorkerProcesses::finish(double timeout_s) {
  for (auto& c : children_) c.in.reset();
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

std::string WorkerProcesses::exit_text(const Child& c) const {
  if (!c.reaped) return "is still running";
  if (WIFEXITED(c.status)) return fmt::format("exited with status {}", WEXITSTATUS(c.status));
  if (WIFSIGNALED(c.status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(c.status), strsignal(WTERMSIG(c.status)));
  return "ended";
}

std::string WorkerProcesses::abnormal_exits() const {
  std::string out;
  for (size_t r = 0; r < children_.size(); ++r) {
    const Child& c = children_[r];
    // Killed by a signal we did not send: a crash or the out-of-memory killer.
    if (c.reaped && WIFSIGNALED(c.status) && !c.signalled)
      out += fmt::format("\n  rank {}'s worker (pid {}) {}", r, c.pid, exit_text(c));
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
