// What-if: four Mac Studios M3 Ultra in a Thunderbolt 5 full mesh, decoding Llama 3.1 70B, over
// TB5 RDMA versus TCP over the same cables (shared/seeds/002 and 003: a small exchange costs about
// 300 us over TCP and a few us over RDMA).
//
// The expectation comes from the link figures, not from a previous run: a decode step is the same
// compute on both meshes plus its exchanges on the critical path, each costing one-way latency +
// both endpoints' overhead + bytes / bandwidth. Tensor parallel (tp 4, ring) does 2 all-reduces
// per layer plus one for the sampled token, each 2(n-1) = 6 ring steps: 161 x 6 = 966 exchanges
// per token. Pipeline (pp 4) does 3 activation hand-offs and one token back to the first stage:
// 4 exchanges per token, next to a step of ~200 ms of compute. So switching to RDMA should save
// 966 x (TCP - RDMA exchange) on tensor-parallel decode and only 4 x that on pipeline decode.
#include <gtest/gtest.h>

#include <numeric>

#include "core/run.h"
#include "sim/simulator.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::sim {
namespace {

const std::string kRoot = CLUSTERTWIN_SOURCE_DIR;

// Mean decode step (every step after the prefill), seconds.
double decode_step(const std::string& topology, const std::string& workload) {
  auto t = topo::load_topology(kRoot + "/topologies/examples/" + topology + ".yaml");
  auto w = work::load_workload(kRoot + "/workloads/examples/" + workload + ".yaml");
  auto p = work::compile(w, t);
  auto s = core::summarize(p, simulate(p, t));
  EXPECT_EQ(s.step_seconds.size(), static_cast<size_t>(w.generate + 1));
  return std::accumulate(s.step_seconds.begin() + 1, s.step_seconds.end(), 0.0) / w.generate;
}

// One exchange of `bytes` over a mesh cable: latency + overhead at both ends + bytes / bandwidth.
double exchange(const std::string& topology, double bytes) {
  auto t = topo::load_topology(kRoot + "/topologies/examples/" + topology + ".yaml");
  const topo::Link& l = t.links.front();
  return l.latency(true) + 2 * l.type.overhead + bytes / l.bandwidth(true);
}

TEST(WhatIf, Tb5RdmaSpeedsUpTensorParallelDecodeNotPipelineDecode) {
  const double act = 8192 * 2;  // one token's hidden state in bf16
  const double saved_per_act = exchange("mesh-4-studios-tb5-tcp", act / 4) - exchange("mesh-4-studios-rdma", act / 4);
  const double saved_per_token = exchange("mesh-4-studios-tb5-tcp", 4) - exchange("mesh-4-studios-rdma", 4);
  ASSERT_GT(saved_per_act, 200e-6);  // TCP ~280 us a small exchange, RDMA ~4 us

  const double tp_tcp = decode_step("mesh-4-studios-tb5-tcp", "infer-tensor-llama-3.1-70b");
  const double tp_rdma = decode_step("mesh-4-studios-rdma", "infer-tensor-llama-3.1-70b");
  const double pp_tcp = decode_step("mesh-4-studios-tb5-tcp", "infer-pipeline-llama-3.1-70b");
  const double pp_rdma = decode_step("mesh-4-studios-rdma", "infer-pipeline-llama-3.1-70b");

  // Tensor parallel: 160 layer all-reduces of one hidden state (ring steps of a quarter each) and
  // the sampling all-reduce (8 bytes: steps of 2), 6 steps each.
  const double tp_saved = 160 * 6 * saved_per_act + 6 * saved_per_token;
  EXPECT_NEAR(tp_tcp - tp_rdma, tp_saved, 0.05 * tp_saved);
  // Pipeline: 3 activation sends (whole hidden state) and the token back to the first stage.
  const double pp_saved = 3 * (exchange("mesh-4-studios-tb5-tcp", act) - exchange("mesh-4-studios-rdma", act)) + saved_per_token;
  EXPECT_NEAR(pp_tcp - pp_rdma, pp_saved, 0.05 * pp_saved);

  // The pattern users report: RDMA makes tensor-parallel decode several times faster (the ~53 ms
  // of memory-bound compute per token then dominates: at least 3x), while pipeline decode changes
  // by under 2 % (4 exchanges next to ~210 ms of compute); and over TCP, tensor parallel is slower
  // than the pipeline, which is why the pipeline was "the only viable approach" before RDMA.
  EXPECT_GT(tp_tcp / tp_rdma, 3.0);
  EXPECT_LT(pp_tcp / pp_rdma, 1.02);
  EXPECT_GT(tp_tcp, pp_tcp);
  EXPECT_LT(tp_rdma, pp_rdma);
}

}  // namespace
}  // namespace clustertwin::sim
