#include "reports/compare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/diag.h"

namespace clustertwin::reports {
namespace {

namespace fs = std::filesystem;

class Compare : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ct-compare-{}", ::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A run of one 2-rank step: compute c, then communication m with no overlap.
  std::string write_run(const std::string& name, const std::string& backend, double c, double m) {
    core::Program p;
    p.name = "w";
    p.samples_per_step = 16;
    p.tokens_per_step = 16384;
    p.groups = {{0, 1}};
    core::Op comp;
    comp.label = "bwd";
    comp.phase = core::Phase::Backward;
    core::Op coll;
    coll.phase = core::Phase::Comm;
    coll.kind = core::OpKind::Collective;
    coll.label = "grad.allreduce";
    coll.group = 0;
    coll.bytes = 1e6;
    coll.deps = {0};
    p.ranks = {{0, {comp, coll}}, {1, {comp, coll}}};
    std::vector<core::OpRecord> recs{{0, 0, 0, c}, {0, 1, c, c + m}, {1, 0, 0, c}, {1, 1, c, c + m}};
    std::string out = (dir_ / name).string();
    core::write_run(out, {backend, "topo", "w", ""}, p, recs, core::summarize(p, recs));
    return out;
  }
  fs::path dir_;
};

TEST_F(Compare, ReportHasBothStepTimesAndErrors) {
  auto pred = load_summary(write_run("pred", "predicted", 1.0, 0.5), "PREDICTED");
  auto meas = load_summary(write_run("meas", "measured", 1.0, 1.0), "MEASURED");
  EXPECT_DOUBLE_EQ(pred.summary.step_mean, 1.5);
  EXPECT_DOUBLE_EQ(meas.summary.step_mean, 2.0);
  std::string md = report_markdown(pred, meas);
  EXPECT_NE(md.find("| step time (mean) | 1.500 s | 2.000 s | -25.0 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| compute | 1.000 s | 1.000 s | +0.0 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| grad.allreduce | 1.0 MB | 500.00 ms | 1.000 s | -50.0 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("most of the difference is in exposed communication"), std::string::npos) << md;
  // From trace.json: time per step and rank by phase, and the op that differs most first.
  EXPECT_NE(md.find("| backward | 1.000 s | 1.000 s | +0.0 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| comm | 500.00 ms | 1.000 s | -50.0 % |"), std::string::npos) << md;
  auto largest = md.find("| largest differences");
  ASSERT_NE(largest, std::string::npos) << md;
  EXPECT_NE(md.find("| grad.allreduce | 500.00 ms | 1.000 s | -50.0 % | 1 |", largest), std::string::npos) << md;
  std::string path = write_report((dir_ / "cmp").string(), pred, meas);
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(Compare, ErrorPercent) {
  EXPECT_NEAR(error_percent(1.1, 1.0), 10, 1e-9);
  EXPECT_NEAR(error_percent(0.9, 1.0), -10, 1e-9);
  EXPECT_DOUBLE_EQ(error_percent(0, 0), 0);
}

TEST_F(Compare, MalformedSummaryNamesLineAndColumn) {
  std::ofstream(dir_ / "bad.json") << "{\n  \"backend\": \"predicted\",\n  oops\n}\n";
  try {
    load_summary((dir_ / "bad.json").string(), "PREDICTED");
    FAIL();
  } catch (const core::InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bad.json:3:3: error: invalid JSON in a run file"), std::string::npos) << what;
  }
}

TEST_F(Compare, MissingDirectoryIsAnInputError) {
  EXPECT_THROW(load_summary((dir_ / "nope").string(), "MEASURED"), core::InputError);
}

}  // namespace
}  // namespace clustertwin::reports
