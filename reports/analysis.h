// What one run's records say, summarised the same way for every run a report shows: the step
// broken into phases, per rank, per collective, per route (the ranks a transfer or collective
// joins) and per link, and a one-step timeline per rank for the drawing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/run_view.h"

namespace clustertwin::reports {

// The report's phases, in drawing order. Compute phases come from the ops' phase; then
// "exposed communication" (transfers with no compute running), "waiting for a peer" (in a
// collective for its last member, nothing else running), "pipeline bubble" (waiting in a recv for
// its sender with nothing else running) and "idle" (no op at all). Per rank and step they add up
// to the step time. Without program.json a run's waits cannot be told from its transfers: a
// collective counts as communication and a receive as bubble.
extern const std::vector<std::string> kPhaseOrder;

struct RankStats {
  // Seconds per step, averaged over steps.
  double compute = 0, exposed = 0, peer_wait = 0, bubble = 0, idle = 0;
  int waited_for = -1;  // the rank this one waited for longest (-1: none), and seconds per step
  double waited = 0;
  std::map<std::string, double> phases;  // the rank's own breakdown
  double not_computing() const { return exposed + peer_wait + bubble + idle; }
};

struct CollectiveStats {
  std::string label;
  std::string kind, algorithm;  // "" without program.json
  int group_size = 0;
  double bytes = 0;             // each rank's buffer
  double per_step = 0;          // occurrences per step and rank
  double mean_seconds = 0;      // one occurrence, over ranks and steps
  double busbw = 0;             // bytes/s: bytes / time x the nccl-tests factor of the kind
  double busbw_factor = 1;
};

// The ranks a communication joins: a collective's group or a send's (src, dst) pair.
struct RouteStats {
  std::string key;          // "group 0 (ranks 0-3)", "rank 0 -> rank 1"
  std::vector<int> ranks;   // members, or {src, dst}
  double seconds = 0;       // per step: time its ops spend transferring (not waiting for a late peer), summed over ranks
  double bytes = 0;         // per step: bytes those ops carry (buffer sizes), summed over ranks
  double ops = 0;           // per step
  std::vector<int> links;   // topology links its traffic crosses (needs topology.yaml, program.json)
};

struct LinkStats {
  std::string name;         // "mini1 - mini2 (tb4)"
  int a = -1, b = -1;       // node indices in the topology
  double bandwidth = 0;     // bytes/s a -> b
  double back_bandwidth = 0;
  double bytes_up = 0, bytes_down = 0;  // per step
  // Mean utilisation over a step in the busier direction: bytes / (bandwidth x step time).
  double utilisation = 0;
  double comm_seconds = 0;  // per step: time in the ops of every route that crosses it
};

enum class BoxKind : uint8_t { Compute, Communication, Waiting /* for a peer: in a recv, or a collective before its last member */ };

struct TimelineBox {
  double start = 0, end = 0;  // seconds from the step's start
  BoxKind kind = BoxKind::Compute;
};

struct RunStats {
  std::string name;  // as the report calls it: "predicted", "measured", or the directory
  const RunView* run = nullptr;
  std::vector<double> step_seconds;
  std::vector<double> step_start;  // seconds on the run's clock (with a trace)
  double step_mean = 0, step_p50 = 0, step_p95 = 0;
  std::map<std::string, double> phases;  // seconds per step, averaged over ranks
  std::vector<RankStats> ranks;
  std::vector<CollectiveStats> collectives;  // by label
  std::vector<RouteStats> routes;
  std::vector<LinkStats> links;              // empty without topology.yaml and program.json
  std::vector<core::PathPart> critical_path;  // per rank, largest first; empty without program.json
  std::string bound;  // what bounds the step, one sentence (reports/bottleneck.h); "" without a critical path
  int timeline_step = 0;                     // the step drawn: the one closest to the median
  double timeline_span = 0;                  // its length, seconds
  std::vector<std::vector<TimelineBox>> timeline;  // per rank

  double phase(const std::string& name) const;                          // seconds per step; 0 when absent
  const CollectiveStats* collective(const std::string& label) const;  // nullptr when absent
  const RouteStats* route(const std::string& key) const;              // nullptr when absent
};

RunStats analyse(const RunView& run, const std::string& name);

// Every phase a report may list, in drawing order: "compute" (what a run read from summary.json
// alone has), kPhaseOrder, then any other phase of the runs in the order they have them.
std::vector<std::string> phase_order(const std::vector<RunStats>& runs);

// The ranks a table lists: all of them up to `limit`, else the `limit` with the most compute per
// step (the slow ones a reader looks for), in rank order.
std::vector<size_t> ranks_to_show(const RunStats& s, size_t limit);

// How much more `rank` computes per step than the run's median rank, in percent, when that is more
// than 10 %: the straggler the rank tables flag. nullopt otherwise.
std::optional<double> compute_over_median(const RunStats& s, size_t rank);

// The nccl-tests bus-bandwidth factor of a collective kind over n ranks (allreduce 2(n-1)/n,
// allgather / reducescatter / alltoall (n-1)/n, broadcast / reduce 1).
double busbw_factor(const std::string& kind, int n);

// Seconds of one occurrence of every (rank, op) pair, averaged over steps: what matching by op id
// compares. Keyed rank << 32 | op.
std::map<uint64_t, double> op_seconds(const RunView& run);

}  // namespace clustertwin::reports
