// `placement: auto` on smolcluster's hybrid, predicted: each ring step waits for its left
// neighbour's chunk, and file order makes the two Pis neighbours across all three Macs.
#include <gtest/gtest.h>

#include "programs.h"

#include <algorithm>

#include "sim/simulator.h"
#include "topologies/placement.h"
#include "topologies/routing.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::sim {
namespace {

const char* kHybrid = CLUSTERTWIN_SOURCE_DIR "/topologies/examples/smolcluster-hybrid.yaml";

using test_programs::one_allreduce;

double last_end(const std::vector<core::OpRecord>& records) {
  double end = 0;
  for (const auto& r : records) end = std::max(end, r.end);
  return end;
}

// The ring of `order` from the presets' figures, step by step: rank i's step s (of 2(n-1), one
// chunk of S/n each) ends when it has the chunk its left neighbour sent at step s, which that
// neighbour sent once its own step s-1 had ended (sends are eager: 64 KB chunks leave at once), so
// T(i, s) = max(T(i, s-1), T(i-1, s-1) + c(i-1 -> i)), c = both endpoints' per-message overhead +
// the links' latencies and the forwarding latency of every Mac crossed + the chunk through the
// pair's slowest link or forwarding node. The ring ends with its last rank.
double ring_by_hand(const topo::Topology& t, const std::vector<std::string>& order, double S) {
  const topo::Routes routes(t);
  const int n = static_cast<int>(order.size());
  std::vector<double> cost(n);  // pair i -> i+1
  for (int i = 0; i < n; ++i) {
    const topo::Route& r = routes.between(t.find(order[i]), t.find(order[(i + 1) % n]));
    double latency = 0, bandwidth = 1e300;
    for (const auto& h : r.hops) {
      latency += t.links[h.link].latency(h.up);
      bandwidth = std::min(bandwidth, t.links[h.link].bandwidth(h.up));
    }
    for (size_t k = 1; k + 1 < r.nodes.size(); ++k) {
      latency += t.forwarding_of(r.nodes[k]).latency;
      bandwidth = std::min(bandwidth, t.forwarding_of(r.nodes[k]).bandwidth);
    }
    const double overheads = t.links[r.hops.front().link].type.overhead + t.links[r.hops.back().link].type.overhead;
    cost[i] = overheads + latency + S / n / bandwidth;
  }
  std::vector<double> T(n, 0.0);
  for (int s = 1; s <= 2 * (n - 1); ++s) {
    std::vector<double> next(n);
    for (int i = 0; i < n; ++i) next[i] = std::max(T[i], T[(i + n - 1) % n] + cost[(i + n - 1) % n]);
    T = next;
  }
  return *std::max_element(T.begin(), T.end());
}

// 64 KB: small enough that the per-step latency the Pis' long route adds is most of the time.
TEST(Placement, AutoMakesTheHybridsRingAllReduceFaster) {
  const topo::Topology t = topo::load_topology(kHybrid);
  const double S = 64e3;
  core::Program file = one_allreduce(5, S);
  core::Program placed = file;
  // The order a workload's `placement: auto` records in its Program.
  placed.placement = work::compile(work::parse_workload("name: w\nmodel: gpt2-124m\ntask: train\n"
                                                        "batch: {micro_batch: 1, seq_len: 128}\n"
                                                        "parallel: {strategy: ddp}\nmemory: {check: false}\n"
                                                        "placement: auto\n",
                                                        "w.yaml"),
                                   t)
                         .placement;
  ASSERT_EQ(placed.placement.size(), 5u);

  const double before = last_end(simulate(file, t));
  const double after = last_end(simulate(placed, t));
  const double expected_before = ring_by_hand(t, {"mini1", "mini2", "mini3", "pi4", "pi5"}, S);
  const double expected_after = ring_by_hand(t, placed.placement, S);
  EXPECT_NEAR(before, expected_before, 0.02 * expected_before);
  EXPECT_NEAR(after, expected_after, 0.02 * expected_after);
  // Each step pays only the pair its chunk crosses, so the Pi-to-Pi route costs the file order two
  // of its eight steps, not all eight: auto is faster, by less than a lockstep would say.
  EXPECT_LT(after, before) << "file order " << before << " s, auto " << after << " s";
}

}  // namespace
}  // namespace clustertwin::sim
