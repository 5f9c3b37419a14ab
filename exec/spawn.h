// Worker processes started by this machine: `clustertwin worker` itself for local workers, or an ssh
// session running it on a node for a cluster run. Each announces its port on its stdout. The owner
// leaves nothing behind: every child is reaped, stragglers get SIGTERM then SIGKILL, whatever path
// the run takes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/process.h"
#include "exec/socket.h"

namespace clustertwin::exec {

struct WorkerLaunch {
  std::vector<std::string> argv;  // argv[0] is searched in PATH when it has no '/'
  // Names the worker in errors, after "rank N: ": "the worker ('/usr/bin/clustertwin worker')".
  std::string what;
  // Written to the child's stdin, which then stays open until finish(): for an ssh session the
  // token travels here (never in argv), and its end tells the remote worker the run is over.
  // Empty: stdin is /dev/null.
  std::string stdin_text;
  // Why the child exited before announcing its port, from its wait status: " — see its error
  // output above" unless told otherwise (ssh's 255, a shell's 127).
  std::function<std::string(int status)> explain_exit;
};

class WorkerProcesses {
 public:
  // Starts one child per launch (rank = index) with `env` added to this process's environment.
  // Throws RunError naming the rank when a start fails.
  WorkerProcesses(std::vector<WorkerLaunch> launches, const std::vector<std::string>& env);
  ~WorkerProcesses();
  WorkerProcesses(const WorkerProcesses&) = delete;
  WorkerProcesses& operator=(const WorkerProcesses&) = delete;

  // The port each worker printed ("clustertwin-worker listening on PORT"), within `timeout_s`.
  std::vector<uint16_t> read_ports(double timeout_s);
  // Closes their stdin (the end of the run for a remote worker), waits up to `timeout_s` for every
  // child to exit, then terminates the rest; always reaps.
  void finish(double timeout_s);
  // "rank 2's worker (pid 123) was killed by signal 9 (Killed)" lines for abnormal ends, or "".
  std::string abnormal_exits() const;

 private:
  struct Child {
    core::Process process;   // out(): its stdout; in(): its stdin, when it has stdin_text
    bool signalled = false;  // by us, while cleaning up
    std::string line;        // stdout read so far
  };

  std::vector<WorkerLaunch> launches_;
  std::vector<Child> children_;
};

// The launch of `exe worker --listen 127.0.0.1:0` (launch::Local), and the environment local workers
// get: the token (not in argv, where `ps` shows it to every local user) and one BLAS thread each.
WorkerLaunch local_worker_launch(const std::string& exe);
std::vector<std::string> local_worker_env(const std::string& token);

// Reads the run token from the first line of `fd` (a worker started over ssh gets it on stdin),
// within `timeout_s`. Throws RunError when the line is missing, empty or longer than 1 KiB.
std::string read_token_line(int fd, double timeout_s);

}  // namespace clustertwin::exec
