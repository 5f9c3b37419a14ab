// Weight and cache formats: bits with scales from the block layouts, bytes read per decoded
// token, dequantisation work in the roofline, and the parser's names.
#include "workloads/formats.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "support.h"
#include "topologies/topology.h"
#include "workloads/builder.h"
#include "workloads/compile.h"
#include "workloads/runtimes.h"

namespace clustertwin::work {
namespace {

Workload decode(const std::string& model, const std::string& weights, int64_t batch = 1,
                const std::string& kv = "fp16") {
  return support::parse(fmt::format("name: f\nmodel: {}\ntask: infer\nbatch: {{size: {}, prompt: 1, generate: 1}}\n"
                                    "precision: {{compute: fp16, weights: {}, kv_cache: {}}}\nparallel: {{strategy: replicas}}\n",
                                    model, batch, weights, kv));
}

// The bytes and FLOPs of rank 0's first decode step (step 1; step 0 is the prefill).
struct StepCost {
  double bytes = 0, flops = 0, seconds = 0;
};
StepCost decode_step(const Workload& w) {
  const Cluster c = support::cluster(1);
  StepCost s;
  const core::Program p = compile(w, c);  // kept: a range-for over a temporary's member dangles
  for (const auto& op : p.ranks[0].ops)
    if (op.step == 1 && op.kind == core::OpKind::Compute) {
      s.bytes += op.bytes, s.flops += op.flops;
      s.seconds += topo::roofline_seconds(c.ranks[0].device, op.flops, op.bytes, op.dtype);
    }
  return s;
}

TEST(Formats, BitsIncludeTheBlockScales) {
  // Block bytes from ggml-common.h and the MX spec, over the block's element count.
  EXPECT_DOUBLE_EQ(find_format("q4_0")->bits, (2 + 32 / 2) * 8.0 / 32);    // fp16 d + 32 nibbles
  EXPECT_DOUBLE_EQ(find_format("q8_0")->bits, (2 + 32) * 8.0 / 32);        // fp16 d + 32 int8
  EXPECT_DOUBLE_EQ(find_format("q4_k")->bits, (2 + 2 + 12 + 128) * 8.0 / 256);
  EXPECT_DOUBLE_EQ(find_format("q2_k")->bits, (16 + 64 + 2 + 2) * 8.0 / 256);
  EXPECT_DOUBLE_EQ(find_format("mxfp4")->bits, (32 * 4 + 8) / 32.0);       // e8m0 scale per 32
  EXPECT_DOUBLE_EQ(find_format("mlx-4bit")->bits, 4 + 2 * 16 / 64.0);      // fp16 scale and bias per 64
  EXPECT_DOUBLE_EQ(find_format("int4")->bits, 4);
  EXPECT_EQ(find_format("f16"), find_format("fp16"));
  EXPECT_EQ(find_format("q4_km"), nullptr);
}

TEST(Formats, Q4KMLlama70BReadsAbout42GBPerDecodedToken) {
  // Llama 3.1 70B: 70,553,706,496 parameters; a decode step reads every one but the input
  // embedding table (128,256 x 8,192, a row lookup): 69,503,033,344 x 4.85 / 8 = 42.14 GB
  // (the whole model would be 42.8 GB). Exact int4 would read 34.75 GB. The KV cache of 2
  // positions and the activations add well under 0.1 %.
  const double expected = (70553706496.0 - 128256.0 * 8192) * 4.85 / 8;
  const double bytes = decode_step(decode("llama-3.1-70b", "q4_k_m")).bytes;
  EXPECT_NEAR(bytes, expected, 0.005 * expected);
  EXPECT_GT(bytes, 1.2 * decode_step(decode("llama-3.1-70b", "int4")).bytes);
}

TEST(Formats, Mlx4BitHoldsAndReadsNineEighthsOfInt4) {
  const Cluster c = support::cluster(1);
  const double mlx = compile(decode("llama-3.1-8b", "mlx-4bit"), c).memory[0].weights;
  const double int4 = compile(decode("llama-3.1-8b", "int4"), c).memory[0].weights;
  EXPECT_DOUBLE_EQ(mlx / int4, 4.5 / 4);
  // per decoded token the weights dominate: the same ratio within the cache and activations
  const double r = decode_step(decode("llama-3.1-8b", "mlx-4bit")).bytes / decode_step(decode("llama-3.1-8b", "int4")).bytes;
  EXPECT_NEAR(r, 4.5 / 4, 0.002);
}

TEST(Formats, DequantisationSlowsAComputeBoundDecode) {
  // 512 sequences per step on 1 TFLOP/s and 100 GB/s: ~1000 FLOPs per 0.56-byte weight, compute-
  // bound. q4_0 against the same 4.5 bits with no dequantisation: 3 more FLOPs per weight read.
  Workload quantized = decode("llama-3.1-8b", "q4_0", 512), plain = quantized;
  Format same_bits = *find_format("q4_0");
  same_bits.dequant_ops = 0;
  plain.precision.weights = same_bits;
  const StepCost q = decode_step(quantized), p = decode_step(plain);
  EXPECT_DOUBLE_EQ(q.bytes, p.bytes);
  // the weights read: the blocks and the head, every weight but the input embedding's 525 M and
  // the final norm's 4,096
  const double read = 8030261248.0 - 525336576.0 - 4096;
  EXPECT_NEAR(q.flops - p.flops, 3 * read, 1e-6 * read);
  EXPECT_NEAR(q.seconds - p.seconds, 3 * read / 1e12, 0.01 * 3 * read / 1e12);
}

TEST(Formats, Q8KvCacheIsPricedAtEightAndAHalfBits) {
  // 1 sequence x 2 positions x 32 layers x 2 x 8 KV heads x 128 = 131,072 elements
  const Cluster c = support::cluster(1);
  EXPECT_DOUBLE_EQ(compile(decode("llama-3.1-8b", "q4_0", 1, "q8_0"), c).memory[0].kv_cache, 131072 * 8.5 / 8);
  EXPECT_DOUBLE_EQ(compile(decode("llama-3.1-8b", "q4_0", 1, "f16"), c).memory[0].kv_cache, 131072 * 2.0);
}

TEST(Formats, UnknownFormatSuggestsTheNearestName) {
  std::string e = support::error_of(
      "name: w\nmodel: llama-3.1-8b\ntask: infer\nbatch: {size: 1, prompt: 8, generate: 1}\n"
      "precision: {compute: fp16, weights: mlx-4bits}\nparallel: {strategy: replicas}\n");
  EXPECT_EQ(e, "w.yaml:5:37: error: unknown weight format 'mlx-4bits'\n"
               "  precision: {compute: fp16, weights: mlx-4bits}\n"
               "                                      ^\n"
               "hint: did you mean 'mlx-4bit'?");
}

TEST(Formats, QuantizedWeightsAreForInferenceOnly) {
  std::string e = support::error_of(
      "name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
      "precision: {weights: mxfp4}\nparallel: {strategy: ddp}\n");
  EXPECT_NE(e.find("w.yaml:5:22: error: quantized weights are for inference only"), std::string::npos) << e;
}

// A tiny MoE whose parts are easy to count by hand: 2 layers, hidden 64, 4 heads of 16 (no GQA),
// 8 routed experts of width 32 (2 per token) and 1 shared expert, SwiGLU, RMSNorm, no biases,
// untied head, vocabulary 100.
//   attention per layer = 64 x (64 + 2 x 64) + 64 x 64 + 2 norms x 64 = 16,512
//   one expert          = 3 x 64 x 32                                    = 6,144
//   dense MLP part      = router 64 x 8 + shared expert 6,144            = 6,656
std::string tiny_moe(const std::string& weights, const std::string& task = "infer") {
  return fmt::format(
      "name: f\nmodel: {{name: tiny, layers: 2, hidden: 64, heads: 4, ffn: 32, vocab: 100, tied_embeddings: false, "
      "mlp: swiglu, norm: rmsnorm, bias: false, experts: 8, experts_per_token: 2, expert_ffn: 32, shared_experts: 1}}\n"
      "task: {}\nbatch: {{size: 1, prompt: 1, generate: 1}}\nprecision: {{compute: fp16, weights: {}, kv_cache: fp16}}\n"
      "parallel: {{strategy: replicas}}\n",
      task, weights);
}

TEST(Formats, SharedExpertsRunForEveryToken) {
  const ModelShape m = support::parse(tiny_moe("fp16")).model;
  EXPECT_EQ(attention_params_per_layer(m), 16512);
  EXPECT_EQ(params_per_expert(m), 6144);
  EXPECT_EQ(dense_mlp_params_per_layer(m), 6656);
  EXPECT_EQ(params_per_layer(m), 16512 + 6656 + 8 * 6144);
  EXPECT_EQ(active_params_per_layer(m), 16512 + 6656 + 2 * 6144);
  // one decode token: 8 fixed kernels, 2 routed x 3 GEMVs, the shared expert's 3 GEMVs + activation + add
  EXPECT_EQ(mlp_kernels(m, 1), 8 + 2 * 3 + 5);
}

TEST(Formats, EachPartIsReadInItsOwnFormat) {
  // Only the routed experts change format (mxfp4 4.25 bits vs q8_0 8.5): a decode step reads
  // 2 layers x 2 experts x 6,144 of them, so its bytes differ by 24,576 x (8.5 - 4.25) / 8.
  const StepCost mixed = decode_step(support::parse(tiny_moe("{default: q8_0, experts: mxfp4}")));
  const StepCost q8 = decode_step(support::parse(tiny_moe("q8_0")));
  EXPECT_NEAR(q8.bytes - mixed.bytes, 24576 * (8.5 - 4.25) / 8, 1e-6);
  // The head alone in fp16 instead of q8_0: 100 x 64 weights at 16 bits, not 8.5.
  const StepCost head16 = decode_step(support::parse(tiny_moe("{default: q8_0, head: fp16}")));
  EXPECT_NEAR(head16.bytes - q8.bytes, 6400 * (16 - 8.5) / 8, 1e-6);
}

TEST(Formats, StoredWeightsSumThePartsInTheirFormats) {
  const Workload w = support::parse(tiny_moe("{default: q8_0, experts: mxfp4, head: fp16}"));
  // per layer: (16,512 + 6,656) at 8.5 bits + 8 x 6,144 at 4.25; embedding 6,400 and the final
  // norm 64 at 8.5; head 6,400 at 16.
  const double expected = 2 * ((16512 + 6656) * 8.5 / 8 + 8 * 6144 * 4.25 / 8) + (6400 + 64) * 8.5 / 8 + 6400 * 2.0;
  EXPECT_NEAR(stage_weight_bytes(w, 0, 2, true, true), expected, 1e-6);
  EXPECT_NEAR(compile(w, support::cluster(1)).memory[0].weights, expected, 1e-6);
}

TEST(Formats, PartFormatsNeedADefaultAndAreForInferenceOnly) {
  std::string e = support::error_of(tiny_moe("{experts: mxfp4}"));
  EXPECT_NE(e.find("w.yaml:5:37: error: 'precision.weights' given per model part is missing the key 'default'"),
            std::string::npos)
      << e;
  e = support::error_of(tiny_moe("{default: q4_k, expert: mxfp4}"));
  EXPECT_NE(e.find("did you mean 'experts'"), std::string::npos) << e;
  e = support::error_of(
      "name: w\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 8}\n"
      "precision: {weights: {default: bf16, head: fp32}}\nparallel: {strategy: ddp}\n");
  EXPECT_NE(e.find("w.yaml:5:22: error: weights per model part are for inference only"), std::string::npos) << e;
}

TEST(Formats, AnMoePrefillComputesWholeTilesPerExpert) {
  // 64 prompt tokens x 2 experts each = 128 routed rows over all 8 experts: 16 per expert, which
  // ggml's 32-token tile (runtime llama.cpp) runs as 32. The padding: 8 x 32 - 128 = 128 rows of
  // one expert's 6,144 weights, 2 FLOPs each, in each of the 2 layers. The default runtime computes
  // only the routed rows.
  auto prefill_flops = [](const std::string& runtime) {
    std::string yaml = tiny_moe("fp16");
    yaml.replace(yaml.find("prompt: 1,"), 10, "prompt: 64,");
    if (!runtime.empty()) yaml += "runtime: " + runtime + "\n";
    const core::Program p = compile(support::parse(yaml), support::cluster(1));
    double flops = 0;
    for (const auto& op : p.ranks[0].ops)
      if (op.step == 0 && op.kind == core::OpKind::Compute) flops += op.flops;
    return flops;
  };
  EXPECT_NEAR(prefill_flops("llama.cpp") - prefill_flops(""), 2 * 2.0 * 6144 * 128, 1e-3);
  EXPECT_EQ(find_runtime("llama.cpp")->gemm_tile_tokens, 32);
}

}  // namespace
}  // namespace clustertwin::work
