// Expert parallel inference: each rank keeps every non-expert weight and 1/ep of each layer's
// routed experts; per MoE layer two all-to-alls carry the routed rows out and back. Expectations are
// counted by hand from a tiny model (see tiny()).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "support.h"
#include "workloads/compile.h"
#include "workloads/runtimes.h"

namespace clustertwin::work {
namespace {

// 2 layers, hidden 64, 4 heads of 16, 8 routed experts of width 32 (2 per token) and 1 shared,
// SwiGLU, RMSNorm, no biases, untied, vocabulary 100, fp16 everywhere.
//   attention per layer 16,512; one expert 3 x 64 x 32 = 6,144; router + shared expert 6,656;
//   embedding and head 6,400 each; final norm 64.
std::string tiny(const std::string& parallel, int batch = 1) {
  return fmt::format(
      "name: e\nmodel: {{name: tiny, layers: 2, hidden: 64, heads: 4, ffn: 32, vocab: 100, tied_embeddings: false, "
      "mlp: swiglu, norm: rmsnorm, bias: false, experts: 8, experts_per_token: 2, expert_ffn: 32, shared_experts: 1}}\n"
      "task: infer\nbatch: {{size: {}, prompt: 4, generate: 2}}\nprecision: {{compute: fp16, weights: fp16, kv_cache: fp16}}\n"
      "parallel: {}\n",
      batch, parallel);
}

const core::Op* find(const core::Program& p, int rank, int step, const std::string& label) {
  for (const auto& op : p.ranks[rank].ops)
    if (op.step == step && op.label == label) return &op;
  return nullptr;
}

TEST(ExpertParallel, EachRankHoldsItsShareOfTheExperts) {
  const core::Program p = compile(support::parse(tiny("{strategy: expert}")), support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  // Everything but the experts (2 x (16,512 + 6,656) + 6,400 + 6,400 + 64 = 59,200) and half of the
  // 2 x 8 x 6,144 = 98,304 expert weights, at 2 bytes.
  const double expected = (59200 + 98304 / 2) * 2.0;
  for (int r = 0; r < 2; ++r) EXPECT_DOUBLE_EQ(p.memory[r].weights, expected) << "rank " << r;
  const core::Program one = compile(support::parse(tiny("{strategy: replicas}")), support::cluster(2));
  EXPECT_DOUBLE_EQ(one.memory[0].weights, (59200 + 98304) * 2.0);
}

TEST(ExpertParallel, EveryMoeLayerSendsItsRoutedRowsOutAndBack) {
  const core::Program p = compile(support::parse(tiny("{strategy: expert, ep: 2}", 3)), support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  // Decode step 1, layer 0: 3 sequences x 2 experts = 6 routed rows of 64 fp16 values = 768 B per
  // rank, all-to-all over both ranks, before and after the experts.
  for (const char* label : {"L0.dispatch", "L0.combine"}) {
    const core::Op* op = find(p, 0, 1, label);
    ASSERT_NE(op, nullptr) << label;
    EXPECT_EQ(op->kind, core::OpKind::Collective);
    EXPECT_EQ(op->collective, core::CollectiveKind::AllToAll);
    EXPECT_DOUBLE_EQ(op->bytes, 6 * 64 * 2.0);
    EXPECT_EQ(p.groups[op->group], (std::vector<int32_t>{0, 1}));
  }
  // The local experts (4 of 8) see as many rows as the rank's own tokens route (6): they read
  // min(4, 6) = 4 experts' weights, 4 x 6,144 x 2 B, and compute 2 FLOPs per weight per row.
  const core::Op* experts = find(p, 0, 1, "L0.experts");
  ASSERT_NE(experts, nullptr);
  EXPECT_DOUBLE_EQ(experts->flops, 2.0 * 6144 * 6);
  const double traffic = 3 * 32 * 6 * 2.0;  // the experts' inner activations (3 x width per row)
  EXPECT_DOUBLE_EQ(experts->bytes, 4 * 6144 * 2.0 + traffic);
  // 2 MoE layers x 2 all-to-alls per step.
  int all_to_alls = 0;
  for (const auto& op : p.ranks[1].ops)
    if (op.step == 1 && op.kind == core::OpKind::Collective) ++all_to_alls;
  EXPECT_EQ(all_to_alls, 4);
}

TEST(ExpertParallel, TheRuntimePaysOneGemvPerLocalExpertMatrix) {
  const Workload w = support::parse(tiny("{strategy: expert}") + "runtime: llama.cpp\n");
  const core::Program p = compile(w, support::cluster(2));
  const double launch = find_runtime("llama.cpp")->kernel_launch;
  // One decode token routes 2 rows: min(4 local experts, 2) x 3 matrices = 6 GEMVs; the router
  // and the shared expert: 8 + 5.
  EXPECT_NEAR(find(p, 0, 1, "L0.experts")->overhead, 6 * launch, 1e-15);
  EXPECT_NEAR(find(p, 0, 1, "L0.router")->overhead, 13 * launch, 1e-15);
}

TEST(ExpertParallel, BadDegreesAndModelsAreInputErrors) {
  std::string e = support::error_of(tiny("{strategy: expert, ep: 3}"));
  EXPECT_NE(e.find("w.yaml:6:34: error: ep 3 does not divide the 8 experts"), std::string::npos) << e;
  e = support::error_of(
      "name: e\nmodel: llama-3.2-1b\ntask: infer\nbatch: {size: 1, prompt: 4, generate: 1}\nparallel: {strategy: expert}\n");
  EXPECT_NE(e.find("expert parallel splits a mixture of experts"), std::string::npos) << e;
  e = support::error_of(tiny("{strategy: replicas, ep: 2}"));
  EXPECT_NE(e.find("'ep' does not apply to the replicas strategy"), std::string::npos) << e;
  e = support::error_of(
      "name: e\nmodel: qwen3-30b-a3b\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\nparallel: {strategy: expert}\n");
  EXPECT_NE(e.find("'expert' is an inference strategy"), std::string::npos) << e;
}

TEST(ExpertParallel, EpMustDivideTheRanks) {
  try {
    compile(support::parse(tiny("{strategy: expert, ep: 2}")), support::cluster(3));
    FAIL() << "ep 2 over 3 ranks compiled";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ep 2 does not divide the 3 ranks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace clustertwin::work
