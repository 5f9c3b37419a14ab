// Child processes: one way to start a program with pipes to it, reap it, stop it and name it in
// errors, for the executor's workers and ssh sessions, the emulation's `ip`/`tc` commands and the
// tests. POSIX only (posix_spawnp, poll, waitpid), so it builds on macOS and without SimGrid. The
// simulator forks instead (its child runs code in-process) but moves bytes with core/fd.h too.
#pragma once

#include <sys/types.h>

#include <string>
#include <system_error>
#include <vector>

#include "core/fd.h"

namespace clustertwin::core {

struct SpawnOptions {
  std::vector<std::string> argv{};  // argv[0] is searched in PATH when it has no '/'
  // "NAME=value" entries put on top of this process's environment (same names replaced).
  std::vector<std::string> env{};
  // A pipe to the child's stdin (else /dev/null), from its stdout and from its stderr (else both
  // are this process's own).
  bool pipe_stdin = false, pipe_stdout = false, pipe_stderr = false;
};

// posix_spawnp failed: code() is its errno (ENOENT: no such program), what() names the command.
class SpawnError : public std::system_error {
 public:
  using std::system_error::system_error;
};

class Process {
 public:
  Process() = default;
  // Starts the child. Throws SpawnError when it cannot be started, std::system_error when a pipe
  // cannot be made.
  explicit Process(const SpawnOptions& options);
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // A child still running is killed (SIGKILL) and reaped: none is left behind.
  ~Process();

  pid_t pid() const { return pid_; }
  // This side's ends of the pipes asked for (close-on-exec); closing in() gives the child EOF.
  Fd& in() { return in_; }
  Fd& out() { return out_; }
  Fd& err() { return err_; }

  // Reaps the child if it has exited, without waiting; true once it is reaped.
  bool try_wait();
  // Waits for the child to exit and returns its wait status.
  int wait();
  // Waits up to `timeout_s` seconds for the child to exit; true when it did.
  bool wait_for(double timeout_s);
  // Sends `sig` unless the child is reaped already (its pid may belong to another process then).
  void signal(int sig) const;

  bool reaped() const { return reaped_; }
  int status() const { return status_; }  // the wait status, once reaped
  // "exited with status 3", "was killed by signal 9 (Killed)", "is still running".
  std::string describe() const;

 private:
  bool reap(bool block);
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  Fd in_, out_, err_;
};

// What a finished command printed.
struct Captured {
  int status = -1;  // wait status
  std::string out, err;
  bool timed_out = false;  // killed after the timeout
  bool ok() const;         // exited with status 0
};

// Runs argv with stdin from /dev/null and collects its stdout and stderr; a child still running
// after `timeout_s` is killed, so a hung command cannot hang the caller. Throws as Process does.
Captured run_captured(const std::vector<std::string>& argv, double timeout_s);

// argv as one line for messages: "ip netns add ct-a".
std::string joined(const std::vector<std::string>& argv);

}  // namespace clustertwin::core
