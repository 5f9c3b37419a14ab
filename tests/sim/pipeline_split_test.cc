// Pipeline stage splits, simulated (issue 13, item 4): Llama-3.2-1B over four Mac minis M4 in a
// Thunderbolt 4 star, 1F1B with 8 micro-batches. The LM head costs about four layers, so stages of
// 4 layers each leave the last stage far behind; `split: speed` must balance the modelled stage
// times (head and embedding included) and `explain` must state the waiting the schedule really has,
// as `predict` measures it (pipeline bubble + idle).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/run.h"
#include "sim/simulator.h"
#include "topologies/topology.h"
#include "workloads/cluster.h"
#include "workloads/explain.h"
#include "workloads/layout.h"
#include "workloads/workload.h"

namespace clustertwin::sim {
namespace {

const char* kStar = R"(name: tb4-star-4minis
nodes:
  - {name: mini1, device: mac-mini-m4, address: 10.10.0.1/24, forwards: true}
  - {name: mini2, device: mac-mini-m4, address: 10.10.0.2/24}
  - {name: mini3, device: mac-mini-m4, address: 10.10.0.3/24}
  - {name: mini4, device: mac-mini-m4, address: 10.10.0.4/24}
links:
  - {between: [mini1, mini2], type: tb4}
  - {between: [mini1, mini3], type: tb4}
  - {between: [mini1, mini4], type: tb4}
)";

work::Workload pipeline(const std::string& split) {
  return work::parse_workload(fmt::format("name: p\nmodel: llama-3.2-1b\ntask: train\n"
                                          "batch: {{micro_batch: 1, seq_len: 2048}}\n"
                                          "precision: {{compute: bf16, weights: bf16, gradients: bf16, optimizer: fp32}}\n"
                                          "parallel: {{strategy: pipeline, schedule: 1f1b, micro_batches: 8, split: {}}}\n"
                                          "memory: {{activation_checkpointing: true, check: false}}\nsteps: 2\n",
                                          split),
                              "w.yaml");
}

struct Predicted {
  double step = 0;
  double waiting = 0;  // (pipeline bubble + idle) / step
};

Predicted predict(const work::Workload& w, const topo::Topology& t) {
  core::Program p = work::compile(w, t);
  core::Summary s = core::summarize(p, simulate(p, t));
  return {s.step_mean, (s.bubble + s.idle) / s.step_mean};
}

// The fraction explain states: "ranks wait X % of the step".
double explained_waiting(const work::Workload& w, const topo::Topology& t) {
  std::string text = work::explain(w, work::cluster_of(t, w));
  const std::string key = "ranks wait ";
  size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << text;
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size())) / 100;
}

TEST(PipelineSplit, SpeedBalancesTheHeadAndBeatsTheHandSplit) {
  const topo::Topology t = topo::parse_topology(kStar, "star.yaml");
  const work::Workload speed = pipeline("speed");
  // the head is ~4 layers of work (layout_test): 5 5 5 and 1 + head
  EXPECT_EQ(work::layout_for(speed, work::cluster_of(t, speed)).layers, (std::vector<int64_t>{5, 5, 5, 1}));
  const Predicted even = predict(pipeline("even"), t), hand = predict(pipeline("[6, 5, 4, 1]"), t), tool = predict(speed, t);
  EXPECT_LT(tool.step, hand.step) << "speed " << tool.step << " s, [6, 5, 4, 1] " << hand.step << " s";
  EXPECT_LT(tool.step, 0.8 * even.step) << "speed " << tool.step << " s, even " << even.step << " s";
}

TEST(PipelineSplit, ExplainStatesTheWaitingPredictMeasures) {
  const topo::Topology t = topo::parse_topology(kStar, "star.yaml");
  for (const std::string split : {"even", "speed", "[6, 5, 4, 1]"}) {
    const work::Workload w = pipeline(split);
    EXPECT_NEAR(explained_waiting(w, t), predict(w, t).waiting, 0.03) << split;
  }
}

}  // namespace
}  // namespace clustertwin::sim
