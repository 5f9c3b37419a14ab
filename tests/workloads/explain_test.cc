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
  EXPECT_NE(s.find("layers per stage: 7 7 7 7 (by device speed)"), std::string::npos) << s;
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
