// Worker processes on this machine for run_local: started with posix_spawn, each announcing its
// port on a pipe. The owner leaves nothing behind: every child is reaped, stragglers get SIGTERM
// then SIGKILL, whatever path the run takes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "exec/socket.h"

namespace clustertwin::exec {

class LocalWorkers {
 public:
  // Starts `count` times `exe worker --listen 127.0.0.1:0` with CLUSTERTWIN_TOKEN=token and one
  // BLAS thread in the environment. Throws RunError naming the rank when a start fails.
  LocalWorkers(const std::string& exe, int count, const std::string& token);
  ~LocalWorkers();
  LocalWorkers(const LocalWorkers&) = delete;
  LocalWorkers& operator=(const LocalWorkers&) = delete;

  // The port each worker printed ("clustertwin-worker listening on PORT"), within `timeout_s`.
  std::vector<uint16_t> read_ports(double timeout_s);
  // Waits up to `timeout_s` for every worker to exit, then terminates the rest; always reaps.
  void finish(double timeout_s);
  // "rank 2's worker (pid 123) was killed by signal 9 (Killed)" lines for abnormal ends, or "".
  std::string abnormal_exits() const;

 private:
  struct Child {
    pid_t pid = -1;
    Fd out;  // read end of its stdout
    bool reaped = false;
    bool signalled = false;  // by us, while cleaning up
    int status = 0;
    std::string line;  // stdout read so far
  };
  bool reap(Child& c, bool block);
  std::string exit_text(const Child& c) const;

  std::string exe_;
  std::vector<Child> children_;
};

}  // namespace clustertwin::exec
