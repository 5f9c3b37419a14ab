// plan/spec.cc and plan/candidates.cc: the plan file, its errors, and the cartesian product.
#include <gtest/gtest.h>

#include <string>

#include "core/diag.h"
#include "plan/candidates.h"
#include "plan/spec.h"

namespace {

namespace plan = clustertwin::plan;
const std::string kSrc = CLUSTERTWIN_SOURCE_DIR;

std::string base_keys() {
  return "topology: " + kSrc + "/topologies/examples/tb4-star-3minis.yaml\n" + "workload: " + kSrc +
         "/workloads/examples/fsdp-llama-3.2-1b.yaml\n";
}

std::string error_of(const std::string& text) {
  try {
    plan::parse_spec(text, "p.yaml");
  } catch (const clustertwin::core::InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PlanSpec, AxesAndTheirProduct) {
  auto s = plan::parse_spec(base_keys() +
                                "objective: time-to-train\ntrain_tokens: 1e9\nheadroom: 10%\n"
                                "axes:\n  add_nodes: [0, 1, 2]\n  link: [tb4, tb5]\n"
                                "  strategy: [ddp, fsdp, {strategy: hybrid, tp: 1, pp: 3}]\n  recompute: [false, true]\n"
                                "  runtime: [clustertwin, mlx-jaccl]\n",
                            "p.yaml");
  ASSERT_EQ(s.axes.size(), 5u);
  EXPECT_EQ(plan::candidate_count(s), 3u * 2 * 3 * 2 * 2);
  EXPECT_EQ(s.axes[4].values[1].label, "runtime=mlx-jaccl");
  EXPECT_EQ(s.objective, plan::Objective::TimeToTrain);
  EXPECT_DOUBLE_EQ(s.train_tokens, 1e9);
  EXPECT_DOUBLE_EQ(s.headroom, 0.1);
  EXPECT_EQ(s.axes[2].values[2].label, "hybrid(tp=1,pp=3)");
  EXPECT_EQ(s.axes[3].values[1].label, "recompute=true");
  EXPECT_EQ(s.axes[0].values[1].label, "+1 node");
}

TEST(PlanSpec, AClusterValueCombinesEdits) {
  auto s = plan::parse_spec(base_keys() + "axes:\n  cluster: [{link: tb4}, {link: eth-10g, shape: switch, add_nodes: 1}]\n",
                            "p.yaml");
  ASSERT_EQ(s.axes[0].values.size(), 2u);
  EXPECT_EQ(s.axes[0].values[1].label, "eth-10g switch +1 node");
  EXPECT_EQ(s.axes[0].values[1].edits.size(), 3u);
}

TEST(PlanSpec, ALinkValueForOneCable) {
  auto s = plan::parse_spec(base_keys() + "axes:\n  link: [tb4, {between: [mini1, mini2], type: tb5}]\n", "p.yaml");
  EXPECT_EQ(s.axes[0].values[1].label, "mini1-mini2 tb5");
  auto c = plan::expand(s, plan::load_base(s));
  EXPECT_NE(c[1].topology_yaml.find("type: tb5"), std::string::npos);
  auto bad = plan::parse_spec(base_keys() + "axes:\n  link: [{between: [mini2, mini3], type: tb5}]\n", "p.yaml");
  EXPECT_THROW(plan::expand(bad, plan::load_base(bad)), clustertwin::core::InputError);  // no such cable in the star
}

TEST(PlanSpec, PathsAreRelativeToThePlanFile) {
  auto s = plan::parse_spec("topology: ../t.yaml\nworkload: w.yaml\n", "plans/sub/p.yaml");
  EXPECT_EQ(s.topology, "plans/t.yaml");
  EXPECT_EQ(s.workload, "plans/sub/w.yaml");
}

TEST(PlanSpec, UnknownAxisNamesItsPlaceAndTheClosest) {
  EXPECT_EQ(error_of(base_keys() + "axes:\n  lnk: [tb4]\n"),
            "p.yaml:4:8: error: unknown axis 'lnk'\n"
            "    lnk: [tb4]\n"
            "         ^\n"
            "hint: did you mean 'link'?");
}

TEST(PlanSpec, MisspeltLinkPresetSuggestsTheClosest) {
  const std::string e = error_of(base_keys() + "axes:\n  link: [tb4, tb-5]\n");
  EXPECT_NE(e.find("p.yaml:4:15: error:"), std::string::npos) << e;
  EXPECT_NE(e.find("'tb-5'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'tb5'?"), std::string::npos) << e;
}

TEST(PlanSpec, TimeToTrainNeedsTokens) {
  const std::string e = error_of(base_keys() + "objective: time-to-train\n");
  EXPECT_NE(e.find("p.yaml:3:12: error: objective time-to-train needs 'train_tokens'"), std::string::npos) << e;
}

TEST(PlanSpec, TheBaseIsRequired) {
  const std::string e = error_of("axes: {link: [tb4]}\n");
  EXPECT_NE(e.find("p.yaml:1:1: error:"), std::string::npos) << e;
  EXPECT_NE(e.find("topology"), std::string::npos) << e;
}

TEST(PlanCandidates, ProductInAxisOrderLastAxisFastest) {
  auto s = plan::parse_spec(base_keys() + "axes:\n  link: [tb4, tb5]\n  recompute: [false, true]\n", "p.yaml");
  auto c = plan::expand(s, plan::load_base(s));
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].label(), "tb4, recompute=false");
  EXPECT_EQ(c[1].label(), "tb4, recompute=true");
  EXPECT_EQ(c[2].label(), "tb5, recompute=false");
  EXPECT_EQ(c[3].label(), "tb5, recompute=true");
  for (const auto& x : c) EXPECT_EQ(x.duplicate_of, -1);
}

// A bucket means nothing to a pipeline or to ZeRO-3: those candidates repeat one another and are
// marked duplicates instead of being rejected by the workload parser.
TEST(PlanCandidates, KeysAStrategyLacksMakeDuplicates) {
  auto s = plan::parse_spec(base_keys() + "axes:\n  strategy: [ddp, fsdp, pipeline]\n  bucket: [all, 25MB]\n", "p.yaml");
  auto c = plan::expand(s, plan::load_base(s));
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[1].duplicate_of, -1);  // ddp, 25MB
  EXPECT_EQ(c[3].duplicate_of, 2);   // fsdp, 25MB = fsdp, all
  EXPECT_EQ(c[5].duplicate_of, 4);   // pipeline, 25MB = pipeline, all
  EXPECT_NE(c[0].workload_yaml.find("bucket: all"), std::string::npos);
  EXPECT_EQ(c[2].workload_yaml.find("bucket"), std::string::npos);
}

}  // namespace
