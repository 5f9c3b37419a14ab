// Runtime presets lowered into the Program: kernel launches on compute ops by model part, a call
// cost on every collective and on every message sent. Expectations are counted by hand from the
// model shape and the presets' figures.
#include "workloads/runtimes.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/diag.h"
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
