#include "core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;

namespace clustertwin::core {

namespace {
using Clock = std::chrono::steady_clock;

Clock::time_point after(double seconds) {
  if (seconds > 1e9) return Clock::time_point::max();
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// The parent's environment with `ours` on top.
std::vector<std::string> child_environment(const std::vector<std::string>& ours) {
  auto name = [](std::string_view v) { return v.substr(0, v.find('=') + 1); };
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v = *e;
    if (std::none_of(ours.begin(), ours.end(), [&](const std::string& o) { return name(o) == name(v); }))
      env.emplace_back(v);
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

// posix_spawn file actions, destroyed whatever path the start takes.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
  // The child's `target` is `child_end` of a new pipe whose other end `ours` keeps.
  void pipe_to(int target, Fd& ours, Fd& child_end, bool child_reads) {
    Fd r, w;
    make_pipe(r, w);
    ours = std::move(child_reads ? w : r);
    child_end = std::move(child_reads ? r : w);
    posix_spawn_file_actions_adddup2(&fa, child_end.get(), target);
  }
};
}  // namespace

Process::Process(const SpawnOptions& o) {
  if (o.argv.empty()) throw SpawnError(std::make_error_code(std::errc::invalid_argument), "cannot start an empty command");
  FileActions fa;
  Fd child_in, child_out, child_err;  // closed here once the child has its copies
  if (o.pipe_stdin)
    fa.pipe_to(STDIN_FILENO, in_, child_in, true);
  else
    posix_spawn_file_actions_addopen(&fa.fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (o.pipe_stdout) fa.pipe_to(STDOUT_FILENO, out_, child_out, false);
  if (o.pipe_stderr) fa.pipe_to(STDERR_FILENO, err_, child_err, false);
  std::vector<std::string> args = o.argv;
  auto argv = pointers(args);
  std::vector<std::string> env = o.env.empty() ? std::vector<std::string>{} : child_environment(o.env);
  auto envp = pointers(env);
  int rc = posix_spawnp(&pid_, args[0].c_str(), &fa.fa, nullptr, argv.data(), o.env.empty() ? environ : envp.data());
  if (rc != 0) {
    pid_ = -1;
    throw SpawnError(rc, std::generic_category(), fmt::format("cannot start '{}'", joined(o.argv)));
  }
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(o.reaped_),
      status_(o.status_),
      in_(std::move(o.in_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    Process previous(std::move(*this));  // its destructor stops and reaps the child this one had
    pid_ = std::exchange(o.pid_, -1);
    reaped_ = o.reaped_;
    status_ = o.status_;
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
  }
  return *this;
}

Process::~Process() {
  in_.reset();
  out_.reset();
  err_.reset();
  if (pid_ < 0 || reaped_) return;
  if (!reap(false)) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

bool Process::reap(bool block) {
  if (reaped_ || pid_ < 0) return reaped_;
  for (;;) {
    pid_t got = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
    if (got == pid_) return reaped_ = true;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return reaped_ = true;  // not our child any more: nothing left to reap
    return false;
  }
}

bool Process::try_wait() { return reap(false); }

int Process::wait() {
  reap(true);
  return status_;
}

bool Process::wait_for(double timeout_s) {
  const auto deadline = after(timeout_s);
  auto pause = std::chrono::microseconds(200);
  while (!reap(false)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
  }
  return true;
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

std::string Process::describe() const {
  if (!reaped_) return "is still running";
  if (WIFEXITED(status_)) return fmt::format("exited with status {}", WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status_), strsignal(WTERMSIG(status_)));
  return "ended";
}

bool Captured::ok() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

Captured run_captured(const std::vector<std::string>& argv, double timeout_s) {
  Process p({.argv = argv, .pipe_stdout = true, .pipe_stderr = true});
  Captured c;
  const auto deadline = after(timeout_s);
  Fd* streams[2] = {&p.out(), &p.err()};
  std::string* into[2] = {&c.out, &c.err};
  while (streams[0]->valid() || streams[1]->valid()) {
    pollfd fds[2] = {{streams[0]->get(), POLLIN, 0}, {streams[1]->get(), POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
    int rc = ::poll(fds, 2, static_cast<int>(std::clamp<long long>(left, 0, 1 << 30)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || Clock::now() >= deadline) {  // checked on every turn: a chatty child has the same bound
      p.signal(SIGKILL);
      c.timed_out = rc >= 0;
      break;
    }
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0)
        into[i]->append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        streams[i]->reset();
    }
  }
  c.status = p.wait();
  return c;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& w : argv) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace clustertwin::core
