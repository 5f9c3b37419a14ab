// The socket executor: runs a Program on worker processes over TCP with real bytes and real
// reductions, and returns per-op start/end times on one clock. No SimGrid here: this module must
// build on macOS and Raspberry Pi OS (POSIX sockets + CBLAS only).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/run.h"
#include "topologies/topology.h"

namespace clustertwin::exec {

// A run that could not finish: a peer died or timed out, a result was wrong, a port was taken.
// what() names the rank(s), host and likely cause.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ComputeMode {
  Real,      // CBLAS sgemm of each op's GEMM shape
  Modelled,  // sleep for the op's roofline time on its node's device (topo::roofline_seconds)
};

struct LocalRunOptions {
  std::string self_exe;  // the clustertwin binary, started as `self_exe worker ...` for each rank
  ComputeMode compute = ComputeMode::Modelled;
  std::string out_dir;   // DIR/steps.jsonl gets one line per (step, rank) as each step ends
  double op_timeout_s = 120;   // no progress on an op for this long ends the run
  int corrupt_rank = -1;       // testing aid: this rank perturbs its all-reduce contribution
};

// Spawns one worker process per rank on 127.0.0.1 (rank i modelled by topology.compute_nodes()[i]),
// runs every step of the Program, verifies every collective's result on every rank, and returns
// one record per op. Throws RunError on any failure, after every finished step is on disk.
std::vector<core::OpRecord> run_local(const core::Program& program, const topo::Topology& topology,
                                      const LocalRunOptions& options);

struct WorkerOptions {
  std::string listen = "127.0.0.1:0";  // ADDR:PORT; port 0 picks a free one
  std::string token;                   // run token every connection must present
  bool announce_port = true;           // print "clustertwin-worker listening on PORT\n" to stdout
};

// `clustertwin worker`: serves one run for a coordinator, then returns. Throws RunError.
void run_worker(const WorkerOptions& options);

}  // namespace clustertwin::exec
