// Bringing an emulation plan up and down with iproute2, and entering a namespace from a thread.
// Linux only: built instead of netns_other.cc where network namespaces exist.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "exec/emulate/emulation.h"
#include "exec/executor.h"
#include "exec/socket.h"

extern char** environ;

namespace clustertwin::exec::emulate {

namespace {
struct Output {
  int status = -1;
  std::string out, err;
};

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& w : argv) s += (s.empty() ? "" : " ") + w;
  return s;
}

// Runs argv (PATH searched) and collects its output; bounded so a hung `ip` cannot hang us.
Output run(const std::vector<std::string>& argv, double timeout_s = 20) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0)
    throw RunError(fmt::format("exec: emulate: cannot create a pipe: {}", std::strerror(errno)));
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
  for (int fd : {out_r.get(), out_w.get(), err_r.get(), err_w.get()}) fcntl(fd, F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> args = argv;
  std::vector<char*> ptrs;
  for (auto& a : args) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0].c_str(), &fa, nullptr, ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw RunError(fmt::format("exec: emulate: cannot run '{}': {} — install iproute2 (ip, tc)", args[0], std::strerror(rc)));
  out_w.reset();
  err_w.reset();
  Output o;
  const auto deadline = deadline_after(timeout_s);
  for (bool open_out = true, open_err = true; open_out || open_err;) {
    pollfd fds[2] = {{open_out ? out_r.get() : -1, POLLIN, 0}, {open_err ? err_r.get() : -1, POLLIN, 0}};
    if (::poll(fds, 2, poll_timeout_ms(deadline)) == 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0)
        (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        (i == 0 ? open_out : open_err) = false;
    }
  }
  while (::waitpid(pid, &o.status, 0) < 0 && errno == EINTR) {
  }
  return o;
}

bool ok(const Output& o) { return WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0; }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

bool supported(std::string* why) {
  if (::geteuid() != 0) {
    if (why) *why = "emulation creates network namespaces and needs root (run as root or with sudo)";
    return false;
  }
  return true;
}

std::vector<std::string> list(const std::string& prefix) {
  Output o = run({"ip", "netns", "list"});
  if (!ok(o)) throw RunError(fmt::format("exec: emulate: `ip netns list` failed: {}", trimmed(o.err)));
  std::vector<std::string> out;
  std::istringstream in(o.out);
  for (std::string line; std::getline(in, line);) {
    std::string name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (!name.empty() && name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::vector<std::string> down(const std::string& prefix) {
  if (prefix.empty()) throw RunError("exec: emulate: refusing to remove namespaces with an empty prefix");
  auto names = list(prefix);
  std::string errors;
  for (const auto& n : names) {
    Output o = run({"ip", "netns", "del", n});
    if (!ok(o)) errors += fmt::format("\n  ip netns del {}: {}", n, trimmed(o.err));
  }
  if (!errors.empty()) throw RunError("exec: emulate: could not remove every namespace:" + errors);
  return names;
}

void up(const EmulationPlan& plan) {
  std::string why;
  if (!supported(&why)) throw RunError("exec: emulate: " + why);
  auto existing = list(plan.prefix);
  if (!existing.empty())
    throw RunError(fmt::format("exec: emulate: namespaces of '{}' exist already ({}, …) — run `clustertwin emulate down` "
                               "first, or pick another --prefix",
                               plan.topology, existing.front()));
  for (const auto& argv : plan.commands) {
    Output o = run(argv);
    if (ok(o)) continue;
    std::string err = trimmed(o.err);
    try {
      down(plan.prefix);
    } catch (const RunError&) {
      // The original failure is what the user needs; the sweep is retried by `emulate down`.
    }
    std::string hint;
    if (err.find("Specified qdisc kind is unknown") != std::string::npos)
      hint = " — this kernel lacks that qdisc (netem for --delay: leave --delay out)";
    else if (err.find("Operation not permitted") != std::string::npos)
      hint = " — needs root";
    throw RunError(fmt::format("exec: emulate: `{}` failed: {}{} (everything made so far was removed)", joined(argv),
                               err.empty() ? "exit status " + std::to_string(WEXITSTATUS(o.status)) : err, hint));
  }
}

Emulation::Emulation(EmulationPlan plan) : plan_(std::move(plan)) { up(plan_); }

Emulation::~Emulation() {
  try {
    down(plan_.prefix);
  } catch (const RunError&) {
    // A destructor cannot throw; `clustertwin emulate down` sweeps whatever is left.
  }
}

InNamespace::InNamespace(const std::string& ns) {
  saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_ < 0) throw RunError(fmt::format("exec: emulate: cannot open this thread's namespace: {}", std::strerror(errno)));
  std::string path = "/run/netns/" + ns;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ::close(saved_);
    throw RunError(fmt::format("exec: emulate: no namespace '{}' ({}): {}", ns, path, std::strerror(errno)));
  }
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    ::close(saved_);
    throw RunError(fmt::format("exec: emulate: cannot enter namespace '{}': {}", ns, std::strerror(err)));
  }
}

InNamespace::~InNamespace() {
  if (saved_ < 0) return;
  [[maybe_unused]] int rc = ::setns(saved_, CLONE_NEWNET);
  ::close(saved_);
}

}  // namespace clustertwin::exec::emulate
