// `placement: auto` on smolcluster's hybrid, predicted: a ring all-reduce is paced by its slowest
// neighbour pair, and file order makes the two Pis neighbours across all three Macs.
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

// The ring of `order` from the presets' figures, as sim/README.md's merged ring runs it: rank i
// first waits D_i, the 2(n-1) steps' latencies and overheads of its pair i -> i+1 (both endpoints'
// per-message overhead, the links' latencies and the forwarding latency of every Mac crossed),
// then sends 2(n-1)/n of S through the pair's slowest link or forwarding node (V_i) while it
// receives from i-1. A pair's transfer starts when both its ends have waited, so it ends at
// max(D_i, D_i+1) + V_i, and the ring when its last pair does.
double ring_by_hand(const topo::Topology& t, const std::vector<std::string>& order, double S) {
  const topo::Routes routes(t);
  const int n = static_cast<int>(order.size());
  std::vector<double> wait(n), carry(n);
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
    wait[i] = 2.0 * (n - 1) * (overheads + latency);
    carry[i] = 2.0 * (n - 1) / n * S / bandwidth;
  }
  double end = 0;
  for (int i = 0; i < n; ++i) end = std::max(end, std::max(wait[i], wait[(i + 1) % n]) + carry[i]);
  return end;
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
  EXPECT_LT(after, 0.6 * before) << "file order " << before << " s, auto " << after << " s";
}

}  // namespace
}  // namespace clustertwin::sim
