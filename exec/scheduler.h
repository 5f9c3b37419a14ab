// Runs one rank's op DAG with the simulator's semantics: compute ops on one thread and
// communication ops (send, recv, collective) on another, each stream in program order, each op
// starting only when its deps are done — so compute overlaps communication exactly as far as the
// deps allow. Records start/end of every op on the run's common clock.
#pragma once

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "core/program.h"
#include "exec/cancel.h"
#include "exec/socket.h"

namespace clustertwin::exec {

struct OpTimes {
  double start = 0, end = 0;  // seconds since the run's origin
};

class Scheduler {
 public:
  struct Hooks {
    std::function<void(const core::Op&, uint32_t)> compute;     // timed
    std::function<void(const core::Op&, uint32_t)> comm;        // timed
    std::function<void(const core::Op&, uint32_t)> after_comm;  // untimed: result checks, refills
    std::function<void(int32_t)> step_done;                     // every op of the step has finished
  };

  // `origin` is this machine's steady_clock reading of the run's time zero (already corrected by
  // any clock offset to the coordinator).
  Scheduler(const std::vector<core::Op>& ops, Clock::time_point origin, Hooks hooks, Cancel& cancel);
  ~Scheduler();

  void start();
  void join();
  bool finished_ok() const;  // after join(): every op ran and nothing cancelled the run
  const std::vector<OpTimes>& times() const { return times_; }
  // Ops of `step`, for the step record.
  const std::vector<uint32_t>& ops_of_step(int32_t step) const;

 private:
  void stream(bool compute_stream);
  void wait_for_deps(const core::Op& op);
  void finish(uint32_t index);
  double now() const;

  const std::vector<core::Op>& ops_;
  Clock::time_point origin_;
  Hooks hooks_;
  Cancel& cancel_;
  std::vector<OpTimes> times_;
  std::vector<char> done_;                     // guarded by cancel_.mutex()
  std::vector<std::vector<uint32_t>> steps_;   // op indices per step
  std::vector<size_t> step_left_;              // guarded by cancel_.mutex()
  std::thread compute_, comm_;
  size_t finished_ = 0;
};

}  // namespace clustertwin::exec
