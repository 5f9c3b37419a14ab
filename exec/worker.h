// The worker's side of one run, below run_worker(): given an open listening socket, serve one
// coordinator. Separate so tests can run ranks as threads in one process.
#pragma once

#include <functional>
#include <string>

#include "exec/acceptor.h"
#include "exec/socket.h"

namespace clustertwin::exec::detail {

struct ServeOptions {
  std::string token;
  double accept_timeout_s = 0;  // waiting for the coordinator; 0 waits forever
  int64_t clock_shift_ns = 0;   // testing aid: this worker's clock reads that much ahead of steady_clock
  // Readable at EOF when whoever started the worker is gone (the stdin of a worker started over
  // ssh): the worker stops waiting for a coordinator, or stops its run. -1: none.
  int lifeline_fd = -1;
  AcceptLimits limits{};  // on connections that have not proved the token yet
  Acceptor::Log log{};    // refusals and dropped connections; default: stderr
};

// Accepts the coordinator's control connection (refusing others), runs the assigned ops, streams
// step records, and returns after the done frame. Throws RunError (after telling the coordinator).
void serve_one_run(Fd listener, const ServeOptions& options);

}  // namespace clustertwin::exec::detail
