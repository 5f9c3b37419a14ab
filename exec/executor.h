// The socket executor: runs a Program on worker processes over TCP with real bytes and real
// reductions, and returns per-op start/end times on one clock. No SimGrid here: this module must
// build on macOS and Raspberry Pi OS (POSIX sockets + CBLAS only).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "core/program.h"
#include "core/run.h"
#include "exec/settings.h"
#include "topologies/topology.h"

namespace clustertwin::exec {

// A run that could not finish: a peer died or timed out, a result was wrong, a port was taken.
// what() names the rank(s), host and likely cause.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

// How the workers of a run start. Each mode carries only what it needs; check_launch() says
// whether it fits a Program before anything starts.
namespace launch {
// One worker process per rank on 127.0.0.1 (rank i modelled by topology.compute_nodes()[i]).
struct Local {
  int ranks = 0;         // `--local N`: must be the Program's world; 0 takes the world
  std::string self_exe{};  // the clustertwin binary, started as `self_exe worker ...` for each rank
};
// Rank i on topology.compute_nodes()[i], started here over ssh with the node's `ssh` alias:
// `command -o BatchMode=yes ALIAS remote_binary worker --listen ADDR:PORT --token-stdin`, ADDR the
// node's cluster address; the token goes down the session's stdin, never into argv, and nothing is
// copied to the node.
struct Ssh {
  std::string command = "ssh";  // split at spaces ("ssh -i ~/.ssh/cluster" works)
  std::string remote_binary = "clustertwin";
  uint16_t worker_port = 0;  // 0: each worker picks a free port and announces it
  std::string token{};       // empty: a fresh random one
};
// Workers started by hand (`clustertwin worker`) with `token`, one HOST:PORT per rank.
struct Attach {
  std::vector<std::string> workers{};
  std::string token{};
};
// Inside the network namespaces of `clustertwin emulate up` with this prefix: each worker starts in
// its node's namespace (`ip netns exec NS self_exe worker ...`, token in the environment) and the
// coordinator reaches it from inside that namespace.
struct Emulated {
  std::string prefix{};
  std::string self_exe{};
};
}  // namespace launch
using Launch = std::variant<launch::Local, launch::Ssh, launch::Attach, launch::Emulated>;

// Throws core::InputError, naming the flag and with a hint, when `how` cannot run `program` on
// `topology`: a --local or --attach count that is not the world, attaching without a token.
void check_launch(const Launch& how, const core::Program& program, const topo::Topology& topology);

// "3 local worker processes over loopback TCP" for `world` ranks: RunInfo::detail, bench headers.
std::string launch_text(const Launch& how, int world);

// Runs every step of the Program on workers started as `how` says, verifies every collective's
// result on every rank, and returns one record per op. Throws core::InputError from check_launch,
// and RunError on any failure after the start (naming rank, node, host and cause; an unreachable
// ssh alias names the node and the alias), after every finished step is on disk.
MeasuredRun run(const core::Program& program, const topo::Topology& topology, const Launch& how,
                const RunSettings& settings);

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
