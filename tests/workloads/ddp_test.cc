#include "workloads/ddp.h"

#include <gtest/gtest.h>

namespace clustertwin::work {
namespace {

Workload gpt2(int64_t micro_batch, int steps) {
  Workload w;
  w.name = "ddp-gpt2";
  w.model = *find_model("gpt2-124m");
  w.micro_batch = micro_batch;
  w.seq_len = 1024;
  w.steps = steps;
  return w;
}

TEST(Ddp, OneGradientAllReducePerStepOfTheFullGradient) {
  core::Program p = compile_ddp(gpt2(8, 2), 3);
  EXPECT_NO_THROW(core::validate(p));
  ASSERT_EQ(p.world(), 3);
  for (const auto& rp : p.ranks) {
    int collectives = 0;
    for (const auto& op : rp.ops) {
      if (op.kind != core::OpKind::Collective) continue;
      ++collectives;
      EXPECT_DOUBLE_EQ(op.bytes, 124439808.0 * 4);  // fp32 gradients of every parameter
      EXPECT_EQ(op.collective, core::CollectiveKind::AllReduce);
      EXPECT_EQ(p.groups[op.group], (std::vector<int32_t>{0, 1, 2}));
    }
    EXPECT_EQ(collectives, 2);
  }
  EXPECT_DOUBLE_EQ(p.samples_per_step, 24);
  EXPECT_DOUBLE_EQ(p.tokens_per_step, 24 * 1024);
}

TEST(Ddp, TrainingFlopsAreThreeTimesForward) {
  // Per token: forward 2N + attention (Kaplan), backward twice that, so 6 N_matmul + 6 L seq d.
  // GPT-2 small: N_matmul = 12 x 7,077,888 (blocks) + 38,597,376 (LM head) = 123,532,032.
  core::Program p = compile_ddp(gpt2(8, 1), 2);
  double fwd_bwd = 0;
  for (const auto& op : p.ranks[0].ops)
    if (op.phase == core::Phase::Forward || op.phase == core::Phase::Backward) fwd_bwd += op.flops;
  const double tokens = 8 * 1024;
  const double expected = 6.0 * 123532032 + 6.0 * 12 * 1024 * 768;
  EXPECT_NEAR(fwd_bwd / tokens, expected, 1e-6 * expected);
  // And about 6 N overall (N = 124.4M): the attention term adds ~7 % at 1024 tokens.
  EXPECT_NEAR(fwd_bwd / tokens / (6.0 * 124439808), 1.07, 0.01);
}

TEST(Ddp, GemmShapesCarryTheOpFlops) {
  core::Program p = compile_ddp(gpt2(8, 1), 2);
  for (const auto& op : p.ranks[0].ops) {
    if (op.gemm.count == 0) continue;
    double gemm_flops = 2.0 * op.gemm.m * op.gemm.n * op.gemm.k * op.gemm.count;
    EXPECT_NEAR(gemm_flops, op.flops, 0.01 * op.flops) << op.label;
  }
}

TEST(Ddp, StepsAreChainedThroughTheOptimizer) {
  core::Program p = compile_ddp(gpt2(1, 2), 2);
  const auto& ops = p.ranks[0].ops;
  size_t first_of_step1 = 0;
  while (ops[first_of_step1].step == 0) ++first_of_step1;
  ASSERT_EQ(ops[first_of_step1 - 1].label, "optimizer");
  EXPECT_EQ(ops[first_of_step1].deps, (std::vector<uint32_t>{static_cast<uint32_t>(first_of_step1 - 1)}));
}

}  // namespace
}  // namespace clustertwin::work

namespace clustertwin::work {
namespace {

// ddp-gpt2 (the demo's and the end-to-end tests' workload) must compile to the very Program it
// compiled to before the workloads module grew: hashes taken from the walking skeleton's compiler.
TEST(Ddp, Gpt2ProgramIsUnchanged) {
  Workload w = gpt2(8, 10);
  EXPECT_EQ(core::program_hash(compile_ddp(w, 1)), "70ea1a0ed334a003");
  EXPECT_EQ(core::program_hash(compile_ddp(w, 3)), "d3d86af131447c11");
  EXPECT_EQ(core::program_hash(compile_ddp(w, 8)), "92b87aa9308befcd");
  EXPECT_EQ(core::program_hash(compile_ddp(gpt2(1, 3), 3)), "6892ecac15c93d72");  // the demo's local run
}

}  // namespace
}  // namespace clustertwin::work

#include "support.h"
#include "workloads/compile.h"

namespace clustertwin::work {
namespace {

std::vector<const core::Op*> collectives(const core::Program& p, int rank) {
  std::vector<const core::Op*> out;
  for (const auto& op : p.ranks[rank].ops)
    if (op.kind == core::OpKind::Collective) out.push_back(&op);
  return out;
}

TEST(Ddp, ExampleFileCompilesToTheSameProgram) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/ddp-gpt2.yaml");
  core::Program p = compile(w, support::cluster(3));
  EXPECT_EQ(core::program_hash(p), "d3d86af131447c11");
}

TEST(Ddp, BucketsAreReducedWhileBackwardRuns) {
  Workload w = gpt2(8, 1);
  w.parallel.options = Ddp{.bucket_bytes = 25e6};
  core::Program p = compile_ddp(w, 4);
  ASSERT_TRUE(support::runnable(p));
  auto colls = collectives(p, 0);
  // backward order: head (final norm only: tied), 12 blocks of 28.3 MB, the embedding (154 MB):
  // every block fills a 25 MB bucket on its own, the head joins L11's bucket.
  ASSERT_EQ(colls.size(), 13u);
  double total = 0;
  for (const auto* op : colls) total += op->bytes;
  EXPECT_DOUBLE_EQ(total, 124439808.0 * 4);
  // the first bucket waits only for L11's backward; later backward ops do not wait for it
  const auto& ops = p.ranks[0].ops;
  uint32_t first = static_cast<uint32_t>(colls[0] - ops.data());
  EXPECT_EQ(ops[colls[0]->deps[0]].label, "L11.bwd");
  for (size_t i = first + 1; i < ops.size(); ++i) {
    if (ops[i].kind == core::OpKind::Compute && ops[i].phase == core::Phase::Backward) {
      EXPECT_EQ(std::count(ops[i].deps.begin(), ops[i].deps.end(), first), 0) << ops[i].label;
    }
  }
  // on an ideal machine (compute 1 per op, reducing the whole gradient 12) the buckets hide
  // under backward:
  auto cost = [](const core::Op& op) { return op.kind == core::OpKind::Compute ? 1.0 : 12.0 * op.bytes / (124439808.0 * 4); };
  double bucketed = support::time_program(p, cost).makespan;
  double whole = support::time_program(compile_ddp(gpt2(8, 1), 4), cost).makespan;
  EXPECT_LT(bucketed, whole);
}

TEST(Ddp, BucketBoundaries) {
  std::vector<Unit> u{{"a", 10, 10}, {"b", 10, 10}, {"c", 30, 30}, {"d", 5, 5}};
  auto b = buckets_of(u, 1, 20);  // a+b = 20 closes; c alone; d is the rest
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].last_unit, 1u);
  EXPECT_EQ(b[1].last_unit, 2u);
  EXPECT_EQ(b[2].params, 5);
  EXPECT_EQ(buckets_of(u, 1, 0).size(), 1u);
}

TEST(Ddp, GradientAccumulationReducesOnce) {
  Workload w = gpt2(2, 1);
  w.parallel.options = Ddp{.micro_batches = 4};
  core::Program p = compile_ddp(w, 2);
  ASSERT_TRUE(support::runnable(p));
  EXPECT_EQ(collectives(p, 1).size(), 1u);
  EXPECT_DOUBLE_EQ(p.samples_per_step, 2 * 4 * 2);
}

TEST(Zero, Stages1And2ReduceScatterThenGatherParameters) {
  Workload w = gpt2(1, 2);
  w.parallel.options = Zero{.stage = 2};
  core::Program p = compile_ddp(w, 4);
  ASSERT_TRUE(support::runnable(p));
  auto colls = collectives(p, 0);
  ASSERT_EQ(colls.size(), 4u);  // per step: reduce-scatter, all-gather
  EXPECT_EQ(colls[0]->collective, core::CollectiveKind::ReduceScatter);
  EXPECT_EQ(colls[1]->collective, core::CollectiveKind::AllGather);
  // the optimizer updates a quarter of the parameters
  for (const auto& op : p.ranks[0].ops) {
    if (op.label == "optimizer") {
      EXPECT_DOUBLE_EQ(op.flops, 124439808.0 / 4 * 12);
    }
  }
}

TEST(Zero, Stage3GathersEveryUnitTwiceAndReduceScattersItsGradient) {
  Workload w = gpt2(1, 2);
  w.parallel.options = Zero{.stage = 3};
  core::Program p = compile_ddp(w, 4);
  ASSERT_TRUE(support::runnable(p));
  int gathers = 0, scatters = 0;
  for (const auto* op : collectives(p, 2)) {
    gathers += op->collective == core::CollectiveKind::AllGather;
    scatters += op->collective == core::CollectiveKind::ReduceScatter;
  }
  const int units = 14;  // embedding, 12 blocks, head
  EXPECT_EQ(gathers, 2 * 2 * units);
  EXPECT_EQ(scatters, 2 * units);  // the tied head's own parameters are the final LayerNorm
}

TEST(Zero, Stage3PrefetchesAhead) {
  Workload w = gpt2(1, 1);
  w.parallel.options = Zero{.stage = 3, .prefetch = 2};
  core::Program p = compile_ddp(w, 2);
  const auto& ops = p.ranks[0].ops;
  // before the first forward compute, the gathers of units 0, 1 and 2 are issued
  size_t i = 0;
  int issued = 0;
  for (; ops[i].kind != core::OpKind::Compute; ++i) issued += ops[i].collective == core::CollectiveKind::AllGather;
  EXPECT_EQ(issued, 3);
  EXPECT_EQ(ops[i].label, "embed.fwd");
}

}  // namespace
}  // namespace clustertwin::work
