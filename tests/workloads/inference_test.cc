// Inference: prefill then decode, KV cache, tensor and pipeline parallel.
#include "workloads/inference.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "support.h"
#include "workloads/compile.h"

namespace clustertwin::work {
namespace {

Workload infer(const std::string& parallel, const std::string& extra = "") {
  return support::parse(fmt::format("name: i\nmodel: llama-3.1-8b\ntask: infer\nbatch: {{size: 2, prompt: 512, generate: 8}}\n"
                                    "precision: {{compute: bf16, weights: bf16}}\nparallel: {}\n{}",
                                    parallel, extra));
}

TEST(Inference, OnePrefillStepThenOneStepPerToken) {
  core::Program p = compile(infer("{strategy: replicas}"), support::cluster(1));
  ASSERT_TRUE(support::runnable(p));
  EXPECT_EQ(p.steps, 9);
  EXPECT_EQ(p.prefill_steps, 1);
  EXPECT_DOUBLE_EQ(p.tokens_per_step, 2);
  double prefill = 0, decode = 0, decode_bytes = 0;
  for (const auto& op : p.ranks[0].ops) {
    if (op.step == 0) prefill += op.flops;
    if (op.step == 1) decode += op.flops, decode_bytes += op.bytes;
  }
  // prefill: 2 FLOPs per block weight per prompt token (1024 tokens) plus causal attention, the
  // head for each sequence's last token only; decode: 2 per block and head weight per sequence
  const double n = 8030261248.0, embedding = 525336576.0, blocks = n - 2 * embedding - 4096;
  const double attention = 2.0 * 512 * 4096 * 32 * 1024;  // 2·seq·q_dim per layer per token
  EXPECT_NEAR(prefill, 2 * blocks * 1024 + attention + 2 * embedding * 2, 0.01 * prefill);
  EXPECT_NEAR(decode, 2 * (blocks + embedding) * 2 + 2 * 4.0 * 513 * 4096 * 32, 0.01 * decode);
  // decode reads every weight once (bf16) and each sequence's cache: memory-bound
  EXPECT_GT(decode_bytes, 2 * (n - 2 * 525336576.0));
}

TEST(Inference, KvCacheMemory) {
  // 2 sequences x 520 positions x 32 layers x 2 x 8 heads x 128 x 2 bytes = 68.2 MB
  core::Program p = compile(infer("{strategy: replicas}"), support::cluster(1));
  EXPECT_DOUBLE_EQ(p.memory[0].kv_cache, 2.0 * 520 * 32 * 2 * 8 * 128 * 2);
  EXPECT_NEAR(p.memory[0].weights, 8030261248.0 * 2, 1e6);
}

TEST(Inference, ALatentKvCacheIsNotSplitByTensorParallel) {
  // DeepSeek-V3 caches 512 + 64 elements per token per layer for every head at once: each of the 2
  // tensor-parallel ranks keeps all of it. 1 sequence x (16 + 4) tokens x 61 layers x 576 x 2 B.
  const Workload w = support::parse(
      "name: d\nmodel: deepseek-v3-671b\ntask: infer\nbatch: {size: 1, prompt: 16, generate: 4}\n"
      "precision: {compute: bf16, weights: q4_k, kv_cache: bf16}\nparallel: {strategy: tensor, tp: 2}\n");
  const core::Program p = compile(w, support::cluster(2));
  for (int r = 0; r < 2; ++r) EXPECT_DOUBLE_EQ(p.memory[r].kv_cache, 20.0 * 61 * 576 * 2) << "rank " << r;
  std::string e = support::error_of(
      "name: d\nmodel: {name: x, layers: 2, hidden: 64, heads: 4, kv_heads: 2, ffn: 64, vocab: 10, kv_lora_rank: 16}\n"
      "task: infer\nbatch: {size: 1, prompt: 4, generate: 1}\nparallel: {strategy: replicas}\n");
  EXPECT_NE(e.find("latent attention caches one latent for every head: leave kv_heads out"), std::string::npos) << e;
}

TEST(Inference, ChunkedPrefillPipelinesAcrossStages) {
  // A 2-stage layer split prefilling 64 tokens in 4 chunks of 16. Causal attention over chunks adds
  // up to the whole prompt's (sum over chunks c of 16 x (2·16c + 16) = 64²), so each stage computes
  // the same FLOPs as unchunked; but stage 1 starts on chunk 0 while stage 0 runs chunk 1.
  auto at = [](const std::string& chunk) {
    return support::parse(
        "name: c\nmodel: {name: t, layers: 4, hidden: 256, heads: 4, ffn: 1024, vocab: 1000, mlp: swiglu, norm: rmsnorm, "
        "bias: false}\ntask: infer\nbatch: {size: 1, prompt: 64, generate: 1" + chunk +
        "}\nprecision: {compute: bf16, weights: bf16}\nparallel: {strategy: pipeline, pp: 2}\n");
  };
  const core::Program whole = compile(at(""), support::cluster(2)), chunked = compile(at(", prefill_chunk: 16"), support::cluster(2));
  ASSERT_TRUE(support::runnable(chunked));
  auto prefill_flops = [](const core::Program& p, int rank) {
    double f = 0;
    for (const auto& op : p.ranks[rank].ops)
      if (op.step == 0 && op.kind == core::OpKind::Compute) f += op.flops;
    return f;
  };
  for (int r = 0; r < 2; ++r) EXPECT_NEAR(prefill_flops(chunked, r), prefill_flops(whole, r), 1e-9 * prefill_flops(whole, r));
  int sends = 0;
  for (const auto& op : chunked.ranks[0].ops) sends += op.step == 0 && op.kind == core::OpKind::Send ? 1 : 0;
  EXPECT_EQ(sends, 4);  // one activation message per chunk
  // Ideal machine, compute only: unchunked the stages run one after the other (2T); chunked, the
  // second stage trails the first by one chunk (about 5/4 T, the attention making later chunks a
  // little dearer).
  auto prefill_time = [](const core::Program& p) {
    return support::time_program(p, [](const core::Op& op) { return op.kind == core::OpKind::Compute && op.step == 0 ? op.flops / 1e12 : 0; })
        .makespan;
  };
  EXPECT_LT(prefill_time(chunked), 0.7 * prefill_time(whole));
  EXPECT_GT(prefill_time(chunked), 0.6 * prefill_time(whole));
}

TEST(Inference, TensorParallelAllReducesTwicePerLayerPerToken) {
  core::Program p = compile(infer("{strategy: tensor, tp: 4}"), support::cluster(4));
  ASSERT_TRUE(support::runnable(p));
  int per_decode_step = 0;
  for (const auto& op : p.ranks[3].ops)
    if (op.kind == core::OpKind::Collective && op.step == 3 && op.label[0] == 'L') {
      ++per_decode_step;
      EXPECT_DOUBLE_EQ(op.bytes, 2.0 * 4096 * 2);  // batch x hidden, bf16
    }
  EXPECT_EQ(per_decode_step, 2 * 32);
  EXPECT_DOUBLE_EQ(p.memory[0].kv_cache, 2.0 * 520 * 32 * 2 * 8 * 128 * 2 / 4);
}

TEST(Inference, PipelineSendsActivationsAndReturnsTokens) {
  core::Program p = compile(infer("{strategy: pipeline, pp: 2}"), support::cluster(2));
  ASSERT_TRUE(support::runnable(p));
  int token_recvs = 0;
  for (const auto& op : p.ranks[0].ops) token_recvs += op.kind == core::OpKind::Recv && op.label == "token.recv";
  EXPECT_EQ(token_recvs, 8);
  // stage 1 gets the prompt's activations once, then one token's per sequence per step
  for (const auto& op : p.ranks[1].ops) {
    if (op.kind == core::OpKind::Recv) {
      EXPECT_DOUBLE_EQ(op.bytes, (op.step == 0 ? 1024.0 : 2.0) * 4096 * 2);
    }
  }
}

TEST(Inference, TensorParallelCountsATiedEmbeddingOnce) {
  // Llama-3.2-1B (tied, 1,235,814,400 parameters) over tp 2 in bf16: half of every weight per rank
  Workload w = support::parse("name: i\nmodel: llama-3.2-1b\ntask: infer\nbatch: {size: 1, prompt: 16, generate: 2}\n"
                              "precision: {compute: bf16, weights: bf16}\nparallel: {strategy: tensor, tp: 2}\n");
  core::Program p = compile(w, support::cluster(2));
  EXPECT_DOUBLE_EQ(p.memory[0].weights, 1235814400.0 / 2 * 2);
}

TEST(Inference, TrainingStrategiesAreRejected) {
  std::string e = support::error_of("name: i\nmodel: llama-3.1-8b\ntask: infer\nbatch: {size: 1, prompt: 8, generate: 8}\n"
                                    "parallel: {strategy: fsdp}\n");
  EXPECT_NE(e.find("w.yaml:5:22: error: 'fsdp' is a training strategy"), std::string::npos) << e;
}

TEST(Inference, SeventyBDoesNotFitOneMacStudio) {
  Workload w = support::parse("name: i\nmodel: llama-3.1-70b\ntask: infer\nbatch: {size: 1, prompt: 128, generate: 8}\n"
                              "precision: {compute: bf16}\nparallel: {strategy: replicas}\n");
  try {
    compile(w, support::cluster(1, 96e9));
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the plan does not fit in memory: rank 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("more tensor- or pipeline-parallel ranks"), std::string::npos) << e.what();
  }
  // int4 weights: 35 GB: it fits
  w.precision.weights = exact_format(core::DType::I4);
  EXPECT_NO_THROW(compile(w, support::cluster(1, 96e9)));
}

// The hint reads as one sentence ("Try more ranks", never "Try try") and offers only the weight
// precisions that are smaller than the one in use.
TEST(Inference, DoesNotFitHintOffersOnlySmallerWeights) {
  const std::string yaml = "name: i\nmodel: llama-3.1-70b\ntask: infer\nbatch: {size: 1, prompt: 128, generate: 8}\n"
                           "precision: {compute: bf16, weights: WEIGHTS}\nparallel: {strategy: replicas}\n";
  auto hint_for = [&](const std::string& weights, double memory) {
    std::string y = yaml;
    y.replace(y.find("WEIGHTS"), 7, weights);
    try {
      compile(support::parse(y), support::cluster(1, memory));
    } catch (const core::InputError& e) {
      std::string s = e.what();
      return s.substr(s.find("Try "));
    }
    return std::string("(fits)");
  };
  EXPECT_EQ(hint_for("bf16", 96e9),
            "Try more tensor- or pipeline-parallel ranks, a smaller batch or prompt, or 8-bit or 4-bit (q8_0, "
            "q4_k_m, mlx-4bit: `clustertwin presets` lists them) weights (or raise memory: usable_fraction)");
  EXPECT_EQ(hint_for("int8", 48e9),
            "Try more tensor- or pipeline-parallel ranks, a smaller batch or prompt, or 4-bit (q4_k_m, mlx-4bit) "
            "weights (or raise memory: usable_fraction)");
  EXPECT_EQ(hint_for("q8_0", 48e9),
            "Try more tensor- or pipeline-parallel ranks, a smaller batch or prompt, or 4-bit (q4_k_m, mlx-4bit) "
            "weights (or raise memory: usable_fraction)");
  EXPECT_EQ(hint_for("q4_k_m", 16e9),
            "Try more tensor- or pipeline-parallel ranks, or a smaller batch or prompt (or raise memory: usable_fraction)");
  EXPECT_EQ(hint_for("int4", 16e9),
            "Try more tensor- or pipeline-parallel ranks, or a smaller batch or prompt (or raise memory: usable_fraction)");
}

}  // namespace
}  // namespace clustertwin::work

#include "core/run.h"

namespace clustertwin::work {
namespace {

TEST(Inference, SummaryGivesTimeToFirstTokenAndDecodeRate) {
  core::Program p;
  p.steps = 3;
  p.prefill_steps = 1;
  p.tokens_per_step = 4;
  p.ranks.push_back({0, {}});
  for (int s = 0; s < 3; ++s) {
    core::Op op;
    op.step = s;
    op.label = "x";
    p.ranks[0].ops.push_back(op);
  }
  // prefill 0.5 s, then two decode steps of 0.1 s: 4 tokens / 0.1 s
  std::vector<core::OpRecord> rec{{0, 0, 0.0, 0.5}, {0, 1, 0.5, 0.6}, {0, 2, 0.6, 0.7}};
  core::Summary s = core::summarize(p, rec);
  EXPECT_DOUBLE_EQ(s.time_to_first_token, 0.5);
  EXPECT_NEAR(s.decode_tokens_per_second, 40, 1e-9);
}

TEST(Inference, PrefillRateCountsThePromptTokensOfTheFirstStep) {
  // 3 replicas prefill 2 sequences of 512 prompt tokens each
  Workload w = infer("{strategy: replicas}");
  w.memory.check = false;
  core::Program p = compile(w, support::cluster(3));
  EXPECT_DOUBLE_EQ(p.prefill_tokens, 3.0 * 2 * 512);
  std::vector<core::OpRecord> rec;
  for (int r = 0; r < 3; ++r)
    for (uint32_t i = 0; i < p.ranks[r].ops.size(); ++i) {
      const int s = p.ranks[r].ops[i].step;  // prefill 0.5 s, then 0.1 s per decode step
      rec.push_back({r, i, s == 0 ? 0.0 : 0.4 + 0.1 * s, s == 0 ? 0.5 : 0.5 + 0.1 * s});
    }
  core::Summary s = core::summarize(p, rec);
  EXPECT_NEAR(s.prefill_tokens_per_second, 3072 / 0.5, 1e-6);
  EXPECT_NEAR(s.decode_tokens_per_second, 6 / 0.1, 1e-6);  // 3 replicas x 2 sequences per step
  EXPECT_NEAR(s.time_to_first_token, 0.5, 1e-12);
}

}  // namespace
}  // namespace clustertwin::work
