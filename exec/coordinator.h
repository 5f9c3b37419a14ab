// The coordinator's side of a run, below exec::run(): drive workers that already listen, collect
// their streamed step records, and turn failures into one RunError with the root cause first.
// Separate so tests can run workers as threads and so remote launchers (ssh, emulated namespaces)
// can reuse it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/run.h"
#include "exec/executor.h"
#include "exec/socket.h"
#include "topologies/topology.h"

namespace clustertwin::exec::detail {

struct CoordinateOptions {
  RunSettings settings;  // as given; out_dir empty writes no steps.jsonl
  std::string token;
  // The workers run on this machine and share its steady_clock: offsets are still measured (and
  // reported) but 0 is applied, which is exact.
  bool same_clock = false;
  int clock_rounds = 16;  // ping-pong rounds per worker
  // Per rank, the node's name for messages ("rank 2 (pi4, 192.168.51.4:7000)"); empty: addresses only.
  std::vector<std::string> node_names{};
  // Opens the control connection to a rank (default connect_until): an emulated run connects from
  // inside the rank's network namespace.
  std::function<Fd(int rank, const Endpoint&, Clock::time_point, const std::string& who)> connect{};
};

// What every launch shares before any worker starts: the program fits the topology, the executor
// can run it, corrupt_rank is a rank. Returns each op's modelled time.
std::vector<std::vector<double>> prepare(const core::Program& p, const topo::Topology& t, const RunSettings& s);

// Throws RunError when the executor cannot run `p`: an invalid program, or a collective it cannot
// run (algorithm, kind or dtype), naming the rank and op.
void check_runnable(const core::Program& p);

// Per rank, per op: the compute op's roofline time on the rank's node device (0 for other ops).
std::vector<std::vector<double>> modelled_seconds(const core::Program& p, const topo::Topology& t);

// Runs `p` on the workers listening at `workers[rank]`; one record per op of every rank, on the
// coordinator's clock, and each rank's clock estimate.
MeasuredRun coordinate(const core::Program& p, const std::vector<Endpoint>& workers,
                       const std::vector<std::vector<double>>& seconds, const CoordinateOptions& o);

}  // namespace clustertwin::exec::detail
