// run_local(): one worker process per rank on 127.0.0.1, driven by the coordinator.
#include <fmt/format.h>

#include "exec/auth.h"
#include "exec/coordinator.h"
#include "exec/executor.h"
#include "exec/spawn.h"

namespace clustertwin::exec {

namespace {
constexpr double kAnnounceTimeout = 10;
constexpr double kExitTimeout = 5;  // after the last done frame, for the workers to leave
}  // namespace

MeasuredRun run_local(const core::Program& program, const topo::Topology& topology, const LocalRunOptions& options) {
  ignore_sigpipe();
  const auto nodes = topology.compute_nodes();
  if (program.world() != static_cast<int>(nodes.size()))
    throw RunError(fmt::format("exec: the program has {} ranks but topology '{}' has {} compute nodes — compile the "
                               "workload for this topology",
                               program.world(), topology.name, nodes.size()));
  if (options.corrupt_rank >= program.world())
    throw RunError(fmt::format("exec: corrupt_rank {} is not a rank (the program has {})", options.corrupt_rank, program.world()));
  detail::check_runnable(program);
  const auto seconds = detail::modelled_seconds(program, topology);

  detail::CoordinateOptions co;
  co.token = auth::random_hex(16);
  co.compute = options.compute;
  co.out_dir = options.out_dir;
  co.op_timeout_s = options.op_timeout_s;
  co.corrupt_rank = options.corrupt_rank;
  co.same_clock = true;

  LocalWorkers workers(options.self_exe, program.world(), co.token);
  std::vector<Endpoint> addrs;
  for (uint16_t port : workers.read_ports(kAnnounceTimeout)) addrs.push_back({"127.0.0.1", port});
  try {
    auto run = detail::coordinate(program, addrs, seconds, co);
    workers.finish(kExitTimeout);
    return run;
  } catch (const RunError& e) {
    // Failed workers exit on their own; give them a moment so a crash shows as a crash.
    workers.finish(2);
    throw RunError(std::string(e.what()) + workers.abnormal_exits());
  }
}

}  // namespace clustertwin::exec
