// `explain` shows the numbers beside their formulas.
#include "workloads/explain.h"

#include <gtest/gtest.h>

#include "support.h"

namespace clustertwin::work {
namespace {

TEST(Explain, DdpShowsTheRingFormulaWithNumbers) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/ddp-gpt2.yaml");
  std::string s = explain(w, support::cluster(3));
  EXPECT_NE(s.find("Model 'gpt2-124m': 124,439,808 parameters"), std::string::npos) << s;
  EXPECT_NE(s.find("1 x allreduce     ring             over    3 ranks  S =   497.8 MB"), std::string::npos) << s;
  EXPECT_NE(s.find("sent per rank = 2(n-1)/n·S = 663.7 MB, in 4 point-to-point steps (2(n-1))"), std::string::npos) << s;
  EXPECT_NE(s.find("ZeRO stage 0: model states = (w + g + K)·N"), std::string::npos) << s;
}

TEST(Explain, PipelineShowsTheBubble) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/pipeline-llama-3.2-3b.yaml");
  std::string s = explain(w, support::cluster(4));
  EXPECT_NE(s.find("(p-1)/(m+p-1) = 3/11 = 27.3 % of the step idle"), std::string::npos) << s;
  // Llama-3.2-3B: the head (2 x 3072 x 128,256 FLOPs per token) costs 3.68 layers (213,909,504
  // each at seq 2048): 28 layers balance as 8 8 8 and 4 + head = 7.68
  EXPECT_NE(s.find("layers per stage: 8 8 8 4 (by device speed"), std::string::npos) << s;
}

TEST(Explain, MoeDecodeSaysWhichExpertsItReads) {
  // Qwen3-30B-A3B decoding 4 sequences: 4 tokens x 8 experts each reach at most 32 of the 128
  // experts of a layer, which is what the decode step's bytes count (not every weight)
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/infer-qwen3-30b-a3b.yaml");
  std::string s = explain(w, support::cluster(1));
  EXPECT_EQ(s.find("reads every weight"), std::string::npos) << s;
  EXPECT_NE(s.find("decode reads the attention, router and norm weights, the experts its 4 tokens route to "
                   "(min(experts, tokens x experts_per_token) = min(128, 4 x 8) = 32 of 128 per layer), the LM head"),
            std::string::npos)
      << s;
  // a dense model's decode does read every block weight
  Workload dense = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/infer-tensor-llama-3.1-70b.yaml");
  EXPECT_NE(explain(dense, support::cluster(4)).find("decode reads every weight"), std::string::npos);
}

TEST(Explain, InferenceNamesTheWeightFormat) {
  // Q4_K_M: 4.85 bits / 8 = 0.6062 bytes per weight, 3.7 dequantisation ops (workloads/formats.cc)
  Workload w = support::parse("name: q\nmodel: llama-3.1-8b\ntask: infer\nbatch: {size: 1, prompt: 8, generate: 1}\n"
                              "precision: {compute: fp16, weights: q4_k_m, kv_cache: q8_0}\nparallel: {strategy: replicas}\n");
  std::string s = explain(w, support::cluster(1));
  EXPECT_NE(s.find("each weight read = 0.6062 B (q4_k_m: 4.85 bits with scales, 3.7 dequantisation ops each)"), std::string::npos)
      << s;
  EXPECT_NE(s.find("x 1.062 B (q8_0: 8.5 bits with scales, 2 dequantisation ops each)"), std::string::npos) << s;
}

TEST(Explain, InfeasiblePlansAreExplainedThenReported) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/fsdp-llama-3.2-1b.yaml");
  std::string s = explain(w, support::cluster(2, 4e9));
  EXPECT_NE(s.find("OVER by"), std::string::npos) << s;
  EXPECT_NE(s.find("error: the plan does not fit in memory"), std::string::npos) << s;
}

TEST(Explain, RankOpList) {
  Workload w = load_workload(CLUSTERTWIN_SOURCE_DIR "/workloads/examples/tensor-llama-3.2-1b.yaml");
  std::string s = explain(w, support::cluster(2), {1});
  EXPECT_NE(s.find("Ops of rank 1, step 0"), std::string::npos) << s;
  EXPECT_NE(s.find("L0.attn.fwd.allreduce"), std::string::npos) << s;
  EXPECT_THROW(explain(w, support::cluster(2), {5}), core::InputError);
}

}  // namespace
}  // namespace clustertwin::work
