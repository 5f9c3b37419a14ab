// Pipeline, tensor and hybrid plans: collectives per layer, schedules timed on an ideal machine
// against the bubble formula, placement, and the errors for plans that cannot be built.
#include "workloads/hybrid.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "support.h"
#include "workloads/compile.h"

namespace clustertwin::work {
namespace {

Workload plan(const std::string& model, const std::string& parallel, const std::string& batch = "{micro_batch: 1, seq_len: 128}") {
  return support::parse(fmt::format("name: p\nmodel: {}\ntask: train\nbatch: {}\nparallel: {}\n", model, batch, parallel));
}

int count(const core::Program& p, int rank, core::OpKind kind) {
  int n = 0;
  for (const auto& op : p.ranks[rank].ops) n += op.kind == kind;
  return n;
}

TEST(Tensor, FourAllReducesPerLayerPlusEmbeddingAndHead) {
  Workload w = plan("llama-3.2-1b", "{strategy: tensor, tp: 2}", "{micro_batch: 2, seq_len: 128}");
  core::Program p = compile(w, support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  // 16 layers x (attention, MLP) x (forward, backward) + embedding forward + head forward/backward
  EXPECT_EQ(count(p, 0, core::OpKind::Collective), 16 * 4 + 3);
  for (const auto& op : p.ranks[1].ops) {
    if (op.kind == core::OpKind::Collective && op.label.find("attn.fwd") != std::string::npos) {
      EXPECT_DOUBLE_EQ(op.bytes, 2.0 * 128 * 2048 * 4);  // micro-batch x seq x hidden, fp32
    }
  }
  // each rank computes half of every layer
  Workload one = plan("llama-3.2-1b", "{strategy: tensor, tp: 1}", "{micro_batch: 2, seq_len: 128}");
  core::Program q = compile(one, support::cluster(1));
  double half = 0, whole = 0;
  for (const auto& op : p.ranks[0].ops)
    if (op.phase == core::Phase::Forward && op.label[0] == 'L') half += op.flops;
  for (const auto& op : q.ranks[0].ops)
    if (op.phase == core::Phase::Forward && op.label[0] == 'L') whole += op.flops;
  EXPECT_NEAR(half, whole / 2, 1e-9 * whole);
}

// Llama-3.2-1B by hand: a block is attention 2048·(2048 + 2·512) + 2048·2048 = 10,485,760, SwiGLU
// 3·2048·8192 = 50,331,648 and two RMSNorms 2·2048: 60,821,504; the embedding 128,256·2048 =
// 262,668,288; the final norm 2048. Tied: 16 blocks + embedding + norm = 1,235,814,400.
constexpr double kBlock = 60821504, kEmbedding = 262668288, kTied = 16 * kBlock + kEmbedding + 2048;

double grad_allreduce_bytes(const core::Program& p, int rank) {
  for (const auto& op : p.ranks[rank].ops)
    if (op.kind == core::OpKind::Collective && op.label.rfind("grad.", 0) == 0) return op.bytes;
  return 0;
}

TEST(Tensor, TiedEmbeddingIsCountedOnce) {
  // tp 2 x dp 2, bf16 weights and gradients: each rank holds half of every parameter once
  const std::string bf16 = "{micro_batch: 1, seq_len: 128}\nprecision: {weights: bf16, gradients: bf16, compute: bf16}";
  Workload tied = plan("llama-3.2-1b", "{strategy: tensor, tp: 2}", bf16);
  core::Program p = compile(tied, support::cluster(4));
  EXPECT_DOUBLE_EQ(p.memory[0].weights, kTied / 2 * 2);  // 1.24 GB
  EXPECT_DOUBLE_EQ(grad_allreduce_bytes(p, 0), kTied / 2 * 2);
  Workload untied = plan("{preset: llama-3.2-1b, tied_embeddings: false}", "{strategy: tensor, tp: 2}", bf16);
  core::Program q = compile(untied, support::cluster(4));
  EXPECT_DOUBLE_EQ(q.memory[0].weights, (kTied + kEmbedding) / 2 * 2);  // 1.50 GB: the head is its own matrix
  EXPECT_DOUBLE_EQ(grad_allreduce_bytes(q, 0), (kTied + kEmbedding) / 2 * 2);
}

TEST(Pipeline, TiedEmbeddingIsCopiedToTheLastStage) {
  // Megatron keeps the tied matrix on the first stage (embedding) and a copy on the last (head)
  Workload w = plan("llama-3.2-1b", "{strategy: pipeline, pp: 2}", "{micro_batch: 1, seq_len: 128}");
  core::Program p = compile(w, support::cluster(2));
  EXPECT_DOUBLE_EQ(p.memory[0].weights, (8 * kBlock + kEmbedding) * 4);
  EXPECT_DOUBLE_EQ(p.memory[1].weights, (8 * kBlock + 2048 + kEmbedding) * 4);
}

TEST(Tensor, RecomputedForwardAllReducesAgain) {
  // Activation checkpointing reruns each layer's forward in backward: Megatron's 2 all-reduces per
  // layer forward, 2 in the recomputed forward and 2 backward, + embedding forward and head forward and backward
  Workload w = plan("llama-3.2-1b", "{strategy: tensor, tp: 2}\nmemory: {activation_checkpointing: true}",
                    "{micro_batch: 2, seq_len: 128}");
  core::Program p = compile(w, support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  EXPECT_EQ(count(p, 0, core::OpKind::Collective), 16 * 6 + 3);
  // the FLOPs are unchanged: the layers' backward side costs three forwards (recompute + 2x)
  double fwd = 0, bwd = 0;
  for (const auto& op : p.ranks[0].ops) {
    if (op.kind != core::OpKind::Compute || op.label[0] != 'L') continue;
    (op.phase == core::Phase::Forward ? fwd : bwd) += op.flops;
  }
  EXPECT_NEAR(bwd, 3 * fwd, 1e-9 * bwd);
}

TEST(Tensor, DegreeThatDoesNotDivideTheHeadsIsOneClearError) {
  std::string e = support::error_of("name: p\nmodel: llama-3.1-8b\ntask: train\nbatch: {micro_batch: 1, seq_len: 128}\n"
                                    "parallel: {strategy: tensor, tp: 3}\n");
  EXPECT_NE(e.find("w.yaml:5:34: error: tensor parallel degree 3 does not divide the 32 attention heads of 'llama-3.1-8b'"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("hint: tp must divide 8: try tp: 1, 2, 4, 8"), std::string::npos) << e;
  // the same when the degree comes from the number of nodes
  Workload w = plan("llama-3.1-8b", "{strategy: tensor}");
  try {
    compile(w, support::cluster(3));
    FAIL();
  } catch (const core::InputError& err) {
    EXPECT_NE(std::string(err.what()).find("error: tensor parallel degree 3 does not divide the 32 attention heads"),
              std::string::npos)
        << err.what();
  }
}

TEST(Pipeline, InterleavedNeedsMicroBatchesAMultipleOfTheStagesTheTopologyGives) {
  // pp is not written: the 3 ranks make it 3, and 4 micro-batches do not go round them evenly
  Workload w = plan("llama-3.2-1b", "{strategy: pipeline, schedule: interleaved, micro_batches: 4}");
  try {
    compile(w, support::cluster(3));
    FAIL() << "compiled";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("w.yaml:5:11: error: the interleaved schedule needs micro_batches to be a "
                                         "multiple of pp (3)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("hint: use micro_batches: 3 or 6, or schedule: 1f1b"), std::string::npos) << e.what();
  }
}

TEST(Pipeline, DeeperThanTheLayersIsOneClearError) {
  std::string e = support::error_of("name: p\nmodel: llama-3.1-8b\ntask: train\nbatch: {micro_batch: 1, seq_len: 128}\n"
                                    "parallel: {strategy: pipeline, pp: 40}\n");
  EXPECT_NE(e.find("w.yaml:5:36: error: 40 pipeline stages but 'llama-3.1-8b' has 32 layers: every stage needs at least one"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("hint: use pp: 32 or fewer"), std::string::npos) << e;
}

// Ideal machine: a layer's forward takes 1, its backward 2; everything else is free.
double layer_time(const core::Op& op) {
  if (op.kind != core::OpKind::Compute || op.label.find('L') == std::string::npos) return 0;
  return op.phase == core::Phase::Forward ? 1 : op.phase == core::Phase::Backward ? 2 : 0;
}

class Bubble : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {};

TEST_P(Bubble, MatchesTheScheduleFormula) {
  auto [sched, pp, m] = GetParam();
  // 48 layers split evenly: every stage's forward is 48/pp, its backward twice that.
  Workload w = plan("{preset: gpt2-124m, layers: 48}",
                    fmt::format("{{strategy: pipeline, pp: {}, schedule: {}, micro_batches: {}}}", pp, sched, m));
  core::Program p = compile(w, support::cluster(pp));
  ASSERT_TRUE(support::runnable(p));
  support::Timing t = support::time_program(p, layer_time);
  for (int r = 0; r < pp; ++r) {
    double bubble = 1 - t.busy[r] / t.makespan;
    Schedule s = sched == "gpipe" ? Schedule::GPipe : sched == "1f1b" ? Schedule::OneFOneB : Schedule::Interleaved;
    EXPECT_NEAR(bubble, bubble_fraction(s, pp, m, model_parallel_plan(w.parallel).schedule.virtual_stages), 1e-9) << "rank " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Schedules, Bubble,
                         ::testing::Values(std::make_tuple("gpipe", 4, 8), std::make_tuple("gpipe", 2, 1),
                                           std::make_tuple("1f1b", 4, 8), std::make_tuple("1f1b", 3, 5),
                                           std::make_tuple("interleaved", 4, 8), std::make_tuple("interleaved", 2, 6)));

TEST(Pipeline, OneFOneBHoldsFewerActivationsThanGPipe) {
  auto first_stage = [](const char* sched) {
    Workload w = plan("llama-3.2-1b", fmt::format("{{strategy: pipeline, pp: 4, schedule: {}, micro_batches: 16}}", sched));
    return compile(w, support::cluster(4)).memory[0].activations;
  };
  // GPipe keeps all 16 micro-batches; 1F1B at most pp = 4 on the first stage
  EXPECT_NEAR(first_stage("gpipe") / first_stage("1f1b"), 4.0, 1e-9);
}

TEST(Pipeline, StagesExchangeActivationsAndGradients) {
  Workload w = plan("llama-3.2-1b", "{strategy: pipeline, pp: 2, micro_batches: 3}", "{micro_batch: 2, seq_len: 64}");
  core::Program p = compile(w, support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  EXPECT_EQ(count(p, 0, core::OpKind::Send), 3);  // activations forward
  EXPECT_EQ(count(p, 0, core::OpKind::Recv), 3);  // their gradients back
  for (const auto& op : p.ranks[1].ops) {
    if (op.kind == core::OpKind::Recv) {
      EXPECT_DOUBLE_EQ(op.bytes, 2.0 * 64 * 2048 * 4);
    }
  }
}

TEST(Hybrid, TensorGroupsOnTheFastLinksAndDataParallelAcross) {
  // 4 ranks: 0-2 and 1-3 on Thunderbolt, all on a slow switch; tp 2 x dp 2.
  Cluster c = support::cluster(4);
  for (int r = 0; r < 4; ++r) c.switch_bandwidth[r] = 0.125e9;
  c.links[0] = {{2, 10e9}};
  c.links[2] = {{0, 10e9}};
  c.links[1] = {{3, 10e9}};
  c.links[3] = {{1, 10e9}};
  Workload w = plan("llama-3.2-1b", "{strategy: hybrid, tp: 2, pp: 1}");
  core::Program p = compile(w, c);
  ASSERT_TRUE(support::runnable(p));
  std::set<std::vector<int32_t>> tp_groups, dp_groups;
  for (const auto& rp : p.ranks)
    for (const auto& op : rp.ops) {
      if (op.kind != core::OpKind::Collective) continue;
      (op.label.rfind("grad.", 0) == 0 ? dp_groups : tp_groups).insert(p.groups[op.group]);
    }
  EXPECT_EQ(tp_groups, (std::set<std::vector<int32_t>>{{0, 2}, {1, 3}}));
  EXPECT_EQ(dp_groups, (std::set<std::vector<int32_t>>{{0, 1}, {2, 3}}));
}

TEST(Hybrid, ThreeDimensionsCompileAndRun) {
  Workload w = plan("llama-3.2-1b", "{strategy: hybrid, dp: 2, tp: 2, pp: 2, micro_batches: 4, stage: 1}");
  core::Program p = compile(w, support::cluster(8));
  ASSERT_TRUE(support::runnable(p));
  EXPECT_DOUBLE_EQ(p.samples_per_step, 1 * 4 * 2);
}

TEST(Hybrid, ProgramSizeGrowsLinearlyWithRanks) {
  // Llama-3.1-70B, tp 8 x pp 8 x dp n/64: every rank's op list has the same length whatever the
  // data-parallel degree, and the groups are stored once.
  auto size = [](int ranks) {
    Workload w = plan("llama-3.1-70b", "{strategy: hybrid, tp: 8, pp: 8, micro_batches: 8}", "{micro_batch: 1, seq_len: 4096}");
    w.memory.check = false;
    core::Program p = compile(w, support::cluster(ranks));
    size_t ops = 0;
    for (const auto& rp : p.ranks) ops += rp.ops.size();
    size_t members = 0;
    for (const auto& g : p.groups) members += g.size();
    return std::make_pair(ops, members);
  };
  auto [ops128, g128] = size(128);
  auto [ops256, g256] = size(256);
  EXPECT_EQ(ops256, 2 * ops128);
  EXPECT_EQ(g256, 2 * g128);
}

}  // namespace
}  // namespace clustertwin::work
