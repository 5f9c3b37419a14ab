// `predict` runs `check` first: errors refuse the prediction (exit 2, the finding and its hint;
// --ignore-check CODE for a deliberate what-if), warnings print and are modelled (T012: a TB5 link
// on TB4 ports runs at the TB4 rate).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

using clustertwin::cli_test::has;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;
using clustertwin::cli_test::fixture;
std::string lint_fixture(const std::string& name) { return src("tests/topologies/fixtures/" + name); }
const std::string kDdp = src("workloads/examples/ddp-gpt2.yaml");

class PredictCheck : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without SimGrid (-DCLUSTERTWIN_SIM=OFF): no predict to check";
  }
  Result predict(const std::string& topology, const std::string& extra = "") {
    return run(fmt::format("predict -t {} -w {} --steps 2 -o {} {}", topology, kDdp, out("p"), extra));
  }
  double step_time() {
    std::ifstream in(dir_ / "p/summary.json");
    return nlohmann::json::parse(in).at("step_time_s").at("mean").get<double>();
  }
};

TEST_F(PredictCheck, Tb5CablesOnTb4MinisPredictTheTb4Rate) {
  Result tb4 = predict(src("topologies/examples/tb4-star-3minis.yaml"));
  ASSERT_EQ(tb4.code, 0) << tb4.output;
  double tb4_step = step_time();
  Result tb5 = predict(fixture("tb5-cables-tb4-minis.yaml"));
  ASSERT_EQ(tb5.code, 0) << tb5.output;
  EXPECT_DOUBLE_EQ(step_time(), tb4_step);
  const std::string f = fixture("tb5-cables-tb4-minis.yaml");
  EXPECT_TRUE(has(tb5, fmt::format("{}:9:5: warning: [T012 tb-version] link mini1 - mini2 is tb5, but 'mini1' (Mac mini M4 "
                                   "(2024), 10-core GPU) has Thunderbolt 4 ports: the cable runs at Thunderbolt 4 speed, and the model "
                                   "uses tb4's figures (16.4 Gb/s)\n"
                                   "    - {{between: [mini1, mini2], type: tb5}}\n"
                                   "      ^\n"
                                   "hint: write type: tb4 to say so in the file\n",
                                   f)))
      << tb5.output;
}

TEST_F(PredictCheck, TooManyCablesIntoAHubRefuseThePrediction) {
  const std::string f = fixture("star-5-minis.yaml");
  Result r = predict(f);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, fmt::format("{}:13:5: error: [T008 ports-exceeded] 'mini1' has 4 Thunderbolt links but a Mac mini "
                                  "M4 (2024), 10-core GPU has 3 Thunderbolt ports\n"
                                  "    - {{between: [mini1, mini5], type: tb4}}\n"
                                  "      ^\n"
                                  "hint: a full mesh of n nodes takes n-1 ports per node: use a ring (2 ports), a "
                                  "switch, or fewer cables on 'mini1'\n"
                                  "predict: error: refusing to predict: check finds 1 error in {} (T008)\n"
                                  "hint: fix the topology, or pass --ignore-check T008 to predict it anyway (a what-if)\n",
                                  f, f));
  Result what_if = predict(f, "--ignore-check T008");
  EXPECT_EQ(what_if.code, 0) << what_if.output;
  EXPECT_TRUE(has(what_if, "predict: ignoring 1 finding of check (T008), as --ignore-check asks\n")) << what_if.output;
}

TEST_F(PredictCheck, BridgeLoopRefusesThePredictionAndTakesTheCheckName) {
  const std::string f = lint_fixture("T001-tb-bridge-loop.yaml");
  Result r = predict(f);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r, ": error: [T001 tb-bridge-loop] Thunderbolt Bridge loop ")) << r.output;
  EXPECT_TRUE(has(r, fmt::format("predict: error: refusing to predict: check finds 1 error in {} (T001)\n", f)))
      << r.output;
  EXPECT_EQ(predict(f, "--ignore-check tb-bridge-loop").code, 0);
}

TEST_F(PredictCheck, UnknownIgnoredCheckNamesTheFlag) {
  Result r = predict(src("topologies/examples/tb4-star-3minis.yaml"), "--ignore-check T0008");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "--ignore-check: error: unknown check 'T0008'\nhint: did you mean 'T008'?\n");
}

TEST_F(PredictCheck, UnreachablePairExitsTwoWithItsCode) {
  const std::string f = lint_fixture("T011-unreachable.yaml");
  Result r = predict(f, "--micro-batch 1");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, f + ":6:5: error: [T011 unreachable] no link path connects node 'mini1' to node 'jetson'\n"))
      << r.output;
  // Ignored, the pair still cannot talk: the simulator says so with the same code.
  Result ignored = predict(f, "--micro-batch 1 --ignore-check T011");
  EXPECT_EQ(ignored.code, 2) << ignored.output;
  EXPECT_TRUE(has(ignored, f + ":5:5: error: [T011 unreachable] no link path connects node 'mini2' to node 'jetson'\n"))
      << ignored.output;
}

}  // namespace
