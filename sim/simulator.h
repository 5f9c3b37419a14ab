// Program × Topology → predicted Run, on SimGrid: a host per node, a link per direction of every
// physical link, routes from the topology's routing, one actor per rank interpreting its ops.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/run.h"
#include "topologies/topology.h"

namespace clustertwin::sim {

class SimError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when this binary was built with SimGrid (-DCLUSTERTWIN_SIM=ON).
bool available();

// What a simulation cost, for benchmarks.
struct SimStats {
  double wall_seconds = 0;  // the simulating child process, fork to exit
  long max_rss_kb = 0;      // its peak resident memory
};

// Simulates every step of `program` with rank i on topology.rank_nodes()[i] (ranks on one node
// share its device). Returns one record per op with simulated start/end times in seconds. Throws
// SimError (e.g. a deadlocked Program), or core::InputError for a topology mistake (a pair that
// must talk and cannot).
// SimGrid allows one engine per process, so each call runs in a forked child process.
std::vector<core::OpRecord> simulate(const core::Program& program, const topo::Topology& topology,
                                     SimStats* stats = nullptr);

// The SimGrid network model and factors we set (documented in sim/README.md), for run summaries.
std::string model_description();

}  // namespace clustertwin::sim
