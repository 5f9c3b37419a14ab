// `predict` names what bounds the step: on smolcluster's hybrid, DDP waits for the Pi 4's compute,
// and the prediction says so (not "communication"). The named cause is the one that matters: a
// faster device in the Pi 4's place cuts the step, ten times faster links barely move it.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
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

class PredictBound : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without SimGrid (-DCLUSTERTWIN_SIM=OFF): nothing to predict";
  }
  Result predict(const std::string& topology, const std::string& dir, const std::string& extra = "") {
    return run(fmt::format("predict -t {} -w {} --steps 3 --micro-batch 1 -o {} {}", topology,
                           src("workloads/examples/ddp-gpt2.yaml"), out(dir), extra));
  }
  nlohmann::json summary(const std::string& dir) {
    std::ifstream in(dir_ / dir / "summary.json");
    return nlohmann::json::parse(in);
  }
};

TEST_F(PredictBound, SmolclusterDdpNamesThePi4sCompute) {
  const std::string hybrid = src("topologies/examples/smolcluster-hybrid.yaml");
  Result r = predict(hybrid, "p");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "bound by rank 3 (node pi4, raspberry-pi-4): its compute is ")) << r.output;
  EXPECT_TRUE(has(r, "ranks 0, 1, 2 and 4 wait for it")) << r.output;

  nlohmann::json s = summary("p");
  const double step = s["step_time_s"]["mean"].get<double>();
  const auto& b = s["breakdown_s"];
  // The others' time in the all-reduce is mostly waiting for rank 3, not transfer.
  EXPECT_GT(b["waiting_for_peers"].get<double>(), 2 * b["communication"].get<double>()) << b.dump();
  EXPECT_EQ(s["critical_path"][0]["rank"], 3);
  for (int rank : {0, 1, 2, 4}) EXPECT_EQ(s["ranks"][rank]["waited_for"]["rank"], 3) << "rank " << rank;
  // The Pi 4 computes for most of the step.
  EXPECT_GT(s["ranks"][3]["compute_s"].get<double>(), 0.6 * step);

  // What-ifs: a Mac mini in the Pi 4's place, or every link 10x faster.
  std::ifstream in(hybrid);
  std::stringstream text;
  text << in.rdbuf();
  const std::string faster_pi = (dir_ / "faster-pi.yaml").string();
  std::ofstream(faster_pi) << std::regex_replace(text.str(), std::regex("device: raspberry-pi-4"), "device: mac-mini-m4");
  ASSERT_EQ(predict(faster_pi, "pi").code, 0);
  ASSERT_EQ(predict(hybrid, "links", "--scale 10").code, 0);
  const double pi = summary("pi")["step_time_s"]["mean"].get<double>();
  const double links = summary("links")["step_time_s"]["mean"].get<double>();
  EXPECT_LT(pi, 0.6 * step) << "a faster device for rank 3: " << pi << " s vs " << step << " s";
  EXPECT_GT(links, 0.8 * step) << "10x faster links: " << links << " s vs " << step << " s";
}

}  // namespace
