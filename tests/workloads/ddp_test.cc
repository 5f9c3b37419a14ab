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
