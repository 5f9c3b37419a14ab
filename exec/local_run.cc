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
  const auto seconds = detail::prepare(program, topology, options);
  detail::CoordinateOptions co = detail::coordinate_options(options, auth::random_hex(16));
  co.same_clock = true;

  WorkerProcesses workers(std::vector<WorkerLaunch>(program.world(), local_worker_launch(options.self_exe)),
                          local_worker_env(co.token));
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
