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

// The offset of one rank's steady_clock to the coordinator's, from ping-pong rounds before the
// start: the round with the shortest round trip wins, and its half round trip bounds the error
// (the worker read its clock somewhere between the ping leaving and the pong arriving).
struct ClockEstimate {
  int rank = 0;
  double offset_s = 0;  // worker clock minus coordinator clock
  double error_s = 0;   // |estimate - true offset| <= error_s
  double rtt_s = 0;     // the best round trip
  bool applied = true;  // false for workers on the coordinator's machine: one clock, 0 is exact
};

// What a measured run returns: one record per op, on the coordinator's clock.
struct MeasuredRun {
  std::vector<core::OpRecord> records;
  std::vector<ClockEstimate> clocks;  // per rank
  // The largest error bound among the offsets applied to records (0 when none was applied).
  double clock_error_s() const;
  // "clocks aligned to ±23 µs (ping-pong)", or "one clock (local workers)": for RunInfo::detail.
  std::string clock_text() const;
};

// What every kind of run is told, however its workers start.
struct RunSettings {
  ComputeMode compute = ComputeMode::Modelled;
  std::string out_dir;   // DIR/steps.jsonl gets one line per (step, rank) as each step ends
  double op_timeout_s = 120;   // no progress on an op for this long ends the run
  double connect_timeout_s = 10;  // reaching a worker, and a worker reaching its peers
  int corrupt_rank = -1;       // testing aid: this rank perturbs its all-reduce contribution
};

struct LocalRunOptions : RunSettings {
  std::string self_exe;  // the clustertwin binary, started as `self_exe worker ...` for each rank
};

// Spawns one worker process per rank on 127.0.0.1 (rank i modelled by topology.compute_nodes()[i]),
// runs every step of the Program, verifies every collective's result on every rank, and returns
// one record per op. Throws RunError on any failure, after every finished step is on disk.
MeasuredRun run_local(const core::Program& program, const topo::Topology& topology, const LocalRunOptions& options);

// A run on a real cluster: rank i on topology.compute_nodes()[i], its worker either started by
// hand (`attach`) or started here over ssh with the node's `ssh` alias.
struct ClusterRunOptions : RunSettings {
  // One HOST:PORT per rank: workers started by hand with `token` (CLUSTERTWIN_TOKEN). Empty: start
  // them over ssh.
  std::vector<std::string> attach;
  std::string token;  // attach: required; ssh: empty makes a fresh random one
  // ssh launch: `ssh_command -o BatchMode=yes ALIAS remote_binary worker --listen ADDR:PORT
  // --token-stdin`, ADDR the node's cluster address; the token goes down the session's stdin,
  // never into argv, and nothing is copied to the node.
  std::string ssh_command = "ssh";  // split at spaces ("ssh -i ~/.ssh/cluster" works)
  std::string remote_binary = "clustertwin";
  uint16_t worker_port = 0;         // 0: each worker picks a free port and announces it
  double launch_timeout_s = 30;     // ssh login plus the worker's start
  // Emulated (`clustertwin emulate up`): the namespaces with this prefix. Each worker starts in its
  // node's namespace (`ip netns exec NS self_exe worker ...`, token in the environment) and the
  // coordinator reaches it from inside that namespace. Empty: a real cluster.
  std::string emulated_prefix;
  std::string self_exe;  // emulated: the clustertwin binary
};

// Runs the Program on the cluster the topology describes. Same checks and records as run_local;
// every worker's version and program hash are checked before the start. Throws RunError naming
// rank, node, host and cause (an unreachable ssh alias names the node and the alias).
MeasuredRun run_cluster(const core::Program& program, const topo::Topology& topology, const ClusterRunOptions& options);

struct WorkerOptions {
  std::string listen = "127.0.0.1:0";  // ADDR:PORT; port 0 picks a free one
  std::string token;                   // run token every connection must present
  bool announce_port = true;           // print "clustertwin-worker listening on PORT\n" to stdout
  // EOF here means the session that started the worker ended (stdin of a worker started over
  // ssh): stop waiting, or stop the run. -1: none.
  int lifeline_fd = -1;
};

// `clustertwin worker`: serves one run for a coordinator, then returns. Throws RunError.
void run_worker(const WorkerOptions& options);

}  // namespace clustertwin::exec
