#include "workloads/model.h"

#include <gtest/gtest.h>

namespace clustertwin::work {
namespace {

const ModelShape& M(const std::string& name) {
  const ModelShape* m = find_model(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

TEST(Model, Gpt2SmallParameterCountIsThePublishedOne) {
  // Hugging Face "gpt2": model.num_parameters() == 124,439,808 (tied LM head).
  EXPECT_EQ(param_count(M("gpt2-124m")), 124439808);
}

TEST(Model, Gpt2MediumAndLargeWithinHalfAPercent) {
  // Published: gpt2-medium 354,823,168; gpt2-large 774,030,080.
  EXPECT_NEAR(param_count(M("gpt2-355m")), 354823168, 0.005 * 354823168);
  EXPECT_NEAR(param_count(M("gpt2-774m")), 774030080, 0.005 * 774030080);
}

// Published sizes (Hugging Face model cards / num_parameters()), checked within 0.5 %.
TEST(Model, LlamaParameterCountsWithinHalfAPercentOfPublished) {
  EXPECT_NEAR(param_count(M("llama-3.2-1b")), 1235814400, 0.005 * 1235814400);
  EXPECT_NEAR(param_count(M("llama-3.2-3b")), 3212749824, 0.005 * 3212749824);
  EXPECT_NEAR(param_count(M("llama-3.1-8b")), 8030261248, 0.005 * 8030261248);
  EXPECT_NEAR(param_count(M("llama-3.1-70b")), 70553706496, 0.005 * 70553706496);
}

TEST(Model, Llama31_8bByHand) {
  // Independent hand count: embeddings 128256 x 4096, untied head the same; per layer
  // Q 4096^2 + K, V 4096 x 1024 each + O 4096^2 = 41,943,040; SwiGLU 3 x 4096 x 14336 =
  // 176,160,768; two RMSNorms 8192: 218,112,000 x 32 layers; final norm 4096.
  const int64_t expected = 2LL * 128256 * 4096 + 32LL * (41943040 + 176160768 + 8192) + 4096;
  EXPECT_EQ(expected, 8030261248);
  EXPECT_EQ(param_count(M("llama-3.1-8b")), expected);
}

TEST(Model, StagesAddUpToTheModelPlusOneHeadCopyWhenTied) {
  for (const std::string& name : model_names()) {
    const ModelShape& m = M(name);
    EXPECT_EQ(stage_param_count(m, 0, m.layers, true, true), param_count(m)) << name;
    // two stages: the tied matrix is held by both (the embedding and the head's copy)
    int64_t copy = m.tied_embeddings ? m.vocab * m.hidden : 0;
    EXPECT_EQ(stage_param_count(m, 0, 1, true, false) + stage_param_count(m, 1, m.layers - 1, false, true), param_count(m) + copy)
        << name;
  }
}

TEST(Model, Qwen3MoeTotalAndActive) {
  // Qwen3-30B-A3B: 30.5 B total, 3.3 B active (model card). By hand: per layer attention
  // 2048 x (4096 + 2 x 512) + 4096 x 2048 = 18,874,368, q/k norms 256, norms 4096, router
  // 2048 x 128, each expert 3 x 2048 x 768 = 4,718,592.
  const ModelShape& m = M("qwen3-30b-a3b");
  const int64_t per_expert = 3LL * 2048 * 768;
  const int64_t shared = 18874368 + 256 + 4096 + 2048LL * 128;
  const int64_t embeddings = 2LL * 151936 * 2048;
  EXPECT_EQ(param_count(m), embeddings + 48 * (shared + 128 * per_expert) + 2048);
  EXPECT_EQ(active_param_count(m), embeddings + 48 * (shared + 8 * per_expert) + 2048);
  EXPECT_NEAR(param_count(m) / 1e9, 30.5, 0.005 * 30.5);
  EXPECT_NEAR(active_param_count(m) / 1e9, 3.3, 0.02 * 3.3);  // "3.3B activated": 3.35 B rounded down
}

// Published totals: Qwen3-235B-A22B 235 B (22 B active), gpt-oss-120b 116.83 B (model card).
TEST(Model, LargeMoePresetsMatchTheirPublishedSizes) {
  EXPECT_NEAR(param_count(M("qwen3-235b-a22b")) / 1e9, 235.0, 0.005 * 235.0);
  EXPECT_NEAR(active_param_count(M("qwen3-235b-a22b")) / 1e9, 22.0, 0.02 * 22.0);
  EXPECT_NEAR(param_count(M("gpt-oss-120b")) / 1e9, 116.83, 0.005 * 116.83);
}

TEST(Model, ForwardFlopsPerTokenMatchKaplan) {
  // Kaplan et al. 2020: C_forward = 2 N + 2 n_layer n_ctx d_attn per token, N the non-embedding
  // weights. GPT-2 small: per layer 4*768^2 + 2*768*3072 = 7,077,888 weights; attention term
  // 2 * 1024 * 768 = 1,572,864 per layer at n_ctx = 1024; LM head 2 * 768 * 50257.
  const ModelShape& m = M("gpt2-124m");
  EXPECT_DOUBLE_EQ(layer_forward_flops_per_token(m, 1024), 2.0 * 7077888 + 1572864);
  EXPECT_DOUBLE_EQ(head_forward_flops_per_token(m), 2.0 * 768 * 50257);
}

TEST(Model, TrainingFlopsPerTokenAreAboutSixN) {
  // 6·N_matmul + the attention term 6·layers·seq·q_dim. Llama-3.1-8B at seq 2048: the
  // non-embedding matmul weights are 32 x 218,103,808 = 6.98 B, the head 0.525 B, so
  // 6 N_matmul = 45.0 GFLOP; attention adds 6·32·2048·4096 = 1.61 GFLOP (3.6 %). 6·N with N the
  // full 8.03 B (embedding lookup counted) is 48.2 GFLOP: within 4 % either way.
  const ModelShape& m = M("llama-3.1-8b");
  const double n_matmul = 32.0 * 218103808 + 4096.0 * 128256;
  const double attention = 6.0 * 32 * 2048 * 4096;
  EXPECT_NEAR(training_flops_per_token(m, 2048), 6 * n_matmul + attention, 1e-9 * 6 * n_matmul);
  EXPECT_NEAR(training_flops_per_token(m, 2048) / (6.0 * param_count(m)), 1.0, 0.04);
  // MoE: 6 x active, not total.
  const ModelShape& q = M("qwen3-30b-a3b");
  EXPECT_LT(training_flops_per_token(q, 2048), 6.0 * 1.1 * active_param_count(q));
}

TEST(Model, DecodeAttentionIsLinearInTheCache) {
  const ModelShape& m = M("llama-3.1-8b");
  EXPECT_DOUBLE_EQ(decode_attention_flops(m, 1000), 4.0 * 1000 * 4096);
}

TEST(Model, ActivationAndTrafficElements) {
  const ModelShape& g = M("gpt2-124m");
  EXPECT_DOUBLE_EQ(layer_activation_elements_per_token(g), 16.0 * 768);  // Korthikanti 34sbh bytes minus masks / 2
  EXPECT_DOUBLE_EQ(layer_traffic_elements_per_token(g), 16.0 * 768);
  const ModelShape& l = M("llama-3.1-8b");
  // 4h + (q + 2 kv) + q + 3 ffn
  EXPECT_DOUBLE_EQ(layer_activation_elements_per_token(l), 4.0 * 4096 + 6144 + 4096 + 3.0 * 14336);
  EXPECT_EQ(kv_elements_per_token_per_layer(l), 2 * 8 * 128);
}

TEST(Model, ShapeChecks) {
  EXPECT_EQ(check_shape(M("llama-3.1-70b")), "");
  ModelShape bad = M("llama-3.1-8b");
  bad.kv_heads = 5;
  EXPECT_EQ(check_shape(bad), "heads 32 are not a multiple of kv_heads 5");
  for (const auto& n : model_names()) EXPECT_EQ(check_shape(M(n.c_str())), "") << n;
}

TEST(Model, DeepSeekV3CountsAsPublished) {
  // deepseek-ai/DeepSeek-V3 config.json, by hand:
  //   attention: q_a 7168 x 1536 + q_b 1536 x 128 x (128 + 64) + kv_a 7168 x (512 + 64)
  //              + kv_b 512 x 128 x (128 + 128) + o 128 x 128 x 7168 + norms 1536 + 512 = 187,107,328
  //   + 2 block norms of 7168; dense MLP 3 x 7168 x 18432 = 396,361,728;
  //   MoE MLP: router 7168 x 256 + (256 routed + 1 shared) x 3 x 7168 x 2048 = 11,320,164,352.
  const ModelShape& m = M("deepseek-v3-671b");
  EXPECT_EQ(attention_params_per_layer(m), 187107328 + 2 * 7168);
  const int64_t dense = 187107328 + 14336 + 396361728, moe = 187107328 + 14336 + 1835008 + 257 * 44040192LL;
  const int64_t embed_and_head = 2 * 129280LL * 7168;
  EXPECT_EQ(param_count(m), 3 * dense + 58 * moe + embed_and_head + 7168);  // 671.03 B, as published (671 B)
  // active: 8 routed + the shared expert
  const int64_t moe_active = 187107328 + 14336 + 1835008 + 9 * 44040192LL;
  EXPECT_EQ(active_param_count(m), 3 * dense + 58 * moe_active + embed_and_head + 7168);  // 37.55 B (37 B)
  // the KV cache holds the 512-wide latent and the 64-wide rotary key: 576 per token per layer
  EXPECT_EQ(kv_elements_per_token_per_layer(m), 576);
  // a stage of the first 3 layers holds dense MLPs; one of 3 later layers MoE ones
  EXPECT_EQ(stage_param_count(m, 0, 3, false, false), 3 * dense);
  EXPECT_EQ(stage_param_count(m, 10, 3, false, false), 3 * moe);
}

TEST(Model, LatentAttentionDecodesOverTheLatent) {
  const ModelShape& m = M("deepseek-v3-671b");
  // absorbed: per cached position, scores over 512 + 64 and values over 512, 2 FLOPs each, 128 heads
  EXPECT_DOUBLE_EQ(decode_attention_flops(m, 1000), 2.0 * 1000 * 128 * (2 * 512 + 64));
  // prefill (not absorbed): QK^T over 128 x 192 and AV over 128 x 128, causal: seq x (q + v)
  EXPECT_DOUBLE_EQ(attention_flops_per_token(m, 100), 100.0 * (128 * 192 + 128 * 128));
}

}  // namespace
}  // namespace clustertwin::work
