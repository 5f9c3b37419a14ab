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


// The seeds' story with runtimes (workloads/runtimes.h): Qwen3-235B-A22B (MoE, MLX 4-bit) at batch 1
// on 1, 2 and 4 Mac Studios M3 Ultra. Mean decode step of a topology file and an inline workload.
double decode_step_of(const std::string& topology_file, const std::string& parallel, const std::string& runtime) {
  auto t = topo::load_topology(kRoot + "/" + topology_file);
  auto w = work::parse_workload("name: story\nmodel: qwen3-235b-a22b\ntask: infer\nbatch: {size: 1, prompt: 64, generate: 8}\n"
                                "precision: {compute: bf16, weights: mlx-4bit, kv_cache: fp16}\nparallel: " + parallel +
                                    "\nruntime: " + runtime + "\n",
                                "story.yaml");
  auto p = work::compile(w, t);
  auto s = core::summarize(p, simulate(p, t));
  return std::accumulate(s.step_seconds.begin() + 1, s.step_seconds.end(), 0.0) / w.generate;
}

const std::string kOne = "tests/validation/c5/m3-ultra-512gb.yaml";
const std::string kTwoRdma = "tests/validation/c5/2x-m3-ultra-rdma.yaml";
const std::string kFourRdma = "topologies/examples/mesh-4-studios-rdma.yaml";
const std::string kTwoTcp = "topologies/examples/pair-studios-tb5-tcp.yaml";
const std::string kFourTcp = "topologies/examples/mesh-4-studios-tb5-tcp.yaml";

// Tensor parallel over RDMA gains from 1 to 4 nodes, far below linear: each rank reads 1/tp of the
// weights, but still launches every kernel of every layer (MLX's launch cost does not divide) and
// pays a call per all-reduce (2 per layer). (Without the runtime's costs the gain is 1.9x; C1 measured
// 1.23x from 1 to 2 nodes.)
TEST(WhatIf, TensorParallelOverRdmaGainsFarBelowLinear) {
  const double one = decode_step_of(kOne, "{strategy: replicas}", "mlx-jaccl");
  const double two = decode_step_of(kTwoRdma, "{strategy: tensor, tp: 2}", "mlx-jaccl");
  const double four = decode_step_of(kFourRdma, "{strategy: tensor, tp: 4}", "mlx-jaccl");
  EXPECT_LT(two, one);
  EXPECT_LT(four, two);
  EXPECT_LT(one / four, 1.6) << one << " s, " << two << " s, " << four << " s per token";
}

// A layer split over TCP loses throughput as nodes are added: the token still runs every layer one
// after another (the same compute and launches in total), and each stage boundary adds a hop (exo's
// message cost and TCP's per-message overhead and latency).
TEST(WhatIf, LayerSplitOverTcpLosesAsNodesAreAdded) {
  const double one = decode_step_of(kOne, "{strategy: replicas}", "exo");
  const double two = decode_step_of(kTwoTcp, "{strategy: pipeline, pp: 2}", "exo");
  const double four = decode_step_of(kFourTcp, "{strategy: pipeline, pp: 4}", "exo");
  EXPECT_GT(two, one);
  EXPECT_GT(four, two);
}

// Tensor parallel over TCP is several times slower than over RDMA on the same cables: every one of
// its 2 x 94 + 1 all-reduces per token pays TCP's per-message overhead and latency at each ring step.
TEST(WhatIf, TensorParallelOverTcpIsSeveralTimesSlowerThanOverRdma) {
  const double rdma = decode_step_of(kFourRdma, "{strategy: tensor, tp: 4}", "mlx-jaccl");
  const double tcp = decode_step_of(kFourTcp, "{strategy: tensor, tp: 4}", "mlx-ring");
  EXPECT_GT(tcp / rdma, 3) << rdma << " s vs " << tcp << " s per token";
}

}  // namespace
}  // namespace clustertwin::sim
