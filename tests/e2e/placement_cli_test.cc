// The workload's `placement:` through the command line: `check` and `predict` judge the pairs the
// placed ranks use, the run directory keeps the placement (program.json), and a report read back
// from it names each rank's node by it. rdma-ring-crossed.yaml cables its Studios 1-3-2-4: file
// order makes uncabled RDMA neighbours, `placement: auto` follows the cables.
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
const std::string kCrossed = fixture("rdma-ring-crossed.yaml");
const std::string kFileOrder = src("workloads/examples/ddp-gpt2.yaml");
const std::string kAuto = fixture("ddp-gpt2-auto.yaml");

TEST(PlacementCli, CheckJudgesThePairsOfThePlacedRanks) {
  Result file = run(fmt::format("check {} {}", kCrossed, kFileOrder));
  EXPECT_EQ(file.code, 1) << file.output;
  EXPECT_TRUE(has(file, ":6:5: error: [T003 rdma-not-direct] 'studio1' and 'studio2' (ranks 0 and 1) exchange data")) << file.output;
  EXPECT_TRUE(has(file, "neighbours talk (a ring): 'placement: auto' in the workload")) << file.output;
  Result placed = run(fmt::format("check {} {}", kCrossed, kAuto));
  EXPECT_EQ(placed.code, 0) << placed.output;
  EXPECT_TRUE(has(placed, "no findings (4 nodes, 4 links); checked the 4 rank pairs workload 'ddp-gpt2' uses")) << placed.output;
}

TEST(PlacementCli, ExplainShowsWhereEachRankRuns) {
  Result r = run(fmt::format("explain -t {} -w {}", kCrossed, kAuto));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "Placement (placement: auto, the ring of ranks along the routes)\n"
                     "  rank 0   -> studio1\n"
                     "  rank 1   -> studio3\n"
                     "  rank 2   -> studio2\n"
                     "  rank 3   -> studio4\n"
                     "  ring of ranks 0 -> 1 -> ... -> 0: 4 links crossed in all, at most 1 between neighbours "
                     "(studio1 -> studio3)\n"
                     "  in file order: 2 neighbour pairs with no route; the others: 2 links crossed in all, at most 1 "
                     "between neighbours (studio2 -> studio3)\n"))
      << r.output;
}

class PlacementPredict : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without SimGrid (-DCLUSTERTWIN_SIM=OFF): no predict";
  }
};

TEST_F(PlacementPredict, TheRunKeepsItsPlacementAndTheReportNamesItsNodes) {
  Result refused = run(fmt::format("predict -t {} -w {} --steps 2 -o {}", kCrossed, kFileOrder, out("file")));
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_TRUE(has(refused, "refusing to predict: check finds 2 errors")) << refused.output;

  Result placed = run(fmt::format("predict -t {} -w {} --steps 2 -o {}", kCrossed, kAuto, out("auto")));
  ASSERT_EQ(placed.code, 0) << placed.output;
  std::ifstream in(dir_ / "auto/program.json");
  EXPECT_EQ(nlohmann::json::parse(in).at("placement"),
            nlohmann::json({"studio1", "studio3", "studio2", "studio4"}));

  Result report = run(fmt::format("report {} -o {}", out("auto"), out("report")));
  ASSERT_EQ(report.code, 0) << report.output;
  std::ifstream md(dir_ / "report/report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(text.find("| 1 | studio3 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| 2 | studio2 |"), std::string::npos) << text;
}

}  // namespace
