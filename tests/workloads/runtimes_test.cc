// Runtime presets lowered into the Program: kernel launches on compute ops by model part, a call
// cost on every collective and on every message sent. Expectations are counted by hand from the
// model shape and the presets' figures.
#include "workloads/runtimes.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/diag.h"
#include "workloads/cluster.h"
#include "workloads/compile.h"
#include "workloads/explain.h"
#include "workloads/workload.h"

namespace clustertwin::work {
namespace {

topo::Topology two_studios() {
  return topo::parse_topology(R"(name: two
nodes:
  - {name: a, device: mac-studio-m3-ultra}
  - {name: b, device: mac-studio-m3-ultra}
links:
  - {between: [a, b], type: tb5-rdma}
)",
                              "two.yaml");
}

Workload decode(const std::string& parallel, const std::string& runtime) {
  return parse_workload(fmt::format(R"(name: d
model: llama-3.1-8b
task: infer
batch: {{size: 1, prompt: 16, generate: 2}}
precision: {{compute: bf16, weights: bf16}}
parallel: {}
{})",
                                    parallel, runtime.empty() ? "" : "runtime: " + runtime),
                        "d.yaml");
}

// Seconds of overhead on rank 0's ops of one decode step, by op kind.
struct Overheads {
  double compute = 0, collective = 0, send = 0;
  int collectives = 0, sends = 0;
};
Overheads of_step(const core::Program& p, int rank, int step) {
  Overheads o;
  for (const auto& op : p.ranks[rank].ops) {
    if (op.step != step) continue;
    if (op.kind == core::OpKind::Compute) o.compute += op.overhead;
    if (op.kind == core::OpKind::Collective) o.collective += op.overhead, ++o.collectives;
    if (op.kind == core::OpKind::Send) o.send += op.overhead, ++o.sends;
  }
  return o;
}

TEST(Runtimes, TheDefaultChargesNothing) {
  core::Program p = compile(decode("{strategy: tensor, tp: 2}", ""), two_studios());
  EXPECT_EQ(decode("{strategy: tensor, tp: 2}", "").runtime.name, "clustertwin");
  for (const auto& rp : p.ranks)
    for (const auto& op : rp.ops) EXPECT_EQ(op.overhead, 0);
}

TEST(Runtimes, TensorParallelDecodePaysEveryKernelAndEveryAllReduce) {
  const Runtime& jaccl = *find_runtime("mlx-jaccl");
  core::Program p = compile(decode("{strategy: tensor, tp: 2}", "mlx-jaccl"), two_studios());
  // Llama 3.1 8B: 32 dense layers of attention (10 kernels) and MLP (6), the head (3); rank 0
  // holds the first stage, so it also gathers the embedding (1). Tensor parallel keeps every
  // kernel on every rank, each on half the bytes.
  const Overheads o = of_step(p, 0, 1);
  EXPECT_NEAR(o.compute, (32 * (10 + 6) + 3 + 1) * jaccl.kernel_launch, 1e-12);
  // Two all-reduces per layer and the head's: 65 calls.
  EXPECT_EQ(o.collectives, 65);
  EXPECT_NEAR(o.collective, 65 * jaccl.collective_call, 1e-12);
}

TEST(Runtimes, APipelineHopPaysTheMessageCall) {
  const Runtime& exo = *find_runtime("exo");
  core::Program p = compile(decode("{strategy: pipeline, pp: 2}", "exo"), two_studios());
  // Per decode step the first stage sends its activations once, the last sends the token back.
  for (int rank : {0, 1}) {
    const Overheads o = of_step(p, rank, 1);
    EXPECT_EQ(o.sends, 1) << "rank " << rank;
    EXPECT_DOUBLE_EQ(o.send, exo.message_call) << "rank " << rank;
  }
}

TEST(Runtimes, AnMoeLayerPaysOnceForEveryExpertMatrixItReads) {
  const KernelCounts& k = kernel_counts();
  Workload moe = parse_workload(R"(name: m
model: qwen3-30b-a3b
task: infer
batch: {size: 1, prompt: 16, generate: 1}
precision: {compute: bf16, weights: bf16}
parallel: {strategy: replicas}
runtime: mlx-ring
)",
                                "m.yaml");
  auto one = topo::parse_topology("name: one\nnodes:\n  - {name: a, device: mac-studio-m3-ultra}\n", "one.yaml");
  core::Program p = compile(moe, one);
  const double launch = find_runtime("mlx-ring")->kernel_launch;
  // Qwen3-30B-A3B: 48 MoE layers, 8 of 128 experts per token, SwiGLU (3 matrices per expert).
  // Decode (one token): 8 kernels + 8 x 3 expert GEMVs per MLP = 32, more than a dense MLP's 6.
  EXPECT_EQ(mlp_kernels(moe.model, 1), 8 + 8 * 3);
  EXPECT_GT(mlp_kernels(moe.model, 1), k.dense_mlp);
  EXPECT_NEAR(of_step(p, 0, 1).compute, (48 * (10 + 32) + 3 + 1) * launch, 1e-12);  // + head and embedding
  // Prefill of 16 tokens routes to at most 16 x 8 = 128 experts: every one of the 128.
  EXPECT_EQ(mlp_kernels(moe.model, 16), 8 + 128 * 3);
  EXPECT_NEAR(of_step(p, 0, 0).compute, (48 * (10 + 8 + 128 * 3) + 3 + 1) * launch, 1e-12);
}

// Fraction of the memory bandwidth a decode step reaches: the time its bytes need at the device's
// sustained bandwidth over the time the step's compute takes (roofline + the runtime's fixed costs).
double bandwidth_fraction(const Workload& w, const Cluster& c) {
  const core::Program p = compile(w, c);
  double bytes = 0, seconds = 0;
  for (const auto& op : p.ranks[0].ops)
    if (op.step == 1 && op.kind == core::OpKind::Compute) {
      bytes += op.bytes;
      seconds += topo::roofline_seconds(c.ranks[0].device, op.flops, op.bytes, op.dtype) + op.overhead;
    }
  return bytes / c.ranks[0].device.sustained_bandwidth() / seconds;
}

TEST(Runtimes, AnMoeDecodeReachesALowerFractionOfBandwidthThanADenseOne) {
  // Qwen3-30B-A3B (3.3 B active) against Llama 3.2 3B (3.2 B), both bf16 on MLX: about the same
  // bytes per token, but the MoE pays the fixed cost for 48 x (10 + 32) units, the dense model
  // for 28 x (10 + 6). Cause: one small GEMV per routed expert matrix.
  auto one = topo::parse_topology("name: one\nnodes:\n  - {name: a, device: mac-studio-m3-ultra}\n", "one.yaml");
  auto decode_of = [](const std::string& model) {
    return parse_workload(fmt::format("name: m\nmodel: {}\ntask: infer\nbatch: {{size: 1, prompt: 16, generate: 1}}\n"
                                      "precision: {{compute: bf16, weights: bf16}}\nparallel: {{strategy: replicas}}\n"
                                      "runtime: mlx-ring\n",
                                      model),
                          "m.yaml");
  };
  const Cluster c = cluster_of(one, decode_of("llama-3.2-3b"));
  const double moe = bandwidth_fraction(decode_of("qwen3-30b-a3b"), c);
  const double dense = bandwidth_fraction(decode_of("llama-3.2-3b"), c);
  EXPECT_LT(moe, 0.8 * dense) << "moe " << moe << ", dense " << dense;
  const std::string text = explain(decode_of("qwen3-30b-a3b"), c);
  EXPECT_NE(text.find("once per routed expert matrix it reads: 32 per layer"), std::string::npos) << text;
}

TEST(Runtimes, AnUnknownRuntimeNamesTheKnownOnes) {
  try {
    decode("{strategy: replicas}", "mlx-jacl");
    FAIL() << "accepted an unknown runtime";
  } catch (const core::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("d.yaml:7:10"), std::string::npos) << what;
    EXPECT_NE(what.find("mlx-jaccl"), std::string::npos) << what;
  }
}

TEST(Runtimes, EveryPresetNamesItsSource) {
  for (const auto& r : runtimes()) {
    EXPECT_FALSE(r.source.empty()) << r.name;
    EXPECT_FALSE(r.description.empty()) << r.name;
  }
}

}  // namespace
}  // namespace clustertwin::work
